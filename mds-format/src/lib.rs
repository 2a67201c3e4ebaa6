//! MDS shard format: index.json, shards, column encodings, compression and hashes, byte-compatible with mosaicml-streaming.
//!
//! * [`index`]: index.json (version 2) and `merge_index`.
//! * [`shard`]: shard readers over memory or an mmap'd file, zero-copy.
//! * [`encoding`]: MDS column encodings.
//! * [`writer`]: MDS, JSON and CSV/TSV/XSV dataset writers, byte-identical to the reference.
//! * [`dataset`]: a local dataset directory: samples by global index, verification.
//! * [`compression`], [`hash`]: the reference's codecs and file hashes.
//! * [`pyjson`]: Python `json.dumps` text, for byte-identical JSON.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod compression;
pub mod dataset;
pub mod encoding;
mod error;
pub mod hash;
pub mod index;
pub mod pyjson;
mod sample;
pub mod shard;
pub mod writer;

pub use compression::{Codec, Compression};
pub use dataset::Dataset;
pub use error::{Error, Result};
pub use hash::HashAlgorithm;
pub use index::{FileInfo, Index, ShardFormat, ShardMeta};
pub use sample::{ColumnType, Columns, Sample};
pub use shard::{MdsShard, Shard, SplitShard};
pub use writer::{MdsWriter, SplitWriter};
