//! Decompression of downloaded shards into files (spec §6), on `mds_format`'s codecs.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::str::FromStr;

use mds_format::compression::Compression;

use crate::error::{Error, Result};

/// Parses a compression spec as index.json writes it (`zstd`, `zstd:7`), or
/// [`Error::UnknownCompression`].
pub fn parse(compression: &str) -> Result<Compression> {
    Compression::from_str(compression).map_err(|_| Error::UnknownCompression {
        compression: compression.to_string(),
    })
}

/// Decompresses file `src` (compressed with `compression`, e.g. `"zstd"` or `"zstd:7"`) into a
/// new file `dest`, refusing more than `max_len` output bytes, fsyncs it and returns its length
/// in bytes. Blocking: call it from `spawn_blocking` (or use [`decompress_file_async`]).
///
/// # Errors
/// [`Error::UnknownCompression`]; [`Error::Decompress`] naming `src` for bad input;
/// [`Error::Io`] naming the file for reading or writing failures.
pub fn decompress_file(compression: &str, src: &Path, dest: &Path, max_len: u64) -> Result<u64> {
    let codec = parse(compression)?;
    let bad = |source: std::io::Error| Error::Decompress {
        path: src.to_path_buf(),
        compression: codec.codec().name().to_string(),
        source,
    };
    let input = File::open(src).map_err(|e| Error::io(src, e))?;
    let output = File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut reader = codec
        .decoder(BufReader::with_capacity(1 << 20, input), max_len)
        .map_err(bad)?;
    let mut writer = BufWriter::with_capacity(1 << 20, output);
    // Decoder errors are the input's fault (src), write errors the disk's (dest).
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(bad(e)),
        };
        writer
            .write_all(&buf[..n])
            .map_err(|e| Error::io(dest, e))?;
        total += n as u64;
    }
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(dest, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(dest, e))?;
    Ok(total)
}

/// [`decompress_file`] on tokio's blocking pool.
///
/// # Errors
/// As [`decompress_file`], and [`Error::Task`] if the blocking task is lost.
pub async fn decompress_file_async(
    compression: &str,
    src: &Path,
    dest: &Path,
    max_len: u64,
) -> Result<u64> {
    let (c, s, d) = (
        compression.to_string(),
        src.to_path_buf(),
        dest.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || decompress_file(&c, &s, &d, max_len))
        .await
        .map_err(|e| Error::Task {
            url: src.display().to_string(),
            source: Box::new(e),
        })?
}
