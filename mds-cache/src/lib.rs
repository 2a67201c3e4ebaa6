//! Node-wide shard cache shared by processes, with a size limit and LRU eviction, safe under kill -9.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]
