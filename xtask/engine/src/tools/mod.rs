//! The external tools: what is installed, in which version, and how to drive
//! each one. One module per tool holds its command building and output
//! parsing side by side; this file only detects them (objdump, which only
//! annotate/ needs, is looked up where it runs).

pub mod callgrind;
pub mod cargo_install;
pub mod cargo_metadata;
pub mod criterion;
pub mod demangle;
pub mod dtrace;
pub mod dwarf;
pub mod executable;
pub mod git;
pub mod heaptrack;
pub mod instruments;
pub mod leaves;
pub mod massif;
pub mod memcheck;
pub mod memory_model;
pub mod objdump;
pub mod offcpu;
pub mod perf;
pub mod perf_access;
pub mod perf_data;
pub mod perf_events;

pub mod perf_stat;
pub mod xctrace;

#[cfg(test)]
mod mutation_tests;

use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Linux,
    Macos,
    Other,
}

impl Platform {
    pub fn current() -> Platform {
        if cfg!(target_os = "linux") {
            Platform::Linux
        } else if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Other
        }
    }
}

/// One detected (or missing) tool.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub path: Option<PathBuf>,
    pub version: Option<String>,
    /// Why the tool is present but limited (e.g. perf not permitted to record).
    pub limitation: Option<String>,
    /// The command that installs or fixes it.
    pub fix: Option<String>,
}

impl Tool {
    pub fn usable(&self) -> bool {
        self.path.is_some() && self.limitation.is_none()
    }

    pub fn path(&self) -> anyhow::Result<&Path> {
        match (&self.path, &self.limitation) {
            (Some(path), None) => Ok(path),
            (Some(_), Some(limitation)) => anyhow::bail!(
                "{} is installed but {limitation}{}",
                self.name,
                self.fix
                    .as_ref()
                    .map(|f| format!("\n  fix: {f}"))
                    .unwrap_or_default()
            ),
            (None, _) => anyhow::bail!(
                "{} is not installed{}",
                self.name,
                self.fix
                    .as_ref()
                    .map(|f| format!("\n  install: {f}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Everything the tasks may use on this machine, detected at runtime.
#[derive(Debug, Clone, Serialize)]
pub struct Toolbox {
    pub platform: Platform,
    pub cargo: Tool,
    pub rustc: Tool,
    pub perf: Tool,
    /// perf's `perf_event_paranoid` and whether we are root.
    pub perf_event_paranoid: Option<i32>,
    pub root: bool,
    /// Hardware counters (cycles, instructions) work, not only software
    /// events. Probed only by doctor ([`Toolbox::with_hardware_counters`]):
    /// no other task needs the extra `perf stat` at start-up.
    pub hardware_counters: Option<bool>,
    pub heaptrack: Tool,
    pub heaptrack_print: Tool,
    pub valgrind: Tool,
    pub ms_print: Tool,
    pub xctrace: Tool,
    pub dtrace: Tool,
    pub leaks: Tool,
}

impl Toolbox {
    pub fn detect() -> Toolbox {
        let platform = Platform::current();
        let distro = Distro::detect();
        let root = nix::unistd::geteuid().is_root();
        // Each probe runs the tool (`--version`): all at once, as every
        // task starts with them.
        let macos_fix = |what: &str| Some(format!("xcode-select --install   # provides {what}"));
        let probes: [(&'static str, &[&str], Option<String>); 10] = [
            ("perf", &["--version"], distro.install("perf")),
            ("cargo", &["--version"], Some("https://rustup.rs".into())),
            ("rustc", &["--version"], Some("https://rustup.rs".into())),
            ("heaptrack", &["--version"], distro.install("heaptrack")),
            (
                "heaptrack_print",
                &["--version"],
                distro.install("heaptrack"),
            ),
            ("valgrind", &["--version"], distro.install("valgrind")),
            ("ms_print", &["--version"], distro.install("valgrind")),
            ("xcrun", &["xctrace", "version"], macos_fix("xctrace")),
            ("dtrace", &["-V"], macos_fix("dtrace")),
            ("leaks", &["--help"], macos_fix("leaks")),
        ];
        let [mut perf, cargo, rustc, heaptrack, heaptrack_print, valgrind, ms_print, xcrun, dtrace, leaks] =
            std::thread::scope(|scope| {
                probes
                    .map(|(name, args, fix)| scope.spawn(move || detect(name, args, fix)))
                    .map(|probe| probe.join().expect("a tool probe panicked"))
            });
        let access = perf_access::Access {
            level: perf_access::read_level(),
            root,
        };
        let perf_event_paranoid = access.level;
        if let Some(path) = perf.path.clone() {
            perf.limitation = perf_limitation(&access, || perf_runs(&path));
            if perf.limitation.is_some() {
                perf.fix = Some(perf_access::fix(perf_access::USER_SPACE));
            }
        }
        Toolbox {
            platform,
            cargo,
            rustc,
            perf,
            perf_event_paranoid,
            root,
            hardware_counters: None,
            heaptrack,
            heaptrack_print,
            valgrind,
            ms_print,
            xctrace: xctrace_of(xcrun),
            dtrace,
            leaks,
        }
    }

    /// What perf may do for this user here.
    pub fn perf_access(&self) -> perf_access::Access {
        perf_access::Access {
            level: self.perf_event_paranoid,
            root: self.root,
        }
    }

    /// Asks perf whether hardware events count here (`perf stat -e instructions true`).
    pub fn with_hardware_counters(mut self) -> Toolbox {
        self.hardware_counters = self.perf.path().ok().map(perf::hardware_counters_work);
        self
    }

    /// Why this platform's CPU sampler cannot record, with the fix.
    /// The note of a baseline that could not profile CPU.
    pub fn sampler_missing_note(&self) -> String {
        format!(
            "no CPU profile: {} (timings were still recorded)",
            self.missing_cpu_sampler()
        )
    }

    pub fn missing_cpu_sampler(&self) -> String {
        let tool = match self.platform {
            Platform::Macos => &self.xctrace,
            _ => &self.perf,
        };
        tool.path()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no CPU sampler is supported on this platform".into())
    }

    /// The CPU sampler of this platform, if it can record.
    pub fn cpu_sampler(&self) -> Option<&Tool> {
        match self.platform {
            Platform::Linux => Some(&self.perf).filter(|t| t.usable()),
            Platform::Macos => [&self.xctrace, &self.dtrace]
                .into_iter()
                .find(|t| t.usable()),
            Platform::Other => None,
        }
    }

    pub fn all(&self) -> Vec<&Tool> {
        let mut tools = vec![&self.cargo, &self.rustc];
        match self.platform {
            Platform::Macos => tools.extend([&self.xctrace, &self.dtrace, &self.leaks]),
            _ => tools.extend([
                &self.perf,
                &self.heaptrack,
                &self.heaptrack_print,
                &self.valgrind,
                &self.ms_print,
            ]),
        }
        tools
    }
}

/// Why perf may not record for this user, if it may not: above level 2
/// Debian's and Ubuntu's kernels refuse it every event, while upstream
/// kernels treat those levels as 2; `try_perf` (a quick count of `true`,
/// only run at those levels) tells which this kernel does.
fn perf_limitation(
    access: &perf_access::Access,
    try_perf: impl FnOnce() -> bool,
) -> Option<String> {
    if !access.may_forbid_perf() || try_perf() {
        return None;
    }
    access.level.map(perf_access::refusal)
}

/// Whether perf may count a program of this user in user space here.
fn perf_runs(perf: &Path) -> bool {
    probe(perf, &["stat", "-e", "task-clock:u", "--", "true"])
        .is_some_and(|output| output.status.success())
}

/// Finds a tool on PATH and asks its version.
pub fn detect(name: &'static str, version_args: &[&str], fix: Option<String>) -> Tool {
    let path = which::which(name).ok();
    let version = path.as_ref().and_then(|p| version_of(p, version_args));
    Tool {
        name,
        path,
        version,
        limitation: None,
        fix,
    }
}

/// xctrace lives behind `xcrun`: the probe of `xcrun xctrace version`, and
/// the path kept is xcrun's.
fn xctrace_of(mut xcrun: Tool) -> Tool {
    xcrun.name = "xctrace";
    if xcrun.version.is_none() {
        xcrun.path = None;
    }
    xcrun
}

/// The first non-empty line a tool prints for its version (stdout or stderr).
pub fn version_of(path: &Path, args: &[&str]) -> Option<String> {
    let output = probe(path, args)?;
    let text = if output.stdout.iter().any(|b| !b.is_ascii_whitespace()) {
        output.stdout
    } else {
        output.stderr
    };
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Which package manager's install commands to suggest.
#[derive(Debug, Clone, Copy)]
enum Distro {
    Debian,
    Ubuntu,
    Fedora,
    Arch,
    Macos,
    Unknown,
}

impl Distro {
    fn detect() -> Distro {
        if cfg!(target_os = "macos") {
            return Distro::Macos;
        }
        let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let id = release
            .lines()
            .filter_map(|l| l.strip_prefix("ID=").or_else(|| l.strip_prefix("ID_LIKE=")))
            .map(|v| v.trim_matches('"').to_string())
            .collect::<Vec<_>>()
            .join(" ");
        if id.contains("ubuntu") {
            Distro::Ubuntu
        } else if id.contains("debian") {
            Distro::Debian
        } else if id.contains("fedora") || id.contains("rhel") {
            Distro::Fedora
        } else if id.contains("arch") {
            Distro::Arch
        } else {
            Distro::Unknown
        }
    }

    fn install(self, tool: &str) -> Option<String> {
        let package = match (self, tool) {
            (Distro::Debian, "perf") => "linux-perf",
            (Distro::Ubuntu, "perf") => "linux-tools-common linux-tools-generic",
            (Distro::Arch, "perf") => "perf",
            (Distro::Fedora, "perf") => "perf",
            (Distro::Macos, _) => return None,
            (_, other) => other,
        };
        Some(match self {
            Distro::Debian | Distro::Ubuntu => format!("sudo apt-get install -y {package}"),
            Distro::Fedora => format!("sudo dnf install -y {package}"),
            Distro::Arch => format!("sudo pacman -S {package}"),
            _ => format!("install `{package}` with your package manager"),
        })
    }
}

/// Runs a command and returns its stdout, for small queries (versions, sysctl).
pub fn capture(program: &str, args: &[&str]) -> Option<String> {
    let output = probe(Path::new(program), args)?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The cargo to run: the one that started us (cargo sets `CARGO` for the
/// programs it runs, so `cargo +nightly xtask` builds with nightly), else
/// the one on PATH.
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A quick query of an installed tool (`--version`, `perf stat … true`):
/// its whole output, whatever its exit status; `None` when it cannot start.
/// Through xshell, as plain commands are run throughout (no shell, quiet:
/// detection is not one of the steps `-v` shows).
pub fn probe(program: &Path, args: &[&str]) -> Option<std::process::Output> {
    let shell = xshell::Shell::new().ok()?;
    xshell::cmd!(shell, "{program} {args...}")
        .quiet()
        .ignore_status()
        .output()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_permission_rules() {
        let access = |level, root| perf_access::Access {
            level: Some(level),
            root,
        };
        let refused = || false;
        assert!(perf_limitation(&access(4, true), refused).is_none());
        assert!(perf_limitation(&access(2, false), refused).is_none());
        assert!(perf_limitation(&access(3, false), refused)
            .unwrap()
            .contains("is 3"));
        // A kernel without Debian's patch treats 3 as 2: perf runs.
        assert!(perf_limitation(&access(3, false), || true).is_none());
        // perf is tried only at the levels that may forbid it.
        let never = || -> bool { panic!("perf tried at level 2") };
        assert!(perf_limitation(&access(2, false), never).is_none());
    }

    /// A task refused perf at level 3 or 4 says both commands, each on its
    /// own line.
    #[test]
    fn a_refused_perf_says_how_to_set_the_level_and_keep_it() {
        let perf = Tool {
            name: "perf",
            path: Some(PathBuf::from("/usr/bin/perf")),
            version: None,
            limitation: perf_limitation(
                &perf_access::Access {
                    level: Some(4),
                    root: false,
                },
                || false,
            ),
            fix: Some(perf_access::fix(perf_access::USER_SPACE)),
        };
        let error = perf.path().unwrap_err().to_string();
        assert!(
            error.starts_with(
                "perf is installed but may not record: kernel.perf_event_paranoid is 4"
            ),
            "{error}"
        );
        assert!(
            error.contains("\n  fix: sudo sysctl kernel.perf_event_paranoid=2\n"),
            "{error}"
        );
        assert!(
            error.ends_with(
                "echo kernel.perf_event_paranoid=2 | sudo tee /etc/sysctl.d/60-perf.conf"
            ),
            "{error}"
        );
    }

    #[test]
    fn install_hints_per_distro() {
        assert_eq!(
            Distro::Debian.install("perf").unwrap(),
            "sudo apt-get install -y linux-perf"
        );
        assert_eq!(
            Distro::Fedora.install("valgrind").unwrap(),
            "sudo dnf install -y valgrind"
        );
        assert!(Distro::Macos.install("perf").is_none());
    }

    #[test]
    fn a_missing_tool_says_how_to_install_it() {
        let tool = detect(
            "no-such-tool-xyz",
            &["--version"],
            Some("apt-get install x".into()),
        );
        assert!(!tool.usable());
        let err = tool.path().unwrap_err().to_string();
        assert_eq!(
            err,
            "no-such-tool-xyz is not installed\n  install: apt-get install x"
        );
    }
}
