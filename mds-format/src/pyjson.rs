//! JSON text exactly as Python's `json.dumps` writes it with default options.
//!
//! index.json, the MDS shard header and the JSON shard format all hold JSON written by the
//! reference library with `json.dumps` (item separator `", "`, key separator `": "`, non-ASCII
//! escaped as `\uXXXX`, floats as `float.__repr__`). Matching that text byte for byte is what
//! makes our index.json, shards and raw hashes identical to the reference's
//! (reference.md, conventions; spec README choice 1).

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// Serializes `value` like Python `json.dumps(value)`: object keys in their stored order.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, false);
    out
}

/// Serializes `value` like Python `json.dumps(value, sort_keys=True)`: object keys sorted by
/// code point at every level.
pub fn to_string_sorted(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, true);
    out
}

/// Appends `value` to `out` as Python's `json.dumps` would write it; `sort_keys` as in Python.
pub fn write_value(out: &mut String, value: &Value, sort_keys: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, sort_keys);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, sort_keys),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>, sort_keys: bool) {
    out.push('{');
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if sort_keys {
        // Python sorts str keys by code point; Rust's str order is byte order of UTF-8,
        // which is the same order.
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(out, k);
        out.push_str(": ");
        write_value(out, v, sort_keys);
    }
    out.push('}');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&json_float(f));
    } else {
        out.push_str(&n.to_string());
    }
}

/// A float as Python's `json.dumps` writes it: `float.__repr__`, except that the non-finite
/// values become `NaN`, `Infinity` and `-Infinity`.
pub fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        float_repr(f)
    }
}

/// Python's `repr(float)` (`float_repr_style = 'short'`): the shortest digits that round-trip,
/// fixed notation when the decimal exponent is in `-4..16`, otherwise `1e+16` style with at
/// least two exponent digits; `inf`, `-inf`, `nan`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` prints the shortest round-trip digits, but where two digit strings of that
    // length are equally close it may pick the odd one; Python picks the correctly rounded
    // (round-half-even) one, which `{:.N$e}` gives.
    let shortest = format!("{x:e}");
    let k = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    // Two distinct decimals of at most 15 digits never round to the same double, so a tie
    // needs k >= 16.
    let sci = if k >= 16 {
        let rounded = format!("{x:.prec$e}", prec = k - 1);
        if rounded.parse::<f64>().ok() == Some(x) {
            rounded
        } else {
            shortest
        }
    } else {
        shortest
    };
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    // Position of the decimal point relative to the digit string (value = 0.DIGITS * 10^decpt).
    let decpt = exp + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", e.unsigned_abs());
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..(-decpt) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt < n {
        let split = usize::try_from(decpt).unwrap_or(0);
        out.push_str(&digits[..split]);
        out.push('.');
        out.push_str(&digits[split..]);
    } else {
        out.push_str(&digits);
        for _ in 0..(decpt - n) {
            out.push('0');
        }
        out.push_str(".0");
    }
    out
}

/// Appends `s` as a JSON string literal the way Python's `json.dumps` (with `ensure_ascii`)
/// writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, every other character outside
/// printable ASCII as lowercase `\uXXXX` (UTF-16 surrogate pairs above the BMP).
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(f: f64, expect: &str) {
        assert_eq!(float_repr(f), expect, "{f:?}");
    }

    #[test]
    fn floats_like_python_repr() {
        check(0.0, "0.0");
        check(-0.0, "-0.0");
        check(1.0, "1.0");
        check(0.1, "0.1");
        check(1.5e-5, "1.5e-05");
        check(0.0001, "0.0001");
        check(1e16, "1e+16");
        check(1e15, "1000000000000000.0");
        check(123_456.789, "123456.789");
        check(1e100, "1e+100");
        check(-2.5e-300, "-2.5e-300");
        check(f64::MAX, "1.7976931348623157e+308");
        check(5e-324, "5e-324");
        check(f64::NAN, "nan");
        check(f64::NEG_INFINITY, "-inf");
        assert_eq!(json_float(f64::INFINITY), "Infinity");
    }

    #[test]
    fn strings_like_python() {
        let v =
            serde_json::json!({"b": "é\u{1F600}\"\\\n\u{7f}\u{1}", "a": [1, -2, 1.5, null, true]});
        assert_eq!(
            to_string_sorted(&v),
            r#"{"a": [1, -2, 1.5, null, true], "b": "\u00e9\ud83d\ude00\"\\\n\u007f\u0001"}"#
        );
        assert_eq!(
            to_string(&v),
            r#"{"b": "\u00e9\ud83d\ude00\"\\\n\u007f\u0001", "a": [1, -2, 1.5, null, true]}"#
        );
    }

    #[track_caller]
    fn repr(x: f64, expect: &str) {
        assert_eq!(float_repr(x), expect);
    }

    #[test]
    fn float_repr_matches_python() {
        repr(0.0, "0.0");
        repr(-0.0, "-0.0");
        repr(0.1, "0.1");
        repr(1.0, "1.0");
        repr(1e16, "1e+16");
        repr(1.5e16, "1.5e+16");
        repr(1_234_567_890_123_456.0, "1234567890123456.0");
        repr(0.0001, "0.0001");
        repr(0.00001, "1e-05");
        repr(1e100, "1e+100");
        repr(-2.5e-300, "-2.5e-300");
        repr(123.456, "123.456");
        repr(f64::INFINITY, "inf");
        repr(f64::NEG_INFINITY, "-inf");
        repr(f64::NAN, "nan");
        repr(5e-324, "5e-324");
        repr(f64::from_bits(0x4301_1821_d88c_e5f2), "601451031272638.2");
    }

    #[test]
    fn json_matches_python() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a": [1, 2.0, -0.5, "é\u0000🚀"], "b": null, "c": true}"#)
                .unwrap();
        let mut s = String::new();
        write_value(&mut s, &v, false);
        assert_eq!(
            s,
            r#"{"a": [1, 2.0, -0.5, "\u00e9\u0000\ud83d\ude80"], "b": null, "c": true}"#
        );
    }
}
