//! The one public error type of `mds-format`.
//!
//! Every variant names what the caller needs to find the fault: the file (`file`: a path or an
//! index basename), the shard (its basename as index.json lists it), the sample (index within
//! the shard) and the column.

use std::path::PathBuf;

use crate::encoding::EncodingError;

/// Everything that can go wrong reading or writing MDS data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: i/o error", file.display())]
    Io {
        /// The file or directory.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// index.json is not valid JSON.
    #[error("{}: not valid JSON", file.display())]
    IndexJson {
        /// The index file.
        file: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// index.json is JSON but not a valid version 2 MDS index (wrong version, a missing or
    /// mistyped field).
    #[error("{}: {reason}", file.display())]
    Index {
        /// The index file.
        file: PathBuf,
        /// What is wrong, naming the shard entry and field.
        reason: String,
    },

    /// A shard basename in index.json would leave the dataset directory (absolute, `..`,
    /// a backslash, an empty component).
    #[error("index.json: shard {shard}: unsafe basename {basename:?}")]
    UnsafeBasename {
        /// The shard's position in index.json.
        shard: usize,
        /// The offending basename.
        basename: String,
    },

    /// A shard file is shorter than its header or offsets require.
    #[error("shard {shard}: truncated: {what} needs {needed} bytes, the file has {len}")]
    Truncated {
        /// Shard basename.
        shard: String,
        /// Which structure ran past the end.
        what: String,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        len: u64,
    },

    /// The shard's sample-offset table is inconsistent (decreasing, out of range, not ending
    /// at the end of the file).
    #[error("shard {shard}: bad offsets: {reason}")]
    Offsets {
        /// Shard basename.
        shard: String,
        /// Sample whose offsets are wrong, when one is to blame.
        sample: Option<u64>,
        /// What is wrong.
        reason: String,
    },

    /// The shard header disagrees with index.json (sample count, file size, columns).
    #[error(
        "shard {shard}: header disagrees with index.json: {field}: shard has {shard_value}, index has {index_value}"
    )]
    HeaderMismatch {
        /// Shard basename.
        shard: String,
        /// Which field disagrees.
        field: &'static str,
        /// The value in the shard.
        shard_value: String,
        /// The value in index.json.
        index_value: String,
    },

    /// A sample's bytes do not split into its columns (length prefixes past the end, leftover
    /// bytes, a split-format record that does not parse).
    #[error("shard {shard}: sample {sample}: {reason}")]
    Sample {
        /// Shard basename.
        shard: String,
        /// Sample index within the shard.
        sample: u64,
        /// What is wrong.
        reason: String,
    },

    /// A sample index past the end of a shard or dataset.
    #[error("sample {sample} out of range: {len} samples in {what}")]
    SampleOutOfRange {
        /// The requested sample.
        sample: u64,
        /// Number of samples available.
        len: u64,
        /// The shard basename or "dataset".
        what: String,
    },

    /// A column value failed to encode or decode.
    #[error("{at}sample {sample}: column {column}: bad value", at = shard_prefix(shard))]
    Encoding {
        /// Shard basename (empty while writing a sample not yet assigned to a shard).
        shard: String,
        /// Sample index within the shard (while writing: index of the sample in the writer).
        sample: u64,
        /// Column name.
        column: String,
        /// The encoding's error.
        #[source]
        source: EncodingError,
    },

    /// A column's encoding name in index.json that mds does not know or cannot parse.
    #[error("shard {shard}: column {column}: bad encoding")]
    ColumnSpec {
        /// Shard basename.
        shard: String,
        /// Column name.
        column: String,
        /// Why the name does not parse.
        #[source]
        source: EncodingError,
    },

    /// A fixed-size column value with the wrong length.
    #[error(
        "shard {shard}: sample {sample}: column {column}: {actual} bytes, encoding {encoding} needs {expected}"
    )]
    FixedSize {
        /// Shard basename (empty while writing).
        shard: String,
        /// Sample index.
        sample: u64,
        /// Column name.
        column: String,
        /// The column's encoding.
        encoding: String,
        /// The fixed size.
        expected: u64,
        /// The value's size.
        actual: u64,
    },

    /// A file's size differs from index.json.
    #[error("{file}: size {actual} bytes, index.json says {expected}")]
    Size {
        /// File basename.
        file: String,
        /// Size recorded in index.json.
        expected: u64,
        /// Actual size.
        actual: u64,
    },

    /// A file's hash differs from index.json.
    #[error("{file}: {algorithm} hash mismatch: index.json has {expected}, file has {actual}")]
    HashMismatch {
        /// File basename.
        file: String,
        /// Hash algorithm name.
        algorithm: String,
        /// Digest recorded in index.json.
        expected: String,
        /// Digest of the file.
        actual: String,
    },

    /// A hash algorithm name the reference does not accept.
    #[error("unknown hash algorithm {name:?}")]
    UnknownHash {
        /// The name.
        name: String,
    },

    /// A compression spec the reference does not accept (`zstd:0`, `snappy:1`, `lz4`).
    #[error("invalid compression {spec:?}")]
    InvalidCompression {
        /// The spec.
        spec: String,
    },

    /// A compressed file does not decompress (or decompresses past its recorded size).
    #[error("{file}: cannot decompress ({algorithm})")]
    Decompress {
        /// File basename.
        file: String,
        /// Compression family.
        algorithm: &'static str,
        /// The codec's error.
        #[source]
        source: std::io::Error,
    },

    /// A shard file named by index.json is missing (neither the raw nor the compressed file
    /// exists).
    #[error("shard {shard}: file missing: {}", path.display())]
    MissingShard {
        /// Shard basename.
        shard: String,
        /// The path looked for.
        path: PathBuf,
    },

    /// Invalid writer configuration or sample (a bad column name, a value with the separator
    /// in a CSV column, a size limit out of range).
    #[error("invalid {param}: {reason}")]
    InvalidArgument {
        /// The parameter.
        param: String,
        /// What is wrong.
        reason: String,
    },

    /// The shard format is not handled by this operation.
    #[error("shard {shard}: unsupported format {format:?}")]
    UnsupportedFormat {
        /// Shard basename.
        shard: String,
        /// The format.
        format: String,
    },
}

/// `Result` with [`Error`] as its default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an [`Error::Io`] for `file`.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            file: file.into(),
            source,
        }
    }

    /// The shard basename this error is about, if any.
    pub fn shard(&self) -> Option<&str> {
        match self {
            Error::Truncated { shard, .. }
            | Error::Offsets { shard, .. }
            | Error::HeaderMismatch { shard, .. }
            | Error::Sample { shard, .. }
            | Error::Encoding { shard, .. }
            | Error::ColumnSpec { shard, .. }
            | Error::FixedSize { shard, .. }
            | Error::MissingShard { shard, .. }
            | Error::UnsupportedFormat { shard, .. } => Some(shard),
            Error::Size { file, .. }
            | Error::HashMismatch { file, .. }
            | Error::Decompress { file, .. } => Some(file),
            _ => None,
        }
    }

    /// Whether this is a missing file (a shard or index.json that does not exist).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::MissingShard { .. } => true,
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// `shard NAME: `, or nothing for a sample being written (not in a shard yet).
fn shard_prefix(shard: &str) -> String {
    if shard.is_empty() {
        String::new()
    } else {
        format!("shard {shard}: ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_errors_name_the_shard_only_when_there_is_one() {
        let e = |shard: &str| Error::Encoding {
            shard: shard.to_owned(),
            sample: 3,
            column: "id".to_owned(),
            source: crate::encoding::EncodingError::Unencodable {
                encoding: "int8".to_owned(),
                value: "int",
                reason: "out of range".to_owned(),
            },
        };
        assert_eq!(e("").to_string(), "sample 3: column id: bad value");
        assert_eq!(
            e("shard.00001.mds").to_string(),
            "shard shard.00001.mds: sample 3: column id: bad value"
        );
    }
}
