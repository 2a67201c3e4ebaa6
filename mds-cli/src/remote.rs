//! Dataset arguments that name a remote: `mds inspect`, `cat` and `verify` take a local
//! directory or any remote root `mds stream` takes (`s3://`, `gs://`, `azure://`, `http(s)://`,
//! `file://`), mirrored first into a temporary directory that is removed afterwards.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use mds_format::Index;

/// What of a remote dataset a command needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needs {
    /// index.json alone (`inspect`).
    Index,
    /// index.json and every file it lists (`cat`, `verify`).
    Everything,
}

/// A dataset directory: the one given, or a temporary mirror of a remote.
#[derive(Debug)]
pub(crate) struct DatasetDir {
    path: PathBuf,
    _mirror: Option<tempfile::TempDir>,
}

impl DatasetDir {
    /// The directory holding index.json.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Downloads at once: remote stores serve many small objects faster in parallel.
const IN_FLIGHT: usize = 8;

/// `arg` as a directory: a plain path (or `file://` path) as is; a remote root mirrored
/// (index.json, and with [`Needs::Everything`] every file it lists, sizes checked).
pub(crate) fn resolve(arg: &str, needs: Needs) -> anyhow::Result<DatasetDir> {
    if let Some(p) = arg.strip_prefix("file://") {
        return Ok(DatasetDir {
            path: PathBuf::from(p),
            _mirror: None,
        });
    }
    if !arg.contains("://") {
        return Ok(DatasetDir {
            path: PathBuf::from(arg),
            _mirror: None,
        });
    }
    let mirror = tempfile::Builder::new()
        .prefix("mds-remote-")
        .tempdir()
        .context("cannot create a temporary directory for the remote's files")?;
    let fetcher =
        mds_fetch::from_url(arg).with_context(|| format!("cannot use the remote {arg}"))?;
    let opts = mds_fetch::DownloadOptions::default();
    let rt = crate::stream::runtime()?;
    let dir = mirror.path().to_path_buf();
    rt.block_on(async {
        let index = mds_fetch::fetch_bytes(fetcher.as_ref(), "index.json", &opts.retry)
            .await
            .with_context(|| format!("cannot fetch {arg}/index.json"))?;
        std::fs::write(dir.join("index.json"), &index)
            .with_context(|| format!("cannot write {}", dir.join("index.json").display()))?;
        if needs == Needs::Index {
            return Ok::<_, anyhow::Error>(());
        }
        let index = Index::load(&dir).with_context(|| format!("cannot read the index of {arg}"))?;
        // What the writer left: the compressed form of a compressed file, else the raw one.
        let files: Vec<(String, u64)> = index
            .shards
            .iter()
            .flat_map(|s| {
                let data = s.zip_data.as_ref().unwrap_or(&s.raw_data);
                let meta = s.zip_meta.as_ref().or(s.raw_meta.as_ref());
                std::iter::once(data).chain(meta)
            })
            .map(|f| (f.basename.clone(), f.bytes))
            .collect();
        futures::stream::iter(files)
            .map(|(name, bytes)| {
                let (fetcher, opts, dir) = (&fetcher, &opts, &dir);
                async move {
                    let dest = dir.join(&name);
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("cannot create {}", parent.display()))?;
                    }
                    let expected = mds_fetch::Expected {
                        size_bytes: Some(bytes),
                        hash: None,
                    };
                    mds_fetch::download(fetcher.as_ref(), &name, &dest, &expected, opts)
                        .await
                        .with_context(|| format!("cannot fetch {arg}/{name}"))?;
                    Ok::<_, anyhow::Error>(())
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    })?;
    Ok(DatasetDir {
        path: dir,
        _mirror: Some(mirror),
    })
}
