//! Building a workload target with the profiling cargo profile, and finding
//! the executable cargo made (from its JSON messages, not by guessing paths).

use crate::config::Target;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where builds go instead of cargo's default target directory, while a
/// [`TargetDirOverride`] lives (`profile-compare --rev` builds each revision
/// into one shared directory).
static TARGET_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Sends every build to `dir` until dropped.
pub struct TargetDirOverride(Option<PathBuf>);

impl TargetDirOverride {
    pub fn set(dir: &Path) -> TargetDirOverride {
        let mut current = TARGET_DIR.lock().unwrap_or_else(|e| e.into_inner());
        TargetDirOverride(current.replace(dir.to_path_buf()))
    }
}

impl Drop for TargetDirOverride {
    fn drop(&mut self) {
        *TARGET_DIR.lock().unwrap_or_else(|e| e.into_inner()) = self.0.take();
    }
}

/// Builds `target` and returns the executable. Cargo's progress and errors go
/// to the terminal as usual.
pub fn build(
    root: &Path,
    profile: &str,
    target: Target<'_>,
    package: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let (flag, name) = match target {
        Target::Bin(name) => ("--bin", name),
        Target::Example(name) => ("--example", name),
        Target::Bench(name) => ("--bench", name),
        Target::Command(_) => bail!("an external command is not built by cargo"),
    };
    if !crate::config::in_cargo_project(root) {
        bail!(
            "`{flag} {name}` is a target cargo builds, and {} is not in a Cargo project (no \
             Cargo.toml there or above): run this in the Cargo project, or declare the program \
             as a `command` workload (`command = \"./path/to/program\"`), or give it after `--` \
             (`{} flamegraph -- ./path/to/program args`)",
            root.display(),
            crate::config::command_name()
        );
    }
    let cargo = crate::tools::cargo_program();
    let mut args = vec![
        "build".to_string(),
        "--profile".into(),
        profile.into(),
        flag.into(),
        name.into(),
        "--message-format=json-render-diagnostics".into(),
    ];
    if let Some(package) = package {
        args.extend(["--package".into(), package.into()]);
    }
    // The `profiling` profile, when the project's Cargo.toml declares none:
    // given on the command line, so that adopting needs no edit there.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    args.extend(crate::config::project_files::profile_flags(
        &manifest, profile,
    ));
    if let Some(dir) = TARGET_DIR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
    {
        args.extend(["--target-dir".into(), dir.display().to_string()]);
    }
    // Cargo's progress and errors (stderr) go to the terminal; its JSON
    // messages (stdout) name the executable.
    let shell = xshell::Shell::new()?;
    shell.change_dir(root);
    let command = xshell::cmd!(shell, "{cargo}").args(&args).quiet();
    crate::runs::process::echo(&command.to_string());
    let Ok(messages) = command.read() else {
        bail!(
            "`cargo {}` failed (see cargo's error above); nothing was written",
            args.join(" ")
        );
    };
    messages
        .lines()
        .rev()
        .find_map(|line| executable_of(line, name))
        .with_context(|| format!("cargo built no executable for {flag} {name}"))
}

/// The `executable` of a compiler-artifact message for target `name`.
fn executable_of(line: &str, name: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != name {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

/// A real-tool test skips when its tool is missing on a developer's machine,
/// but CI installs the tools first: there a missing tool is a failure, not
/// a silent pass.
#[cfg(test)]
pub fn skip_unless_ci(tool: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is missing in CI: scripts/install-tools.sh should have installed it");
    }
    eprintln!("note: {tool} is not installed; skipping (scripts/install-tools.sh installs it)");
}

/// The demo workload's binary, built once per test process with the
/// profiling profile: the real program the real-tool tests run.
#[cfg(test)]
pub fn demo_for_tests() -> PathBuf {
    static DEMO: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DEMO.get_or_init(|| {
        build(
            &crate::config::project_root(),
            "profiling",
            Target::Bin("cdr-demo"),
            Some("demo"),
        )
        .expect("the demo builds")
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_executable_from_cargo_messages() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"cdr-demo","kind":["bin"]},"executable":"/w/target/profiling/cdr-demo","fresh":true}"#;
        assert_eq!(
            executable_of(line, "cdr-demo"),
            Some(PathBuf::from("/w/target/profiling/cdr-demo"))
        );
        assert_eq!(executable_of(line, "other"), None);
        assert_eq!(
            executable_of(r#"{"reason":"build-finished","success":true}"#, "cdr-demo"),
            None
        );
        assert_eq!(executable_of("not json", "cdr-demo"), None);
    }
}
