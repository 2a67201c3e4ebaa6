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

    /// The sample dict `{column: value}`.
    pub(crate) fn to_dict<'py>(
        &self,
        py: Python<'py>,
        values: Vec<Value>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (col, value) in self.columns.iter().zip(values) {
            let obj = match (&col.post, value) {
                (Some(post), Value::Array { dtype, shape, data }) => {
                    let shape = PyTuple::new(py, shape)?;
                    post.bind(py)
                        .call1((Buffer::new(data), dtype.name(), shape))?
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

/// The primitive Python object of a value (see the module docs).
fn primitive(py: Python<'_>, value: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(match value {
        Value::Bytes(b) | Value::Pickle(b) => PyBytes::new(py, &b).into_any(),
        Value::Str(t) | Value::BigInt(t) | Value::Decimal(t) | Value::Json(t) => {
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
