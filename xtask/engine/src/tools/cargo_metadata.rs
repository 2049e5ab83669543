//! `cargo metadata`: the workspace's packages and their targets, for a
//! starter profiling.toml (`init`, `adopt`). Benches are read from the
//! package manifest too, since cargo metadata does not say whether a bench
//! has `harness = false` (criterion's, which the bench workload runs).
//! Fuzz targets are set apart: a cargo-fuzz package (its
//! `[package.metadata] cargo-fuzz = true`, or a dependency on
//! libfuzzer-sys), or a binary whose source says `fuzz_target!`.

use crate::config::starter::{CargoTarget, CargoTargetKind};
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The workspace at `root` (the directory of its top Cargo.toml).
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// Binaries, examples and criterion benches of the members, in
    /// `cargo metadata`'s member order, binaries of a package first; those
    /// with `required-features` are left out (a workload builds without).
    pub targets: Vec<CargoTarget>,
    /// Each member's name and manifest (Cargo.toml) path.
    pub members: Vec<(String, PathBuf)>,
    /// The binaries of fuzz targets, never workloads.
    pub fuzz_targets: Vec<CargoTarget>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    manifest_path: PathBuf,
    targets: Vec<MetadataTarget>,
    #[serde(default)]
    dependencies: Vec<Dependency>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Dependency {
    name: String,
}

#[derive(Deserialize)]
struct MetadataTarget {
    name: String,
    kind: Vec<String>,
    #[serde(default, rename = "required-features")]
    required_features: Vec<String>,
    #[serde(default)]
    src_path: Option<PathBuf>,
}

impl Package {
    /// A cargo-fuzz package: all its binaries are fuzz targets.
    fn fuzzes(&self) -> bool {
        self.dependencies.iter().any(|d| d.name == "libfuzzer-sys")
            || self
                .metadata
                .as_ref()
                .and_then(|m| m.get("cargo-fuzz"))
                .and_then(|v| v.as_bool())
                == Some(true)
    }
}

/// A binary whose source is a fuzz target (libfuzzer's `fuzz_target!`).
fn is_fuzz_target(target: &MetadataTarget) -> bool {
    target
        .src_path
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .is_some_and(|source| source.contains("fuzz_target!"))
}

/// The argv: members only (`--no-deps`), so it needs no network.
pub fn argv(root: &Path) -> Vec<String> {
    vec![
        "metadata".into(),
        "--no-deps".into(),
        "--format-version".into(),
        "1".into(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ]
}

/// Runs `cargo metadata` on the project at `root`.
pub fn read(cargo: &Path, root: &Path) -> anyhow::Result<Workspace> {
    let args = argv(root);
    let shell = xshell::Shell::new()?;
    let output = xshell::cmd!(shell, "{cargo} {args...}")
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("cannot run {}", cargo.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "`cargo metadata` failed in {}:\n{}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

pub fn parse(json: &str) -> anyhow::Result<Workspace> {
    let metadata: Metadata =
        serde_json::from_str(json).context("cargo metadata printed something unexpected")?;
    let mut targets = Vec::new();
    let mut members = Vec::new();
    let mut fuzz_targets = Vec::new();
    for id in &metadata.workspace_members {
        let Some(package) = metadata.packages.iter().find(|p| &p.id == id) else {
            continue;
        };
        members.push((package.name.clone(), package.manifest_path.clone()));
        let criterion_benches = harnessless_benches(&package.manifest_path);
        for kind in [
            CargoTargetKind::Bin,
            CargoTargetKind::Example,
            CargoTargetKind::Bench,
        ] {
            for target in package
                .targets
                .iter()
                .filter(|t| t.required_features.is_empty())
            {
                let wanted = match kind {
                    CargoTargetKind::Bin => target.kind.iter().any(|k| k == "bin"),
                    CargoTargetKind::Example => target.kind.iter().any(|k| k == "example"),
                    CargoTargetKind::Bench => {
                        target.kind.iter().any(|k| k == "bench")
                            && criterion_benches.contains(&target.name)
                    }
                };
                if !wanted {
                    continue;
                }
                let found = CargoTarget {
                    package: package.name.clone(),
                    name: target.name.clone(),
                    kind,
                };
                let fuzz =
                    kind == CargoTargetKind::Bin && (package.fuzzes() || is_fuzz_target(target));
                match fuzz {
                    true => fuzz_targets.push(found),
                    false => targets.push(found),
                }
            }
        }
    }
    Ok(Workspace {
        root: metadata.workspace_root,
        targets,
        members,
        fuzz_targets,
    })
}

/// The `[[bench]]` names with `harness = false` in a package manifest: the
/// benches that bring their own main (criterion, divan), which accept
/// criterion's `--bench --profile-time`. A manifest that cannot be read
/// gives none; cargo metadata has just read it, so that does not happen.
fn harnessless_benches(manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    table
        .get("bench")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
        .filter(|bench| bench.get("harness").and_then(|h| h.as_bool()) == Some(false))
        .filter_map(|bench| bench.get("name").and_then(|n| n.as_str()).map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This workspace, read for real: the demo's binary and its criterion bench.
    #[test]
    fn reads_this_workspace() {
        let root = crate::config::project_root();
        let workspace = read(Path::new("cargo"), &root).unwrap();
        assert_eq!(workspace.root, root);
        let names: Vec<(CargoTargetKind, &str)> = workspace
            .targets
            .iter()
            .filter(|t| t.package == "demo")
            .map(|t| (t.kind, t.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (CargoTargetKind::Bin, "cdr-demo"),
                (CargoTargetKind::Bench, "generate")
            ]
        );
        // xtask's own binary is a target too; init leaves it out.
        assert!(workspace.targets.iter().any(|t| t.package == "xtask"));
    }

    /// A target that needs features is not a workload: it would not build.
    #[test]
    fn targets_that_need_features_are_left_out() {
        let json = r#"{"packages":[{"id":"p 0.1","name":"p","manifest_path":"/nowhere/Cargo.toml",
            "targets":[{"name":"needs","kind":["example"],"required-features":["fancy"]},
                       {"name":"plain","kind":["example"]}]}],
            "workspace_members":["p 0.1"],"workspace_root":"/nowhere"}"#;
        let workspace = parse(json).unwrap();
        let names: Vec<&str> = workspace.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["plain"]);
        assert_eq!(
            workspace.members,
            [("p".to_string(), PathBuf::from("/nowhere/Cargo.toml"))]
        );
    }

    /// A cargo-fuzz crate as a member (its metadata table, libfuzzer-sys),
    /// and a fuzz target in an ordinary package, found by its source.
    #[test]
    fn fuzz_targets_are_set_apart() {
        let dir = std::env::temp_dir().join(format!("xtask-metadata-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fuzzing = dir.join("fuzz_me.rs");
        std::fs::write(
            &fuzzing,
            "#![no_main]\nlibfuzzer_sys::fuzz_target!(|d: &[u8]| {});\n",
        )
        .unwrap();
        let plain = dir.join("main.rs");
        std::fs::write(&plain, "fn main() {}\n").unwrap();
        let json = format!(
            r#"{{"packages":[
            {{"id":"fuzz 0.0.1","name":"fuzz","manifest_path":"/nowhere/fuzz/Cargo.toml",
              "metadata":{{"cargo-fuzz":true}},"dependencies":[{{"name":"libfuzzer-sys"}}],
              "targets":[{{"name":"fuzz_glob","kind":["bin"],"src_path":"/nowhere/fuzz/f.rs"}}]}},
            {{"id":"app 0.1","name":"app","manifest_path":"/nowhere/Cargo.toml","metadata":null,
              "dependencies":[{{"name":"clap"}}],
              "targets":[{{"name":"app","kind":["bin"],"src_path":{plain:?}}},
                         {{"name":"fuzz_me","kind":["bin"],"src_path":{fuzzing:?}}}]}}],
            "workspace_members":["fuzz 0.0.1","app 0.1"],"workspace_root":"/nowhere"}}"#
        );
        let workspace = parse(&json).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let names = |targets: &[CargoTarget]| -> Vec<String> {
            targets.iter().map(|t| t.name.clone()).collect()
        };
        assert_eq!(names(&workspace.targets), ["app"]);
        assert_eq!(names(&workspace.fuzz_targets), ["fuzz_glob", "fuzz_me"]);
    }

    #[test]
    fn a_project_that_does_not_load_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("xtask-metadata-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package\n").unwrap();
        let error = read(Path::new("cargo"), &dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            error.contains("cargo metadata") && error.contains(&dir.display().to_string()),
            "{error}"
        );
    }
}
