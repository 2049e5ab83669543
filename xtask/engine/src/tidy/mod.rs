//! The house rules, checked on the source itself (as rust-analyzer's tidy
//! tests do): the top-level modules form layers that import only downwards,
//!
//! `config` → `stats` → `tools` → `runs` → `results` → `reports` → `tasks` → `cli` → `lib`,
//!
//! and no task imports another task (what two tasks share lives lower). An
//! import against the order is reported with its file and line. Since every
//! edge must go down the order, no cycle between top-level modules can form.
//! Test code is exempt: a test may reach anywhere to check something.

mod sizes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom to top.
const LAYERS: &[&str] = &[
    "config", "stats", "tools", "runs", "results", "reports", "tasks", "cli", "lib",
];

/// Modules under `tasks/` that are not tasks: tasks share them.
const TASK_SHARED: &[&str] = &["exit", "invocation", "profile_flow", "publish"];

#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

fn layer(top: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| *l == top)
        // Items at the crate root live in lib.rs (main.rs only calls it).
        .unwrap_or(LAYERS.len() - 1)
}

/// The module path of a source file relative to `src/`: `tasks/trends.rs` →
/// ["tasks", "trends"], `stats/mod.rs` → ["stats"], `lib.rs` → ["lib"].
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") && parts.len() > 1 {
        parts.pop();
    }
    parts
}

/// The lines of `text` that are not test code, with their numbers; and the
/// names of `#[cfg(test)] mod NAME;` file modules, whose files are test code.
fn non_test_lines(text: &str) -> (Vec<(usize, &str)>, Vec<String>) {
    let mut kept = Vec::new();
    let mut test_modules = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed != "#[cfg(test)]" {
            kept.push((index + 1, line));
            continue;
        }
        // Skip the item the attribute applies to: to its `;` or its closing brace.
        let mut depth = 0i64;
        let mut opened = false;
        for (_, item) in lines.by_ref() {
            let code = item.split("//").next().unwrap_or("");
            if let Some(name) = code
                .trim()
                .strip_prefix("mod ")
                .or_else(|| code.trim().strip_prefix("pub mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            {
                test_modules.push(name.trim().to_string());
                break;
            }
            depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
            opened |= code.contains('{');
            if (opened && depth <= 0) || (!opened && code.trim_end().ends_with(';')) {
                break;
            }
        }
    }
    (kept, test_modules)
}

/// Every `crate::...` path in a line of code, as its segments, with groups
/// (`use crate::{a, b::c}`, `use crate::tasks::{x, y}`) expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // Skip identifiers that merely end in "crate".
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let length = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let prefix: Vec<String> = rest[..length]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        match rest[length..].strip_prefix('{') {
            Some(group) => {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let first = item.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() && first != "self" {
                        let mut path = prefix.clone();
                        path.push(first.to_string());
                        paths.push(path);
                    } else if first == "self" && !prefix.is_empty() {
                        paths.push(prefix.clone());
                    }
                }
            }
            None if !prefix.is_empty() => paths.push(prefix),
            None => {}
        }
    }
    paths
}

/// Whether a line of code calls `print!` or `println!` (not `eprint!`).
fn prints_to_stdout(code: &str) -> bool {
    ["print!(", "println!("].iter().any(|call| {
        code.match_indices(call).any(|(at, _)| {
            !code[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// A line of code of `module` with every `super::` chain written from the
/// crate root: in runs/cpu_profile/pipeline.rs, `super::super::super::results`
/// becomes `crate::results` (and `super::offcpu`, `crate::runs::cpu_profile::offcpu`),
/// so that the layer rules see where it points.
fn resolve_super(code: &str, module: &[String]) -> String {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut resolved = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        if rest[..at].chars().last().is_some_and(ident) {
            resolved.push_str(&rest[..at + "super::".len()]);
            rest = &rest[at + "super::".len()..];
            continue;
        }
        resolved.push_str(&rest[..at]);
        let mut ups = 0;
        while rest[at..].starts_with(&"super::".repeat(ups + 1)) {
            ups += 1;
        }
        let base = &module[..module.len().saturating_sub(ups)];
        resolved.push_str("crate::");
        for segment in base.iter().filter(|s| *s != "lib") {
            resolved.push_str(segment);
            resolved.push_str("::");
        }
        rest = &rest[at + "super::".len() * ups..];
    }
    resolved.push_str(rest);
    resolved
}

/// Where a program may be started by hand: workloads and profilers are
/// started through `runs::process` (a group, a timeout, a stop, the
/// interrupt), short commands whose output is read whole through xshell.
const PROCESS_MODULE: &str = "runs/process";

/// Whether a line of code starts a program with `std::process::Command`:
/// names it (a path or a `use` group) or calls `Command::new(`.
fn starts_a_program(code: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let named = code
        .match_indices("process::Command")
        .any(|(at, found)| !code[at + found.len()..].chars().next().is_some_and(ident));
    let called = code
        .match_indices("Command::new(")
        .any(|(at, _)| !code[..at].chars().last().is_some_and(ident));
    let grouped = code.match_indices("process::{").any(|(at, found)| {
        let group = &code[at + found.len()..];
        group[..group.find('}').unwrap_or(group.len())]
            .split(|c: char| !ident(c))
            .any(|word| word == "Command")
    });
    named || called || grouped
}

/// The rule violations of one file's non-test code. `tasks` are the task
/// modules' names (from tasks/mod.rs).
fn check_file(
    relative: &Path,
    text: &str,
    tasks: &BTreeSet<String>,
) -> (Vec<Violation>, Vec<String>) {
    let module = module_path(relative);
    let top = module[0].as_str();
    let (lines, test_modules) = non_test_lines(text);
    let mut violations = Vec::new();
    for (number, line) in lines {
        let code = line.split("//").next().unwrap_or("");
        if prints_to_stdout(code) {
            violations.push(Violation {
                file: relative.display().to_string(),
                line: number,
                message: "`print!`/`println!` panic when standard output is closed or full: \
                          use `reports::stdout::{out, outln}`"
                    .into(),
            });
        }
        if starts_a_program(code) && !relative.starts_with(PROCESS_MODULE) {
            violations.push(Violation {
                file: relative.display().to_string(),
                line: number,
                message: "a program started with `std::process::Command`: start workloads and \
                          profilers through `runs::process`, short commands whose output is \
                          read whole (cargo, git, version probes) through xshell"
                    .into(),
            });
        }
        let targets = crate_paths(&resolve_super(code, &module));
        for target in targets {
            let target_top = target[0].as_str();
            let report = |message: String| Violation {
                file: relative.display().to_string(),
                line: number,
                message,
            };
            if target_top != top && layer(target_top) > layer(top) {
                violations.push(report(format!(
                    "`{top}` imports `crate::{}`, a layer above it (the order is {})",
                    target.join("::"),
                    LAYERS.join(" → ")
                )));
            }
            if top == "tasks" && target_top == "tasks" && module.len() == 2 {
                if let Some(other) = target.get(1) {
                    let what = if tasks.contains(other) {
                        "task"
                    } else {
                        "the tasks' shared item"
                    };
                    if *other != module[1] && !TASK_SHARED.contains(&other.as_str()) {
                        violations.push(report(format!(
                            "task `{}` imports {what} `{other}`: move what they share to a lower layer",
                            module[1]
                        )));
                    }
                }
            }
        }
    }
    (violations, test_modules)
}

/// Every `.rs` file under `src`, relative to it, with the files of test-only
/// modules left out.
fn check_tree(src: &Path) -> Vec<Violation> {
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    let tasks: BTreeSet<String> = std::fs::read_to_string(src.join("tasks/mod.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .filter(|name| !TASK_SHARED.contains(&name.as_str()))
        .collect();
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        if test_only.iter().any(|t| relative.starts_with(t)) || relative.starts_with("tidy") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let (found, test_modules) = check_file(relative, &text, &tasks);
        violations.extend(found);
        // `#[cfg(test)] mod x;` in a/b.rs or a/b/mod.rs names a/b/x.rs or a/b/x/.
        let dir = match relative.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs") | Some("lib.rs") => relative.parent().unwrap().to_path_buf(),
            _ => relative.with_extension(""),
        };
        for name in test_modules {
            test_only.insert(dir.join(format!("{name}.rs")));
            test_only.insert(dir.join(&name));
        }
    }
    violations
}

/// The size rules ([`sizes`]) over every non-test file under `src`.
fn check_sizes(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    // First every file's test modules: `validate/mod.rs` may declare
    // `validate/bad_configs.rs` test code after the sort has passed it.
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let dir = match relative.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs") | Some("lib.rs") => relative.parent().unwrap().to_path_buf(),
            _ => relative.with_extension(""),
        };
        for name in non_test_lines(&text).1 {
            test_only.insert(dir.join(format!("{name}.rs")));
            test_only.insert(dir.join(&name));
        }
    }
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        if test_only.iter().any(|t| relative.starts_with(t)) || relative.starts_with("tidy") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Test code blanked, line numbers kept.
        let mut lines = vec![""; text.lines().count()];
        for (number, line) in non_test_lines(&text).0 {
            lines[number - 1] = line;
        }
        violations.extend(sizes::check_file(
            &relative.display().to_string(),
            &lines.join("\n"),
        ));
    }
    violations
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn layers_import_only_downwards_and_no_task_imports_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = check_tree(&src);
    let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
    assert!(
        list.is_empty(),
        "{} imports against the layers (see ARCHITECTURE.md, Layers):\n{}",
        list.len(),
        list.join("\n")
    );
}

/// Rooms a newcomer can read: no code file over 600 lines of code, no
/// function over 100 lines outside the declarative tables, no comment that
/// points at an issue or a seed.
#[test]
fn rooms_are_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = check_sizes(&src);
    assert!(
        violations.is_empty(),
        "{} size violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// The map of the layers in lib.rs's documentation is tidy's order.
#[test]
fn the_layer_map_in_lib_rs_is_tidys() {
    let lib = include_str!("../lib.rs");
    let listed: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! - `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(
        listed, LAYERS,
        "lib.rs's layer list and tidy's LAYERS differ"
    );
}

/// The checker itself: it sees back-edges in `use` lines, groups, paths in
/// expressions and sibling tasks, and ignores test code and comments.
#[test]
fn the_checker_finds_prints_to_stdout() {
    assert!(prints_to_stdout("    println!(\"{x}\");"));
    assert!(prints_to_stdout("print!(\"a\")"));
    assert!(!prints_to_stdout("eprintln!(\"x\"); eprint!(\"y\")"));
    assert!(!prints_to_stdout("outln!(\"x\")"));
}

#[test]
fn the_checker_finds_programs_started_by_hand() {
    assert!(starts_a_program(
        "let c = std::process::Command::new(\"git\");"
    ));
    assert!(starts_a_program("use std::process::Command;"));
    assert!(starts_a_program("use std::process::{Command, Stdio};"));
    assert!(starts_a_program("use std::process::{Stdio, Command};"));
    assert!(starts_a_program("    let mut c = Command::new(program);"));
    assert!(!starts_a_program("use std::os::unix::process::CommandExt;"));
    assert!(!starts_a_program("use std::process::{ExitStatus, Stdio};"));
    assert!(!starts_a_program("Target::Command(command) => {}"));
    assert!(!starts_a_program("let c = SubCommand::new(x);"));

    let tasks = BTreeSet::new();
    let source = "fn f() {\n    std::process::Command::new(\"true\").status();\n}\n\
                  #[cfg(test)]\n\
                  mod tests {\n\
                      fn g() { std::process::Command::new(\"true\"); }\n\
                  }\n";
    let (found, _) = check_file(Path::new("tasks/x.rs"), source, &tasks);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].file.as_str(), found[0].line), ("tasks/x.rs", 2));
    assert!(found[0].message.contains("through `runs::process`"));
    let (found, _) = check_file(Path::new("runs/process/running.rs"), source, &tasks);
    assert!(found.is_empty(), "runs::process starts programs: {found:?}");
}

#[test]
fn the_checker_finds_back_edges_and_ignores_tests() {
    let source = "use crate::tools::perf;\n\
                  use crate::{results::Store, tools};\n\
                  // crate::tasks::baseline in a comment\n\
                  fn f() { crate::reports::markdown::x(); }\n\
                  #[cfg(test)]\n\
                  mod tests {\n\
                      use crate::tasks::baseline;\n\
                  }\n\
                  #[cfg(test)]\n\
                  mod more;\n";
    let tasks: BTreeSet<String> = ["baseline", "trends", "flamegraph"]
        .map(String::from)
        .into();
    let (found, test_modules) = check_file(Path::new("runs/x.rs"), source, &tasks);
    let lines: Vec<usize> = found.iter().map(|v| v.line).collect();
    assert_eq!(lines, [2, 4], "{found:?}");
    assert!(found[0].message.contains("`runs` imports `crate::results`"));
    assert_eq!(test_modules, ["more"]);

    let (found, _) = check_file(
        Path::new("tasks/flamegraph.rs"),
        "use crate::tasks::baseline::finish;\nuse crate::tasks::exit;\nuse super::trends;\n\
         use super::publish::publish;\nuse crate::tasks::{exit::X, git_info};\n",
        &tasks,
    );
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0]
        .message
        .contains("task `flamegraph` imports task `baseline`"));
    assert!(found[1].message.contains("imports task `trends`"));
    assert!(found[2].message.contains("shared item `git_info`"));

    // `super::` chains are resolved from the file's module.
    let (found, _) = check_file(
        Path::new("runs/cpu_profile/pipeline.rs"),
        "use super::offcpu;\nuse super::super::measure;\nuse super::super::super::results::Store;\n\
         use super::super::super::{config, reports::html};\n",
        &tasks,
    );
    let lines: Vec<usize> = found.iter().map(|v| v.line).collect();
    assert_eq!(lines, [3, 4], "{found:?}");
    assert!(found[0].message.contains("imports `crate::results::Store`"));
    assert!(found[1].message.contains("imports `crate::reports`"));

    let (found, _) = check_file(
        Path::new("config.rs"),
        "pub use crate::project_root;\n",
        &tasks,
    );
    assert_eq!(found.len(), 1, "the crate root is the top: {found:?}");
}
