//! `cargo xtask lint`: fmt check, clippy and rustdoc with `-D warnings`, and the Python stubs
//! checked against the built module.

use std::path::Path;

use crate::Result;
use crate::cmd::{self, Steps, cargo};
use crate::python;

pub(crate) fn main(root: &Path, args: &[String]) -> Result {
    if !args.is_empty() {
        return Err("usage: cargo xtask lint".into());
    }
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
    steps.run("python stubs vs module", || {
        let has_stubs = python::has_stubs(root);
        if !has_stubs {
            return Ok(Some(format!("no {}/*.pyi yet", python::PACKAGE_SOURCE)));
        }
        if !root.join(python::REQUIREMENTS).is_file() {
            return Ok(Some(format!(
                "no {} yet: no venv to import the module in",
                python::REQUIREMENTS
            )));
        }
        let venv = python::test_venv(root, None)?;
        python::build_into(root, &venv.venv)?;
        python::check_stubs(root, &venv.venv)
    });
    steps.finish("lint")
}
