//! index.json entries, and reading samples out of an MDS shard.
//!
//! A shard file is both open for `pread` and mapped read-only. Small runs of samples (under
//! [`MAP_MIN_BYTES`]) are copied with one `pread`: cheaper than a page fault. Larger ones are
//! slices of the mapping, so nothing is copied and columns never read are never touched.
//! Mapped pages count toward the reader's RSS until given back, and on ext4 and xfs each
//! fault maps a whole 2 MiB folio, so the iterator gives back the ranges it served once
//! [`RELEASE_BYTES`] more have been served after them ([`Releaser`]). Either way a sample's
//! column values are zero-copy slices of the buffer or mapping it was read from.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use mds_format::encoding::{ColumnEncoding, Value};
use mds_format::shard::MappedFile;
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
struct RawIndex {
    version: u64,
    shards: Vec<RawShard>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    basename: String,
    bytes: u64,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct RawShard {
    #[serde(default)]
    column_encodings: Vec<String>,
    #[serde(default)]
    column_names: Vec<String>,
    #[serde(default)]
    column_sizes: Vec<Option<u64>>,
    compression: Option<String>,
    format: String,
    #[serde(default)]
    hashes: Vec<String>,
    raw_data: RawFile,
    samples: u64,
    #[serde(default)]
    size_limit: Option<u64>,
    zip_data: Option<RawFile>,
}

/// The columns of a shard: names, encodings and fixed sizes.
#[derive(Debug)]
pub(crate) struct Columns {
    pub(crate) names: Arc<[String]>,
    pub(crate) encodings: Arc<[ColumnEncoding]>,
    pub(crate) sizes: Vec<Option<usize>>,
    pub(crate) num_variable: usize,
}

/// One shard of one stream as index.json describes it.
#[derive(Debug)]
pub(crate) struct ShardEntry {
    pub(crate) stream: usize,
    pub(crate) basename: String,
    pub(crate) raw_bytes: u64,
    pub(crate) raw_hashes: std::collections::BTreeMap<String, String>,
    pub(crate) zip: Option<(String, u64)>,
    pub(crate) zip_hashes: std::collections::BTreeMap<String, String>,
    pub(crate) compression: Option<String>,
    pub(crate) samples: u64,
    pub(crate) columns: Arc<Columns>,
    /// The shard's `hashes` (algorithm names) and `size_limit` in index.json.
    pub(crate) hash_names: Vec<String>,
    pub(crate) size_limit: Option<u64>,
    /// Column sizes as index.json gives them.
    pub(crate) column_sizes: Vec<Option<u64>>,
}

/// A basename may name a file in a subdirectory (`merge_index` writes `part-0/shard.00000.mds`)
/// but must stay inside the dataset: [`mds_format::index::is_safe_basename`].
fn check_basename(stream: usize, path: &str, name: &str) -> Result<()> {
    if !mds_format::index::is_safe_basename(name) {
        return Err(Error::InvalidStream {
            stream,
            reason: format!("index file at {path}: unsafe shard basename {name:?}"),
        });
    }
    Ok(())
}

/// Parses an index.json (version 2) into shard entries.
pub(crate) fn parse_index(
    stream: usize,
    path: &str,
    text: &[u8],
    allow_unsafe_types: bool,
) -> Result<Vec<ShardEntry>> {
    let bad = |reason: String| Error::InvalidStream {
        stream,
        reason: format!("index file at {path}: {reason}"),
    };
    let raw: RawIndex = serde_json::from_slice(text).map_err(|source| {
        if source.is_data() {
            // Valid JSON of the wrong shape: a bad index, not a decode error.
            bad(format!("is not an MDS index: {source}"))
        } else {
            Error::IndexJson {
                stream,
                path: path.to_owned(),
                source,
            }
        }
    })?;
    if raw.version != 2 {
        return Err(bad(format!(
            "unsupported index version {}; expected 2",
            raw.version
        )));
    }
    let mut out = Vec::with_capacity(raw.shards.len());
    for s in raw.shards {
        if s.format != "mds" {
            return Err(bad(format!(
                "shard {}: format {:?} is not read by mds-dataset yet",
                s.raw_data.basename, s.format
            )));
        }
        check_basename(stream, path, &s.raw_data.basename)?;
        if let Some(z) = &s.zip_data {
            check_basename(stream, path, &z.basename)?;
        }
        if s.column_encodings.len() != s.column_names.len()
            || s.column_sizes.len() != s.column_names.len()
        {
            return Err(bad(format!(
                "shard {}: column lists differ in length",
                s.raw_data.basename
            )));
        }
        let mut encodings = Vec::with_capacity(s.column_encodings.len());
        for e in &s.column_encodings {
            let enc: ColumnEncoding = e.parse().map_err(|err| {
                bad(format!(
                    "shard {}: column encoding {e:?}: {err}",
                    s.raw_data.basename
                ))
            })?;
            if enc.is_unsafe() && !allow_unsafe_types {
                let k = encodings.len();
                return Err(Error::UnsafeColumn {
                    stream,
                    shard: s.raw_data.basename.clone(),
                    column: s.column_names.get(k).cloned().unwrap_or_default(),
                    encoding: e.clone(),
                });
            }
            encodings.push(enc);
        }
        let column_sizes = s.column_sizes.clone();
        let sizes: Vec<Option<usize>> = s
            .column_sizes
            .iter()
            .map(|v| v.and_then(|n| usize::try_from(n).ok()))
            .collect();
        let num_variable = sizes.iter().filter(|s| s.is_none()).count();
        out.push(ShardEntry {
            stream,
            basename: s.raw_data.basename,
            raw_bytes: s.raw_data.bytes,
            raw_hashes: s.raw_data.hashes,
            zip_hashes: s
                .zip_data
                .as_ref()
                .map(|z| z.hashes.clone())
                .unwrap_or_default(),
            zip: s.zip_data.map(|z| (z.basename, z.bytes)),
            compression: s.compression,
            samples: s.samples,
            hash_names: s.hashes,
            size_limit: s.size_limit,
            column_sizes,
            columns: Arc::new(Columns {
                names: s.column_names.into(),
                encodings: encodings.into(),
                sizes,
                num_variable,
            }),
        });
    }
    Ok(out)
}

/// One decoded sample: column name → value, in the shard's column order.
///
/// Byte payloads (`Value::Bytes`, strings, arrays, images) are zero-copy slices of the
/// buffer the sample was read into.
#[derive(Clone, Debug)]
pub struct Sample {
    names: Arc<[String]>,
    encodings: Arc<[ColumnEncoding]>,
    values: Vec<Value>,
}

impl Sample {
    /// The value of column `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i))
    }
    /// Column encodings, in the order of [`Sample::names`] (added for mds-py, which needs
    /// them to return the reference's Python types).
    pub fn encodings(&self) -> &[ColumnEncoding] {
        &self.encodings
    }
    /// Column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Column values, in the order of [`Sample::names`].
    pub fn values(&self) -> &[Value] {
        &self.values
    }
    /// `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.names.iter().map(String::as_str).zip(&self.values)
    }
    /// Consumes the sample into its values.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

/// Where a shard's raw bytes are.
#[derive(Debug)]
enum Data {
    /// A file on disk, and its mapping unless mapping it failed.
    File(File, Option<MappedFile>),
    /// A decompressed shard.
    Memory(Bytes),
}

/// An open shard: its offsets table and its data.
#[derive(Debug)]
pub(crate) struct OpenShard {
    pub(crate) id: usize,
    entry_name: String,
    columns: Arc<Columns>,
    offsets: Vec<u32>,
    data: Data,
    /// Keeps a cached shard from being evicted while it is open.
    pin: Option<mds_cache::Pin>,
}

/// Runs of samples at least this long are read as slices of the mapping; shorter ones are
/// copied (a copy of a few KiB costs less than the fault that would map a 2 MiB folio).
pub(crate) const MAP_MIN_BYTES: u64 = 32 << 10;

/// Mapped bytes a [`Releaser`] lets stay resident before giving back the oldest.
pub(crate) const RELEASE_BYTES: u64 = 16 << 20;

/// Gives back mapped ranges in the order they were served, once more than [`RELEASE_BYTES`]
/// (each range widened to the 2 MiB folios it touches) were served after them. This bounds
/// the RSS of an iterator whatever the order and however many shards are open, as long as
/// the consumer is done with a sample by then; a sample kept longer stays valid and only
/// faults its pages back in if read again.
#[derive(Debug, Default)]
pub(crate) struct Releaser {
    served: VecDeque<(MappedFile, usize, usize)>,
    bytes: u64,
}

impl Releaser {
    const FOLIO: usize = 2 << 20;

    fn note(&mut self, map: &MappedFile, a: usize, b: usize) {
        let start = a / Self::FOLIO * Self::FOLIO;
        let end = b.div_ceil(Self::FOLIO).saturating_mul(Self::FOLIO);
        self.served.push_back((map.clone(), start, end));
        self.bytes += (end - start) as u64;
        while self.bytes > RELEASE_BYTES {
            let Some((old, from, to)) = self.served.pop_front() else {
                break;
            };
            self.bytes -= (to - from) as u64;
            // Only memory use is at stake if this fails.
            let _ = old.release_range(from, to - from);
        }
    }
}

impl OpenShard {
    /// Opens a raw `.mds` file: reads its offsets table and maps it (see the module docs for
    /// how samples are then read). Shard files are immutable once published (writers and the
    /// cache rename complete files into place), which makes the mapping safe.
    pub(crate) fn open_file(id: usize, entry: &ShardEntry, path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 4];
        if len < 4 {
            return Err(corrupt(
                &entry.basename,
                None,
                format!("truncated: {len} bytes"),
            ));
        }
        file.read_exact_at(&mut head, 0).map_err(io)?;
        let n = u32::from_le_bytes(head);
        let table_len = (u64::from(n) + 1) * 4;
        if 4 + table_len > len {
            return Err(corrupt(
                &entry.basename,
                None,
                format!(
                    "truncated: offsets table of {n} samples needs {} bytes, the file has {len}",
                    4 + table_len
                ),
            ));
        }
        let mut table = vec![0u8; usize::try_from(table_len).unwrap_or(usize::MAX)];
        file.read_exact_at(&mut table, 4).map_err(io)?;
        // Without a mapping every read is a pread: slower for large samples, still correct.
        let map = MappedFile::from_file(&file, path)
            .ok()
            .filter(|m| m.bytes().len() as u64 == len);
        Self::from_table(id, entry, n, &table, Data::File(file, map), len)
    }

    /// Opens a shard held in memory (a decompressed zip).
    pub(crate) fn from_bytes(id: usize, entry: &ShardEntry, data: Bytes) -> Result<Self> {
        let len = data.len() as u64;
        let Some(h) = data.get(..4) else {
            return Err(corrupt(
                &entry.basename,
                None,
                format!("truncated: {len} bytes"),
            ));
        };
        let n = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let end = usize::try_from((u64::from(n) + 2) * 4).unwrap_or(usize::MAX);
        let Some(table) = data.get(4..end) else {
            return Err(corrupt(
                &entry.basename,
                None,
                format!(
                    "truncated: offsets table of {n} samples needs {end} bytes, the shard has {len}"
                ),
            ));
        };
        let table = table.to_vec();
        Self::from_table(id, entry, n, &table, Data::Memory(data), len)
    }

    fn from_table(
        id: usize,
        entry: &ShardEntry,
        n: u32,
        table: &[u8],
        data: Data,
        len: u64,
    ) -> Result<Self> {
        if u64::from(n) != entry.samples {
            return Err(corrupt(
                &entry.basename,
                None,
                format!("header says {n} samples, index.json says {}", entry.samples),
            ));
        }
        let offsets: Vec<u32> = table
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let head_end = u64::from(n + 2) * 4;
        if offsets.first().is_some_and(|&o| u64::from(o) < head_end) {
            return Err(corrupt(
                &entry.basename,
                Some(0),
                "first offset points into the offsets table".into(),
            ));
        }
        if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(corrupt(
                &entry.basename,
                Some(i as u64),
                "offsets decrease".into(),
            ));
        }
        if let Some(&last) = offsets.last()
            && u64::from(last) > len
        {
            return Err(corrupt(
                &entry.basename,
                None,
                format!("offsets end at {last}, past the end of the shard ({len} bytes)"),
            ));
        }
        Ok(Self {
            id,
            entry_name: entry.basename.clone(),
            columns: Arc::clone(&entry.columns),
            offsets,
            data,
            pin: None,
        })
    }

    /// Holds `pin` as long as this shard is open.
    pub(crate) fn with_pin(mut self, pin: mds_cache::Pin) -> Self {
        self.pin = Some(pin);
        self
    }

    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn range(&self, start: usize, end: usize) -> Result<Bytes> {
        let (Some(&a), Some(&b)) = (self.offsets.get(start), self.offsets.get(end)) else {
            return Err(corrupt(
                &self.entry_name,
                Some(start as u64),
                format!("sample index out of range (shard has {})", self.len()),
            ));
        };
        match &self.data {
            Data::Memory(m) => Ok(m.slice(a as usize..b as usize)),
            Data::File(f, _) => {
                let mut buf = BytesMut::zeroed((b - a) as usize);
                f.read_exact_at(&mut buf, u64::from(a))
                    .map_err(|e| Error::Io {
                        path: self.entry_name.clone(),
                        source: e,
                    })?;
                Ok(buf.freeze())
            }
        }
    }

    /// Samples `start..end` as a slice of the mapping, noted in `releaser`, if the shard is
    /// mapped and the run is long enough to be worth it.
    fn mapped_range(&self, start: usize, end: usize, releaser: &mut Releaser) -> Option<Bytes> {
        let Data::File(_, Some(map)) = &self.data else {
            return None;
        };
        let a = *self.offsets.get(start)? as usize;
        let b = *self.offsets.get(end)? as usize;
        if ((b - a) as u64) < MAP_MIN_BYTES {
            return None;
        }
        releaser.note(map, a, b);
        Some(map.bytes().slice(a..b))
    }

    /// Decodes samples `idx` (indices within the shard), reading each run of consecutive
    /// indices with one call, and passes each to `out` in order. With a `releaser`, long runs
    /// are read from the mapping (see the module docs); without, everything is copied.
    pub(crate) fn read_many(
        &self,
        idx: &[u32],
        mut releaser: Option<&mut Releaser>,
        out: &mut dyn FnMut(Sample),
    ) -> Result<()> {
        const MAX_RUN_BYTES: u64 = 4 << 20;
        let mut i = 0;
        while i < idx.len() {
            let start = idx[i] as usize;
            if start >= self.len() {
                return Err(corrupt(
                    &self.entry_name,
                    Some(start as u64),
                    format!("sample index out of range (shard has {})", self.len()),
                ));
            }
            let first = u64::from(self.offsets[start]);
            let mut j = i + 1;
            while j < idx.len()
                && idx[j] as usize == start + (j - i)
                && start + (j - i) < self.len()
            {
                let span = u64::from(self.offsets[start + (j - i) + 1]) - first;
                if span > MAX_RUN_BYTES {
                    break;
                }
                j += 1;
            }
            let end = start + (j - i);
            let mapped = releaser
                .as_deref_mut()
                .and_then(|r| self.mapped_range(start, end, r));
            let buf = match mapped {
                Some(b) => b,
                None => self.range(start, end)?,
            };
            let base = self.offsets[start] as usize;
            for k in start..end {
                let a = self.offsets[k] as usize - base;
                let b = self.offsets[k + 1] as usize - base;
                out(self.decode(k, &buf.slice(a..b))?);
            }
            i = j;
        }
        Ok(())
    }

    /// Reads and decodes sample `i` of this shard.
    pub(crate) fn get(&self, i: usize) -> Result<Sample> {
        let buf = self.range(i, i + 1)?;
        self.decode(i, &buf)
    }

    fn decode(&self, i: usize, data: &Bytes) -> Result<Sample> {
        let cols = &self.columns;
        let head = cols.num_variable * 4;
        if data.len() < head {
            return Err(corrupt(
                &self.entry_name,
                Some(i as u64),
                format!(
                    "sample of {} bytes is shorter than its size header",
                    data.len()
                ),
            ));
        }
        let mut var_sizes = data[..head]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize);
        let mut pos = head;
        let mut values = Vec::with_capacity(cols.encodings.len());
        for (k, enc) in cols.encodings.iter().enumerate() {
            let size = cols.sizes[k].or_else(|| var_sizes.next()).unwrap_or(0);
            let Some(end) = pos.checked_add(size).filter(|&e| e <= data.len()) else {
                return Err(corrupt(
                    &self.entry_name,
                    Some(i as u64),
                    format!(
                        "column {} overruns the sample ({} bytes)",
                        cols.names[k],
                        data.len()
                    ),
                ));
            };
            let v = mds_format::encoding::decode(enc, data.slice(pos..end)).map_err(|source| {
                Error::Decode {
                    shard: self.entry_name.clone(),
                    sample: i as u64,
                    column: cols.names[k].clone(),
                    source,
                }
            })?;
            values.push(v);
            pos = end;
        }
        Ok(Sample {
            names: Arc::clone(&cols.names),
            encodings: Arc::clone(&cols.encodings),
            values,
        })
    }
}

fn corrupt(shard: &str, sample: Option<u64>, reason: String) -> Error {
    Error::CorruptShard {
        shard: shard.to_owned(),
        sample,
        reason,
    }
}

/// Path of a stream file: `root/split/basename`.
pub(crate) fn join(root: &Path, split: Option<&str>, basename: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    if let Some(s) = split.filter(|s| !s.is_empty()) {
        p.push(s);
    }
    p.push(basename);
    p
}
