//! cargo's record of what `cargo install` put in its bin directory
//! (`$CARGO_HOME/.crates2.json`): where a binary came from, so that a CI
//! workflow installs the same one (`init --ci github` run as `cargo profile`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The package an installed binary came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub package: String,
    pub version: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// crates.io.
    CratesIo,
    /// A git repository, at this commit.
    Git { url: String, commit: String },
    /// A directory of this machine (`cargo install --path`).
    Path(String),
    /// Another registry, as cargo names its source.
    Other(String),
}

#[derive(Deserialize)]
struct Record {
    installs: BTreeMap<String, Install>,
}

#[derive(Deserialize)]
struct Install {
    #[serde(default)]
    bins: Vec<String>,
}

/// The package that installed the binary `bin`, from the text of a
/// `.crates2.json`; `Ok(None)` when no package installed it.
pub fn parse(text: &str, bin: &str) -> Result<Option<Installed>, String> {
    let record: Record =
        serde_json::from_str(text).map_err(|e| format!("not cargo's install record: {e}"))?;
    let Some(key) = record
        .installs
        .iter()
        .find(|(_, install)| install.bins.iter().any(|b| b == bin))
        .map(|(key, _)| key)
    else {
        return Ok(None);
    };
    // `NAME VERSION (SOURCE)`, as cargo writes a package id.
    let malformed = || format!("`{key}` is not `NAME VERSION (SOURCE)`");
    let (package, rest) = key.split_once(' ').ok_or_else(malformed)?;
    let (version, source) = rest.split_once(" (").ok_or_else(malformed)?;
    let source = source.strip_suffix(')').ok_or_else(malformed)?;
    Ok(Some(Installed {
        package: package.to_string(),
        version: version.to_string(),
        source: parse_source(source),
    }))
}

fn parse_source(source: &str) -> Source {
    const CRATES_IO: [&str; 2] = [
        "registry+https://github.com/rust-lang/crates.io-index",
        "sparse+https://index.crates.io/",
    ];
    if CRATES_IO.contains(&source) {
        return Source::CratesIo;
    }
    if let Some(git) = source.strip_prefix("git+") {
        // `URL?branch=main#COMMIT`: the commit is what was built.
        if let Some((url, commit)) = git.split_once('#') {
            let url = url.split_once('?').map_or(url, |(url, _)| url);
            return Source::Git {
                url: url.to_string(),
                commit: commit.to_string(),
            };
        }
    }
    match source.strip_prefix("path+file://") {
        Some(path) => Source::Path(path.to_string()),
        None => Source::Other(source.to_string()),
    }
}

impl Installed {
    /// `cargo install`'s arguments that install this very version on
    /// another machine; `None` from a directory of this one.
    pub fn install_args(&self) -> Option<Vec<String>> {
        let mut args: Vec<String> = vec!["cargo".into(), "install".into(), "--locked".into()];
        match &self.source {
            Source::CratesIo => args.extend([
                self.package.clone(),
                "--version".into(),
                self.version.clone(),
            ]),
            Source::Git { url, commit } => args.extend([
                "--git".into(),
                url.clone(),
                "--rev".into(),
                commit.clone(),
                self.package.clone(),
            ]),
            Source::Path(_) | Source::Other(_) => return None,
        }
        Some(args)
    }
}

/// cargo's home: `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

/// The package `cargo install` installed `exe` from, when `exe` lies in
/// cargo's bin directory and its record names it.
pub fn installed(exe: &Path) -> Option<Installed> {
    let home = cargo_home()?;
    let bin_dir = home.join("bin").canonicalize().ok()?;
    let exe = exe.canonicalize().ok()?;
    if exe.parent() != Some(bin_dir.as_path()) {
        return None;
    }
    let name = exe.file_name()?.to_str()?;
    let text = std::fs::read_to_string(home.join(".crates2.json")).ok()?;
    parse(&text, name).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cargo_install")
            .join(name);
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn each_source_gives_the_install_of_the_same_version() {
        let registry = parse(&fixture("crates2-registry.json"), "addr2line")
            .unwrap()
            .unwrap();
        assert_eq!(registry.source, Source::CratesIo);
        assert_eq!(
            registry.install_args().unwrap().join(" "),
            "cargo install --locked addr2line --version 0.27.1"
        );
        let git = parse(&fixture("crates2-git.json"), "hello-tool")
            .unwrap()
            .unwrap();
        assert_eq!(
            git.install_args().unwrap().join(" "),
            "cargo install --locked --git file:///tmp/ci-fx/hello-tool \
             --rev e4c527b0f9546319c1422db2e5c4bc8d7b63c3a3 hello-tool"
        );
        let path = parse(&fixture("crates2-path.json"), "hello-tool")
            .unwrap()
            .unwrap();
        assert_eq!(path.source, Source::Path("/tmp/ci-fx/hello-tool".into()));
        assert_eq!(path.install_args(), None);
    }

    #[test]
    fn a_branch_is_read_past_and_other_sources_are_kept_as_named() {
        assert_eq!(
            parse_source("git+https://github.com/o/r?branch=main#0123abc"),
            Source::Git {
                url: "https://github.com/o/r".into(),
                commit: "0123abc".into()
            }
        );
        assert_eq!(
            parse_source("sparse+https://index.crates.io/"),
            Source::CratesIo
        );
        assert_eq!(
            parse_source("sparse+https://my.registry/index/"),
            Source::Other("sparse+https://my.registry/index/".into())
        );
    }

    #[test]
    fn a_missing_binary_is_none_and_a_broken_record_an_error() {
        let text = fixture("crates2-registry.json");
        assert_eq!(parse(&text, "cargo-profile"), Ok(None));
        for cut in [0, 10, text.len() / 2] {
            assert!(parse(&text[..cut], "addr2line").is_err(), "{cut}");
        }
        let odd = r#"{"installs":{"addr2line":{"bins":["addr2line"]}}}"#;
        assert!(parse(odd, "addr2line")
            .unwrap_err()
            .contains("NAME VERSION"));
    }
}
