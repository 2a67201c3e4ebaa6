//! End-to-end tests across mds-format, mds-shuffle and mds-dataset: the reference's epoch
//! orders through the iterator, and resumption across processes and node counts.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns panic on setup failure

mod orders;
mod resume;
