//! The Python side: the test venv (cached under `$HOME/.cache/mds/venv`, reinstalled when
//! `mds-py/requirements-test.txt` or the interpreter changes), building the package into it,
//! the stub check and pytest.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::Result;
use crate::cmd;

/// The requirements of the pytest suite (owned by mds-py).
pub(crate) const REQUIREMENTS: &str = "mds-py/requirements-test.txt";
/// The pytest suite.
pub(crate) const TESTS: &str = "mds-py/tests";
/// Where the hand-written stubs live.
pub(crate) const PACKAGE_SOURCE: &str = "mds-py/python/mds";

/// A fresh directory under the system temp dir (std has no mkdtemp).
pub(crate) fn temp_dir(prefix: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos:x}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// `$MDS_CACHE_DIR`, else `$HOME/.cache/mds`: slow installs that outlive a clone.
pub(crate) fn cache_dir(root: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("MDS_CACHE_DIR") {
        return PathBuf::from(d);
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/mds"),
        None => root.join("target/mds-cache"),
    }
}

/// The first of `$MDS_PYTHON`, python3, python3.11… that is Python 3.11 or newer, and its version.
pub(crate) fn find_python() -> Result<(String, String)> {
    let mut candidates: Vec<String> = std::env::var("MDS_PYTHON").into_iter().collect();
    candidates.extend(["python3", "python3.11", "python3.12", "python3.13"].map(String::from));
    let probe = "import sys; print(sys.version_info >= (3, 11), sys.version.split()[0])";
    let mut seen = Vec::new();
    for exe in candidates {
        if let Ok(out) = cmd::output(Command::new(&exe).args(["-c", probe])) {
            match out.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["True", v] => return Ok((exe, (*v).to_string())),
                [_, v] => seen.push(format!("{exe} is {v}")),
                _ => {}
            }
        }
    }
    Err(format!(
        "no Python 3.11+ found (set MDS_PYTHON); {}",
        seen.join(", ")
    )
    .into())
}

/// A virtual environment.
#[derive(Debug, Clone)]
pub(crate) struct Venv {
    pub(crate) dir: PathBuf,
}

impl Venv {
    /// A program of the venv, run as if the venv were activated.
    pub(crate) fn command(&self, program: &str) -> Command {
        let bin = self.dir.join("bin");
        let mut c = Command::new(bin.join(program));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        c.env("VIRTUAL_ENV", &self.dir)
            .env("PATH", std::env::join_paths(paths).unwrap_or(path))
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env_remove("PYTHONHOME");
        c
    }

    /// `python` of the venv.
    pub(crate) fn python(&self) -> Command {
        self.command("python")
    }

    fn works(&self) -> bool {
        self.python()
            .args(["-c", "import sys; sys.exit(sys.prefix == sys.base_prefix)"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Creates a venv at `dir` with `python` (`--clear` empties an existing one).
    pub(crate) fn create(python: &str, dir: &Path, log: Option<&File>) -> Result<Self> {
        run_logged(
            Command::new(python)
                .args(["-m", "venv", "--clear"])
                .arg(dir),
            log,
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }
}

/// Runs `cmd`, its output appended to `log` when given (else inherited).
pub(crate) fn run_logged(cmd: &mut Command, log: Option<&File>) -> Result {
    if let Some(log) = log {
        use std::io::Write as _;
        let mut l = log;
        let _ = writeln!(l, "$ {}", cmd::display(cmd));
        cmd.stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .stdin(Stdio::null());
        let status = cmd
            .status()
            .map_err(|e| format!("cannot start `{}`: {e}", cmd::display(cmd)))?;
        if status.success() {
            return Ok(());
        }
        return Err(format!("`{}` failed ({status})", cmd::display(cmd)).into());
    }
    cmd::run(cmd)
}

/// The test venv, locked for as long as this value lives (other xtask runs wait).
#[derive(Debug)]
pub(crate) struct TestVenv {
    pub(crate) venv: Venv,
    _lock: File,
}

/// Creates or reuses `$cache/venv` with the test requirements installed.
///
/// Reused as is when the stamp (requirements + interpreter version) matches; pip's own cache
/// under `$HOME/.cache/pip` keeps a reinstall cheap.
pub(crate) fn test_venv(root: &Path, log: Option<&File>) -> Result<TestVenv> {
    let req_path = root.join(REQUIREMENTS);
    let requirements =
        std::fs::read(&req_path).map_err(|e| format!("cannot read {}: {e}", req_path.display()))?;
    let (python, version) = find_python()?;
    let cache = cache_dir(root);
    std::fs::create_dir_all(&cache)
        .map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let lock = File::create(cache.join("venv.lock"))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", cache.join("venv.lock").display()))?;

    let venv = Venv {
        dir: cache.join("venv"),
    };
    let stamp_path = venv.dir.join(".mds-xtask-stamp");
    let stamp = format!(
        "{:016x}",
        cmd::fnv1a(&[b"xtask-venv-1", version.as_bytes(), &requirements])
    );
    if venv.works() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s.trim() == stamp) {
        log_line(
            log,
            &format!("reusing {} (requirements unchanged)", venv.dir.display()),
        );
        return Ok(TestVenv { venv, _lock: lock });
    }
    let venv_version = cmd::output(
        venv.python()
            .args(["-c", "import sys; print(sys.version.split()[0])"]),
    );
    if !venv.works() || venv_version.map(|v| v.trim().to_string()).ok().as_deref() != Some(&version)
    {
        Venv::create(&python, &venv.dir, log)?;
    }
    let _ = std::fs::remove_file(&stamp_path);
    run_logged(
        venv.python()
            .args(["-m", "pip", "install", "--progress-bar", "off", "-r"])
            .arg(&req_path)
            .current_dir(root),
        log,
    )?;
    std::fs::write(&stamp_path, format!("{stamp} python {version}\n"))?;
    Ok(TestVenv { venv, _lock: lock })
}

fn log_line(log: Option<&File>, line: &str) {
    use std::io::Write as _;
    match log {
        Some(mut f) => {
            let _ = writeln!(f, "{line}");
        }
        None => println!("{line}"),
    }
}

/// Builds the package into the venv: `maturin develop --release` (the workspace's target dir
/// is shared), or `pip install ./mds-py` when the venv has no maturin.
pub(crate) fn build_into(root: &Path, venv: &Venv) -> Result {
    if venv.dir.join("bin/maturin").is_file() {
        cmd::run(cmd::with_target_dir(
            venv.command("maturin")
                .args(["develop", "--release", "-m", "mds-py/Cargo.toml"])
                .current_dir(root),
        ))
    } else {
        cmd::run(cmd::with_target_dir(
            venv.python()
                .args(["-m", "pip", "install", "./mds-py"])
                .current_dir(root),
        ))
    }
}

/// Checks the `.pyi` stubs of the package against the imported module: every public name of a
/// stub exists at run time and every public name of the module is in its stub (for classes too).
/// `Ok(Some(why))` when there are no stubs to check.
pub(crate) fn check_stubs(root: &Path, venv: &Venv) -> Result<Option<String>> {
    let src = root.join(PACKAGE_SOURCE);
    let has_stubs = has_stubs(root);
    if !has_stubs {
        return Ok(Some(format!("no {PACKAGE_SOURCE}/*.pyi yet")));
    }
    // run outside the repository so `import mds` finds the installed package
    let cwd = temp_dir("xtask-stubs")?;
    let res = cmd::run(
        venv.python()
            .args(["-c", STUB_CHECK])
            .arg(&src)
            .current_dir(&cwd),
    );
    let _ = std::fs::remove_dir_all(&cwd);
    res.map(|()| None)
}

/// pytest over the suite with `env` added; no collected test is a failure.
pub(crate) fn pytest(root: &Path, venv: &Venv, env: &[(String, String)]) -> Result {
    let mut c = venv.python();
    c.args(["-m", "pytest", TESTS, "-ra"]).current_dir(root);
    c.envs(env.iter().map(|(k, v)| (k, v)));
    println!("$ {}", cmd::display(&c));
    let status = c
        .status()
        .map_err(|e| format!("cannot start pytest: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(5) => Err(format!("pytest collected no tests in {TESTS}").into()),
        _ => Err(format!("pytest failed ({status})").into()),
    }
}

/// Whether the package source has `.pyi` stubs.
pub(crate) fn has_stubs(root: &Path) -> bool {
    std::fs::read_dir(root.join(PACKAGE_SOURCE)).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "pyi"))
    })
}

/// The stub check, run by the venv's python with the package source dir as its argument.
const STUB_CHECK: &str = r"
import ast, importlib, inspect, pathlib, sys, types

src = pathlib.Path(sys.argv[1])
errors, checked = [], 0

def public(n):
    return not n.startswith('_')

def stub_names(body):
    names, star, explicit_all = {}, False, None
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    if t.id == '__all__':
                        explicit_all = set(ast.literal_eval(node.value))
                    else:
                        names[t.id] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name == '*':
                    star = True
                elif a.asname and a.asname == a.name:  # `import X as X` re-exports X
                    names[a.asname] = None
    return names, star, explicit_all

def foreign(v):
    # a class or function imported from outside the package is not the module's own API
    m = getattr(v, '__module__', None)
    return (inspect.isclass(v) or inspect.isroutine(v)) and m is not None \
        and m != 'builtins' and m.split('.')[0] != 'mds'

for stub in sorted(src.rglob('*.pyi')):
    rel = stub.relative_to(src.parent).with_suffix('')
    parts = list(rel.parts)
    if parts[-1] == '__init__':
        parts.pop()
    modname = '.'.join(parts)
    try:
        mod = importlib.import_module(modname)
    except Exception as e:
        errors.append(f'{stub.name}: cannot import {modname}: {e!r}')
        continue
    names, star, explicit_all = stub_names(ast.parse(stub.read_text(), str(stub)).body)
    in_stub = explicit_all if explicit_all is not None else {n for n in names if public(n)}
    if hasattr(mod, '__all__'):
        at_runtime = set(mod.__all__)
    else:
        at_runtime = {n for n, v in vars(mod).items()
                      if public(n) and not isinstance(v, types.ModuleType) and not foreign(v)}
    for n in sorted(in_stub):
        checked += 1
        if not hasattr(mod, n):
            errors.append(f'{stub.name}: `{n}` is in the stub but not in module {modname}')
    if not star:
        for n in sorted(at_runtime - in_stub):
            errors.append(f'{stub.name}: `{n}` is public in module {modname} but not in the stub')
    for n, node in names.items():
        cls = getattr(mod, n, None)
        if node is None or not inspect.isclass(cls):
            continue
        members, _, _ = stub_names(node.body)
        members = {m for m in members if public(m)}
        for m in sorted(members):
            checked += 1
            if not hasattr(cls, m):
                errors.append(f'{stub.name}: `{n}.{m}` is in the stub but not in {modname}.{n}')
        own = {m for m in vars(cls) if public(m)}
        for m in sorted(own - members):
            errors.append(f'{stub.name}: `{n}.{m}` is public in {modname}.{n} but not in the stub')

for e in errors:
    print(e)
print(f'stub check: {checked} names checked, {len(errors)} mismatches')
sys.exit(1 if errors else 0)
";

#[cfg(test)]
mod tests {
    use super::*;

    /// The stub checker run on a tiny fake package with the system's Python (no venv needed).
    #[test]
    fn stub_check_finds_missing_names_both_ways() {
        let Ok((python, _)) = find_python() else {
            println!("no Python 3.11+: stub check test not run");
            return;
        };
        let dir = temp_dir("xtask-stubtest").unwrap();
        let pkg = dir.join("mds");
        std::fs::create_dir_all(&pkg).unwrap();
        let module = [
            "from os import path as _p",
            "from typing import Any",
            "class Dataset:",
            "    def __iter__(self): ...",
            "    def state_dict(self): ...",
            "def merge_index(x): ...",
            "undocumented = 1",
        ];
        std::fs::write(pkg.join("__init__.py"), module.join("\n")).unwrap();
        let stub = [
            "from typing import Any",
            "class Dataset:",
            "    def __iter__(self) -> Any: ...",
            "    def state_dict(self) -> dict: ...",
            "    def gone(self) -> None: ...",
            "def merge_index(x: str) -> None: ...",
            "missing: int",
            "",
        ]
        .join("\n");
        std::fs::write(pkg.join("__init__.pyi"), &stub).unwrap();
        let out = Command::new(&python)
            .args(["-c", STUB_CHECK])
            .arg(&pkg)
            .env("PYTHONPATH", &dir)
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains("`missing` is in the stub but not in module mds"),
            "{text}"
        );
        assert!(
            text.contains("`undocumented` is public in module mds but not in the stub"),
            "{text}"
        );
        assert!(
            text.contains("`Dataset.gone` is in the stub but not in mds.Dataset"),
            "{text}"
        );
        assert!(!text.contains("`Any`"), "imports are not API: {text}");
        assert!(text.contains("3 mismatches"), "{text}");

        // fixed stub: passes
        let fixed = stub
            .replace("    def gone(self) -> None: ...\n", "")
            .replace("missing: int", "undocumented: int");
        std::fs::write(pkg.join("__init__.pyi"), fixed).unwrap();
        let out = Command::new(&python)
            .args(["-c", STUB_CHECK])
            .arg(&pkg)
            .env("PYTHONPATH", &dir)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
