//! `cargo xtask test`: the whole suite, every step run even when an earlier one fails.
//!
//! 1. `cargo fmt --check`, clippy `-D warnings`, rustdoc `-D warnings` (all features: the docs
//!    of feature-gated items are checked too)
//! 2. the emulators (`scripts/emulators/start.sh`), their env exported to the tests with
//!    `MDS_TEST_REQUIRE_BACKENDS=1`, stopped at the end however xtask ends
//! 3. `cargo nextest run` (or `cargo test`) over the workspace, then the doc tests, all features
//!    on (the backend suites of mds-fetch sit behind its s3/gcs/azure/http features)
//! 4. the Python venv (prepared in the background during step 3), the package built into it,
//!    the stub check, pytest

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::Result;
use crate::cmd::{self, Steps, cargo};
use crate::emulators::{self, Emulators};
use crate::python::{self, TestVenv};

pub(crate) fn main(root: &Path, args: &[String]) -> Result {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => suite(root),
        ["--quick"] => {
            let mut steps = Steps::default();
            steps.run("cargo test --workspace --lib", || {
                cmd::run(cargo(root).args(["test", "--workspace", "--lib"])).map(|()| None)
            });
            steps.finish("test --quick")
        }
        _ => Err("usage: cargo xtask test [--quick]".into()),
    }
}

/// The target dir cargo uses here: `$CARGO_TARGET_DIR` or `<root>/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    if let Some(d) = cmd::forced_target_dir() {
        return d;
    }
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d))
}

/// Runs the full suite in the checkout at `root`.
pub(crate) fn suite(root: &Path) -> Result {
    let mut steps = Steps::default();
    steps.run("cargo fmt --check", || {
        cmd::run(cargo(root).args(["fmt", "--all", "--check"])).map(|()| None)
    });
    steps.run("clippy -D warnings", || {
        cmd::run(cargo(root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
        .map(|()| None)
    });
    steps.run("rustdoc -D warnings", || {
        cmd::run(
            cargo(root)
                .args(["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )
        .map(|()| None)
    });

    // emulators: the guard inside `Emulators` stops them on every way out of this function
    let mut emu: Option<Emulators> = None;
    let mut env: Vec<(String, String)> = Vec::new();
    if emulators::available(root) {
        let state = target_dir(root).join("xtask/emulators");
        steps.run("start emulators", || {
            emu = Some(Emulators::start(root, &state)?);
            Ok(None)
        });
        env.extend(emu.as_ref().map(|e| e.env().to_vec()).unwrap_or_default());
        env.push(("MDS_TEST_REQUIRE_BACKENDS".into(), "1".into()));
    } else {
        steps.run("start emulators", || {
            Ok(Some(
                "!!! scripts/emulators/start.sh does not exist yet: backend tests run without emulators !!!".into(),
            ))
        });
    }

    let py_skip = python_skip_reason(root);
    let venv_job = match &py_skip {
        None => Some(spawn_venv(root)?),
        Some(_) => None,
    };

    let nextest = cmd::has_cargo_subcommand(root, "nextest");
    let name = if nextest {
        "cargo nextest run"
    } else {
        "cargo test"
    };
    steps.run(name, || {
        let mut c = cargo(root);
        if nextest {
            c.args([
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ]);
        } else {
            c.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
        }
        cmd::run(c.envs(env.iter().map(|(k, v)| (k, v)))).map(|()| None)
    });
    steps.run("cargo test --doc", || {
        cmd::run(
            cargo(root)
                .args(["test", "--workspace", "--all-features", "--doc"])
                .envs(env.iter().map(|(k, v)| (k, v))),
        )
        .map(|()| None)
    });

    python_steps(root, &mut steps, py_skip, venv_job, &env);

    if let Some(e) = emu.take() {
        steps.run("stop emulators", || e.stop().map(|()| None));
    }
    steps.finish("test")
}

/// The Python steps: the venv (being prepared on `venv_job`), the build, stubs, pytest.
fn python_steps(
    root: &Path,
    steps: &mut Steps,
    py_skip: Option<String>,
    venv_job: Option<VenvJob>,
    env: &[(String, String)],
) {
    match venv_job {
        None => {
            let why = py_skip.unwrap_or_default();
            steps.run("python suite", || Ok(Some(format!("!!! {why} !!!"))));
        }
        Some((job, log_path)) => {
            let mut venv: Option<TestVenv> = None;
            let ok = steps.run("python venv", || {
                let joined = job
                    .join()
                    .map_err(|_| "the venv thread panicked".to_string())?;
                match joined {
                    Ok(v) => {
                        println!(
                            "venv ready: {} (log: {})",
                            v.venv.dir.display(),
                            log_path.display()
                        );
                        venv = Some(v);
                        Ok(None)
                    }
                    Err(e) => {
                        print_tail(&log_path, 60);
                        Err(e.into())
                    }
                }
            });
            match venv.filter(|_| ok) {
                Some(v) => {
                    let built = steps.run("build mds-py into the venv", || {
                        python::build_into(root, &v.venv).map(|()| None)
                    });
                    if built {
                        steps.run("python stubs vs module", || {
                            python::check_stubs(root, &v.venv)
                        });
                        steps.run("pytest", || {
                            python::pytest(root, &v.venv, env).map(|()| None)
                        });
                    } else {
                        steps.not_run("python stubs vs module", "the build failed");
                        steps.not_run("pytest", "the build failed");
                    }
                }
                None => steps.not_run("pytest", "no venv"),
            }
        }
    }
}

/// Why the Python suite cannot run in this checkout yet, if it cannot.
fn python_skip_reason(root: &Path) -> Option<String> {
    if !root.join(python::TESTS).is_dir() {
        return Some(format!(
            "{} does not exist yet: the Python suite is skipped",
            python::TESTS
        ));
    }
    if !root.join(python::REQUIREMENTS).is_file() {
        return Some(format!(
            "{} does not exist yet: the Python suite is skipped",
            python::REQUIREMENTS
        ));
    }
    None
}

type VenvJob = (JoinHandle<Result<TestVenv, String>>, PathBuf);

/// Prepares the venv on a thread while cargo builds and tests (pip is mostly network and disk).
fn spawn_venv(root: &Path) -> Result<VenvJob> {
    let log_dir = target_dir(root).join("xtask");
    std::fs::create_dir_all(&log_dir)?;
    let log_path = log_dir.join("venv.log");
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    println!(
        "preparing the Python venv in the background (log: {})",
        log_path.display()
    );
    let root = root.to_path_buf();
    let job =
        std::thread::spawn(move || python::test_venv(&root, Some(&log)).map_err(|e| e.to_string()));
    Ok((job, log_path))
}

fn print_tail(path: &Path, n: usize) {
    if let Ok(text) = std::fs::read_to_string(path) {
        let lines: Vec<&str> = text.lines().collect();
        println!("--- last {n} lines of {} ---", path.display());
        for l in &lines[lines.len().saturating_sub(n)..] {
            println!("{l}");
        }
    }
}
