//! MDS column encodings: how one column value of a sample is stored (reference.md §4, §4.1).
//!
//! [`ColumnEncoding`] names an encoding exactly as `index.json` spells it; [`encode`] turns a
//! typed [`Value`] into the bytes mosaicml-streaming writes and [`decode`] turns stored bytes
//! back into a [`Value`] without copying (every byte payload is a [`Bytes::slice`] of the input).
//!
//! Rust cannot run pickle or Pillow, so `pkl` decodes to the pickle bytes ([`Value::Pickle`])
//! and image encodings to their stored bytes tagged with their [`ImageFormat`]; the Python
//! package finishes the job. [`JsonView`] renders a value the way `mds cat` and the fixtures'
//! `expected.json` show it.

mod pyfmt;
mod render;
mod split;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use half::f16;

pub use crate::pyjson::{float_repr, write_str as push_python_json_string};
pub use pyfmt::decimal_to_string;
pub use render::{JsonView, sample_json_line, to_json};
pub use split::SplitEncoding;

/// Errors of parsing an encoding name, encoding a value or decoding stored bytes.
///
/// Each variant names the encoding (as spelled in `index.json`) and what was wrong; the shard
/// reader adds the file, shard and sample.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodingError {
    /// The encoding name is not one the reference supports.
    #[error("unknown column encoding `{name}`")]
    Unknown {
        /// The name as given.
        name: String,
    },
    /// A known family with a configuration that does not parse (bad dtype, bad shape).
    #[error("invalid column encoding `{name}`: {reason}")]
    BadSpec {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Stored bytes end before a header or payload does.
    #[error("`{encoding}` value truncated: needs {needed} bytes, has {len}")]
    Truncated {
        /// The column's encoding.
        encoding: String,
        /// Bytes needed to go on.
        needed: usize,
        /// Bytes available.
        len: usize,
    },
    /// A fixed-size value whose byte length is not the encoding's size.
    #[error("`{encoding}` value has {len} bytes, expected {expected}")]
    WrongSize {
        /// The column's encoding.
        encoding: String,
        /// Bytes found.
        len: usize,
        /// The encoding's fixed size.
        expected: usize,
    },
    /// Stored text that is not UTF-8.
    #[error("`{encoding}` value is not valid UTF-8")]
    Utf8 {
        /// The column's encoding.
        encoding: String,
        /// Where the bytes stop being UTF-8.
        #[source]
        source: std::str::Utf8Error,
    },
    /// Stored bytes that do not follow the encoding's layout (bad dtype code, bad number text).
    #[error("`{encoding}` value is malformed: {reason}")]
    Malformed {
        /// The column's encoding.
        encoding: String,
        /// What is wrong.
        reason: String,
    },
    /// A value of the wrong kind for the column, or one it cannot represent.
    #[error("cannot encode {value} as `{encoding}`: {reason}")]
    Unencodable {
        /// The column's encoding.
        encoding: String,
        /// The kind of value given (`Value::kind`).
        value: &'static str,
        /// Why not.
        reason: String,
    },
}

type Result<T, E = EncodingError> = std::result::Result<T, E>;

/// The element type of an `ndarray` column (numpy dtype names; reference.md §4.1 codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the variants are numpy's dtypes of the same name
pub enum DType {
    UInt8,
    Int8,
    UInt16,
    Int16,
    Float16,
    UInt32,
    Int32,
    Float32,
    UInt64,
    Int64,
    Float64,
}

impl DType {
    /// Every dtype, in code order.
    pub const ALL: [DType; 11] = [
        DType::UInt8,
        DType::Int8,
        DType::UInt16,
        DType::Int16,
        DType::Float16,
        DType::UInt32,
        DType::Int32,
        DType::Float32,
        DType::UInt64,
        DType::Int64,
        DType::Float64,
    ];

    /// The one-byte code stored by the dynamic-dtype `ndarray` layout.
    pub fn code(self) -> u8 {
        match self {
            DType::UInt8 => 8,
            DType::Int8 => 9,
            DType::UInt16 => 16,
            DType::Int16 => 17,
            DType::Float16 => 18,
            DType::UInt32 => 32,
            DType::Int32 => 33,
            DType::Float32 => 34,
            DType::UInt64 => 64,
            DType::Int64 => 65,
            DType::Float64 => 66,
        }
    }

    /// The dtype of a stored code, if it is one.
    pub fn from_code(code: u8) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::UInt8 | DType::Int8 => 1,
            DType::UInt16 | DType::Int16 | DType::Float16 => 2,
            DType::UInt32 | DType::Int32 | DType::Float32 => 4,
            DType::UInt64 | DType::Int64 | DType::Float64 => 8,
        }
    }

    /// numpy's name for it (`uint8`, `float16`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::UInt8 => "uint8",
            DType::Int8 => "int8",
            DType::UInt16 => "uint16",
            DType::Int16 => "int16",
            DType::Float16 => "float16",
            DType::UInt32 => "uint32",
            DType::Int32 => "int32",
            DType::Float32 => "float32",
            DType::UInt64 => "uint64",
            DType::Int64 => "int64",
            DType::Float64 => "float64",
        }
    }

    /// Whether the elements are IEEE floats.
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float16 | DType::Float32 | DType::Float64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = EncodingError;

    fn from_str(s: &str) -> Result<Self> {
        DType::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| EncodingError::BadSpec {
                name: s.to_owned(),
                reason: "unsupported ndarray dtype".to_owned(),
            })
    }
}

/// How an image column's bytes are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// The `pil` layout: `u32 width, u32 height, u32 m, mode (m bytes), raw pixels`.
    Pil,
    /// A PNG file.
    Png,
    /// A JPEG file (also each element of `jpeg_array`, which stores whatever encoded image
    /// bytes it was given).
    Jpeg,
}

impl ImageFormat {
    /// The element encoding name (`pil`, `png`, `jpeg`).
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Pil => "pil",
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
        }
    }
}

/// An MDS column encoding, displayed exactly as `index.json` spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ColumnEncoding {
    /// `bytes`: stored verbatim.
    Bytes,
    /// `str`: UTF-8.
    Str,
    /// `int`: i64 little-endian (a Python int).
    Int,
    /// `int8`.
    Int8,
    /// `int16`.
    Int16,
    /// `int32`.
    Int32,
    /// `int64` (a numpy scalar, same bytes as `int`).
    Int64,
    /// `uint8`.
    UInt8,
    /// `uint16`.
    UInt16,
    /// `uint32`.
    UInt32,
    /// `uint64`.
    UInt64,
    /// `float16`: IEEE half, little-endian.
    Float16,
    /// `float32`.
    Float32,
    /// `float64`.
    Float64,
    /// `str_int`: the decimal digits of an arbitrary-precision integer.
    StrInt,
    /// `str_float`: Python `repr(float)`.
    StrFloat,
    /// `str_decimal`: Python `str(Decimal)`.
    StrDecimal,
    /// `json`: Python `json.dumps(value)` as UTF-8.
    Json,
    /// `pkl`: a Python pickle (unsafe to load; kept as bytes here).
    Pkl,
    /// `ndarray`, `ndarray:DTYPE`, `ndarray:DTYPE:D0,D1,…` (a shape always comes with a dtype).
    NdArray {
        /// The static dtype, if the name gives one.
        dtype: Option<DType>,
        /// The static shape, if the name gives one (every dim ≥ 1).
        shape: Option<Vec<u64>>,
    },
    /// `pil`: raw pixels with width, height and mode.
    Pil,
    /// `png`.
    Png,
    /// `jpeg`.
    Jpeg,
    /// `jpeg_array`: `u32 n, u32 size[n]`, then the images.
    JpegArray,
    /// `jpegarray`: the other spelling of `jpeg_array` (same bytes).
    JpegArrayAlias,
    /// `list[pil]`: `u32 0, u32 n, u32 size[n]`, then `pil` elements.
    ListPil,
    /// `list[png]`.
    ListPng,
    /// `list[jpeg]`.
    ListJpeg,
}

/// Names without configuration, in the order the reference lists them.
const SIMPLE_NAMES: [(&str, ColumnEncoding); 27] = [
    ("bytes", ColumnEncoding::Bytes),
    ("str", ColumnEncoding::Str),
    ("int", ColumnEncoding::Int),
    ("uint8", ColumnEncoding::UInt8),
    ("uint16", ColumnEncoding::UInt16),
    ("uint32", ColumnEncoding::UInt32),
    ("uint64", ColumnEncoding::UInt64),
    ("int8", ColumnEncoding::Int8),
    ("int16", ColumnEncoding::Int16),
    ("int32", ColumnEncoding::Int32),
    ("int64", ColumnEncoding::Int64),
    ("float16", ColumnEncoding::Float16),
    ("float32", ColumnEncoding::Float32),
    ("float64", ColumnEncoding::Float64),
    ("str_int", ColumnEncoding::StrInt),
    ("str_float", ColumnEncoding::StrFloat),
    ("str_decimal", ColumnEncoding::StrDecimal),
    ("pil", ColumnEncoding::Pil),
    ("jpeg", ColumnEncoding::Jpeg),
    ("png", ColumnEncoding::Png),
    ("jpeg_array", ColumnEncoding::JpegArray),
    ("jpegarray", ColumnEncoding::JpegArrayAlias),
    ("list[pil]", ColumnEncoding::ListPil),
    ("list[jpeg]", ColumnEncoding::ListJpeg),
    ("list[png]", ColumnEncoding::ListPng),
    ("pkl", ColumnEncoding::Pkl),
    ("json", ColumnEncoding::Json),
];

impl ColumnEncoding {
    /// Every name without configuration, plus `ndarray`.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SIMPLE_NAMES
            .iter()
            .map(|(n, _)| *n)
            .chain(std::iter::once("ndarray"))
    }

    /// The fixed byte size of an encoded value (the `column_sizes` entry), or `None` for
    /// variable-size encodings.
    pub fn fixed_size(&self) -> Option<usize> {
        match self {
            ColumnEncoding::Int8 | ColumnEncoding::UInt8 => Some(1),
            ColumnEncoding::Int16 | ColumnEncoding::UInt16 | ColumnEncoding::Float16 => Some(2),
            ColumnEncoding::Int32 | ColumnEncoding::UInt32 | ColumnEncoding::Float32 => Some(4),
            ColumnEncoding::Int
            | ColumnEncoding::Int64
            | ColumnEncoding::UInt64
            | ColumnEncoding::Float64 => Some(8),
            ColumnEncoding::NdArray {
                dtype: Some(dtype),
                shape: Some(shape),
            } => static_size(*dtype, shape),
            _ => None,
        }
    }

    /// Whether decoding this column runs arbitrary code in Python (only `pkl`; the reference
    /// refuses such columns unless `allow_unsafe_types`).
    pub fn is_unsafe(&self) -> bool {
        matches!(self, ColumnEncoding::Pkl)
    }

    /// The element format of image and image-list encodings.
    pub fn image_format(&self) -> Option<ImageFormat> {
        match self {
            ColumnEncoding::Pil | ColumnEncoding::ListPil => Some(ImageFormat::Pil),
            ColumnEncoding::Png | ColumnEncoding::ListPng => Some(ImageFormat::Png),
            ColumnEncoding::Jpeg
            | ColumnEncoding::ListJpeg
            | ColumnEncoding::JpegArray
            | ColumnEncoding::JpegArrayAlias => Some(ImageFormat::Jpeg),
            _ => None,
        }
    }
}

/// `prod(shape) * itemsize`, or `None` on overflow.
fn static_size(dtype: DType, shape: &[u64]) -> Option<usize> {
    let mut n = dtype.itemsize();
    for &d in shape {
        n = n.checked_mul(usize::try_from(d).ok()?)?;
    }
    Some(n)
}

impl fmt::Display for ColumnEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ColumnEncoding::NdArray { dtype, shape } = self {
            f.write_str("ndarray")?;
            if let Some(dtype) = dtype {
                write!(f, ":{dtype}")?;
                if let Some(shape) = shape {
                    f.write_str(":")?;
                    for (i, d) in shape.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{d}")?;
                    }
                }
            }
            return Ok(());
        }
        let name = SIMPLE_NAMES
            .iter()
            .find(|(_, e)| e == self)
            .map_or("?", |(n, _)| *n);
        f.write_str(name)
    }
}

impl FromStr for ColumnEncoding {
    type Err = EncodingError;

    /// Parses an encoding name as the reference does: split at the first `:`; only `ndarray`
    /// takes a configuration (`DTYPE` or `DTYPE:D0,D1,…`, dims ≥ 1).
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| EncodingError::BadSpec {
            name: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (family, config) = match s.split_once(':') {
            Some((f, c)) => (f, Some(c)),
            None => (s, None),
        };
        if family == "ndarray" {
            let Some(config) = config else {
                return Ok(ColumnEncoding::NdArray {
                    dtype: None,
                    shape: None,
                });
            };
            let (dtype, shape) = match config.split_once(':') {
                Some((d, sh)) => (d, Some(sh)),
                None => (config, None),
            };
            let dtype: DType = dtype
                .parse()
                .map_err(|_| bad("unsupported ndarray dtype"))?;
            let shape = match shape {
                None => None,
                Some(sh) => {
                    let dims = sh
                        .split(',')
                        .map(|d| d.parse::<u64>().ok().filter(|&d| d >= 1))
                        .collect::<Option<Vec<u64>>>()
                        .ok_or_else(|| bad("shape must be dims ≥ 1 separated by commas"))?;
                    if dims.len() >= 64 {
                        return Err(bad("at most 63 dimensions"));
                    }
                    if static_size(dtype, &dims).is_none_or(|n| u32::try_from(n).is_err()) {
                        return Err(bad("array too large for a shard"));
                    }
                    Some(dims)
                }
            };
            return Ok(ColumnEncoding::NdArray {
                dtype: Some(dtype),
                shape,
            });
        }
        if config.is_some() {
            if SIMPLE_NAMES.iter().any(|(n, _)| *n == family) {
                return Err(bad("this encoding takes no configuration"));
            }
            return Err(EncodingError::Unknown { name: s.to_owned() });
        }
        SIMPLE_NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, e)| e.clone())
            .ok_or_else(|| EncodingError::Unknown { name: s.to_owned() })
    }
}

impl serde::Serialize for ColumnEncoding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ColumnEncoding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// UTF-8 text held in [`Bytes`], so decoded strings share the shard's memory.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Text(Bytes);

impl Text {
    /// Wraps bytes after checking they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        #[allow(unsafe_code)]
        // SAFETY: every constructor checks (or takes from a `str`) that the bytes are UTF-8,
        // and `Bytes` is immutable.
        unsafe {
            std::str::from_utf8_unchecked(&self.0)
        }
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The UTF-8 bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// A typed column value: what [`decode`] returns and [`encode`] takes.
///
/// Byte payloads are [`Bytes`], so decoded values are views of the shard, not copies.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `bytes` (and, for [`encode`], any pre-encoded value: stored verbatim whatever the
    /// encoding, as the reference stores a Python `bytes` object).
    Bytes(Bytes),
    /// `str`.
    Str(Text),
    /// A signed integer: `int`, `int8`…`int64`, and `str_int` within i64.
    Int(i64),
    /// An unsigned integer: `uint8`…`uint64`.
    UInt(u64),
    /// A `str_int` outside i64: its canonical decimal digits (leading `-` if negative).
    BigInt(Text),
    /// `float16`.
    Float16(f16),
    /// `float32`.
    Float32(f32),
    /// `float64` and `str_float`.
    Float64(f64),
    /// `str_decimal`: the decimal's text, exactly as stored.
    Decimal(Text),
    /// `json`: the JSON text as stored (Python `json.dumps` output; decoding checks it is JSON
    /// as Python reads it, `NaN`/`Infinity` included). Build one from a
    /// `serde_json::Value` with [`Value::json`].
    Json(Text),
    /// `pkl`: the pickle bytes.
    Pickle(Bytes),
    /// `ndarray…`: elements in C order, little-endian.
    Array {
        /// Element type.
        dtype: DType,
        /// Dimensions (each ≥ 1, at most 63 of them).
        shape: Vec<u64>,
        /// `prod(shape) * dtype.itemsize()` bytes.
        data: Bytes,
    },
    /// `pil`, `png`, `jpeg`: the stored image bytes (for `pil`, the whole `pil` layout).
    Image {
        /// How `bytes` is laid out.
        format: ImageFormat,
        /// The stored bytes.
        bytes: Bytes,
    },
    /// `jpeg_array`, `list[pil]`, `list[png]`, `list[jpeg]`: the element images.
    List(Vec<Value>),
}

impl Value {
    /// A short name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::BigInt(_) => "big int",
            Value::Float16(_) => "float16",
            Value::Float32(_) => "float32",
            Value::Float64(_) => "float64",
            Value::Decimal(_) => "decimal",
            Value::Json(_) => "json",
            Value::Pickle(_) => "pickle",
            Value::Array { .. } => "ndarray",
            Value::Image { .. } => "image",
            Value::List(_) => "list",
        }
    }

    /// A `json` value holding `value` as Python's `json.dumps` writes it.
    pub fn json(value: &serde_json::Value) -> Value {
        let mut s = String::new();
        crate::pyjson::write_value(&mut s, value, false);
        Value::Json(Text::from(s))
    }

    /// A `pil` image from its parts (`pixels` is PIL's `tobytes()` for `mode`).
    pub fn pil(width: u32, height: u32, mode: &str, pixels: &[u8]) -> Result<Value> {
        let m = u32::try_from(mode.len()).map_err(|_| EncodingError::Unencodable {
            encoding: "pil".to_owned(),
            value: "image",
            reason: "mode too long".to_owned(),
        })?;
        let mut out = Vec::with_capacity(12 + mode.len() + pixels.len());
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        out.extend_from_slice(&m.to_le_bytes());
        out.extend_from_slice(mode.as_bytes());
        out.extend_from_slice(pixels);
        Ok(Value::Image {
            format: ImageFormat::Pil,
            bytes: Bytes::from(out),
        })
    }
}

impl Value {
    /// The text of a `str`, `str_decimal` or `json` value, or the digits of a big integer.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(t) | Value::Decimal(t) | Value::Json(t) | Value::BigInt(t) => {
                Some(t.as_str())
            }
            _ => None,
        }
    }

    /// An integer value as i64, if it fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::UInt(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// An integer value as u64, if it fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::UInt(u) => Some(*u),
            _ => None,
        }
    }

    /// A float value widened to f64 (exact for every width).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float16(h) => Some(f64::from(*h)),
            Value::Float32(f) => Some(f64::from(*f)),
            Value::Float64(f) => Some(*f),
            _ => None,
        }
    }

    /// The byte payload of a `bytes`, `pkl`, image or ndarray value.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) | Value::Pickle(b) => Some(b),
            Value::Image { bytes, .. } => Some(bytes),
            Value::Array { data, .. } => Some(data),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::UInt(v)
    }
}

impl From<f16> for Value {
    fn from(v: f16) -> Self {
        Value::Float16(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float32(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float64(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(Text::from(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(Text::from(v))
    }
}

impl From<Bytes> for Value {
    fn from(v: Bytes) -> Self {
        Value::Bytes(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(Bytes::from(v))
    }
}

/// The parts of a `pil` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PilImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// PIL mode (`L`, `RGB`, `RGBA`, ...).
    pub mode: Text,
    /// PIL `tobytes()` of the image in that mode.
    pub pixels: Bytes,
}

impl PilImage {
    /// Splits stored `pil` bytes into their parts.
    pub fn parse(data: &Bytes) -> Result<PilImage> {
        let enc = &"pil";
        let width = read_u32(enc, data, 0)?;
        let height = read_u32(enc, data, 4)?;
        let m = to_usize(enc, read_u32(enc, data, 8)?)?;
        let end = 12usize.saturating_add(m);
        if end > data.len() {
            return Err(truncated(enc, end, data.len()));
        }
        let mode = Text::from_utf8(data.slice(12..end)).map_err(|source| EncodingError::Utf8 {
            encoding: enc.to_string(),
            source,
        })?;
        // PIL refuses to build an image from too few bytes; check the modes whose size we know.
        if let Some(needed) = pil_pixel_bytes(&mode, width, height)
            && data.len() - end < needed
        {
            return Err(malformed(
                enc,
                format!(
                    "{} pixel bytes for a {width}x{height} {mode} image (needs {needed})",
                    data.len() - end
                ),
            ));
        }
        Ok(PilImage {
            width,
            height,
            mode,
            pixels: data.slice(end..),
        })
    }
}

/// Bytes of PIL's `tobytes()` for common modes (`None` for modes not listed).
fn pil_pixel_bytes(mode: &str, width: u32, height: u32) -> Option<usize> {
    let (w, h) = (u64::from(width), u64::from(height));
    let bytes = match mode {
        "1" => w.div_ceil(8) * h,
        "L" | "P" => w * h,
        "LA" | "PA" | "La" | "I;16" | "I;16L" | "I;16B" => 2 * w * h,
        "RGB" | "YCbCr" | "LAB" | "HSV" => 3 * w * h,
        "RGBA" | "RGBa" | "RGBX" | "CMYK" | "I" | "F" => 4 * w * h,
        _ => return None,
    };
    usize::try_from(bytes).ok()
}

fn truncated(encoding: &dyn fmt::Display, needed: usize, len: usize) -> EncodingError {
    EncodingError::Truncated {
        encoding: encoding.to_string(),
        needed,
        len,
    }
}

fn malformed(encoding: &dyn fmt::Display, reason: impl Into<String>) -> EncodingError {
    EncodingError::Malformed {
        encoding: encoding.to_string(),
        reason: reason.into(),
    }
}

fn read_u32(encoding: &dyn fmt::Display, data: &[u8], at: usize) -> Result<u32> {
    data.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| truncated(encoding, at + 4, data.len()))
}

fn to_usize(encoding: &dyn fmt::Display, n: u32) -> Result<usize> {
    usize::try_from(n).map_err(|_| malformed(encoding, "length does not fit in memory"))
}

fn utf8(encoding: &ColumnEncoding, data: Bytes) -> Result<Text> {
    Text::from_utf8(data).map_err(|source| EncodingError::Utf8 {
        encoding: encoding.to_string(),
        source,
    })
}

/// Decodes one stored column value (zero-copy: payloads are slices of `data`).
///
/// `data` must be exactly the value's bytes (for fixed-size encodings, exactly
/// [`ColumnEncoding::fixed_size`] bytes). Never panics; bad bytes give an [`EncodingError`].
#[allow(clippy::too_many_lines)] // one arm per encoding reads best as one match
pub fn decode(encoding: &ColumnEncoding, data: Bytes) -> Result<Value> {
    if let Some(size) = encoding.fixed_size()
        && data.len() != size
    {
        return Err(EncodingError::WrongSize {
            encoding: encoding.to_string(),
            len: data.len(),
            expected: size,
        });
    }
    let fixed = |n: usize| -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&data[..n]);
        b
    };
    Ok(match encoding {
        ColumnEncoding::Bytes => Value::Bytes(data),
        ColumnEncoding::Str => Value::Str(utf8(encoding, data)?),
        ColumnEncoding::Int | ColumnEncoding::Int64 => Value::Int(i64::from_le_bytes(fixed(8))),
        ColumnEncoding::Int8 => Value::Int(i64::from(i8::from_le_bytes([data[0]]))),
        ColumnEncoding::Int16 => Value::Int(i64::from(i16::from_le_bytes([data[0], data[1]]))),
        ColumnEncoding::Int32 => {
            let b = fixed(4);
            Value::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        ColumnEncoding::UInt8 => Value::UInt(u64::from(data[0])),
        ColumnEncoding::UInt16 => Value::UInt(u64::from(u16::from_le_bytes([data[0], data[1]]))),
        ColumnEncoding::UInt32 => {
            let b = fixed(4);
            Value::UInt(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        ColumnEncoding::UInt64 => Value::UInt(u64::from_le_bytes(fixed(8))),
        ColumnEncoding::Float16 => Value::Float16(f16::from_le_bytes([data[0], data[1]])),
        ColumnEncoding::Float32 => {
            let b = fixed(4);
            Value::Float32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        ColumnEncoding::Float64 => Value::Float64(f64::from_le_bytes(fixed(8))),
        ColumnEncoding::StrInt => {
            let text = utf8(encoding, data)?;
            let lit =
                pyfmt::parse_int(&text).ok_or_else(|| malformed(encoding, "not an integer"))?;
            let canonical = if lit.negative {
                format!("-{}", lit.digits)
            } else {
                lit.digits.to_owned()
            };
            match canonical.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) if canonical == text.as_str() => Value::BigInt(text),
                Err(_) => Value::BigInt(Text::from(canonical)),
            }
        }
        ColumnEncoding::StrFloat => {
            let text = utf8(encoding, data)?;
            Value::Float64(
                pyfmt::parse_float(&text).ok_or_else(|| malformed(encoding, "not a float"))?,
            )
        }
        ColumnEncoding::StrDecimal => {
            let text = utf8(encoding, data)?;
            if pyfmt::decimal_to_string(&text).is_none() {
                return Err(malformed(encoding, "not a decimal"));
            }
            Value::Decimal(text)
        }
        ColumnEncoding::Json => {
            let text = utf8(encoding, data)?;
            if !pyfmt::is_python_json(&text) {
                return Err(malformed(encoding, "not JSON"));
            }
            Value::Json(text)
        }
        ColumnEncoding::Pkl => Value::Pickle(data),
        ColumnEncoding::NdArray { dtype, shape } => {
            decode_ndarray(encoding, *dtype, shape.as_deref(), &data)?
        }
        ColumnEncoding::Pil => {
            PilImage::parse(&data)?;
            Value::Image {
                format: ImageFormat::Pil,
                bytes: data,
            }
        }
        ColumnEncoding::Png => Value::Image {
            format: ImageFormat::Png,
            bytes: data,
        },
        ColumnEncoding::Jpeg => Value::Image {
            format: ImageFormat::Jpeg,
            bytes: data,
        },
        ColumnEncoding::JpegArray | ColumnEncoding::JpegArrayAlias => {
            let enc = encoding;
            let n = read_u32(enc, &data, 0)?;
            if n == 0 {
                return Err(malformed(encoding, "zero images"));
            }
            Value::List(decode_sized_list(encoding, ImageFormat::Jpeg, &data, 4, n)?)
        }
        ColumnEncoding::ListPil | ColumnEncoding::ListPng | ColumnEncoding::ListJpeg => {
            let enc = encoding;
            let format = encoding.image_format().unwrap_or(ImageFormat::Png);
            let reserved = read_u32(enc, &data, 0)?;
            if reserved != 0 {
                return Err(malformed(encoding, "reserved header word is not 0"));
            }
            let n = read_u32(enc, &data, 4)?;
            Value::List(decode_sized_list(encoding, format, &data, 8, n)?)
        }
    })
}

/// Decodes `u32 size[n]` at `at`, then the `n` element payloads that follow.
fn decode_sized_list(
    encoding: &ColumnEncoding,
    format: ImageFormat,
    data: &Bytes,
    at: usize,
    n: u32,
) -> Result<Vec<Value>> {
    let enc = encoding;
    let n = to_usize(enc, n)?;
    let table_end = n
        .checked_mul(4)
        .and_then(|t| t.checked_add(at))
        .ok_or_else(|| malformed(encoding, "image count overflows"))?;
    if table_end > data.len() {
        return Err(truncated(enc, table_end, data.len()));
    }
    let mut items = Vec::with_capacity(n);
    let mut pos = table_end;
    for i in 0..n {
        let size = to_usize(enc, read_u32(enc, data, at + 4 * i)?)?;
        let end = pos
            .checked_add(size)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| truncated(enc, pos.saturating_add(size), data.len()))?;
        let bytes = data.slice(pos..end);
        if format == ImageFormat::Pil {
            PilImage::parse(&bytes)?;
        }
        items.push(Value::Image { format, bytes });
        pos = end;
    }
    if pos != data.len() {
        return Err(malformed(
            encoding,
            format!("{} bytes after the last image", data.len() - pos),
        ));
    }
    Ok(items)
}

fn decode_ndarray(
    encoding: &ColumnEncoding,
    dtype: Option<DType>,
    shape: Option<&[u64]>,
    data: &Bytes,
) -> Result<Value> {
    let enc = encoding;
    let mut pos = 0usize;
    let dtype = if let Some(d) = dtype {
        d
    } else {
        let code = *data.first().ok_or_else(|| truncated(enc, 1, 0))?;
        pos = 1;
        DType::from_code(code)
            .ok_or_else(|| malformed(encoding, format!("unknown dtype code {code}")))?
    };
    let shape = if let Some(s) = shape {
        s.to_vec()
    } else {
        let byte = *data
            .get(pos)
            .ok_or_else(|| truncated(enc, pos + 1, data.len()))?;
        pos += 1;
        let ndim = usize::from(byte >> 2);
        let width = 1usize << (byte & 3);
        let end = pos + ndim * width;
        let table = data
            .get(pos..end)
            .ok_or_else(|| truncated(enc, end, data.len()))?;
        pos = end;
        if ndim == 0 {
            return Err(malformed(encoding, "zero dimensions"));
        }
        table
            .chunks_exact(width)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect()
    };
    let values = data.slice(pos..);
    let expected = shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d));
    if expected != Some(values.len() as u64) || shape.contains(&0) {
        return Err(malformed(
            encoding,
            format!(
                "{} value bytes do not fill a {dtype} array of shape {shape:?}",
                values.len()
            ),
        ));
    }
    Ok(Value::Array {
        dtype,
        shape,
        data: values,
    })
}

/// Encodes `value` for `encoding`, returning the bytes the reference would store.
pub fn encode(encoding: &ColumnEncoding, value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(encoding, value, &mut out)?;
    Ok(out)
}

/// Appends the stored bytes of `value` for `encoding` to `out` (on error, `out` may hold a
/// partial value; truncate it to its previous length).
///
/// A [`Value::Bytes`] is stored verbatim whatever the encoding, as the reference stores a
/// Python `bytes` object (pre-encoded data); a fixed-size encoding still checks its length.
/// Integers must fit the column's type (the reference's numpy casts would wrap); floats are
/// rounded to the column's width as numpy casts do.
pub fn encode_into(encoding: &ColumnEncoding, value: &Value, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    encode_unchecked_size(encoding, value, out)?;
    if let Some(size) = encoding.fixed_size()
        && out.len() - start != size
    {
        let len = out.len() - start;
        out.truncate(start);
        return Err(EncodingError::WrongSize {
            encoding: encoding.to_string(),
            len,
            expected: size,
        });
    }
    Ok(())
}

fn unencodable(
    encoding: &ColumnEncoding,
    value: &Value,
    reason: impl Into<String>,
) -> EncodingError {
    EncodingError::Unencodable {
        encoding: encoding.to_string(),
        value: value.kind(),
        reason: reason.into(),
    }
}

/// The value as an i128 if it is an integer.
fn as_integer(value: &Value) -> Option<i128> {
    match value {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        _ => None,
    }
}

fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Float16(h) => Some(f64::from(*h)),
        Value::Float32(f) => Some(f64::from(*f)),
        Value::Float64(f) => Some(*f),
        #[allow(clippy::cast_precision_loss)] // numpy's int-to-float cast rounds the same way
        Value::Int(i) => Some(*i as f64),
        #[allow(clippy::cast_precision_loss)]
        Value::UInt(u) => Some(*u as f64),
        _ => None,
    }
}

#[allow(clippy::too_many_lines)] // one arm per encoding reads best as one match
fn encode_unchecked_size(
    encoding: &ColumnEncoding,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<()> {
    if let Value::Bytes(b) = value {
        out.extend_from_slice(b);
        return Ok(());
    }
    let wrong = || unencodable(encoding, value, "wrong kind of value");
    macro_rules! int {
        ($t:ty) => {{
            let i = as_integer(value).ok_or_else(wrong)?;
            let v = <$t>::try_from(i)
                .map_err(|_| unencodable(encoding, value, format!("{i} is out of range")))?;
            out.extend_from_slice(&v.to_le_bytes());
        }};
    }
    match encoding {
        ColumnEncoding::Bytes => return Err(wrong()),
        ColumnEncoding::Str => match value {
            Value::Str(t) => out.extend_from_slice(t.as_bytes()),
            _ => return Err(wrong()),
        },
        ColumnEncoding::Int | ColumnEncoding::Int64 => int!(i64),
        ColumnEncoding::Int8 => int!(i8),
        ColumnEncoding::Int16 => int!(i16),
        ColumnEncoding::Int32 => int!(i32),
        ColumnEncoding::UInt8 => int!(u8),
        ColumnEncoding::UInt16 => int!(u16),
        ColumnEncoding::UInt32 => int!(u32),
        ColumnEncoding::UInt64 => int!(u64),
        ColumnEncoding::Float16 => {
            let h = match value {
                Value::Float16(h) => *h,
                _ => f16::from_f64(as_float(value).ok_or_else(wrong)?),
            };
            out.extend_from_slice(&h.to_le_bytes());
        }
        ColumnEncoding::Float32 => {
            #[allow(clippy::cast_possible_truncation)] // numpy's float64-to-float32 cast rounds
            let f = match value {
                Value::Float32(f) => *f,
                _ => as_float(value).ok_or_else(wrong)? as f32,
            };
            out.extend_from_slice(&f.to_le_bytes());
        }
        ColumnEncoding::Float64 => {
            let f = as_float(value).ok_or_else(wrong)?;
            out.extend_from_slice(&f.to_le_bytes());
        }
        ColumnEncoding::StrInt => match value {
            Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::UInt(u) => out.extend_from_slice(u.to_string().as_bytes()),
            Value::BigInt(t) => {
                let lit = pyfmt::parse_int(t)
                    .ok_or_else(|| unencodable(encoding, value, "not an integer"))?;
                if lit.negative {
                    out.push(b'-');
                }
                out.extend_from_slice(lit.digits.as_bytes());
            }
            _ => return Err(wrong()),
        },
        ColumnEncoding::StrFloat => match value {
            Value::Float16(_) | Value::Float32(_) | Value::Float64(_) => {
                let f = as_float(value).ok_or_else(wrong)?;
                out.extend_from_slice(float_repr(f).as_bytes());
            }
            _ => return Err(wrong()),
        },
        ColumnEncoding::StrDecimal => match value {
            Value::Decimal(t) => {
                let s = pyfmt::decimal_to_string(t)
                    .ok_or_else(|| unencodable(encoding, value, "not a decimal"))?;
                out.extend_from_slice(s.as_bytes());
            }
            Value::Int(_) | Value::UInt(_) | Value::BigInt(_) => {
                return encode_unchecked_size(&ColumnEncoding::StrInt, value, out);
            }
            _ => return Err(wrong()),
        },
        ColumnEncoding::Json => match value {
            Value::Json(t) => {
                if !pyfmt::is_python_json(t) {
                    return Err(unencodable(encoding, value, "the text is not JSON"));
                }
                out.extend_from_slice(t.as_bytes());
            }
            _ => return Err(wrong()),
        },
        ColumnEncoding::Pkl => match value {
            Value::Pickle(b) => out.extend_from_slice(b),
            _ => return Err(wrong()),
        },
        ColumnEncoding::NdArray { dtype, shape } => {
            encode_ndarray(encoding, *dtype, shape.as_deref(), value, out)?;
        }
        ColumnEncoding::Pil | ColumnEncoding::Png | ColumnEncoding::Jpeg => {
            let want = encoding.image_format().unwrap_or(ImageFormat::Png);
            match value {
                Value::Image { format, bytes } if *format == want => {
                    if want == ImageFormat::Pil {
                        PilImage::parse(bytes)?;
                    }
                    out.extend_from_slice(bytes);
                }
                _ => return Err(wrong()),
            }
        }
        ColumnEncoding::JpegArray | ColumnEncoding::JpegArrayAlias => {
            let Value::List(items) = value else {
                return Err(wrong());
            };
            if items.is_empty() {
                return Err(unencodable(
                    encoding,
                    value,
                    "an empty list cannot be read back",
                ));
            }
            push_len(encoding, value, items.len(), out)?;
            encode_sized_list(encoding, value, items, out)?;
        }
        ColumnEncoding::ListPil | ColumnEncoding::ListPng | ColumnEncoding::ListJpeg => {
            let Value::List(items) = value else {
                return Err(wrong());
            };
            out.extend_from_slice(&0u32.to_le_bytes());
            push_len(encoding, value, items.len(), out)?;
            encode_sized_list(encoding, value, items, out)?;
        }
    }
    Ok(())
}

fn push_len(encoding: &ColumnEncoding, value: &Value, n: usize, out: &mut Vec<u8>) -> Result<()> {
    let n = u32::try_from(n).map_err(|_| unencodable(encoding, value, "over 2^32 bytes"))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

/// Writes `u32 size[n]` then the elements, each encoded as the list's element encoding.
fn encode_sized_list(
    encoding: &ColumnEncoding,
    value: &Value,
    items: &[Value],
    out: &mut Vec<u8>,
) -> Result<()> {
    let element = match encoding.image_format() {
        Some(ImageFormat::Pil) => ColumnEncoding::Pil,
        Some(ImageFormat::Png) => ColumnEncoding::Png,
        _ => ColumnEncoding::Jpeg,
    };
    let table = out.len();
    out.resize(table + 4 * items.len(), 0);
    for (i, item) in items.iter().enumerate() {
        let start = out.len();
        encode_unchecked_size(&element, item, out)?;
        let size = out.len() - start;
        let size =
            u32::try_from(size).map_err(|_| unencodable(encoding, value, "over 2^32 bytes"))?;
        out[table + 4 * i..table + 4 * i + 4].copy_from_slice(&size.to_le_bytes());
    }
    Ok(())
}

fn encode_ndarray(
    encoding: &ColumnEncoding,
    static_dtype: Option<DType>,
    static_shape: Option<&[u64]>,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Value::Array { dtype, shape, data } = value else {
        return Err(unencodable(encoding, value, "wrong kind of value"));
    };
    let bad = |reason: String| unencodable(encoding, value, reason);
    if let Some(want) = static_dtype
        && want != *dtype
    {
        return Err(bad(format!("wrong dtype: expected {want}, got {dtype}")));
    }
    if shape.is_empty() {
        return Err(bad("a 0-d array (use a scalar encoding)".to_owned()));
    }
    if shape.len() >= 64 {
        return Err(bad(format!("{} dimensions (at most 63)", shape.len())));
    }
    if shape.contains(&0) {
        return Err(bad("an array with 0 elements".to_owned()));
    }
    let expected = shape
        .iter()
        .try_fold(dtype.itemsize() as u64, |acc, &d| acc.checked_mul(d));
    if expected != Some(data.len() as u64) {
        return Err(bad(format!(
            "{} data bytes for a {dtype} array of shape {shape:?}",
            data.len()
        )));
    }
    if static_dtype.is_none() {
        out.push(dtype.code());
    }
    if let Some(want) = static_shape {
        if want != shape.as_slice() {
            return Err(bad(format!(
                "wrong shape: expected {want:?}, got {shape:?}"
            )));
        }
    } else {
        {
            let max = shape.iter().copied().max().unwrap_or(0);
            let code: u8 = if max < 1 << 8 {
                0
            } else if max < 1 << 16 {
                1
            } else if max < 1 << 32 {
                2
            } else {
                3
            };
            let ndim = u8::try_from(shape.len()).unwrap_or(63);
            out.push((ndim << 2) | code);
            let width = 1usize << code;
            for &d in shape {
                out.extend_from_slice(&d.to_le_bytes()[..width]);
            }
        }
    }
    out.extend_from_slice(data);
    Ok(())
}
