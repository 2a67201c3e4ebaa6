//! Tidy checks of the repository, as ordinary tests (`cargo test -p xtask` catches them).

use crate::release;

fn root() -> std::path::PathBuf {
    crate::workspace_root()
}

#[test]
fn every_crate_has_a_readme_and_workspace_lints() {
    let root = root();
    let mut bad = Vec::new();
    for m in release::members(&root).unwrap() {
        let dir = m.manifest.parent().unwrap();
        if !dir.join("README.md").is_file() {
            bad.push(format!("{}: no README.md", m.name));
        }
        let manifest = std::fs::read_to_string(&m.manifest).unwrap();
        if !manifest.contains("[lints]\nworkspace = true") {
            bad.push(format!("{}: no `[lints] workspace = true`", m.name));
        }
        if !manifest.contains("version.workspace = true") {
            bad.push(format!(
                "{}: the version is not `version.workspace = true` (versions move in lockstep)",
                m.name
            ));
        }
    }
    assert!(bad.is_empty(), "tidy:\n{}", bad.join("\n"));
}

#[test]
fn changelog_opens_with_unreleased() {
    let text = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    let first = text
        .lines()
        .find(|l| l.starts_with("## "))
        .unwrap_or_default();
    assert_eq!(
        first.trim(),
        "## Unreleased",
        "CHANGELOG.md: the first section must be `## Unreleased`"
    );
    for l in text
        .lines()
        .filter(|l| l.starts_with("## ") && *l != "## Unreleased")
    {
        // releases read `## X.Y.Z (YYYY-MM-DD)`
        let (v, date) = l[3..].split_once(' ').unwrap_or_default();
        assert!(
            v.parse::<release::Version>().is_ok() && date.len() == 12,
            "CHANGELOG.md: bad header {l:?}"
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let root = root();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        commands.last().copied(),
        Some("exec cargo xtask test"),
        ".ci/run must end in `cargo xtask test`"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("cargo xtask test"),
        "README.md must give `cargo xtask test` as the test command"
    );
    let alias = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap();
    assert!(
        alias.contains("xtask = \"run --quiet --package xtask --\""),
        "the cargo alias of xtask is gone"
    );
}

#[test]
fn internal_dependencies_have_path_and_version() {
    // every workspace crate in [workspace.dependencies] stays publishable: path + version
    let root = root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = release::members(&root).unwrap();
    for line in manifest.lines() {
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if members.iter().any(|m| m.name == name && m.publishable) {
            assert!(
                line.contains("path =") && line.contains("version ="),
                "Cargo.toml: {line}"
            );
        }
    }
}
