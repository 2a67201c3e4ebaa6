//! Text forms that must match Python byte for byte: `repr(float)`, `str(Decimal)`, `int()` and
//! `json.dumps` with default options (reference.md conventions, §4).

use std::fmt::Write as _;

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

/// Parses text as Python's `float()` does for the forms its `str()` produces and the usual
/// literals (surrounding whitespace, `inf`, `infinity`, `nan`, any case, exponents).
pub(super) fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() || t.contains('_') {
        return None;
    }
    t.parse::<f64>().ok()
}

/// A parsed integer literal: sign and the decimal digits with leading zeros removed.
pub(super) struct IntLiteral<'a> {
    pub(super) negative: bool,
    pub(super) digits: &'a str,
}

/// Parses an integer the way Python's `int(str)` does for base 10 (whitespace, sign, leading
/// zeros); underscores are rejected.
pub(super) fn parse_int(text: &str) -> Option<IntLiteral<'_>> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = body.trim_start_matches('0');
    let digits = if trimmed.is_empty() { "0" } else { trimmed };
    Some(IntLiteral {
        negative: negative && digits != "0",
        digits,
    })
}

/// Python's `str(Decimal(text))`: the General Decimal Arithmetic to-scientific-string of the
/// decimal that `text` spells. `None` if `text` is not a decimal literal.
pub fn decimal_to_string(text: &str) -> Option<String> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let sign = if negative { "-" } else { "" };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(format!("{sign}Infinity"));
    }
    for (prefix, name) in [("snan", "sNaN"), ("nan", "NaN")] {
        if let Some(payload) = lower.strip_prefix(prefix) {
            if !payload.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let payload = payload.trim_start_matches('0');
            return Some(format!("{sign}{name}{payload}"));
        }
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut exp: i64 = match exponent {
        Some(e) => {
            let lit = parse_int(e)?;
            if e.trim() != e || e.is_empty() {
                return None;
            }
            let magnitude: i64 = lit.digits.parse().ok()?;
            if lit.negative { -magnitude } else { magnitude }
        }
        None => 0,
    };
    exp = exp.checked_sub(i64::try_from(frac_part.len()).ok()?)?;
    let mut coeff = String::with_capacity(int_part.len() + frac_part.len());
    coeff.push_str(int_part);
    coeff.push_str(frac_part);
    let trimmed = coeff.trim_start_matches('0');
    let coeff = if trimmed.is_empty() { "0" } else { trimmed };
    let len = i64::try_from(coeff.len()).ok()?;
    let adjusted = exp.checked_add(len - 1)?;
    let mut out = String::with_capacity(coeff.len() + 8);
    out.push_str(sign);
    if exp <= 0 && adjusted >= -6 {
        if exp == 0 {
            out.push_str(coeff);
        } else if len > -exp {
            let point = usize::try_from(len + exp).ok()?;
            out.push_str(&coeff[..point]);
            out.push('.');
            out.push_str(&coeff[point..]);
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - len) {
                out.push('0');
            }
            out.push_str(coeff);
        }
    } else {
        out.push_str(&coeff[..1]);
        if coeff.len() > 1 {
            out.push('.');
            out.push_str(&coeff[1..]);
        }
        let esign = if adjusted < 0 { '-' } else { '+' };
        let _ = write!(out, "E{esign}{}", adjusted.unsigned_abs());
    }
    Some(out)
}

/// Appends `s` as a JSON string literal the way Python's `json.dumps` (ensure_ascii) writes it.
pub fn push_json_string(out: &mut String, s: &str) {
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
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Appends `value` as Python's `json.dumps(value)` with default options writes it: `", "` and
/// `": "` separators, keys in their stored order, floats as `repr(float)`.
pub fn push_json(out: &mut String, value: &serde_json::Value) {
    match value {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(true) => out.push_str("true"),
        serde_json::Value::Bool(false) => out.push_str("false"),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&json_float(f));
            }
        }
        serde_json::Value::String(s) => push_json_string(out, s),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_json(out, item);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_json_string(out, k);
                out.push_str(": ");
                push_json(out, v);
            }
            out.push('}');
        }
    }
}

/// A float as Python's `json` module writes it (`NaN`, `Infinity`, `-Infinity`, else repr).
pub(super) fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        float_repr(f)
    }
}

/// Whether `text` is JSON as Python's `json.loads` accepts it: standard JSON plus the bare
/// constants `NaN`, `Infinity` and `-Infinity` that `json.dumps` writes for non-finite floats.
pub(super) fn is_python_json(text: &str) -> bool {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return true;
    }
    // Replace the constants outside strings by a number and check again.
    let mut strict = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            strict.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if let Some(after) = rest
            .strip_prefix("NaN")
            .or_else(|| rest.strip_prefix("Infinity"))
        {
            strict.push('0');
            rest = after;
            continue;
        }
        strict.push(c);
        rest = &rest[c.len_utf8()..];
    }
    strict.len() != text.len() && serde_json::from_str::<serde::de::IgnoredAny>(&strict).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[track_caller]
    fn dec(text: &str, expect: &str) {
        assert_eq!(decimal_to_string(text).as_deref(), Some(expect), "{text}");
    }

    #[test]
    fn decimal_matches_python() {
        dec("1.50", "1.50");
        dec("-0.000", "-0.000");
        dec("1E+30", "1E+30");
        dec("1e30", "1E+30");
        dec("123.45e5", "1.2345E+7");
        dec("0.0000001", "1E-7");
        dec("0.000001", "0.000001");
        dec("00123", "123");
        dec("1.", "1");
        dec(".5", "0.5");
        dec("NaN", "NaN");
        dec("-inf", "-Infinity");
        dec("100E-2", "1.00");
        dec("5E+2", "5E+2");
        assert_eq!(decimal_to_string("1.2.3"), None);
        assert_eq!(decimal_to_string(""), None);
        assert_eq!(decimal_to_string("e5"), None);
    }

    #[test]
    fn python_json_constants() {
        assert!(is_python_json(
            r#"{"a": [NaN, -Infinity, Infinity], "b": "NaN \" NaN"}"#
        ));
        assert!(is_python_json("null"));
        assert!(!is_python_json("{\"a\": NaNx}"));
        assert!(!is_python_json("{\"a\": 1"));
        assert!(!is_python_json("nan"));
        assert!(!is_python_json(""));
    }

    #[test]
    fn json_matches_python() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a": [1, 2.0, -0.5, "é\u0000🚀"], "b": null, "c": true}"#)
                .unwrap();
        let mut s = String::new();
        push_json(&mut s, &v);
        assert_eq!(
            s,
            r#"{"a": [1, 2.0, -0.5, "\u00e9\u0000\ud83d\ude80"], "b": null, "c": true}"#
        );
    }
}
