//! Shard readers: the MDS binary layout (reference.md §3) and the JSON / XSV split formats
//! (§5), over an in-memory [`Bytes`] or an mmap'd file.
//!
//! Reading is zero-copy: a sample's column values are [`Bytes::slice`]s of the shard. Every
//! offset is checked once when the shard is opened (monotonic, inside the file, ending at the
//! file's end), so bad bytes give an [`Error`] naming the shard and sample, never a panic.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::index::{ShardFormat, ShardMeta};
use crate::sample::{Columns, Sample};

/// Maps a whole file read-only into memory as [`Bytes`] (an empty file gives empty bytes).
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn map_file(path: &Path) -> Result<Bytes> {
    Ok(MappedFile::open(path)?.bytes)
}

/// A whole file mapped read-only, whose resident pages this process can give back.
///
/// Reading a mapped shard maps its pages into the process (on each fault the kernel maps the
/// neighbouring cached pages too: 64 KiB, or a whole 2 MiB folio on ext4 and xfs), and they stay
/// counted in its RSS until the mapping goes away. A reader that keeps many shards open (a shuffle draws from all of them)
/// calls [`MappedFile::release`] now and then to keep its RSS bounded; the bytes stay valid.
#[derive(Debug, Clone)]
pub struct MappedFile {
    map: Option<Arc<memmap2::Mmap>>,
    bytes: Bytes,
}

/// Lets [`Bytes`] own a share of the mapping.
struct MapOwner(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl MappedFile {
    /// Maps the file at `path` (an empty file gives empty bytes and no mapping).
    ///
    /// # Errors
    /// [`Error::Io`] naming `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_file(&file, path)
    }

    /// Maps `file`, already open for reading (the caller keeps it, for `pread` or locks);
    /// `path` names it in errors. An empty file gives empty bytes and no mapping.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path`.
    pub fn from_file(file: &File, path: &Path) -> Result<Self> {
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Ok(Self {
                map: None,
                bytes: Bytes::new(),
            });
        }
        #[allow(unsafe_code)] // mmap is one of the two unsafe operations of this crate
        // SAFETY: the mapping is read-only and private to this process. Shard files are
        // immutable once written: mds writers and caches create them under a temporary name
        // and rename them into place, and never write into a published shard. A third party
        // truncating the file while it is mapped could fault the process (SIGBUS); that is
        // outside what we promise (documented on `MdsShard::open`).
        let map = Arc::new(unsafe { memmap2::Mmap::map(file) }.map_err(|e| Error::io(path, e))?);
        let bytes = Bytes::from_owner(MapOwner(Arc::clone(&map)));
        Ok(Self {
            map: Some(map),
            bytes,
        })
    }

    /// The file's bytes (slices of them share the mapping).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Gives back the pages of the mapping resident in this process (`madvise(MADV_DONTNEED)`
    /// on Unix; a no-op elsewhere). Bytes read later fault back in from the page cache with
    /// the same contents, so slices handed out stay valid and unchanged.
    ///
    /// # Errors
    /// The `madvise` error, if any (callers may ignore it: only memory use is at stake).
    pub fn release(&self) -> std::io::Result<()> {
        self.release_range(0, self.bytes.len())
    }

    /// [`MappedFile::release`] for bytes `offset..offset + len` only, widened to whole pages
    /// and clamped to the file.
    ///
    /// # Errors
    /// The `madvise` error, if any (callers may ignore it: only memory use is at stake).
    pub fn release_range(&self, offset: usize, len: usize) -> std::io::Result<()> {
        const PAGE: usize = 4096;
        let Some(map) = &self.map else {
            return Ok(());
        };
        let start = (offset / PAGE * PAGE).min(map.len());
        let end = offset.saturating_add(len).min(map.len());
        if end <= start {
            return Ok(());
        }
        #[cfg(unix)]
        {
            #[allow(unsafe_code)] // the other unsafe operation of this crate
            // SAFETY: MADV_DONTNEED on a private, read-only file mapping that nothing ever
            // writes through (it is `Mmap`, not `MmapMut`) drops only page-table entries:
            // later reads fault the same file contents back in, so no reader of the bytes,
            // here or in another thread, can observe a change.
            unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (map, start, end);
            Ok(())
        }
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The header shared by MDS shards and split-format meta files: `u32 N`, `u32 offsets[N+1]`,
/// then the writer's config JSON.
#[derive(Debug, Clone)]
struct Header {
    samples: usize,
    /// Byte range of the config JSON within the file.
    config: std::ops::Range<usize>,
}

/// Parses and checks the header of `file` (named `shard` in errors). `data_len` is the length
/// of the file the offsets point into; `first_offset` is where sample data must start
/// (`None` for MDS: right after the config JSON, whatever its length).
fn parse_header(
    shard: &str,
    file: &[u8],
    data_len: usize,
    first_offset: Option<usize>,
) -> Result<Header> {
    let truncated = |what: &str, needed: u64| Error::Truncated {
        shard: shard.to_owned(),
        what: what.to_owned(),
        needed,
        len: to_u64(file.len()),
    };
    let n = read_u32(file, 0).ok_or_else(|| truncated("sample count", 4))?;
    let samples = usize::try_from(n).map_err(|_| truncated("offsets table", u64::MAX))?;
    let table_end = samples
        .checked_add(1)
        .and_then(|k| k.checked_mul(4))
        .and_then(|k| k.checked_add(4))
        .ok_or_else(|| truncated("offsets table", u64::MAX))?;
    if file.len() < table_end {
        return Err(truncated(
            &format!("offsets table of {samples} samples"),
            to_u64(table_end),
        ));
    }
    let offset = |i: usize| {
        read_u32(file, 4 + 4 * i).map_or(usize::MAX, |o| usize::try_from(o).unwrap_or(usize::MAX))
    };
    let first = offset(0);
    let bad = |sample: Option<u64>, reason: String| Error::Offsets {
        shard: shard.to_owned(),
        sample,
        reason,
    };
    let config_end = match first_offset {
        None => {
            if first < table_end {
                return Err(bad(
                    Some(0),
                    format!("first sample starts at {first}, inside the {table_end}-byte header"),
                ));
            }
            first
        }
        Some(expected) => {
            if first != expected {
                return Err(bad(
                    Some(0),
                    format!("first sample starts at {first}, expected {expected}"),
                ));
            }
            file.len()
        }
    };
    if config_end > file.len() {
        return Err(truncated("config JSON", to_u64(config_end)));
    }
    let mut prev = first;
    for i in 1..=samples {
        let o = offset(i);
        if o < prev {
            return Err(bad(
                Some(to_u64(i - 1)),
                format!("sample ends at {o}, before it starts at {prev}"),
            ));
        }
        if o > data_len {
            if first_offset.is_none() {
                return Err(Error::Truncated {
                    shard: shard.to_owned(),
                    what: format!("sample {}", i - 1),
                    needed: to_u64(o),
                    len: to_u64(data_len),
                });
            }
            return Err(bad(
                Some(to_u64(i - 1)),
                format!("sample ends at {o}, past the data file's {data_len} bytes"),
            ));
        }
        prev = o;
    }
    if prev != data_len {
        return Err(bad(
            None,
            format!("samples end at {prev}, but the data is {data_len} bytes long"),
        ));
    }
    Ok(Header {
        samples,
        config: table_end..config_end,
    })
}

/// An MDS shard (§3): `u32 N`, `u32 offsets[N+1]`, config JSON, samples.
#[derive(Debug, Clone)]
pub struct MdsShard {
    name: Arc<str>,
    data: Bytes,
    header: Header,
    columns: Arc<Columns>,
}

impl MdsShard {
    /// Parses a shard held in memory; `name` (the basename) names it in errors. Checks the
    /// header and every offset; the columns say how samples split into values.
    pub fn parse(name: &str, data: Bytes, columns: Arc<Columns>) -> Result<Self> {
        let header = parse_header(name, &data, data.len(), None)?;
        Ok(MdsShard {
            name: name.into(),
            data,
            header,
            columns,
        })
    }

    /// Parses a shard using the columns its own header JSON declares (no index.json needed).
    pub fn parse_self_describing(name: &str, data: Bytes) -> Result<Self> {
        let header = parse_header(name, &data, data.len(), None)?;
        let config = &data[header.config.clone()];
        let cfg: Json = serde_json::from_slice(config).map_err(|e| Error::Sample {
            shard: name.to_owned(),
            sample: 0,
            reason: format!("header config is not JSON: {e}"),
        })?;
        let meta = header_meta(name, &cfg)?;
        let columns = Arc::new(Columns::from_meta(&meta)?);
        Ok(MdsShard {
            name: name.into(),
            data,
            header,
            columns,
        })
    }

    /// Maps `path` and parses it. The file must not be modified or truncated while mapped
    /// (shards are immutable once written).
    pub fn open(path: &Path, name: &str, columns: Arc<Columns>) -> Result<Self> {
        Self::parse(name, map_file(path)?, columns)
    }

    /// Checks the shard against its index.json entry: sample count, file size and the
    /// columns the header's config JSON declares.
    pub fn check_meta(&self, meta: &ShardMeta) -> Result<()> {
        let mismatch =
            |field: &'static str, shard_value: String, index_value: String| Error::HeaderMismatch {
                shard: self.name.to_string(),
                field,
                shard_value,
                index_value,
            };
        if to_u64(self.header.samples) != meta.samples {
            return Err(mismatch(
                "samples",
                self.header.samples.to_string(),
                meta.samples.to_string(),
            ));
        }
        if to_u64(self.data.len()) != meta.raw_data.bytes {
            return Err(mismatch(
                "bytes",
                self.data.len().to_string(),
                meta.raw_data.bytes.to_string(),
            ));
        }
        let cfg: Json = serde_json::from_slice(self.config_json()).map_err(|e| {
            mismatch(
                "config",
                format!("text that is not JSON ({e})"),
                "a JSON config".to_owned(),
            )
        })?;
        let index = meta.to_value();
        for key in ["column_encodings", "column_names", "column_sizes"] {
            let (have, want) = (cfg.get(key), index.get(key));
            if have != want {
                let show =
                    |v: Option<&Json>| v.map_or_else(|| "nothing".to_owned(), ToString::to_string);
                return Err(mismatch(key, show(have), show(want)));
            }
        }
        Ok(())
    }

    /// The shard's basename.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.header.samples
    }

    /// Whether the shard holds no samples.
    pub fn is_empty(&self) -> bool {
        self.header.samples == 0
    }

    /// The whole shard.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The writer's config JSON from the header (informational; readers use index.json).
    pub fn config_json(&self) -> &[u8] {
        &self.data[self.header.config.clone()]
    }

    /// The columns.
    pub fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    fn out_of_range(&self, i: usize) -> Error {
        Error::SampleOutOfRange {
            sample: to_u64(i),
            len: to_u64(self.header.samples),
            what: self.name.to_string(),
        }
    }

    /// The raw bytes of sample `i` (all its columns, length prefixes included).
    pub fn sample_bytes(&self, i: usize) -> Result<Bytes> {
        if i >= self.header.samples {
            return Err(self.out_of_range(i));
        }
        // Offsets were checked on open: in range and non-decreasing.
        let begin = read_u32(&self.data, 4 + 4 * i).and_then(|o| usize::try_from(o).ok());
        let end = read_u32(&self.data, 8 + 4 * i).and_then(|o| usize::try_from(o).ok());
        match (begin, end) {
            (Some(b), Some(e)) if b <= e && e <= self.data.len() => Ok(self.data.slice(b..e)),
            _ => Err(self.out_of_range(i)),
        }
    }

    /// Sample `i`, split into its column values (slices of the shard).
    pub fn sample(&self, i: usize) -> Result<Sample> {
        let bytes = self.sample_bytes(i)?;
        let values = self.columns.split_mds(&self.name, to_u64(i), &bytes)?;
        Ok(Sample::new(
            self.columns.clone(),
            values,
            self.name.clone(),
            to_u64(i),
        ))
    }
}

/// A shard entry built from an MDS header's config JSON (for self-describing parsing).
fn header_meta(name: &str, cfg: &Json) -> Result<ShardMeta> {
    let mut obj = cfg.as_object().cloned().unwrap_or_default();
    obj.insert("samples".into(), Json::from(0));
    obj.insert(
        "raw_data".into(),
        serde_json::json!({"basename": "shard", "bytes": 0, "hashes": {}}),
    );
    obj.insert("zip_data".into(), Json::Null);
    obj.insert("compression".into(), Json::Null);
    ShardMeta::from_value(Path::new(name), 0, &Json::Object(obj))
}

/// A JSON or XSV shard (§5): a data file and a meta file holding the offsets.
#[derive(Debug, Clone)]
pub struct SplitShard {
    name: Arc<str>,
    format: ShardFormat,
    data: Bytes,
    meta: Bytes,
    header: Header,
    columns: Arc<Columns>,
    newline: String,
    separator: String,
}

impl SplitShard {
    /// Parses a split shard from its data and meta files, configured by its index entry
    /// (`format`, `newline`, `separator`, columns).
    pub fn parse(entry: &ShardMeta, data: Bytes, meta: Bytes) -> Result<Self> {
        let name = entry.raw_data.basename.as_str();
        let columns = Arc::new(Columns::from_meta(entry)?);
        let newline = entry.newline.clone().unwrap_or_else(|| "\n".to_owned());
        let separator = match entry.format {
            ShardFormat::Csv => ",".to_owned(),
            ShardFormat::Tsv => "\t".to_owned(),
            ShardFormat::Xsv => entry.separator.clone().unwrap_or_default(),
            ShardFormat::Json => String::new(),
            ShardFormat::Mds => {
                return Err(Error::UnsupportedFormat {
                    shard: name.to_owned(),
                    format: "mds".to_owned(),
                });
            }
        };
        // XSV data starts with the header line; its length is offsets[0].
        let first = if entry.format == ShardFormat::Json {
            0
        } else {
            let header_line = format!("{}{newline}", columns.names().join(&separator));
            if !data.starts_with(header_line.as_bytes()) {
                return Err(Error::Sample {
                    shard: name.to_owned(),
                    sample: 0,
                    reason: "data file does not start with the column header line".to_owned(),
                });
            }
            header_line.len()
        };
        let header = parse_header(name, &meta, data.len(), Some(first))?;
        if to_u64(header.samples) != entry.samples {
            return Err(Error::HeaderMismatch {
                shard: name.to_owned(),
                field: "samples",
                shard_value: header.samples.to_string(),
                index_value: entry.samples.to_string(),
            });
        }
        Ok(SplitShard {
            name: name.into(),
            format: entry.format,
            data,
            meta,
            header,
            columns,
            newline,
            separator,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.header.samples
    }

    /// Whether the shard holds no samples.
    pub fn is_empty(&self) -> bool {
        self.header.samples == 0
    }

    /// The columns.
    pub fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    /// The record of sample `i` with its terminator.
    pub fn sample_bytes(&self, i: usize) -> Result<Bytes> {
        if i >= self.header.samples {
            return Err(Error::SampleOutOfRange {
                sample: to_u64(i),
                len: to_u64(self.header.samples),
                what: self.name.to_string(),
            });
        }
        let b = read_u32(&self.meta, 4 + 4 * i)
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(usize::MAX);
        let e = read_u32(&self.meta, 8 + 4 * i)
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(usize::MAX);
        if b > e || e > self.data.len() {
            return Err(Error::Offsets {
                shard: self.name.to_string(),
                sample: Some(to_u64(i)),
                reason: "out of range".into(),
            });
        }
        Ok(self.data.slice(b..e))
    }

    /// Sample `i`: XSV field texts, or JSON value texts, in column order.
    pub fn sample(&self, i: usize) -> Result<Sample> {
        let rec = self.sample_bytes(i)?;
        let err = |reason: String| Error::Sample {
            shard: self.name.to_string(),
            sample: to_u64(i),
            reason,
        };
        // The reference strips the terminator by length, whatever the record ends with.
        let body = rec.slice(..rec.len().saturating_sub(self.newline.len()));
        let values = if self.format == ShardFormat::Json {
            let raw: std::collections::HashMap<String, &serde_json::value::RawValue> =
                serde_json::from_slice(&body)
                    .map_err(|e| err(format!("not a JSON object: {e}")))?;
            self.columns
                .names()
                .iter()
                .map(|n| {
                    raw.get(n)
                        .map(|r| body.slice_ref(r.get().as_bytes()))
                        .ok_or_else(|| err(format!("column {n} missing")))
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            let sep = self.separator.as_bytes();
            let mut fields = Vec::with_capacity(self.columns.len());
            let mut start = 0;
            let mut pos = 0;
            while !sep.is_empty() && pos + sep.len() <= body.len() {
                if &body[pos..pos + sep.len()] == sep {
                    fields.push(body.slice(start..pos));
                    pos += sep.len();
                    start = pos;
                } else {
                    pos += 1;
                }
            }
            fields.push(body.slice(start..));
            if fields.len() != self.columns.len() {
                return Err(err(format!(
                    "{} fields, expected {}",
                    fields.len(),
                    self.columns.len()
                )));
            }
            fields
        };
        Ok(Sample::new(
            self.columns.clone(),
            values,
            self.name.clone(),
            to_u64(i),
        ))
    }
}

/// A shard of any format, opened.
#[derive(Debug, Clone)]
pub enum Shard {
    /// An MDS shard.
    Mds(MdsShard),
    /// A JSON or XSV shard.
    Split(SplitShard),
}

impl Shard {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Shard::Mds(s) => s.len(),
            Shard::Split(s) => s.len(),
        }
    }

    /// Whether the shard holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `i` of the shard.
    pub fn sample(&self, i: usize) -> Result<Sample> {
        match self {
            Shard::Mds(s) => s.sample(i),
            Shard::Split(s) => s.sample(i),
        }
    }

    /// The columns.
    pub fn columns(&self) -> &Arc<Columns> {
        match self {
            Shard::Mds(s) => s.columns(),
            Shard::Split(s) => s.columns(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_mapping_reads_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard.00000.mds");
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let m = MappedFile::open(&path).unwrap();
        let slice = m.bytes().slice(1_000_000..1_000_100);
        assert_eq!(&slice[..], &data[1_000_000..1_000_100]);
        m.release_range(999_000, 4000).unwrap();
        m.release_range(4_999_000, 1 << 30).unwrap();
        m.release().unwrap();
        // a slice taken before the release and the whole mapping read back unchanged
        assert_eq!(&slice[..], &data[1_000_000..1_000_100]);
        assert!(m.bytes()[..] == data[..]);
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let e = MappedFile::open(&empty).unwrap();
        assert!(e.bytes().is_empty());
        e.release().unwrap();
    }
}
