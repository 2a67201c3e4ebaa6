//! Whole-file shard compression as the reference does it (reference.md §6).
//!
//! A spec is `family` or `family:level`. The file extension is the family name
//! (`shard.00000.mds.zstd` for `zstd:7`). Valid levels per family are exactly the reference's;
//! anything else is [`Error::InvalidCompression`].
//!
//! Byte identity with the reference: zstd uses the same C library (1.5.7) through the one-shot
//! API, which records the content size, so output is identical at the same level. gzip, bzip2,
//! brotli and snappy come from other implementations here, so only the decompressed bytes are
//! guaranteed identical (spec README, choice 1). Our gzip header has mtime 0 (the reference
//! writes the wall-clock time), so our output is reproducible.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use crate::error::{Error, Result};

/// A compression family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// Brotli (`br`, levels 0–11, default 11).
    Brotli,
    /// bzip2 (`bz2`, levels 1–9, default 9).
    Bzip2,
    /// gzip (`gz`, levels 0–9, default 9).
    Gzip,
    /// Raw Snappy block format (`snappy`, no levels).
    Snappy,
    /// Zstandard (`zstd`, levels 1–22, default 3).
    Zstd,
}

impl Codec {
    /// The family name, which is also the file extension.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Brotli => "br",
            Codec::Bzip2 => "bz2",
            Codec::Gzip => "gz",
            Codec::Snappy => "snappy",
            Codec::Zstd => "zstd",
        }
    }

    /// Accepted levels (inclusive) and the default one; `None` for snappy.
    fn levels(self) -> Option<(i32, i32, i32)> {
        match self {
            Codec::Brotli => Some((0, 11, 11)),
            Codec::Bzip2 => Some((1, 9, 9)),
            Codec::Gzip => Some((0, 9, 9)),
            Codec::Snappy => None,
            Codec::Zstd => Some((1, 22, 3)),
        }
    }
}

/// A parsed compression spec: a codec and its level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Compression {
    codec: Codec,
    level: Option<i32>,
    spec: String,
}

impl Compression {
    /// The codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The level used (the family's default when the spec names none); `None` for snappy.
    pub fn level(&self) -> Option<i32> {
        self.level
            .or_else(|| self.codec.levels().map(|(_, _, d)| d))
    }

    /// The spec as written (`zstd`, `zstd:7`): what index.json stores in `compression`.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The file extension (the family name).
    pub fn extension(&self) -> &'static str {
        self.codec.name()
    }

    /// Compresses a whole file.
    pub fn compress(&self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let level = self.level();
        match self.codec {
            Codec::Zstd => zstd::bulk::compress(data, level.unwrap_or(3)),
            Codec::Gzip => {
                let lvl = u32::try_from(level.unwrap_or(9)).unwrap_or(9);
                let mut enc = flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(255)
                    .write(
                        Vec::with_capacity(data.len() / 2),
                        flate2::Compression::new(lvl),
                    );
                enc.write_all(data)?;
                enc.finish()
            }
            Codec::Bzip2 => {
                let lvl = u32::try_from(level.unwrap_or(9)).unwrap_or(9);
                let mut enc =
                    bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(lvl));
                enc.write_all(data)?;
                enc.finish()
            }
            Codec::Brotli => {
                let q = u32::try_from(level.unwrap_or(11)).unwrap_or(11);
                let mut out = Vec::new();
                {
                    let mut enc = brotli::CompressorWriter::new(&mut out, 1 << 16, q, 22);
                    enc.write_all(data)?;
                    enc.flush()?;
                }
                Ok(out)
            }
            Codec::Snappy => snap::raw::Encoder::new()
                .compress_vec(data)
                .map_err(std::io::Error::other),
        }
    }

    /// A reader that yields the decompressed bytes of `input`, failing with
    /// [`std::io::ErrorKind::InvalidData`] once the output would exceed `max_len` bytes (the raw
    /// size index.json records), so a hostile file cannot exhaust memory or disk. Streaming
    /// for every codec but snappy, whose raw block format has no streaming decoder: its input
    /// is read whole (and its declared length checked against `max_len` first). Concatenated
    /// zstd, gzip and bzip2 members are read as one stream, as Python's modules do.
    ///
    /// # Errors
    /// Only snappy can fail here (reading `input`, or a length over `max_len`); the other
    /// codecs report errors from the returned reader.
    pub fn decoder<'a>(
        &self,
        input: impl Read + 'a,
        max_len: u64,
    ) -> std::io::Result<Box<dyn Read + 'a>> {
        let inner: Box<dyn Read + 'a> = match self.codec {
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
            Codec::Brotli => Box::new(brotli::Decompressor::new(input, 1 << 16)),
            Codec::Snappy => {
                let mut data = Vec::new();
                { input }.read_to_end(&mut data)?;
                let n = snap::raw::decompress_len(&data).map_err(std::io::Error::other)?;
                if u64::try_from(n).unwrap_or(u64::MAX) > max_len {
                    return Err(too_long(max_len));
                }
                let out = snap::raw::Decoder::new()
                    .decompress_vec(&data)
                    .map_err(std::io::Error::other)?;
                Box::new(std::io::Cursor::new(out))
            }
        };
        Ok(Box::new(Limited {
            inner,
            left: max_len,
            max_len,
        }))
    }

    /// Decompresses a whole file named `file` (for errors), refusing output longer than
    /// `max_len` bytes (the raw size index.json records), so a hostile file cannot exhaust
    /// memory.
    ///
    /// # Errors
    /// [`Error::Decompress`] naming `file` and the codec.
    pub fn decompress(&self, file: &str, data: &[u8], max_len: u64) -> Result<Vec<u8>> {
        let err = |source: std::io::Error| Error::Decompress {
            file: file.to_owned(),
            algorithm: self.codec.name(),
            source,
        };
        let cap = usize::try_from(max_len.min(1 << 30)).unwrap_or(0);
        let mut out = Vec::with_capacity(cap);
        self.decoder(data, max_len)
            .and_then(|mut d| d.read_to_end(&mut out))
            .map_err(err)?;
        Ok(out)
    }
}

/// Passes bytes through until more than `max_len` would come out, then fails.
struct Limited<'a> {
    inner: Box<dyn Read + 'a>,
    left: u64,
    max_len: u64,
}

impl Read for Limited<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // One probe byte tells "exactly max_len" from "more than max_len".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(too_long(self.max_len)),
            };
        }
        let want = usize::try_from(self.left).map_or(buf.len(), |l| l.min(buf.len()));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn too_long(max_len: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("decompresses to more than the {max_len} bytes recorded in index.json"),
    )
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

impl FromStr for Compression {
    type Err = Error;

    /// Parses `family` or `family:level` with exactly the reference's accepted levels.
    fn from_str(spec: &str) -> Result<Self> {
        let invalid = || Error::InvalidCompression {
            spec: spec.to_owned(),
        };
        let (family, level) = match spec.split_once(':') {
            Some((f, l)) => (f, Some(l)),
            None => (spec, None),
        };
        let codec = [
            Codec::Brotli,
            Codec::Bzip2,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Zstd,
        ]
        .into_iter()
        .find(|c| c.name() == family)
        .ok_or_else(invalid)?;
        let level = match (level, codec.levels()) {
            (None, _) => None,
            (Some(_), None) => return Err(invalid()),
            (Some(text), Some((lo, hi, _))) => {
                // The reference accepts exactly the strings `family:<n>` for n in range, so no
                // sign, no leading zeros, no spaces.
                let n: i32 = text.parse().map_err(|_| invalid())?;
                if n < lo || n > hi || n.to_string() != text {
                    return Err(invalid());
                }
                Some(n)
            }
        };
        Ok(Compression {
            codec,
            level,
            spec: spec.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        for ok in [
            "zstd", "zstd:1", "zstd:22", "gz:0", "br:11", "bz2:1", "snappy",
        ] {
            assert_eq!(ok.parse::<Compression>().unwrap().spec(), ok);
        }
        for bad in [
            "zstd:0", "zstd:-1", "gz:10", "snappy:1", "lz4", "zstd:03", "zstd:", "",
        ] {
            assert!(bad.parse::<Compression>().is_err(), "{bad}");
        }
        assert_eq!("zstd:7".parse::<Compression>().unwrap().extension(), "zstd");
    }

    #[test]
    fn round_trips_and_limits() {
        let data: Vec<u8> = (0..10_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for spec in ["zstd", "gz", "bz2", "br:5", "snappy"] {
            let c: Compression = spec.parse().unwrap();
            let z = c.compress(&data).unwrap();
            let len = u64::try_from(data.len()).unwrap();
            assert_eq!(c.decompress("f", &z, len).unwrap(), data, "{spec}");
            assert!(c.decompress("f", &z, len - 1).is_err(), "{spec}");
            assert!(c.decompress("f", &z[..z.len() / 2], len).is_err(), "{spec}");
        }
    }
}
