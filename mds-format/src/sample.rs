//! Columns of a shard and the samples read from it.

use std::sync::Arc;

use bytes::Bytes;

use crate::encoding::{self, ColumnEncoding, SplitEncoding, Value};
use crate::error::{Error, Result};
use crate::index::{ShardFormat, ShardMeta};

/// How one column's stored bytes are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// An MDS column: the stored bytes are the encoding's layout.
    Mds(ColumnEncoding),
    /// A CSV/TSV/XSV field: the stored bytes are the field's text.
    Xsv(SplitEncoding),
    /// A JSON-lines field: the stored bytes are the value's JSON text.
    Json(SplitEncoding),
}

impl ColumnType {
    /// The encoding name as index.json spells it.
    pub fn name(&self) -> String {
        match self {
            ColumnType::Mds(e) => e.to_string(),
            ColumnType::Xsv(e) | ColumnType::Json(e) => e.name().to_owned(),
        }
    }

    /// Decodes stored bytes of this column into a value.
    pub fn decode(&self, data: Bytes) -> Result<Value, encoding::EncodingError> {
        match self {
            ColumnType::Mds(e) => encoding::decode(e, data),
            ColumnType::Xsv(e) => {
                let text =
                    std::str::from_utf8(&data).map_err(|source| encoding::EncodingError::Utf8 {
                        encoding: e.name().to_owned(),
                        source,
                    })?;
                e.parse_field(text)
            }
            ColumnType::Json(e) => {
                let text =
                    std::str::from_utf8(&data).map_err(|source| encoding::EncodingError::Utf8 {
                        encoding: e.name().to_owned(),
                        source,
                    })?;
                let malformed = |reason: String| encoding::EncodingError::Malformed {
                    encoding: e.name().to_owned(),
                    reason,
                };
                match e {
                    SplitEncoding::Str => serde_json::from_str::<String>(text)
                        .map(|s| Value::Str(s.into()))
                        .map_err(|err| malformed(format!("not a JSON string: {err}"))),
                    // JSON number text reads like Python's int()/float() input.
                    SplitEncoding::Int | SplitEncoding::Float => e.parse_field(text),
                }
            }
        }
    }
}

/// The columns of a shard: names, how to read each, and the MDS layout facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    names: Vec<String>,
    types: Vec<ColumnType>,
    /// MDS: fixed byte size per column (`None`: variable, with a u32 length prefix).
    sizes: Vec<Option<usize>>,
    variable: usize,
}

impl Columns {
    /// MDS columns from names and encodings (in `column_names` order); sizes from the
    /// encodings.
    pub fn mds(names: Vec<String>, encodings: Vec<ColumnEncoding>) -> Self {
        let sizes: Vec<Option<usize>> = encodings.iter().map(ColumnEncoding::fixed_size).collect();
        let variable = sizes.iter().filter(|s| s.is_none()).count();
        let types = encodings.into_iter().map(ColumnType::Mds).collect();
        Columns {
            names,
            types,
            sizes,
            variable,
        }
    }

    /// The columns of a shard entry. `shard` names the shard in errors. For MDS the layout
    /// follows index.json's `column_sizes`, which must agree with the encodings.
    pub fn from_meta(meta: &ShardMeta) -> Result<Self> {
        let shard = &meta.raw_data.basename;
        let bad = |column: &str, source| Error::ColumnSpec {
            shard: shard.clone(),
            column: column.to_owned(),
            source,
        };
        match meta.format {
            ShardFormat::Mds => {
                let mut encodings = Vec::with_capacity(meta.column_names.len());
                for (name, enc) in meta.column_names.iter().zip(&meta.column_encodings) {
                    encodings.push(enc.parse::<ColumnEncoding>().map_err(|e| bad(name, e))?);
                }
                let cols = Columns::mds(meta.column_names.clone(), encodings);
                for (i, size) in meta.column_sizes.iter().enumerate() {
                    let want = cols.sizes[i].map(|s| u64::try_from(s).unwrap_or(u64::MAX));
                    if *size != want {
                        return Err(Error::HeaderMismatch {
                            shard: shard.clone(),
                            field: "column_sizes",
                            shard_value: format!(
                                "{} for encoding {}",
                                fmt_size(want),
                                meta.column_encodings[i]
                            ),
                            index_value: fmt_size(*size),
                        });
                    }
                }
                Ok(cols)
            }
            ShardFormat::Json => {
                let mut names = Vec::new();
                let mut types = Vec::new();
                for (name, enc) in &meta.columns {
                    names.push(name.clone());
                    types.push(ColumnType::Json(
                        enc.parse::<SplitEncoding>().map_err(|e| bad(name, e))?,
                    ));
                }
                let sizes = vec![None; names.len()];
                Ok(Columns {
                    variable: names.len(),
                    names,
                    types,
                    sizes,
                })
            }
            ShardFormat::Csv | ShardFormat::Tsv | ShardFormat::Xsv => {
                let mut types = Vec::new();
                for (name, enc) in meta.column_names.iter().zip(&meta.column_encodings) {
                    types.push(ColumnType::Xsv(
                        enc.parse::<SplitEncoding>().map_err(|e| bad(name, e))?,
                    ));
                }
                let names = meta.column_names.clone();
                let sizes = vec![None; names.len()];
                Ok(Columns {
                    variable: names.len(),
                    names,
                    types,
                    sizes,
                })
            }
        }
    }

    /// Column names, in stored order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// How each column is read, parallel to [`Columns::names`].
    pub fn types(&self) -> &[ColumnType] {
        &self.types
    }

    /// MDS fixed sizes, parallel to [`Columns::names`] (`None`: variable size).
    pub fn sizes(&self) -> &[Option<usize>] {
        &self.sizes
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Position of a column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Number of variable-size columns (each has a u32 length prefix in an MDS sample).
    pub fn variable_count(&self) -> usize {
        self.variable
    }

    /// Splits one MDS sample's bytes into its column values (slices of `data`).
    pub(crate) fn split_mds(&self, shard: &str, sample: u64, data: &Bytes) -> Result<Vec<Bytes>> {
        let err = |reason: String| Error::Sample {
            shard: shard.to_owned(),
            sample,
            reason,
        };
        let head = self.variable * 4;
        if data.len() < head {
            return Err(err(format!(
                "{} bytes, too short for {} column length prefixes",
                data.len(),
                self.variable
            )));
        }
        let mut values = Vec::with_capacity(self.names.len());
        let mut var = 0usize;
        let mut pos = head;
        for (i, size) in self.sizes.iter().enumerate() {
            let len = if let Some(n) = size {
                *n
            } else {
                let at = var * 4;
                var += 1;
                let raw = [data[at], data[at + 1], data[at + 2], data[at + 3]];
                usize::try_from(u32::from_le_bytes(raw)).unwrap_or(usize::MAX)
            };
            let end = pos
                .checked_add(len)
                .filter(|&e| e <= data.len())
                .ok_or_else(|| {
                    err(format!(
                        "column {} ({} bytes at {pos}) runs past the sample's {} bytes",
                        self.names[i],
                        len,
                        data.len()
                    ))
                })?;
            values.push(data.slice(pos..end));
            pos = end;
        }
        if pos != data.len() {
            return Err(err(format!(
                "{} bytes left over after the last column",
                data.len() - pos
            )));
        }
        Ok(values)
    }
}

fn fmt_size(s: Option<u64>) -> String {
    s.map_or_else(|| "null".to_owned(), |n| n.to_string())
}

/// One sample: the stored bytes of each column (zero-copy slices of the shard), with the
/// columns that say how to decode them.
#[derive(Debug, Clone)]
pub struct Sample {
    columns: Arc<Columns>,
    values: Vec<Bytes>,
    shard: Arc<str>,
    index: u64,
}

impl Sample {
    pub(crate) fn new(
        columns: Arc<Columns>,
        values: Vec<Bytes>,
        shard: Arc<str>,
        index: u64,
    ) -> Self {
        Sample {
            columns,
            values,
            shard,
            index,
        }
    }

    /// The columns.
    pub fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    /// The stored bytes of every column, in column order.
    pub fn raw_values(&self) -> &[Bytes] {
        &self.values
    }

    /// The stored bytes of a column by name.
    pub fn raw(&self, name: &str) -> Option<&Bytes> {
        self.columns.position(name).map(|i| &self.values[i])
    }

    /// The basename of the shard this sample came from.
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// The sample's index within its shard.
    pub fn index_in_shard(&self) -> u64 {
        self.index
    }

    /// Decodes column `i`.
    pub fn decode(&self, i: usize) -> Result<Value> {
        let (Some(ty), Some(data)) = (self.columns.types.get(i), self.values.get(i)) else {
            return Err(Error::InvalidArgument {
                param: "column".into(),
                reason: format!("no column {i}: the shard has {}", self.columns.len()),
            });
        };
        ty.decode(data.clone()).map_err(|source| Error::Encoding {
            shard: self.shard.to_string(),
            sample: self.index,
            column: self.columns.names[i].clone(),
            source,
        })
    }

    /// Decodes a column by name.
    pub fn decode_named(&self, name: &str) -> Result<Value> {
        let i = self
            .columns
            .position(name)
            .ok_or_else(|| Error::InvalidArgument {
                param: "column".into(),
                reason: format!("no column {name:?}"),
            })?;
        self.decode(i)
    }

    /// Decodes every column: `(name, value)` in column order.
    pub fn decode_all(&self) -> Result<Vec<(&str, Value)>> {
        (0..self.values.len())
            .map(|i| Ok((self.columns.names[i].as_str(), self.decode(i)?)))
            .collect()
    }
}
