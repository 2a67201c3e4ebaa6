//! Vector loading helpers.

use serde_json::Value;

/// Loads `tests/vectors/<name>`.
pub(crate) fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The `cases` array of a vector file.
pub(crate) fn cases(v: &Value) -> &Vec<Value> {
    v["cases"].as_array().unwrap()
}

/// A JSON number or decimal string as u64.
pub(crate) fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| v.as_str().unwrap().parse().unwrap())
}

/// A JSON number or decimal string as i64.
pub(crate) fn i(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| v.as_str().unwrap().parse().unwrap())
}

/// A decimal string as u128.
pub(crate) fn u128_of(v: &Value) -> u128 {
    v.as_str()
        .map_or_else(|| u128::from(v.as_u64().unwrap()), |s| s.parse().unwrap())
}

/// List of u64.
pub(crate) fn u_list(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(u).collect()
}

/// List of i64.
pub(crate) fn i_list(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(i).collect()
}

/// Optional u64 (null/absent = None).
pub(crate) fn opt_u(v: &Value) -> Option<u64> {
    if v.is_null() { None } else { Some(u(v)) }
}

/// Decimal string -> little-endian u32 words (numpy's entropy split).
pub(crate) fn decimal_words(s: &str) -> Vec<u32> {
    let mut words: Vec<u32> = vec![0];
    for ch in s.bytes() {
        let mut carry = u64::from(ch - b'0');
        for w in &mut words {
            let x = u64::from(*w) * 10 + carry;
            *w = (x & 0xffff_ffff) as u32;
            carry = x >> 32;
        }
        if carry > 0 {
            words.push(carry as u32);
        }
    }
    while words.len() > 1 && *words.last().unwrap() == 0 {
        words.pop();
    }
    words
}
