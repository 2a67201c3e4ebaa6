//! Fetch MDS shards from S3, GCS, Azure, HTTP and local disk on object_store.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]
