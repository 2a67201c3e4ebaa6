//! `mds.Buffer`: a read-only Python buffer over shard bytes, so numpy views need no copy.
//!
//! The one module of the crate that needs `unsafe` (the buffer protocol is a C API).
#![allow(unsafe_code)] // the CPython buffer protocol; each block has a SAFETY note

use std::os::raw::c_int;

use bytes::Bytes;
use pyo3::ffi;
use pyo3::prelude::*;

/// Immutable bytes shared with Rust (a slice of a shard), exposed through the buffer protocol.
///
/// `memoryview(buf)` and `numpy.frombuffer(buf, dtype)` are zero-copy views; the view keeps the
/// `Buffer` (and so the shard memory) alive. The buffer is read-only: a writable request fails
/// with `BufferError`.
#[pyclass(frozen, module = "mds._native", name = "Buffer")]
#[derive(Debug, Clone)]
pub struct Buffer(pub(crate) Bytes);

impl Buffer {
    /// Wraps bytes without copying them.
    pub fn new(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

#[pymethods]
impl Buffer {
    /// Length in bytes.
    fn __len__(&self) -> usize {
        self.0.len()
    }

    /// A copy of the bytes as a Python `bytes` object.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("Buffer(len={})", self.0.len())
    }

    /// # Safety
    /// Called by CPython with a valid `view` pointer.
    unsafe fn __getbuffer__(
        slf: PyRef<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let len = isize::try_from(slf.0.len())
            .map_err(|_| pyo3::exceptions::PyBufferError::new_err("buffer too large"))?;
        // SAFETY: `Bytes` never changes its contents, and `PyBuffer_FillInfo` stores a strong
        // reference to `slf` in `view.obj`, so the memory outlives every view. `readonly = 1`
        // makes CPython reject a writable request with BufferError. CPython never writes
        // through the pointer of a read-only buffer, so casting away const is sound.
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                slf.0.as_ptr().cast_mut().cast(),
                len,
                1,
                flags,
            )
        };
        if rc == -1 {
            Err(PyErr::fetch(slf.py()))
        } else {
            Ok(())
        }
    }

    /// Nothing to free: `view.obj` (released by CPython) owned the only extra reference.
    #[allow(clippy::unused_self)] // the slot's signature
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// Bytes that this object alone owns, exposed *writable* through the buffer protocol: the
/// memory of an array value whose shard bytes no one else references, so a numpy view of it
/// may be written to (as torch expects of the arrays it wraps) without a copy.
#[pyclass(frozen, module = "mds._native", name = "WritableBuffer")]
#[derive(Debug)]
pub struct WritableBuffer {
    ptr: *mut u8,
    len: usize,
    /// Owns the memory at `ptr`; never read, resized or moved out while this object lives.
    _owner: bytes::BytesMut,
}

// SAFETY: the memory behind `ptr` belongs to `_owner` alone (a unique `BytesMut`), which is
// never resized, so the pointer stays valid for the object's life. It is read and written
// only through the buffer protocol, by Python code holding the GIL, which serialises access.
unsafe impl Send for WritableBuffer {}
// SAFETY: as above: every access goes through CPython under the GIL.
unsafe impl Sync for WritableBuffer {}

impl WritableBuffer {
    /// Takes ownership of `bytes` (unique: nothing else sees this memory).
    pub fn new(mut bytes: bytes::BytesMut) -> Self {
        Self {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            _owner: bytes,
        }
    }
}

#[pymethods]
impl WritableBuffer {
    /// Length in bytes.
    fn __len__(&self) -> usize {
        self.len
    }

    fn __repr__(&self) -> String {
        format!("WritableBuffer(len={})", self.len)
    }

    /// # Safety
    /// Called by CPython with a valid `view` pointer.
    unsafe fn __getbuffer__(
        slf: PyRef<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let len = isize::try_from(slf.len)
            .map_err(|_| pyo3::exceptions::PyBufferError::new_err("buffer too large"))?;
        // SAFETY: `ptr` points at `len` bytes owned by `slf` (see the type's SAFETY note);
        // `PyBuffer_FillInfo` stores a strong reference to `slf` in `view.obj`, so the memory
        // outlives every view. `readonly = 0`: writers get the memory itself.
        let rc =
            unsafe { ffi::PyBuffer_FillInfo(view, slf.as_ptr(), slf.ptr.cast(), len, 0, flags) };
        if rc == -1 {
            Err(PyErr::fetch(slf.py()))
        } else {
            Ok(())
        }
    }

    /// Nothing to free: `view.obj` (released by CPython) owned the only extra reference.
    #[allow(clippy::unused_self)] // the slot's signature
    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}
