//! The ad-hoc form of a task, `-- PROGRAM [ARGS]...`: a program given on
//! the command line instead of a workload of profiling.toml. It becomes one
//! `command` workload, made through the same checks as a declared one and
//! run with the config's defaults; its arguments are taken literally (argv,
//! no shell, no `{placeholders}`).
//!
//! Also here: the config of a project that has no profiling.toml (every
//! default, no workload), so that the ad-hoc form and the tasks that only
//! read results work without one, and the starter `init -- PROGRAM` writes.

use super::{root_of, Config, Defaults, Thresholds, FILE_NAME};
use anyhow::{anyhow, bail, Context};
use std::collections::BTreeMap;
use std::path::Path;
use toml::{Table, Value};

/// The program of the ad-hoc form, as the config holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdHoc {
    /// The workload it became: named after the program's file.
    pub workload: String,
    /// The command line as typed after `--`, which results record.
    pub command_line: Vec<String>,
}

impl Config {
    /// The config of a project without a profiling.toml at `path`: every
    /// default and no workload, until a program is given
    /// ([`Config::with_program`]).
    pub fn without_file(path: &Path) -> Config {
        Config {
            path: path.to_path_buf(),
            root: root_of(path),
            defaults: Defaults::default(),
            thresholds: Thresholds::default(),
            params: BTreeMap::new(),
            workloads: BTreeMap::new(),
            scales: Vec::new(),
            param_positions: BTreeMap::new(),
            adhoc: None,
        }
    }

    /// This config with `command_line` (program first) as the workload the
    /// tasks run, in `cwd` (where the user typed it, so that `./prog` and
    /// the program's relative paths mean what they meant there).
    pub fn with_program(mut self, command_line: &[String], cwd: &Path) -> anyhow::Result<Config> {
        let Some((program, args)) = command_line.split_first() else {
            bail!(
                "nothing follows `--`: give the program to run and its arguments, e.g. `{} flamegraph -- ./prog args`",
                super::command_name()
            );
        };
        let command = resolve(program, cwd)?;
        let mut name = workload_name(program);
        if self.workloads.contains_key(&name) {
            // Named apart from the declared workload of the same name, whose
            // results are another series (its own arguments, metrics).
            name = format!("{}-adhoc", name.chars().take(58).collect::<String>());
        }
        let cwd = text_of(cwd)?;
        let mut workload = Table::new();
        workload.insert(
            "description".into(),
            Value::String(format!("ad hoc: {}", command_line.join(" "))),
        );
        workload.insert("command".into(), Value::String(literal(&command)));
        workload.insert(
            "args".into(),
            Value::Array(args.iter().map(|a| Value::String(literal(a))).collect()),
        );
        workload.insert("cwd".into(), Value::String(literal(&cwd)));
        let text = toml::to_string(&Table::from_iter([(
            "workloads".to_string(),
            Value::Table(Table::from_iter([(name.clone(), Value::Table(workload))])),
        )]))
        .context("cannot write the program's workload as TOML")?;
        let mut checked = Config::parse(&self.path, &text).map_err(|e| {
            anyhow!(
                "the program after `--`: {}{}",
                e.message,
                e.help.map(|h| format!("\n  help: {h}")).unwrap_or_default()
            )
        })?;
        let workload = checked
            .workloads
            .remove(&name)
            .context("the program's workload did not load")?;
        self.workloads.insert(name.clone(), workload);
        self.defaults.workload = Some(toml::Spanned::new(0..0, name.clone()));
        self.adhoc = Some(AdHoc {
            workload: name,
            command_line: command_line.to_vec(),
        });
        Ok(self)
    }

    /// The command line of the ad-hoc form, when `workload` is its workload.
    pub fn command_line_of(&self, workload: &str) -> Option<Vec<String>> {
        self.adhoc
            .as_ref()
            .filter(|adhoc| adhoc.workload == workload)
            .map(|adhoc| adhoc.command_line.clone())
    }
}

/// A workload's name from a program's path: its file name, in the letters
/// a label allows (`./bin/my server` is `my_server`).
pub fn workload_name(program: &str) -> String {
    let file = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = file
        .trim_start_matches('.')
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "-_.".contains(c) {
            true => c,
            false => '_',
        })
        .take(64)
        .collect();
    match name.as_str() {
        "" => "program".into(),
        "latest" | "previous" => format!("{name}-program"),
        _ => name,
    }
}

/// The program as the workload's `command`: a path (anything with a `/`)
/// made absolute from `cwd`, which must be an executable file; else a name
/// that must be on PATH, as a shell would find it.
fn resolve(program: &str, cwd: &Path) -> anyhow::Result<String> {
    if !program.contains('/') {
        if which::which(program).is_ok() {
            return Ok(program.to_string());
        }
        if cwd.join(program).is_file() {
            bail!("`{program}` is not on PATH; the program of that name in this directory is `./{program}`");
        }
        bail!("`{program}` is not on PATH: give its path (`./{program}`, `bin/{program}`), or install it");
    }
    let path = std::path::absolute(cwd.join(program))
        .with_context(|| format!("cannot make {program} an absolute path"))?;
    if !path.is_file() {
        bail!(
            "there is no program at {program} ({}): give the path of an executable file",
            path.display()
        );
    }
    if !is_executable(&path) {
        bail!(
            "{program} ({}) is not executable: `chmod +x {program}`, or give its interpreter first (`python3 {program}`)",
            path.display()
        );
    }
    text_of(&path)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

fn text_of(path: &Path) -> anyhow::Result<String> {
    path.to_str().map(str::to_string).with_context(|| {
        format!(
            "the path {} is not valid UTF-8: move to a directory whose path is",
            path.display()
        )
    })
}

/// A text taken as it is: its braces are not placeholders.
fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// The starter profiling.toml of `init -- PROGRAM [ARGS]...`: that program
/// as the one `command` workload, its path relative to the config's
/// directory `root` where it lies inside it. The caller loads it before
/// writing it. `frame_pointers`: the program is one whose stacks only
/// frame pointers unwind (a Go program).
pub fn starter(
    command_line: &[String],
    cwd: &Path,
    root: &Path,
    frame_pointers: bool,
) -> anyhow::Result<String> {
    let Some((program, args)) = command_line.split_first() else {
        bail!(
            "nothing follows `--`: give the program to profile and its arguments, e.g. `{} init -- ./prog args`",
            super::command_name()
        );
    };
    let command = resolve(program, cwd)?;
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let command = relative_to(&command, &root);
    let name = workload_name(program);
    let cwd_line = match relative_to(&text_of(cwd)?, &root).as_str() {
        "." => "# cwd = \".\"                # where it runs, relative to this file".to_string(),
        dir => format!("cwd = {}", quoted(&literal(dir))),
    };
    let args: Vec<String> = args.iter().map(|a| quoted(&literal(a))).collect();
    let cmd = super::command_name();
    Ok(format!(
        "\
# {FILE_NAME} — what `{cmd}` profiles here, and how.
#
# Written by `{cmd} init` for one program. Edit it:
#   - give the workload the arguments of a run that does representative work;
#   - declare what your program prints as metrics ([[workloads.NAME.metrics]]);
#   - declare parameters ([params.NAME]): each becomes a `--NAME VALUE` flag of
#     every task and a `{{NAME}}` placeholder in `args`;
#   - add workloads: servers with a `ready` check and a `load` too.
# Every key is documented in the profiling.toml reference: docs/config.md of
# the xtask-profiling repository (`{cmd} <task> --help` for the flags).
# Unknown keys are errors, so typos are caught. Check it: `{cmd} doctor`.

[defaults]
workload = {workload}   # what profile-baseline, flamegraph and memory run without --workload
runs = 5                 # measured runs per baseline
warmup = 1               # unmeasured runs before them
results_dir = \"results\"
timeout = 600            # seconds one run may take
{call_graph}
[workloads.{key}]
command = {command}   # a path relative to this file, or a program on PATH
args = [{args}]   # argv, never a shell
{cwd_line}
# A number the program prints on every run, compared like the timings:
# [[workloads.{key}.metrics]]
# name = \"ops_per_sec\"
# pattern = \"ops_per_sec={{}}\"   # {{}} marks the number in a line of output
# better = \"higher\"
",
        workload = quoted(&name),
        call_graph = match frame_pointers {
            true =>
                "call_graph = \"fp\"        # a Go program: perf's DWARF unwinding does not \
                     follow its stacks, and Go keeps frame pointers\n",
            false => "",
        },
        key = key(&name),
        command = quoted(&literal(&command)),
        args = args.join(", "),
    ))
}

/// `path` relative to `root` as `./…` when it lies inside it, else as it is.
fn relative_to(path: &str, root: &Path) -> String {
    match Path::new(path).strip_prefix(root) {
        Ok(inside) if inside.as_os_str().is_empty() => ".".into(),
        Ok(inside) if inside.starts_with("..") => inside.display().to_string(),
        Ok(inside) => format!("./{}", inside.display()),
        Err(_) => path.to_string(),
    }
}

fn quoted(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// A workload's name as a TOML key: bare where TOML allows it (not with a
/// `.`, which would nest tables).
fn key(name: &str) -> String {
    match name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        true => name.to_string(),
        false => quoted(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp directory with an executable `prog` and a plain file. A
    /// Cargo.toml makes it a project of its own: a config in a directory
    /// outside any project would belong to the current directory's, which
    /// the tests share.
    fn dir_with_program(tag: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("xtask-adhoc-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "").unwrap();
        std::fs::write(dir.join("prog"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("prog"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("notes.txt"), "").unwrap();
        dir
    }

    fn line(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_program_becomes_the_default_command_workload_with_literal_args() {
        let dir = dir_with_program("default");
        let config = Config::without_file(&dir.join(FILE_NAME))
            .with_program(&line(&["./prog", "--name", "{x}", "a b"]), &dir)
            .unwrap();
        let (name, workload) = config.workload(None).unwrap();
        assert_eq!(name, "prog");
        let command = workload.command.as_ref().unwrap().get_ref();
        assert_eq!(*command, dir.join("prog").display().to_string());
        let args: Vec<String> = workload
            .args
            .iter()
            .map(|a| crate::config::expand(a.get_ref(), &BTreeMap::new()).unwrap())
            .collect();
        assert_eq!(
            args,
            ["--name", "{x}", "a b"],
            "braces are not placeholders"
        );
        assert_eq!(
            config.command_line_of("prog"),
            Some(line(&["./prog", "--name", "{x}", "a b"]))
        );
        assert_eq!(config.command_line_of("other"), None);
        assert_eq!(config.results_dir(), dir.join("results"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_declared_workload_of_the_same_name_keeps_its_name_and_its_params() {
        let dir = dir_with_program("declared");
        let text = "[params.n]\ndefault = 1\n\n[defaults]\nruns = 7\nworkload = \"prog\"\n\n\
                    [workloads.prog]\ncommand = \"true\"\nargs = [\"{n}\"]\n";
        let config = Config::parse(&dir.join(FILE_NAME), text)
            .unwrap()
            .with_program(&line(&["./prog"]), &dir)
            .unwrap();
        assert_eq!(config.workload(None).unwrap().0, "prog-adhoc");
        assert_eq!(config.defaults.runs, 7, "the file's defaults apply");
        assert!(config.workloads.contains_key("prog"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_program_that_cannot_run_is_a_clear_error() {
        let dir = dir_with_program("errors");
        let config = || Config::without_file(&dir.join(FILE_NAME));
        let error = |words: &[&str]| {
            config()
                .with_program(&line(words), &dir)
                .unwrap_err()
                .to_string()
        };
        assert!(error(&[]).contains("nothing follows `--`"));
        assert!(error(&["./missing"]).contains("there is no program at ./missing"));
        assert!(error(&["./notes.txt"]).contains("is not executable: `chmod +x ./notes.txt`"));
        assert!(error(&["./sub"]).contains("there is no program at ./sub"));
        assert!(
            error(&["prog"]).contains("the program of that name in this directory is `./prog`"),
            "{}",
            error(&["prog"])
        );
        assert!(error(&["no-such-program-xtask"]).contains("is not on PATH"));
        assert!(config()
            .with_program(&line(&["sh", "-c", "true"]), &dir)
            .is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_file_a_task_says_how_to_give_it_a_program() {
        let error = Config::without_file(Path::new("/nowhere/profiling.toml"))
            .workload(None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no profiling.toml"), "{error}");
        assert!(error.contains("flamegraph -- ./prog args"), "{error}");
        assert!(error.contains("init"), "{error}");
    }

    #[test]
    fn names_follow_the_rule_of_labels() {
        assert_eq!(workload_name("./bin/server"), "server");
        assert_eq!(workload_name("/x/my server"), "my_server");
        assert_eq!(workload_name(".hidden"), "hidden");
        assert_eq!(workload_name("latest"), "latest-program");
        assert_eq!(workload_name("/"), "program");
        assert_eq!(workload_name(&"a".repeat(80)).len(), 64);
    }

    #[test]
    fn the_starter_of_a_program_loads_with_its_path_relative_to_the_file() {
        let dir = dir_with_program("starter");
        let text = starter(
            &line(&["../prog", "7", "{lit}"]),
            &dir.join("sub"),
            &dir,
            false,
        )
        .unwrap();
        let config =
            Config::parse(&dir.join(FILE_NAME), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let (name, workload) = config.workload(None).unwrap();
        assert_eq!(name, "prog");
        assert_eq!(
            workload.command.as_ref().unwrap().get_ref(),
            "./sub/../prog",
            "as the shell would resolve it: `..` after a symlink is not the parent"
        );
        assert_eq!(workload.cwd.as_ref().unwrap().get_ref(), "./sub");
        assert!(text.contains("args = [\"7\", \"{{lit}}\"]"), "{text}");
        assert_eq!(config.defaults.call_graph, crate::config::CallGraph::Dwarf);
        // A Go program's starter samples with frame pointers.
        let text = starter(&line(&["../prog"]), &dir.join("sub"), &dir, true).unwrap();
        let config =
            Config::parse(&dir.join(FILE_NAME), &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(config.defaults.call_graph, crate::config::CallGraph::Fp);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
