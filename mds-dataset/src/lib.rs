//! StreamingDataset: stream MDS datasets from object storage with prefetch, caching and elastic resumption.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub use mds_cache as cache;
pub use mds_fetch as fetch;
pub use mds_format as format;
pub use mds_shuffle as shuffle;
