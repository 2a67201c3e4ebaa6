//! Column types of the JSON and XSV (CSV/TSV) shard formats (reference.md §5): only `str`,
//! `int` and `float`, written as text.

use std::fmt;
use std::str::FromStr;

use super::{EncodingError, Text, Value, pyfmt};
use crate::pyjson;

/// A column type of the JSON / CSV / TSV / XSV shard formats (`columns` in their index entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SplitEncoding {
    /// `str`: a string.
    Str,
    /// `int`: an integer (Python int: any size).
    Int,
    /// `float`: a Python float (f64).
    Float,
}

impl SplitEncoding {
    /// The name as the index spells it.
    pub fn name(self) -> &'static str {
        match self {
            SplitEncoding::Str => "str",
            SplitEncoding::Int => "int",
            SplitEncoding::Float => "float",
        }
    }

    fn unencodable(self, value: &Value) -> EncodingError {
        EncodingError::Unencodable {
            encoding: self.name().to_owned(),
            value: value.kind(),
            reason: "wrong kind of value".to_owned(),
        }
    }

    /// The text of `value` in an XSV field: str verbatim, int in decimal, float as Python
    /// `str(float)`. (The reference does not quote: the caller rejects separators/newlines.)
    pub fn format_field(self, value: &Value) -> Result<String, EncodingError> {
        match (self, value) {
            (SplitEncoding::Str, Value::Str(t)) | (SplitEncoding::Int, Value::BigInt(t)) => {
                Ok(t.as_str().to_owned())
            }
            (SplitEncoding::Int, Value::Int(i)) => Ok(i.to_string()),
            (SplitEncoding::Int, Value::UInt(u)) => Ok(u.to_string()),
            (SplitEncoding::Float, Value::Float64(f)) => Ok(pyjson::float_repr(*f)),
            (SplitEncoding::Float, Value::Float32(f)) => Ok(pyjson::float_repr(f64::from(*f))),
            (SplitEncoding::Float, Value::Float16(f)) => Ok(pyjson::float_repr(f64::from(*f))),
            _ => Err(self.unencodable(value)),
        }
    }

    /// Appends `value` as Python's `json.dumps` writes it (a JSON shard's field value).
    pub fn push_json_field(self, value: &Value, out: &mut String) -> Result<(), EncodingError> {
        match (self, value) {
            (SplitEncoding::Str, Value::Str(t)) => pyjson::write_str(out, t),
            (SplitEncoding::Float, Value::Float64(f)) => out.push_str(&pyjson::json_float(*f)),
            (SplitEncoding::Float, Value::Float32(f)) => {
                out.push_str(&pyjson::json_float(f64::from(*f)));
            }
            (SplitEncoding::Float, Value::Float16(f)) => {
                out.push_str(&pyjson::json_float(f64::from(*f)));
            }
            (SplitEncoding::Int, _) => out.push_str(&self.format_field(value)?),
            _ => return Err(self.unencodable(value)),
        }
        Ok(())
    }

    /// Parses an XSV field as the reference reader does (`str`, `int()`, `float()`).
    pub fn parse_field(self, field: &str) -> Result<Value, EncodingError> {
        let malformed = |what: &str| EncodingError::Malformed {
            encoding: self.name().to_owned(),
            reason: format!("{field:?} is not {what}"),
        };
        match self {
            SplitEncoding::Str => Ok(Value::Str(Text::from(field))),
            SplitEncoding::Int => {
                let lit = pyfmt::parse_int(field).ok_or_else(|| malformed("an integer"))?;
                let canonical = if lit.negative {
                    format!("-{}", lit.digits)
                } else {
                    lit.digits.to_owned()
                };
                Ok(match canonical.parse::<i64>() {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::BigInt(Text::from(canonical)),
                })
            }
            SplitEncoding::Float => pyfmt::parse_float(field)
                .map(Value::Float64)
                .ok_or_else(|| malformed("a float")),
        }
    }
}

impl fmt::Display for SplitEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SplitEncoding {
    type Err = EncodingError;

    fn from_str(s: &str) -> Result<Self, EncodingError> {
        match s {
            "str" => Ok(SplitEncoding::Str),
            "int" => Ok(SplitEncoding::Int),
            "float" => Ok(SplitEncoding::Float),
            _ => Err(EncodingError::Unknown { name: s.to_owned() }),
        }
    }
}
