//! Worked examples of reference.md §4 / §4.1 and the error paths.

use bytes::Bytes;
use half::f16;
use mds_format::encoding::{
    ColumnEncoding, DType, EncodingError, ImageFormat, JsonView, SplitEncoding, Text, Value,
    decode, encode,
};

#[track_caller]
fn enc(name: &str) -> ColumnEncoding {
    name.parse().unwrap()
}

fn arange_i32_1x3() -> Value {
    let data: Vec<u8> = [0i32, 1, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    Value::Array {
        dtype: DType::Int32,
        shape: vec![1, 3],
        data: Bytes::from(data),
    }
}

#[test]
fn ndarray_layouts_match_the_reference() {
    let v = arange_i32_1x3();
    let values = "000000000100000002000000";
    assert_eq!(
        hex::encode(encode(&enc("ndarray"), &v).unwrap()),
        format!("210801 03{values}").replace(' ', "")
    );
    assert_eq!(
        hex::encode(encode(&enc("ndarray:int32"), &v).unwrap()),
        format!("080103{values}")
    );
    assert_eq!(
        hex::encode(encode(&enc("ndarray:int32:1,3"), &v).unwrap()),
        values
    );
    assert_eq!(enc("ndarray:int32:1,3").fixed_size(), Some(12));
    let long = Value::Array {
        dtype: DType::UInt8,
        shape: vec![300],
        data: Bytes::from(vec![7u8; 300]),
    };
    assert!(hex::encode(encode(&enc("ndarray:uint8"), &long).unwrap()).starts_with("052c01"));
    for name in ["ndarray", "ndarray:int32", "ndarray:int32:1,3"] {
        let bytes = encode(&enc(name), &v).unwrap();
        assert_eq!(decode(&enc(name), Bytes::from(bytes)).unwrap(), v, "{name}");
    }
}

#[test]
fn ndarray_encoder_checks() {
    let v = arange_i32_1x3();
    for (name, value) in [
        ("ndarray:int16", v.clone()),
        ("ndarray:int32:3,1", v.clone()),
        (
            "ndarray",
            Value::Array {
                dtype: DType::Int32,
                shape: vec![],
                data: Bytes::new(),
            },
        ),
        (
            "ndarray",
            Value::Array {
                dtype: DType::Int32,
                shape: vec![0],
                data: Bytes::new(),
            },
        ),
        (
            "ndarray",
            Value::Array {
                dtype: DType::Int32,
                shape: vec![2],
                data: Bytes::from_static(&[0; 4]),
            },
        ),
    ] {
        let err = encode(&enc(name), &value).unwrap_err();
        assert!(
            matches!(err, EncodingError::Unencodable { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn names_parse_and_display_exactly() {
    for name in ColumnEncoding::names() {
        assert_eq!(enc(name).to_string(), name);
    }
    for name in [
        "ndarray:float16",
        "ndarray:uint64:2,3,4",
        "jpegarray",
        "list[pil]",
    ] {
        assert_eq!(enc(name).to_string(), name);
    }
    let err = "float128".parse::<ColumnEncoding>().unwrap_err();
    assert!(err.to_string().contains("float128"), "{err}");
    assert!(matches!(err, EncodingError::Unknown { .. }));
    for bad in [
        "ndarray:bool",
        "ndarray:int8:0",
        "ndarray:int8:",
        "ndarray:int8:2,x",
        "str:3",
        "jpeg:75",
    ] {
        let err = bad.parse::<ColumnEncoding>().unwrap_err();
        assert!(err.to_string().contains(bad), "{bad}: {err}");
    }
    let sizes: Vec<Option<usize>> = [
        "int",
        "uint8",
        "float16",
        "int32",
        "str",
        "ndarray:uint8",
        "ndarray:float32:8",
    ]
    .iter()
    .map(|n| enc(n).fixed_size())
    .collect();
    assert_eq!(
        sizes,
        [Some(8), Some(1), Some(2), Some(4), None, None, Some(32)]
    );
    assert!(enc("pkl").is_unsafe());
    assert!(!enc("json").is_unsafe());
}

#[test]
fn scalars_and_text_forms() {
    let check = |name: &str, value: Value, stored: &[u8]| {
        assert_eq!(encode(&enc(name), &value).unwrap(), stored, "{name}");
    };
    check("int", Value::Int(-1), &[0xff; 8]);
    check("uint16", Value::UInt(513), &[1, 2]);
    check("float16", Value::Float16(f16::from_f32(1.0)), &[0x00, 0x3c]);
    check("float32", Value::Float64(0.5), &0.5f32.to_le_bytes());
    check(
        "str_int",
        Value::BigInt(Text::from("-10000000000000000000000000")),
        b"-10000000000000000000000000",
    );
    check("str_float", Value::Float64(1e16), b"1e+16");
    check("str_float", Value::Float64(-0.0), b"-0.0");
    check(
        "str_decimal",
        Value::Decimal(Text::from("1.2345e7")),
        b"1.2345E+7",
    );
    check(
        "str",
        Value::Str(Text::from("h\u{e9}")),
        "h\u{e9}".as_bytes(),
    );
    let json: serde_json::Value =
        serde_json::from_str(r#"{"b": [1, 2.5, "\u00e9"], "a": null}"#).unwrap();
    check(
        "json",
        Value::json(&json),
        br#"{"b": [1, 2.5, "\u00e9"], "a": null}"#,
    );
    // Pre-encoded bytes are stored verbatim whatever the encoding; fixed sizes still apply.
    check("png", Value::Bytes(Bytes::from_static(b"abc")), b"abc");
    assert!(matches!(
        encode(&enc("int"), &Value::Bytes(Bytes::from_static(b"abc"))),
        Err(EncodingError::WrongSize {
            len: 3,
            expected: 8,
            ..
        })
    ));
    assert!(matches!(
        encode(&enc("int8"), &Value::Int(128)),
        Err(EncodingError::Unencodable { .. })
    ));
    assert!(matches!(
        encode(&enc("uint8"), &Value::Int(-1)),
        Err(EncodingError::Unencodable { .. })
    ));
    assert!(matches!(
        encode(&enc("str"), &Value::Int(1)),
        Err(EncodingError::Unencodable { .. })
    ));
    assert_eq!(
        decode(&enc("str_int"), Bytes::from_static(b"  +007 ")).unwrap(),
        Value::Int(7)
    );
}

#[test]
fn images_and_lists() {
    let pil = Value::pil(2, 1, "RGB", &[1, 2, 3, 4, 5, 6]).unwrap();
    let stored = encode(&enc("pil"), &pil).unwrap();
    assert_eq!(
        hex::encode(&stored),
        "0200000001000000030000005247420102030405 06".replace(' ', "")
    );
    assert_eq!(decode(&enc("pil"), Bytes::from(stored)).unwrap(), pil);
    let json = serde_json::to_value(JsonView(&pil)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"mode": "RGB", "size": [2, 1], "pixels_hex": "010203040506", "format": null})
    );

    let png = Value::Image {
        format: ImageFormat::Png,
        bytes: Bytes::from_static(b"P1"),
    };
    let list = Value::List(vec![png.clone(), png]);
    let stored = encode(&enc("list[png]"), &list).unwrap();
    assert_eq!(
        hex::encode(&stored),
        "00000000020000000200000002000000 50315031".replace(' ', "")
    );
    assert_eq!(
        decode(&enc("list[png]"), Bytes::from(stored)).unwrap(),
        list
    );
    // A jpeg image in a list of pngs is the wrong kind of value.
    let jpeg = Value::Image {
        format: ImageFormat::Jpeg,
        bytes: Bytes::from_static(b"J"),
    };
    assert!(encode(&enc("list[png]"), &Value::List(vec![jpeg.clone()])).is_err());
    let arr = encode(&enc("jpeg_array"), &Value::List(vec![jpeg])).unwrap();
    assert_eq!(hex::encode(&arr), "01000000010000004a");
    assert!(encode(&enc("jpeg_array"), &Value::List(vec![])).is_err());
}

#[test]
fn bad_bytes_give_errors_naming_the_encoding() {
    let cases: &[(&str, &[u8])] = &[
        ("int", &[1, 2, 3]),
        ("str", &[0xff]),
        ("str_int", b"12a"),
        ("str_float", b"x"),
        ("str_decimal", b"1.2.3"),
        ("ndarray", &[99, 4, 1, 0]),
        ("ndarray", &[8, 4, 2, 0]),
        ("ndarray:uint8", &[8]),
        ("ndarray:uint8:2", &[1]),
        ("pil", &[1, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, b'L']),
        (
            "pil",
            &[
                2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, b'R', b'G', b'B', 1, 2, 3, 4, 5,
            ],
        ),
        ("jpeg_array", &[0, 0, 0, 0]),
        ("jpeg_array", &[2, 0, 0, 0, 1, 0, 0, 0]),
        ("list[png]", &[1, 0, 0, 0, 0, 0, 0, 0]),
        ("list[png]", &[0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 1]),
    ];
    for (name, data) in cases {
        let err = decode(&enc(name), Bytes::from_static(data)).unwrap_err();
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
}

#[test]
fn split_encodings() {
    assert_eq!(
        "float".parse::<SplitEncoding>().unwrap(),
        SplitEncoding::Float
    );
    assert!("float32".parse::<SplitEncoding>().is_err());
    assert_eq!(
        SplitEncoding::Float
            .format_field(&Value::Float64(1e-5))
            .unwrap(),
        "1e-05"
    );
    assert_eq!(
        SplitEncoding::Int.parse_field("-12").unwrap(),
        Value::Int(-12)
    );
    let mut s = String::new();
    SplitEncoding::Str
        .push_json_field(&Value::Str(Text::from("\u{e9}")), &mut s)
        .unwrap();
    assert_eq!(s, r#""\u00e9""#);
}

#[test]
fn value_accessors_and_conversions() {
    assert_eq!(Value::from(-3i64).as_i64(), Some(-3));
    assert_eq!(Value::from(u64::MAX).as_i64(), None);
    assert_eq!(Value::from(u64::MAX).as_u64(), Some(u64::MAX));
    assert_eq!(Value::from(1.5f32).as_f64(), Some(1.5));
    assert_eq!(Value::from("hi").as_str(), Some("hi"));
    assert_eq!(
        Value::from(vec![1u8, 2]).as_bytes().map(|b| &b[..]),
        Some(&[1u8, 2][..])
    );
    assert_eq!(
        encode(&enc("float16"), &Value::from(f16::from_f32(2.0))).unwrap(),
        [0x00, 0x40]
    );
}

#[test]
fn json_text_is_checked() {
    let ok = Bytes::from_static(br#"{"x": NaN, "y": [1, -Infinity]}"#);
    assert!(decode(&enc("json"), ok).is_ok());
    let err = decode(&enc("json"), Bytes::from_static(b"{\"x\": ")).unwrap_err();
    assert!(err.to_string().contains("json"), "{err}");
    assert!(encode(&enc("json"), &Value::Json(Text::from("{oops"))).is_err());
}
