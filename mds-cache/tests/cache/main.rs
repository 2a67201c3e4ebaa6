//! Integration tests of `mds-cache`: the public API, real files, real competing processes.
//!
//! Cross-process tests re-execute this binary: the test `child` runs a role when the
//! environment variable [`util::CHILD_ENV`] names one, and does nothing otherwise.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed unwrap is a failed test

mod basic;
mod multiprocess;
mod parse;
mod props;
mod util;

/// Entry point of child processes; a no-op in a normal test run.
#[test]
fn child() {
    if let Ok(role) = std::env::var(util::CHILD_ENV) {
        multiprocess::run_child(&role);
    }
}
