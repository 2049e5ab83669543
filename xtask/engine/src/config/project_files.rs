//! The project's own files that `adopt` sets up for the xtask: the
//! `xtask` alias in .cargo/config.toml, `results/` (and the xtask's target
//! directory) in .gitignore, and in the root Cargo.toml only what a
//! project needs: `results/` out of the root package's files, `xtask` out
//! of a member glob that would take it in; and what an earlier `adopt`
//! left there and the thin xtask no longer needs. Also the `profiling`
//! build profile, which cargo gets on its command line when Cargo.toml
//! declares none.
//!
//! Each edit is a pure function from the file's text to an [`Edit`], made
//! with toml_edit so that the project's comments, order and formatting stay
//! as they were; applying the same edit twice changes nothing.

use super::thin_xtask::{ALIAS, XTASK_DIR};
use toml_edit::{value, Array, DocumentMut, Item};

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

/// The alias the first `adopt` wrote, when the xtask was a member of the
/// project's workspace.
const MEMBER_ALIAS: &str = "run --package xtask --";

/// The xtask's DWARF reader, a crate of its own.
pub const DWARF_PACKAGE: &str = "xtask-profiling-dwarf";

/// The `--config` flags that give cargo the `profiling` profile (release
/// speed, full debug info, not stripped) when the root manifest declares
/// none, so that the project's Cargo.toml needs no edit: the same build as
/// the table in Cargo.toml would give (same artifacts, reused by cargo).
/// A profile the manifest declares is the project's own, used as it is.
pub fn profile_flags(manifest: &str, profile: &str) -> Vec<String> {
    if profile != PROFILE || profile_debug_info(manifest, profile) != ProfileDebugInfo::Missing {
        return Vec::new();
    }
    ["inherits=\"release\"", "debug=true", "strip=\"none\""]
        .iter()
        .flat_map(|setting| {
            [
                "--config".to_string(),
                format!("profile.{PROFILE}.{setting}"),
            ]
        })
        .collect()
}

/// Adds `dir` to `[workspace] exclude` when one of the workspace's member
/// globs matches it (`members = ["*"]`): cargo would otherwise take it for
/// a member, and refuse the workspace (the xtask is a workspace of its own,
/// results/ is no package at all).
pub fn exclude_from_workspace(manifest: &str, dir: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    let Some(workspace) = doc.get_mut("workspace").and_then(Item::as_table_like_mut) else {
        return Ok(Edit::Unchanged(format!(
            "no [workspace]: nothing takes {dir}/ for a member"
        )));
    };
    let strings = |item: Option<&Item>| -> Vec<String> {
        item.and_then(Item::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let members = strings(workspace.get("members"));
    let Some(pattern) = members.iter().find(|p| glob_matches(p, dir)) else {
        return Ok(Edit::Unchanged(format!(
            "no workspace member glob matches {dir}/"
        )));
    };
    if strings(workspace.get("exclude"))
        .iter()
        .any(|e| e.trim_end_matches('/') == dir)
    {
        return Ok(Edit::Unchanged(format!(
            "[workspace] exclude already has {dir:?}"
        )));
    }
    let exclude = workspace
        .entry("exclude")
        .or_insert_with(|| value(Array::new()));
    let Some(exclude) = exclude.as_array_mut() else {
        anyhow::bail!("Cargo.toml: `workspace.exclude` is not an array");
    };
    exclude.push(dir);
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!(
            "added {dir:?} to [workspace] exclude (the member glob {pattern:?} matches it, and \
             it is no member)"
        ),
    })
}

/// Removes `member` from `[workspace] members`, where an earlier `adopt`
/// put it; a `[workspace]` left with no member and nothing else, around a
/// root package, is the one that `adopt` created, and goes too.
pub fn remove_workspace_member(manifest: &str, member: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    let has_package = doc.contains_key("package");
    let Some(workspace) = doc.get_mut("workspace").and_then(Item::as_table_like_mut) else {
        return Ok(Edit::Unchanged(format!(
            "{member} is not a workspace member"
        )));
    };
    let Some(members) = workspace.get_mut("members").and_then(Item::as_array_mut) else {
        return Ok(Edit::Unchanged(format!(
            "{member} is not a workspace member"
        )));
    };
    let before = members.len();
    members.retain(|m| m.as_str().map(|m| m.trim_end_matches('/')) != Some(member));
    if members.len() == before {
        return Ok(Edit::Unchanged(format!(
            "{member} is not a workspace member"
        )));
    }
    let emptied = members.is_empty() && workspace.len() == 1 && has_package;
    if emptied {
        doc.remove("workspace");
    }
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: if emptied {
            format!("removed the [workspace] an earlier adopt added for {member}")
        } else {
            format!("removed {member:?} from [workspace] members")
        },
    })
}

/// Removes `[profile.dev.package.xtask-profiling-dwarf]`, which an earlier
/// `adopt` added and which names a package the workspace no longer has
/// (cargo warns about it on every build).
pub fn remove_dwarf_opt_level(manifest: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    let removed = doc
        .get_mut("profile")
        .and_then(|p| p.get_mut("dev"))
        .and_then(|d| d.get_mut("package"))
        .and_then(Item::as_table_like_mut)
        .and_then(|packages| packages.remove(DWARF_PACKAGE));
    if removed.is_none() {
        return Ok(Edit::Unchanged(format!(
            "no [profile.dev.package.{DWARF_PACKAGE}]"
        )));
    }
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!(
            "removed [profile.dev.package.{DWARF_PACKAGE}] (it is in xtask/Cargo.toml now)"
        ),
    })
}

/// Adds `/results` and `/profiling.toml` to the root package's `exclude`.
/// Cargo fingerprints a build script that prints no `rerun-if-changed` by
/// the newest file of its package (without git it finds them by walking
/// the package's directory; with git, untracked files count too): every
/// new result, and every edit of profiling.toml, would make it rebuild the
/// program. Excluded files are not looked at (and never packaged, which
/// they should not be). A manifest without a root package, or whose package
/// lists its files (`include`), needs nothing.
pub fn exclude_xtask_files(manifest: &str, results_dir: &str) -> anyhow::Result<Edit> {
    let mut doc = parse(manifest, "Cargo.toml")?;
    let Some(package) = doc.get_mut("package").and_then(Item::as_table_like_mut) else {
        return Ok(Edit::Unchanged(
            "no root package: results/ and profiling.toml are no package's files".into(),
        ));
    };
    if package.contains_key("include") {
        return Ok(Edit::Unchanged(
            "the root package lists its files (`include`), which leaves results/ and \
             profiling.toml out"
                .into(),
        ));
    }
    let exclude = package
        .entry("exclude")
        .or_insert_with(|| value(Array::new()));
    let Some(exclude) = exclude.as_array_mut() else {
        anyhow::bail!("Cargo.toml: `package.exclude` is not an array");
    };
    let mut added = Vec::new();
    // A results directory given as an absolute path lies elsewhere.
    let results =
        (!results_dir.starts_with('/')).then(|| format!("/{}", results_dir.trim_matches('/')));
    for wanted in results
        .into_iter()
        .chain([format!("/{}", super::FILE_NAME)])
    {
        let listed = exclude.iter().filter_map(|v| v.as_str()).any(|e| {
            let e = e.trim_end_matches('/');
            e == wanted || e == &wanted[1..]
        });
        if listed {
            continue;
        }
        // In an array written one entry per line, the new one gets a line too.
        let prefix = exclude
            .iter()
            .last()
            .and_then(|last| last.decor().prefix())
            .and_then(|p| p.as_str())
            .filter(|p| p.contains('\n'))
            .map(String::from);
        match prefix {
            Some(prefix) => exclude
                .push_formatted(toml_edit::Value::from(wanted.as_str()).decorated(prefix, "")),
            None => exclude.push(wanted.as_str()),
        }
        added.push(format!("{wanted:?}"));
    }
    if added.is_empty() {
        return Ok(Edit::Unchanged(
            "the root package already excludes results/ and profiling.toml".into(),
        ));
    }
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!(
            "added {} to [package] exclude (else a new result or an edit of profiling.toml \
             makes cargo rebuild a package whose build script has no rerun-if-changed)",
            added.join(", ")
        ),
    })
}

/// Adds the `xtask` alias to .cargo/config.toml (`None`: the file does not
/// exist yet), keeping every other alias and setting. The alias of an
/// earlier `adopt` (`run --package xtask --`) is replaced; an `xtask` alias
/// that runs something else is the project's own: an error, since `cargo
/// xtask` would then not reach these tasks.
pub fn add_alias(config: Option<&str>) -> anyhow::Result<Edit> {
    let mut doc = parse(config.unwrap_or(""), ".cargo/config.toml")?;
    let aliases = doc
        .entry("alias")
        .or_insert_with(|| Item::Table(toml_edit::Table::new()));
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
        let member: Vec<&str> = MEMBER_ALIAS.split_whitespace().collect();
        let runs_our_manifest = words.first().is_some_and(|w| w == "run")
            && words
                .windows(2)
                .any(|w| w[0] == "--manifest-path" && w[1] == format!("{XTASK_DIR}/Cargo.toml"));
        if words == ours || runs_our_manifest {
            return Ok(Edit::Unchanged(
                "the `xtask` alias is already there and runs xtask/Cargo.toml".into(),
            ));
        }
        if words != member {
            anyhow::bail!(
                ".cargo/config.toml already has an `xtask` alias that runs something else ({}): \
                 mount the profiling tasks in that program instead (`adopt --mount`: \"Mount the \
                 tasks in an xtask of your own\" in docs/tasks.md of the xtask-profiling repository)",
                words.join(" ")
            );
        }
        aliases.insert("xtask", value(ALIAS));
        return Ok(Edit::Changed {
            text: doc.to_string(),
            summary: format!(
                "replaced the alias xtask = \"{MEMBER_ALIAS}\" with \"{ALIAS}\" (the xtask is a \
                 workspace of its own now)"
            ),
        });
    }
    aliases.insert("xtask", value(ALIAS));
    Ok(Edit::Changed {
        text: doc.to_string(),
        summary: format!("added alias xtask = \"{ALIAS}\""),
    })
}

/// Adds `/path/` to .gitignore (`None`: no .gitignore yet) unless a line
/// already ignores it: the same path, or a pattern without a slash that
/// names its last component anywhere (`target` ignores `xtask/target`).
pub fn ignore_path(gitignore: Option<&str>, path: &str, comment: &str) -> Edit {
    let text = gitignore.unwrap_or("");
    let wanted = path.trim_matches('/');
    let last = wanted.rsplit('/').next().unwrap_or(wanted);
    let ignored = text.lines().map(str::trim).any(|line| {
        let line = line.trim_end_matches("/*").trim_end_matches('/');
        let anywhere = line.trim_start_matches("**/");
        line.trim_start_matches('/') == wanted || (!anywhere.contains('/') && anywhere == last)
    });
    if ignored {
        return Edit::Unchanged(format!(".gitignore already ignores {wanted}/"));
    }
    let mut new = text.to_string();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&format!("# {comment}\n/{wanted}/\n"));
    Edit::Changed {
        text: new,
        summary: format!("added /{wanted}/"),
    }
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
    fn a_member_glob_that_matches_the_xtask_gets_it_excluded() {
        unchanged(exclude_from_workspace(SINGLE, "xtask").unwrap());
        let listed = "[workspace]\n# crates\nmembers = [\"crates/*\"]\n";
        unchanged(exclude_from_workspace(listed, "xtask").unwrap());
        let globbed = "[workspace]\n# all of them\nmembers = [\"*\"]\nresolver = \"2\"\n";
        let text = changed(exclude_from_workspace(globbed, "xtask").unwrap());
        assert!(
            text.starts_with("[workspace]\n# all of them\nmembers = [\"*\"]\n"),
            "{text}"
        );
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["workspace"]["exclude"].as_array().unwrap(),
            &vec![toml::Value::String("xtask".into())]
        );
        unchanged(exclude_from_workspace(&text, "xtask").unwrap());
        let some = "[workspace]\nmembers = [\"x*\"]\nexclude = [\"old\"]\n";
        let text = changed(exclude_from_workspace(some, "xtask").unwrap());
        assert!(text.contains("exclude = [\"old\", \"xtask\"]"), "{text}");
    }

    #[test]
    fn an_earlier_adopts_member_and_workspace_go() {
        let created = format!("{SINGLE}\n[workspace]\nmembers = [\"xtask\"]\n");
        assert_eq!(
            changed(remove_workspace_member(&created, "xtask").unwrap()),
            SINGLE
        );
        let theirs = "[workspace]\n# ours\nmembers = [\n  \"a\",\n  \"xtask\",\n]\n";
        let text = changed(remove_workspace_member(theirs, "xtask").unwrap());
        assert_eq!(text, "[workspace]\n# ours\nmembers = [\n  \"a\",\n]\n");
        unchanged(remove_workspace_member(&text, "xtask").unwrap());
        // A workspace with settings of its own stays, even with no member.
        let settled = format!("{SINGLE}\n[workspace]\nmembers = [\"xtask\"]\nresolver = \"2\"\n");
        let text = changed(remove_workspace_member(&settled, "xtask").unwrap());
        assert!(
            text.contains("[workspace]\nmembers = []\nresolver"),
            "{text}"
        );
    }

    #[test]
    fn an_earlier_adopts_dwarf_opt_level_goes_and_the_rest_stays() {
        let manifest = "[package]\nname = \"a\"\n\n[profile.dev]\ndebug = 1 # theirs\n\n\
                        [profile.dev.package.xtask-profiling-dwarf]\nopt-level = 2\n";
        let text = changed(remove_dwarf_opt_level(manifest).unwrap());
        assert!(text.contains("debug = 1 # theirs"), "{text}");
        assert!(!text.contains(DWARF_PACKAGE), "{text}");
        unchanged(remove_dwarf_opt_level(&text).unwrap());
    }

    #[test]
    fn results_and_the_config_leave_the_root_package_once() {
        let text = changed(exclude_xtask_files(SINGLE, "results").unwrap());
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(
            table["package"]["exclude"].as_array().unwrap(),
            &vec![
                toml::Value::String("/results".into()),
                toml::Value::String("/profiling.toml".into())
            ]
        );
        assert!(
            text.starts_with("# my crate\n[package]\nname = \"app\" # the app\n"),
            "{text}"
        );
        unchanged(exclude_xtask_files(&text, "results").unwrap());
        let theirs = "[package]\nname = \"a\"\nexclude = [\n  \"/ci/\",\n  \"/pkg\",\n]\n";
        assert_eq!(
            changed(exclude_xtask_files(theirs, "results/").unwrap()),
            "[package]\nname = \"a\"\nexclude = [\n  \"/ci/\",\n  \"/pkg\",\n  \"/results\",\n  \
             \"/profiling.toml\",\n]\n"
        );
        let half = "[package]\nname = \"a\"\nexclude = [\"results\"]\n";
        assert_eq!(
            changed(exclude_xtask_files(half, "results").unwrap()),
            "[package]\nname = \"a\"\nexclude = [\"results\", \"/profiling.toml\"]\n"
        );
        unchanged(
            exclude_xtask_files("[package]\nname = \"a\"\ninclude = [\"src\"]\n", "results")
                .unwrap(),
        );
        unchanged(exclude_xtask_files("[workspace]\nmembers = [\"a\"]\n", "results").unwrap());
    }

    #[test]
    fn the_profile_goes_on_the_command_line_only_when_cargo_toml_has_none() {
        assert_eq!(
            profile_flags(SINGLE, PROFILE),
            [
                "--config",
                "profile.profiling.inherits=\"release\"",
                "--config",
                "profile.profiling.debug=true",
                "--config",
                "profile.profiling.strip=\"none\""
            ]
        );
        let declared = "[profile.profiling]\ninherits = \"release\"\nlto = true\n";
        assert!(profile_flags(declared, PROFILE).is_empty());
        assert!(profile_flags(SINGLE, "release").is_empty());
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
        // Another spelling of ours is kept; an earlier adopt's is replaced;
        // another program is refused.
        unchanged(
            add_alias(Some(
                "[alias]\nxtask = [\"run\", \"--manifest-path\", \"xtask/Cargo.toml\", \"--\"]\n",
            ))
            .unwrap(),
        );
        let old =
            changed(add_alias(Some("[alias]\nxtask = \"run --package xtask --\"\n")).unwrap());
        assert_eq!(old, format!("[alias]\nxtask = \"{ALIAS}\"\n"));
        let error = add_alias(Some("[alias]\nxtask = \"run --package tools --\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("run --package tools --") && error.contains("Mount"),
            "{error}"
        );
    }

    #[test]
    fn paths_are_ignored_once() {
        let text = changed(ignore_path(Some("/target\n*.log"), "results", "Profiles"));
        assert_eq!(text, "/target\n*.log\n# Profiles\n/results/\n");
        unchanged(ignore_path(Some(&text), "results", "Profiles"));
        unchanged(ignore_path(Some("results\n"), "results", "Profiles"));
        unchanged(ignore_path(Some("/results/*\n"), "results", "Profiles"));
        changed(ignore_path(None, "results", "Profiles"));
        // `/target` is the root's alone; `target` is any directory's.
        let text = changed(ignore_path(Some("/target\n"), "xtask/target", "Its build"));
        assert!(text.ends_with("/xtask/target/\n"), "{text}");
        unchanged(ignore_path(Some(&text), "xtask/target", "Its build"));
        unchanged(ignore_path(Some("target\n"), "xtask/target", "Its build"));
        unchanged(ignore_path(
            Some("**/target/\n"),
            "xtask/target",
            "Its build",
        ));
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
        // What the command line gives, written as a table: its own keys
        // override a release profile that strips.
        let given = format!(
            "{stripped_release}[profile.profiling]\ninherits = \"release\"\ndebug = true\n\
             strip = \"none\"\n"
        );
        assert_eq!(check(&given), Fine);
        assert_eq!(profile_debug_info(stripped_release, "release"), Stripped);
        assert_eq!(profile_debug_info("", "dev"), Fine);
    }

    #[test]
    fn a_manifest_that_does_not_parse_is_named() {
        let error = exclude_xtask_files("[package\n", "results")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("Cargo.toml does not parse"), "{error}");
    }
}
