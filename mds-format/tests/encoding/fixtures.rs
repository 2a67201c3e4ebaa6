//! Every column value of the reference fixture decodes to the value in `expected.json`, and
//! encoding that value gives the stored bytes back, byte for byte.

use std::path::PathBuf;

use bytes::Bytes;
use mds_format::encoding::{ColumnEncoding, Value, decode, encode, to_json};
use serde_json::Value as Json;

fn expected() -> Json {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/reference/all_encodings_1shard/expected.json",
    ]
    .iter()
    .collect();
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap()
}

/// The raw samples of an 8-bit PNG, as PIL's `tobytes()` gives them for its mode.
fn png_pixels(file: &[u8]) -> Vec<u8> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(file));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    buf
}

/// The parts of a rendered image that a decoder-free reader can check against PIL's view.
fn image_matches(got: &Json, want: &Json, raw_hex: &str, ctx: &str) {
    match want["format"].as_str() {
        // `pil` stores the pixels: the whole representation matches.
        None => assert_eq!(got, want, "{ctx}"),
        Some(format) => {
            assert_eq!(got["format"], format, "{ctx}");
            assert_eq!(got["hex"].as_str(), Some(raw_hex), "{ctx}");
            assert_eq!(got["size"], want["size"], "{ctx}: size");
            assert_eq!(got["mode"], want["mode"], "{ctx}: mode");
            // PNG is lossless: the stored file decodes to PIL's pixels exactly (JPEG decoders
            // may differ by small amounts, so JPEG pixels are not compared).
            if format == "PNG" {
                let pixels = png_pixels(&hex::decode(raw_hex).unwrap());
                assert_eq!(
                    Some(hex::encode(pixels).as_str()),
                    want["pixels_hex"].as_str(),
                    "{ctx}: pixels"
                );
            }
        }
    }
}

#[test]
fn fixture_values_decode_and_reencode_exactly() {
    let expected = expected();
    let columns = expected["columns"].as_object().unwrap();
    let samples = expected["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 1000);
    let mut checked = 0usize;
    for (i, sample) in samples.iter().enumerate() {
        for (name, enc) in columns {
            let enc_name = enc.as_str().unwrap();
            let encoding: ColumnEncoding = enc_name.parse().unwrap();
            assert_eq!(encoding.to_string(), enc_name);
            let raw_hex = sample["raw"][name].as_str().unwrap();
            let raw = hex::decode(raw_hex).unwrap();
            let ctx = format!("sample {i} column {name} ({enc_name})");
            if let Some(size) = encoding.fixed_size() {
                assert_eq!(raw.len(), size, "{ctx}");
            }
            let value = decode(&encoding, Bytes::from(raw.clone()))
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let reencoded = encode(&encoding, &value).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert!(reencoded == raw, "{ctx}: re-encoding differs");

            let got = to_json(&value);
            let want = &sample["value"][name];
            match &encoding {
                // The fixture shows the unpickled object; Rust keeps the pickle bytes.
                ColumnEncoding::Pkl => assert_eq!(got["hex"].as_str(), Some(raw_hex), "{ctx}"),
                ColumnEncoding::Png | ColumnEncoding::Jpeg | ColumnEncoding::Pil => {
                    image_matches(&got, want, raw_hex, &ctx);
                }
                ColumnEncoding::ListPng
                | ColumnEncoding::ListJpeg
                | ColumnEncoding::ListPil
                | ColumnEncoding::JpegArray => {
                    let (Value::List(items), Some(got_items), Some(want_items)) =
                        (&value, got.as_array(), want.as_array())
                    else {
                        panic!("{ctx}: not a list");
                    };
                    assert_eq!(got_items.len(), want_items.len(), "{ctx}");
                    for ((item, g), w) in items.iter().zip(got_items).zip(want_items) {
                        let Value::Image { bytes, .. } = item else {
                            panic!("{ctx}: element is not an image");
                        };
                        image_matches(g, w, &hex::encode(bytes), &ctx);
                    }
                }
                _ => assert_eq!(&got, want, "{ctx}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 1000 * columns.len());
}
