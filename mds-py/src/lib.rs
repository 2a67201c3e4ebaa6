//! Python bindings of mds: the native module `mds._native`.
//!
//! Binding logic lives in this rlib so the workspace builds, tests and lints it; the wheel's
//! cdylib is the same crate built by maturin with `pyo3/extension-module`. The pure-Python
//! package `mds` (in `python/mds`) wraps these classes with the reference's API.
#![allow(unsafe_code)] // pyo3's macros expand to unsafe blocks; our own unsafe is in buffer.rs
#![allow(clippy::needless_pass_by_value)] // pyo3 extracts Python arguments into owned values

pub mod buffer;
mod convert;
pub mod dataset;
pub mod errors;
pub mod local;
pub mod runtime;
pub mod writer;

use pyo3::prelude::*;

/// The native module behind `import mds`.
#[pymodule]
mod _native {
    #[allow(non_upper_case_globals)] // Python's dunder name
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    #[pymodule_export]
    use crate::buffer::Buffer;
    #[pymodule_export]
    use crate::dataset::{PyDataset, SampleIter};
    #[pymodule_export]
    use crate::errors::{CacheError, FetchError, MdsError, ShardCorruptError};
    #[pymodule_export]
    use crate::local::LocalReader;
    #[pymodule_export]
    use crate::writer::{SplitWriter, Writer, check_remote, merge_local_index, upload_files};
}
