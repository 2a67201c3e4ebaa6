//! `index.json`, version 2 (reference.md §2), and `merge_index` (§8.6).
//!
//! Reading keeps every field, known or not: unknown top-level and per-shard keys land in
//! `extra` and are written back. Writing produces the reference's exact text: keys sorted,
//! Python `json.dumps` separators and escapes, no trailing newline ([`crate::pyjson`]).
//!
//! Differences from the reference, on purpose:
//! * unknown keys are kept, where the Python reader fails on them;
//! * a shard basename must stay inside the dataset directory: relative, `/`-separated plain
//!   components (no `..`, `.`, empty component, backslash, NUL or drive colon). `merge_index`
//!   output (`part-3/shard.00000.mds`) passes; a hostile `../../etc/passwd` does not.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::pyjson;

/// File name of the index inside a dataset directory.
pub const INDEX_FILE: &str = "index.json";

/// The only index (and shard) version the reference reads or writes.
pub const VERSION: u64 = 2;

/// The file format of a shard (index key `format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardFormat {
    /// The MDS binary layout (§3).
    Mds,
    /// JSON lines (§5.2).
    Json,
    /// Comma-separated (§5.3).
    Csv,
    /// Tab-separated (§5.3).
    Tsv,
    /// Separated by a configured separator (§5.3).
    Xsv,
}

impl ShardFormat {
    /// The name as index.json and shard file names spell it.
    pub fn name(self) -> &'static str {
        match self {
            ShardFormat::Mds => "mds",
            ShardFormat::Json => "json",
            ShardFormat::Csv => "csv",
            ShardFormat::Tsv => "tsv",
            ShardFormat::Xsv => "xsv",
        }
    }

    /// Parses a format name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ShardFormat::Mds,
            ShardFormat::Json,
            ShardFormat::Csv,
            ShardFormat::Tsv,
            ShardFormat::Xsv,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    /// Whether shards of this format are a data file plus a `.meta` file (§5).
    pub fn is_split(self) -> bool {
        self != ShardFormat::Mds
    }
}

/// One file of a shard as index.json describes it (`raw_data`, `zip_data`, `raw_meta`,
/// `zip_meta`).
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    /// Path relative to the dataset directory (checked safe on load).
    pub basename: String,
    /// Exact file length in bytes.
    pub bytes: u64,
    /// `(algorithm, lowercase hex digest)` in the stored order.
    pub hashes: Vec<(String, String)>,
    /// Keys other than the three above, kept verbatim.
    pub extra: Map<String, Value>,
}

impl FileInfo {
    /// The stored digest for `algorithm`, if any.
    pub fn hash(&self, algorithm: &str) -> Option<&str> {
        self.hashes
            .iter()
            .find(|(a, _)| a == algorithm)
            .map(|(_, h)| h.as_str())
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("basename".into(), Value::String(self.basename.clone()));
        m.insert("bytes".into(), Value::from(self.bytes));
        let hashes: Map<String, Value> = self
            .hashes
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("hashes".into(), Value::Object(hashes));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// One shard entry of index.json: the writer's configuration plus the shard's own facts.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardMeta {
    /// File format.
    pub format: ShardFormat,
    /// Compression spec (`None`: the shard is stored raw).
    pub compression: Option<Compression>,
    /// Hash algorithm names the writer computed, as stored (possibly names mds does not know).
    pub hashes: Vec<String>,
    /// The writer's size limit in bytes (`None`: unlimited).
    pub size_limit: Option<u64>,
    /// Number of samples in the shard.
    pub samples: u64,
    /// The uncompressed data file.
    pub raw_data: FileInfo,
    /// The compressed data file, when compressed.
    pub zip_data: Option<FileInfo>,
    /// Split formats: the uncompressed meta file.
    pub raw_meta: Option<FileInfo>,
    /// Split formats: the compressed meta file, when compressed.
    pub zip_meta: Option<FileInfo>,
    /// MDS and XSV: column names (sorted by the writer).
    pub column_names: Vec<String>,
    /// MDS and XSV: column encodings, parallel to `column_names`.
    pub column_encodings: Vec<String>,
    /// MDS: fixed byte size per column, `None` for variable-size columns.
    pub column_sizes: Vec<Option<u64>>,
    /// JSON: `(name, "str" | "int" | "float")` in the stored order.
    pub columns: Vec<(String, String)>,
    /// Split formats: the record terminator.
    pub newline: Option<String>,
    /// XSV: the field separator.
    pub separator: Option<String>,
    /// Keys mds does not know, kept verbatim.
    pub extra: Map<String, Value>,
}

impl ShardMeta {
    /// The column names of this shard whatever its format (JSON: the `columns` keys).
    pub fn names(&self) -> Vec<&str> {
        if self.format == ShardFormat::Json {
            self.columns.iter().map(|(n, _)| n.as_str()).collect()
        } else {
            self.column_names.iter().map(String::as_str).collect()
        }
    }

    /// This entry as a JSON object (keys in the reference's set; `extra` appended).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        let strings =
            |v: &[String]| Value::Array(v.iter().map(|s| Value::String(s.clone())).collect());
        match self.format {
            ShardFormat::Mds => {
                m.insert("column_encodings".into(), strings(&self.column_encodings));
                m.insert("column_names".into(), strings(&self.column_names));
                let sizes = self
                    .column_sizes
                    .iter()
                    .map(|s| s.map_or(Value::Null, Value::from))
                    .collect();
                m.insert("column_sizes".into(), Value::Array(sizes));
            }
            ShardFormat::Json => {
                let cols: Map<String, Value> = self
                    .columns
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                m.insert("columns".into(), Value::Object(cols));
            }
            ShardFormat::Csv | ShardFormat::Tsv | ShardFormat::Xsv => {
                m.insert("column_encodings".into(), strings(&self.column_encodings));
                m.insert("column_names".into(), strings(&self.column_names));
            }
        }
        m.insert(
            "compression".into(),
            self.compression
                .as_ref()
                .map_or(Value::Null, |c| Value::String(c.spec().to_owned())),
        );
        m.insert(
            "format".into(),
            Value::String(self.format.name().to_owned()),
        );
        m.insert("hashes".into(), strings(&self.hashes));
        if self.format.is_split() {
            m.insert(
                "newline".into(),
                self.newline.clone().map_or(Value::Null, Value::String),
            );
            if self.format == ShardFormat::Xsv {
                m.insert(
                    "separator".into(),
                    self.separator.clone().map_or(Value::Null, Value::String),
                );
            }
        }
        m.insert("raw_data".into(), self.raw_data.to_value());
        if self.format.is_split() {
            m.insert(
                "raw_meta".into(),
                self.raw_meta
                    .as_ref()
                    .map_or(Value::Null, FileInfo::to_value),
            );
        }
        m.insert("samples".into(), Value::from(self.samples));
        m.insert(
            "size_limit".into(),
            self.size_limit.map_or(Value::Null, Value::from),
        );
        m.insert("version".into(), Value::from(VERSION));
        m.insert(
            "zip_data".into(),
            self.zip_data
                .as_ref()
                .map_or(Value::Null, FileInfo::to_value),
        );
        if self.format.is_split() {
            m.insert(
                "zip_meta".into(),
                self.zip_meta
                    .as_ref()
                    .map_or(Value::Null, FileInfo::to_value),
            );
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// Every file this shard names, in the reference's reader order (meta pair first).
    pub fn files(&self) -> Vec<&FileInfo> {
        [&self.raw_meta, &self.zip_meta]
            .into_iter()
            .flatten()
            .chain(std::iter::once(&self.raw_data))
            .chain(self.zip_data.iter())
            .collect()
    }

    /// Parses one shard entry; `file` and `shard` (position) only name the place in errors.
    #[allow(clippy::too_many_lines)] // one field after another: splitting would hide the schema
    pub fn from_value(file: &Path, shard: usize, value: &Value) -> Result<Self> {
        let p = Parser {
            file,
            shard,
            map: value
                .as_object()
                .ok_or_else(|| index_err(file, shard, "", "expected an object"))?,
        };
        let version = p.take_u64("version")?;
        if version != VERSION {
            return Err(index_err(
                file,
                shard,
                "version",
                &format!("unsupported version {version}, expected 2"),
            ));
        }
        let format_name = p.take_str("format")?;
        let format = ShardFormat::from_name(&format_name).ok_or_else(|| {
            index_err(
                file,
                shard,
                "format",
                &format!("unknown format {format_name:?}"),
            )
        })?;
        let compression = match p.take_opt("compression") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.parse().map_err(|_| {
                index_err(
                    file,
                    shard,
                    "compression",
                    &format!("invalid compression {s:?}"),
                )
            })?),
            Some(_) => {
                return Err(index_err(
                    file,
                    shard,
                    "compression",
                    "expected a string or null",
                ));
            }
        };
        let hashes = match p.take_opt("hashes") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => p.str_list("hashes", &v)?,
        };
        let size_limit = match p.take_opt("size_limit") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                index_err(
                    file,
                    shard,
                    "size_limit",
                    "expected a non-negative integer or null",
                )
            })?),
        };
        let samples = p.take_u64("samples")?;
        let raw_data = p
            .take_file("raw_data")?
            .ok_or_else(|| index_err(file, shard, "raw_data", "missing"))?;
        let zip_data = p.take_file("zip_data")?;
        let (raw_meta, zip_meta) = if format.is_split() {
            let raw_meta = p
                .take_file("raw_meta")?
                .ok_or_else(|| index_err(file, shard, "raw_meta", "missing"))?;
            (Some(raw_meta), p.take_file("zip_meta")?)
        } else {
            (None, None)
        };
        if compression.is_some() != zip_data.is_some() {
            return Err(index_err(
                file,
                shard,
                "zip_data",
                "present exactly when compression is set",
            ));
        }
        let mut meta = ShardMeta {
            format,
            compression,
            hashes,
            size_limit,
            samples,
            raw_data,
            zip_data,
            raw_meta,
            zip_meta,
            column_names: Vec::new(),
            column_encodings: Vec::new(),
            column_sizes: Vec::new(),
            columns: Vec::new(),
            newline: None,
            separator: None,
            extra: Map::new(),
        };
        match format {
            ShardFormat::Mds => {
                meta.column_names = p.take_str_list("column_names")?;
                meta.column_encodings = p.take_str_list("column_encodings")?;
                let sizes = p.take("column_sizes")?;
                let sizes = sizes
                    .as_array()
                    .ok_or_else(|| index_err(file, shard, "column_sizes", "expected an array"))?;
                for s in sizes {
                    meta.column_sizes.push(match s {
                        Value::Null => None,
                        v => Some(v.as_u64().ok_or_else(|| {
                            index_err(file, shard, "column_sizes", "expected integers or null")
                        })?),
                    });
                }
                let n = meta.column_names.len();
                if meta.column_encodings.len() != n || meta.column_sizes.len() != n {
                    return Err(index_err(
                        file,
                        shard,
                        "column_names",
                        "column_names, column_encodings and column_sizes differ in length",
                    ));
                }
            }
            ShardFormat::Json => {
                let cols = p.take("columns")?;
                let cols = cols
                    .as_object()
                    .ok_or_else(|| index_err(file, shard, "columns", "expected an object"))?;
                for (k, v) in cols {
                    let v = v.as_str().ok_or_else(|| {
                        index_err(file, shard, "columns", "expected string encodings")
                    })?;
                    meta.columns.push((k.clone(), v.to_owned()));
                }
                meta.newline = Some(p.take_str("newline")?);
            }
            ShardFormat::Csv | ShardFormat::Tsv | ShardFormat::Xsv => {
                meta.column_names = p.take_str_list("column_names")?;
                meta.column_encodings = p.take_str_list("column_encodings")?;
                if meta.column_encodings.len() != meta.column_names.len() {
                    return Err(index_err(
                        file,
                        shard,
                        "column_names",
                        "column_names and column_encodings differ in length",
                    ));
                }
                meta.newline = Some(p.take_str("newline")?);
                if format == ShardFormat::Xsv {
                    meta.separator = Some(p.take_str("separator")?);
                }
            }
        }
        meta.extra = p
            .map
            .iter()
            .filter(|(k, _)| !p_known(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Leftover known-but-unused keys (e.g. `separator` on csv) are kept as extra too.
        for k in [
            "separator",
            "newline",
            "raw_meta",
            "zip_meta",
            "columns",
            "column_names",
            "column_encodings",
            "column_sizes",
        ] {
            if let Some(v) = p.map.get(k) {
                let used = match k {
                    "separator" => meta.separator.is_some(),
                    "newline" => meta.newline.is_some(),
                    "raw_meta" | "zip_meta" => format.is_split(),
                    "columns" => format == ShardFormat::Json,
                    "column_sizes" => format == ShardFormat::Mds,
                    _ => format != ShardFormat::Json,
                };
                if !used {
                    meta.extra.insert(k.to_owned(), v.clone());
                }
            }
        }
        Ok(meta)
    }
}

fn p_known(k: &str) -> bool {
    matches!(
        k,
        "version"
            | "format"
            | "compression"
            | "hashes"
            | "size_limit"
            | "samples"
            | "raw_data"
            | "zip_data"
            | "raw_meta"
            | "zip_meta"
            | "column_names"
            | "column_encodings"
            | "column_sizes"
            | "columns"
            | "newline"
            | "separator"
    )
}

fn index_err(file: &Path, shard: usize, field: &str, reason: &str) -> Error {
    let reason = if field.is_empty() {
        format!("shard {shard}: {reason}")
    } else {
        format!("shard {shard}: field `{field}`: {reason}")
    };
    Error::Index {
        file: file.to_owned(),
        reason,
    }
}

struct Parser<'a> {
    file: &'a Path,
    shard: usize,
    map: &'a Map<String, Value>,
}

impl Parser<'_> {
    fn err(&self, field: &str, reason: &str) -> Error {
        index_err(self.file, self.shard, field, reason)
    }

    fn take_opt(&self, key: &str) -> Option<Value> {
        self.map.get(key).cloned()
    }

    fn take(&self, key: &str) -> Result<Value> {
        self.take_opt(key).ok_or_else(|| self.err(key, "missing"))
    }

    fn take_u64(&self, key: &str) -> Result<u64> {
        self.take(key)?
            .as_u64()
            .ok_or_else(|| self.err(key, "expected a non-negative integer"))
    }

    fn take_str(&self, key: &str) -> Result<String> {
        match self.take(key)? {
            Value::String(s) => Ok(s),
            _ => Err(self.err(key, "expected a string")),
        }
    }

    fn str_list(&self, key: &str, v: &Value) -> Result<Vec<String>> {
        let arr = v
            .as_array()
            .ok_or_else(|| self.err(key, "expected an array of strings"))?;
        arr.iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.err(key, "expected an array of strings"))
            })
            .collect()
    }

    fn take_str_list(&self, key: &str) -> Result<Vec<String>> {
        let v = self.take(key)?;
        self.str_list(key, &v)
    }

    fn take_file(&self, key: &str) -> Result<Option<FileInfo>> {
        let v = match self.take_opt(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v,
        };
        let obj = v
            .as_object()
            .ok_or_else(|| self.err(key, "expected an object or null"))?;
        let basename = obj
            .get("basename")
            .and_then(Value::as_str)
            .ok_or_else(|| self.err(key, "`basename` missing or not a string"))?
            .to_owned();
        check_basename(&basename).map_err(|()| Error::UnsafeBasename {
            shard: self.shard,
            basename: basename.clone(),
        })?;
        let bytes = obj
            .get("bytes")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.err(key, "`bytes` missing or not a non-negative integer"))?;
        let mut hashes = Vec::new();
        match obj.get("hashes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (k, v) in h {
                    let v = v
                        .as_str()
                        .ok_or_else(|| self.err(key, "`hashes` values must be strings"))?;
                    hashes.push((k.clone(), v.to_owned()));
                }
            }
            Some(_) => return Err(self.err(key, "`hashes` must be an object")),
        }
        let extra = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "basename" | "bytes" | "hashes"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Some(FileInfo {
            basename,
            bytes,
            hashes,
            extra,
        }))
    }
}

/// Checks that a basename stays inside the dataset directory: relative, `/`-separated plain
/// components.
pub fn is_safe_basename(basename: &str) -> bool {
    check_basename(basename).is_ok()
}

fn check_basename(basename: &str) -> std::result::Result<(), ()> {
    if basename.is_empty() || basename.starts_with('/') {
        return Err(());
    }
    if basename.chars().any(|c| matches!(c, '\\' | '\0' | ':')) {
        return Err(());
    }
    if basename
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(());
    }
    Ok(())
}

/// A whole index.json.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Index {
    /// Shard entries in shard-number order.
    pub shards: Vec<ShardMeta>,
    /// Top-level keys other than `version` and `shards`, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Index {
    /// Parses index.json text; `file` names the file in errors.
    pub fn from_slice(file: &Path, text: &[u8]) -> Result<Self> {
        let value: Value = serde_json::from_slice(text).map_err(|source| Error::IndexJson {
            file: file.to_owned(),
            source,
        })?;
        Self::from_value(file, &value)
    }

    /// Builds an index from parsed JSON; `file` names the file in errors.
    pub fn from_value(file: &Path, value: &Value) -> Result<Self> {
        let err = |reason: String| Error::Index {
            file: file.to_owned(),
            reason,
        };
        let obj = value
            .as_object()
            .ok_or_else(|| err("expected a JSON object".into()))?;
        match obj.get("version").map(Value::as_u64) {
            Some(Some(VERSION)) => {}
            Some(_) => {
                return Err(err(format!(
                    "unsupported streaming data version {}, expected 2",
                    obj.get("version")
                        .map_or_else(String::new, ToString::to_string)
                )));
            }
            None => return Err(err("field `version` missing".into())),
        }
        let shards = obj
            .get("shards")
            .and_then(Value::as_array)
            .ok_or_else(|| err("field `shards` missing or not an array".into()))?;
        let shards = shards
            .iter()
            .enumerate()
            .map(|(i, s)| ShardMeta::from_value(file, i, s))
            .collect::<Result<Vec<_>>>()?;
        let extra = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "version" | "shards"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Index { shards, extra })
    }

    /// Reads `<dir>/index.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let file = dir.join(INDEX_FILE);
        let text = fs::read(&file).map_err(|e| Error::io(&file, e))?;
        Self::from_slice(&file, &text)
    }

    /// Total samples over all shards.
    pub fn num_samples(&self) -> u64 {
        self.shards.iter().map(|s| s.samples).sum()
    }

    /// The index as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "shards".into(),
            Value::Array(self.shards.iter().map(ShardMeta::to_value).collect()),
        );
        m.insert("version".into(), Value::from(VERSION));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// The text the reference writer produces: sorted keys, Python separators, no newline.
    pub fn to_json_string(&self) -> String {
        pyjson::to_string_sorted(&self.to_value())
    }

    /// Writes `<dir>/index.json` (through a temporary file and a rename, so readers never see
    /// half an index).
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join(INDEX_FILE), self.to_json_string().as_bytes())
    }
}

pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    fs::write(&tmp, data).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Merges the indexes of sub-datasets into one index for `root` (reference.md §8.6).
///
/// `index_files` are index.json paths, each directly inside a child directory of `root`;
/// every basename of a sub-index is prefixed with its directory's name. The result lists
/// `version` before `shards` and keeps each shard entry's key order, like the reference's
/// output. It is written to `<root>/index.json`, replacing one already there (the reference
/// fails instead). Returns the merged index.
pub fn merge_index_files(index_files: &[PathBuf], root: &Path) -> Result<Index> {
    let mut shards = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in index_files {
        if !seen.insert(file.clone()) {
            continue;
        }
        let dir_name = file
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::InvalidArgument {
                param: "index_files".into(),
                reason: format!("{} is not inside a named directory", file.display()),
            })?
            .to_owned();
        let text = fs::read(file).map_err(|e| Error::io(file, e))?;
        let value: Value = serde_json::from_slice(&text).map_err(|source| Error::IndexJson {
            file: file.clone(),
            source,
        })?;
        // Validates the whole sub-index (version, fields, safe basenames) before merging.
        Index::from_value(file, &value)?;
        let Some(Value::Array(sub)) = value.get("shards").cloned() else {
            continue;
        };
        for mut shard in sub {
            if let Some(obj) = shard.as_object_mut() {
                for key in ["raw_data", "zip_data", "raw_meta", "zip_meta"] {
                    if let Some(Value::Object(info)) = obj.get_mut(key)
                        && let Some(Value::String(b)) = info.get_mut("basename")
                    {
                        *b = format!("{dir_name}/{b}");
                    }
                }
            }
            shards.push(shard);
        }
    }
    let mut merged = Map::new();
    merged.insert("version".into(), Value::from(VERSION));
    merged.insert("shards".into(), Value::Array(shards));
    let merged = Value::Object(merged);
    let out = root.join(INDEX_FILE);
    let index = Index::from_value(&out, &merged)?;
    fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    write_atomic(&out, pyjson::to_string(&merged).as_bytes())?;
    Ok(index)
}

/// Merges every `<root>/<child>/index.json` into `<root>/index.json`, children in sorted path
/// order (the reference's local listing order). Unlike the reference, only files named
/// `index.json` directly inside a child directory are taken (it takes any `.json` at any
/// depth).
pub fn merge_index(root: &Path) -> Result<Index> {
    let mut files = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| Error::io(root, e))? {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let candidate = entry.path().join(INDEX_FILE);
        if entry.path().is_dir() && candidate.is_file() {
            files.push(candidate);
        }
    }
    files.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    merge_index_files(&files, root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basenames() {
        for ok in ["shard.00000.mds", "part-3/shard.00000.mds.zstd", "a/b/c"] {
            assert!(is_safe_basename(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./x",
            "a\\b",
            "c:x",
            "a/",
        ] {
            assert!(!is_safe_basename(bad), "{bad}");
        }
    }
}
