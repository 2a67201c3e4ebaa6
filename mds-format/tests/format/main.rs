//! Integration tests of mds-format (one binary; each topic a module).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed unwrap is a failed test

mod compat;
mod corrupt;
mod roundtrip;
mod util;
