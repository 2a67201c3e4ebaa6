//! Child processes and step bookkeeping shared by every task.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Result;

/// A target dir forced on every cargo and maturin run (a release dry run in a temporary clone
/// builds into the original checkout's target dir, so nothing is compiled twice).
static TARGET_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Forces (or with `None` stops forcing) the target dir of cargo and maturin runs.
pub(crate) fn set_target_dir(dir: Option<PathBuf>) {
    if let Ok(mut t) = TARGET_DIR.lock() {
        *t = dir;
    }
}

/// The forced target dir, if any.
pub(crate) fn forced_target_dir() -> Option<PathBuf> {
    TARGET_DIR.lock().ok().and_then(|t| t.clone())
}

/// Sets `CARGO_TARGET_DIR` on `cmd` when a target dir is forced.
pub(crate) fn with_target_dir(cmd: &mut Command) -> &mut Command {
    if let Some(d) = forced_target_dir() {
        cmd.env("CARGO_TARGET_DIR", d);
    }
    cmd
}

/// `cargo`, the same binary that runs xtask when it is set in `$CARGO`.
pub(crate) fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root);
    with_target_dir(&mut c);
    c
}

/// A command in a form to paste into a shell (program and arguments, not the env).
pub(crate) fn display(cmd: &Command) -> String {
    let mut s = String::new();
    // `$CARGO` is a long toolchain path: show it as the command a person would type
    let program = cmd.get_program();
    let program = if Path::new(program).file_name() == Some(OsStr::new("cargo")) {
        OsStr::new("cargo")
    } else {
        program
    };
    for (i, part) in std::iter::once(program).chain(cmd.get_args()).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&quote(part));
    }
    s
}

fn quote(part: &OsStr) -> String {
    let p = part.to_string_lossy();
    let plain = !p.is_empty()
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        p.into_owned()
    } else {
        format!("'{}'", p.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited stdio; an error names the command and its exit status.
pub(crate) fn run(cmd: &mut Command) -> Result {
    println!("$ {}", display(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", display(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", display(cmd)).into())
    }
}

/// Runs `cmd` quietly and returns its stdout; an error carries its stderr.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", display(cmd)))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into())
    }
}

/// Whether `cargo <sub> --version` works (an installed cargo subcommand such as nextest).
pub(crate) fn has_cargo_subcommand(root: &Path, sub: &str) -> bool {
    cargo(root)
        .args([sub, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What became of one step.
#[derive(Debug)]
pub(crate) enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// The steps of a task in order, reported together at the end (`--no-fail-fast` style).
#[derive(Debug, Default)]
pub(crate) struct Steps {
    done: Vec<(String, Outcome, Duration)>,
}

impl Steps {
    /// Runs one step under a header; `Ok(None)` is a pass, `Ok(Some(why))` a skip.
    pub(crate) fn run(&mut self, name: &str, f: impl FnOnce() -> Result<Option<String>>) -> bool {
        let n = self.done.len() + 1;
        println!("\n======== [{n}] {name} ========");
        let start = Instant::now();
        let outcome = match f() {
            Ok(None) => Outcome::Passed,
            Ok(Some(why)) => Outcome::Skipped(why),
            Err(e) => Outcome::Failed(e.to_string()),
        };
        let took = start.elapsed();
        let passed = matches!(outcome, Outcome::Passed | Outcome::Skipped(_));
        match &outcome {
            Outcome::Passed => println!("-------- [{n}] {name}: ok ({:.1}s)", took.as_secs_f64()),
            Outcome::Skipped(why) => {
                println!("-------- [{n}] {name}: SKIPPED: {why}");
            }
            Outcome::Failed(e) => println!(
                "-------- [{n}] {name}: FAILED ({:.1}s): {e}",
                took.as_secs_f64()
            ),
        }
        self.done.push((name.to_string(), outcome, took));
        passed
    }

    /// Records a step that did not run because an earlier one failed.
    pub(crate) fn not_run(&mut self, name: &str, why: &str) {
        self.done.push((
            name.to_string(),
            Outcome::Failed(format!("not run: {why}")),
            Duration::ZERO,
        ));
    }

    /// Prints the summary table; an error when any step failed.
    pub(crate) fn finish(self, task: &str) -> Result {
        let mut table = String::new();
        let (mut ok, mut failed, mut skipped) = (0, 0, 0);
        for (name, outcome, took) in &self.done {
            let secs = took.as_secs_f64();
            let _ = match outcome {
                Outcome::Passed => {
                    ok += 1;
                    writeln!(table, "  ok       {name:<28} {secs:>7.1}s")
                }
                Outcome::Skipped(why) => {
                    skipped += 1;
                    writeln!(table, "  SKIPPED  {name:<28}          {why}")
                }
                Outcome::Failed(e) => {
                    failed += 1;
                    let first = e.lines().next().unwrap_or_default();
                    writeln!(table, "  FAILED   {name:<28} {secs:>7.1}s  {first}")
                }
            };
        }
        println!("\n======== xtask {task}: summary ========\n{table}");
        println!("xtask {task}: {ok} steps ok, {failed} steps failed, {skipped} steps skipped");
        if failed == 0 {
            Ok(())
        } else {
            Err(format!("{failed} step(s) of `xtask {task}` failed").into())
        }
    }
}

/// FNV-1a, 64 bits: a stable fingerprint of small files (std's hasher may change between releases).
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff; // separates ["ab","c"] from ["a","bc"]
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let mut c = Command::new("cargo");
        c.args(["test", "a b", "it's", ""]);
        assert_eq!(display(&c), r"cargo test 'a b' 'it'\''s' ''");
    }

    #[test]
    fn fnv_is_stable_and_separates_parts() {
        assert_eq!(fnv1a(&[b""]), fnv1a(&[b""]));
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
        // the value is part of venv stamps written on disk: it must not change
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
    }
}
