//! Building the two sides of `profile-compare --side A --side B` (and of
//! `--rev A --rev B`, sides that differ only in their revision): a side
//! with a revision is built from that commit, checked out in a temporary
//! worktree, with the current config's definition, into a shared target
//! directory, its executable kept apart; a side without one is built in the
//! working tree as every task builds. Then the runs of both, interleaved
//! (A B A B ...) so that drift of a shared machine hits both sides alike.
//! Also removes the scratch of runs that were interrupted. Executes
//! programs and returns data: which results are written, and how, is
//! `tasks::compare`'s.

use crate::config::{Config, SideSpec, Target, Workload};
use crate::runs::git::short_hash;
use crate::runs::measure;
use crate::runs::measure::RunSample;
use crate::runs::progress::Progress;
use crate::runs::workload::{self, Prepared};
use crate::runs::{descendants, process};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What one side runs: its spec, and the workload and parameter values
/// that spec resolves to.
pub struct SideRequest<'a> {
    pub spec: SideSpec,
    pub name: &'a str,
    pub workload: &'a Workload,
    pub values: BTreeMap<String, String>,
}

/// A side built and ready to run.
#[derive(Clone)]
pub struct BuiltSide {
    /// As asked for (`rev=v1.2,subs=100`).
    pub spec: SideSpec,
    /// The workload's name.
    pub name: String,
    /// The parameter values it runs with.
    pub values: BTreeMap<String, String>,
    /// The full commit hash of its revision, when it names one.
    pub commit: Option<String>,
    /// That commit's short hash.
    pub short: Option<String>,
    /// Its executable (for a revision, copied out of the shared target
    /// directory) and argv.
    pub prepared: Prepared,
}

impl BuiltSide {
    /// How progress lines and notes name the side: its spec.
    pub fn who(&self) -> &str {
        &self.spec.text
    }
}

/// The sides built, in the order asked for. Executables of revisions lie in
/// a scratch directory under the results directory, removed when this is
/// dropped: keep it until the runs are done.
pub struct Built {
    pub sides: Vec<BuiltSide>,
    _scratch: Option<Scratch>,
}

/// Builds each side. Sides with a revision need the repository that holds
/// `config.root`; scratch of interrupted runs in `results` is removed
/// first, and this run's scratch is `results/<prefix>rev-<pid>`.
pub fn build(
    config: &Config,
    requests: Vec<SideRequest<'_>>,
    results: &Path,
    scratch_prefix: &str,
) -> anyhow::Result<Built> {
    for request in &requests {
        check_workload(request.name, request.workload, request.spec.rev.is_some())?;
    }
    let any_revision = requests.iter().any(|r| r.spec.rev.is_some());
    let mut scratch = None;
    let mut checkout = None;
    if any_revision {
        let (found, dir) = prepare_checkout(config, results, scratch_prefix)?;
        checkout = Some(found);
        scratch = Some(dir);
    }

    let mut built = Vec::new();
    // Sides are lettered a, b, c ...: one letter keeps the executables'
    // paths (and so argv, which callgrind counts) the same length.
    if requests.len() > 26 {
        bail!("at most 26 sides can be built at once");
    }
    for (request, side) in requests.into_iter().zip('a'..='z') {
        let Some(rev) = request.spec.rev.clone() else {
            let SideRequest {
                spec,
                name,
                workload,
                values,
            } = request;
            eprintln!("== building {} ==", spec.text);
            let prepared = workload::prepare(config, name, workload, &values)
                .with_context(|| format!("cannot build side {}", spec.text))?;
            built.push(BuiltSide {
                spec,
                name: name.to_string(),
                values,
                commit: None,
                short: None,
                prepared,
            });
            continue;
        };
        let checkout = checkout
            .as_ref()
            .expect("a checkout for sides with a revision");
        built.push(build_revision(config, checkout, side, request, &rev)?);
    }
    Ok(Built {
        sides: built,
        _scratch: scratch,
    })
}

/// Where the sides with a revision are checked out and built: the
/// repository, `config.root`'s place inside it, the shared target directory
/// and this run's scratch directory.
struct Checkout {
    repo: PathBuf,
    inside: PathBuf,
    target_dir: PathBuf,
    scratch_path: PathBuf,
}

/// Finds the repository that holds `config.root`, removes the scratch of
/// interrupted runs and creates this run's.
fn prepare_checkout(
    config: &Config,
    results: &Path,
    scratch_prefix: &str,
) -> anyhow::Result<(Checkout, Scratch)> {
    let repo = PathBuf::from(
        git(&config.root, &["rev-parse", "--show-toplevel"]).with_context(|| {
            format!(
                "a revision needs a git repository, and {} is not in one",
                config.root.display()
            )
        })?,
    );
    let inside = relative_inside(&config.root, &repo)?;
    remove_abandoned_scratch(&repo, results, scratch_prefix);
    std::fs::create_dir_all(results)
        .with_context(|| format!("cannot create {}", results.display()))?;
    let dir = Scratch::new(results.join(format!("{scratch_prefix}rev-{}", std::process::id())))?;
    let checkout = Checkout {
        repo,
        inside,
        target_dir: shared_target_dir(config),
        scratch_path: dir.path.clone(),
    };
    Ok((checkout, dir))
}

/// Builds one side at its revision, `rev`, in a worktree of its own (`src-`
/// and its letter), and keeps its executable in the scratch (`bin-` and its
/// letter).
fn build_revision(
    config: &Config,
    checkout: &Checkout,
    side: char,
    request: SideRequest<'_>,
    rev: &str,
) -> anyhow::Result<BuiltSide> {
    let SideRequest {
        spec,
        name,
        workload,
        values,
    } = request;
    let Checkout {
        repo,
        inside,
        target_dir,
        scratch_path,
    } = checkout;
    let commit = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .with_context(|| format!("`{rev}` is not a commit of {}", repo.display()))?;
    let short = short_hash(&commit).to_string();
    eprintln!("== building {} ({short}) ==", spec.text);
    let worktree = Worktree::add(repo, &scratch_path.join(format!("src-{side}")), &commit)?;
    let root = worktree.path.join(inside);
    let prepared =
        build_at(config, &root, target_dir, name, workload, &values).with_context(|| {
            format!(
                "cannot build revision {rev} ({short}) in {}",
                root.display()
            )
        })?;
    // The shared target directory is overwritten by the next build:
    // keep this revision's executable. Same-length paths for both
    // sides, so that argv (and callgrind's counts) differ only by the code.
    let bin_dir = scratch_path.join(format!("bin-{side}"));
    std::fs::create_dir_all(&bin_dir)?;
    let file_name = prepared
        .program
        .file_name()
        .context("the built executable has no file name")?;
    let program = bin_dir.join(file_name);
    std::fs::copy(&prepared.program, &program).with_context(|| {
        format!(
            "cannot copy {} to {}",
            prepared.program.display(),
            program.display()
        )
    })?;
    let cwd = match prepared.cwd.strip_prefix(&root) {
        Ok(rest) => config.root.join(rest),
        Err(_) => prepared.cwd.clone(),
    };
    drop(worktree);
    Ok(BuiltSide {
        spec,
        name: name.to_string(),
        values,
        commit: Some(commit),
        short: Some(short),
        prepared: Prepared {
            program,
            cwd,
            ..prepared
        },
    })
}

/// Worktrees and executables of --rev runs that were interrupted (Ctrl-C
/// exits without running destructors): `<prefix>rev-<pid>` (the results
/// store names the prefix, `.tmp-`) of a process that is gone. Their
/// worktrees are unregistered from git, then deleted.
fn remove_abandoned_scratch(repo: &Path, results: &Path, scratch_prefix: &str) {
    let Ok(entries) = std::fs::read_dir(results) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(scratch_prefix)
            .and_then(|rest| rest.strip_prefix("rev-"))
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() as i32 || crate::runs::process::process_alive(pid) {
            continue;
        }
        let worktrees = std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("src-"));
        for worktree in worktrees {
            let _ = git(
                repo,
                &[
                    "worktree",
                    "remove",
                    "--force",
                    &worktree.path().to_string_lossy(),
                ],
            );
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
    // Entries of worktrees whose directories are gone.
    let _ = git(repo, &["worktree", "prune"]);
}

/// What a side can run: a one-shot workload, built with cargo when it
/// names a revision.
pub fn check_workload(name: &str, workload: &Workload, at_revision: bool) -> anyhow::Result<()> {
    if workload.is_service() {
        bail!(
            "A/B runs are of one-shot workloads, and `{name}` is a server: measure each side with \
             `cargo xtask profile-baseline --workload {name}` and compare the two results"
        );
    }
    if let (true, Target::Command(command)) = (at_revision, workload.target()) {
        bail!(
            "a revision is built with cargo, but `{name}` runs the external command \
             `{command}`: build each revision yourself, run `cargo xtask profile-baseline` on each, and \
             compare the two results"
        );
    }
    Ok(())
}

/// A B A B ...: warm-ups, then the measured runs, alternating sides.
pub fn interleaved_runs(
    built: &[BuiltSide],
    warmup: u32,
    runs: u32,
) -> anyhow::Result<Vec<Vec<RunSample>>> {
    let mut samples = vec![Vec::new(); built.len()];
    let progress = Progress::bar(u64::from(warmup + runs) * built.len() as u64, "A/B ");
    for i in 0..warmup + runs {
        let is_warmup = i < warmup;
        for (side, samples) in built.iter().zip(samples.iter_mut()) {
            progress.set_message(format!(
                "{} {} {}",
                side.who(),
                if is_warmup { "warm-up" } else { "run" },
                if is_warmup { i + 1 } else { i + 1 - warmup }
            ));
            let who = format!("{} ", side.who());
            let sample = measure::progress_step(&side.prepared, &progress, &who, is_warmup)?;
            if !is_warmup {
                samples.push(sample);
            }
        }
    }
    progress.finish();
    Ok(samples)
}

/// CPU time per wall second of one free run above which `--duet` refuses a
/// workload. Higher than [`crate::config::measures::ONE_CORE`], which judges
/// medians of many runs: the CPU time of one short run is counted in clock
/// ticks, and a single-threaded run of 30 ms can read 1.1; a workload with
/// two busy threads reads near 2.
const SEVERAL_CORES: f64 = 1.5;

/// What one free (unpinned) run of a side showed about its use of cores.
struct FreeRun {
    /// CPU time over wall time: above 1 only with several cores busy, but
    /// pushed down when the machine is busy with something else.
    cores_used: f64,
    /// Threads that each did at least half the CPU work of the busiest
    /// one: a count that the machine's load does not change.
    busy_threads: usize,
}

/// Runs a side once, unpinned, reading its threads' CPU time every 10 ms.
fn free_run(prepared: &Prepared) -> anyhow::Result<FreeRun> {
    let spec = prepared.spec();
    let command = spec.display();
    let running = process::start(spec)?;
    let mut ticks: BTreeMap<i32, u64> = BTreeMap::new();
    while running.is_running() {
        for (tid, used) in descendants::thread_cpu_ticks(running.pid) {
            ticks.insert(tid, used);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let outcome = running.wait();
    if !outcome.success() {
        return Err(measure::RunFailure {
            command,
            what: outcome.describe(Some(prepared.timeout)),
            tail: outcome.tail(),
        }
        .into());
    }
    let busiest = ticks.values().copied().max().unwrap_or(0);
    // Fewer ticks than this (at 100 Hz, 50 ms) cannot tell threads apart.
    const ENOUGH_TICKS: u64 = 5;
    let busy_threads = if busiest < ENOUGH_TICKS {
        1
    } else {
        ticks.values().filter(|&&t| 2 * t >= busiest).count()
    };
    Ok(FreeRun {
        cores_used: (outcome.user + outcome.sys).as_secs_f64()
            / outcome.wall.as_secs_f64().max(1e-9),
        busy_threads,
    })
}

/// `--duet`: each pair of runs at the same time, A and B each alone on a
/// core of its own (the last two CPUs this process may use; the cores swap
/// sides from pair to pair), so that whatever else the machine does in that
/// moment hits both. Warm-ups first, also in pairs. Linux only (CPU
/// affinity), and only with two cores to spare.
pub fn duet_runs(
    built: &[BuiltSide],
    warmup: u32,
    runs: u32,
) -> anyhow::Result<Vec<Vec<RunSample>>> {
    let [a, b] = built else {
        bail!("--duet runs two sides");
    };
    let cores = duet_cores()?;
    // A workload that keeps more than one core busy would be squeezed onto
    // one by the pinning, and the pair would measure that: one free run of
    // each side first says how many cores it uses.
    for side in [a, b] {
        let free = free_run(&side.prepared)?;
        if free.cores_used > SEVERAL_CORES {
            bail!(
                "--duet pins each side to one core, and `{}` keeps {:.1} cores busy \
                 (CPU time {:.1} × its wall time): compare without --duet (interleaved)",
                side.who(),
                free.cores_used,
                free.cores_used,
            );
        }
        if free.busy_threads > 1 {
            bail!(
                "--duet pins each side to one core, and `{}` keeps {} threads busy at once: \
                 compare without --duet (interleaved)",
                side.who(),
                free.busy_threads
            );
        }
    }
    let mut samples = vec![Vec::new(), Vec::new()];
    let progress = Progress::bar(u64::from(warmup + runs), "duet ");
    for i in 0..warmup + runs {
        let is_warmup = i < warmup;
        progress.set_message(if is_warmup {
            format!("warm-up {}/{warmup}", i + 1)
        } else {
            format!("pair {}/{runs}", i + 1 - warmup)
        });
        let (core_a, core_b) = if i % 2 == 0 {
            (cores[0], cores[1])
        } else {
            (cores[1], cores[0])
        };
        let (sample_a, sample_b) = std::thread::scope(|scope| {
            let run_a = scope.spawn(move || run_on_core(&a.prepared, core_a));
            let run_b = scope.spawn(move || run_on_core(&b.prepared, core_b));
            (join(run_a), join(run_b))
        });
        let (sample_a, sample_b) = match (sample_a, sample_b) {
            (Ok(mut sa), Ok(mut sb)) => {
                measure::ran_together(&mut sa, &mut sb);
                (sa, sb)
            }
            (Err(error), _) | (_, Err(error)) => {
                progress.abandon();
                return Err(error);
            }
        };
        progress.step(&format!(
            "{} {:.3} s | {} {:.3} s",
            a.who(),
            sample_a.wall_s,
            b.who(),
            sample_b.wall_s
        ));
        if !is_warmup {
            samples[0].push(sample_a);
            samples[1].push(sample_b);
        }
    }
    progress.finish();
    Ok(samples)
}

fn join(
    handle: std::thread::ScopedJoinHandle<'_, anyhow::Result<RunSample>>,
) -> anyhow::Result<RunSample> {
    handle
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("a duet run's thread panicked")))
}

/// One run, from a thread pinned to `core`: the child inherits the mask.
fn run_on_core(prepared: &Prepared, core: usize) -> anyhow::Result<RunSample> {
    pin_this_thread(core)?;
    measure::run_once(prepared).map(|(sample, _)| sample)
}

#[cfg(target_os = "linux")]
fn pin_this_thread(core: usize) -> anyhow::Result<()> {
    use nix::sched::{sched_setaffinity, CpuSet};
    let mut set = CpuSet::new();
    set.set(core)
        .with_context(|| format!("CPU {core} is beyond what this system supports"))?;
    // Pid 0: the calling thread.
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .with_context(|| format!("cannot pin a run to CPU {core}"))
}

#[cfg(not(target_os = "linux"))]
fn pin_this_thread(_core: usize) -> anyhow::Result<()> {
    bail!("--duet pins each side to a core, which needs Linux (macOS has no CPU affinity)")
}

/// The two CPUs of the duet: the last two this process may run on.
#[cfg(target_os = "linux")]
fn duet_cores() -> anyhow::Result<[usize; 2]> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let allowed = sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .context("cannot read which CPUs this process may use")?;
    let cores: Vec<usize> = (0..CpuSet::count())
        .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .collect();
    match cores.as_slice() {
        [.., first, second] => Ok([*first, *second]),
        _ => bail!(
            "--duet runs A and B at the same time on two cores, and this process may use {} \
             (interleaved runs, without --duet, need one)",
            cores.len()
        ),
    }
}

#[cfg(not(target_os = "linux"))]
fn duet_cores() -> anyhow::Result<[usize; 2]> {
    bail!("--duet pins each side to a core, which needs Linux (macOS has no CPU affinity)")
}

/// Builds the workload in the checkout at `root` with the current
/// config's workload definition, into the shared target directory.
fn build_at(
    config: &Config,
    root: &Path,
    target_dir: &Path,
    name: &str,
    workload: &Workload,
    values: &BTreeMap<String, String>,
) -> anyhow::Result<Prepared> {
    let mut at_revision = config.clone();
    at_revision.root = root.to_path_buf();
    let _target = crate::runs::build::TargetDirOverride::set(target_dir);
    workload::prepare(&at_revision, name, workload, values)
}

/// `<target>/xtask-rev`: shared by every revision build, so dependencies
/// compile once; kept apart from the workspace's own artifacts.
fn shared_target_dir(config: &Config) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                config.root.join(p)
            }
        })
        .unwrap_or_else(|| config.root.join("target"));
    base.join("xtask-rev")
}

/// Where `dir` lies inside `repo` (both canonicalised).
fn relative_inside(dir: &Path, repo: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let repo = repo
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", repo.display()))?;
    dir.strip_prefix(&repo)
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside the repository {}",
                dir.display(),
                repo.display()
            )
        })
}

/// Runs git in `dir`; its trimmed stdout, or an error with its stderr.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let shell = xshell::Shell::new()?;
    let command = xshell::cmd!(shell, "git -C {dir} {args...}")
        .ignore_status()
        .quiet();
    crate::runs::process::echo(&command.to_string());
    let output = command
        .output()
        .context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A detached worktree of one commit, removed when dropped (also on
/// errors). After a Ctrl-C it stays under `results/.tmp-rev-*` for
/// `cleanup`, and the next --rev run prunes git's entry for it.
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
}

impl Worktree {
    fn add(repo: &Path, path: &Path, commit: &str) -> anyhow::Result<Worktree> {
        let path_text = path.to_string_lossy();
        git(repo, &["worktree", "add", "--detach", &path_text, commit])?;
        Ok(Worktree {
            repo: repo.to_path_buf(),
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let path = self.path.to_string_lossy().into_owned();
        if let Err(error) = git(&self.repo, &["worktree", "remove", "--force", &path]) {
            eprintln!("warning: {error:#}; removing {path} by hand");
            let _ = std::fs::remove_dir_all(&self.path);
            let _ = git(&self.repo, &["worktree", "prune"]);
        }
    }
}

/// A scratch directory (worktrees, executables) removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(path: PathBuf) -> anyhow::Result<Scratch> {
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worktrees_are_removed_when_dropped() {
        let repo = PathBuf::from(
            git(
                &crate::config::project_root(),
                &["rev-parse", "--show-toplevel"],
            )
            .unwrap(),
        );
        let scratch =
            Scratch::new(std::env::temp_dir().join(format!("xtask-wt-{}", std::process::id())))
                .unwrap();
        let path = scratch.path.join("src-a");
        let head = git(&repo, &["rev-parse", "HEAD"]).unwrap();
        {
            let worktree = Worktree::add(&repo, &path, &head).unwrap();
            assert!(worktree.path.join("Cargo.toml").is_file());
            let listed = git(&repo, &["worktree", "list", "--porcelain"]).unwrap();
            assert!(
                listed.contains(&path.to_string_lossy().into_owned()),
                "{listed}"
            );
        }
        assert!(!path.exists());
        let listed = git(&repo, &["worktree", "list", "--porcelain"]).unwrap();
        assert!(
            !listed.contains(&path.to_string_lossy().into_owned()),
            "{listed}"
        );
        let scratch_path = scratch.path.clone();
        drop(scratch);
        assert!(!scratch_path.exists());
    }

    #[test]
    fn scratch_of_dead_runs_is_removed_and_nothing_else() {
        let repo = PathBuf::from(
            git(
                &crate::config::project_root(),
                &["rev-parse", "--show-toplevel"],
            )
            .unwrap(),
        );
        let results = std::env::temp_dir().join(format!("xtask-abandoned-{}", std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let keep = [
            format!(".tmp-rev-{}", std::process::id()),
            ".tmp-20261122-000000-baseline-1".to_string(),
            "20261122-000000-baseline".to_string(),
        ];
        for name in keep.iter().chain([&format!(".tmp-rev-{dead}")]) {
            std::fs::create_dir_all(results.join(name).join("bin-a")).unwrap();
        }
        remove_abandoned_scratch(&repo, &results, ".tmp-");
        let mut left: Vec<String> = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected = keep.to_vec();
        expected.sort();
        assert_eq!(left, expected);
        std::fs::remove_dir_all(&results).unwrap();
    }

    #[test]
    fn unknown_revisions_and_paths_are_clear_errors() {
        let root = crate::config::project_root();
        let err = git(
            &root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                "no-such-rev-xyz^{commit}",
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("failed"), "{err}");
        let outside = relative_inside(Path::new("/"), &root).unwrap_err();
        assert!(
            outside.to_string().contains("is not inside the repository"),
            "{outside}"
        );
        assert_eq!(relative_inside(&root, &root).unwrap(), PathBuf::new());
    }
}
