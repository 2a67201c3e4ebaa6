//! Dataset writers: MDS (reference.md §3, §8) and the JSON / CSV / TSV / XSV split formats (§5),
//! producing the reference's bytes.
//!
//! Shard boundaries follow the reference's rule (§8.2): a running size starts at the per-shard
//! overhead (MDS: `8 + len(config JSON)`; split formats: 0); each sample costs its encoded
//! length plus the per-sample overhead (MDS: 4, split: 0); when the size limit is smaller than
//! the running size plus the new sample's cost, the current shard is written first. So with
//! the same columns, samples, size limit, compression and hashes, index.json and every
//! uncompressed shard are byte-identical to the reference's, and zstd shards too (same
//! library and level).
//!
//! Differences from the reference, on purpose (spec README, choice 2):
//! * the reference writes an empty shard 0 when the very first sample alone exceeds the size
//!   limit; we do not, unless [`WriterBuilder::with_reference_empty_first_shard`] asks for it
//!   (for byte-identical output);
//! * with no size limit, a shard is still cut before it reaches 4 GiB (the reference's u32
//!   offsets would silently wrap);
//! * files are written under a temporary name and renamed into place; index.json last, and
//!   only by [`MdsWriter::finish`] / [`SplitWriter::finish`] (dropping a writer leaves no
//!   index);
//! * an existing non-empty directory is refused unless `exist_ok`, which overwrites our files
//!   but deletes nothing else (the reference deletes the whole directory).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::compression::Compression;
use crate::encoding::{self, ColumnEncoding, SplitEncoding, Value};
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::index::{FileInfo, Index, ShardFormat, ShardMeta, VERSION};
use crate::pyjson;
use crate::sample::Columns;

/// The reference's default size limit: 64 MiB.
pub const DEFAULT_SIZE_LIMIT: u64 = 1 << 26;

/// Largest shard whose u32 offsets stay valid.
const MAX_SHARD_BYTES: u64 = u32::MAX as u64;

/// Parses a size as the reference's `bytes_to_int` does (§18.3): plain digits are bytes;
/// suffixes `b`, `kb`, `mb`, `gb`, `tb`, `pb`, `eb`, `zb`, `yb` (case-insensitive) multiply by
/// powers of 1024, the number may be fractional (truncated). `kib`, `mib`, … are accepted as
/// the same binary units.
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = || Error::InvalidArgument {
        param: "size".into(),
        reason: format!(
            "{text:?} is not a size (digits with an optional b, kb, mb, gb, tb... suffix)"
        ),
    };
    let t = text.trim().to_ascii_lowercase();
    let units = ["kb", "mb", "gb", "tb", "pb", "eb", "zb", "yb"];
    for (i, unit) in units.iter().enumerate() {
        let iec = format!("{}ib", &unit[..1]);
        let num = t
            .strip_suffix(unit)
            .or_else(|| t.strip_suffix(iec.as_str()));
        if let Some(num) = num {
            let num = num.trim();
            let value: f64 = num.parse().map_err(|_| bad())?;
            if !value.is_finite() || value < 0.0 || num.starts_with(['+', '-']) {
                return Err(bad());
            }
            let exp = i32::try_from(i + 1).map_err(|_| bad())?;
            let bytes = value * 1024f64.powi(exp);
            if bytes >= 18_446_744_073_709_551_615.0 {
                return Err(bad());
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // checked range; truncation as in Python int()
            return Ok(bytes as u64);
        }
    }
    let digits = t.strip_suffix('b').unwrap_or(&t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits.parse().map_err(|_| bad())
}

/// Options shared by every writer; see [`MdsWriter::builder`] and [`SplitWriter::builder`].
#[derive(Debug, Clone)]
pub struct WriterBuilder {
    dir: PathBuf,
    format: ShardFormat,
    columns: Vec<(String, String)>,
    compression: Option<String>,
    hashes: Vec<String>,
    size_limit: Option<u64>,
    exist_ok: bool,
    empty_first_shard: bool,
    extra: Map<String, Json>,
    newline: String,
    separator: Option<String>,
}

impl WriterBuilder {
    fn new(dir: &Path, format: ShardFormat) -> Self {
        WriterBuilder {
            dir: dir.to_owned(),
            format,
            columns: Vec::new(),
            compression: None,
            hashes: Vec::new(),
            size_limit: Some(DEFAULT_SIZE_LIMIT),
            exist_ok: false,
            empty_first_shard: false,
            extra: Map::new(),
            newline: "\n".to_owned(),
            separator: None,
        }
    }

    /// The columns: `(name, encoding)`; any order (the writer sorts them by name, as the
    /// reference does). MDS: any MDS encoding; split formats: `str`, `int` or `float`.
    #[must_use]
    pub fn with_columns(mut self, columns: &[(&str, &str)]) -> Self {
        self.columns = columns
            .iter()
            .map(|(n, e)| ((*n).to_owned(), (*e).to_owned()))
            .collect();
        self
    }

    /// The compression spec (`zstd`, `zstd:7`, `gz`, `bz2`, `br`, `snappy`); `None` (the
    /// default) stores shards raw.
    #[must_use]
    pub fn with_compression(mut self, spec: Option<&str>) -> Self {
        self.compression = spec.filter(|s| !s.is_empty()).map(str::to_owned);
        self
    }

    /// Hash algorithms to record for every file (the reference's names, §7).
    #[must_use]
    pub fn with_hashes(mut self, hashes: &[&str]) -> Self {
        self.hashes = hashes.iter().map(|h| (*h).to_owned()).collect();
        self
    }

    /// The shard size limit in bytes; `None` or 0 means unlimited. Default 64 MiB.
    #[must_use]
    pub fn with_size_limit(mut self, bytes: Option<u64>) -> Self {
        self.size_limit = bytes.filter(|&b| b > 0);
        self
    }

    /// Write into an existing non-empty directory (overwriting our files, deleting nothing).
    #[must_use]
    pub fn with_exist_ok(mut self, exist_ok: bool) -> Self {
        self.exist_ok = exist_ok;
        self
    }

    /// Reproduce the reference's empty shard 0 when the first sample alone exceeds the size
    /// limit (off by default; on for byte-identical output).
    #[must_use]
    pub fn with_reference_empty_first_shard(mut self, on: bool) -> Self {
        self.empty_first_shard = on;
        self
    }

    /// An extra key for every shard entry of index.json (not for the shard headers). The
    /// reference's readers reject unknown keys, so only use this for mds-only datasets.
    #[must_use]
    pub fn with_extra_shard_field(mut self, key: &str, value: Json) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// Split formats: the record terminator (default `"\n"`).
    #[must_use]
    pub fn with_newline(mut self, newline: &str) -> Self {
        newline.clone_into(&mut self.newline);
        self
    }

    /// XSV: the field separator (required for [`ShardFormat::Xsv`]).
    #[must_use]
    pub fn with_separator(mut self, separator: &str) -> Self {
        self.separator = Some(separator.to_owned());
        self
    }

    fn invalid(param: &str, reason: String) -> Error {
        Error::InvalidArgument {
            param: param.to_owned(),
            reason,
        }
    }

    fn common(&self) -> Result<(Sink, Vec<(String, String)>)> {
        let compression = self
            .compression
            .as_deref()
            .map(str::parse::<Compression>)
            .transpose()?;
        let mut hashes = self
            .hashes
            .iter()
            .map(|h| h.parse::<HashAlgorithm>())
            .collect::<Result<Vec<_>>>()?;
        hashes.sort_by_key(|h| h.name());
        hashes.dedup();
        if let Some(limit) = self.size_limit
            && limit >= 1 << 32
        {
            return Err(Self::invalid(
                "size_limit",
                format!("{limit} bytes: shards must be under 4 GiB (u32 offsets)"),
            ));
        }
        if self.columns.is_empty() {
            return Err(Self::invalid("columns", "no columns".into()));
        }
        let mut columns = self.columns.clone();
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = columns.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Self::invalid(
                "columns",
                format!("column {:?} given twice", w[0].0),
            ));
        }
        prepare_dir(&self.dir, self.exist_ok)?;
        Ok((
            Sink {
                dir: self.dir.clone(),
                compression,
                hashes,
                shards: Vec::new(),
            },
            columns,
        ))
    }

    /// The common config keys, in any order (they are written sorted).
    fn config(&self, sink: &Sink) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert(
            "compression".into(),
            sink.compression
                .as_ref()
                .map_or(Json::Null, |c| Json::String(c.spec().to_owned())),
        );
        m.insert("format".into(), Json::String(self.format.name().to_owned()));
        m.insert(
            "hashes".into(),
            Json::Array(
                sink.hashes
                    .iter()
                    .map(|h| Json::String(h.name().to_owned()))
                    .collect(),
            ),
        );
        m.insert(
            "size_limit".into(),
            self.size_limit.map_or(Json::Null, Json::from),
        );
        m.insert("version".into(), Json::from(VERSION));
        m
    }

    /// Builds an MDS writer (the builder must come from [`MdsWriter::builder`]).
    pub fn build_mds(self) -> Result<MdsWriter> {
        if self.format != ShardFormat::Mds {
            return Err(Self::invalid(
                "format",
                "build_mds needs an MDS builder".into(),
            ));
        }
        let (sink, columns) = self.common()?;
        let mut encodings = Vec::with_capacity(columns.len());
        for (name, enc) in &columns {
            encodings.push(
                enc.parse::<ColumnEncoding>()
                    .map_err(|source| Error::ColumnSpec {
                        shard: String::new(),
                        column: name.clone(),
                        source,
                    })?,
            );
        }
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let cols = Columns::mds(names.clone(), encodings.clone());
        let mut config = self.config(&sink);
        config.insert(
            "column_encodings".into(),
            Json::Array(
                encodings
                    .iter()
                    .map(|e| Json::String(e.to_string()))
                    .collect(),
            ),
        );
        config.insert(
            "column_names".into(),
            Json::Array(names.iter().map(|n| Json::String(n.clone())).collect()),
        );
        config.insert(
            "column_sizes".into(),
            Json::Array(
                cols.sizes()
                    .iter()
                    .map(|s| s.map_or(Json::Null, |n| Json::from(n as u64)))
                    .collect(),
            ),
        );
        let header_json = pyjson::to_string_sorted(&Json::Object(config)).into_bytes();
        let overhead = 8 + header_json.len() as u64;
        Ok(MdsWriter {
            sink,
            columns: Arc::new(cols),
            encodings,
            names,
            header_json,
            size_limit: self.size_limit,
            empty_first_shard: self.empty_first_shard,
            extra: self.extra,
            data: Vec::new(),
            ends: Vec::new(),
            overhead,
            cur: overhead,
            written: 0,
        })
    }

    /// Builds a JSON / CSV / TSV / XSV writer (the builder must come from
    /// [`SplitWriter::builder`]).
    pub fn build_split(self) -> Result<SplitWriter> {
        if self.format == ShardFormat::Mds {
            return Err(Self::invalid(
                "format",
                "build_split needs a split-format builder".into(),
            ));
        }
        let separator = match self.format {
            ShardFormat::Csv => ",".to_owned(),
            ShardFormat::Tsv => "\t".to_owned(),
            ShardFormat::Xsv => self
                .separator
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Self::invalid("separator", "XSV needs a non-empty separator".into())
                })?,
            _ => String::new(),
        };
        if self.newline.is_empty() {
            return Err(Self::invalid("newline", "must not be empty".into()));
        }
        let (sink, columns) = self.common()?;
        let mut encodings = Vec::with_capacity(columns.len());
        for (name, enc) in &columns {
            encodings.push(
                enc.parse::<SplitEncoding>()
                    .map_err(|source| Error::ColumnSpec {
                        shard: String::new(),
                        column: name.clone(),
                        source,
                    })?,
            );
            if self.format != ShardFormat::Json
                && (name.contains(&separator) || name.contains(&self.newline))
            {
                return Err(Self::invalid(
                    "columns",
                    format!("column name {name:?} holds the separator or newline"),
                ));
            }
        }
        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
        let mut config = self.config(&sink);
        config.insert("newline".into(), Json::String(self.newline.clone()));
        let header = if self.format == ShardFormat::Json {
            let cols: Map<String, Json> = columns
                .iter()
                .map(|(n, e)| (n.clone(), Json::String(e.clone())))
                .collect();
            config.insert("columns".into(), Json::Object(cols));
            Vec::new()
        } else {
            config.insert(
                "column_encodings".into(),
                Json::Array(
                    encodings
                        .iter()
                        .map(|e| Json::String(e.name().to_owned()))
                        .collect(),
                ),
            );
            config.insert(
                "column_names".into(),
                Json::Array(names.iter().map(|n| Json::String(n.clone())).collect()),
            );
            if self.format == ShardFormat::Xsv {
                config.insert("separator".into(), Json::String(separator.clone()));
            }
            format!("{}{}", names.join(&separator), self.newline).into_bytes()
        };
        let config_json = pyjson::to_string_sorted(&Json::Object(config)).into_bytes();
        Ok(SplitWriter {
            sink,
            format: self.format,
            names,
            encodings,
            config_json,
            header,
            newline: self.newline,
            separator,
            size_limit: self.size_limit,
            empty_first_shard: self.empty_first_shard,
            extra: self.extra,
            data: Vec::new(),
            ends: Vec::new(),
            cur: 0,
            written: 0,
        })
    }
}

fn prepare_dir(dir: &Path, exist_ok: bool) -> Result<()> {
    if dir.exists() {
        let mut entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        if entries.next().is_some() && !exist_ok {
            return Err(Error::InvalidArgument {
                param: "out".into(),
                reason: format!("directory is not empty: {}", dir.display()),
            });
        }
        Ok(())
    } else {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
    }
}

/// Writes shard files and collects their index entries.
#[derive(Debug)]
struct Sink {
    dir: PathBuf,
    compression: Option<Compression>,
    hashes: Vec<HashAlgorithm>,
    shards: Vec<ShardMeta>,
}

impl Sink {
    /// Writes one file given as consecutive parts: raw (hashing as it goes) or compressed.
    fn write_file(&self, raw_name: &str, parts: &[&[u8]]) -> Result<(FileInfo, Option<FileInfo>)> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let digests = |chunks: &[&[u8]]| -> Vec<(String, String)> {
            self.hashes
                .iter()
                .map(|a| {
                    let mut h = a.hasher();
                    for c in chunks {
                        h.update(c);
                    }
                    (a.name().to_owned(), h.finish_hex())
                })
                .collect()
        };
        let raw = FileInfo {
            basename: raw_name.to_owned(),
            bytes: len as u64,
            hashes: digests(parts),
            extra: Map::new(),
        };
        match &self.compression {
            None => {
                write_parts(&self.dir.join(raw_name), parts)?;
                Ok((raw, None))
            }
            Some(c) => {
                let joined;
                let whole: &[u8] = if parts.len() == 1 {
                    parts[0]
                } else {
                    joined = parts.concat();
                    &joined
                };
                let zip_name = format!("{raw_name}.{}", c.extension());
                let packed = c
                    .compress(whole)
                    .map_err(|e| Error::io(self.dir.join(&zip_name), e))?;
                write_parts(&self.dir.join(&zip_name), &[&packed])?;
                let zip = FileInfo {
                    basename: zip_name,
                    bytes: packed.len() as u64,
                    hashes: digests(&[&packed]),
                    extra: Map::new(),
                };
                Ok((raw, Some(zip)))
            }
        }
    }

    fn finish(self) -> Result<Index> {
        let index = Index {
            shards: self.shards,
            extra: Map::new(),
        };
        index.write(&self.dir)?;
        Ok(index)
    }
}

fn write_parts(path: &Path, parts: &[&[u8]]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    for p in parts {
        f.write_all(p).map_err(|e| Error::io(&tmp, e))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn u32_le(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

/// Writes an MDS dataset: shards `shard.NNNNN.mds[.EXT]` and index.json.
///
/// ```no_run
/// use mds_format::{MdsWriter, encoding::Value};
/// # fn main() -> mds_format::Result<()> {
/// let mut w = MdsWriter::builder(std::path::Path::new("out"))
///     .with_columns(&[("text", "str"), ("id", "int")])
///     .with_compression(Some("zstd"))
///     .with_hashes(&["sha1", "xxh64"])
///     .build_mds()?;
/// // Values in column-name order: id, text.
/// w.write(&[Value::Int(7), Value::Str("hello".into())])?;
/// w.finish()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MdsWriter {
    sink: Sink,
    columns: Arc<Columns>,
    encodings: Vec<ColumnEncoding>,
    names: Vec<String>,
    header_json: Vec<u8>,
    size_limit: Option<u64>,
    empty_first_shard: bool,
    extra: Map<String, Json>,
    /// Encoded samples of the shard being built, back to back.
    data: Vec<u8>,
    /// End of each sample in `data`.
    ends: Vec<usize>,
    overhead: u64,
    cur: u64,
    written: u64,
}

impl MdsWriter {
    /// A builder for an MDS dataset in `dir` (created if missing).
    pub fn builder(dir: &Path) -> WriterBuilder {
        WriterBuilder::new(dir, ShardFormat::Mds)
    }

    /// The writer's configuration as every shard's header records it (sorted JSON text:
    /// version, format, compression, hashes, size_limit, column names, encodings, sizes):
    /// the reference's `get_config()`.
    pub fn config_json(&self) -> &[u8] {
        &self.header_json
    }

    /// The columns, sorted by name: the order [`MdsWriter::write`] takes values in.
    pub fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    /// Samples written so far.
    pub fn samples_written(&self) -> u64 {
        self.written
    }

    /// Encodes and appends one sample; `values` in [`MdsWriter::columns`] order. A
    /// [`Value::Bytes`] is stored verbatim whatever the encoding (pre-encoded data).
    pub fn write(&mut self, values: &[Value]) -> Result<()> {
        self.check_arity(values.len())?;
        let start = self.data.len();
        let var = self.columns.variable_count();
        self.data.resize(start + 4 * var, 0);
        let mut slot = 0;
        for (i, value) in values.iter().enumerate() {
            let before = self.data.len();
            if let Err(source) = encoding::encode_into(&self.encodings[i], value, &mut self.data) {
                self.data.truncate(start);
                return Err(Error::Encoding {
                    shard: String::new(),
                    sample: self.written,
                    column: self.names[i].clone(),
                    source,
                });
            }
            if self.columns.sizes()[i].is_none() {
                let len = self.data.len() - before;
                let Ok(len32) = u32::try_from(len) else {
                    self.data.truncate(start);
                    return Err(self.too_big(i, len));
                };
                self.data[start + 4 * slot..start + 4 * slot + 4]
                    .copy_from_slice(&len32.to_le_bytes());
                slot += 1;
            }
        }
        self.push(start)
    }

    /// Appends one sample of already-encoded column values, in [`MdsWriter::columns`] order
    /// (fixed-size columns must have exactly their size).
    pub fn write_encoded(&mut self, values: &[&[u8]]) -> Result<()> {
        self.check_arity(values.len())?;
        for (i, v) in values.iter().enumerate() {
            if let Some(size) = self.columns.sizes()[i]
                && v.len() != size
            {
                return Err(Error::FixedSize {
                    shard: String::new(),
                    sample: self.written,
                    column: self.names[i].clone(),
                    encoding: self.encodings[i].to_string(),
                    expected: size as u64,
                    actual: v.len() as u64,
                });
            }
            if self.columns.sizes()[i].is_none() && u32::try_from(v.len()).is_err() {
                return Err(self.too_big(i, v.len()));
            }
        }
        let start = self.data.len();
        for (i, v) in values.iter().enumerate() {
            if self.columns.sizes()[i].is_none() {
                self.data.extend_from_slice(&u32_le(v.len()));
            }
        }
        for v in values {
            self.data.extend_from_slice(v);
        }
        self.push(start)
    }

    fn too_big(&self, column: usize, len: usize) -> Error {
        Error::InvalidArgument {
            param: format!("column {}", self.names[column]),
            reason: format!(
                "value of {len} bytes in sample {} does not fit a u32 length",
                self.written
            ),
        }
    }

    fn check_arity(&self, n: usize) -> Result<()> {
        if n == self.names.len() {
            return Ok(());
        }
        Err(Error::InvalidArgument {
            param: "sample".into(),
            reason: format!(
                "{n} values for {} columns ({})",
                self.names.len(),
                self.names.join(", ")
            ),
        })
    }

    /// Accounts for the sample encoded at `data[start..]`, cutting a shard before it if the
    /// size limit says so (§8.2).
    fn push(&mut self, start: usize) -> Result<()> {
        let len = (self.data.len() - start) as u64;
        let cost = len + 4;
        let limit = self
            .size_limit
            .unwrap_or(MAX_SHARD_BYTES)
            .min(MAX_SHARD_BYTES);
        let have_samples = !self.ends.is_empty();
        if limit < self.cur + cost
            && (have_samples
                || (self.empty_first_shard
                    && self.size_limit.is_some()
                    && self.sink.shards.is_empty()))
        {
            let tail = self.data[start..].to_vec();
            self.data.truncate(start);
            self.flush()?;
            self.data.extend_from_slice(&tail);
        }
        if self.overhead + cost > MAX_SHARD_BYTES {
            self.data.truncate(self.ends.last().copied().unwrap_or(0));
            return Err(Error::InvalidArgument {
                param: "sample".into(),
                reason: format!(
                    "sample {} of {len} bytes cannot fit in a shard (u32 offsets)",
                    self.written
                ),
            });
        }
        self.ends.push(self.data.len());
        self.cur += cost;
        self.written += 1;
        Ok(())
    }

    /// Writes the shard being built (even if empty) and starts the next.
    fn flush(&mut self) -> Result<()> {
        let n = self.ends.len();
        let table = 4 * (n + 1);
        let base = 4 + table + self.header_json.len();
        let mut head = Vec::with_capacity(base);
        head.extend_from_slice(&u32_le(n));
        head.extend_from_slice(&u32_le(base));
        for &e in &self.ends {
            head.extend_from_slice(&u32_le(base + e));
        }
        head.extend_from_slice(&self.header_json);
        let k = self.sink.shards.len();
        let raw_name = format!("shard.{k:05}.mds");
        let (raw, zip) = self.sink.write_file(&raw_name, &[&head, &self.data])?;
        self.sink.shards.push(ShardMeta {
            format: ShardFormat::Mds,
            compression: self.sink.compression.clone(),
            hashes: self
                .sink
                .hashes
                .iter()
                .map(|h| h.name().to_owned())
                .collect(),
            size_limit: self.size_limit,
            samples: n as u64,
            raw_data: raw,
            zip_data: zip,
            raw_meta: None,
            zip_meta: None,
            column_names: self.names.clone(),
            column_encodings: self.encodings.iter().map(ToString::to_string).collect(),
            column_sizes: self
                .columns
                .sizes()
                .iter()
                .map(|s| s.map(|n| n as u64))
                .collect(),
            columns: Vec::new(),
            newline: None,
            separator: None,
            extra: self.extra.clone(),
        });
        self.data.clear();
        self.ends.clear();
        self.cur = self.overhead;
        Ok(())
    }

    /// Writes the last shard (if it holds samples) and index.json; returns the index.
    pub fn finish(mut self) -> Result<Index> {
        if !self.ends.is_empty() {
            self.flush()?;
        }
        self.sink.finish()
    }
}

/// Writes a JSON-lines, CSV, TSV or XSV dataset: `shard.NNNNN.<fmt>` data files, their
/// `.meta` files, and index.json (§5).
#[derive(Debug)]
pub struct SplitWriter {
    sink: Sink,
    format: ShardFormat,
    names: Vec<String>,
    encodings: Vec<SplitEncoding>,
    config_json: Vec<u8>,
    header: Vec<u8>,
    newline: String,
    separator: String,
    size_limit: Option<u64>,
    empty_first_shard: bool,
    extra: Map<String, Json>,
    data: Vec<u8>,
    ends: Vec<usize>,
    cur: u64,
    written: u64,
}

impl SplitWriter {
    /// A builder for a dataset of `format` (JSON, CSV, TSV or XSV) in `dir`.
    pub fn builder(dir: &Path, format: ShardFormat) -> WriterBuilder {
        WriterBuilder::new(dir, format)
    }

    /// The writer's configuration as index.json and every shard record it (sorted JSON
    /// text: version, format, compression, hashes, size_limit, columns, newline, separator):
    /// the reference's `get_config()`.
    pub fn config_json(&self) -> &[u8] {
        &self.config_json
    }

    /// Column names, sorted: the order [`SplitWriter::write`] takes values in.
    pub fn column_names(&self) -> &[String] {
        &self.names
    }

    /// Appends one sample; `values` in [`SplitWriter::column_names`] order.
    pub fn write(&mut self, values: &[Value]) -> Result<()> {
        if values.len() != self.names.len() {
            return Err(Error::InvalidArgument {
                param: "sample".into(),
                reason: format!("{} values for {} columns", values.len(), self.names.len()),
            });
        }
        let enc_err = |i: usize, source| Error::Encoding {
            shard: String::new(),
            sample: self.written,
            column: self.names[i].clone(),
            source,
        };
        let mut line = String::new();
        if self.format == ShardFormat::Json {
            line.push('{');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                pyjson::write_str(&mut line, &self.names[i]);
                line.push_str(": ");
                self.encodings[i]
                    .push_json_field(v, &mut line)
                    .map_err(|e| enc_err(i, e))?;
            }
            line.push('}');
        } else {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    line.push_str(&self.separator);
                }
                let field = self.encodings[i]
                    .format_field(v)
                    .map_err(|e| enc_err(i, e))?;
                if field.contains(&self.separator) || field.contains(&self.newline) {
                    return Err(Error::InvalidArgument {
                        param: format!("column {}", self.names[i]),
                        reason: format!(
                            "value in sample {} holds the separator or newline (no quoting in XSV)",
                            self.written
                        ),
                    });
                }
                line.push_str(&field);
            }
        }
        line.push_str(&self.newline);
        let cost = line.len() as u64;
        let limit = self
            .size_limit
            .unwrap_or(MAX_SHARD_BYTES)
            .min(MAX_SHARD_BYTES);
        if limit < self.cur + cost
            && (!self.ends.is_empty()
                || (self.empty_first_shard
                    && self.size_limit.is_some()
                    && self.sink.shards.is_empty()))
        {
            self.flush()?;
        }
        self.data.extend_from_slice(line.as_bytes());
        self.ends.push(self.data.len());
        self.cur += cost;
        self.written += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let n = self.ends.len();
        let base = self.header.len();
        let mut meta = Vec::with_capacity(8 + 4 * n + self.config_json.len());
        meta.extend_from_slice(&u32_le(n));
        meta.extend_from_slice(&u32_le(base));
        for &e in &self.ends {
            meta.extend_from_slice(&u32_le(base + e));
        }
        meta.extend_from_slice(&self.config_json);
        let k = self.sink.shards.len();
        let data_name = format!("shard.{k:05}.{}", self.format.name());
        let meta_name = format!("{data_name}.meta");
        let (raw_data, zip_data) = self
            .sink
            .write_file(&data_name, &[&self.header, &self.data])?;
        let (raw_meta, zip_meta) = self.sink.write_file(&meta_name, &[&meta])?;
        let json = self.format == ShardFormat::Json;
        self.sink.shards.push(ShardMeta {
            format: self.format,
            compression: self.sink.compression.clone(),
            hashes: self
                .sink
                .hashes
                .iter()
                .map(|h| h.name().to_owned())
                .collect(),
            size_limit: self.size_limit,
            samples: n as u64,
            raw_data,
            zip_data,
            raw_meta: Some(raw_meta),
            zip_meta,
            column_names: if json { Vec::new() } else { self.names.clone() },
            column_encodings: if json {
                Vec::new()
            } else {
                self.encodings.iter().map(|e| e.name().to_owned()).collect()
            },
            column_sizes: Vec::new(),
            columns: if json {
                self.names
                    .iter()
                    .zip(&self.encodings)
                    .map(|(n, e)| (n.clone(), e.name().to_owned()))
                    .collect()
            } else {
                Vec::new()
            },
            newline: Some(self.newline.clone()),
            separator: (self.format == ShardFormat::Xsv).then(|| self.separator.clone()),
            extra: self.extra.clone(),
        });
        self.data.clear();
        self.ends.clear();
        self.cur = 0;
        Ok(())
    }

    /// Writes the last shard (if it holds samples) and index.json; returns the index.
    pub fn finish(mut self) -> Result<Index> {
        if !self.ends.is_empty() {
            self.flush()?;
        }
        self.sink.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_bytes_to_int() {
        assert_eq!(parse_size("100kb").unwrap(), 102_400);
        assert_eq!(parse_size("64MiB").unwrap(), 1 << 26);
        assert_eq!(parse_size("1.5kb").unwrap(), 1536);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert_eq!(parse_size("123b").unwrap(), 123);
        for bad in ["1.5b", "-5kb", "kb", "12 parsecs", ""] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
