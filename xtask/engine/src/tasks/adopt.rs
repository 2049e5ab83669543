//! `cargo xtask adopt PATH`: installs this xtask into the Rust project at
//! PATH — the crate (with its DWARF reader, `dwarf/`), the workspace member,
//! the `profiling` build profile, the DWARF reader's opt-level, the
//! `cargo xtask` alias, `results/` in .gitignore and a starter
//! profiling.toml — then runs `cargo xtask doctor` there.
//!
//! Every edit keeps the project's comments and formatting (toml_edit) and
//! is idempotent: a second run finds everything in place and says so. An
//! `xtask/` that is the project's own is never overwritten: `--mount`
//! installs the tasks as a library that it can mount instead.

use crate::config::project_files::{self, Edit};
use crate::config::{starter, Config, FILE_NAME};
use crate::reports::stdout::{out, outln};
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The Rust project: the directory of its top Cargo.toml.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Print every edit without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// For a project with an xtask of its own: install the tasks as the
    /// library crate `xtask-profiling/`, a dependency of that xtask, which
    /// then mounts them as a subcommand (docs/tasks.md of the xtask-profiling
    /// repository, "Mount the tasks in an xtask of your own").
    #[arg(long)]
    pub mount: bool,
}

/// The directory and package of the crate when mounted as a library.
const LIBRARY_DIR: &str = "xtask-profiling";

/// The DWARF reader's crate, inside the xtask's directory (its path
/// dependency `dwarf`).
const DWARF_DIR: &str = "dwarf";

/// An edit of the root Cargo.toml's text.
type ManifestEdit<'a> = dyn Fn(&str) -> anyhow::Result<Edit> + 'a;

/// One file to write, and why.
struct Change {
    path: PathBuf,
    old: Option<String>,
    new: String,
    summary: String,
}

pub fn run(_invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let cargo = crate::tools::cargo_program();
    let (project, workspace) = workspace_root(&args.path, &cargo)?;
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The engine sits at xtask/engine/ here, at xtask/ in a project that
    // adopted it.
    if source.ancestors().skip(1).take(2).any(|dir| dir == project) {
        bail!("{} is the project this xtask comes from", project.display());
    }
    let Some(target) = find_target(&project, &workspace, args.mount)? else {
        return Ok(crate::tasks::exit::FAILURE);
    };
    let (changes, unchanged) = plan(source, &project, &workspace, &target)?;
    print_plan(
        &project,
        &changes,
        &unchanged,
        args.dry_run,
        target.crate_dir,
    );
    if args.dry_run {
        outln!("dry run: nothing was written");
        return Ok(0);
    }
    if changes.is_empty() {
        outln!("everything is already in place: nothing changed");
    }
    for change in &changes {
        crate::results::write_atomically(&change.path, &change.new)?;
    }
    if target.theirs {
        outln!("\n{}", mount_code(&target.own_dir));
        return Ok(0);
    }
    run_doctor(cargo, project)
}

/// The project at `path`, which must be the root of its workspace, and
/// that workspace.
fn workspace_root(
    path: &Path,
    cargo: &str,
) -> anyhow::Result<(PathBuf, crate::tools::cargo_metadata::Workspace)> {
    let project = path
        .canonicalize()
        .with_context(|| format!("cannot find {}", path.display()))?;
    if !project.join("Cargo.toml").is_file() {
        bail!(
            "{} has no Cargo.toml: give the root directory of a Rust project (where its top \
             Cargo.toml is)",
            project.display()
        );
    }
    let workspace = crate::tools::cargo_metadata::read(Path::new(cargo), &project)?;
    if workspace.root != project {
        bail!(
            "{} is a member of the workspace at {}: adopt the workspace root instead",
            project.display(),
            workspace.root.display()
        );
    }
    Ok((project, workspace))
}

/// Where the tasks go: as `xtask/`, or as a library that the project's own
/// xtask mounts.
struct Target {
    /// The project has an xtask of its own.
    theirs: bool,
    /// The manifest of the project's own xtask (or where ours goes).
    own_xtask: PathBuf,
    own_dir: PathBuf,
    crate_dir: &'static str,
    package: &'static str,
}

/// Where the tasks go; `None` when the project has an xtask of its own and
/// `--mount` was not given (after saying how to mount them).
fn find_target(
    project: &Path,
    workspace: &crate::tools::cargo_metadata::Workspace,
    mount: bool,
) -> anyhow::Result<Option<Target>> {
    // The project's own xtask: a member package named `xtask` wherever it
    // lies (`tools/xtask`, say: a second package of that name would break
    // the workspace), or an `xtask/` directory of another crate.
    let own_xtask = workspace
        .members
        .iter()
        .filter(|(name, _)| name == "xtask")
        .map(|(_, manifest)| manifest.clone())
        .chain(Some(project.join("xtask/Cargo.toml")))
        .find(|manifest| {
            std::fs::read_to_string(manifest)
                .is_ok_and(|text| !project_files::is_profiling_xtask(&text))
        });
    let theirs = own_xtask.is_some();
    let own_xtask = own_xtask.unwrap_or_else(|| project.join("xtask/Cargo.toml"));
    let own_dir = own_xtask.parent().unwrap_or(project).to_path_buf();
    if theirs && !mount {
        eprintln!("{}", mount_instructions(project, &own_dir));
        return Ok(None);
    }
    let (crate_dir, package) = match theirs {
        true => (LIBRARY_DIR, LIBRARY_DIR),
        false if mount => bail!(
            "{} has no xtask of its own to mount the tasks in: run adopt without --mount",
            project.display()
        ),
        false => ("xtask", "xtask"),
    };
    Ok(Some(Target {
        theirs,
        own_xtask,
        own_dir,
        crate_dir,
        package,
    }))
}

/// Every file to write, and every edit already in place (as the lines that
/// say so).
fn plan(
    source: &Path,
    project: &Path,
    workspace: &crate::tools::cargo_metadata::Workspace,
    target: &Target,
) -> anyhow::Result<(Vec<Change>, Vec<String>)> {
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    copy_crate(
        source,
        &project.join(target.crate_dir),
        target.package,
        &mut changes,
    )?;
    edit_root_manifest(project, target.crate_dir, &mut changes, &mut unchanged)?;
    if target.theirs {
        let text = read(&target.own_xtask)?;
        let edit = project_files::add_path_dependency(
            &text,
            LIBRARY_DIR,
            &relative_path(&target.own_dir, &project.join(LIBRARY_DIR)),
        )?;
        record(
            edit,
            &target.own_xtask,
            Some(text),
            &mut changes,
            &mut unchanged,
        );
    } else {
        let (path, old) = cargo_config(project);
        let edit = project_files::add_alias(old.as_deref())?;
        record(edit, &path, old, &mut changes, &mut unchanged);
    }
    let config_path = project.join(FILE_NAME);
    let existing_config = std::fs::read_to_string(&config_path).ok();
    ignore_results(
        project,
        &config_path,
        existing_config.as_deref(),
        &mut changes,
        &mut unchanged,
    );
    if existing_config.is_some() {
        unchanged.push(format!("{FILE_NAME}: already there (kept as it is)"));
    } else {
        write_starter(
            project,
            workspace,
            &config_path,
            &mut changes,
            &mut unchanged,
        )?;
    }
    Ok((changes, unchanged))
}

/// The root Cargo.toml's edits: the workspace member, the `profiling`
/// profile and the DWARF reader's opt-level, as one change.
fn edit_root_manifest(
    project: &Path,
    crate_dir: &str,
    changes: &mut Vec<Change>,
    unchanged: &mut Vec<String>,
) -> anyhow::Result<()> {
    let manifest_path = project.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let mut root_manifest = manifest.clone();
    let mut summaries = Vec::new();
    // Each edit applies to the text the previous one left.
    let edits: [&ManifestEdit; 3] = [
        &|text| project_files::add_workspace_member(text, crate_dir),
        &project_files::add_profiling_profile,
        &project_files::add_dwarf_opt_level,
    ];
    for edit in edits {
        match edit(&root_manifest)? {
            Edit::Changed { text, summary } => {
                root_manifest = text;
                summaries.push(summary);
            }
            Edit::Unchanged(why) => unchanged.push(format!("Cargo.toml: {why}")),
        }
    }
    if root_manifest != manifest {
        changes.push(Change {
            path: manifest_path,
            old: Some(manifest),
            new: root_manifest,
            summary: summaries.join("; "),
        });
    }
    Ok(())
}

/// The results directory in .gitignore: the one the existing profiling.toml
/// names, or the default.
fn ignore_results(
    project: &Path,
    config_path: &Path,
    existing_config: Option<&str>,
    changes: &mut Vec<Change>,
    unchanged: &mut Vec<String>,
) {
    let results_dir = match existing_config.map(|text| Config::parse(config_path, text)) {
        Some(Ok(config)) => config.defaults.results_dir,
        Some(Err(error)) => {
            unchanged.push(format!(
                "{FILE_NAME}: kept, but it does not load ({error}); .gitignore gets `results/`, \
                 the default"
            ));
            "results".into()
        }
        None => "results".into(),
    };
    let gitignore_path = project.join(".gitignore");
    let gitignore = std::fs::read_to_string(&gitignore_path).ok();
    let edit = project_files::ignore_results(gitignore.as_deref(), &results_dir);
    record(edit, &gitignore_path, gitignore, changes, unchanged);
}

/// A starter profiling.toml with a workload per target of the workspace,
/// when it has any.
fn write_starter(
    project: &Path,
    workspace: &crate::tools::cargo_metadata::Workspace,
    config_path: &Path,
    changes: &mut Vec<Change>,
    unchanged: &mut Vec<String>,
) -> anyhow::Result<()> {
    let name = project
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match starter::render(&name, &workspace.targets) {
        Some(text) => {
            let config = Config::parse(config_path, &text)
                .with_context(|| format!("the starter {FILE_NAME} does not load:\n{text}"))?;
            changes.push(Change {
                path: config_path.to_path_buf(),
                old: None,
                new: text,
                summary: format!(
                    "a starter with {} workload(s): {}",
                    config.workloads.len(),
                    config
                        .workloads
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        None => unchanged.push(format!(
            "{FILE_NAME}: not written, the workspace has no binary, example or criterion \
             bench; write a `command` workload (docs/config.md of the xtask-profiling repository)"
        )),
    }
    Ok(())
}

/// What stays and what changes; with `dry_run`, each edit of the project's
/// own files line by line.
fn print_plan(
    project: &Path,
    changes: &[Change],
    unchanged: &[String],
    dry_run: bool,
    crate_dir: &str,
) {
    outln!("adopting the profiling xtask in {}", project.display());
    for line in unchanged {
        outln!("  unchanged  {line}");
    }
    // The crate's files share one summary line, on the first of them.
    for change in changes.iter().filter(|c| !c.summary.is_empty()) {
        let relative = change.path.strip_prefix(project).unwrap_or(&change.path);
        let verb = if change.old.is_some() {
            "edit"
        } else {
            "create"
        };
        outln!("  {verb:<9}  {}: {}", relative.display(), change.summary);
        if dry_run && !relative.starts_with(crate_dir) {
            out!(
                "{}",
                changed_lines(change.old.as_deref().unwrap_or(""), &change.new)
            );
        }
    }
}

/// Runs `cargo xtask doctor` in the adopted project, which builds the xtask.
fn run_doctor(cargo: String, project: PathBuf) -> anyhow::Result<u8> {
    outln!(
        "\nrunning `cargo xtask doctor` in {} (the first build of the xtask takes a minute or two)",
        project.display()
    );
    let status = crate::runs::process::run_in_foreground(&cargo, &["xtask", "doctor"], &project)
        .with_context(|| format!("cannot run {cargo}"))?;
    let tools_missing = i32::from(crate::tasks::exit::TOOLS_MISSING);
    match status.code() {
        // A profiling tool is missing: doctor said which and how to get it.
        Some(code) if code == 0 || code == tools_missing => {
            outln!(
                "\nnext: cd {} && cargo xtask profile-baseline",
                project.display()
            );
            Ok(0)
        }
        _ => bail!(
            "`cargo xtask doctor` failed in {} ({status}); its output is above",
            project.display()
        ),
    }
}

/// The crate's files (its manifest, as installed, and src/), whatever
/// differs at `destination`. Its tests and fixtures stay here.
fn copy_crate(
    source: &Path,
    destination: &Path,
    package: &str,
    changes: &mut Vec<Change>,
) -> anyhow::Result<()> {
    let manifest =
        project_files::installed_crate_manifest(&read(&source.join("Cargo.toml"))?, package)?;
    // The engine's library, with a main of its own: the installed crate is
    // the xtask binary too.
    let main = PathBuf::from("src/main.rs");
    let lib_name = package.replace('-', "_");
    let mut files = vec![
        (PathBuf::from("Cargo.toml"), manifest),
        (
            main.clone(),
            format!("fn main() {{\n    {lib_name}::main()\n}}\n"),
        ),
    ];
    let mut sources = Vec::new();
    collect_files(&source.join("src"), &mut sources)?;
    sources.retain(|path| path.strip_prefix(source).is_ok_and(|p| p != main));
    for path in sources {
        let relative = path.strip_prefix(source).unwrap_or(&path).to_path_buf();
        files.push((relative, read(&path)?));
    }
    // The DWARF reader, a crate of its own: beside the engine here, inside
    // the installed crate's directory in a project that adopted it.
    let dwarf = [source.join(DWARF_DIR), source.join("..").join(DWARF_DIR)]
        .into_iter()
        .find(|dir| dir.join("Cargo.toml").is_file())
        .with_context(|| format!("no {DWARF_DIR}/ crate beside {}", source.display()))?;
    let mut dwarf_sources = vec![dwarf.join("Cargo.toml")];
    collect_files(&dwarf.join("src"), &mut dwarf_sources)?;
    for path in dwarf_sources {
        let relative = Path::new(DWARF_DIR).join(path.strip_prefix(&dwarf).unwrap_or(&path));
        files.push((relative, read(&path)?));
    }
    files.sort();
    let (mut created, mut updated) = (0, 0);
    let mut first: Option<Change> = None;
    for (relative, text) in files {
        let path = destination.join(&relative);
        let old = std::fs::read_to_string(&path).ok();
        if old.as_deref() == Some(text.as_str()) {
            continue;
        }
        if old.is_some() {
            updated += 1;
        } else {
            created += 1;
        }
        let change = Change {
            path,
            old,
            new: text,
            summary: String::new(),
        };
        match first {
            None => first = Some(change),
            Some(_) => changes.push(change),
        }
    }
    // One summary line for the whole crate, on its first file.
    if let Some(mut change) = first {
        let name = destination
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        change.summary = match (created, updated) {
            (c, 0) => format!("the profiling xtask ({c} files) as {name}/"),
            (0, u) => format!("{u} file(s) of {name}/ updated to this version"),
            (c, u) => format!("{name}/: {c} new file(s), {u} updated to this version"),
        };
        changes.insert(0, change);
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn record(
    edit: Edit,
    path: &Path,
    old: Option<String>,
    changes: &mut Vec<Change>,
    unchanged: &mut Vec<String>,
) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    match edit {
        Edit::Changed { text, summary } => changes.push(Change {
            path: path.to_path_buf(),
            old,
            new: text,
            summary,
        }),
        Edit::Unchanged(why) => unchanged.push(format!("{name}: {why}")),
    }
}

/// .cargo/config.toml, or the older .cargo/config when only that exists.
fn cargo_config(project: &Path) -> (PathBuf, Option<String>) {
    let toml = project.join(".cargo/config.toml");
    let legacy = project.join(".cargo/config");
    if !toml.exists() && legacy.is_file() {
        let text = std::fs::read_to_string(&legacy).ok();
        return (legacy, text);
    }
    let text = std::fs::read_to_string(&toml).ok();
    (toml, text)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// What an edit changes, as a line diff: `- line` removed, `+ line` added
/// (a longest common subsequence of lines; these files are short).
fn changed_lines(old: &str, new: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // common[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && (i == old.len() || common[i][j + 1] > common[i + 1][j]) {
            out.push_str(&format!("      + {}\n", new[j]));
            j += 1;
        } else {
            out.push_str(&format!("      - {}\n", old[i]));
            i += 1;
        }
    }
    out
}

fn mount_instructions(project: &Path, own_dir: &Path) -> String {
    format!(
        "{} is the project's own xtask (not this one), so adopt leaves it alone.\n\
         Mount the profiling tasks in it as a subcommand instead:\n\
         \n  cargo xtask adopt {} --mount\n\n\
         installs them as the library crate {LIBRARY_DIR}/ (a dependency of that xtask) and \
         prints the lines its main() needs.",
        own_dir.display(),
        project.display()
    )
}

/// `to` as seen from `from` (`../xtask-profiling`); `to` itself when the
/// two share no leading directory.
fn relative_path(from: &Path, to: &Path) -> String {
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common <= 1 {
        return to.display().to_string();
    }
    let up = from.components().count() - common;
    let mut path: Vec<String> = vec!["..".into(); up];
    path.extend(
        to.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    path.join("/")
}

fn mount_code(own_dir: &Path) -> String {
    format!(
        "last step: in the main() of {}, before its own subcommands, add\n\n\
         \x20   let mut args = std::env::args_os().skip(1);\n\
         \x20   if args.next().is_some_and(|a| a == \"profile\") {{\n\
         \x20       xtask_profiling::run_as(\"cargo xtask profile\", args); // ends the process\n\
         \x20   }}\n\n\
         (adapt it to how your xtask reads its arguments), then: cargo xtask profile doctor",
        own_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewritten_line_shows_as_removed_and_added_and_nothing_else() {
        let old = "[workspace]\nmembers = [\"a\"]\nexclude = [\"old\"]\nresolver = \"2\"\n";
        let new = "[workspace]\nmembers = [\"a\", \"xtask\"]\nexclude = [\"old\"]\nresolver = \"2\"\n\n[profile.profiling]\n";
        assert_eq!(
            changed_lines(old, new),
            "      - members = [\"a\"]\n      + members = [\"a\", \"xtask\"]\n      + \n      + [profile.profiling]\n"
        );
        assert_eq!(changed_lines("", "a\n"), "      + a\n");
    }

    #[test]
    fn paths_between_directories() {
        assert_eq!(
            relative_path(Path::new("/p/tools/xtask"), Path::new("/p/xtask-profiling")),
            "../../xtask-profiling"
        );
        assert_eq!(
            relative_path(Path::new("/p/xtask"), Path::new("/p/xtask-profiling")),
            "../xtask-profiling"
        );
        assert_eq!(relative_path(Path::new("/a/x"), Path::new("/b/y")), "/b/y");
    }
}
