//! `mds._native.LocalReader`: random access to an MDS dataset already on local disk
//! (behind `mds.LocalDataset`). Shards are memory-mapped on first use; values are zero-copy.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use mds_dataset::format::encoding::{ColumnEncoding, Value};
use mds_dataset::format::{ColumnType, Dataset};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::Plans;
use crate::errors::PyMdsError;

/// An MDS dataset in a local directory.
#[pyclass(module = "mds._native", name = "LocalReader", frozen)]
#[derive(Debug)]
pub struct LocalReader {
    inner: Dataset,
    allow_pickle: bool,
    plans: Arc<Mutex<Plans>>,
}

#[pymethods]
impl LocalReader {
    /// Opens `dir` (which holds index.json).
    #[new]
    #[pyo3(signature = (dir, allow_pickle = true))]
    fn new(py: Python<'_>, dir: PathBuf, allow_pickle: bool) -> PyResult<Self> {
        let inner = py
            .detach(|| Dataset::open(&dir))
            .map_err(PyMdsError::from)?;
        Ok(Self {
            inner,
            allow_pickle,
            plans: Arc::default(),
        })
    }

    /// Total samples.
    fn __len__(&self) -> PyResult<usize> {
        usize::try_from(self.inner.len()).map_err(|_| PyIndexError::new_err("dataset too large"))
    }

    /// Samples per shard, in index order.
    fn samples_per_shard(&self) -> Vec<u64> {
        self.inner
            .index()
            .shards
            .iter()
            .map(|s| s.samples)
            .collect()
    }

    /// Sample `index` (0 <= index < len) as a dict.
    fn get<'py>(&self, py: Python<'py>, index: u64) -> PyResult<Bound<'py, PyDict>> {
        let (names, encodings, values) = py
            .detach(|| -> Result<_, mds_dataset::format::Error> {
                let sample = self.inner.get(index)?;
                let cols = sample.columns();
                let encodings: Vec<ColumnEncoding> = cols
                    .types()
                    .iter()
                    .map(|t| match t {
                        ColumnType::Mds(e) => e.clone(),
                        _ => ColumnEncoding::Bytes,
                    })
                    .collect();
                let values = (0..cols.len())
                    .map(|i| sample.decode(i))
                    .collect::<Result<Vec<Value>, _>>()?;
                Ok((cols.names().to_vec(), encodings, values))
            })
            .map_err(PyMdsError::from)?;
        let plan = self
            .plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(py, &names, &encodings, self.allow_pickle)?;
        // LocalDataset keeps the zero-copy read-only views (random access, no DataLoader
        // collate in the way).
        plan.to_dict(py, values, false)
    }
}
