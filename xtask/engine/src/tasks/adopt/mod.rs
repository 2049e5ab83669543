//! `cargo xtask adopt PATH`: sets the profiling xtask up in the Rust
//! project at PATH — a thin `xtask/` (a manifest that is a workspace of its
//! own and depends on the engine, and a one-line main), the `cargo xtask`
//! alias, `results/` in .gitignore and a starter profiling.toml — then runs
//! `cargo xtask doctor` there.
//!
//! The project's Cargo.lock is never touched: the xtask has its own. Its
//! Cargo.toml changes only where it must: `results/` out of a root
//! package's files (or cargo would rebuild it after every task), `xtask`
//! out of a member glob that matches it. What an earlier `adopt` copied
//! (the engine's source in `xtask/`) is converted to the thin form.
//!
//! Every edit keeps the project's comments and formatting (toml_edit) and
//! is idempotent: a second run finds everything in place and says so. An
//! `xtask/` that is the project's own is never overwritten: `--mount` adds
//! the engine as a dependency of it instead.

use crate::config::project_files::{self, Edit};
use crate::config::thin_xtask::{self, EngineSource, ENGINE_PACKAGE, XTASK_DIR};
use crate::config::{starter, Config, FILE_NAME};
use crate::reports::stdout::{out, outln};
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use old_copy::{engine_lock, plan_remove_copy, remove_empty_dirs};
use std::path::{Path, PathBuf};

mod old_copy;

#[derive(clap::Args)]
pub struct Args {
    /// The Rust project: the directory of its top Cargo.toml.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Print every edit without writing (or building) anything.
    #[arg(long)]
    pub dry_run: bool,
    /// For a project with an xtask of its own: add the engine as a
    /// dependency of that xtask, which then mounts the tasks as a
    /// subcommand (docs/tasks.md of the xtask-profiling repository, "Mount
    /// the tasks in an xtask of your own").
    #[arg(long)]
    pub mount: bool,
    /// Where the xtask gets the engine (the crate xtask-profiling) from:
    /// `path=DIR` (the default: this checkout's xtask/engine, which works
    /// offline), `git=URL[@REV]` (a clone cargo fetches, at a commit or
    /// tag), or `version=X` (from crates.io, once the crate is published
    /// there). An xtask already in place keeps its engine unless this is
    /// given.
    #[arg(long, value_name = "SOURCE")]
    pub engine: Option<EngineSource>,
}

/// The directory of the library crate that an earlier `adopt --mount`
/// copied into a project.
const LIBRARY_DIR: &str = "xtask-profiling";

/// One file to write or delete, and why.
struct Change {
    path: PathBuf,
    old: Option<String>,
    /// `None`: the file is deleted.
    new: Option<String>,
    summary: String,
}

/// What adopt will do: the changes, the edits already in place, and notes.
#[derive(Default)]
struct Plan {
    changes: Vec<Change>,
    unchanged: Vec<String>,
    notes: Vec<String>,
    /// Directories of an earlier copy, removed once empty.
    emptied: Vec<PathBuf>,
}

impl Plan {
    fn record(&mut self, edit: Edit, path: &Path, old: Option<String>) {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match edit {
            Edit::Changed { text, summary } => self.changes.push(Change {
                path: path.to_path_buf(),
                old,
                new: Some(text),
                summary,
            }),
            Edit::Unchanged(why) => self.unchanged.push(format!("{name}: {why}")),
        }
    }

    fn write(&mut self, path: PathBuf, old: Option<String>, new: String, summary: String) {
        self.changes.push(Change {
            path,
            old,
            new: Some(new),
            summary,
        });
    }
}

pub fn run(_invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let cargo = crate::tools::cargo_program();
    let (project, workspace) = workspace_root(&args.path, &cargo)?;
    // The engine sits at xtask/engine/ of its repository.
    let engine_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if engine_dir
        .ancestors()
        .skip(1)
        .take(2)
        .any(|dir| dir == project)
    {
        bail!("{} is the project this xtask comes from", project.display());
    }
    let Some(target) = find_target(&project, &workspace, args.mount)? else {
        return Ok(crate::tasks::exit::FAILURE);
    };
    let engine = args
        .engine
        .clone()
        .unwrap_or_else(EngineSource::this_engine);
    let config_path = project.join(FILE_NAME);
    let existing_config = std::fs::read_to_string(&config_path).ok();
    let mut plan = Plan::default();
    let results_dir = results_dir(&config_path, existing_config.as_deref(), &mut plan);
    match &target.theirs {
        Some(own_xtask) => plan_mount(&project, own_xtask, &engine, &mut plan)?,
        None => plan_xtask(&project, &engine, args.engine.is_some(), &mut plan)?,
    }
    plan_root_manifest(&project, target.theirs.is_none(), &results_dir, &mut plan)?;
    if target.theirs.is_none() {
        let (path, old) = cargo_config(&project);
        let edit = project_files::add_alias(old.as_deref())?;
        plan.record(edit, &path, old);
    }
    plan_gitignore(&project, &results_dir, target.theirs.is_none(), &mut plan);
    let write_starter = existing_config.is_none();
    if !write_starter {
        plan.unchanged
            .push(format!("{FILE_NAME}: already there (kept as it is)"));
    } else if args.dry_run {
        // Nothing is built in a dry run: the starter's targets are not tried.
        plan_starter(&project, &workspace, false, &mut plan)?;
    }
    print_plan(&project, &plan, args.dry_run, true);
    if args.dry_run {
        outln!("dry run: nothing was written");
        return Ok(0);
    }
    apply(&plan)?;
    if write_starter {
        // After the edits above: the targets it tries are built as the
        // tasks will build them, once.
        let mut starter_plan = Plan::default();
        plan_starter(&project, &workspace, true, &mut starter_plan)?;
        print_plan(&project, &starter_plan, false, false);
        apply(&starter_plan)?;
    }
    if plan.changes.is_empty() && !write_starter {
        outln!("everything is already in place: nothing changed");
    }
    if let Some(own_xtask) = &target.theirs {
        outln!("\n{}", mount_code(own_xtask.parent().unwrap_or(&project)));
        return Ok(0);
    }
    outln!("\n{}", engine.how_to_update());
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

/// Where the tasks go.
struct Target {
    /// The manifest of the project's own xtask, which mounts the tasks;
    /// `None`: ours goes to `xtask/`.
    theirs: Option<PathBuf>,
}

/// Where the tasks go; `None` when the project has an xtask of its own and
/// `--mount` was not given (after saying how to mount them).
fn find_target(
    project: &Path,
    workspace: &crate::tools::cargo_metadata::Workspace,
    mount: bool,
) -> anyhow::Result<Option<Target>> {
    // The project's own xtask: a member package named `xtask` wherever it
    // lies (`tools/xtask`, say), or an `xtask/` directory of another crate.
    let own_xtask = workspace
        .members
        .iter()
        .filter(|(name, _)| name == "xtask")
        .map(|(_, manifest)| manifest.clone())
        .chain(Some(project.join(XTASK_DIR).join("Cargo.toml")))
        .find(|manifest| {
            std::fs::read_to_string(manifest)
                .is_ok_and(|text| !project_files::is_profiling_xtask(&text))
        });
    match own_xtask {
        Some(own) if !mount => {
            eprintln!(
                "{}",
                mount_instructions(project, own.parent().unwrap_or(project))
            );
            Ok(None)
        }
        Some(own) => Ok(Some(Target { theirs: Some(own) })),
        None if mount => bail!(
            "{} has no xtask of its own to mount the tasks in: run adopt without --mount",
            project.display()
        ),
        None => Ok(Some(Target { theirs: None })),
    }
}

/// The results directory: the one the existing profiling.toml names, or
/// the default.
fn results_dir(config_path: &Path, existing: Option<&str>, plan: &mut Plan) -> String {
    match existing.map(|text| Config::parse(config_path, text)) {
        Some(Ok(config)) => config.defaults.results_dir,
        Some(Err(error)) => {
            plan.unchanged.push(format!(
                "{FILE_NAME}: kept, but it does not load ({error}); `results/`, the default, is \
                 the results directory for what adopt sets up"
            ));
            "results".into()
        }
        None => "results".into(),
    }
}

/// The thin xtask in `xtask/`: its manifest, main and lock file; an
/// earlier adopt's copy of the engine converted to it.
fn plan_xtask(
    project: &Path,
    engine: &EngineSource,
    engine_given: bool,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let dir = project.join(XTASK_DIR);
    let manifest_path = dir.join("Cargo.toml");
    let existing = std::fs::read_to_string(&manifest_path).ok();
    let main_path = dir.join("src/main.rs");
    let main = std::fs::read_to_string(&main_path).ok();
    match existing {
        Some(text) if !thin_xtask::is_copied_engine(&text) => {
            // The thin xtask is there: its engine changes only when asked.
            let current = thin_xtask::engine_dependency(&text).unwrap_or_default();
            match thin_xtask::set_engine_dependency(&text, engine, "xtask/Cargo.toml")? {
                Some(new) if engine_given => plan.write(
                    manifest_path,
                    Some(text),
                    new,
                    format!("the engine is now `{}` (was `{current}`)", engine.line()),
                ),
                _ => plan.unchanged.push(format!(
                    "xtask/Cargo.toml: the thin xtask is there (`{current}`)"
                )),
            }
            if main.is_none() {
                plan.write(
                    main_path,
                    None,
                    thin_xtask::MAIN_RS.into(),
                    "its main".into(),
                );
            }
        }
        old => {
            let converting = old.is_some();
            if converting {
                plan_remove_copy(&dir, &["Cargo.toml", "src/main.rs"], plan)?;
            }
            let summary = format!(
                "the thin xtask, a workspace of its own, depending on `{}`{}",
                engine.line(),
                if converting {
                    " (replaces the engine's copy an earlier adopt made)"
                } else {
                    ""
                }
            );
            plan.write(manifest_path, old, thin_xtask::manifest(engine), summary);
            if main.as_deref() != Some(thin_xtask::MAIN_RS) {
                plan.write(
                    main_path,
                    main,
                    thin_xtask::MAIN_RS.into(),
                    "its main: `xtask_profiling::main()`".into(),
                );
            }
        }
    }
    // The xtask's own lock file starts as the engine's: the versions its
    // tests ran with, already in cargo's cache when they were built here.
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        if let Some(seed) = engine_lock() {
            plan.write(
                lock,
                None,
                seed,
                "the engine's tested dependency versions (cargo keeps those the xtask uses at \
                 its first build)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// The project's own xtask gets the engine as a dependency; an earlier
/// `adopt --mount`'s copy of the engine goes.
fn plan_mount(
    project: &Path,
    own_xtask: &Path,
    engine: &EngineSource,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let text = read(own_xtask)?;
    let relative = own_xtask.strip_prefix(project).unwrap_or(own_xtask);
    match thin_xtask::set_engine_dependency(&text, engine, &relative.display().to_string())? {
        Some(new) => plan.write(
            own_xtask.to_path_buf(),
            Some(text),
            new,
            format!("added the dependency `{}`", engine.line()),
        ),
        None => plan.unchanged.push(format!(
            "{}: `{}` is already a dependency",
            relative.display(),
            engine.line()
        )),
    }
    let copy = project.join(LIBRARY_DIR);
    let copied = std::fs::read_to_string(copy.join("Cargo.toml"))
        .is_ok_and(|text| project_files::is_profiling_xtask(&text));
    if copied {
        plan_remove_copy(&copy, &[], plan)?;
        plan.emptied.push(copy);
    }
    plan.notes.push(format!(
        "your xtask is a member of your workspace, so the engine's dependencies join your \
         Cargo.lock at its next build, adopt's own included (and shared ones may be raised to \
         the engine's minimum versions). To keep Cargo.lock as it is, make the xtask a workspace of its own \
         (`[workspace]` in {}) and run it with `run --manifest-path`, as `adopt` without \
         --mount does",
        relative.display()
    ));
    Ok(())
}

/// The root Cargo.toml's edits, as one change: results/ and profiling.toml
/// out of the root package's files, the xtask out of a member glob, and what an earlier
/// adopt added there that the thin xtask does not need.
fn plan_root_manifest(
    project: &Path,
    ours: bool,
    results_dir: &str,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let manifest_path = project.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let mut text = manifest.clone();
    let mut summaries = Vec::new();
    let library_copied = project.join(LIBRARY_DIR).join("Cargo.toml");
    let library_copied = std::fs::read_to_string(library_copied)
        .is_ok_and(|t| project_files::is_profiling_xtask(&t));
    // Each edit applies to the text the previous one left; the member an
    // earlier adopt added goes before the globs are matched.
    if ours {
        let edit = project_files::remove_workspace_member(&text, XTASK_DIR)?;
        apply_edit(edit, false, &mut text, &mut summaries, plan);
    }
    if library_copied {
        let edit = project_files::remove_workspace_member(&text, LIBRARY_DIR)?;
        apply_edit(edit, false, &mut text, &mut summaries, plan);
    }
    // The directories adopt and the tasks make at the root: a member glob
    // such as `*` matches them all (hidden ones too), and cargo would take
    // each for a member.
    let relative_results = Path::new(results_dir).is_relative().then_some(results_dir);
    let made = ours.then_some([XTASK_DIR, ".cargo"]).into_iter().flatten();
    for dir in made.chain(relative_results) {
        let edit = project_files::exclude_from_workspace(&text, dir.trim_end_matches('/'))?;
        apply_edit(edit, false, &mut text, &mut summaries, plan);
    }
    let edit = project_files::remove_dwarf_opt_level(&text)?;
    apply_edit(edit, false, &mut text, &mut summaries, plan);
    let edit = project_files::exclude_xtask_files(&text, results_dir)?;
    apply_edit(edit, true, &mut text, &mut summaries, plan);
    if text != manifest {
        plan.write(manifest_path, Some(manifest), text, summaries.join("; "));
        plan.notes.push(format!(
            "Cargo.lock is left as it is{}",
            if ours {
                ": the xtask has its own (xtask/Cargo.lock)"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// One edit of the root manifest's text; an unchanged one is reported
/// only when `report` (the others are about leftovers that are rarely
/// there).
fn apply_edit(
    edit: Edit,
    report: bool,
    text: &mut String,
    summaries: &mut Vec<String>,
    plan: &mut Plan,
) {
    match edit {
        Edit::Changed { text: new, summary } => {
            *text = new;
            summaries.push(summary);
        }
        Edit::Unchanged(why) if report => plan.unchanged.push(format!("Cargo.toml: {why}")),
        Edit::Unchanged(_) => {}
    }
}

/// results/ in .gitignore, and the xtask's target directory unless a line
/// already covers it (`target` does; `/target` is the root's alone).
fn plan_gitignore(project: &Path, results_dir: &str, ours: bool, plan: &mut Plan) {
    let path = project.join(".gitignore");
    let old = std::fs::read_to_string(&path).ok();
    let mut text = old.clone();
    let mut summaries = Vec::new();
    let mut wanted = vec![(
        results_dir.to_string(),
        "Profiles and timings written by `cargo xtask`",
    )];
    if ours {
        wanted.push((
            format!("{XTASK_DIR}/target"),
            "The xtask's build (a workspace of its own)",
        ));
    }
    for (dir, comment) in wanted {
        if Path::new(&dir).is_absolute() {
            continue;
        }
        match project_files::ignore_path(text.as_deref(), &dir, comment) {
            Edit::Changed { text: new, summary } => {
                text = Some(new);
                summaries.push(summary);
            }
            Edit::Unchanged(why) => plan.unchanged.push(format!(".gitignore: {why}")),
        }
    }
    if let Some(new) = text.filter(|new| Some(new) != old.as_ref()) {
        plan.write(path, old, new, summaries.join("; "));
    }
}

/// A starter profiling.toml with a workload per target of the workspace,
/// when it has any; with `try_targets`, each binary and example is built
/// and run without arguments to choose the default.
fn plan_starter(
    project: &Path,
    workspace: &crate::tools::cargo_metadata::Workspace,
    try_targets: bool,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let name = project
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if try_targets {
        outln!(
            "\ntrying each binary and example without arguments, to choose the default workload \
             (built with the profiling profile: the first task reuses the build)"
        );
    }
    let candidates = crate::runs::probe::candidates(
        project,
        project_files::PROFILE,
        &workspace.targets,
        try_targets,
    )?;
    let config_path = project.join(FILE_NAME);
    let Some(starter) = starter::render(&name, &candidates, &workspace.fuzz_targets) else {
        plan.unchanged.push(format!(
            "{FILE_NAME}: not written, the workspace has no binary, example or criterion \
             bench; write a `command` workload (docs/config.md of the xtask-profiling repository)"
        ));
        return Ok(());
    };
    let config = Config::parse(&config_path, &starter.text)
        .with_context(|| format!("the starter {FILE_NAME} does not load:\n{}", starter.text))?;
    plan.write(
        config_path,
        None,
        starter.text.clone(),
        format!(
            "a starter with {} workload(s): {}",
            config.workloads.len(),
            config
                .workloads
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    plan.notes.push(starter::describe(&starter));
    Ok(())
}

/// What stays and what changes; with `dry_run`, each edit of a text file
/// line by line.
fn print_plan(project: &Path, plan: &Plan, dry_run: bool, header: bool) {
    if header {
        outln!("adopting the profiling xtask in {}", project.display());
    }
    for line in &plan.unchanged {
        outln!("  unchanged  {line}");
    }
    // A deleted copy shares one summary line, on the first of its files.
    for change in plan.changes.iter().filter(|c| !c.summary.is_empty()) {
        let relative = change.path.strip_prefix(project).unwrap_or(&change.path);
        let verb = match (&change.old, &change.new) {
            (_, None) => "delete",
            (Some(_), _) => "edit",
            (None, _) => "create",
        };
        outln!("  {verb:<9}  {}: {}", relative.display(), change.summary);
        if let (true, Some(new)) = (dry_run && !relative.ends_with("Cargo.lock"), &change.new) {
            out!(
                "{}",
                changed_lines(change.old.as_deref().unwrap_or(""), new)
            );
        }
    }
    for note in &plan.notes {
        outln!("{note}");
    }
}

/// Writes and deletes the plan's files, then removes the directories the
/// deletions emptied.
fn apply(plan: &Plan) -> anyhow::Result<()> {
    for change in &plan.changes {
        match &change.new {
            Some(text) => crate::results::write_atomically(&change.path, text)?,
            None => std::fs::remove_file(&change.path)
                .with_context(|| format!("cannot delete {}", change.path.display()))?,
        }
    }
    for dir in &plan.emptied {
        remove_empty_dirs(dir);
    }
    Ok(())
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
         adds the engine ({ENGINE_PACKAGE}) as a dependency of that xtask and prints the lines \
         its main() needs.",
        own_dir.display(),
        project.display()
    )
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
}
