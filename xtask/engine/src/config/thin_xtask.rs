//! The xtask that `adopt` writes into a project: a manifest that is a
//! workspace of its own and depends on the engine, and a one-line main.
//!
//! A workspace of its own, so that the engine's dependencies never enter
//! the project's Cargo.lock (the xtask has its own, `xtask/Cargo.lock`)
//! and never change the versions the project's own build is pinned to.
//! Where the engine comes from is one line of the manifest
//! ([`EngineSource`]).

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item};

/// The engine's package, the xtask's one dependency.
pub const ENGINE_PACKAGE: &str = "xtask-profiling";

/// The directory of the thin xtask in the project.
pub const XTASK_DIR: &str = "xtask";

/// The `cargo xtask` alias: the xtask is not a member of the project's
/// workspace, so `--package` cannot reach it; a manifest path is relative
/// to the current directory, so the alias works from the project's root.
pub const ALIAS: &str = "run --manifest-path xtask/Cargo.toml --";

/// The xtask's main: the engine does everything.
pub const MAIN_RS: &str = "\
//! `cargo xtask`: the profiling tasks of the xtask-profiling engine, driven
//! by profiling.toml (written by `cargo xtask adopt`).

fn main() {
    xtask_profiling::main()
}
";

/// Where the engine comes from: `--engine path=DIR`, `git=URL[@REV]` or
/// `version=X`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSource {
    /// A checkout of the engine on this machine: works offline.
    Path(PathBuf),
    /// A git repository holding the engine (cargo finds the package in it),
    /// at a commit, tag or other revision when one is given.
    Git { url: String, rev: Option<String> },
    /// A version published on crates.io.
    Version(String),
}

impl std::str::FromStr for EngineSource {
    type Err = anyhow::Error;

    fn from_str(spec: &str) -> anyhow::Result<EngineSource> {
        let Some((kind, value)) = spec.split_once('=') else {
            bail!("`{spec}`: expected path=DIR, git=URL[@REV] or version=X");
        };
        if value.trim().is_empty() {
            bail!("`{spec}`: {kind}= needs a value");
        }
        match kind {
            "path" => Ok(EngineSource::Path(
                std::path::absolute(value)
                    .with_context(|| format!("`{spec}`: cannot make {value} absolute"))?,
            )),
            "git" => {
                // The revision follows the last `@` after the last `/`: an
                // `@` before it is a user name (ssh://git@host/...).
                let after_slash = value.rfind('/').map_or(0, |i| i + 1);
                match value[after_slash..].rfind('@') {
                    Some(at) if at > 0 => {
                        let at = after_slash + at;
                        let (url, rev) = (&value[..at], &value[at + 1..]);
                        if rev.is_empty() {
                            bail!("`{spec}`: nothing after `@`: give a revision or drop the `@`");
                        }
                        Ok(EngineSource::Git {
                            url: url.into(),
                            rev: Some(rev.into()),
                        })
                    }
                    _ => Ok(EngineSource::Git {
                        url: value.into(),
                        rev: None,
                    }),
                }
            }
            "version" => Ok(EngineSource::Version(value.into())),
            other => bail!(
                "`{spec}`: unknown engine source `{other}`: expected path=DIR, git=URL[@REV] or \
                 version=X"
            ),
        }
    }
}

impl EngineSource {
    /// The engine that is running now: its own checkout when it was built
    /// from one (the usual case: `cargo xtask adopt` in a clone of the
    /// xtask-profiling repository, or in a project adopted from it), else
    /// its own version from crates.io (a copy in cargo's cache is no place
    /// for a project to point at).
    pub fn this_engine() -> EngineSource {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
        let in_cargo_cache = cargo_home.is_some_and(|home| {
            dir.starts_with(home.join("registry")) || dir.starts_with(home.join("git"))
        });
        if in_cargo_cache {
            EngineSource::Version(env!("CARGO_PKG_VERSION").into())
        } else {
            EngineSource::Path(dir.to_path_buf())
        }
    }

    /// The dependency's value, as it is written in the manifest.
    fn item(&self) -> Item {
        let mut table = toml_edit::InlineTable::new();
        match self {
            EngineSource::Path(dir) => {
                table.insert("path", dir.display().to_string().into());
            }
            EngineSource::Git { url, rev } => {
                table.insert("git", url.as_str().into());
                if let Some(rev) = rev {
                    table.insert("rev", rev.as_str().into());
                }
            }
            EngineSource::Version(version) => return toml_edit::value(version.as_str()),
        }
        toml_edit::value(table)
    }

    /// The dependency line, `xtask-profiling = { path = "..." }`.
    pub fn line(&self) -> String {
        format!("{ENGINE_PACKAGE} = {}", self.item().to_string().trim())
    }

    /// How to update the engine later, for adopt's last words.
    pub fn how_to_update(&self) -> String {
        match self {
            EngineSource::Path(dir) => format!(
                "the engine is the checkout at {}: a `git pull` there updates it, and the next \
                 `cargo xtask` rebuilds; to point elsewhere, edit the one line `{ENGINE_PACKAGE} \
                 = ...` of xtask/Cargo.toml",
                dir.display()
            ),
            EngineSource::Git { rev: Some(_), .. } => format!(
                "to update, change `rev` in the one line `{ENGINE_PACKAGE} = ...` of \
                 xtask/Cargo.toml"
            ),
            EngineSource::Git { rev: None, .. } => format!(
                "to update: cargo update --manifest-path xtask/Cargo.toml -p {ENGINE_PACKAGE}"
            ),
            EngineSource::Version(_) => format!(
                "to update, change the version in the one line `{ENGINE_PACKAGE} = ...` of \
                 xtask/Cargo.toml"
            ),
        }
    }
}

/// The thin xtask's manifest. The profile settings are those of the
/// xtask-profiling repository's own workspace (its root Cargo.toml; a test
/// keeps the two the same): they apply here because the xtask is a
/// workspace of its own, and never touch the project's builds.
pub fn manifest(engine: &EngineSource) -> String {
    format!(
        "\
# The profiling xtask: `cargo xtask <task>` (the alias in .cargo/config.toml),
# written by `cargo xtask adopt`. A workspace of its own, so that its
# dependencies never enter the project's Cargo.lock: it has its own
# (xtask/Cargo.lock) and builds into xtask/target.
[package]
name = \"xtask\"
version = \"0.1.0\"
edition = \"2021\"
publish = false

[[bin]]
name = \"xtask\"
path = \"src/main.rs\"
test = false

[dependencies]
# The engine: every task lives there. Updating it is this one line.
{dependency}

[workspace]

# A quick first build: the dependencies that do heavy work are optimised
# (inferno's folding, gimli's DWARF parsing), the xtask's own code is not,
[profile.dev.package.\"*\"]
opt-level = 2

# the ELF, DWARF and unwinding reader is (gimli's and framehop's generic
# code is compiled in it),
[profile.dev.package.xtask-profiling-dwarf]
opt-level = 2

# and what runs once per task (argument parsing, derive macros, the config
# file's parser, progress bars, C++ demangling) is left unoptimised.
[profile.dev.package.syn]
opt-level = 0
[profile.dev.package.proc-macro2]
opt-level = 0
[profile.dev.package.quote]
opt-level = 0
[profile.dev.package.serde_derive]
opt-level = 0
[profile.dev.package.clap_derive]
opt-level = 0
[profile.dev.package.clap_builder]
opt-level = 0
[profile.dev.package.toml_edit]
opt-level = 0
[profile.dev.package.toml]
opt-level = 0
[profile.dev.package.toml_parser]
opt-level = 0
[profile.dev.package.nix]
opt-level = 0
[profile.dev.package.indicatif]
opt-level = 0
[profile.dev.package.thiserror-impl]
opt-level = 0
[profile.dev.package.prost-derive]
opt-level = 0
[profile.dev.package.itertools]
opt-level = 0
[profile.dev.package.prost]
opt-level = 0
[profile.dev.package.cpp_demangle]
opt-level = 0

# `cargo xtask adopt` recognises its own xtask by this table: an xtask/
# directory without it belongs to the project and is never overwritten.
[package.metadata.profiling-xtask]
origin = \"cargo xtask adopt\"
",
        dependency = engine.line()
    )
}

/// The engine dependency a manifest declares, as written (`None`: none).
pub fn engine_dependency(manifest: &str) -> Option<String> {
    let doc = manifest.parse::<DocumentMut>().ok()?;
    let item = doc.get("dependencies")?.get(ENGINE_PACKAGE)?;
    Some(format!("{ENGINE_PACKAGE} = {}", item.to_string().trim()))
}

/// Sets the engine dependency of a manifest (the thin xtask's, or a
/// project's own xtask that mounts the tasks), keeping everything else.
/// `None` when it is already so.
pub fn set_engine_dependency(
    manifest: &str,
    engine: &EngineSource,
    file: &str,
) -> anyhow::Result<Option<String>> {
    let mut doc = manifest
        .parse::<DocumentMut>()
        .map_err(|e| anyhow::anyhow!("{file} does not parse: {e}"))?;
    if engine_dependency(manifest).as_deref() == Some(engine.line().as_str()) {
        return Ok(None);
    }
    let dependencies = doc
        .entry("dependencies")
        .or_insert_with(|| Item::Table(toml_edit::Table::new()));
    let Some(dependencies) = dependencies.as_table_like_mut() else {
        bail!("{file}: `dependencies` is not a table");
    };
    // In place, so that the comment above the line stays.
    match dependencies.get_mut(ENGINE_PACKAGE) {
        Some(item) => *item = engine.item(),
        None => {
            dependencies.insert(ENGINE_PACKAGE, engine.item());
        }
    }
    Ok(Some(doc.to_string()))
}

/// Whether a manifest of ours ([`super::project_files::is_profiling_xtask`])
/// is the crate an earlier `adopt` copied (the engine's source inside the
/// project), not the thin xtask: the copy is a library (`[lib]`) and does
/// not depend on the engine.
pub fn is_copied_engine(manifest: &str) -> bool {
    manifest.parse::<toml::Table>().is_ok_and(|table| {
        table.contains_key("lib")
            || table
                .get("dependencies")
                .and_then(|d| d.get(ENGINE_PACKAGE))
                .is_none()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_sources_parse_and_say_what_is_wrong() {
        let parse = |s: &str| s.parse::<EngineSource>();
        assert_eq!(
            parse("path=/opt/x/xtask/engine").unwrap(),
            EngineSource::Path("/opt/x/xtask/engine".into())
        );
        assert_eq!(
            parse("git=https://example.org/x.git@v1.2").unwrap(),
            EngineSource::Git {
                url: "https://example.org/x.git".into(),
                rev: Some("v1.2".into())
            }
        );
        assert_eq!(
            parse("git=ssh://git@example.org/x.git").unwrap(),
            EngineSource::Git {
                url: "ssh://git@example.org/x.git".into(),
                rev: None
            }
        );
        assert_eq!(
            parse("version=0.2").unwrap(),
            EngineSource::Version("0.2".into())
        );
        for (bad, says) in [
            ("crates", "expected path=DIR"),
            ("svn=x", "unknown engine source `svn`"),
            ("version=", "needs a value"),
            ("git=file:///x.git@", "nothing after `@`"),
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn the_manifest_is_a_workspace_of_its_own_that_depends_on_the_engine() {
        for engine in [
            EngineSource::Path("/opt/x/xtask/engine".into()),
            EngineSource::Git {
                url: "file:///srv/x.git".into(),
                rev: Some("abc123".into()),
            },
            EngineSource::Version("0.1.0".into()),
        ] {
            let text = manifest(&engine);
            let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert!(table["workspace"].as_table().unwrap().is_empty());
            assert_eq!(table["package"]["name"].as_str(), Some("xtask"));
            assert_eq!(
                table["profile"]["dev"]["package"]["xtask-profiling-dwarf"]["opt-level"]
                    .as_integer(),
                Some(2)
            );
            assert!(crate::config::project_files::is_profiling_xtask(&text));
            assert!(!is_copied_engine(&text));
            assert_eq!(engine_dependency(&text), Some(engine.line()));
            assert_eq!(set_engine_dependency(&text, &engine, "x").unwrap(), None);
        }
        let path = EngineSource::Path("/opt/x/xtask/engine".into());
        assert_eq!(
            path.line(),
            "xtask-profiling = { path = \"/opt/x/xtask/engine\" }"
        );
        assert_eq!(
            EngineSource::Version("0.1.0".into()).line(),
            "xtask-profiling = \"0.1.0\""
        );
    }

    #[test]
    fn the_dependency_changes_alone() {
        let text = manifest(&EngineSource::Path("/a".into()));
        let git = EngineSource::Git {
            url: "file:///b.git".into(),
            rev: None,
        };
        let new = set_engine_dependency(&text, &git, "xtask/Cargo.toml")
            .unwrap()
            .unwrap();
        assert_eq!(
            new,
            text.replace("{ path = \"/a\" }", "{ git = \"file:///b.git\" }")
        );
        let theirs = "[package]\nname = \"xtask\"\n\n[dependencies]\nanyhow = \"1\"\n";
        let mounted = set_engine_dependency(theirs, &git, "tools/xtask/Cargo.toml")
            .unwrap()
            .unwrap();
        assert!(mounted.starts_with(theirs), "{mounted}");
    }
}
