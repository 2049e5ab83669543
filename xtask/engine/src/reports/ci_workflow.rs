//! The GitHub Actions workflow that `init --ci github` writes: on each pull
//! request, the pull request's head is compared with the commit it branched
//! from (`profile-compare --side rev=… --side rev=…`), the comparison goes
//! to the job's summary, the flamegraphs and the results page are uploaded,
//! and a regression fails the job. It is a file people read and edit, so
//! every step says why it is there.

/// Where the workflow lies, relative to the repository's root.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/profiling.yml";

/// What decides the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// Instructions and estimated cycles counted under callgrind: exact.
    Instructions,
    /// Timings of this many interleaved pairs of runs (a criterion bench,
    /// whose instruction count follows its speed).
    Timings { runs: u32 },
}

/// What varies from one project's workflow to another's.
#[derive(Debug, Clone, PartialEq)]
pub struct GithubWorkflow {
    /// The command words that run the tasks: `cargo xtask`, `cargo profile`.
    pub command: String,
    /// A step's command that puts `command` on the runner, when the tasks
    /// come from an installed binary (`cargo install …`).
    pub install: Option<String>,
    /// The project's directory inside the repository, when it is not the root.
    pub directory: Option<String>,
    /// The results directory, relative to the project's.
    pub results_dir: String,
    /// The workload compared, when it is not the config's default one.
    pub workload: Option<String>,
    pub gauge: Gauge,
}

impl GithubWorkflow {
    /// The workflow's text, or why a path cannot be written into it.
    pub fn render(&self) -> Result<String, String> {
        let directory = match &self.directory {
            Some(dir) => Some(plain_path(
                dir,
                "the project's directory in the repository",
            )?),
            None => None,
        };
        let results = plain_path(&self.results_dir, "defaults.results_dir")?;
        // upload-artifact and the cache read paths from the repository's
        // root; the steps run in the project's directory.
        let from_root = |path: &str| match &directory {
            Some(dir) => format!("{dir}/{path}"),
            None => path.to_string(),
        };
        let mut text = HEADER.replace("{command}", &self.command);
        if let Some(dir) = &directory {
            text.push_str(&format!("        working-directory: {dir}\n"));
        }
        text.push_str(&CHECKOUT_AND_TOOLS.replace("{command}", &self.command));
        let mut cached = vec![
            "~/.cargo/registry/index/".to_string(),
            "~/.cargo/registry/cache/".into(),
            "~/.cargo/git/db/".into(),
            from_root("target/"),
        ];
        if self.install.is_none() {
            // The adopted xtask is a workspace of its own, built into its
            // own target directory.
            cached.push(from_root("xtask/target/"));
        }
        if self.install.is_some() {
            // The installed binary, and cargo's record of it, so that
            // `cargo install` finds it up to date.
            cached.extend([
                "~/.cargo/bin/".into(),
                "~/.cargo/.crates.toml".into(),
                "~/.cargo/.crates2.json".into(),
            ]);
        }
        text.push_str(&CACHE.replace("{paths}", &indented(&cached, 12)));
        if let Some(install) = &self.install {
            text.push_str(&INSTALL.replace("{install}", install));
        }
        let workload = match &self.workload {
            Some(name) => format!(" --workload {}", shell_word(name)),
            None => String::new(),
        };
        let (why, gauge) = match self.gauge {
            Gauge::Instructions => (INSTRUCTIONS_WHY, " --counter instructions".to_string()),
            Gauge::Timings { runs } => (TIMINGS_WHY, format!(" --runs {runs}")),
        };
        text.push_str(
            &COMPARE
                .replace("{why}", why)
                .replace("{command}", &self.command)
                .replace("{workload}", &workload)
                .replace("{gauge}", &gauge),
        );
        let uploaded = [
            from_root(&format!("{results}/")),
            format!("!{}", from_root(&format!("{results}/**/perf.data"))),
        ];
        text.push_str(
            &UPLOAD
                .replace("{command}", &self.command)
                .replace("{results}", &results)
                .replace("{paths}", &indented(&uploaded, 12)),
        );
        Ok(text)
    }
}

/// A relative path as the workflow writes it (no quoting needed in YAML,
/// in a glob or in bash), without a trailing slash.
fn plain_path(path: &str, what: &str) -> Result<String, String> {
    let path = path.trim_end_matches('/');
    let plain = !path.is_empty()
        && !path.starts_with(['/', '-', '!', '.'])
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        && !path.split('/').any(|part| part == "..");
    if plain {
        Ok(path.to_string())
    } else {
        Err(format!(
            "{what} is `{path}`: the workflow names it in paths for GitHub, so it must be a \
             relative path inside the repository of letters, digits, `.`, `_`, `-` and `/`"
        ))
    }
}

/// One word for bash: as it is when it needs no quoting, else in single
/// quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:=@+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words as one bash command line, each quoted where it needs it.
pub fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn indented(lines: &[String], spaces: usize) -> String {
    lines
        .iter()
        .map(|line| format!("{}{line}\n", " ".repeat(spaces)))
        .collect()
}

const HEADER: &str = r#"# Profiling of each pull request: its head against the commit it branched from,
# both built and measured here, on the same runner, their runs interleaved.
# The comparison lands in the job's summary, the flamegraphs and the results
# page in the run's artifacts, and a regression beyond profiling.toml's
# [thresholds] fails the job.
#
# Written by `{command} init --ci github`. It is yours to edit: it is never
# rewritten without --force. `{command} profile-compare --help` lists the flags.
name: profiling

on:
  pull_request:

permissions:
  contents: read

# A new push to the pull request cancels the comparison of the previous one.
concurrency:
  group: profiling-${{ github.event.pull_request.number }}
  cancel-in-progress: true

jobs:
  compare:
    # GitHub's x64 runners are virtual machines whose hypervisor keeps the
    # CPU's counters to itself: perf samples the CPU clock for the
    # flamegraphs, and the comparison counts with valgrind (see below).
    runs-on: ubuntu-24.04
    timeout-minutes: 60
    env:
      # The steps read the commits from these variables, never from
      # expressions pasted into their scripts.
      BASE_SHA: ${{ github.event.pull_request.base.sha }}
      HEAD_SHA: ${{ github.event.pull_request.head.sha }}
      CARGO_TERM_COLOR: never
    defaults:
      run:
        # bash -eo pipefail: a step fails with the first command that fails,
        # in a pipe too.
        shell: bash
"#;

const CHECKOUT_AND_TOOLS: &str = r#"    steps:
      - name: Check out with full history
        uses: actions/checkout@v4
        with:
          # Both revisions are built from this clone (in git worktrees): it
          # needs their history, not only the merge commit.
          fetch-depth: 0
          ref: ${{ github.event.pull_request.head.sha }}

      - name: Install perf and valgrind
        run: |
          sudo apt-get update -qq
          sudo apt-get install -y -qq valgrind binutils linux-tools-common
          # perf for the runner's kernel; when the archive has none for it
          # (the Azure kernels often run ahead), the generic kernel's perf
          # works as well.
          sudo apt-get install -y -qq "linux-tools-$(uname -r)" \
            || sudo apt-get install -y -qq linux-tools-generic
          # /usr/bin/perf is a wrapper that refuses to run another kernel's
          # perf: put the newest perf binary itself on PATH instead.
          if ! perf version >/dev/null 2>&1; then
            sudo ln -sf "$(ls -d /usr/lib/linux-tools/*/perf | sort -V | tail -n 1)" /usr/local/bin/perf
          fi
          perf version
          valgrind --version
          # Ubuntu forbids profiling to users (perf_event_paranoid 4): let
          # this user profile its own processes. `{command} doctor` checks it.
          sudo sysctl -w kernel.perf_event_paranoid=1

"#;

const CACHE: &str = r#"      - name: Cache cargo
        uses: actions/cache@v4
        with:
          # Both revisions build into target/xtask-rev: only what changed
          # between them and the cache is compiled again.
          path: |
{paths}          key: profiling-${{ runner.os }}-${{ hashFiles('**/Cargo.lock') }}
          restore-keys: profiling-${{ runner.os }}-

"#;

const INSTALL: &str = r#"      - name: Install the profiling tasks
        run: {install}

"#;

const INSTRUCTIONS_WHY: &str = r#"          # --counter instructions: a runner shares its cores with other
          # virtual machines, and two timings of the same code there differ
          # by more than most regressions. valgrind's callgrind counts the
          # instructions of one run per side, and estimates its cycles from
          # a simulated cache: exact and repeatable, whatever the neighbours
          # do. A change beyond [thresholds] instructions (1 %) fails. The
          # timed runs are still shown, not gated. A counted run takes 100 to
          # 200 times a bare run: give the workload a short representative
          # input (its args in profiling.toml)."#;

const TIMINGS_WHY: &str = r#"          # A criterion bench runs for a set time, so its instruction count
          # follows its speed and cannot be gated: criterion's estimate of
          # each invocation is compared instead, the two sides' invocations
          # interleaved and paired (10 pairs: 5 can never be significant).
          # On a busy runner a change may read inconclusive: the gate then
          # passes with a warning that names it, never a false alarm."#;

const COMPARE: &str = r#"      - name: Compare the base and the head
        run: |
          # The commit the pull request branched from: the comparison shows
          # what the pull request changes, not what landed on the base since.
          base=$(git merge-base "$BASE_SHA" "$HEAD_SHA")
{why}
          # Exit status: 3 on a regression, 1 when the comparison could not
          # decide or failed; the Markdown table goes to the job's summary.
          {command} profile-compare --side "rev=$base" --side "rev=$HEAD_SHA"{workload}{gauge} \
            --fail-on-regression --format markdown | tee -a "$GITHUB_STEP_SUMMARY"

"#;

const UPLOAD: &str = r#"      - name: Write the results page
        if: always()
        run: {command} report

      # {results}/ holds each side's result (README.md, flamegraph.svg,
      # run.json, callgrind.out), the comparison (compare.md, compare.json,
      # diff-flamegraph.svg) and the page that links them all, index.html.
      - name: Upload the flamegraphs and the results page
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: profiling
          path: |
{paths}          if-no-files-found: warn
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow() -> GithubWorkflow {
        GithubWorkflow {
            command: "cargo xtask".into(),
            install: None,
            directory: None,
            results_dir: "results".into(),
            workload: None,
            gauge: Gauge::Instructions,
        }
    }

    #[test]
    fn the_adopted_form_compares_instruction_counts_with_cargo_xtask() {
        let text = workflow().render().unwrap();
        assert!(text.contains(
            "          cargo xtask profile-compare --side \"rev=$base\" --side \"rev=$HEAD_SHA\" \
             --counter instructions \\\n            --fail-on-regression --format markdown | tee -a \
             \"$GITHUB_STEP_SUMMARY\"\n"
        ));
        assert!(text.contains("        run: cargo xtask report\n"));
        assert!(text.contains("            results/\n            !results/**/perf.data\n"));
        assert!(text.contains("            target/\n            xtask/target/\n          key:"));
        assert!(!text.contains("working-directory") && !text.contains("Install the profiling"));
        // Each action pinned to a major version: one that changes its
        // inputs never arrives unannounced.
        let uses: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("uses: "))
            .collect();
        assert_eq!(
            uses,
            [
                "actions/checkout@v4",
                "actions/cache@v4",
                "actions/upload-artifact@v4"
            ]
        );
        // Only the job's env reads expressions into variables.
        for line in text.lines().filter(|l| l.contains("${{")) {
            let key = line.trim_start().split(':').next().unwrap();
            assert!(
                [
                    "group",
                    "BASE_SHA",
                    "HEAD_SHA",
                    "ref",
                    "key",
                    "restore-keys"
                ]
                .contains(&key),
                "{line}"
            );
        }
        for marker in [
            "{command}",
            "{paths}",
            "{why}",
            "{workload}",
            "{gauge}",
            "{results}",
        ] {
            assert!(!text.contains(marker), "{marker} left in the text");
        }
        assert!(!text.contains('\t'));
    }

    #[test]
    fn an_installed_binary_is_installed_and_cached_and_a_subdirectory_is_worked_in() {
        let text = GithubWorkflow {
            command: "cargo profile".into(),
            install: Some("cargo install --locked cargo-profile --version 0.3.0".into()),
            directory: Some("rust/engine/".into()),
            results_dir: "out/results".into(),
            workload: Some("my bench's".into()),
            gauge: Gauge::Timings { runs: 10 },
        }
        .render()
        .unwrap();
        assert!(text.contains("        working-directory: rust/engine\n    steps:\n"));
        assert!(
            text.contains("        run: cargo install --locked cargo-profile --version 0.3.0\n")
        );
        assert!(text.contains("            ~/.cargo/bin/\n"));
        assert!(text.contains("            rust/engine/target/\n"));
        assert!(!text.contains("xtask/target/"), "no xtask is built: {text}");
        assert!(text.contains(
            "cargo profile profile-compare --side \"rev=$base\" --side \"rev=$HEAD_SHA\" \
             --workload 'my bench'\\''s' --runs 10 \\\n"
        ));
        assert!(!text.contains("--counter instructions"));
        assert!(text.contains(
            "            rust/engine/out/results/\n            !rust/engine/out/results/**/perf.data\n"
        ));
        assert!(text.contains("# Written by `cargo profile init --ci github`"));
    }

    #[test]
    fn a_path_that_would_need_quoting_is_refused_with_its_name() {
        for bad in [
            "/tmp/results",
            "../results",
            "my results",
            "-x",
            "a/../../b",
            "!x",
        ] {
            let error = GithubWorkflow {
                results_dir: bad.into(),
                ..workflow()
            }
            .render()
            .unwrap_err();
            assert!(error.starts_with("defaults.results_dir is `"), "{error}");
        }
    }
}
