//! Property tests: encode then decode is the identity for every encoding, and decoding
//! arbitrary bytes never panics.

use bytes::Bytes;
use half::f16;
use mds_format::encoding::{
    ColumnEncoding, DType, ImageFormat, Text, Value, decimal_to_string, decode, encode, float_repr,
    to_json,
};
use proptest::prelude::*;

fn dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(DType::ALL.to_vec())
}

fn array() -> impl Strategy<Value = Value> {
    (dtype(), prop::collection::vec(1u64..5, 1..4)).prop_flat_map(|(dtype, shape)| {
        let n = shape.iter().product::<u64>() as usize * dtype.itemsize();
        prop::collection::vec(any::<u8>(), n).prop_map(move |data| Value::Array {
            dtype,
            shape: shape.clone(),
            data: Bytes::from(data),
        })
    })
}

fn image(format: ImageFormat) -> BoxedStrategy<Value> {
    match format {
        // Known modes with exactly their pixel bytes, and unknown modes with any bytes.
        ImageFormat::Pil => prop_oneof![
            (
                0u32..9,
                0u32..9,
                prop::sample::select(vec![("1", 0u32), ("L", 1), ("RGB", 3), ("RGBA", 4)])
            )
                .prop_flat_map(|(w, h, (mode, bpp))| {
                    let n = if bpp == 0 {
                        w.div_ceil(8) * h
                    } else {
                        w * h * bpp
                    } as usize;
                    prop::collection::vec(any::<u8>(), n)
                        .prop_map(move |px| Value::pil(w, h, mode, &px).unwrap())
                }),
            (
                0u32..50,
                0u32..50,
                "X[A-Z;0-9]{0,5}",
                prop::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(w, h, mode, px)| Value::pil(w, h, &mode, &px).unwrap()),
        ]
        .boxed(),
        _ => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(move |b| Value::Image {
                format,
                bytes: Bytes::from(b),
            })
            .boxed(),
    }
}

/// An encoding and a value it accepts.
fn case() -> impl Strategy<Value = (ColumnEncoding, Value)> {
    let e = |s: &str| s.parse::<ColumnEncoding>().unwrap();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(move |b| (e("bytes"), Value::Bytes(Bytes::from(b)))),
        any::<String>().prop_map(move |s| (e("str"), Value::Str(Text::from(s)))),
        any::<i64>().prop_map(move |i| (e("int"), Value::Int(i))),
        any::<i8>().prop_map(move |i| (e("int8"), Value::Int(i.into()))),
        any::<i16>().prop_map(move |i| (e("int16"), Value::Int(i.into()))),
        any::<i32>().prop_map(move |i| (e("int32"), Value::Int(i.into()))),
        any::<i64>().prop_map(move |i| (e("int64"), Value::Int(i))),
        any::<u8>().prop_map(move |i| (e("uint8"), Value::UInt(i.into()))),
        any::<u16>().prop_map(move |i| (e("uint16"), Value::UInt(i.into()))),
        any::<u32>().prop_map(move |i| (e("uint32"), Value::UInt(i.into()))),
        any::<u64>().prop_map(move |i| (e("uint64"), Value::UInt(i))),
        any::<u16>().prop_map(move |b| (e("float16"), Value::Float16(f16::from_bits(b)))),
        any::<u32>().prop_map(move |b| (e("float32"), Value::Float32(f32::from_bits(b)))),
        any::<u64>().prop_map(move |b| (e("float64"), Value::Float64(f64::from_bits(b)))),
        any::<i64>().prop_map(move |i| (e("str_int"), Value::Int(i))),
        "-?[1-9][0-9]{19,60}".prop_map(move |s| (e("str_int"), Value::BigInt(Text::from(s)))),
        any::<f64>().prop_map(move |f| (e("str_float"), Value::Float64(f))),
        (any::<i64>(), 0u32..12).prop_map(move |(c, scale)| {
            let digits = c.unsigned_abs().to_string();
            let s = if scale as usize >= digits.len() {
                format!("0.{}{digits}", "0".repeat(scale as usize - digits.len()))
            } else {
                format!(
                    "{}.{}",
                    &digits[..digits.len() - scale as usize],
                    &digits[digits.len() - scale as usize..]
                )
            };
            let s = if c < 0 { format!("-{s}") } else { s };
            let s = s.trim_end_matches('.').to_owned();
            (e("str_decimal"), Value::Decimal(Text::from(s)))
        }),
        any::<Vec<u8>>().prop_map(move |b| (e("pkl"), Value::Pickle(Bytes::from(b)))),
        array().prop_map(move |v| (e("ndarray"), v)),
        array().prop_map(|v| {
            let Value::Array { dtype, .. } = &v else {
                unreachable!()
            };
            (format!("ndarray:{dtype}").parse().unwrap(), v)
        }),
        array().prop_map(|v| {
            let Value::Array { dtype, shape, .. } = &v else {
                unreachable!()
            };
            let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
            (
                format!("ndarray:{dtype}:{}", dims.join(","))
                    .parse()
                    .unwrap(),
                v,
            )
        }),
        image(ImageFormat::Pil).prop_map(move |v| (e("pil"), v)),
        image(ImageFormat::Png).prop_map(move |v| (e("png"), v)),
        image(ImageFormat::Jpeg).prop_map(move |v| (e("jpeg"), v)),
        prop::collection::vec(image(ImageFormat::Jpeg), 1..4)
            .prop_map(move |v| (e("jpeg_array"), Value::List(v))),
        prop::collection::vec(image(ImageFormat::Pil), 0..4)
            .prop_map(move |v| (e("list[pil]"), Value::List(v))),
        prop::collection::vec(image(ImageFormat::Png), 0..4)
            .prop_map(move |v| (e("list[png]"), Value::List(v))),
        prop::collection::vec(image(ImageFormat::Jpeg), 0..4)
            .prop_map(move |v| (e("list[jpeg]"), Value::List(v))),
    ]
}

/// Values equal as stored (NaN payloads compared by bits).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float16(x), Value::Float16(y)) => x.to_bits() == y.to_bits(),
        (Value::Float32(x), Value::Float32(y)) => x.to_bits() == y.to_bits(),
        (Value::Float64(x), Value::Float64(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity((encoding, value) in case()) {
        let stored = encode(&encoding, &value).unwrap();
        if let Some(size) = encoding.fixed_size() {
            prop_assert_eq!(stored.len(), size);
        }
        let back = decode(&encoding, Bytes::from(stored.clone())).unwrap();
        prop_assert!(same(&back, &value), "{encoding}: {value:?} came back as {back:?}");
        // And once decoded, the bytes are a fixed point.
        prop_assert_eq!(encode(&encoding, &back).unwrap(), stored);
        let _ = to_json(&back);
    }

    #[test]
    fn arbitrary_bytes_never_panic(name in prop::sample::select(
        ColumnEncoding::names().chain(["ndarray:int16", "ndarray:float32:2,2"]).collect::<Vec<_>>()
    ), data in prop::collection::vec(any::<u8>(), 0..48)) {
        let encoding: ColumnEncoding = name.parse().unwrap();
        if let Ok(value) = decode(&encoding, Bytes::from(data.clone())) {
            let _ = to_json(&value);
            // Whatever decodes re-encodes without panicking.
            let _ = encode(&encoding, &value);
        }
    }

    #[test]
    fn float_repr_round_trips_and_is_shortest(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        let text = float_repr(x);
        let back: f64 = text.parse().unwrap();
        prop_assert!(back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()), "{text}");
        if x.is_finite() {
            // Significant digits: leading and trailing zeros (`1e+16`, `5.0`) do not count.
            let digits = |s: &str| {
                let d: String = s.split(['e', 'E']).next().unwrap().chars().filter(char::is_ascii_digit).collect();
                d.trim_matches('0').len()
            };
            let shortest = format!("{x:e}");
            prop_assert!(digits(&text).max(1) <= digits(&shortest).max(1), "{text} vs {shortest}");
        }
    }

    #[test]
    fn decimal_text_is_canonical_once(int in "-?[0-9]{1,30}", frac in "([.][0-9]{0,20})?", exp in "([eE][+-]?[0-9]{1,3})?") {
        let text = format!("{int}{frac}{exp}");
        let once = decimal_to_string(&text).unwrap();
        let twice = decimal_to_string(&once);
        prop_assert_eq!(twice.as_deref(), Some(once.as_str()));
    }
}
