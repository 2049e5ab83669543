//! The command line and doctor, end to end through the real binary.

use crate::common;

use common::{text, Sandbox};
use std::process::Command;

#[test]
fn help_lists_the_tasks() {
    let sandbox = Sandbox::new("help", "");
    let output = sandbox.xtask(&["--help"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for task in ["doctor", "profile-baseline", "flamegraph"] {
        assert!(out.contains(task), "--help lacks {task}:\n{out}");
    }
}

#[test]
fn every_task_help_shows_the_declared_parameters() {
    let sandbox = Sandbox::new(
        "task-help",
        "\n[params.tenants]\ndefault = 3\nhelp = \"Tenants to simulate\"\n",
    );
    for task in ["profile-baseline", "flamegraph", "doctor"] {
        let output = sandbox.xtask(&[task, "--help"]);
        let out = text(&output);
        assert!(output.status.success(), "{out}");
        assert!(
            out.contains("Parameters (declared in profiling.toml)"),
            "{out}"
        );
        assert!(out.contains("--subs <INTEGER>"), "{task}: {out}");
        assert!(out.contains("--tenants <INTEGER>"), "{task}: {out}");
        assert!(
            out.contains("Tenants to simulate [default: 3]"),
            "{task}: {out}"
        );
    }
    // Tasks that run no workload take no parameter flags.
    for task in ["init", "adopt", "annotate"] {
        let out = text(&sandbox.xtask(&[task, "--help"]));
        assert!(!out.contains("--tenants"), "{task}: {out}");
    }
}

#[test]
fn a_bad_config_is_reported_with_file_line_and_fix() {
    let sandbox = Sandbox::raw(
        "bad-config",
        "[defaults]\nwarmups = 2\n\n[workloads.demo]\ncargo_bin = \"cdr-demo\"\n",
    );
    let output = sandbox.xtask(&["profile-baseline"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let name = sandbox
        .config
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        out.contains(&format!("{name}:2:1: unknown field `warmups`")),
        "{out}"
    );
    assert!(out.contains("help: did you mean `warmup`?"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

#[test]
fn doctor_reports_this_machines_tools() {
    let sandbox = Sandbox::new("doctor", "");
    let output = sandbox.xtask(&["doctor"]);
    let out = text(&output);
    for (tool, version) in [
        ("perf", "perf version"),
        ("heaptrack", "heaptrack 1."),
        ("valgrind", "valgrind-3."),
    ] {
        if common::has_tool(tool) {
            assert!(
                out.contains(version),
                "doctor does not report {tool}'s version:\n{out}"
            );
        } else {
            eprintln!("note: {tool} is not installed here; run scripts/install-tools.sh");
        }
    }
    let json = sandbox.xtask(&["doctor", "--json"]);
    let value: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("doctor --json prints JSON");
    assert_eq!(value["schema_version"], 1);
    assert!(
        String::from_utf8_lossy(&json.stdout).starts_with("{\n  \"schema_version\": 1,"),
        "the schema version comes first"
    );
    assert_eq!(value["ready"].as_bool(), Some(json.status.success()));
    assert!(value["tools"]["cargo"]["version"]
        .as_str()
        .unwrap()
        .starts_with("cargo "));
}

#[test]
fn doctor_without_the_tools_says_how_to_install_them() {
    // A PATH with cargo and rustc but none of the profilers.
    let bin = std::env::temp_dir().join(format!("xtask-doctor-path-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["cargo", "rustc"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        let _ = std::os::unix::fs::symlink(path, bin.join(tool));
    }
    let sandbox = Sandbox::new("doctor-bare", "");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
        .args(["--config", sandbox.config.to_str().unwrap(), "doctor"])
        .env("PATH", &bin)
        .output()
        .unwrap();
    let out = text(&output);
    std::fs::remove_dir_all(&bin).unwrap();
    assert_eq!(output.status.code(), Some(4), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    for tool in ["perf", "heaptrack", "valgrind"] {
        assert!(
            out.lines()
                .any(|l| l.contains("MISSING") && l.contains(tool)),
            "{tool} not reported missing:\n{out}"
        );
    }
    // Each missing tool is followed by the command that installs it.
    let lines: Vec<&str> = out.lines().collect();
    for tool in ["perf", "heaptrack", "valgrind", "ms_print"] {
        let at = lines
            .iter()
            .position(|l| l.trim() == format!("{tool} is missing:"))
            .unwrap_or_else(|| panic!("no fix for {tool}:\n{out}"));
        let fix = lines.get(at + 1).copied().unwrap_or("");
        assert!(fix.contains("install"), "{tool}'s fix is `{fix}`:\n{out}");
    }
    if std::fs::read_to_string("/etc/os-release").is_ok_and(|r| r.contains("ID=debian")) {
        assert!(out.contains("sudo apt-get install -y linux-perf"), "{out}");
        assert!(out.contains("sudo apt-get install -y heaptrack"), "{out}");
    }
    assert!(out.contains("Not ready"), "{out}");
}

#[test]
fn doctor_fails_and_says_why_when_the_config_is_missing_or_invalid() {
    let missing = std::env::temp_dir().join(format!("xtask-no-config-{}.toml", std::process::id()));
    let bad = Sandbox::raw(
        "doctor-bad-config",
        "[defaults]\nruns = 0\n\n[workloads.demo]\ncargo_bin = \"cdr-demo\"\n",
    );
    let bad_name = bad.config.display().to_string();
    for (config, expected) in [
        (
            missing.display().to_string(),
            format!("{}: cannot read the file", missing.display()),
        ),
        (
            bad_name.clone(),
            format!("{bad_name}:2:1: `defaults.runs` must be from 1 to 10000, not 0"),
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
            .args(["--config", &config, "doctor"])
            .output()
            .unwrap();
        let out = text(&output);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(
            out.contains(&format!("Config: {config} does not load:")),
            "{out}"
        );
        assert!(out.contains(&expected), "{out}");
        assert!(!out.contains("Ready:"), "{out}");
        assert!(out.contains("Not ready: fix the config"), "{out}");

        let output = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
            .args(["--config", &config, "doctor", "--json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["config"], config.as_str());
        assert!(
            json["config_error"]
                .as_str()
                .unwrap()
                .starts_with(&expected),
            "{json}"
        );
        assert_eq!(json["ready"], false);
    }
    // A config that loads: no error, and the path.
    let good = Sandbox::new("doctor-good-config", "");
    let output = good.xtask(&["doctor", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["config_error"].is_null(), "{json}");
    assert_eq!(json["config"], good.config.display().to_string().as_str());
}

#[test]
fn an_out_of_range_freq_is_refused_before_anything_runs() {
    let max = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|_| "100000".into());
    let sandbox = Sandbox::new("freq", "");
    for task in ["profile-baseline", "flamegraph"] {
        for freq in ["0", "10000000", "-5", "fast"] {
            let output = sandbox.xtask(&[task, &format!("--freq={freq}"), "--subs", "10"]);
            let out = text(&output);
            assert_eq!(output.status.code(), Some(2), "{task} --freq {freq}: {out}");
            assert!(out.contains("--freq"), "{out}");
            if ["0", "10000000"].contains(&freq) {
                assert!(
                    out.contains(&format!(
                        "the sampling frequency must be from 1 to {max} Hz, not {freq}"
                    )),
                    "{out}"
                );
                assert!(out.contains("perf_event_max_sample_rate"), "{out}");
            }
            assert!(
                !out.contains("Compiling") && !out.contains("workload failed"),
                "{out}"
            );
            assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
        }
    }
}

#[test]
fn a_parameter_named_like_a_task_flag_is_reported_at_its_line_and_column() {
    let sandbox = Sandbox::new("param-runs", "\n[params.runs]\ndefault = 3\n");
    let lines = std::fs::read_to_string(&sandbox.config).unwrap();
    let line = lines.lines().position(|l| l == "[params.runs]").unwrap() + 1;
    let output = sandbox.xtask(&["list"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{}:{line}:9: parameter `runs` would clash with the task flag `--runs`",
            sandbox.config.display()
        )),
        "{out}"
    );
    assert!(out.contains("help: rename the parameter"), "{out}");
}

/// `bench-self` end to end on a small run: both variants measured against
/// perf record alone with no sample lost, with the xtask's own CPU per
/// 1,000 samples, and the memory task against heaptrack by hand.
#[test]
fn bench_self_measures_the_pipeline_against_perf_record_alone() {
    if !common::has_tool("perf") {
        return;
    }
    let sandbox = Sandbox::new("bench-self", "");
    let output = sandbox.xtask(&[
        "bench-self",
        "--subs",
        "5000",
        "--rounds",
        "1",
        "--memory-param",
        "subs=1000",
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for variant in ["1 worker", "every core"] {
        let ratio = out
            .lines()
            .find(|l| l.contains("**flamegraph / bare,") && l.contains(variant))
            .unwrap_or_else(|| panic!("no ratio for {variant}:\n{out}"));
        assert!(ratio.contains('×'), "{ratio}");
        assert!(
            out.lines()
                .any(|l| l.starts_with("| perf record alone / bare, ") && l.contains(variant)),
            "{out}"
        );
        let against_alone = row_value(&out, "| **flamegraph / perf record alone, ", variant);
        assert!(against_alone.ends_with("×**"), "{against_alone}");
        // The profile's own work (reading perf's data, the DWARF, the SVG) costs CPU.
        let cpu = row_value(&out, "| **xtask CPU per 1,000 samples, ", variant);
        let ms: f64 = cpu
            .trim_matches('*')
            .trim_end_matches(" ms")
            .parse()
            .unwrap_or_else(|_| panic!("{cpu}"));
        assert!(ms > 0.0, "{out}");
    }
    // Each round's line ends with the figures against perf record alone.
    let rounds: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  round 1 ("))
        .collect();
    assert_eq!(rounds.len(), 2, "{out}");
    for line in rounds {
        assert!(line.contains(", perf record alone "), "{line}");
        assert!(line.contains("; ours/perf-alone ratio "), "{line}");
        assert!(
            line.contains(" ms per 1,000 samples (xtask process "),
            "{line}"
        );
    }
    if common::has_tool("heaptrack") && common::has_tool("heaptrack_print") {
        let memory = row_value(&out, "| **memory task / heaptrack + heaptrack_print", "");
        assert!(
            memory.contains("× wall, ") && memory.ends_with("× CPU**"),
            "{out}"
        );
        assert!(
            out.contains("subs 1000 "),
            "the memory part's scale:\n{out}"
        );
    } else {
        assert!(out.contains("heaptrack_print by hand | skipped"), "{out}");
    }
    assert!(!out.contains("this round lost samples"), "{out}");
    assert!(
        !out.contains("folding"),
        "the text folding benchmark is gone:\n{out}"
    );
}

/// The value cell of the report's row that starts with `start` and names `variant`.
fn row_value<'a>(out: &'a str, start: &str, variant: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(start) && l.contains(variant))
        .and_then(|l| l.trim_end_matches('|').rsplit('|').next())
        .map(str::trim)
        .unwrap_or_else(|| panic!("no row `{start}` for {variant}:\n{out}"))
}

/// A reader that stops reading (`cargo xtask doctor | head -1`) ends
/// nothing badly: no panic, exit 0, as `ls | head` does.
#[test]
fn a_closed_standard_output_is_no_panic() {
    let sandbox = Sandbox::new("closed-stdout", "");
    for task in [&["doctor"][..], &["list"], &["--help"]] {
        let mut child = sandbox
            .command(task)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before anything is written: every write meets a broken pipe.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{task:?}: {stderr}");
        assert!(!stderr.contains("error"), "{task:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{task:?}: {stderr}");
    }
}

/// A full standard output (`> /dev/full`) fails the task with one line
/// that says so, never with a panic.
#[test]
fn a_full_standard_output_is_one_line_of_error() {
    let sandbox = Sandbox::new("full-stdout", "");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = sandbox.command(&["doctor"]).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot write to standard output"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("No space left on device"), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
}

/// Counts are bounded in the config and on the command line alike: a slip
/// of a few zeros is refused before anything runs, naming the bound (and,
/// in the config, the file, line and column).
#[test]
fn counts_beyond_their_bounds_are_refused_before_anything_runs() {
    let sandbox = Sandbox::raw(
        "bounds-config",
        "[defaults]\nresults_dir = \"{results}\"\nruns = 1000000000\n\n[workloads.demo]\ncommand = \"false\"\n",
    );
    let output = sandbox.xtask(&["profile-baseline", "--no-profile"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{}:3:1: `defaults.runs` must be from 1 to 10000, not 1000000000",
            sandbox.config.display()
        )),
        "{out}"
    );
    assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());

    // A workload that fails at once: a flag that is wrongly accepted ends
    // with status 1, not with the usage error's 2.
    let sandbox = Sandbox::raw(
        "bounds-flags",
        "[defaults]\nresults_dir = \"{results}\"\n\n[workloads.demo]\ncommand = \"false\"\n",
    );
    for (args, message) in [
        (
            &["profile-baseline", "--no-profile", "--runs", "100000000"][..],
            "100000000 is out of range: measured runs are from 1 to 10000",
        ),
        (
            &["profile-baseline", "--no-profile", "--warmup", "1000000"],
            "warm-up runs are from 0 to 1000",
        ),
        (
            &[
                "profile-compare",
                "--side",
                "workload=demo",
                "--side",
                "workload=demo",
                "--runs",
                "10001",
            ],
            "measured runs a side are from 0 to 10000",
        ),
        (
            &["pre-release", "--runs", "10001"],
            "measured runs are from 1 to 10000",
        ),
        (
            &["cleanup", "--keep", "1000000"],
            "results to keep are from 0 to 100000",
        ),
        (
            &["trends", "--last", "0"],
            "0 is out of range: results are from 1 to 100000",
        ),
        (&["report", "--last", "0"], "results are from 1 to 100000"),
        (
            &["memory", "--top", "0"],
            "entries listed are from 1 to 1000",
        ),
        (
            &["bench-self", "--rounds", "0"],
            "rounds are from 1 to 1000",
        ),
        (
            &["bench-verdicts", "--pairs", "1"],
            "runs a side are from 2 to 10000",
        ),
        (
            &["bench-verdicts", "--repeats", "0"],
            "comparisons are from 1 to 1000",
        ),
    ] {
        let output = sandbox.xtask(args);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {out}");
        assert!(out.contains(message), "{args:?}: {out}");
        assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
    }
}

/// `latest` and `previous` name results wherever one is named: `--label`
/// refuses them before anything runs, as it refuses a path.
#[test]
fn reserved_result_names_are_refused_as_labels() {
    let sandbox = Sandbox::raw(
        "reserved-labels",
        "[defaults]\nresults_dir = \"{results}\"\n\n[workloads.demo]\ncommand = \"false\"\n",
    );
    for (task, label) in [
        ("profile-baseline", "latest"),
        ("profile-baseline", "previous"),
        ("flamegraph", "latest"),
        ("memory", "previous"),
    ] {
        let output = sandbox.xtask(&[task, "--label", label]);
        let out = text(&output);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{task} --label {label}: {out}"
        );
        assert!(
            out.contains(&format!(
                "`{label}` cannot be a label: `latest` and `previous` are reserved"
            )),
            "{out}"
        );
        assert!(sandbox.entries().is_empty(), "{:?}", sandbox.entries());
    }
    let output = sandbox.xtask(&["pin", "latest"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("`latest` cannot be a pin name"), "{out}");
}

/// `--version` prints the xtask crate's version, even when the config
/// does not load.
#[test]
fn version_prints_the_crate_version() {
    let manifest = std::fs::read_to_string(common::workspace().join("xtask/Cargo.toml")).unwrap();
    // The first `version = "..."` line is [package]'s.
    let version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap()
        .to_string();
    let sandbox = Sandbox::new("version", "");
    let broken = Sandbox::raw("version-broken", "[defaults]\nwarmups = 2\n");
    for sandbox in [&sandbox, &broken] {
        let output = sandbox.xtask(&["--version"]);
        assert!(output.status.success(), "{}", text(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("cargo xtask {version}\n")
        );
    }
}

/// `cargo xtask` lets cargo show its progress: the first call on a fresh
/// clone builds the xtask for a minute or more, or waits on cargo's build
/// lock, and must not look hung while it does.
#[test]
fn the_cargo_alias_shows_the_build() {
    let config = std::fs::read_to_string(common::workspace().join(".cargo/config.toml")).unwrap();
    let alias = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("xtask = "))
        .expect("an xtask alias in .cargo/config.toml");
    assert_eq!(alias, "\"run --package xtask --\"");
}

/// The README stays a short front page (the detail lives in docs/), and no
/// relative link in the documentation points at a file that is not there.
#[test]
fn the_readme_is_short_and_the_docs_links_resolve() {
    let root = common::workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines, more than 250: move the detail to docs/"
    );

    let mut pages = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "no docs/*.md");
    pages.extend(docs);

    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", page.display()));
        let dir = page.parent().unwrap();
        for (number, target) in relative_links(&text) {
            let path = target.split('#').next().unwrap_or("");
            if path.is_empty() {
                continue; // an anchor in the same page
            }
            if !dir.join(path).exists() {
                broken.push(format!(
                    "{}:{number}: {target}",
                    page.strip_prefix(&root).unwrap_or(page).display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that do not exist:\n{}",
        broken.join("\n")
    );
}

/// The targets of a Markdown text's links and images (`[text](target)`,
/// `![alt](target)`, `[name]: target`) that are not URLs, with their line
/// numbers. Code blocks and code spans (which may run over a line break
/// within a paragraph) are skipped.
fn relative_links(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    let (mut in_code_block, mut in_code_span) = (false, false);
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code_block = !in_code_block;
            continue;
        }
        if in_code_block {
            continue;
        }
        if trimmed.is_empty() {
            in_code_span = false;
        }
        // The line's prose, with code spans blanked.
        let mut prose = String::new();
        for c in line.chars() {
            if c == '`' {
                in_code_span = !in_code_span;
                prose.push(' ');
            } else {
                prose.push(if in_code_span { ' ' } else { c });
            }
        }
        let first_word = |text: &str| text.split_whitespace().next().unwrap_or("").to_string();
        let mut targets = Vec::new();
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            // `[text](target "title")`: the target is the first word.
            targets.push(first_word(&rest[..end]));
            rest = &rest[end..];
        }
        if let Some(definition) = prose.trim_start().strip_prefix('[') {
            if let Some((_, target)) = definition.split_once("]:") {
                targets.push(first_word(target));
            }
        }
        for target in targets {
            let target = target.trim_start_matches('<').trim_end_matches('>');
            let is_url = target.contains("://") || target.starts_with("mailto:");
            if !target.is_empty() && !is_url {
                links.push((index + 1, target.to_string()));
            }
        }
    }
    links
}
