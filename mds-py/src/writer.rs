//! `mds._native.Writer`: lays encoded samples out into MDS shards (behind `mds.MDSWriter`),
//! and `mds._native.SplitWriter`: JSON-lines, CSV, TSV and XSV datasets (behind
//! `mds.JSONWriter`, `mds.CSVWriter`, `mds.TSVWriter`, `mds.XSVWriter`).
//!
//! For MDS, Python encodes each value into its column bytes (`mds._encode`); the split
//! formats take `str`, `int` and `float` values as they are. Both writers cut shards at the
//! size limit, compress, hash, and write index.json exactly as the reference.

use std::path::PathBuf;

use mds_dataset::format::MdsWriter;
use mds_dataset::format::encoding::{Text, Value};
use mds_dataset::format::index::ShardFormat;
use mds_dataset::format::writer::SplitWriter as RustSplitWriter;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};

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

    /// The configuration every shard records (sorted JSON text).
    fn config_json(&self) -> PyResult<String> {
        Ok(String::from_utf8_lossy(self.writer_ref()?.config_json()).into_owned())
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
        let w = self.inner.take().ok_or_else(finished)?;
        let index = py.detach(|| w.finish()).map_err(PyMdsError::from)?;
        Ok(written_files(&index))
    }
}

impl Writer {
    fn writer(&mut self) -> PyResult<&mut MdsWriter> {
        self.inner.as_mut().ok_or_else(finished)
    }

    fn writer_ref(&self) -> PyResult<&MdsWriter> {
        self.inner.as_ref().ok_or_else(finished)
    }
}

/// The error of a writer used after `finish`.
fn finished() -> PyErr {
    PyRuntimeError::new_err("the writer is already finished")
}

/// The basenames of the files an index lists, then index.json.
fn written_files(index: &mds_dataset::format::index::Index) -> Vec<String> {
    let mut files: Vec<String> = index
        .shards
        .iter()
        .flat_map(|s| s.files())
        .map(|f| f.basename.clone())
        .collect();
    files.push("index.json".to_owned());
    files
}

/// An open JSON-lines / CSV / TSV / XSV writer into a local directory.
#[pyclass(module = "mds._native", name = "SplitWriter")]
#[derive(Debug)]
pub struct SplitWriter {
    inner: Option<RustSplitWriter>,
}

#[pymethods]
impl SplitWriter {
    /// A writer of `format` (`json`, `csv`, `tsv`, `xsv`) into `dir` with `columns` (name →
    /// `str`, `int` or `float`), compression spec, hash names, `size_limit` in bytes (None:
    /// no limit), the sample `newline` and, for XSV, the `separator`.
    #[new]
    #[pyo3(signature = (dir, format, columns, compression=None, hashes=Vec::new(), size_limit=None, newline="\n".to_owned(), separator=None))]
    #[allow(clippy::too_many_arguments)] // the reference's writer arguments
    fn new(
        dir: PathBuf,
        format: &str,
        columns: Vec<(String, String)>,
        compression: Option<String>,
        hashes: Vec<String>,
        size_limit: Option<u64>,
        newline: String,
        separator: Option<String>,
    ) -> PyResult<Self> {
        let format = match format {
            "json" => ShardFormat::Json,
            "csv" => ShardFormat::Csv,
            "tsv" => ShardFormat::Tsv,
            "xsv" => ShardFormat::Xsv,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown split format {other:?}: json, csv, tsv or xsv"
                )));
            }
        };
        let cols: Vec<(&str, &str)> = columns
            .iter()
            .map(|(n, e)| (n.as_str(), e.as_str()))
            .collect();
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let mut b = RustSplitWriter::builder(&dir, format)
            .with_columns(&cols)
            .with_compression(compression.as_deref())
            .with_hashes(&hashes)
            .with_size_limit(size_limit)
            .with_exist_ok(true)
            .with_reference_empty_first_shard(true)
            .with_newline(&newline);
        if let Some(sep) = &separator {
            b = b.with_separator(sep);
        }
        let inner = b.build_split().map_err(PyMdsError::from)?;
        Ok(Self { inner: Some(inner) })
    }

    /// The configuration every shard's meta file records (sorted JSON text).
    fn config_json(&self) -> PyResult<String> {
        Ok(String::from_utf8_lossy(self.writer_ref()?.config_json()).into_owned())
    }

    /// Column names in the order `write` takes values (sorted by name).
    fn column_names(&self) -> PyResult<Vec<String>> {
        Ok(self.writer_ref()?.column_names().to_vec())
    }

    /// Appends one sample: each column's `str`, `int` or `float`, in `column_names` order.
    fn write(&mut self, values: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let names = self.writer_ref()?.column_names().to_vec();
        let mut out = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            out.push(split_value(v).map_err(|e| {
                let column = names.get(i).map_or("?", String::as_str);
                PyTypeError::new_err(format!("column {column}: {e}"))
            })?);
        }
        self.writer()?.write(&out).map_err(|e| match e {
            // A value of the wrong kind for its column is the caller's mistake, not a shard's.
            e @ mds_dataset::format::Error::Encoding { .. } => {
                PyTypeError::new_err(crate::errors::flatten(&e))
            }
            e => PyMdsError::from(e).into(),
        })
    }

    /// Writes the last shard and index.json; returns the basenames of the files written.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Vec<String>> {
        let w = self.inner.take().ok_or_else(finished)?;
        let index = py.detach(|| w.finish()).map_err(PyMdsError::from)?;
        Ok(written_files(&index))
    }
}

impl SplitWriter {
    fn writer(&mut self) -> PyResult<&mut RustSplitWriter> {
        self.inner.as_mut().ok_or_else(finished)
    }

    fn writer_ref(&self) -> PyResult<&RustSplitWriter> {
        self.inner.as_ref().ok_or_else(finished)
    }
}

/// A Python `str`, `int` (any size) or `float` as a split-format value.
fn split_value(v: &Bound<'_, PyAny>) -> Result<Value, String> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::Str(Text::from(
            s.to_str().map_err(|e| e.to_string())?.to_owned(),
        )));
    }
    if v.is_instance_of::<PyBool>() {
        return Err("a bool is not a str, int or float".to_owned());
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(match v.extract::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => Value::BigInt(Text::from(v.str().map_err(|e| e.to_string())?.to_string())),
        });
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float64(f.value()));
    }
    let type_name = v
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Err(format!("a {type_name} is not a str, int or float"))
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

/// Checks that `remote` names a store mds can write to (scheme, bucket, credentials
/// configuration), without any request: a writer fails at construction, not after writing
/// every shard.
#[pyfunction]
pub fn check_remote(remote: &str) -> PyResult<()> {
    mds_fetch::from_url(remote).map(drop).map_err(|e| {
        PyValueError::new_err(format!(
            "invalid remote {remote:?}: {}",
            crate::errors::flatten(&e)
        ))
    })
}
