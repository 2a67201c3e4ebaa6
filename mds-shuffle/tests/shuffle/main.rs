//! Integration tests of mds-shuffle: every vector in `tests/vectors` reproduced exactly, plus
//! property tests.

// Test helpers panic to report a failure; the vectors' numbers fit the casts.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::many_single_char_names
)]

mod algos;
mod limits;
mod partitions;
mod pipeline;
mod props;
mod rng;
mod util;
