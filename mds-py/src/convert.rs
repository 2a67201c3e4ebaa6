//! Decoded column values → the Python objects mosaicml-streaming returns.
//!
//! Rust makes a primitive (int, float, str, bytes or a zero-copy [`Buffer`]); where the
//! reference returns a richer type (numpy scalar or array, Decimal, parsed JSON, PIL image,
//! unpickled object) a Python function picked once per column by `mds._decode.decoder`
//! finishes it.

use std::sync::Arc;

use mds_dataset::format::encoding::{ColumnEncoding, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::buffer::Buffer;

/// How to turn one column's values into Python objects.
#[derive(Debug)]
struct Column {
    name: Py<PyString>,
    post: Option<Py<PyAny>>,
}

/// The conversion plan of one set of columns (one per distinct shard schema).
#[derive(Debug)]
pub(crate) struct Plan {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl Plan {
    /// Picks each column's finishing function from `mds._decode`.
    pub(crate) fn new(
        py: Python<'_>,
        names: &[String],
        encodings: &[ColumnEncoding],
        allow_pickle: bool,
    ) -> PyResult<Self> {
        let decoder = py.import("mds._decode")?.getattr("decoder")?;
        let columns = names
            .iter()
            .zip(encodings)
            .map(|(name, enc)| {
                let post = decoder.call1((enc.to_string(), allow_pickle))?;
                Ok(Column {
                    name: PyString::intern(py, name).unbind(),
                    post: (!post.is_none()).then(|| post.unbind()),
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            names: names.to_vec(),
            columns,
        })
    }

    /// Whether this plan was made for columns `names`.
    pub(crate) fn matches(&self, names: &[String]) -> bool {
        self.names == names
    }

    /// The sample dict `{column: value}`. With `writable_arrays`, numpy arrays are writable
    /// (see [`writable_array_bytes`]); without, they are read-only views of the shard bytes.
    pub(crate) fn to_dict<'py>(
        &self,
        py: Python<'py>,
        values: Vec<Value>,
        writable_arrays: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (col, value) in self.columns.iter().zip(values) {
            let obj = match (&col.post, value) {
                (Some(post), Value::Array { dtype, shape, data }) => {
                    let shape = PyTuple::new(py, shape)?;
                    let buf = if writable_arrays {
                        writable_array_bytes(py, data)?
                    } else {
                        Bound::new(py, Buffer::new(data))?.into_any()
                    };
                    post.bind(py).call1((buf, dtype.name(), shape))?
                }
                (Some(post), v) => post.bind(py).call1((primitive(py, v)?,))?,
                (None, v) => primitive(py, v)?,
            };
            dict.set_item(col.name.bind(py), obj)?;
        }
        Ok(dict)
    }
}

/// A cache of plans keyed by column names (datasets usually have one schema).
#[derive(Debug, Default)]
pub(crate) struct Plans {
    plans: Vec<Arc<Plan>>,
}

impl Plans {
    /// The plan for `names`/`encodings`, made on first use.
    pub(crate) fn get(
        &mut self,
        py: Python<'_>,
        names: &[String],
        encodings: &[ColumnEncoding],
        allow_pickle: bool,
    ) -> PyResult<Arc<Plan>> {
        if let Some(p) = self.plans.iter().find(|p| p.matches(names)) {
            return Ok(Arc::clone(p));
        }
        let plan = Arc::new(Plan::new(py, names, encodings, allow_pickle)?);
        self.plans.push(Arc::clone(&plan));
        Ok(plan)
    }
}

/// The bytes of an array value as a writable buffer, so that its numpy array is writable (torch
/// wraps arrays without a copy and warns about read-only ones, and writing to a view of shard
/// memory would be wrong): the memory itself when nothing else references it, else one copy
/// into a `bytearray` (the bytes are then part of a larger buffer other values or a mapped
/// shard share).
fn writable_array_bytes(py: Python<'_>, data: bytes::Bytes) -> PyResult<Bound<'_, PyAny>> {
    match data.try_into_mut() {
        Ok(owned) => Ok(Bound::new(py, crate::buffer::WritableBuffer::new(owned))?.into_any()),
        Err(shared) => Ok(pyo3::types::PyByteArray::new(py, &shared).into_any()),
    }
}

/// The primitive Python object of a value (see the module docs).
fn primitive(py: Python<'_>, value: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(match value {
        Value::Bytes(b) | Value::Pickle(b) => PyBytes::new(py, &b).into_any(),
        // An integer beyond i64 (JSON/CSV `int`, `str_int`) is a Python int, as the
        // reference's `int()` / `json.loads` make it.
        Value::BigInt(t) => py
            .get_type::<pyo3::types::PyInt>()
            .call1((t.as_str(),))?
            .into_any(),
        Value::Str(t) | Value::Decimal(t) | Value::Json(t) => {
            PyString::new(py, t.as_str()).into_any()
        }
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::UInt(u) => u.into_pyobject(py)?.into_any(),
        Value::Float16(h) => h.to_bits().into_pyobject(py)?.into_any(),
        Value::Float32(f) => f.to_bits().into_pyobject(py)?.into_any(),
        Value::Float64(f) => f.into_pyobject(py)?.into_any(),
        Value::Array { data, .. } | Value::Image { bytes: data, .. } => {
            Bound::new(py, Buffer::new(data))?.into_any()
        }
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(primitive(py, item)?)?;
            }
            list.into_any()
        }
    })
}
