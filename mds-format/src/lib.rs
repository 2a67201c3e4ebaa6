//! MDS shard format: index.json, shards, column encodings, compression and hashes, byte-compatible with mosaicml-streaming.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod encoding;
