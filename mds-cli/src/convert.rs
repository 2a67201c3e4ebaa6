//! `mds convert`: turn a JSON-lines, CSV or Parquet file into an MDS dataset.
//!
//! Each input value is converted to the column's [`ColumnEncoding`]. JSON input may use the
//! representation `mds cat` prints (bytes as `{"hex"}`, floats as `{"f", "hex"}`, ndarrays as
//! `{"dtype", "shape", "values"}`, images as `{"hex"}` or `{"mode", "size", "pixels_hex"}`), so
//! `mds cat DIR > x.jsonl; mds convert --from jsonl x.jsonl ...` rebuilds the same shards.
//! CSV fields are text: numbers are parsed, `json` fields hold JSON text, and fields of binary or
//! structured encodings hold the JSON representation. Parquet columns map by type: strings,
//! binaries, integers, floats (kept at their width), booleans and (nested) lists for ndarrays.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use half::f16;
use mds_format::MdsWriter;
use mds_format::encoding::{
    ColumnEncoding, DType, ImageFormat, Text, Value, float_repr, push_python_json_string,
};
use serde_json::Value as Json;
use serde_json::value::RawValue;

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// An Apache Parquet file.
    Parquet,
}

/// Arguments of `mds convert`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The input format.
    #[arg(long, value_enum)]
    from: InputFormat,
    /// The input file; `-` reads JSON lines or CSV from standard input.
    input: PathBuf,
    /// The output directory (must be empty or missing).
    #[arg(long)]
    out: PathBuf,
    /// The columns to write: `name:encoding` pairs separated by commas, e.g.
    /// `id:int,text:str,emb:ndarray:float32:2,3`.
    #[arg(long, required = true)]
    columns: String,
    /// Shard compression: zstd, zstd:LEVEL, gz, bz2, br, snappy.
    #[arg(long)]
    compression: Option<String>,
    /// Hash algorithms to record, comma-separated and sorted (e.g. sha1,xxh64).
    #[arg(long, value_delimiter = ',')]
    hashes: Vec<String>,
    /// Shard size limit (bytes, or with a unit: 64MiB, 100kb); 0 for one shard.
    #[arg(long, default_value = "64MiB")]
    size_limit: String,
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's `run` takes its `Args` by value
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let columns = parse_columns(&args.columns)?;
    let size_limit = mds_format::writer::parse_size(&args.size_limit)
        .with_context(|| format!("--size-limit {:?}", args.size_limit))?;
    let hashes: Vec<&str> = args.hashes.iter().map(String::as_str).collect();
    let options = Options {
        compression: args.compression.as_deref(),
        hashes: &hashes,
        size_limit,
    };
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_message(format!("converting {}", args.input.display()));
    let written = convert(
        args.from,
        &args.input,
        &args.out,
        &columns,
        &options,
        &mut |n| {
            if n % 1024 == 0 {
                progress.set_position(n);
            }
        },
    )?;
    progress.finish_and_clear();
    eprintln!(
        "mds: wrote {} samples in {} shards to {}",
        written.0,
        written.1,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writer settings.
#[derive(Debug)]
struct Options<'a> {
    compression: Option<&'a str>,
    hashes: &'a [&'a str],
    size_limit: u64,
}

/// Parses `name:encoding,…`. An encoding may hold commas itself (`ndarray:int16:3,4`): a piece
/// without a `:` continues the previous column's shape.
fn parse_columns(text: &str) -> anyhow::Result<Vec<(String, ColumnEncoding)>> {
    let mut specs: Vec<String> = Vec::new();
    for piece in text.split(',') {
        let continues = !piece.contains(':') && !piece.is_empty();
        match specs.last_mut() {
            Some(last) if continues && piece.bytes().all(|b| b.is_ascii_digit()) => {
                last.push(',');
                last.push_str(piece);
            }
            _ => specs.push(piece.to_owned()),
        }
    }
    let mut columns = Vec::with_capacity(specs.len());
    for spec in specs {
        let (name, encoding) = spec
            .split_once(':')
            .filter(|(n, e)| !n.is_empty() && !e.is_empty())
            .ok_or_else(|| anyhow!("--columns: {spec:?} is not NAME:ENCODING"))?;
        let encoding: ColumnEncoding = encoding
            .parse()
            .with_context(|| format!("--columns: column {name:?}"))?;
        if columns.iter().any(|(n, _)| n == name) {
            bail!("--columns: column {name:?} is given twice");
        }
        columns.push((name.to_owned(), encoding));
    }
    if columns.is_empty() {
        bail!("--columns: no columns");
    }
    Ok(columns)
}

/// Converts `input` and returns (samples, shards) written.
fn convert(
    from: InputFormat,
    input: &Path,
    out: &Path,
    columns: &[(String, ColumnEncoding)],
    options: &Options<'_>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<(u64, usize)> {
    let specs: Vec<(String, String)> = columns
        .iter()
        .map(|(n, e)| (n.clone(), e.to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = specs
        .iter()
        .map(|(n, e)| (n.as_str(), e.as_str()))
        .collect();
    let mut writer = MdsWriter::builder(out)
        .with_columns(&pairs)
        .with_compression(options.compression)
        .with_hashes(options.hashes)
        .with_size_limit(Some(options.size_limit))
        .build_mds()
        .with_context(|| format!("cannot write a dataset to {}", out.display()))?;
    // The writer takes values in its (sorted) column order.
    let order: Vec<usize> = writer
        .columns()
        .names()
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| anyhow!("the writer has an unknown column {name:?}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut row = 0u64;
    let mut sink = |at: &dyn Fn() -> String,
                    cells: &mut dyn FnMut(&str) -> anyhow::Result<Cell>|
     -> anyhow::Result<()> {
        let mut values = Vec::with_capacity(order.len());
        for &k in &order {
            let (name, encoding) = &columns[k];
            let cell = cells(name).with_context(at)?;
            let value = to_value(encoding, cell)
                .with_context(|| format!("{}, column {name:?} ({encoding})", at()))?;
            values.push(value);
        }
        writer.write(&values).with_context(at)?;
        row += 1;
        progress(row);
        Ok(())
    };
    let stdin = input == Path::new("-");
    let open = || -> anyhow::Result<Box<dyn std::io::Read>> {
        if stdin {
            return Ok(Box::new(std::io::stdin().lock()));
        }
        let file = File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
        Ok(Box::new(file))
    };
    match from {
        InputFormat::Jsonl => read_jsonl(BufReader::new(open()?), &mut sink)?,
        InputFormat::Csv => read_csv(open()?, (!stdin).then_some(input), &mut sink)?,
        InputFormat::Parquet if stdin => bail!("Parquet input must be a file, not `-`"),
        InputFormat::Parquet => read_parquet(
            File::open(input).with_context(|| format!("cannot open {}", input.display()))?,
            &mut sink,
        )?,
    }
    let index = writer.finish().context("cannot finish the dataset")?;
    Ok((row, index.shards.len()))
}

/// Hands each row to `sink` as where it is in the input (`line 3`, `row 7`: 1-based, as
/// editors and tools count) and a lookup from column name to cell.
type Sink<'a> = dyn FnMut(&dyn Fn() -> String, &mut dyn FnMut(&str) -> anyhow::Result<Cell>) -> anyhow::Result<()>
    + 'a;

/// One input value before conversion.
#[derive(Debug)]
enum Cell {
    /// JSON text (a JSON-lines field), kept raw so integers of any size stay exact.
    Raw(String),
    /// A parsed JSON value (Parquet scalars and lists).
    Json(Json),
    /// A CSV field.
    Text(String),
    /// Parquet binary.
    Bytes(Vec<u8>),
    /// Parquet float32 (kept at its width).
    F32(f32),
    /// Parquet float16.
    F16(f16),
}

fn read_jsonl(input: impl BufRead, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("line {}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields: std::collections::HashMap<String, Box<RawValue>> =
            serde_json::from_str(&line)
                .with_context(|| format!("line {}: not a JSON object", i + 1))?;
        sink(&|| format!("line {}", i + 1), &mut |name| {
            fields
                .remove(name)
                .map(|raw| Cell::Raw(raw.get().to_owned()))
                .ok_or_else(|| anyhow!("no field {name:?}"))
        })?;
    }
    Ok(())
}

/// `path`: the input file, to find a bad record's line exactly (`None` for stdin).
fn read_csv(
    input: Box<dyn std::io::Read>,
    path: Option<&Path>,
    sink: &mut Sink<'_>,
) -> anyhow::Result<()> {
    let mut reader = csv::Reader::from_reader(input);
    let headers = reader
        .headers()
        .context("cannot read the CSV header")?
        .clone();
    for (i, record) in reader.records().enumerate() {
        // The csv error names the record, line and byte.
        let record = record.context("cannot read the CSV input")?;
        let pos = record.position().cloned();
        let at = || match &pos {
            Some(p) => format!("line {}", record_line(p, path)),
            None => format!("CSV record {}", i + 1),
        };
        sink(&at, &mut |name| {
            let k = headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| anyhow!("the CSV header has no column {name:?}"))?;
            record
                .get(k)
                .map(|f| Cell::Text(f.to_owned()))
                .ok_or_else(|| anyhow!("no field {k} (column {name:?})"))
        })?;
    }
    Ok(())
}

/// The 1-based line a CSV record starts on. The csv crate's position counts from the blank
/// lines it skipped before the record; in a file (not stdin) those are skipped here too. Only
/// errors call this, so reading the file again costs nothing in a good run.
fn record_line(pos: &csv::Position, path: Option<&Path>) -> u64 {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut line = pos.line();
    let Some(mut file) = path.and_then(|p| File::open(p).ok()) else {
        return line;
    };
    if file.seek(SeekFrom::Start(pos.byte())).is_err() {
        return line;
    }
    for byte in BufReader::new(file).bytes() {
        match byte {
            Ok(b'\n') => line += 1,
            Ok(b'\r') => {}
            _ => break,
        }
    }
    line
}

fn read_parquet(input: File, sink: &mut Sink<'_>) -> anyhow::Result<()> {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(input)
        .context("not a Parquet file")?
        .build()
        .context("cannot read the Parquet file")?;
    let mut before = 0u64;
    for batch in reader {
        let batch = batch.context("cannot read a Parquet row group")?;
        for r in 0..batch.num_rows() {
            let row = before + r as u64 + 1;
            sink(&|| format!("row {row}"), &mut |name| {
                let array = batch
                    .column_by_name(name)
                    .ok_or_else(|| anyhow!("the Parquet file has no column {name:?}"))?;
                arrow_cell(array.as_ref(), r)
            })?;
        }
        before += batch.num_rows() as u64;
    }
    Ok(())
}

/// The value at `row` of an Arrow array.
fn arrow_cell(array: &dyn arrow::array::Array, row: usize) -> anyhow::Result<Cell> {
    use arrow::array::AsArray;
    use arrow::datatypes::{
        DataType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
        UInt8Type, UInt16Type, UInt32Type, UInt64Type,
    };
    if array.is_null(row) {
        return Ok(Cell::Json(Json::Null));
    }
    let json = |v: Json| Ok(Cell::Json(v));
    match array.data_type() {
        DataType::Utf8 => json(Json::from(array.as_string::<i32>().value(row))),
        DataType::LargeUtf8 => json(Json::from(array.as_string::<i64>().value(row))),
        DataType::Utf8View => json(Json::from(array.as_string_view().value(row))),
        DataType::Binary => Ok(Cell::Bytes(array.as_binary::<i32>().value(row).to_vec())),
        DataType::LargeBinary => Ok(Cell::Bytes(array.as_binary::<i64>().value(row).to_vec())),
        DataType::BinaryView => Ok(Cell::Bytes(array.as_binary_view().value(row).to_vec())),
        DataType::FixedSizeBinary(_) => Ok(Cell::Bytes(
            array.as_fixed_size_binary().value(row).to_vec(),
        )),
        DataType::Boolean => json(Json::from(array.as_boolean().value(row))),
        DataType::Int8 => json(Json::from(array.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => json(Json::from(array.as_primitive::<Int16Type>().value(row))),
        DataType::Int32 => json(Json::from(array.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => json(Json::from(array.as_primitive::<Int64Type>().value(row))),
        DataType::UInt8 => json(Json::from(array.as_primitive::<UInt8Type>().value(row))),
        DataType::UInt16 => json(Json::from(array.as_primitive::<UInt16Type>().value(row))),
        DataType::UInt32 => json(Json::from(array.as_primitive::<UInt32Type>().value(row))),
        DataType::UInt64 => json(Json::from(array.as_primitive::<UInt64Type>().value(row))),
        DataType::Float16 => Ok(Cell::F16(array.as_primitive::<Float16Type>().value(row))),
        DataType::Float32 => Ok(Cell::F32(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => Ok(float_cell(array.as_primitive::<Float64Type>().value(row))),
        DataType::List(_) => list_cell(array.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list_cell(array.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(..) => list_cell(array.as_fixed_size_list().value(row).as_ref()),
        other => bail!("unsupported Parquet/Arrow type {other}"),
    }
}

/// A float64 as JSON (non-finite values as `"nan"`, `"inf"`, `"-inf"`, as `mds cat` writes).
fn float_cell(f: f64) -> Cell {
    Cell::Json(float_json(f))
}

fn float_json(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or_else(
        || {
            Json::from(if f.is_nan() {
                "nan"
            } else if f > 0.0 {
                "inf"
            } else {
                "-inf"
            })
        },
        Json::Number,
    )
}

/// A list as a JSON array (elements converted like scalars; binaries as `{"hex"}`).
fn list_cell(values: &dyn arrow::array::Array) -> anyhow::Result<Cell> {
    let mut items = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        items.push(match arrow_cell(values, i)? {
            Cell::Json(v) => v,
            Cell::Bytes(b) => serde_json::json!({ "hex": hex::encode(b) }),
            Cell::F32(f) => float_json(f64::from(f)),
            Cell::F16(f) => float_json(f64::from(f)),
            Cell::Raw(_) | Cell::Text(_) => bail!("unexpected list element"),
        });
    }
    Ok(Cell::Json(Json::Array(items)))
}

/// Converts one input cell to the column's value.
fn to_value(encoding: &ColumnEncoding, cell: Cell) -> anyhow::Result<Value> {
    // Exact big integers: take the digits of raw JSON / CSV text as they are.
    if *encoding == ColumnEncoding::StrInt
        && let Cell::Raw(text) | Cell::Text(text) = &cell
        && let Some(v) = big_int(text.trim())
    {
        return Ok(v);
    }
    // JSON text for a `json` column: reformat it as Python would, integers exact.
    if *encoding == ColumnEncoding::Json
        && let Cell::Raw(text) | Cell::Text(text) = &cell
    {
        let mut out = String::with_capacity(text.len());
        python_json(text, &mut out).context("bad JSON")?;
        return Ok(Value::Json(Text::from(out)));
    }
    match cell {
        Cell::Raw(text) => {
            let json: Json = serde_json::from_str(&text).context("bad JSON")?;
            from_json(encoding, &json)
        }
        Cell::Json(json) => from_json(encoding, &json),
        Cell::Text(text) => from_text(encoding, text),
        Cell::Bytes(b) => match encoding {
            ColumnEncoding::Pkl => Ok(Value::Pickle(Bytes::from(b))),
            ColumnEncoding::Png | ColumnEncoding::Jpeg => Ok(Value::Image {
                format: encoding.image_format().unwrap_or(ImageFormat::Png),
                bytes: Bytes::from(b),
            }),
            // Binary data is stored verbatim whatever the encoding (pre-encoded values).
            _ => Ok(Value::Bytes(Bytes::from(b))),
        },
        Cell::F32(f) => match encoding {
            ColumnEncoding::Float32 => Ok(Value::Float32(f)),
            _ => from_json(encoding, &float_json(f64::from(f))),
        },
        Cell::F16(f) => match encoding {
            ColumnEncoding::Float16 => Ok(Value::Float16(f)),
            _ => from_json(encoding, &float_json(f64::from(f))),
        },
    }
}

/// Appends Python's `json.dumps(json.loads(text))` for standard JSON `text`: `", "` and `": "`
/// separators, ASCII escapes, floats as `repr`, and integers of any size kept exactly (which a
/// `serde_json::Value` cannot do).
fn python_json(text: &str, out: &mut String) -> anyhow::Result<()> {
    let t = text.trim();
    match t.as_bytes().first() {
        Some(b'{') => {
            // Python keeps a repeated key at its first position with its last value, as
            // IndexMap::insert does.
            let map: indexmap::IndexMap<String, &RawValue> = serde_json::from_str(t)?;
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_python_json_string(out, key);
                out.push_str(": ");
                python_json(value.get(), out)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(t)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                python_json(item.get(), out)?;
            }
            out.push(']');
        }
        Some(b'"') => python_json_string(t, out)?,
        _ => {
            // Validates the literal (true, false, null or a number).
            serde_json::from_str::<&RawValue>(t)?;
            if matches!(t, "true" | "false" | "null") {
                out.push_str(t);
            } else if t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                let f: f64 = t.parse()?;
                if f.is_infinite() {
                    out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    out.push_str(&float_repr(f));
                }
            } else if t == "-0" {
                out.push('0');
            } else {
                out.push_str(t);
            }
        }
    }
    Ok(())
}

/// Rewrites one JSON string literal as Python's `json.dumps` writes it, working on the escapes
/// so that lone surrogates (`"\ud800"`, which Python strings can hold) survive.
fn python_json_string(token: &str, out: &mut String) -> anyhow::Result<()> {
    // Validates the literal (quotes, escapes, no raw control characters).
    serde_json::from_str::<&RawValue>(token)?;
    let body = &token[1..token.len() - 1];
    out.push('"');
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            push_python_json_string_body(out, c.encode_utf8(&mut buf));
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = u16::from_str_radix(&hex, 16)?;
                match char::from_u32(u32::from(unit)) {
                    // A surrogate half stays an escape, as Python writes it.
                    None => {
                        let _ = write!(out, "\\u{unit:04x}");
                    }
                    Some(ch) => push_python_json_string_body(out, ch.encode_utf8(&mut [0u8; 4])),
                }
            }
            Some('/') => out.push('/'),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => bail!("unterminated escape"),
        }
    }
    out.push('"');
    Ok(())
}

/// Appends the escaped form of `s` without the surrounding quotes.
fn push_python_json_string_body(out: &mut String, s: &str) {
    let mut quoted = String::with_capacity(s.len() + 8);
    push_python_json_string(&mut quoted, s);
    out.push_str(&quoted[1..quoted.len() - 1]);
}

/// An integer literal as a value, exact at any size.
fn big_int(text: &str) -> Option<Value> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match text.parse::<i64>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::BigInt(Text::from(text)),
    })
}

/// A CSV field: text for text-like encodings, a number for numeric ones, else JSON text.
fn from_text(encoding: &ColumnEncoding, text: String) -> anyhow::Result<Value> {
    match encoding {
        ColumnEncoding::Str => Ok(Value::Str(Text::from(text))),
        ColumnEncoding::StrDecimal => Ok(Value::Decimal(Text::from(text))),
        ColumnEncoding::Bytes => Ok(Value::Bytes(Bytes::from(text.into_bytes()))),
        ColumnEncoding::Json => {
            let json: Json = serde_json::from_str(&text).context("bad JSON")?;
            Ok(Value::json(&json))
        }
        ColumnEncoding::Int
        | ColumnEncoding::Int8
        | ColumnEncoding::Int16
        | ColumnEncoding::Int32
        | ColumnEncoding::Int64
        | ColumnEncoding::UInt8
        | ColumnEncoding::UInt16
        | ColumnEncoding::UInt32
        | ColumnEncoding::UInt64
        | ColumnEncoding::StrInt => {
            let t = text.trim();
            let json = if let Ok(i) = t.parse::<i64>() {
                Json::from(i)
            } else if let Ok(u) = t.parse::<u64>() {
                Json::from(u)
            } else {
                bail!("{t:?} is not an integer")
            };
            from_json(encoding, &json)
        }
        ColumnEncoding::Float16
        | ColumnEncoding::Float32
        | ColumnEncoding::Float64
        | ColumnEncoding::StrFloat => {
            let t = text.trim();
            let f: f64 = t.parse().map_err(|_| anyhow!("{t:?} is not a number"))?;
            from_json(encoding, &float_json(f))
        }
        _ => {
            let json: Json = serde_json::from_str(&text)
                .context("expected the JSON representation `mds cat` prints")?;
            from_json(encoding, &json)
        }
    }
}

fn float_of(json: &Json) -> Option<f64> {
    match json {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "nan" | "NaN" => Some(f64::NAN),
            "inf" | "Infinity" => Some(f64::INFINITY),
            "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// `{"hex": ...}` decoded.
fn hex_field(json: &Json, key: &str) -> Option<anyhow::Result<Vec<u8>>> {
    let text = json.get(key)?.as_str()?;
    Some(hex::decode(text).with_context(|| format!("{key:?} is not hex")))
}

/// Converts a JSON value (possibly in `mds cat`'s representation) to the column's value.
#[allow(clippy::too_many_lines)] // one arm per encoding family
fn from_json(encoding: &ColumnEncoding, json: &Json) -> anyhow::Result<Value> {
    if json.is_null() && *encoding != ColumnEncoding::Json {
        bail!("missing value (MDS columns have no nulls)");
    }
    let want = |what: &str| anyhow!("expected {what}, got {json}");
    Ok(match encoding {
        ColumnEncoding::Bytes => match json {
            Json::String(s) => Value::Bytes(Bytes::from(s.clone().into_bytes())),
            _ => Value::Bytes(Bytes::from(
                hex_field(json, "hex").ok_or_else(|| want("a string or {\"hex\"}"))??,
            )),
        },
        ColumnEncoding::Str => {
            Value::Str(Text::from(json.as_str().ok_or_else(|| want("a string"))?))
        }
        ColumnEncoding::Int
        | ColumnEncoding::Int8
        | ColumnEncoding::Int16
        | ColumnEncoding::Int32
        | ColumnEncoding::Int64
        | ColumnEncoding::StrInt => match json {
            Json::Bool(b) => Value::Int(i64::from(*b)),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .or_else(|| n.as_u64().map(Value::UInt))
                .ok_or_else(|| want("an integer"))?,
            _ => return Err(want("an integer")),
        },
        ColumnEncoding::UInt8
        | ColumnEncoding::UInt16
        | ColumnEncoding::UInt32
        | ColumnEncoding::UInt64 => match json {
            Json::Bool(b) => Value::UInt(u64::from(*b)),
            Json::Number(n) => n
                .as_u64()
                .map(Value::UInt)
                .or_else(|| n.as_i64().map(Value::Int))
                .ok_or_else(|| want("an integer"))?,
            _ => return Err(want("an integer")),
        },
        ColumnEncoding::Float16
        | ColumnEncoding::Float32
        | ColumnEncoding::Float64
        | ColumnEncoding::StrFloat => {
            // `{"f", "hex"}`: the hex holds the exact value at the column's width.
            if let Some(bytes) = hex_field(json, "hex") {
                let bytes = bytes?;
                return match bytes.len() {
                    2 => Ok(Value::Float16(f16::from_le_bytes([bytes[0], bytes[1]]))),
                    4 => Ok(Value::Float32(f32::from_le_bytes([
                        bytes[0], bytes[1], bytes[2], bytes[3],
                    ]))),
                    8 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&bytes);
                        Ok(Value::Float64(f64::from_le_bytes(b)))
                    }
                    n => bail!("a float's hex has {n} bytes"),
                };
            }
            let f = json
                .get("f")
                .and_then(float_of)
                .or_else(|| float_of(json))
                .ok_or_else(|| want("a number"))?;
            Value::Float64(f)
        }
        ColumnEncoding::StrDecimal => match json {
            Json::String(s) => Value::Decimal(Text::from(s.as_str())),
            Json::Number(n) => Value::Decimal(Text::from(n.to_string())),
            _ => return Err(want("a decimal string")),
        },
        ColumnEncoding::Json => Value::json(json),
        ColumnEncoding::Pkl => Value::Pickle(Bytes::from(
            hex_field(json, "hex").ok_or_else(|| want("{\"hex\": pickle bytes}"))??,
        )),
        ColumnEncoding::NdArray { dtype, shape } => ndarray(*dtype, shape.as_deref(), json)?,
        ColumnEncoding::Pil | ColumnEncoding::Png | ColumnEncoding::Jpeg => {
            image(encoding.image_format().unwrap_or(ImageFormat::Png), json)?
        }
        ColumnEncoding::JpegArray
        | ColumnEncoding::JpegArrayAlias
        | ColumnEncoding::ListPil
        | ColumnEncoding::ListPng
        | ColumnEncoding::ListJpeg => {
            let format = encoding.image_format().unwrap_or(ImageFormat::Png);
            let items = json.as_array().ok_or_else(|| want("a list of images"))?;
            Value::List(
                items
                    .iter()
                    .map(|item| image(format, item))
                    .collect::<anyhow::Result<_>>()?,
            )
        }
    })
}

/// An image from `{"hex"}` (stored bytes) or, for `pil`, `{"mode", "size", "pixels_hex"}`.
fn image(format: ImageFormat, json: &Json) -> anyhow::Result<Value> {
    if let Some(bytes) = hex_field(json, "hex") {
        return Ok(Value::Image {
            format,
            bytes: Bytes::from(bytes?),
        });
    }
    if format == ImageFormat::Pil
        && let (Some(mode), Some(size), Some(pixels)) = (
            json.get("mode").and_then(Json::as_str),
            json.get("size").and_then(Json::as_array),
            hex_field(json, "pixels_hex"),
        )
    {
        let dim = |i: usize| {
            size.get(i)
                .and_then(Json::as_u64)
                .and_then(|d| u32::try_from(d).ok())
                .ok_or_else(|| anyhow!("bad image size {size:?}"))
        };
        return Ok(Value::pil(dim(0)?, dim(1)?, mode, &pixels?)?);
    }
    bail!("expected an image as {{\"hex\": ...}} or {{\"mode\", \"size\", \"pixels_hex\"}}")
}

/// An ndarray from `{"dtype", "shape", "values"}` or a (nested) list of numbers.
fn ndarray(
    static_dtype: Option<DType>,
    static_shape: Option<&[u64]>,
    json: &Json,
) -> anyhow::Result<Value> {
    let (dtype, shape, flat) = if let Some(values) = json.get("values") {
        let dtype = match json.get("dtype").and_then(Json::as_str) {
            Some(name) => name.parse::<DType>()?,
            None => static_dtype.ok_or_else(|| anyhow!("the ndarray has no dtype"))?,
        };
        let mut flat = Vec::new();
        let mut nested = Vec::new();
        flatten(values, 0, &mut nested, &mut flat)?;
        let shape = match json.get("shape").and_then(Json::as_array) {
            Some(dims) => dims
                .iter()
                .map(|d| d.as_u64().ok_or_else(|| anyhow!("bad shape {dims:?}")))
                .collect::<anyhow::Result<Vec<u64>>>()?,
            None => static_shape.map_or(nested, <[u64]>::to_vec),
        };
        (dtype, shape, flat)
    } else {
        let dtype =
            static_dtype.ok_or_else(|| anyhow!("a plain list needs an ndarray:DTYPE encoding"))?;
        let mut flat = Vec::new();
        let mut shape = Vec::new();
        flatten(json, 0, &mut shape, &mut flat)?;
        let shape = static_shape.map_or(shape, <[u64]>::to_vec);
        (dtype, shape, flat)
    };
    let mut data = Vec::with_capacity(flat.len() * dtype.itemsize());
    for v in flat {
        push_element(dtype, v, &mut data)?;
    }
    Ok(Value::Array {
        dtype,
        shape,
        data: Bytes::from(data),
    })
}

/// Flattens nested JSON arrays in C order, recording the shape from the first path.
fn flatten<'a>(
    json: &'a Json,
    depth: usize,
    shape: &mut Vec<u64>,
    out: &mut Vec<&'a Json>,
) -> anyhow::Result<()> {
    match json {
        Json::Array(items) => {
            let len = u64::try_from(items.len())?;
            if shape.len() == depth {
                shape.push(len);
            } else if shape.get(depth) != Some(&len) {
                bail!("a ragged nested list is not an ndarray");
            }
            for item in items {
                flatten(item, depth + 1, shape, out)?;
            }
        }
        _ => out.push(json),
    }
    Ok(())
}

fn push_element(dtype: DType, v: &Json, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let int = || -> anyhow::Result<i128> {
        v.as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from))
            .ok_or_else(|| anyhow!("{v} is not an integer"))
    };
    let range = |e: std::num::TryFromIntError| anyhow!("{v} out of range for {dtype}: {e}");
    match dtype {
        DType::UInt8 => out.extend_from_slice(&u8::try_from(int()?).map_err(range)?.to_le_bytes()),
        DType::Int8 => out.extend_from_slice(&i8::try_from(int()?).map_err(range)?.to_le_bytes()),
        DType::UInt16 => {
            out.extend_from_slice(&u16::try_from(int()?).map_err(range)?.to_le_bytes());
        }
        DType::Int16 => {
            out.extend_from_slice(&i16::try_from(int()?).map_err(range)?.to_le_bytes());
        }
        DType::UInt32 => {
            out.extend_from_slice(&u32::try_from(int()?).map_err(range)?.to_le_bytes());
        }
        DType::Int32 => {
            out.extend_from_slice(&i32::try_from(int()?).map_err(range)?.to_le_bytes());
        }
        DType::UInt64 => {
            out.extend_from_slice(&u64::try_from(int()?).map_err(range)?.to_le_bytes());
        }
        DType::Int64 => {
            out.extend_from_slice(&i64::try_from(int()?).map_err(range)?.to_le_bytes());
        }
        DType::Float16 | DType::Float32 | DType::Float64 => {
            let f = float_of(v).ok_or_else(|| anyhow!("{v} is not a number"))?;
            match dtype {
                DType::Float16 => out.extend_from_slice(&f16::from_f64(f).to_le_bytes()),
                #[allow(clippy::cast_possible_truncation)] // numpy's float64 -> float32 rounding
                DType::Float32 => out.extend_from_slice(&(f as f32).to_le_bytes()),
                _ => out.extend_from_slice(&f.to_le_bytes()),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use mds_format::Dataset;
    use mds_format::encoding::{Value, sample_json_line};

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mds-format/tests/fixtures/reference")
            .join(name)
    }

    fn options<'a>(hashes: &'a [&'a str]) -> Options<'a> {
        Options {
            compression: None,
            hashes,
            size_limit: 1 << 26,
        }
    }

    fn read_all(dir: &Path) -> Vec<Vec<(String, Value)>> {
        let ds = Dataset::open(dir).unwrap();
        (0..ds.len())
            .map(|i| {
                let s = ds.get(i).unwrap();
                s.decode_all()
                    .unwrap()
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn json_text_is_reformatted_as_python_does() {
        let check = |text: &str, want: &str| {
            let mut out = String::new();
            python_json(text, &mut out).unwrap();
            assert_eq!(out, want, "{text}");
        };
        check(
            r#"{"b":[1,2.50,-0,1e400,123456789012345678901234567890],"a":{"\u00e9":"x\ny"},"b":null}"#,
            r#"{"b": null, "a": {"\u00e9": "x\ny"}}"#,
        );
        check(
            "[1,2.50,-0,1e400,123456789012345678901234567890, true]",
            "[1, 2.5, 0, Infinity, 123456789012345678901234567890, true]",
        );
        check(" 1E2 ", "100.0");
        check(
            r#"["\ud800x\u0041\/\u00e9\ud83d\ude80", "é"]"#,
            r#"["\ud800xA/\u00e9\ud83d\ude80", "\u00e9"]"#,
        );
        for bad in ["", "[1,", "nul", "{\"a\" 1}", "01"] {
            assert!(python_json(bad, &mut String::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn column_specs_parse_with_commas_in_shapes() {
        let cols = parse_columns("id:int,emb:ndarray:int16:3,4,text:str").unwrap();
        let names: Vec<String> = cols.iter().map(|(n, e)| format!("{n}={e}")).collect();
        assert_eq!(names, ["id=int", "emb=ndarray:int16:3,4", "text=str"]);
        for bad in ["", "id", "id:", ":int", "id:float128", "a:int,a:str"] {
            assert!(parse_columns(bad).is_err(), "{bad}");
        }
    }

    /// `mds cat` output of the reference fixture, converted back, gives the reference's shard
    /// and index byte for byte.
    #[test]
    fn cat_output_converts_back_to_the_reference_bytes() {
        let src = fixture("all_encodings_1shard");
        let tmp = tempfile::tempdir().unwrap();
        let jsonl = tmp.path().join("cat.jsonl");
        let mut file = File::create(&jsonl).unwrap();
        let ds = Dataset::open(&src).unwrap();
        for i in 0..ds.len() {
            let sample = ds.get(i).unwrap();
            let values = sample.decode_all().unwrap();
            let pairs: Vec<(&str, &Value)> = values.iter().map(|(n, v)| (*n, v)).collect();
            writeln!(file, "{}", sample_json_line(&pairs).unwrap()).unwrap();
        }
        drop(file);
        let index = ds.index();
        let meta = &index.shards[0];
        let spec: Vec<String> = meta
            .column_names
            .iter()
            .zip(&meta.column_encodings)
            .map(|(n, e)| format!("{n}:{e}"))
            .collect();
        let columns = parse_columns(&spec.join(",")).unwrap();
        let out = tmp.path().join("out");
        let (n, shards) = convert(
            InputFormat::Jsonl,
            &jsonl,
            &out,
            &columns,
            &options(&["sha1", "xxh64"]),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((n, shards), (1000, 1));
        for file in ["index.json", "shard.00000.mds"] {
            let want = std::fs::read(src.join(file)).unwrap();
            let got = std::fs::read(out.join(file)).unwrap();
            assert!(got == want, "{file} differs from the reference");
        }
    }

    #[test]
    fn csv_and_jsonl_inputs() {
        let tmp = tempfile::tempdir().unwrap();
        let csv_path = tmp.path().join("in.csv");
        std::fs::write(
            &csv_path,
            "id,name,score,big,meta,emb\n\
             1,\"a, b\",0.5,123456789012345678901234567890,\"{\"\"k\"\": [1, 2.0]}\",\"[1, 2, 3]\"\n\
             -2,é,inf,-7,null,\"[4, 5, 6]\"\n",
        )
        .unwrap();
        let columns = parse_columns(
            "id:int8,name:str,score:float32,big:str_int,meta:json,emb:ndarray:uint16",
        )
        .unwrap();
        let out = tmp.path().join("csv");
        convert(
            InputFormat::Csv,
            &csv_path,
            &out,
            &columns,
            &options(&[]),
            &mut |_| {},
        )
        .unwrap();
        let rows = read_all(&out);
        assert_eq!(rows.len(), 2);
        let get = |r: usize, name: &str| {
            rows[r]
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get(0, "id"), Value::Int(1));
        assert_eq!(get(0, "name"), Value::Str(Text::from("a, b")));
        assert_eq!(get(0, "score"), Value::Float32(0.5));
        assert_eq!(
            get(0, "big"),
            Value::BigInt(Text::from("123456789012345678901234567890"))
        );
        assert_eq!(
            get(0, "meta"),
            Value::Json(Text::from(r#"{"k": [1, 2.0]}"#))
        );
        assert_eq!(get(1, "score"), Value::Float32(f32::INFINITY));
        assert_eq!(get(1, "big"), Value::Int(-7));
        let Value::Array { dtype, shape, data } = get(1, "emb") else {
            panic!("not an array")
        };
        assert_eq!(
            (dtype, shape, &data[..]),
            (DType::UInt16, vec![3], &[4, 0, 5, 0, 6, 0][..])
        );

        let jsonl = tmp.path().join("in.jsonl");
        std::fs::write(
            &jsonl,
            "{\"id\": 3, \"name\": \"x\", \"score\": {\"f\": 1.5, \"hex\": \"0000c03f\"}, \"big\": 5, \"meta\": [true], \"emb\": [[1, 2]]}\n\n",
        )
        .unwrap();
        let out = tmp.path().join("jsonl");
        convert(
            InputFormat::Jsonl,
            &jsonl,
            &out,
            &columns,
            &options(&[]),
            &mut |_| {},
        )
        .unwrap();
        let rows = read_all(&out);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].contains(&("score".to_owned(), Value::Float32(1.5))));
        assert!(rows[0].contains(&("meta".to_owned(), Value::Json(Text::from("[true]")))));

        // Bad input names the row and column.
        std::fs::write(
            &jsonl,
            "{\"id\": 300, \"name\": \"x\", \"score\": 1, \"big\": 5, \"meta\": 1, \"emb\": [1]}\n",
        )
        .unwrap();
        let err = convert(
            InputFormat::Jsonl,
            &jsonl,
            &tmp.path().join("bad"),
            &columns,
            &options(&[]),
            &mut |_| {},
        )
        .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with("line 1") && msg.contains("column id") && !msg.contains("shard :"),
            "{msg}"
        );
    }

    #[test]
    fn csv_errors_name_the_line_the_bad_record_starts_on() {
        let tmp = tempfile::tempdir().unwrap();
        let columns = parse_columns("id:int,s:str").unwrap();
        // (input, line of the bad record): after blank lines (LF and CRLF), after a quoted
        // field spanning lines, and last in a file without a final newline.
        for (text, line) in [
            ("id,s\n1,a\n\nx,b\n", 4),
            ("id,s\n\n\n\nx,b", 5),
            ("id,s\r\n1,a\r\n\r\nx,b\r\n", 4),
            ("id,s\n1,\"a\nb\n\"\n\n2,c\nx,d\n", 7),
        ] {
            let input = tmp.path().join("in.csv");
            std::fs::write(&input, text).unwrap();
            let out = tmp.path().join(format!("out{line}"));
            let err = convert(
                InputFormat::Csv,
                &input,
                &out,
                &columns,
                &options(&[]),
                &mut |_| {},
            )
            .unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.starts_with(&format!("line {line},")), "{text:?}: {msg}");
            let _ = std::fs::remove_dir_all(&out);
        }
    }

    #[test]
    fn parquet_input() {
        use std::sync::Arc;

        use arrow::array::{
            ArrayRef, BinaryArray, Float32Array, Int64Array, ListArray, RecordBatch, StringArray,
        };
        use arrow::datatypes::Float32Type;

        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("in.parquet");
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![10, -20]));
        let text: ArrayRef = Arc::new(StringArray::from(vec!["hello", "wörld"]));
        let blob: ArrayRef = Arc::new(BinaryArray::from(vec![&b"\x00\x01"[..], &b""[..]]));
        let score: ArrayRef = Arc::new(Float32Array::from(vec![0.1f32, -2.5]));
        let emb: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float32Type, _, _>(vec![
            Some(vec![Some(1.0), Some(2.0)]),
            Some(vec![Some(3.5), Some(-1.0)]),
        ]));
        let batch = RecordBatch::try_from_iter(vec![
            ("id", ids),
            ("text", text),
            ("blob", blob),
            ("score", score),
            ("emb", emb),
        ])
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            File::create(&path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let columns =
            parse_columns("id:int,text:str,blob:bytes,score:float32,emb:ndarray:float32:2")
                .unwrap();
        let out = tmp.path().join("pq");
        let (n, _) = convert(
            InputFormat::Parquet,
            &path,
            &out,
            &columns,
            &Options {
                compression: Some("zstd"),
                hashes: &["sha1"],
                size_limit: 1 << 20,
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(n, 2);
        let rows = read_all(&out);
        assert!(rows[1].contains(&("id".to_owned(), Value::Int(-20))));
        assert!(rows[1].contains(&("text".to_owned(), Value::Str(Text::from("wörld")))));
        assert!(rows[0].contains(&(
            "blob".to_owned(),
            Value::Bytes(Bytes::from_static(b"\x00\x01"))
        )));
        assert!(rows[0].contains(&("score".to_owned(), Value::Float32(0.1))));
        let emb: Vec<u8> = [3.5f32, -1.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        assert!(rows[1].contains(&(
            "emb".to_owned(),
            Value::Array {
                dtype: DType::Float32,
                shape: vec![2],
                data: Bytes::from(emb)
            }
        )));
    }
}
