//! `mds._native.Writer`: lays encoded samples out into MDS shards (behind `mds.MDSWriter`).
//!
//! Python encodes each value into its column bytes (`mds._encode`); this writer cuts shards
//! at the size limit, compresses, hashes, and writes index.json exactly as the reference.

use std::path::PathBuf;

use mds_dataset::format::MdsWriter;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::PyMdsError;

/// An open MDS writer into a local directory.
#[pyclass(module = "mds._native", name = "Writer")]
#[derive(Debug)]
pub struct Writer {
    inner: Option<MdsWriter>,
}

#[pymethods]
impl Writer {
    /// A writer into `dir` with `columns` (name → encoding), compression spec, hash names and
    /// `size_limit` in bytes (None: no limit).
    #[new]
    #[pyo3(signature = (dir, columns, compression=None, hashes=Vec::new(), size_limit=None))]
    fn new(
        dir: PathBuf,
        columns: Vec<(String, String)>,
        compression: Option<String>,
        hashes: Vec<String>,
        size_limit: Option<u64>,
    ) -> PyResult<Self> {
        let cols: Vec<(&str, &str)> = columns
            .iter()
            .map(|(n, e)| (n.as_str(), e.as_str()))
            .collect();
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let inner = MdsWriter::builder(&dir)
            .with_columns(&cols)
            .with_compression(compression.as_deref())
            .with_hashes(&hashes)
            .with_size_limit(size_limit)
            .with_exist_ok(true)
            .with_reference_empty_first_shard(true)
            .build_mds()
            .map_err(PyMdsError::from)?;
        Ok(Self { inner: Some(inner) })
    }

    /// Column names in the order `write` takes values (sorted by name).
    fn column_names(&self) -> PyResult<Vec<String>> {
        Ok(self.writer_ref()?.columns().names().to_vec())
    }

    /// Appends one sample: the encoded bytes of each column, in `column_names` order.
    fn write(&mut self, values: Vec<Bound<'_, PyBytes>>) -> PyResult<()> {
        let parts: Vec<&[u8]> = values.iter().map(PyBytesMethods::as_bytes).collect();
        self.writer()?
            .write_encoded(&parts)
            .map_err(|e| PyMdsError::from(e).into())
    }

    /// Writes the last shard and index.json; returns the basenames of the files written.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Vec<String>> {
        let w = self
            .inner
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the writer is already finished"))?;
        let index = py.detach(|| w.finish()).map_err(PyMdsError::from)?;
        let mut files: Vec<String> = index
            .shards
            .iter()
            .flat_map(|s| s.files())
            .map(|f| f.basename.clone())
            .collect();
        files.push("index.json".to_owned());
        Ok(files)
    }
}

impl Writer {
    fn writer(&mut self) -> PyResult<&mut MdsWriter> {
        self.inner
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("the writer is already finished"))
    }

    fn writer_ref(&self) -> PyResult<&MdsWriter> {
        self.inner
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the writer is already finished"))
    }
}

/// Merges the index.json of sub-directories of `root` into `root/index.json` (local form).
#[pyfunction]
#[pyo3(signature = (index_files, root))]
pub fn merge_local_index(
    py: Python<'_>,
    index_files: Option<Vec<PathBuf>>,
    root: PathBuf,
) -> PyResult<()> {
    py.detach(|| -> Result<(), mds_dataset::format::Error> {
        let index = match index_files {
            Some(files) => mds_dataset::format::index::merge_index_files(&files, &root)?,
            None => mds_dataset::format::index::merge_index(&root)?,
        };
        index.write(&root)
    })
    .map_err(|e| PyMdsError::from(e).into())
}

/// Uploads `(local path, key)` pairs under the remote root `remote` (any URL mds-fetch knows:
/// `s3://`, `gs://`, `azure://`, `file://`...), each PUT tried `retry` times, 8 at once.
#[pyfunction]
#[pyo3(signature = (remote, files, retry = 2))]
pub fn upload_files(
    py: Python<'_>,
    remote: &str,
    files: Vec<(PathBuf, String)>,
    retry: u32,
) -> PyResult<()> {
    let fetcher = mds_fetch::from_url(remote).map_err(PyMdsError::from)?;
    let policy = mds_fetch::RetryPolicy::from_reference(retry, 60.0);
    let handle = crate::runtime::handle()?;
    py.detach(|| handle.block_on(mds_fetch::upload(fetcher.as_ref(), &files, 8, &policy)))
        .map_err(|e| PyMdsError::from(e).into())
}
