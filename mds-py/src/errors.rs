//! The exception hierarchy of `mds`, and the conversion of Rust errors into it.
//!
//! `MdsError` is the base of every error raised by the native code. Bad configuration maps to
//! `ValueError`, a missing remote object to `FileNotFoundError`; the message flattens the
//! Rust source chain so the whole cause reaches the Python traceback.

use std::error::Error as StdError;
use std::fmt::Write as _;

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::types::PyAnyMethods as _;

create_exception!(
    mds._native,
    MdsError,
    PyException,
    "Base class of every error raised by mds."
);
create_exception!(
    mds._native,
    ShardCorruptError,
    MdsError,
    "A shard or index.json is malformed, truncated or fails its hash check."
);
create_exception!(
    mds._native,
    FetchError,
    MdsError,
    "Downloading from (or uploading to) remote storage failed."
);
create_exception!(
    mds._native,
    CacheError,
    MdsError,
    "The local cache directory could not be used."
);

/// The message of `err` followed by each of its sources, joined with `": "`.
pub fn flatten(err: &dyn StdError) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            let _ = write!(msg, ": {text}");
        }
        source = s.source();
    }
    msg
}

/// `json.JSONDecodeError(msg, "", 0)` with the parser's line and column in the message, as
/// the reference raises for an empty or corrupt index.json; a plain `ValueError` (its base)
/// should the `json` module not import.
fn json_decode_error(msg: &str, line: usize, column: usize) -> PyErr {
    pyo3::Python::attach(|py| {
        let text = format!("{msg} (line {line}, column {column})");
        match py
            .import("json")
            .and_then(|m| m.getattr("JSONDecodeError"))
            .and_then(|cls| cls.call1((text.clone(), "", 0)))
        {
            Ok(exc) => PyErr::from_value(exc),
            Err(_) => pyo3::exceptions::PyValueError::new_err(text),
        }
    })
}

/// A Rust error on its way to Python (the orphan rule forbids `From<mds_dataset::Error> for PyErr`).
#[derive(Debug)]
pub struct PyMdsError(pub PyErr);

impl From<PyMdsError> for PyErr {
    fn from(e: PyMdsError) -> Self {
        e.0
    }
}

/// Whether a cause in the chain of `err` is a missing file or object.
fn chain_not_found(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::NotFound
        {
            return true;
        }
        if e.downcast_ref::<mds_fetch::Error>()
            .is_some_and(mds_fetch::Error::is_not_found)
            || e.downcast_ref::<mds_dataset::format::Error>()
                .is_some_and(mds_dataset::format::Error::is_not_found)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Whether a cause in the chain of `err` is of type `T`.
fn chain_has<T: StdError + 'static>(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<T>() {
            return true;
        }
        cur = e.source();
    }
    false
}

impl From<mds_dataset::Error> for PyMdsError {
    fn from(err: mds_dataset::Error) -> Self {
        use mds_dataset::Error as E;
        let msg = flatten(&err);
        let py = match &err {
            _ if err.is_config() => pyo3::exceptions::PyValueError::new_err(msg),
            // The reference's exception types for these (streaming/base/dataset.py).
            E::Plan { .. } => pyo3::exceptions::PyValueError::new_err(msg),
            E::EmptyStream { .. } | E::NoLocalIndex { .. } => {
                pyo3::exceptions::PyRuntimeError::new_err(msg)
            }
            E::IndexJson { source, .. } => json_decode_error(&msg, source.line(), source.column()),
            E::SampleOutOfRange { .. } => pyo3::exceptions::PyIndexError::new_err(msg),
            _ if chain_not_found(&err) => pyo3::exceptions::PyFileNotFoundError::new_err(msg),
            E::CorruptShard { .. } | E::Decode { .. } => ShardCorruptError::new_err(msg),
            _ if chain_has::<mds_fetch::Error>(&err) => FetchError::new_err(msg),
            _ if chain_has::<mds_dataset::format::Error>(&err) => ShardCorruptError::new_err(msg),
            _ => MdsError::new_err(msg),
        };
        Self(py)
    }
}

impl From<mds_dataset::format::Error> for PyMdsError {
    fn from(err: mds_dataset::format::Error) -> Self {
        use mds_dataset::format::Error as E;
        let msg = flatten(&err);
        let py = match &err {
            _ if err.is_not_found() => pyo3::exceptions::PyFileNotFoundError::new_err(msg),
            E::SampleOutOfRange { .. } => pyo3::exceptions::PyIndexError::new_err(msg),
            E::InvalidArgument { .. }
            | E::ColumnSpec { .. }
            | E::UnknownHash { .. }
            | E::InvalidCompression { .. } => pyo3::exceptions::PyValueError::new_err(msg),
            E::FixedSize { .. } => pyo3::exceptions::PyKeyError::new_err(msg),
            E::Io { .. } => pyo3::exceptions::PyOSError::new_err(msg),
            _ => ShardCorruptError::new_err(msg),
        };
        Self(py)
    }
}

impl From<mds_fetch::Error> for PyMdsError {
    fn from(err: mds_fetch::Error) -> Self {
        let msg = flatten(&err);
        Self(if err.is_not_found() {
            pyo3::exceptions::PyFileNotFoundError::new_err(msg)
        } else {
            FetchError::new_err(msg)
        })
    }
}
