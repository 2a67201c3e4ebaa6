//! Integration tests of mds-dataset: epoch orders against the reference's vectors, mixing,
//! resumption, random access and iteration over real shard files.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns panic on setup failure

mod iterate;
mod util;
mod vectors;
