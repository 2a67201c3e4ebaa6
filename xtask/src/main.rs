//! `cargo xtask`: the workspace's test, lint, release and benchmark tasks, with std only.
//!
//! Run `cargo xtask help` for the commands. Every task runs plain child processes (cargo,
//! git, python, maturin) and prints a header per step and a summary at the end.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a task runner reports on the terminal

mod bench;
mod cmd;
mod emulators;
mod json;
mod lint;
mod python;
mod release;
mod test;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Errors of a task: a message for the terminal, nothing to match on.
type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <command>

  test [--quick]            the whole suite: fmt, clippy, docs, cargo tests (nextest), doc tests,
                            emulators, the Python package's pytest suite; --quick: unit tests only
  lint                      fmt check, clippy -D warnings, rustdoc -D warnings, Python stubs
  release X.Y.Z [--dry-run] bump every version, write the changelog, package the crates, build the
                            wheel and sdist, smoke-import the wheel, commit and tag
                            (--dry-run: all of it in a temporary clone; nothing is committed)
  bench [--ref-venv DIR]    release build, criterion benches, the ../shared/bench harness,
                            writes docs/benchmarks.md (bench --help for the options)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let outcome = match args.first().map(String::as_str) {
        Some("test") => test::main(&root, &args[1..]),
        Some("lint") => lint::main(&root, &args[1..]),
        Some("release") => release::main(&root, &args[1..]),
        Some("bench") => bench::main(&root, &args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}
