//! `cargo xtask release X.Y.Z [--dry-run]`: one command that cannot publish a broken or
//! inconsistent set.
//!
//! Refuses a dirty tree, a version that does not increase and a red test suite; then bumps the
//! one version everywhere (workspace.package.version, every member that spells its own, the
//! internal requirements of `[workspace.dependencies]`, a static version in mds-py's
//! pyproject), writes the CHANGELOG.md section from the commits since the last tag, packages
//! every publishable crate in dependency order (`cargo package`, path dependencies resolved
//! by cargo's local overlay), builds the wheel and sdist with maturin and smoke-imports the
//! wheel in a fresh venv, then commits and tags `vX.Y.Z`. `--dry-run` does all of it in a
//! temporary clone of HEAD and throws the clone away: the checkout is never touched.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::Result;
use crate::cmd::{self, cargo};
use crate::json::Json;
use crate::python::{self, Venv};
use crate::test;

const USAGE: &str = "usage: cargo xtask release X.Y.Z [--dry-run]
  (for xtask's own tests: --skip-tests, --no-verify (cargo package), --skip-wheel)";

/// A release version `X.Y.Z`, ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(u64, u64, u64);

impl std::str::FromStr for Version {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let num = |p: &str| -> Option<u64> {
            let ok = !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'));
            if ok { p.parse().ok() } else { None }
        };
        match parts.as_slice() {
            [a, b, c] => match (num(a), num(b), num(c)) {
                (Some(a), Some(b), Some(c)) => Ok(Version(a, b, c)),
                _ => Err(format!("`{s}` is not a version X.Y.Z")),
            },
            _ => Err(format!("`{s}` is not a version X.Y.Z")),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What `release` was asked to do.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent switches of the command line
pub(crate) struct Options {
    pub(crate) version: Version,
    pub(crate) dry_run: bool,
    /// Skip the test suite (xtask's own tests only: a real release runs it).
    pub(crate) skip_tests: bool,
    /// `cargo package --no-verify`: package without building each crate.
    pub(crate) no_verify: bool,
    /// Skip the wheel, the sdist and the smoke import.
    pub(crate) skip_wheel: bool,
}

pub(crate) fn main(root: &Path, args: &[String]) -> Result {
    let mut version = None;
    let (mut dry_run, mut skip_tests, mut no_verify, mut skip_wheel) = (false, false, false, false);
    for a in args {
        match a.as_str() {
            "--dry-run" => dry_run = true,
            "--skip-tests" => skip_tests = true,
            "--no-verify" => no_verify = true,
            "--skip-wheel" => skip_wheel = true,
            v if !v.starts_with('-') && version.is_none() => version = Some(v.parse::<Version>()?),
            _ => return Err(USAGE.into()),
        }
    }
    let Some(version) = version else {
        return Err(USAGE.into());
    };
    release(
        root,
        &Options {
            version,
            dry_run,
            skip_tests,
            no_verify,
            skip_wheel,
        },
    )
}

/// Runs the release of `root` (a git checkout).
pub(crate) fn release(root: &Path, o: &Options) -> Result {
    let current = workspace_version(root)?;
    check_increases(current, o.version)?;
    ensure_clean(root)?;
    let tag = format!("v{}", o.version);
    if !cmd::output(git(root).args(["tag", "--list", &tag]))?
        .trim()
        .is_empty()
    {
        return Err(format!("refusing to release: the tag {tag} already exists").into());
    }
    println!(
        "releasing {current} -> {}{}",
        o.version,
        if o.dry_run { " (dry run)" } else { "" }
    );

    if !o.dry_run {
        return stages(root, current, o);
    }
    // dry run: the same stages in a throwaway clone of HEAD, building into our target dir
    let tmp = python::temp_dir("mds-release")?;
    let work = tmp.join("mds");
    cmd::run(git(root).args(["clone", "--quiet"]).arg(root).arg(&work))?;
    cmd::set_target_dir(Some(test::target_dir(root)));
    let res = stages(&work, current, o);
    cmd::set_target_dir(None);
    match &res {
        Ok(()) => {
            let _ = cmd::run(git(&work).args(["--no-pager", "diff", "--stat"]));
            println!(
                "\ndry run of {} passed; the checkout at {} is unchanged",
                o.version,
                root.display()
            );
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(_) => println!("\ndry run failed; its clone is kept at {}", work.display()),
    }
    res
}

fn stages(work: &Path, current: Version, o: &Options) -> Result {
    let v = o.version;
    stage("test suite", || {
        if o.skip_tests {
            println!("!!! --skip-tests: the test suite is not run (xtask's own tests only) !!!");
            return Ok(());
        }
        test::suite(work)
            .map_err(|e| format!("refusing to release: the test suite is red ({e})").into())
    })?;
    stage("bump versions", || {
        for f in bump(work, current, v)? {
            println!("  {f}");
        }
        check_versions(work, v)
    })?;
    stage("changelog", || write_changelog(work, v, &today()))?;
    stage("cargo package", || {
        let crates = publishable(work)?;
        println!("publishable crates: {}", crates.join(", "));
        let mut c = cargo(work);
        c.args(["package", "--allow-dirty"]);
        if o.no_verify {
            c.arg("--no-verify");
        }
        for k in &crates {
            c.args(["-p", k]);
        }
        cmd::run(&mut c)
    })?;
    stage("wheel, sdist and smoke import", || {
        if o.skip_wheel {
            println!("!!! --skip-wheel: no wheel built (xtask's own tests only) !!!");
            return Ok(());
        }
        wheel_and_smoke(work, v)
    })?;
    if o.dry_run {
        return Ok(());
    }
    stage("commit and tag", || {
        cmd::run(git(work).args(["commit", "--quiet", "-a", "-m", &format!("release {v}")]))?;
        cmd::run(git(work).args(["tag", "-a", &format!("v{v}"), "-m", &format!("mds {v}")]))?;
        println!(
            "committed and tagged v{v}; publish with `cargo publish` per crate in dependency order"
        );
        Ok(())
    })
}

fn stage(name: &str, f: impl FnOnce() -> Result) -> Result {
    println!("\n======== release: {name} ========");
    let start = Instant::now();
    let r = f().map_err(|e| format!("release: {name}: {e}"));
    println!(
        "-------- release: {name}: {} ({:.1}s)",
        if r.is_ok() { "ok" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    Ok(r?)
}

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir);
    c
}

/// A new version must be greater than the current one.
pub(crate) fn check_increases(current: Version, new: Version) -> Result {
    if new > current {
        Ok(())
    } else {
        Err(format!(
            "refusing to release: version {new} does not increase the current version {current}"
        )
        .into())
    }
}

/// Refuses uncommitted changes (untracked files included): a release is made of commits.
pub(crate) fn ensure_clean(root: &Path) -> Result {
    let status =
        cmd::output(git(root).args(["status", "--porcelain", "--untracked-files=normal"]))?;
    if status.trim().is_empty() {
        return Ok(());
    }
    let mut lines: Vec<&str> = status.lines().take(10).collect();
    if status.lines().count() > 10 {
        lines.push("...");
    }
    Err(format!(
        "refusing to release: the working tree at {} has uncommitted changes; commit or remove them first:\n  {}",
        root.display(),
        lines.join("\n  ")
    )
    .into())
}

/// `workspace.package.version` of the root manifest.
pub(crate) fn workspace_version(root: &Path) -> Result<Version> {
    let text = read(&root.join("Cargo.toml"))?;
    let mut section = String::new();
    for line in text.lines() {
        if let Some(s) = section_name(line) {
            section = s;
        } else if section == "workspace.package"
            && let Some(v) = string_value(line, "version")
        {
            return Ok(v.parse()?);
        }
    }
    Err("Cargo.toml: no version in [workspace.package]".into())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

/// `[a.b]` or `[[a]]` → `a.b` / `a`.
fn section_name(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t
        .strip_prefix("[[")
        .and_then(|t| t.strip_suffix("]]"))
        .or_else(|| t.strip_prefix('[').and_then(|t| t.strip_suffix(']')))?;
    Some(inner.trim().to_string())
}

/// The string of `key = "..."` on this line (top level of the line, not inside a table).
fn string_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .trim_start()
        .strip_prefix(key)?
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// Replaces the version in a requirement, keeping its operator: `=0.1.0` → `=0.1.1`.
fn bump_requirement(req: &str, new: Version) -> String {
    let op_len = req.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
    format!("{}{new}", &req[..op_len])
}

/// In an inline table holding `path = "…"`, replaces the value of its `version = "…"`.
fn bump_inline_dependency(line: &str, new: Version) -> Option<String> {
    if !line.contains('{') || !line.contains("path") {
        return None;
    }
    let key_at = find_key(line, "version")?;
    let open = key_at + line[key_at..].find('"')? + 1;
    let close = open + line[open..].find('"')?;
    let req = &line[open..close];
    let bumped = bump_requirement(req, new);
    (bumped != req).then(|| format!("{}{bumped}{}", &line[..open], &line[close..]))
}

/// The byte offset of `key` used as a key inside an inline table (`{ key = ` or `, key = `).
fn find_key(line: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line[from..].find(key) {
        let at = from + i;
        let before = line[..at].trim_end();
        let after = line[at + key.len()..].trim_start();
        if (before.ends_with('{') || before.ends_with(',')) && after.starts_with('=') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

/// Rewrites every version string of the workspace from `old` to `new`; returns what changed.
pub(crate) fn bump(root: &Path, old: Version, new: Version) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    let mut manifests = vec![root.join("Cargo.toml")];
    manifests.extend(members(root)?.into_iter().map(|m| m.manifest));
    manifests.dedup();
    for path in &manifests {
        let text = read(path)?;
        let mut out = String::with_capacity(text.len());
        let mut section = String::new();
        let mut dep_table_has_path = false; // for `[dependencies.foo]` tables
        let mut n = 0;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (i, raw) in lines.iter().enumerate() {
            let line = raw.trim_end_matches(['\n', '\r']);
            let eol = &raw[line.len()..];
            if let Some(s) = section_name(line) {
                section = s;
                dep_table_has_path = is_dep_table(&section)
                    && lines[i + 1..]
                        .iter()
                        .take_while(|l| section_name(l).is_none())
                        .any(|l| string_value(l, "path").is_some());
                out.push_str(raw);
                continue;
            }
            let mut new_line = None;
            if (section == "workspace.package" || section == "package")
                && let Some(v) = string_value(line, "version")
            {
                if v != old.to_string() {
                    return Err(format!(
                        "{}: [{section}] version is {v}, expected {old}",
                        path.display()
                    )
                    .into());
                }
                new_line = Some(line.replacen(&format!("\"{v}\""), &format!("\"{new}\""), 1));
            } else if is_dep_section(&section) {
                new_line = bump_inline_dependency(line, new);
            } else if dep_table_has_path && let Some(req) = string_value(line, "version") {
                new_line = Some(line.replacen(
                    &format!("\"{req}\""),
                    &format!("\"{}\"", bump_requirement(req, new)),
                    1,
                ));
            }
            match new_line {
                Some(l) if l != line => {
                    n += 1;
                    out.push_str(&l);
                    out.push_str(eol);
                }
                _ => out.push_str(raw),
            }
        }
        if n > 0 {
            std::fs::write(path, out)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            changed.push(format!("{}: {n} version string(s)", rel(root, path)));
        }
    }
    // the Python package: a static [project] version moves too (a dynamic one comes from Cargo)
    let pyproject = root.join("mds-py/pyproject.toml");
    if pyproject.is_file() {
        let text = read(&pyproject)?;
        let mut section = String::new();
        let mut out = String::new();
        let mut n = 0;
        for raw in text.split_inclusive('\n') {
            let line = raw.trim_end_matches(['\n', '\r']);
            if let Some(s) = section_name(line) {
                section = s;
            } else if section == "project"
                && let Some(v) = string_value(line, "version")
            {
                out.push_str(&line.replacen(&format!("\"{v}\""), &format!("\"{new}\""), 1));
                out.push_str(&raw[line.len()..]);
                n += 1;
                continue;
            }
            out.push_str(raw);
        }
        if n > 0 {
            std::fs::write(&pyproject, out)?;
            changed.push("mds-py/pyproject.toml: [project] version".into());
        }
    }
    // Cargo.lock follows the manifests
    cmd::output(cargo(root).args(["metadata", "--format-version", "1"]))
        .map_err(|e| format!("updating Cargo.lock: {e}"))?;
    changed.push("Cargo.lock: workspace packages".into());
    Ok(changed)
}

fn is_dep_section(section: &str) -> bool {
    section == "workspace.dependencies"
        || section.ends_with("dependencies")
            && (section.starts_with("target.") || !section.contains('.'))
}

fn is_dep_table(section: &str) -> bool {
    [
        "workspace.dependencies.",
        "dependencies.",
        "dev-dependencies.",
        "build-dependencies.",
    ]
    .iter()
    .any(|p| section.starts_with(p))
        || section.starts_with("target.") && section.contains("dependencies.")
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A workspace member as `cargo metadata` sees it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) manifest: PathBuf,
    pub(crate) publishable: bool,
    /// Requirements on other path dependencies: (dependency name, requirement).
    pub(crate) path_deps: Vec<(String, String)>,
}

/// The workspace members, from `cargo metadata --no-deps`.
pub(crate) fn members(root: &Path) -> Result<Vec<Member>> {
    let out = cmd::output(cargo(root).args(["metadata", "--no-deps", "--format-version", "1"]))?;
    let meta = Json::parse(&out)?;
    let mut members = Vec::new();
    for p in meta.get("packages").map(Json::as_arr).unwrap_or_default() {
        let s = |k: &str| {
            p.get(k)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string()
        };
        // publish: null = anywhere; [] = publish = false; [..] = named registries
        let publishable = match p.get("publish") {
            None | Some(Json::Null) => true,
            Some(Json::Arr(a)) => !a.is_empty(),
            Some(_) => false,
        };
        let path_deps = p
            .get("dependencies")
            .map(Json::as_arr)
            .unwrap_or_default()
            .iter()
            .filter(|d| d.get("path").is_some_and(|x| x.as_str().is_some()))
            .map(|d| {
                let f = |k: &str| {
                    d.get(k)
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                (f("name"), f("req"))
            })
            .collect();
        members.push(Member {
            name: s("name"),
            version: s("version"),
            manifest: PathBuf::from(s("manifest_path")),
            publishable,
            path_deps,
        });
    }
    Ok(members)
}

/// Names of the crates to publish (cargo orders them by dependency when packaging).
fn publishable(root: &Path) -> Result<Vec<String>> {
    Ok(members(root)?
        .into_iter()
        .filter(|m| m.publishable)
        .map(|m| m.name)
        .collect())
}

/// Checks that every version string of the workspace is `v`: member versions, requirements
/// on path dependencies, Cargo.lock's workspace entries, mds-py's pyproject.
pub(crate) fn check_versions(root: &Path, v: Version) -> Result {
    let want = v.to_string();
    let mut bad = Vec::new();
    let members = members(root)?;
    for m in &members {
        if m.version != want {
            bad.push(format!("{} has version {}", m.name, m.version));
        }
        for (dep, req) in &m.path_deps {
            let version_of_req = req.trim_start_matches(|c: char| !c.is_ascii_digit());
            if !req.is_empty() && req != "*" && version_of_req != want {
                bad.push(format!("{} requires {dep} {req}", m.name));
            }
        }
    }
    let lock = read(&root.join("Cargo.lock"))?;
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = string_value(line, "name") {
            name = Some(n);
        } else if let (Some(n), Some(ver)) = (name, string_value(line, "version"))
            && members.iter().any(|m| m.name == n)
            && ver != want
        {
            bad.push(format!("Cargo.lock has {n} {ver}"));
        }
    }
    if let Ok(py) = std::fs::read_to_string(root.join("mds-py/pyproject.toml")) {
        let mut section = String::new();
        for line in py.lines() {
            if let Some(s) = section_name(line) {
                section = s;
            } else if section == "project"
                && let Some(ver) = string_value(line, "version")
                && ver != want
            {
                bad.push(format!("mds-py/pyproject.toml has version {ver}"));
            }
        }
    }
    if bad.is_empty() {
        println!("every version string is {want} ({} crates)", members.len());
        Ok(())
    } else {
        Err(format!("versions out of step with {want}: {}", bad.join("; ")).into())
    }
}

/// Moves `## Unreleased` under a new `## X.Y.Z (date)` header, adds the commits since the
/// last tag, and opens a fresh empty Unreleased section.
pub(crate) fn write_changelog(root: &Path, v: Version, date: &str) -> Result {
    let path = root.join("CHANGELOG.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Changelog\n".into());
    let last_tag =
        cmd::output(git(root).args(["describe", "--tags", "--abbrev=0", "--match", "v[0-9]*"]))
            .ok()
            .map(|t| t.trim().to_string());
    let mut log = git(root);
    log.args(["log", "--no-merges", "--format=%h %s"]);
    if let Some(t) = &last_tag {
        log.arg(format!("{t}..HEAD"));
    }
    let commits = cmd::output(&mut log)?;
    let new = changelog_text(&text, v, date, last_tag.as_deref(), &commits);
    std::fs::write(&path, new).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "CHANGELOG.md: section {v} ({date}), {} commits",
        commits.lines().count()
    );
    Ok(())
}

fn changelog_text(
    text: &str,
    v: Version,
    date: &str,
    since: Option<&str>,
    commits: &str,
) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let unreleased = lines
        .iter()
        .position(|l| l.trim().eq_ignore_ascii_case("## unreleased"));
    let (head, body, tail) = if let Some(i) = unreleased {
        let end = lines[i + 1..]
            .iter()
            .position(|l| l.starts_with("## "))
            .map_or(lines.len(), |j| i + 1 + j);
        (&lines[..i], &lines[i + 1..end], &lines[end..])
    } else {
        let title = lines
            .iter()
            .position(|l| l.starts_with("# "))
            .map_or(0, |t| t + 1);
        (&lines[..title], &[][..], &lines[title..])
    };
    let mut out: Vec<String> = head.iter().map(|s| (*s).to_string()).collect();
    if out.is_empty() {
        out.push("# Changelog".into());
    }
    trim_blank(&mut out);
    out.extend([
        String::new(),
        "## Unreleased".into(),
        String::new(),
        format!("## {v} ({date})"),
    ]);
    let body: Vec<&str> = {
        let b: Vec<&str> = body.to_vec();
        let s = b
            .iter()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(b.len());
        let e = b
            .iter()
            .rposition(|l| !l.trim().is_empty())
            .map_or(s, |e| e + 1);
        b[s..e].to_vec()
    };
    if !body.is_empty() {
        out.push(String::new());
        out.extend(body.iter().map(|s| (*s).to_string()));
    }
    out.push(String::new());
    out.push(match since {
        Some(t) => format!("### Commits since {t}"),
        None => "### Commits".into(),
    });
    out.push(String::new());
    let mut any = false;
    for c in commits.lines().filter(|l| !l.trim().is_empty()) {
        let (hash, subject) = c.split_once(' ').unwrap_or((c, ""));
        out.push(format!("- {subject} ({hash})"));
        any = true;
    }
    if !any {
        out.push("- (none)".into());
    }
    if !tail.is_empty() {
        out.push(String::new());
        out.extend(tail.iter().map(|s| (*s).to_string()));
    }
    trim_blank(&mut out);
    out.join("\n") + "\n"
}

fn trim_blank(v: &mut Vec<String>) {
    while v.last().is_some_and(|l| l.trim().is_empty()) {
        v.pop();
    }
}

/// Today's UTC date, `YYYY-MM-DD` (civil-from-days, H. Hinnant's algorithm).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(i64::try_from(secs / 86_400).unwrap_or(0))
}

fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Builds the wheel and the sdist with maturin, installs the wheel into a fresh venv and
/// imports it there.
fn wheel_and_smoke(work: &Path, v: Version) -> Result {
    let (python, _) = python::find_python()?;
    // maturin from its own small cached venv (the test venv holds torch; this one is quick)
    let tools = Venv {
        dir: python::cache_dir(work).join("maturin-venv"),
    };
    if !tools.dir.join("bin/maturin").is_file() {
        Venv::create(&python, &tools.dir, None)?;
        cmd::run(tools.python().args([
            "-m",
            "pip",
            "install",
            "--progress-bar",
            "off",
            "maturin>=1.5,<2",
        ]))?;
    }
    let dist = test::target_dir(work).join(format!("dist/{v}"));
    let _ = std::fs::remove_dir_all(&dist);
    // the wheel from the workspace (the test suite's `maturin develop --release` left its
    // build in the shared target dir), the sdist on its own: `build --sdist` would compile
    // everything again from the unpacked sdist, and `cargo package` has already checked that
    // the crates build from their packaged sources
    cmd::run(cmd::with_target_dir(
        tools
            .command("maturin")
            .args(["build", "--release", "-m", "mds-py/Cargo.toml", "--out"])
            .arg(&dist)
            .current_dir(work),
    ))?;
    cmd::run(
        tools
            .command("maturin")
            .args(["sdist", "-m", "mds-py/Cargo.toml", "--out"])
            .arg(&dist)
            .current_dir(work),
    )?;
    let files: Vec<PathBuf> = std::fs::read_dir(&dist)?
        .flatten()
        .map(|e| e.path())
        .collect();
    let named = |ext: &str| {
        files
            .iter()
            .find(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with(ext))
            })
            .cloned()
    };
    let wheel =
        named(".whl").ok_or_else(|| format!("maturin wrote no wheel into {}", dist.display()))?;
    let sdist = named(".tar.gz")
        .ok_or_else(|| format!("maturin wrote no sdist into {}", dist.display()))?;
    for f in [&wheel, &sdist] {
        let name = f.file_name().unwrap_or_default().to_string_lossy();
        if !name.contains(&format!("-{v}")) {
            return Err(format!("{name} does not carry version {v}").into());
        }
        println!("built {}", f.display());
    }
    let tmp = python::temp_dir("mds-smoke")?;
    let smoke = Venv::create(&python, &tmp.join("venv"), None)?;
    cmd::run(
        smoke
            .python()
            .args(["-m", "pip", "install", "--progress-bar", "off"])
            .arg(&wheel),
    )?;
    let probe = "import mds; v = getattr(mds, '__version__', None); print('import mds ok, __version__ =', v)\n\
                 import sys; sys.exit(0 if v in (None, sys.argv[1]) else f'mds.__version__ is {v}, expected {sys.argv[1]}')";
    let res = cmd::run(
        smoke
            .python()
            .args(["-c", probe, &v.to_string()])
            .current_dir(&tmp),
    );
    let _ = std::fs::remove_dir_all(&tmp);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(v("0.1.10") > v("0.1.9"));
        assert!(v("1.0.0") > v("0.99.99"));
        assert_eq!(v("0.1.1").to_string(), "0.1.1");
        for bad in [
            "0.1",
            "0.1.1.1",
            "v0.1.1",
            "0.1.x",
            "0.01.1",
            "",
            "0.1.1-rc1",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert!(check_increases(v("0.1.0"), v("0.1.1")).is_ok());
        let e = check_increases(v("0.1.0"), v("0.1.0"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("0.1.0 does not increase the current version 0.1.0"),
            "{e}"
        );
        assert!(check_increases(v("0.2.0"), v("0.1.9")).is_err());
    }

    #[test]
    fn requirement_bumps_keep_the_operator() {
        let v = "0.2.0".parse().unwrap();
        assert_eq!(bump_requirement("0.1.0", v), "0.2.0");
        assert_eq!(bump_requirement("=0.1.0", v), "=0.2.0");
        assert_eq!(bump_requirement("^0.1", v), "^0.2.0");
        let line = r#"mds-format = { path = "mds-format", version = "0.1.0" } # keep"#;
        assert_eq!(
            bump_inline_dependency(line, v).unwrap(),
            r#"mds-format = { path = "mds-format", version = "0.2.0" } # keep"#
        );
        // no path: an external crate, untouched
        assert_eq!(
            bump_inline_dependency(r#"zstd = { version = "0.1.0" }"#, v),
            None
        );
        // `version` as part of another key is not the key
        assert_eq!(
            bump_inline_dependency(
                r#"a = { path = "a", xversion = "1", version = "0.1.0" }"#,
                v
            )
            .unwrap(),
            r#"a = { path = "a", xversion = "1", version = "0.2.0" }"#
        );
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_513), "2026-03-01");
        assert_eq!(civil_date(-1), "1969-12-31");
    }

    #[test]
    fn changelog_section_moves_unreleased_and_lists_commits() {
        let before = "# Changelog\n\n## Unreleased\n\n### Added\n- mds-format: shards (#1)\n\n## 0.1.0 (2026-01-01)\n\n- first\n";
        let after = changelog_text(
            before,
            "0.1.1".parse().unwrap(),
            "2026-11-30",
            Some("v0.1.0"),
            "abc1234 mds-cli: cat\n",
        );
        assert_eq!(
            after,
            "# Changelog\n\n## Unreleased\n\n## 0.1.1 (2026-11-30)\n\n### Added\n- mds-format: shards (#1)\n\n\
             ### Commits since v0.1.0\n\n- mds-cli: cat (abc1234)\n\n## 0.1.0 (2026-01-01)\n\n- first\n"
        );
        // no Unreleased section, no tag yet
        let after = changelog_text(
            "# Changelog\n",
            "0.1.0".parse().unwrap(),
            "2026-11-30",
            None,
            "",
        );
        assert_eq!(
            after,
            "# Changelog\n\n## Unreleased\n\n## 0.1.0 (2026-11-30)\n\n### Commits\n\n- (none)\n"
        );
    }

    /// A clone of this repository's HEAD in a fresh temp dir, with a git identity.
    fn clone_head(prefix: &str) -> (PathBuf, PathBuf) {
        let tmp = python::temp_dir(prefix).unwrap();
        let repo = tmp.join("mds");
        cmd::run(
            git(&tmp)
                .args(["clone", "--quiet"])
                .arg(crate::workspace_root())
                .arg(&repo),
        )
        .unwrap();
        for (k, v) in [
            ("user.name", "xtask test"),
            ("user.email", "xtask@127.0.0.1"),
        ] {
            cmd::run(git(&repo).args(["config", k, v])).unwrap();
        }
        (tmp, repo)
    }

    fn fast(version: Version, dry_run: bool) -> Options {
        Options {
            version,
            dry_run,
            skip_tests: true,
            no_verify: true,
            skip_wheel: true,
        }
    }

    fn next_patch(repo: &Path) -> (Version, Version) {
        let old = workspace_version(repo).unwrap();
        (old, Version(old.0, old.1, old.2 + 1))
    }

    /// The release in a temporary copy of the repository: every version string moves together,
    /// the changelog gets its section, and the result is one commit and one tag.
    #[test]
    fn release_in_a_clone_moves_every_version_together() {
        let (tmp, repo) = clone_head("xtask-release");
        let (old, new) = next_patch(&repo);
        release(&repo, &fast(new, false)).unwrap();

        // independent of check_versions: read the manifests as text
        let manifest = std::fs::read_to_string(repo.join("Cargo.toml")).unwrap();
        assert_eq!(workspace_version(&repo).unwrap(), new);
        let internal: Vec<&str> = manifest
            .lines()
            .filter(|l| l.contains("path =") && l.contains("version ="))
            .collect();
        assert!(
            !internal.is_empty(),
            "no internal dependency found in Cargo.toml"
        );
        for l in internal {
            assert!(
                l.contains(&format!("version = \"{new}\"")),
                "not bumped: {l}"
            );
        }
        for m in members(&repo).unwrap() {
            assert_eq!(m.version, new.to_string(), "{}", m.name);
            for (dep, req) in &m.path_deps {
                assert_eq!(
                    req.trim_start_matches(['^', '=', '~']),
                    new.to_string(),
                    "{} -> {dep}",
                    m.name
                );
            }
        }
        let lock = std::fs::read_to_string(repo.join("Cargo.lock")).unwrap();
        assert!(
            lock.contains(&format!("name = \"mds-format\"\nversion = \"{new}\"")),
            "Cargo.lock not updated"
        );
        assert!(!lock.contains(&format!("name = \"mds-format\"\nversion = \"{old}\"")));
        check_versions(&repo, new).unwrap();

        let changelog = std::fs::read_to_string(repo.join("CHANGELOG.md")).unwrap();
        assert!(
            changelog.contains(&format!("## Unreleased\n\n## {new} (")),
            "{changelog}"
        );
        let status = cmd::output(git(&repo).args(["status", "--porcelain"])).unwrap();
        assert_eq!(status.trim(), "", "the release left uncommitted changes");
        let subject = cmd::output(git(&repo).args(["log", "-1", "--format=%s"])).unwrap();
        assert_eq!(subject.trim(), format!("release {new}"));
        let tag = cmd::output(git(&repo).args(["describe", "--tags", "--exact-match"])).unwrap();
        assert_eq!(tag.trim(), format!("v{new}"));

        // the same version again: refused, it no longer increases
        let e = release(&repo, &fast(new, false)).unwrap_err().to_string();
        assert!(e.contains("does not increase"), "{e}");
        std::fs::remove_dir_all(tmp).unwrap();
    }

    /// `--dry-run` works in its own throwaway clone: the checkout keeps its files, HEAD and tags.
    #[test]
    fn dry_run_leaves_the_tree_unchanged() {
        let (tmp, repo) = clone_head("xtask-dryrun");
        let (_, new) = next_patch(&repo);
        let head = cmd::output(git(&repo).args(["rev-parse", "HEAD"])).unwrap();
        let manifest = std::fs::read(repo.join("Cargo.toml")).unwrap();
        let changelog = std::fs::read(repo.join("CHANGELOG.md")).unwrap();
        release(&repo, &fast(new, true)).unwrap();
        assert_eq!(
            cmd::output(git(&repo).args(["status", "--porcelain"]))
                .unwrap()
                .trim(),
            ""
        );
        assert_eq!(
            cmd::output(git(&repo).args(["rev-parse", "HEAD"])).unwrap(),
            head
        );
        assert_eq!(
            cmd::output(git(&repo).args(["tag", "--list"]))
                .unwrap()
                .trim(),
            ""
        );
        assert_eq!(std::fs::read(repo.join("Cargo.toml")).unwrap(), manifest);
        assert_eq!(std::fs::read(repo.join("CHANGELOG.md")).unwrap(), changelog);
        std::fs::remove_dir_all(tmp).unwrap();
    }

    /// A dirty tree (a modified or an untracked file) is refused with a message naming it.
    #[test]
    fn dirty_tree_is_refused() {
        let (tmp, repo) = clone_head("xtask-dirty");
        let (_, new) = next_patch(&repo);
        let readme = repo.join("README.md");
        let mut text = std::fs::read_to_string(&readme).unwrap();
        text.push_str("\nlocal edit\n");
        std::fs::write(&readme, &text).unwrap();
        for dry_run in [true, false] {
            let e = release(&repo, &fast(new, dry_run)).unwrap_err().to_string();
            assert!(
                e.contains("refusing to release") && e.contains("uncommitted changes"),
                "{e}"
            );
            assert!(e.contains("README.md"), "{e}");
        }
        assert_eq!(
            std::fs::read_to_string(&readme).unwrap(),
            text,
            "the refused release touched the tree"
        );
        cmd::run(git(&repo).args(["checkout", "--quiet", "--", "README.md"])).unwrap();
        std::fs::write(repo.join("notes.txt"), "untracked").unwrap();
        let e = release(&repo, &fast(new, true)).unwrap_err().to_string();
        assert!(e.contains("notes.txt"), "{e}");
        assert_eq!(workspace_version(&repo).unwrap(), next_patch(&repo).0);
        std::fs::remove_dir_all(tmp).unwrap();
    }
}
