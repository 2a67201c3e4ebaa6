//! The JSON representation of decoded values used by `mds cat` and the fixtures'
//! `expected.json` (shared/fixtures/README.md, "FORMAT of expected.json").

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::{DType, ImageFormat, PilImage, Value};

/// Serializes a [`Value`] in the fixtures' representation:
///
/// - `str`, `str_decimal`: the string; `json`: the JSON value itself (its stored text, verbatim
///   when it is standard JSON, else as a string);
/// - integers (and `str_int`, any size): a JSON integer;
/// - floats: `{"f": number or "nan"/"inf"/"-inf", "hex": little-endian bytes in the value's own
///   width}`;
/// - `bytes`, `pkl`: `{"hex": ...}` (pickles are not loaded);
/// - `ndarray`: `{"dtype", "shape", "values"}`, values flattened in C order, non-finite floats
///   as strings;
/// - `pil`: `{"mode", "size": [w, h], "pixels_hex", "format": null}`;
///   `png`/`jpeg`: `{"mode", "size", "format": "PNG"/"JPEG", "hex": stored file bytes}` (mode
///   and size read from the file header, left out when it cannot be read);
/// - lists: a JSON array of the elements.
///
/// Integers beyond 64 bits are written exactly by `serde_json::to_string`/`to_writer`;
/// [`to_json`] (a `serde_json::Value`) holds them as floats.
#[derive(Debug, Clone, Copy)]
pub struct JsonView<'a>(pub &'a Value);

/// The representation of [`JsonView`] as a `serde_json::Value`.
pub fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(JsonView(value)).unwrap_or(serde_json::Value::Null)
}

/// One line of `mds cat`: a JSON object of `column -> value` in the given order, without a
/// trailing newline.
pub fn sample_json_line(columns: &[(&str, &Value)]) -> Result<String, serde_json::Error> {
    struct Sample<'a>(&'a [(&'a str, &'a Value)]);
    impl Serialize for Sample<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (name, value) in self.0 {
                map.serialize_entry(name, &JsonView(value))?;
            }
            map.end()
        }
    }
    serde_json::to_string(&Sample(columns))
}

fn float_field(f: f64) -> FloatField {
    FloatField(f)
}

/// A float as a JSON number, or `"nan"`, `"inf"`, `"-inf"`.
struct FloatField(f64);

impl Serialize for FloatField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        if f.is_nan() {
            s.serialize_str("nan")
        } else if f.is_infinite() {
            s.serialize_str(if f > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(f)
        }
    }
}

fn float_object<S: Serializer>(s: S, f: f64, le_bytes: &[u8]) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("f", &float_field(f))?;
    map.serialize_entry("hex", &hex::encode(le_bytes))?;
    map.end()
}

fn hex_object<S: Serializer>(s: S, bytes: &[u8]) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry("hex", &hex::encode(bytes))?;
    map.end()
}

/// Raw JSON text as a JSON value (exact big integers, stored `json` text).
fn raw<S: Serializer>(s: S, text: &str) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(text.to_owned()).map_err(S::Error::custom)?;
    raw.serialize(s)
}

/// The flattened elements of an ndarray.
struct ArrayValues<'a> {
    dtype: DType,
    data: &'a [u8],
}

impl Serialize for ArrayValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let size = self.dtype.itemsize();
        let mut seq = s.serialize_seq(Some(self.data.len() / size))?;
        for chunk in self.data.chunks_exact(size) {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(chunk);
            let [b0, b1, b2, b3, ..] = b;
            match self.dtype {
                DType::UInt8 => seq.serialize_element(&b0),
                DType::Int8 => seq.serialize_element(&i8::from_le_bytes([b0])),
                DType::UInt16 => seq.serialize_element(&u16::from_le_bytes([b0, b1])),
                DType::Int16 => seq.serialize_element(&i16::from_le_bytes([b0, b1])),
                DType::UInt32 => seq.serialize_element(&u32::from_le_bytes([b0, b1, b2, b3])),
                DType::Int32 => seq.serialize_element(&i32::from_le_bytes([b0, b1, b2, b3])),
                DType::UInt64 => seq.serialize_element(&u64::from_le_bytes(b)),
                DType::Int64 => seq.serialize_element(&i64::from_le_bytes(b)),
                DType::Float16 => seq
                    .serialize_element(&float_field(f64::from(half::f16::from_le_bytes([b0, b1])))),
                DType::Float32 => {
                    seq.serialize_element(&float_field(f64::from(f32::from_le_bytes([
                        b0, b1, b2, b3,
                    ]))))
                }
                DType::Float64 => seq.serialize_element(&float_field(f64::from_le_bytes(b))),
            }?;
        }
        seq.end()
    }
}

impl Serialize for JsonView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Str(t) | Value::Decimal(t) => s.serialize_str(t),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::BigInt(t) => raw(s, t),
            Value::Float16(h) => float_object(s, f64::from(*h), &h.to_le_bytes()),
            Value::Float32(f) => float_object(s, f64::from(*f), &f.to_le_bytes()),
            Value::Float64(f) => float_object(s, *f, &f.to_le_bytes()),
            Value::Bytes(b) | Value::Pickle(b) => hex_object(s, b),
            Value::Json(t) => {
                if serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok() {
                    raw(s, t.trim())
                } else {
                    s.serialize_str(t)
                }
            }
            Value::Array { dtype, shape, data } => {
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("dtype", dtype.name())?;
                map.serialize_entry("shape", shape)?;
                map.serialize_entry(
                    "values",
                    &ArrayValues {
                        dtype: *dtype,
                        data,
                    },
                )?;
                map.end()
            }
            Value::Image { format, bytes } => {
                if *format == ImageFormat::Pil
                    && let Ok(pil) = PilImage::parse(bytes)
                {
                    let mut map = s.serialize_map(Some(4))?;
                    map.serialize_entry("mode", pil.mode.as_str())?;
                    map.serialize_entry("size", &[pil.width, pil.height])?;
                    map.serialize_entry("pixels_hex", &hex::encode(&pil.pixels))?;
                    map.serialize_entry("format", &None::<&str>)?;
                    return map.end();
                }
                let name = match format {
                    ImageFormat::Pil => "pil",
                    ImageFormat::Png => "PNG",
                    ImageFormat::Jpeg => "JPEG",
                };
                let header = match format {
                    ImageFormat::Png => png_header(bytes),
                    ImageFormat::Jpeg => jpeg_header(bytes),
                    ImageFormat::Pil => None,
                };
                let mut map = s.serialize_map(None)?;
                if let Some((mode, width, height)) = header {
                    map.serialize_entry("mode", mode)?;
                    map.serialize_entry("size", &[width, height])?;
                }
                map.serialize_entry("format", name)?;
                map.serialize_entry("hex", &hex::encode(bytes))?;
                map.end()
            }
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsonView(item))?;
                }
                seq.end()
            }
        }
    }
}

/// PIL's mode, width and height of a PNG, from its IHDR chunk.
fn png_header(data: &[u8]) -> Option<(&'static str, u32, u32)> {
    if data.get(..8)? != b"\x89PNG\r\n\x1a\n" || data.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(data.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(data.get(20..24)?.try_into().ok()?);
    let mode = match (*data.get(25)?, *data.get(24)?) {
        (0, 1) => "1",
        (0, 2 | 4 | 8) => "L",
        (0, 16) => "I;16",
        (2, _) => "RGB",
        (3, _) => "P",
        (4, _) => "LA",
        (6, _) => "RGBA",
        _ => return None,
    };
    Some((mode, width, height))
}

/// PIL's mode, width and height of a JPEG, from its first start-of-frame segment.
fn jpeg_header(data: &[u8]) -> Option<(&'static str, u32, u32)> {
    if data.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut pos = 2usize;
    loop {
        if *data.get(pos)? != 0xff {
            return None;
        }
        let marker = *data.get(pos + 1)?;
        if marker == 0xff {
            pos += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes(
            data.get(pos + 2..pos + 4)?.try_into().ok()?,
        ));
        let is_sof = (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
        if is_sof {
            let seg = data.get(pos + 4..pos + 2 + len)?;
            let height = u32::from(u16::from_be_bytes(seg.get(1..3)?.try_into().ok()?));
            let width = u32::from(u16::from_be_bytes(seg.get(3..5)?.try_into().ok()?));
            let mode = match *seg.get(5)? {
                1 => "L",
                3 => "RGB",
                4 => "CMYK",
                _ => return None,
            };
            return Some((mode, width, height));
        }
        pos = pos.checked_add(2 + len)?;
    }
}
