//! Text forms that must match Python byte for byte: `repr(float)`, `str(Decimal)`, `int()` and
//! `json.dumps` with default options (reference.md conventions, §4).

use std::fmt::Write as _;

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
}
