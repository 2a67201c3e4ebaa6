//! Python bindings of mds: the native module `mds._native`.
#![allow(unsafe_code)] // pyo3's macros expand to unsafe blocks

use pyo3::prelude::*;

/// The native module behind `import mds`.
#[pymodule]
mod _native {
    #[allow(non_upper_case_globals)] // Python's dunder name
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
