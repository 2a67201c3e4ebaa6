//! `cargo xtask bench`: release binaries, criterion benches, the `../shared/bench` harness for
//! mds (and for the Python library with `--ref-venv`), and `docs/benchmarks.md` from it.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Result;
use crate::cmd::{self, cargo};
use crate::python;
use crate::test;

const USAGE: &str = "\
usage: cargo xtask bench [options]
  --ref-venv DIR     venv with mosaicml-streaming: runs its reader (label ref, the base of the
                     ratios) and creates missing datasets with make_datasets.py
  --py-reader CMD    also run this reader command (e.g. the mds Python package), label mds-py
  --shared DIR       the shared material (default: ../shared beside the repository)
  --out DIR          BENCH_OUT: datasets and results (default: bench-out)
  --reps N           runs per configuration (default 3)
  --datasets LIST    e.g. tokens,text (default: the harness's)
  --modes LIST       e.g. seq,shuffle,dl (default: the harness's)
  --scale F          dataset size for make_datasets.py (default 1.0; 0.05 for a smoke run)
  --remote           also the remote read over the S3 emulator (needs --ref-venv for moto)
  --no-criterion     skip `cargo bench --workspace`
";

#[derive(Debug, Default)]
struct Options {
    ref_venv: Option<PathBuf>,
    py_reader: Option<String>,
    shared: Option<PathBuf>,
    out: Option<PathBuf>,
    reps: Option<String>,
    datasets: Option<String>,
    modes: Option<String>,
    scale: Option<String>,
    remote: bool,
    no_criterion: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--ref-venv" => o.ref_venv = Some(val()?.into()),
            "--py-reader" => o.py_reader = Some(val()?),
            "--shared" => o.shared = Some(val()?.into()),
            "--out" => o.out = Some(val()?.into()),
            "--reps" => o.reps = Some(val()?),
            "--datasets" => o.datasets = Some(val()?),
            "--modes" => o.modes = Some(val()?),
            "--scale" => o.scale = Some(val()?),
            "--remote" => o.remote = true,
            "--no-criterion" => o.no_criterion = true,
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a}\n{USAGE}").into()),
        }
    }
    Ok(o)
}

pub(crate) fn main(root: &Path, args: &[String]) -> Result {
    let o = parse(args)?;
    let shared = o.shared.clone().unwrap_or_else(|| root.join("../shared"));
    let harness = shared.join("bench");
    if !harness.join("read_local.py").is_file() {
        return Err(format!(
            "no bench harness at {} (pass --shared DIR)",
            harness.display()
        )
        .into());
    }
    let out = o.out.clone().unwrap_or_else(|| root.join("bench-out"));
    let out = if out.is_absolute() {
        out
    } else {
        root.join(out)
    };
    std::fs::create_dir_all(&out)?;
    let python = match &o.ref_venv {
        Some(v) => v.join("bin/python").display().to_string(),
        None => python::find_python()?.0,
    };
    let env = |c: &mut Command| {
        c.env("BENCH_OUT", &out).current_dir(root);
        if let Some(v) = &o.ref_venv {
            c.env("REF_VENV", v);
        }
    };

    header("release build");
    cmd::run(cargo(root).args(["build", "--release", "-p", "mds-cli"]))?;
    let mds = test::target_dir(root).join("release/mds");
    let reader = format!("{} bench-read", mds.display());
    cmd::output(Command::new(&mds).args(["bench-read", "--help"]))
        .map_err(|e| format!("`{reader}` is not there yet (the bench reader of mds-cli): {e}"))?;

    let mut criterion = Vec::new();
    if !o.no_criterion {
        header("criterion: cargo bench --workspace");
        criterion = tee_criterion(cargo(root).args(["bench", "--workspace"]))?;
    }

    header("datasets");
    let datasets = o
        .datasets
        .clone()
        .unwrap_or_else(|| "tokens,text,images,text_zstd".into());
    let missing: Vec<&str> = datasets
        .split(',')
        .filter(|d| !out.join("data").join(d).join("index.json").is_file())
        .collect();
    if missing.is_empty() {
        println!("reusing the datasets in {}", out.join("data").display());
    } else if o.ref_venv.is_some() {
        let mut c = Command::new(&python);
        c.arg(harness.join("make_datasets.py"))
            .args(["--only", &missing.join(","), "--reps", "1"]);
        if let Some(s) = &o.scale {
            c.args(["--scale", s]);
        }
        env(&mut c);
        cmd::run(&mut c)?;
    } else {
        return Err(format!(
            "datasets {} are missing in {}: pass --ref-venv DIR (a venv with mosaicml-streaming) to create them",
            missing.join(","),
            out.join("data").display()
        )
        .into());
    }

    let labels = read_steps(&o, &harness, &python, &reader, &datasets, &env)?;

    header("report");
    let mut c = Command::new(&python);
    c.arg(harness.join("report.py"))
        .args(["--labels", &labels.join(",")]);
    env(&mut c);
    let report = cmd::output(&mut c)?;
    let doc = document(root, args, &labels, &report, &criterion);
    let path = root.join("docs/benchmarks.md");
    std::fs::create_dir_all(root.join("docs"))?;
    std::fs::write(&path, doc).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    print!("{report}");
    println!("\nwrote {}", path.display());
    Ok(())
}

/// Runs the readers of the harness; returns the labels measured, the base first.
fn read_steps(
    o: &Options,
    harness: &Path,
    python: &str,
    reader: &str,
    datasets: &str,
    env: &dyn Fn(&mut Command),
) -> Result<Vec<String>> {
    let mut labels = Vec::new();
    let mut local = |label: &str, reader: Option<&str>| -> Result {
        header(&format!("local read: {label}"));
        let mut c = Command::new(python);
        c.arg(harness.join("read_local.py"))
            .args(["--label", label, "--datasets", datasets]);
        if let Some(r) = reader {
            c.args(["--reader", r]);
        }
        if let Some(m) = &o.modes {
            c.args(["--modes", m]);
        }
        if let Some(r) = &o.reps {
            c.args(["--reps", r]);
        }
        env(&mut c);
        cmd::run(&mut c)?;
        labels.push(label.to_string());
        Ok(())
    };
    if o.ref_venv.is_some() {
        local("ref", None)?;
    }
    local("rust", Some(reader))?;
    if let Some(r) = &o.py_reader {
        local("mds-py", Some(r))?;
    }
    if o.remote {
        if o.ref_venv.is_none() {
            return Err(
                "--remote needs --ref-venv (the harness serves S3 with moto from it)".into(),
            );
        }
        for (label, r) in [("ref", None), ("rust", Some(reader))] {
            header(&format!("remote read: {label}"));
            let mut c = Command::new(python);
            // The page-cache ceiling reads only the datasets made here (its default list
            // includes text_zstd, which a narrower --datasets does not create).
            c.arg(harness.join("read_remote.py")).args([
                "--label",
                label,
                "--cat-datasets",
                datasets,
            ]);
            if let Some(r) = r {
                c.args(["--reader", r]);
            }
            if let Some(n) = &o.reps {
                c.args(["--reps", n]);
            }
            env(&mut c);
            cmd::run(&mut c)?;
        }
    }

    Ok(labels)
}

fn header(name: &str) {
    println!("\n======== bench: {name} ========");
}

/// Runs criterion, echoing its output, and keeps the result lines (name, time, thrpt).
fn tee_criterion(c: &mut Command) -> Result<Vec<String>> {
    println!("$ {}", cmd::display(c));
    let mut child = c.stdout(Stdio::piped()).spawn()?;
    let mut kept = Vec::new();
    let mut name = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            criterion_line(&line, &mut name, &mut kept);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("cargo bench failed ({status})").into());
    }
    Ok(kept)
}

fn criterion_line(line: &str, name: &mut String, kept: &mut Vec<String>) {
    let t = line.trim();
    if t.is_empty() {
        return;
    }
    let indented = line.starts_with(' ');
    if t.contains("time:") || t.starts_with("thrpt:") {
        if indented && t.starts_with("time:") && !name.is_empty() {
            kept.push(std::mem::take(name));
        }
        kept.push(line.trim_end().to_string());
    } else if !indented && !t.starts_with("Running") && !t.starts_with("Benchmarking") {
        name.clear();
        name.push_str(t);
    }
}

fn document(
    root: &Path,
    args: &[String],
    labels: &[String],
    report: &str,
    criterion: &[String],
) -> String {
    let git =
        |a: &[&str]| cmd::output(Command::new("git").args(a).current_dir(root)).unwrap_or_default();
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    let date =
        cmd::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let uname = cmd::output(Command::new("uname").arg("-sr")).unwrap_or_default();
    let mut d = String::new();
    let _ = writeln!(d, "# Benchmarks\n");
    let _ = writeln!(
        d,
        "Written by `cargo xtask bench {}` on {} at commit {} ({cores} cores, {}).\n",
        args.join(" "),
        date.trim(),
        commit.trim(),
        uname.trim()
    );
    let _ = writeln!(
        d,
        "Readers: {}. Ratios compare readers measured side by side in this one run (the machine is \
         noisy: never compare figures of different runs). The harness and its reader contract are \
         in `../shared/bench/README.md`.\n",
        labels.join(", ")
    );
    let _ = writeln!(
        d,
        "## Reading and writing MDS: the bench harness\n\n{}",
        report.trim_end()
    );
    if !criterion.is_empty() {
        let _ = writeln!(
            d,
            "\n## Criterion (`cargo bench --workspace`)\n\n```text\n{}\n```",
            criterion.join("\n")
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_lines_are_kept_with_their_names() {
        let out = "\
     Running benches/decode.rs (target/release/deps/decode-1)
Benchmarking decode/tokens: Warming up for 3.0000 s
decode/tokens           time:   [1.0 ms 1.1 ms 1.2 ms]
                        thrpt:  [800 MiB/s 810 MiB/s 820 MiB/s]
                 change: [-1.0% +0.2% +1.1%] (p = 0.70 > 0.05)
a/very/long/benchmark/name/that/wraps
                        time:   [5.0 us 5.1 us 5.2 us]
Found 3 outliers among 100 measurements (3.00%)
";
        let (mut name, mut kept) = (String::new(), Vec::new());
        for l in out.lines() {
            criterion_line(l, &mut name, &mut kept);
        }
        assert_eq!(
            kept,
            [
                "decode/tokens           time:   [1.0 ms 1.1 ms 1.2 ms]",
                "                        thrpt:  [800 MiB/s 810 MiB/s 820 MiB/s]",
                "a/very/long/benchmark/name/that/wraps",
                "                        time:   [5.0 us 5.1 us 5.2 us]",
            ]
        );
    }

    #[test]
    fn options() {
        let a: Vec<String> = ["--ref-venv", "/tmp/ref", "--reps", "1", "--remote"]
            .map(String::from)
            .to_vec();
        let o = parse(&a).unwrap();
        assert_eq!(o.ref_venv.as_deref(), Some(Path::new("/tmp/ref")));
        assert_eq!(o.reps.as_deref(), Some("1"));
        assert!(o.remote && !o.no_criterion);
        assert!(parse(&["--reps".to_string()]).is_err());
        assert!(parse(&["--bogus".to_string()]).is_err());
    }
}
