//! A dataset directory on local disk: index.json plus shards (the reference's `LocalDataset`,
//! §18.4, without its limits).
//!
//! Reading never writes into the directory: raw shards are mmap'd; a shard stored only
//! compressed is decompressed in memory (bounded by the raw size index.json records). A
//! read-only directory works.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::index::{FileInfo, Index, ShardFormat, ShardMeta};
use crate::sample::{Columns, Sample};
use crate::shard::{MdsShard, Shard, SplitShard, map_file};

/// A local dataset: samples by global index across shards.
#[derive(Debug)]
pub struct Dataset {
    dir: PathBuf,
    index: Index,
    /// `starts[k]` = global index of shard k's first sample; one extra entry = total.
    starts: Vec<u64>,
    open: Vec<Mutex<Option<Arc<Shard>>>>,
}

impl Dataset {
    /// Opens `<dir>/index.json`. Shards are opened on first use.
    pub fn open(dir: &Path) -> Result<Self> {
        let index = Index::load(dir)?;
        Ok(Self::with_index(dir, index))
    }

    /// A dataset over `dir` described by an index already loaded.
    pub fn with_index(dir: &Path, index: Index) -> Self {
        let mut starts = Vec::with_capacity(index.shards.len() + 1);
        let mut total = 0u64;
        for s in &index.shards {
            starts.push(total);
            total = total.saturating_add(s.samples);
        }
        starts.push(total);
        let open = index.shards.iter().map(|_| Mutex::new(None)).collect();
        Dataset {
            dir: dir.to_owned(),
            index,
            starts,
            open,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Total samples (the sum of the index's per-shard counts).
    pub fn len(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Whether the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard holding global sample `i` and the sample's index within it.
    pub fn locate(&self, i: u64) -> Option<(usize, u64)> {
        if i >= self.len() {
            return None;
        }
        // Last shard whose start is <= i, skipping empty shards.
        let k = self.starts.partition_point(|&s| s <= i) - 1;
        Some((k, i - self.starts[k]))
    }

    /// Opens shard `k` (cached after the first call).
    pub fn shard(&self, k: usize) -> Result<Arc<Shard>> {
        let slot = self.open.get(k).ok_or_else(|| Error::SampleOutOfRange {
            sample: k as u64,
            len: self.open.len() as u64,
            what: "shards of the dataset".into(),
        })?;
        let mut guard = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let shard = Arc::new(self.load_shard(k)?);
        *guard = Some(shard.clone());
        Ok(shard)
    }

    /// Global sample `i`.
    pub fn get(&self, i: u64) -> Result<Sample> {
        let (k, j) = self.locate(i).ok_or_else(|| Error::SampleOutOfRange {
            sample: i,
            len: self.len(),
            what: "dataset".into(),
        })?;
        let j = usize::try_from(j).map_err(|_| Error::SampleOutOfRange {
            sample: i,
            len: self.len(),
            what: "dataset".into(),
        })?;
        self.shard(k)?.sample(j)
    }

    fn path(&self, info: &FileInfo) -> PathBuf {
        self.dir.join(&info.basename)
    }

    /// Reads one logical file of a shard: the raw file if present (mmap'd), else the
    /// compressed one decompressed in memory.
    fn read_part(
        &self,
        shard: &str,
        raw: &FileInfo,
        zip: Option<&FileInfo>,
        meta: &ShardMeta,
    ) -> Result<Bytes> {
        let raw_path = self.path(raw);
        if raw_path.is_file() {
            let data = map_file(&raw_path)?;
            check_size(raw, data.len())?;
            return Ok(data);
        }
        if let (Some(zip), Some(c)) = (zip, meta.compression.as_ref()) {
            let zip_path = self.path(zip);
            if zip_path.is_file() {
                let packed = map_file(&zip_path)?;
                check_size(zip, packed.len())?;
                let data = c.decompress(&zip.basename, &packed, raw.bytes)?;
                check_size(raw, data.len())?;
                return Ok(Bytes::from(data));
            }
            return Err(Error::MissingShard {
                shard: shard.to_owned(),
                path: zip_path,
            });
        }
        Err(Error::MissingShard {
            shard: shard.to_owned(),
            path: raw_path,
        })
    }

    fn load_shard(&self, k: usize) -> Result<Shard> {
        let meta = &self.index.shards[k];
        let name = meta.raw_data.basename.as_str();
        if meta.format == ShardFormat::Mds {
            let columns = Arc::new(Columns::from_meta(meta)?);
            let data = self.read_part(name, &meta.raw_data, meta.zip_data.as_ref(), meta)?;
            let shard = MdsShard::parse(name, data, columns)?;
            shard.check_meta(meta)?;
            Ok(Shard::Mds(shard))
        } else {
            let data = self.read_part(name, &meta.raw_data, meta.zip_data.as_ref(), meta)?;
            let raw_meta = meta.raw_meta.as_ref().ok_or_else(|| Error::MissingShard {
                shard: name.to_owned(),
                path: self.dir.join(format!("{name}.meta")),
            })?;
            let m = self.read_part(name, raw_meta, meta.zip_meta.as_ref(), meta)?;
            Ok(Shard::Split(SplitShard::parse(meta, data, m)?))
        }
    }

    /// Checks shard `k` completely: every file present has its recorded size and every
    /// recorded hash (raw hashes are also checked on the decompressed bytes when only the
    /// compressed file is present), the shard opens, and every sample decodes. Returns every
    /// fault found (empty: the shard is sound).
    pub fn verify_shard(&self, k: usize) -> Vec<Error> {
        let mut faults = Vec::new();
        let Some(meta) = self.index.shards.get(k) else {
            return faults;
        };
        let pairs = [
            (Some(&meta.raw_data), meta.zip_data.as_ref()),
            (meta.raw_meta.as_ref(), meta.zip_meta.as_ref()),
        ];
        for (raw, zip) in pairs {
            let Some(raw) = raw else { continue };
            let raw_path = self.path(raw);
            let mut raw_checked = false;
            if raw_path.is_file() {
                match map_file(&raw_path) {
                    Ok(d) => faults.extend(check_file(raw, &d)),
                    Err(e) => faults.push(e),
                }
                raw_checked = true;
            }
            if let Some(zip) = zip {
                let zip_path = self.path(zip);
                if zip_path.is_file() {
                    match map_file(&zip_path) {
                        Ok(packed) => {
                            let zip_faults = check_file(zip, &packed);
                            let ok = zip_faults.is_empty();
                            faults.extend(zip_faults);
                            if ok
                                && !raw_checked
                                && let Some(c) = meta.compression.as_ref()
                            {
                                match c.decompress(&zip.basename, &packed, raw.bytes) {
                                    Ok(d) => faults.extend(check_file(raw, &d)),
                                    Err(e) => faults.push(e),
                                }
                            }
                        }
                        Err(e) => faults.push(e),
                    }
                }
            }
        }
        if !faults.is_empty() {
            return faults;
        }
        let shard = match self.shard(k) {
            Ok(s) => s,
            Err(e) => {
                faults.push(e);
                return faults;
            }
        };
        for i in 0..shard.len() {
            let decoded = shard.sample(i).and_then(|s| s.decode_all().map(drop));
            if let Err(e) = decoded {
                faults.push(e);
                if faults.len() >= 10 {
                    break;
                }
            }
        }
        faults
    }

    /// Verifies every shard ([`Dataset::verify_shard`]); `progress` is called after each shard
    /// with its position. Returns every fault found.
    pub fn verify(&self, progress: &mut dyn FnMut(usize)) -> Vec<Error> {
        let mut faults = Vec::new();
        for k in 0..self.index.shards.len() {
            faults.extend(self.verify_shard(k));
            progress(k);
        }
        faults
    }
}

fn check_size(info: &FileInfo, len: usize) -> Result<()> {
    if len as u64 != info.bytes {
        return Err(Error::Size {
            file: info.basename.clone(),
            expected: info.bytes,
            actual: len as u64,
        });
    }
    Ok(())
}

/// Size and every recorded hash of one file.
fn check_file(info: &FileInfo, data: &[u8]) -> Vec<Error> {
    if let Err(e) = check_size(info, data.len()) {
        return vec![e];
    }
    let mut faults = Vec::new();
    for (algo, expected) in &info.hashes {
        match algo.parse::<HashAlgorithm>() {
            Ok(a) => {
                let actual = a.hex_digest(data);
                if !actual.eq_ignore_ascii_case(expected) {
                    faults.push(Error::HashMismatch {
                        file: info.basename.clone(),
                        algorithm: algo.clone(),
                        expected: expected.clone(),
                        actual,
                    });
                }
            }
            Err(e) => faults.push(e),
        }
    }
    faults
}
