//! `cargo profile`, the installed form: the `cargo-profile` binary first on
//! PATH, run by cargo as a subcommand in directories that hold a C or Go
//! program and no Cargo.toml, with and without a profiling.toml. The project
//! is the current directory's, never the test's CARGO_MANIFEST_DIR (which
//! cargo-profile inherits here and must ignore).

use crate::common;

use common::{has_tool, text, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A C program with one CPU-bound function and one that allocates:
/// `prog [ROUNDS]`; 80 million rounds take about 0.3 s.
const C_PROGRAM: &str = r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) unsigned long spin_hot_loop(unsigned long rounds) {
    unsigned long x = 1;
    for (unsigned long i = 0; i < rounds; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        x ^= x >> 17;
    }
    return x;
}

__attribute__((noinline)) unsigned long fill_many_buffers(int count) {
    char *kept[256];
    unsigned long sum = 0;
    for (int i = 0; i < count; i++) {
        kept[i] = malloc(65536);
        memset(kept[i], i, 65536);
        sum += (unsigned char)kept[i][i];
    }
    for (int i = 0; i < count; i++) free(kept[i]);
    return sum;
}

int main(int argc, char **argv) {
    unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 80000000UL;
    printf("spin=%lu\n", spin_hot_loop(rounds));
    printf("filled=%lu\n", fill_many_buffers(200));
    return 0;
}
"#;

const GO_PROGRAM: &str = r#"package main

import (
	"fmt"
	"os"
	"strconv"
)

//go:noinline
func spinGoLoop(n int) uint64 {
	var x uint64 = 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 17
	}
	return x
}

func main() {
	n := 80000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	fmt.Println(spinGoLoop(n))
}
"#;

/// The directory of `target/debug/cargo-profile`, built once per test
/// process (the engine is built already: only its main is compiled).
fn cargo_profile_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "build",
                "--package",
                "cargo-profile",
                "--message-format=json-render-diagnostics",
            ])
            .current_dir(workspace())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        let executable = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| {
                m["reason"] == "compiler-artifact" && m["target"]["name"] == "cargo-profile"
            })
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo built the cargo-profile binary");
        executable.parent().unwrap().to_path_buf()
    })
}

/// A place holding the C program, compiled there with gcc -g -O1 (a
/// fraction of a second); None (the test skips) without gcc.
fn c_program_in(tag: &str) -> Option<Place> {
    if !has_tool("gcc") {
        eprintln!("note: gcc is not installed; skipping (apt-get install gcc)");
        return None;
    }
    let place = Place::new(tag);
    std::fs::write(place.dir.join("hot.c"), C_PROGRAM).unwrap();
    let mut gcc = Command::new("gcc");
    gcc.args(["-g", "-O1", "-o", "prog", "hot.c"])
        .current_dir(&place.dir);
    let output = bounded(gcc, Duration::from_secs(60));
    assert!(output.status.success(), "gcc failed: {}", text(&output));
    std::fs::remove_file(place.dir.join("hot.c")).unwrap();
    Some(place)
}

/// A directory of its own for a program, and nothing else (no Cargo.toml,
/// no profiling.toml here or above); removed on drop.
struct Place {
    dir: PathBuf,
}

impl Place {
    fn new(tag: &str) -> Place {
        let dir = std::env::temp_dir().join(format!("xtask-e2e-cp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for above in dir.ancestors() {
            for file in ["profiling.toml", "Cargo.toml"] {
                assert!(
                    !above.join(file).exists(),
                    "{} would make the project: remove it",
                    above.join(file).display()
                );
            }
        }
        Place { dir }
    }

    /// `cargo profile ARGS` in `cwd` (inside this place), as a user runs it
    /// after `cargo install`, bounded in time.
    fn cargo_profile_in(&self, cwd: &Path, args: &[&str]) -> Output {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let path = std::env::join_paths(std::iter::once(cargo_profile_dir().to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let mut command = Command::new(cargo);
        command
            .arg("profile")
            .args(args)
            .current_dir(cwd)
            .env("PATH", path)
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY");
        bounded(command, Duration::from_secs(180))
    }

    fn cargo_profile(&self, args: &[&str]) -> Output {
        self.cargo_profile_in(&self.dir, args)
    }

    /// The result directories under `results/`, oldest first.
    fn results(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.dir.join("results"))
            .map(|read| read.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        dirs.retain(|d| d.join("run.json").is_file());
        dirs.sort();
        dirs
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command` in a process group of its own, which is killed (cargo,
/// cargo-profile and what they started) if it outlives `limit`.
fn bounded(mut command: Command, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    command
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    let group = child.id() as i32;
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let deadline = Instant::now() + limit;
    match waited.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            unsafe { libc::kill(-group, libc::SIGKILL) };
            panic!("`{command:?}` ran longer than {limit:?}: killed");
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&dir.join("run.json"))).unwrap()
}

#[test]
fn a_c_program_without_any_config_is_profiled_by_cargo_profile() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let Some(place) = c_program_in("c") else {
        return;
    };

    let output = place.cargo_profile(&["flamegraph", "--", "./prog"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let results = place.results();
    assert_eq!(results.len(), 1, "{out}");
    let top = read(&results[0].join("top-functions.txt"));
    assert!(top.contains("spin_hot_loop"), "{top}");
    let record = run_json(&results[0]);
    assert_eq!(record["workload"], "prog");
    assert_eq!(record["command_line"], serde_json::json!(["./prog"]));

    // The program's own flags are its own, even those named like ours.
    let line = ["./prog", "1000", "--config", "x.toml", "--help", "{x}"];
    let output =
        place.cargo_profile(&[&["profile-baseline", "--runs", "3", "--"][..], &line].concat());
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let baseline = place.results().pop().unwrap();
    let record = run_json(&baseline);
    assert_eq!(record["task"], "profile-baseline");
    assert_eq!(record["command_line"], serde_json::json!(line));
    assert_eq!(record["scales"][0]["runs"].as_array().unwrap().len(), 3);
    let argv = record["scales"][0]["argv"].to_string();
    assert!(
        argv.ends_with("/prog\",\"1000\",\"--config\",\"x.toml\",\"--help\",\"{x}\"]"),
        "{argv}"
    );

    // What ran, in the list of results; and nothing written beside results/.
    let output = place.cargo_profile(&["list"]);
    let listed = text(&output);
    assert!(output.status.success(), "{listed}");
    assert!(
        listed.contains("prog (-- ./prog 1000 --config x.toml --help {x})"),
        "{listed}"
    );
    let mut entries: Vec<String> = std::fs::read_dir(&place.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["prog", "results"]);
}

#[test]
fn a_c_program_s_allocating_function_is_named_by_cargo_profile_memory() {
    if !has_tool("heaptrack") {
        eprintln!(
            "note: heaptrack is not installed; skipping (scripts/install-tools.sh installs it)"
        );
        return;
    }
    let Some(place) = c_program_in("mem") else {
        return;
    };
    let output = place.cargo_profile(&["memory", "--tool", "heaptrack", "--", "./prog", "1000"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let results = place.results();
    assert_eq!(results.len(), 1, "{out}");
    let memory: serde_json::Value =
        serde_json::from_str(&read(&results[0].join("memory.json"))).unwrap();
    let consumers = memory["peak_consumers"].to_string();
    assert!(consumers.contains("fill_many_buffers"), "{consumers}");
    assert!(memory["peak_heap_bytes"].as_f64().unwrap() >= 200.0 * 65536.0);
}

#[test]
fn a_profiling_toml_of_a_c_project_is_found_from_its_subdirectories() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let Some(place) = c_program_in("toml") else {
        return;
    };
    std::fs::write(
        place.dir.join("profiling.toml"),
        "[params.spins]\ndefault = 1000\n\n[workloads.hot]\ncommand = \"./prog\"\nargs = [\"{spins}\"]\n",
    )
    .unwrap();
    let sub = place.dir.join("src/deeper");
    std::fs::create_dir_all(&sub).unwrap();

    let output = place.cargo_profile_in(&sub, &["flamegraph", "--spins", "80000000"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let results = place.results();
    assert_eq!(results.len(), 1, "results go to the root's results/: {out}");
    assert!(read(&results[0].join("top-functions.txt")).contains("spin_hot_loop"));
    let record = run_json(&results[0]);
    assert_eq!(record["workload"], "hot");
    assert!(record.get("command_line").is_none(), "a declared workload");

    // The ad-hoc form beside it runs with the file's defaults; a workload
    // named too, or a parameter, is an error before anything runs.
    for (args, error) in [
        (
            &["flamegraph", "--workload", "hot", "--", "../../prog"][..],
            "--workload names a workload of profiling.toml",
        ),
        (
            &["flamegraph", "--spins", "5", "--", "../../prog"][..],
            "--spins is a parameter of profiling.toml's workloads",
        ),
    ] {
        let output = place.cargo_profile_in(&sub, args);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(2), "{out}");
        assert!(out.contains(error), "{out}");
    }
    assert_eq!(place.results().len(), 1);
}

#[test]
fn what_cargo_profile_cannot_do_here_it_says_with_what_to_type() {
    let Some(place) = c_program_in("refusals") else {
        return;
    };
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["flamegraph"],
            1,
            "give the program to run after `--` (`cargo profile flamegraph -- ./prog args`)",
        ),
        (
            &["init"],
            1,
            "is not in a Cargo project, so there are no targets to write workloads for: give the program to profile and its arguments, `cargo profile init -- ./prog args`",
        ),
        (
            &["list", "--", "./prog"],
            2,
            "`cargo profile list` runs no program given after `--`; the tasks that do:",
        ),
        (&["flamegraph", "--", "prog"], 1, "the program of that name in this directory is `./prog`"),
        (&["memory", "--", "./missing"], 1, "there is no program at ./missing"),
    ];
    for (args, code, message) in cases {
        let output = place.cargo_profile(args);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {out}");
        assert!(out.contains(message), "{args:?}: {out}");
    }
    let output = place.cargo_profile(&["list"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("yet: run `cargo profile profile-baseline`"),
        "{out}"
    );

    // A cargo target where there is no Cargo project.
    std::fs::write(
        place.dir.join("profiling.toml"),
        "[workloads.app]\ncargo_bin = \"app\"\n",
    )
    .unwrap();
    let output = place.cargo_profile(&["profile-baseline"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("`--bin app` is a target cargo builds, and"),
        "{out}"
    );
    assert!(out.contains("is not in a Cargo project"), "{out}");

    // `init -- PROGRAM` writes a starter that runs.
    std::fs::remove_file(place.dir.join("profiling.toml")).unwrap();
    let output = place.cargo_profile(&["init", "--", "./prog", "1000"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let starter = read(&place.dir.join("profiling.toml"));
    assert!(starter.contains("command = \"./prog\""), "{starter}");
    assert!(starter.contains("args = [\"1000\"]"), "{starter}");
    let output = place.cargo_profile(&["doctor"]);
    assert!(
        text(&output).contains("profiling.toml loads"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_go_program_s_function_is_named_by_cargo_profile_flamegraph() {
    if !has_tool("go") || !has_tool("perf") {
        eprintln!("note: go or perf is not installed; skipping (apt-get install golang-go)");
        return;
    }
    let build = std::env::temp_dir().join(format!("xtask-e2e-cp-gobuild-{}", std::process::id()));
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("main.go"), GO_PROGRAM).unwrap();
    // Go's build cache is shared by test runs (see service_life.rs).
    let shared = std::env::temp_dir().join("xtask-e2e-go");
    let mut go = Command::new("go");
    go.args(["build", "-o", "goprog", "main.go"])
        .current_dir(&build)
        .env("GOCACHE", shared.join("cache"))
        .env("GOPATH", shared.join("gopath"))
        .env("GO111MODULE", "off")
        .env("CGO_ENABLED", "0")
        .env_remove("GOFLAGS");
    let output = bounded(go, Duration::from_secs(120));
    assert!(
        output.status.success(),
        "go build failed: {}",
        text(&output)
    );
    let place = Place::new("go");
    std::fs::copy(build.join("goprog"), place.dir.join("goprog")).unwrap();
    let _ = std::fs::remove_dir_all(&build);

    let output = place.cargo_profile(&["flamegraph", "--", "./goprog"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let results = place.results();
    assert_eq!(results.len(), 1, "{out}");
    let top = read(&results[0].join("top-functions.txt"));
    assert!(top.contains("main.spinGoLoop"), "{top}");
    // Sampled with frame pointers, Go's stacks reach its runtime's entry:
    // perf's DWARF unwinding stops at the sampled function.
    assert!(
        out.contains("a Go program: sampled with frame pointers"),
        "{out}"
    );
    let folded = read(&results[0].join("cpu.folded"));
    let whole = folded
        .lines()
        .filter(|l| l.contains("runtime.main;") && l.contains("main.spinGoLoop"))
        .count();
    assert!(whole > 0, "{folded}");
}
