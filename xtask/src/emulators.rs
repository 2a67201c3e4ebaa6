//! The object-store emulators of the backend tests: `scripts/emulators/start.sh STATE_DIR`
//! starts them on 127.0.0.1 and writes `STATE_DIR/env` (KEY=VALUE lines the tests read) and
//! `STATE_DIR/pids`; `scripts/emulators/stop.sh STATE_DIR` stops them by PID.
//!
//! `stop.sh` must run however xtask ends, Ctrl-C and `kill -9` included, and std cannot catch
//! signals. So before starting anything xtask spawns a guard shell that ignores INT/TERM/HUP
//! and blocks reading a pipe whose only writer is xtask: when xtask exits, normally or not,
//! the kernel closes the pipe, the guard's read returns and it runs `stop.sh`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::Result;
use crate::cmd;

const START: &str = "scripts/emulators/start.sh";
const STOP: &str = "scripts/emulators/stop.sh";

/// Running emulators; dropping this (or [`Emulators::stop`]) stops them.
#[derive(Debug)]
pub(crate) struct Emulators {
    env: Vec<(String, String)>,
    guard: Option<Child>,
    state_dir: PathBuf,
}

/// Whether this checkout has the emulator scripts yet.
pub(crate) fn available(root: &Path) -> bool {
    root.join(START).is_file() && root.join(STOP).is_file()
}

impl Emulators {
    /// Starts the emulators, state under `state_dir`. The guard is armed first, so a
    /// half-failed start is still stopped.
    pub(crate) fn start(root: &Path, state_dir: &Path) -> Result<Self> {
        if state_dir.join("pids").exists() {
            println!(
                "stopping emulators left over from an earlier run in {}",
                state_dir.display()
            );
            let _ = cmd::run(
                Command::new("bash")
                    .arg(root.join(STOP))
                    .arg(state_dir)
                    .current_dir(root),
            );
        }
        if state_dir.exists() {
            std::fs::remove_dir_all(state_dir)
                .map_err(|e| format!("cannot clear {}: {e}", state_dir.display()))?;
        }
        std::fs::create_dir_all(state_dir)
            .map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
        let guard = Command::new("sh")
            .args([
                "-c",
                r#"trap '' INT TERM HUP; cat >/dev/null; exec bash "$0" "$1""#,
            ])
            .arg(root.join(STOP))
            .arg(state_dir)
            .current_dir(root)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the emulator guard: {e}"))?;
        let mut this = Self {
            env: Vec::new(),
            guard: Some(guard),
            state_dir: state_dir.to_path_buf(),
        };
        cmd::run(
            Command::new("bash")
                .arg(root.join(START))
                .arg(state_dir)
                .current_dir(root),
        )?;
        let env_file = state_dir.join("env");
        let text = std::fs::read_to_string(&env_file)
            .map_err(|e| format!("{START} wrote no {}: {e}", env_file.display()))?;
        this.env = parse_env(&text)
            .map_err(|line| format!("{}: not a KEY=VALUE line: {line:?}", env_file.display()))?;
        for (k, v) in &this.env {
            println!("  {k}={v}");
        }
        Ok(this)
    }

    /// The variables the tests need to find the emulators.
    pub(crate) fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Stops the emulators and waits for `stop.sh`.
    pub(crate) fn stop(mut self) -> Result {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result {
        let Some(mut guard) = self.guard.take() else {
            return Ok(());
        };
        println!("$ bash {STOP} {}", self.state_dir.display());
        drop(guard.stdin.take()); // EOF: the guard runs stop.sh
        let status = guard
            .wait()
            .map_err(|e| format!("waiting for {STOP}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{STOP} failed ({status})").into())
        }
    }
}

impl Drop for Emulators {
    fn drop(&mut self) {
        if let Err(e) = self.stop_now() {
            eprintln!("xtask: {e}");
        }
    }
}

/// `KEY=VALUE` lines; blank lines and `#` comments skipped, `export ` and quotes allowed.
fn parse_env(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(line.to_string());
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(line.to_string());
        }
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|&(a, b)| v.strip_prefix(a).and_then(|v| v.strip_suffix(b)))
            .unwrap_or(v);
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines() {
        let env = parse_env("# emulators\nA=1\n\nexport B=\"x y\"\nC='s3://b'\nD=\n").unwrap();
        let want = [("A", "1"), ("B", "x y"), ("C", "s3://b"), ("D", "")];
        assert_eq!(env.len(), want.len());
        for ((k, v), (wk, wv)) in env.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
        assert_eq!(parse_env("no equals sign").unwrap_err(), "no equals sign");
        assert!(parse_env("BAD KEY=1").is_err());
    }

    /// The guard runs stop.sh when its owner goes away without calling `stop`.
    #[test]
    fn dropping_runs_stop_script() {
        let dir = crate::python::temp_dir("xtask-emu").unwrap();
        let root = dir.join("repo");
        std::fs::create_dir_all(root.join("scripts/emulators")).unwrap();
        std::fs::write(
            root.join(START),
            "echo A_URL=http://127.0.0.1:1 > \"$1/env\"; echo 1 > \"$1/pids\"\n",
        )
        .unwrap();
        std::fs::write(
            root.join(STOP),
            "rm \"$1/pids\"; echo stopped > \"$1/stopped\"\n",
        )
        .unwrap();
        let state = dir.join("state");
        let emu = Emulators::start(&root, &state).unwrap();
        assert_eq!(
            emu.env(),
            [("A_URL".to_string(), "http://127.0.0.1:1".to_string())]
        );
        assert!(!state.join("stopped").exists());
        drop(emu);
        assert!(state.join("stopped").exists());
        assert!(!state.join("pids").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
