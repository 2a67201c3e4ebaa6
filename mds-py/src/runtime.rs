//! The process's tokio runtime, rebuilt after a fork.
//!
//! A forked DataLoader worker inherits the parent's runtime object but none of its threads, so
//! using it would hang. The runtime records the PID that built it; in another process a fresh
//! one is built and the inherited one is leaked on purpose (dropping it would try to join
//! threads that do not exist in this process).

use std::sync::{Mutex, PoisonError};

use pyo3::PyErr;
use pyo3::exceptions::PyRuntimeError;
use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: Mutex<Option<(u32, Runtime)>> = Mutex::new(None);

/// Threads of the runtime: `MDS_RUNTIME_THREADS`, default 2 (per process; each DataLoader
/// worker has its own).
fn threads() -> usize {
    std::env::var("MDS_RUNTIME_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// A handle to this process's runtime, building it on first use (or after a fork).
pub fn handle() -> Result<Handle, PyErr> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(rt.handle().clone());
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(threads())
        .thread_name("mds-io")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
    let handle = rt.handle().clone();
    if let Some(old) = slot.replace((pid, rt)) {
        std::mem::forget(old); // its threads died with the fork
    }
    Ok(handle)
}
