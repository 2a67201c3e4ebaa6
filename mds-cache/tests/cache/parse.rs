//! `parse_bytes` against the reference's `bytes_to_int` (spec/reference.md §18.3).

use mds_cache::{Error, parse_bytes};

#[track_caller]
fn check(text: &str, expected: u64) {
    assert_eq!(parse_bytes(text).unwrap(), expected, "{text:?}");
}

#[track_caller]
fn reject(text: &str, reason: &str) {
    match parse_bytes(text) {
        Err(Error::ParseBytes { value, reason: r }) => {
            assert_eq!(value, text);
            assert!(r.contains(reason), "{text:?}: {r}");
        }
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn plain_digits_are_bytes() {
    check("0", 0);
    check("123", 123);
    check("123b", 123);
    check("  42 ", 42);
    check("18446744073709551615", u64::MAX);
}

#[test]
fn suffixes_are_powers_of_1024() {
    check("1kb", 1024);
    check("100mb", 100 << 20);
    check("10gb", 10 << 30);
    check("2tb", 2 << 40);
    check("1pb", 1 << 50);
    check("3eb", 3 << 60);
    check("10GB", 10 << 30);
    check(" 5 Mb ", 5 << 20);
}

#[test]
fn fractions_truncate_like_python_float() {
    check("1.5kb", 1536);
    check("1.1gb", 1_181_116_006); // int(1.1 * 1024**3) in Python
    check("0.0001kb", 0);
    check("-0.0001kb", 0); // int(-0.1024) == 0
    check(".5kb", 512);
    check("5.kb", 5120);
    check("1e3kb", 1_024_000);
    check("1E3KB", 1_024_000);
    check("+2kb", 2048);
    check("1_000kb", 1_024_000);
    check("10 kb", 10_240);
    check("15.5eb", 17_870_283_321_406_128_128);
}

#[test]
fn rejects_what_the_reference_rejects() {
    reject("", "expected digits");
    reject("b", "expected digits");
    reject("1.5b", "expected digits");
    reject("1.5", "expected digits");
    reject("12 b", "expected digits");
    reject("ten", "expected digits");
    reject("1,5kb", "not a number");
    reject("kb", "not a number");
    reject("1__0kb", "not a number");
    reject("_1kb", "not a number");
    reject("1_kb", "not a number");
    reject("1 0kb", "not a number");
}

#[test]
fn rejects_values_a_u64_cannot_hold() {
    reject("-5kb", "negative");
    reject("16eb", "2^64");
    reject("1zb", "2^64");
    reject("1yb", "2^64");
    reject("18446744073709551616", "2^64");
    reject("infkb", "infinite");
    reject("nankb", "not a number");
}

#[test]
fn errors_name_the_value() {
    let e = parse_bytes("1.5b").unwrap_err();
    assert!(e.to_string().contains("\"1.5b\""), "{e}");
}
