//! Integration tests of `mds_format::encoding`: the reference fixtures and property tests.
// Helpers outside `#[test]` fns panic on purpose: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

mod fixtures;
mod props;
mod spec;
