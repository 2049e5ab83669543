//! The project's own files that the xtask needs set up (`adopt`): the
//! workspace members, the `profiling` build profile and the DWARF reader's
//! opt-level in Cargo.toml, the
//! `xtask` alias in .cargo/config.toml, `results/` in .gitignore.
//!
//! Each edit is a pure function from the file's text to an [`Edit`], made
//! with toml_edit so that the project's comments, order and formatting stay
//! as they were; applying the same edit twice changes nothing.

use anyhow::Context;
use toml_edit::{value, Array, DocumentMut, Item, Table};

/// What an edit does to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The file already has what is needed: why, for the user.
    Unchanged(String),
    /// The new text, and what changed, for the user.
    Changed { text: String, summary: String },
}

/// The build profile the profiling tasks use (`defaults.build_profile`).
pub const PROFILE: &str = "profiling";

/// The alias that makes `cargo xtask` run the crate.
pub const ALIAS: &str = "run --package xtask --";

/// Adds `member` (a directory relative to the root) to the workspace of the
/// root manifest, creating `[workspace]` for a single-package root.
pub fn add_workspace_member(manifest: &str, member: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    let has_package = doc.contains_key("package");
    let workspace = doc.entry("workspace").or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(false);
        Item::Table(table)
    });
    let Some(workspace) = workspace.as_table_like_mut() else {
        anyhow::bail!("Cargo.toml: `workspace` is not a table");
    };
    let members = workspace
        .entry("members")
        .or_insert_with(|| value(Array::new()));
    let Some(members) = members.as_array_mut() else {
        anyhow::bail!("Cargo.toml: `workspace.members` is not an array");
    };
    let listed: Vec<String> = members
        .iter()
        .filter_map(|m| m.as_str().map(String::from))
        .collect();
    if let Some(pattern) = listed.iter().find(|p| glob_matches(p, member)) {
        return Ok(Edit::Unchanged(format!(
            "the workspace members already include {member} ({pattern:?})"
        )));
    }
    // In an array written one member per line, the new one gets a line too.
    let prefix = members
        .iter()
        .last()
        .and_then(|last| last.decor().prefix())
        .and_then(|p| p.as_str())
        .filter(|p| p.contains('\n'))
        .map(String::from);
    match prefix {
        Some(prefix) => {
            members.push_formatted(toml_edit::Value::from(member).decorated(prefix, ""))
        }
        None => members.push(member),
    }
    let summary = if listed.is_empty() && has_package && !manifest.contains("[workspace]") {
        format!("added [workspace] with members = [\"{member}\"] (the root package stays a member)")
    } else {
        format!("added \"{member}\" to [workspace] members")
    };
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary,
    })
}

/// Adds `[profile.profiling]`: release speed, full debug info, not
/// stripped. Its own keys override a release profile that strips or sets
/// `debug = 0`, so the project's release builds stay as they are.
pub fn add_profiling_profile(manifest: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    if doc.get("profile").and_then(|p| p.get(PROFILE)).is_some() {
        return Ok(Edit::Unchanged(format!(
            "[profile.{PROFILE}] is already there (kept as it is)"
        )));
    }
    let profiles = doc.entry("profile").or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    let Some(profiles) = profiles.as_table_mut() else {
        anyhow::bail!("Cargo.toml: `profile` is not a table");
    };
    let mut profile = Table::new();
    profile.insert("inherits", value("release"));
    profile.insert("debug", value(true));
    profile.insert("strip", value("none"));
    profile.decor_mut().set_prefix(
        "\n# The build `cargo xtask` profiles: release speed with full debug info, so\n\
         # that perf, heaptrack and valgrind name functions, files and lines.\n",
    );
    profiles.insert(PROFILE, Item::Table(profile));
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!(
            "added [profile.{PROFILE}] (inherits release; debug = true, strip = \"none\")"
        ),
    })
}

/// The xtask's DWARF reader, a crate of its own inside the xtask's directory.
pub const DWARF_PACKAGE: &str = "xtask-profiling-dwarf";

/// Adds `[profile.dev.package.xtask-profiling-dwarf] opt-level = 2`: the xtask builds
/// unoptimised for a quick first build, but its DWARF reader (inline
/// frames, annotate/'s source lines) runs on every profile and is worth
/// optimising. A setting of the project's own is kept.
pub fn add_dwarf_opt_level(manifest: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    let existing = doc
        .get("profile")
        .and_then(|p| p.get("dev"))
        .and_then(|d| d.get("package"))
        .and_then(|p| p.get(DWARF_PACKAGE))
        .is_some();
    if existing {
        return Ok(Edit::Unchanged(format!(
            "[profile.dev.package.{DWARF_PACKAGE}] is already there (kept as it is)"
        )));
    }
    let implicit = || {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    };
    let package = doc
        .entry("profile")
        .or_insert_with(implicit)
        .as_table_like_mut()
        .map(|profiles| profiles.entry("dev").or_insert(implicit()))
        .and_then(Item::as_table_like_mut)
        .map(|dev| dev.entry("package").or_insert(implicit()))
        .and_then(Item::as_table_like_mut)
        .context("Cargo.toml: `profile.dev.package` is not a table")?;
    let mut table = Table::new();
    table.insert("opt-level", value(2));
    table.decor_mut().set_prefix(
        "
# The xtask builds unoptimised (a quick first build), its DWARF reader
         # optimised: it reads every profile's debug information.
",
    );
    package.insert(DWARF_PACKAGE, Item::Table(table));
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!("added [profile.dev.package.{DWARF_PACKAGE}] (opt-level = 2)"),
    })
}

/// Adds the `xtask` alias to .cargo/config.toml (`None`: the file does not
/// exist yet), keeping every other alias and setting. An `xtask` alias that
/// runs something else is the project's own: an error, since `cargo xtask`
/// would then not reach these tasks.
pub fn add_alias(config: Option<&str>) -> anyhow::Result<Edit> {
    let mut doc = parse(config.unwrap_or(""), ".cargo/config.toml")?;
    let aliases = doc
        .entry("alias")
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(aliases) = aliases.as_table_like_mut() else {
        anyhow::bail!(".cargo/config.toml: `alias` is not a table");
    };
    if let Some(existing) = aliases.get("xtask") {
        let words: Vec<String> = match existing {
            Item::Value(toml_edit::Value::String(s)) => {
                s.value().split_whitespace().map(String::from).collect()
            }
            Item::Value(toml_edit::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let ours: Vec<&str> = ALIAS.split_whitespace().collect();
        let runs_package_xtask = words
            .windows(2)
            .any(|w| (w[0] == "--package" || w[0] == "-p") && w[1] == "xtask")
            && words.first().is_some_and(|w| w == "run");
        return if words == ours || runs_package_xtask {
            Ok(Edit::Unchanged(
                "the `xtask` alias is already there and runs the xtask package".into(),
            ))
        } else {
            anyhow::bail!(
                ".cargo/config.toml already has an `xtask` alias that runs something else ({}): \
                 mount the profiling tasks in that program instead (`adopt --mount`: \"Mount the \
                 tasks in an xtask of your own\" in docs/tasks.md of the xtask-profiling repository)",
                words.join(" ")
            )
        };
    }
    aliases.insert("xtask", value(ALIAS));
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!("added alias xtask = \"{ALIAS}\""),
    })
}

/// Adds `/results/` to .gitignore (`None`: no .gitignore yet) unless a line
/// already ignores it.
pub fn ignore_results(gitignore: Option<&str>, results_dir: &str) -> Edit {
    let text = gitignore.unwrap_or("");
    let wanted = results_dir.trim_matches('/');
    let ignored = text.lines().map(str::trim).any(|line| {
        let line = line.trim_end_matches("/*").trim_matches('/');
        line == wanted || line == format!("{wanted}/")
    });
    if ignored {
        return Edit::Unchanged(format!(".gitignore already ignores {wanted}/"));
    }
    let mut new = text.to_string();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&format!(
        "# Profiles and timings written by `cargo xtask`\n/{wanted}/\n"
    ));
    Edit::Changed {
        text: new,
        summary: format!("added /{wanted}/"),
    }
}

/// The manifest of the xtask crate as installed in another project: named
/// `package` (`xtask`, or `xtask-profiling` when mounted as a library), and
/// with its tests switched off there (`test = false`): they need this
/// repository's demo and fixtures, and the project's own `cargo test
/// --workspace` has no business running them.
pub fn installed_crate_manifest(source: &str, package: &str) -> anyhow::Result<String> {
    let mut doc = parse(source, "xtask/Cargo.toml")?;
    let Some(table) = doc.get_mut("package").and_then(Item::as_table_mut) else {
        anyhow::bail!("xtask/Cargo.toml has no [package]");
    };
    table.insert("name", value(package));
    // The DWARF reader is installed inside the crate's directory.
    if let Some(dwarf) = doc
        .get_mut("dependencies")
        .and_then(|d| d.as_table_like_mut())
        .and_then(|d| d.get_mut(DWARF_PACKAGE))
        .and_then(|d| d.as_inline_table_mut())
    {
        dwarf.insert("path", "dwarf".into());
    }
    let mut lib = Table::new();
    lib.insert("test", value(false));
    lib.insert("doctest", value(false));
    lib.decor_mut().set_prefix(
        "\n# Installed by `cargo xtask adopt`: the xtask's own tests run in its source\n\
         # repository (they need its demo and fixtures), not in this project's.\n",
    );
    doc.insert("lib", Item::Table(lib));
    let mut bin = Table::new();
    bin.insert("name", value(package));
    bin.insert("path", value("src/main.rs"));
    bin.insert("test", value(false));
    let mut bins = toml_edit::ArrayOfTables::new();
    bins.push(bin);
    doc.insert("bin", Item::ArrayOfTables(bins));
    Ok(doc.to_string())
}

/// Whether a crate manifest is the profiling xtask's (by its
/// `[package.metadata.profiling-xtask]` table): only then may `adopt`
/// overwrite the crate.
pub fn is_profiling_xtask(manifest: &str) -> bool {
    manifest.parse::<toml::Table>().is_ok_and(|table| {
        table
            .get("package")
            .and_then(|p| p.get("metadata"))
            .and_then(|m| m.get("profiling-xtask"))
            .is_some()
    })
}

/// Adds `dependency = { path = "..." }` to a crate manifest (a project's
/// own xtask, which mounts the profiling tasks).
pub fn add_path_dependency(manifest: &str, dependency: &str, path: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "xtask/Cargo.toml")?;
    let dependencies = doc
        .entry("dependencies")
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(dependencies) = dependencies.as_table_like_mut() else {
        anyhow::bail!("xtask/Cargo.toml: `dependencies` is not a table");
    };
    if dependencies.contains_key(dependency) {
        return Ok(Edit::Unchanged(format!(
            "{dependency} is already a dependency"
        )));
    }
    let mut inline = toml_edit::InlineTable::new();
    inline.insert("path", path.into());
    dependencies.insert(dependency, value(inline));
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!("added the dependency {dependency} = {{ path = \"{path}\" }}"),
    })
}

/// What a Cargo profile of the root manifest gives the profilers, read from
/// the manifest (following `inherits` to `release` or `dev`) without a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileDebugInfo {
    /// Debug info (full, limited or line tables) and the symbol table.
    Fine,
    /// The profile is not declared: cargo refuses to build with it.
    Missing,
    NoDebugInfo,
    /// No symbol table (`strip = true` or `"symbols"`).
    Stripped,
}

pub fn profile_debug_info(manifest: &str, profile: &str) -> ProfileDebugInfo {
    let table = manifest.parse::<toml::Table>().unwrap_or_default();
    let profiles = table.get("profile").and_then(|p| p.as_table());
    let (mut debug, mut strip) = (None, None);
    let mut name = profile.to_string();
    // At most a few hops; a cycle is cargo's error to report, not ours.
    for _ in 0..8 {
        let declared = profiles
            .and_then(|p| p.get(&name))
            .and_then(|p| p.as_table());
        if let Some(declared) = declared {
            debug = debug.or_else(|| declared.get("debug").cloned());
            strip = strip.or_else(|| declared.get("strip").cloned());
        }
        let parent = declared
            .and_then(|d| d.get("inherits"))
            .and_then(|i| i.as_str())
            .map(String::from);
        match (name.as_str(), parent) {
            ("dev" | "release", _) => break,
            ("test", None) => name = "dev".into(),
            ("bench", None) => name = "release".into(),
            (_, Some(parent)) => name = parent,
            (_, None) => return ProfileDebugInfo::Missing,
        }
    }
    let debug_on = match debug {
        Some(toml::Value::Boolean(on)) => on,
        Some(toml::Value::Integer(level)) => level > 0,
        Some(toml::Value::String(level)) => !matches!(level.as_str(), "none" | "0"),
        Some(_) => false,
        // The built-in defaults: dev has debug info, release has none.
        None => name == "dev",
    };
    let strip = match strip {
        Some(toml::Value::Boolean(true)) => "symbols".to_string(),
        Some(toml::Value::String(level)) => level,
        // Cargo strips the debug info of a profile without any (1.77+).
        _ if !debug_on => "debuginfo".into(),
        _ => "none".into(),
    };
    match strip.as_str() {
        "symbols" => ProfileDebugInfo::Stripped,
        _ if !debug_on || strip == "debuginfo" => ProfileDebugInfo::NoDebugInfo,
        _ => ProfileDebugInfo::Fine,
    }
}

fn parse(text: &str, file: &str) -> anyhow::Result<DocumentMut> {
    text.parse::<DocumentMut>()
        .map_err(|e| anyhow::anyhow!("{file} does not parse: {e}"))
}

/// Cargo's member globs: `*` and `?` within one path component.
fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| component_matches(p.as_bytes(), s.as_bytes()))
}

fn component_matches(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            component_matches(&pattern[1..], text)
                || (!text.is_empty() && component_matches(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => component_matches(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => component_matches(&pattern[1..], &text[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(edit: Edit) -> String {
        match edit {
            Edit::Changed { text, .. } => text,
            Edit::Unchanged(why) => panic!("unchanged: {why}"),
        }
    }

    fn unchanged(edit: Edit) -> String {
        match edit {
            Edit::Unchanged(why) => why,
            Edit::Changed { text, .. } => panic!("changed:\n{text}"),
        }
    }

    const SINGLE: &str =
        "# my crate\n[package]\nname = \"app\" # the app\nversion = \"0.1.0\"\n\n[dependencies]\n";

    #[test]
    fn a_single_package_gets_a_workspace_and_keeps_its_comments() {
        let text = changed(add_workspace_member(SINGLE, "xtask").unwrap());
        assert!(text.starts_with(SINGLE), "{text}");
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["workspace"]["members"].as_array().unwrap(),
            &vec![toml::Value::String("xtask".into())]
        );
        unchanged(add_workspace_member(&text, "xtask").unwrap());
    }

    #[test]
    fn a_virtual_workspace_gets_a_member_and_globs_count() {
        let manifest =
            "[workspace]\n# crates\nmembers = [\"crates/a\", \"crates/b\"]\nresolver = \"2\"\n";
        let text = changed(add_workspace_member(manifest, "xtask").unwrap());
        assert!(text.contains("# crates\n"), "{text}");
        assert!(
            text.contains("\"crates/a\", \"crates/b\", \"xtask\""),
            "{text}"
        );
        unchanged(add_workspace_member(&text, "xtask").unwrap());
        let listed = "[workspace]\nmembers = [\n  \"a\",\n  \"b\",\n]\n";
        let text = changed(add_workspace_member(listed, "xtask").unwrap());
        assert_eq!(
            text,
            "[workspace]\nmembers = [\n  \"a\",\n  \"b\",\n  \"xtask\",\n]\n"
        );
        unchanged(add_workspace_member("[workspace]\nmembers = [\"*\"]\n", "xtask").unwrap());
        unchanged(add_workspace_member("[workspace]\nmembers = [\"x*\"]\n", "xtask").unwrap());
        changed(add_workspace_member("[workspace]\nmembers = [\"crates/*\"]\n", "xtask").unwrap());
    }

    #[test]
    fn the_profile_overrides_a_stripped_release() {
        let manifest = "[package]\nname = \"a\"\n\n[profile.release]\nstrip = true\ndebug = 0\n";
        let text = changed(add_profiling_profile(manifest).unwrap());
        assert!(text.starts_with(manifest), "{text}");
        let table: toml::Table = text.parse().unwrap();
        let profile = &table["profile"]["profiling"];
        assert_eq!(profile["inherits"].as_str(), Some("release"));
        assert_eq!(profile["debug"].as_bool(), Some(true));
        assert_eq!(profile["strip"].as_str(), Some("none"));
        assert_eq!(table["profile"]["release"]["strip"].as_bool(), Some(true));
        unchanged(add_profiling_profile(&text).unwrap());
    }

    #[test]
    fn the_dwarf_reader_builds_optimised_and_a_setting_of_theirs_stays() {
        let manifest = "[package]\nname = \"a\"\n\n[profile.dev]\ndebug = 1 # theirs\n";
        let text = changed(add_dwarf_opt_level(manifest).unwrap());
        assert!(text.contains("debug = 1 # theirs"), "{text}");
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["profile"]["dev"]["package"][DWARF_PACKAGE]["opt-level"].as_integer(),
            Some(2)
        );
        unchanged(add_dwarf_opt_level(&text).unwrap());
        let theirs = "[profile.dev.package.xtask-profiling-dwarf]\nopt-level = 3\n";
        unchanged(add_dwarf_opt_level(theirs).unwrap());
        let bare = changed(add_dwarf_opt_level("[package]\nname = \"a\"\n").unwrap());
        assert!(
            bare.contains("[profile.dev.package.xtask-profiling-dwarf]\nopt-level = 2"),
            "{bare}"
        );
        assert!(!bare.contains("[profile]\n"), "{bare}");
    }

    #[test]
    fn the_alias_joins_the_other_aliases_and_settings() {
        let config = "[build]\njobs = 2\n\n[alias]\nci = \"test --all\" # ours\n";
        let text = changed(add_alias(Some(config)).unwrap());
        assert!(text.contains("ci = \"test --all\" # ours"), "{text}");
        assert!(text.contains("jobs = 2"), "{text}");
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(table["alias"]["xtask"].as_str(), Some(ALIAS));
        unchanged(add_alias(Some(&text)).unwrap());
        let fresh = changed(add_alias(None).unwrap());
        assert_eq!(
            fresh.parse::<toml::Table>().unwrap()["alias"]["xtask"].as_str(),
            Some(ALIAS)
        );
        // Another spelling of ours is kept; another program is refused.
        unchanged(
            add_alias(Some(
                "[alias]\nxtask = [\"run\", \"-p\", \"xtask\", \"--\"]\n",
            ))
            .unwrap(),
        );
        let error = add_alias(Some("[alias]\nxtask = \"run --package tools --\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("run --package tools --") && error.contains("Mount"),
            "{error}"
        );
    }

    #[test]
    fn results_are_ignored_once() {
        let text = changed(ignore_results(Some("/target\n*.log"), "results"));
        assert_eq!(
            text,
            "/target\n*.log\n# Profiles and timings written by `cargo xtask`\n/results/\n"
        );
        unchanged(ignore_results(Some(&text), "results"));
        unchanged(ignore_results(Some("results\n"), "results"));
        unchanged(ignore_results(Some("/results/*\n"), "results"));
        changed(ignore_results(None, "results"));
    }

    #[test]
    fn the_installed_crate_is_renamed_and_keeps_its_tests_home() {
        let source = include_str!("../../Cargo.toml");
        assert!(is_profiling_xtask(source));
        assert!(!is_profiling_xtask("[package]\nname = \"xtask\"\n"));
        for name in ["xtask", "xtask-profiling"] {
            let text = installed_crate_manifest(source, name).unwrap();
            let table: toml::Table = text.parse().unwrap();
            assert_eq!(table["package"]["name"].as_str(), Some(name));
            assert_eq!(table["lib"]["test"].as_bool(), Some(false));
            assert_eq!(table["bin"][0]["name"].as_str(), Some(name));
            assert_eq!(table["bin"][0]["test"].as_bool(), Some(false));
            assert!(is_profiling_xtask(&text));
            // The same dependencies, the DWARF reader inside the crate.
            let mut dependencies = source.parse::<toml::Table>().unwrap()["dependencies"].clone();
            dependencies[DWARF_PACKAGE]["path"] = "dwarf".into();
            assert_eq!(table["dependencies"], dependencies);
        }
    }

    #[test]
    fn a_path_dependency_is_added_once() {
        let manifest = "[package]\nname = \"xtask\"\n\n[dependencies]\nanyhow = \"1\"\n";
        let text = changed(
            add_path_dependency(manifest, "xtask-profiling", "../xtask-profiling").unwrap(),
        );
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["dependencies"]["xtask-profiling"]["path"].as_str(),
            Some("../xtask-profiling")
        );
        unchanged(add_path_dependency(&text, "xtask-profiling", "../xtask-profiling").unwrap());
    }

    #[test]
    fn profile_settings_are_followed_through_inherits() {
        use ProfileDebugInfo::*;
        let check = |manifest: &str| profile_debug_info(manifest, "profiling");
        assert_eq!(check("[package]\nname = \"a\"\n"), Missing);
        assert_eq!(
            check("[profile.profiling]\ninherits = \"release\"\n"),
            NoDebugInfo
        );
        assert_eq!(
            check("[profile.profiling]\ninherits = \"release\"\ndebug = true\n"),
            Fine
        );
        assert_eq!(
            check("[profile.profiling]\ninherits = \"release\"\ndebug = \"line-tables-only\"\n"),
            Fine
        );
        assert_eq!(check("[profile.profiling]\ninherits = \"dev\"\n"), Fine);
        let stripped_release = "[profile.release]\nstrip = true\ndebug = 0\n";
        assert_eq!(
            check(&format!(
                "{stripped_release}[profile.profiling]\ninherits = \"release\"\ndebug = true\n"
            )),
            Stripped
        );
        let added = match add_profiling_profile(stripped_release).unwrap() {
            Edit::Changed { text, .. } => text,
            Edit::Unchanged(why) => panic!("{why}"),
        };
        assert_eq!(check(&added), Fine);
        assert_eq!(profile_debug_info(stripped_release, "release"), Stripped);
        assert_eq!(profile_debug_info("", "dev"), Fine);
        // This workspace's own.
        assert_eq!(check(include_str!("../../../../Cargo.toml")), Fine);
    }

    #[test]
    fn a_manifest_that_does_not_parse_is_named() {
        let error = add_workspace_member("[package\n", "xtask")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("Cargo.toml does not parse"), "{error}");
    }
}
