//! `cargo xtask`: the workspace's test and release tasks, with std only.
#![allow(clippy::print_stdout)] // a task runner reports on stdout

use std::process::Command;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["test", rest @ ..] => test(rest.contains(&"--quick")),
        _ => Err("usage: cargo xtask <test [--quick] | lint | release X.Y.Z [--dry-run] | bench>".into()),
    }
}

fn test(quick: bool) -> Result {
    let nextest = Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    if nextest {
        run(Command::new("cargo").args(["nextest", "run", "--workspace", "--no-fail-fast"]))?;
    } else {
        run(Command::new("cargo").args(["test", "--workspace", "--no-fail-fast"]))?;
    }
    if !quick {
        run(Command::new("cargo").args(["test", "--workspace", "--doc"]))?;
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result {
    println!("$ {cmd:?}");
    let status = cmd.status()?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {status}").into()) }
}
