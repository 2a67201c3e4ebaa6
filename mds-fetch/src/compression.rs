//! Streaming decompression of downloaded shards (spec §6): `br`, `bz2`, `gz`, `snappy`, `zstd`,
//! each optionally written `family:level` as in index.json.
//!
//! FIXME: share with `mds_format`'s compression module once it lands (written in parallel).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// The compression families the reference writes.
pub const FAMILIES: &[&str] = &["br", "bz2", "gz", "snappy", "zstd"];

/// The family of a compression spec (`"zstd:7"` → `"zstd"`), if known.
pub fn family(compression: &str) -> Result<&'static str> {
    let fam = compression.split(':').next().unwrap_or_default();
    FAMILIES
        .iter()
        .find(|f| **f == fam)
        .copied()
        .ok_or_else(|| Error::UnknownCompression {
            compression: compression.to_string(),
        })
}

/// Decompresses file `src` (compressed with `compression`, e.g. `"zstd"` or `"zstd:7"`) into a
/// new file `dest`, fsyncs it and returns its length in bytes. Blocking: call it from
/// `spawn_blocking` (or use [`decompress_file_async`]). Concatenated zstd/gzip/bzip2 members
/// are accepted. Snappy uses the raw block format, as the reference does.
pub fn decompress_file(compression: &str, src: &Path, dest: &Path) -> Result<u64> {
    let fam = family(compression)?;
    let input = File::open(src).map_err(|e| Error::io(src, e))?;
    let output = File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut writer = BufWriter::with_capacity(1 << 20, output);
    let bad = |source: std::io::Error| Error::Decompress {
        path: src.to_path_buf(),
        compression: fam.to_string(),
        source,
    };
    // io errors from the writer side are reported against dest, decoder errors against src
    let n = match fam {
        "zstd" => {
            let mut d = zstd::stream::read::Decoder::with_buffer(reader).map_err(bad)?;
            copy(&mut d, &mut writer, src, dest, fam)?
        }
        "gz" => copy(
            &mut flate2::bufread::MultiGzDecoder::new(reader),
            &mut writer,
            src,
            dest,
            fam,
        )?,
        "bz2" => copy(
            &mut bzip2::bufread::MultiBzDecoder::new(reader),
            &mut writer,
            src,
            dest,
            fam,
        )?,
        "br" => copy(
            &mut brotli::Decompressor::new(reader, 1 << 16),
            &mut writer,
            src,
            dest,
            fam,
        )?,
        _ => {
            // "snappy": the raw block format has no streaming reader
            let mut data = Vec::new();
            reader
                .read_to_end(&mut data)
                .map_err(|e| Error::io(src, e))?;
            let out = snap::raw::Decoder::new()
                .decompress_vec(&data)
                .map_err(|e| bad(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
            writer.write_all(&out).map_err(|e| Error::io(dest, e))?;
            out.len() as u64
        }
    };
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(dest, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(dest, e))?;
    Ok(n)
}

/// [`decompress_file`] on tokio's blocking pool.
pub async fn decompress_file_async(compression: &str, src: &Path, dest: &Path) -> Result<u64> {
    let (c, s, d) = (
        compression.to_string(),
        src.to_path_buf(),
        dest.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || decompress_file(&c, &s, &d))
        .await
        .map_err(|e| Error::Task {
            url: src.display().to_string(),
            source: Box::new(e),
        })?
}

/// Copies decoder output to the writer, telling decode errors (src) from write errors (dest).
fn copy(r: &mut dyn Read, w: &mut dyn Write, src: &Path, dest: &Path, fam: &str) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::Decompress {
                    path: src.to_path_buf(),
                    compression: fam.to_string(),
                    source: e,
                });
            }
        };
        w.write_all(&buf[..n]).map_err(|e| Error::io(dest, e))?;
        total += n as u64;
    }
}
