//! `cargo xtask doctor`: which profiling tools this machine has, what each
//! task can do with them, and the exact command that fixes what is missing.

use crate::config::{Config, ConfigError};
use crate::reports::stdout::{out, outln};
use crate::tasks::invocation::Invocation;
use crate::tools::{perf_access, Platform, Tool, Toolbox};
use serde::Serialize;

/// Bumped on any incompatible change of `doctor --json`'s output.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(clap::Args)]
pub struct Args {
    /// Print the findings as JSON, for scripts.
    #[arg(long)]
    pub json: bool,
}

/// What one task can do here.
#[derive(Debug, Serialize)]
pub struct Capability {
    pub task: &'static str,
    pub ready: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// First in `--json`, like in every file the xtask writes.
    pub schema_version: u32,
    pub tools: Toolbox,
    pub capabilities: Vec<Capability>,
    /// The default tasks (baseline with a CPU profile, flamegraph, memory)
    /// can run: the tools are there and the config loads.
    pub ready: bool,
    /// The config file doctor looked at.
    pub config: String,
    /// Why that config did not load (missing, does not parse, invalid), with
    /// its file, line and column; null when it loaded.
    pub config_error: Option<String>,
    /// What perf may do for this user at this `perf_event_paranoid` level
    /// (Linux only).
    pub perf_access: Option<PerfAccess>,
}

/// What perf may do for the user who runs doctor.
#[derive(Debug, Serialize)]
pub struct PerfAccess {
    pub level: Option<i32>,
    pub root: bool,
    /// What the level allows this user, in a line.
    pub allows: String,
    /// What this user gives up at this level, each with the level it needs.
    pub missing: Vec<String>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let report = examine(
        Toolbox::detect().with_hardware_counters(),
        invocation.config_result(),
    );
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", render(&report));
    }
    Ok(if report.config_error.is_some() {
        // Every task but doctor stops at a config that does not load.
        crate::tasks::exit::FAILURE
    } else if report.ready {
        0
    } else {
        crate::tasks::exit::TOOLS_MISSING
    })
}

pub fn examine(tools: Toolbox, config: Result<&Config, &ConfigError>) -> Report {
    let mut capabilities = default_tasks(&tools);
    capabilities.push(leak_check(&tools));
    capabilities.push(Capability {
        task: "profile-compare --counter instructions",
        ready: tools.valgrind.usable(),
        detail: "valgrind callgrind counts instructions exactly".into(),
    });
    if tools.platform == Platform::Linux {
        capabilities.extend(linux_only(&tools));
    }
    // Without a profiling.toml there is no workload to look at yet.
    if let Some(config) = config.ok().filter(|c| !c.workloads.is_empty()) {
        capabilities.push(debug_info(config));
    }
    // The default tasks: a baseline with its CPU profile, the flamegraph, memory.
    let (config, config_error) = match config {
        Ok(config) => (config.path.display().to_string(), None),
        Err(error) => (error.path.display().to_string(), Some(error.to_string())),
    };
    let ready = capabilities[..3].iter().all(|c| c.ready) && config_error.is_none();
    let perf_access = (tools.platform == Platform::Linux).then(|| {
        let access = tools.perf_access();
        PerfAccess {
            level: access.level,
            root: access.root,
            allows: access.summary(),
            missing: access.missing(),
        }
    });
    Report {
        schema_version: SCHEMA_VERSION,
        tools,
        capabilities,
        ready,
        config,
        config_error,
        perf_access,
    }
}

/// The default tasks' capabilities, in this order: timings, the CPU
/// profile, memory (`examine` judges readiness on these three).
fn default_tasks(tools: &Toolbox) -> Vec<Capability> {
    let mut capabilities = Vec::new();
    let cargo = tools.cargo.usable();
    capabilities.push(Capability {
        task: "profile-baseline (timings)",
        ready: cargo,
        detail: if cargo {
            "cargo builds the workload; timings need nothing else".into()
        } else {
            "needs cargo".into()
        },
    });
    let sampler = tools.cpu_sampler();
    capabilities.push(Capability {
        task: "flamegraph / CPU profile",
        ready: sampler.is_some(),
        detail: match (sampler, tools.platform) {
            (Some(tool), Platform::Linux) => format!(
                "{} with inline frames (read in process: no addr2line needed)",
                tool.name
            ),
            (Some(tool), _) => tool.name.to_string(),
            (None, _) => "no usable CPU sampler".into(),
        },
    });
    let memory_tool = match tools.platform {
        Platform::Macos => [&tools.xctrace].into_iter().find(|t| t.usable()),
        _ => [&tools.heaptrack, &tools.valgrind]
            .into_iter()
            .find(|t| t.usable()),
    };
    let heaptrack_ok = tools.heaptrack.usable() && tools.heaptrack_print.usable();
    capabilities.push(Capability {
        task: "memory",
        ready: memory_tool.is_some(),
        detail: match memory_tool {
            Some(t) if t.name == "heaptrack" && heaptrack_ok => {
                "heaptrack (auto), massif also available".into()
            }
            Some(t) => format!("{} (auto)", t.name),
            None => "no heap profiler".into(),
        },
    });
    capabilities
}

fn leak_check(tools: &Toolbox) -> Capability {
    let leak_tool = match tools.platform {
        Platform::Macos => &tools.leaks,
        _ => &tools.valgrind,
    };
    Capability {
        task: "memory --leak-check",
        ready: leak_tool.usable(),
        detail: format!(
            "{} {}",
            leak_tool.name,
            if leak_tool.usable() {
                "ready"
            } else {
                "missing"
            }
        ),
    }
}

/// What only perf and Linux offer: hardware counters, off-CPU profiles and
/// the annotated assembly.
fn linux_only(tools: &Toolbox) -> Vec<Capability> {
    let mut capabilities = Vec::new();
    capabilities.push(Capability {
        task: "hardware counters (perf stat)",
        ready: tools.hardware_counters == Some(true),
        detail: match tools.hardware_counters {
            Some(true) => "cycles and instructions count".into(),
            Some(false) => "software events only (a VM?): perf samples on cpu-clock".into(),
            None => "unknown (perf unusable)".into(),
        },
    });
    let available = tools
        .perf
        .path()
        .map_err(|e| e.to_string())
        .and_then(crate::tools::offcpu::available);
    capabilities.push(Capability {
        task: "--off-cpu (where threads block)",
        ready: available.is_ok(),
        detail: match available {
            Ok(true) => {
                "perf records sched:sched_switch with stacks, at real-time priority".into()
            }
            Ok(false) => "perf records sched:sched_switch with stacks, at normal priority (real-time \
                 priority, which keeps up with a busy server's switches, needs root or CAP_SYS_NICE)"
                .into(),
            Err(why) => why,
        },
    });
    let objdump = crate::tools::objdump::find();
    capabilities.push(Capability {
        task: "annotate/ (hottest functions' assembly)",
        ready: objdump.is_ok(),
        detail: match objdump {
            Ok(path) => format!("{} disassembles them", path.display()),
            Err(why) => format!("{why} (or `annotate = 0` in [defaults])"),
        },
    });
    capabilities
}

/// Whether the default workload's binary will carry debug info and
/// symbols: from the Cargo profile it is built with (no build here), or for
/// a `command`, from the executable's headers.
fn debug_info(config: &Config) -> Capability {
    use crate::config::project_files::{profile_debug_info, ProfileDebugInfo};
    let Ok((name, workload)) = config.workload(None) else {
        return Capability {
            task: "debug info of the workload",
            ready: false,
            detail: "no default workload: set defaults.workload in profiling.toml".into(),
        };
    };
    let profile = &config.defaults.build_profile;
    let (ready, detail) = match workload.target() {
        crate::config::Target::Command(command) => {
            match which::which(command).map_err(anyhow::Error::from).and_then(|path| {
                crate::tools::executable::inspect(&path).map(|c| (path, c))
            }) {
                Ok((path, contents)) => match crate::tools::executable::warning(&path, contents, profile) {
                    None => (true, format!("`{name}` ({}) has debug info and symbols", path.display())),
                    Some(_) if contents.symbols => (false, format!("`{name}` ({}) has symbols but no debug info: no files or lines (install its debug package)", path.display())),
                    Some(_) => (false, format!("`{name}` ({}) is stripped: functions show as addresses", path.display())),
                },
                Err(error) => (false, format!("`{name}`: {error:#}")),
            }
        }
        _ => {
            let manifest =
                std::fs::read_to_string(crate::config::project_root().join("Cargo.toml"))
                    .unwrap_or_default();
            match profile_debug_info(&manifest, profile) {
                ProfileDebugInfo::Fine => (true, format!("`{name}` builds with [profile.{profile}]: debug info, not stripped")),
                // The xtask gives cargo its own `profiling` profile then.
                ProfileDebugInfo::Missing if profile == crate::config::project_files::PROFILE => (true, format!("`{name}` builds with the xtask's [profile.{profile}] (release, debug = true, strip = \"none\"; on cargo's command line, since Cargo.toml declares none)")),
                ProfileDebugInfo::Missing => (false, format!("Cargo.toml has no [profile.{profile}]: add it with inherits = \"release\", debug = true, strip = \"none\"")),
                ProfileDebugInfo::NoDebugInfo => (false, format!("[profile.{profile}] has no debug info: set debug = true in Cargo.toml")),
                ProfileDebugInfo::Stripped => (false, format!("[profile.{profile}] strips symbols: set strip = \"none\" in Cargo.toml")),
            }
        }
    };
    Capability {
        task: "debug info of the workload",
        ready,
        detail,
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("Platform: {:?}\n", report.tools.platform));
    if let Some(access) = &report.perf_access {
        out.push_str(&render_perf_access(
            access,
            report.tools.perf.limitation.is_some(),
        ));
    }
    out.push_str("\nTools:\n");
    for tool in report.tools.all() {
        out.push_str(&format!(
            "  {:<8} {:<16} {}\n",
            status(tool),
            tool.name,
            tool.version.as_deref().unwrap_or("-")
        ));
    }
    out.push_str("\nTasks:\n");
    for capability in &report.capabilities {
        out.push_str(&format!(
            "  {:<8} {:<40} {}\n",
            if capability.ready { "ok" } else { "no" },
            capability.task,
            capability.detail
        ));
    }
    let fixes: Vec<&Tool> = report
        .tools
        .all()
        .into_iter()
        .filter(|t| !t.usable() && t.fix.is_some())
        .collect();
    if !fixes.is_empty() {
        out.push_str("\nTo fix:\n");
        for tool in fixes {
            let why = tool.limitation.as_deref().unwrap_or("is missing");
            out.push_str(&format!(
                "  {} {why}:\n      {}\n",
                tool.name,
                tool.fix
                    .as_deref()
                    .unwrap_or_default()
                    .replace("\n  ", "\n      ")
            ));
        }
    }
    match &report.config_error {
        None if !std::path::Path::new(&report.config).exists() => out.push_str(&format!(
            "\nConfig: none ({} does not exist): the tasks run a program given after `--` \
             (`{command} flamegraph -- ./prog args`), or `{command} init` writes one.\n",
            report.config,
            command = crate::config::command_name()
        )),
        None => out.push_str(&format!("\nConfig: {} loads.\n", report.config)),
        Some(error) => out.push_str(&format!(
            "\nConfig: {} does not load:\n  {}\n",
            report.config,
            error.replace('\n', "\n  ")
        )),
    }
    out.push_str(&format!(
        "\n{}\n",
        if report.ready {
            "Ready: profile-baseline, flamegraph and memory can run."
        } else if report.config_error.is_some() {
            "Not ready: fix the config (above); every task but doctor needs it."
        } else {
            "Not ready: the default tasks cannot all run here (see above)."
        }
    ));
    out
}

/// The level, what it allows this user and what it does not, and when perf
/// is refused, the commands that set the level and keep it; then what each
/// level allows, for a user deciding which to set.
fn render_perf_access(access: &PerfAccess, refused: bool) -> String {
    let mut out = format!("perf_event_paranoid: {}\n", access.allows);
    if access.root {
        return out;
    }
    for missing in &access.missing {
        out.push_str(&format!("  not at this level: {missing}\n"));
    }
    if refused {
        out.push_str(&format!(
            "  perf is refused here. Run: {}\n  and to keep it after a reboot: {}\n",
            perf_access::set_command(perf_access::USER_SPACE),
            perf_access::keep_command(perf_access::USER_SPACE)
        ));
    }
    if !access.missing.is_empty() {
        out.push_str("  what each level allows a user who is not root:\n");
        for (level, allows) in perf_access::levels() {
            out.push_str(&format!("    {level:>4}: {allows}\n"));
        }
    }
    out
}

fn status(tool: &Tool) -> &'static str {
    match (&tool.path, &tool.limitation) {
        (None, _) => "MISSING",
        (Some(_), Some(_)) => "LIMITED",
        (Some(_), None) => "ok",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(level: i32, root: bool) -> PerfAccess {
        let access = perf_access::Access {
            level: Some(level),
            root,
        };
        PerfAccess {
            level: access.level,
            root,
            allows: access.summary(),
            missing: access.missing(),
        }
    }

    /// Debian's and Ubuntu's defaults: doctor says what to run, how to keep
    /// it, and what each level allows.
    #[test]
    fn at_3_or_4_doctor_says_what_to_run() {
        for level in [3, 4] {
            let text = render_perf_access(&access(level, false), true);
            assert!(
                text.starts_with(&format!("perf_event_paranoid: {level}; you are not root")),
                "{text}"
            );
            assert!(
                text.contains("Run: sudo sysctl kernel.perf_event_paranoid=2\n"),
                "{text}"
            );
            assert!(
                text.contains(
                    "keep it after a reboot: echo kernel.perf_event_paranoid=2 | sudo tee /etc/sysctl.d/60-perf.conf"
                ),
                "{text}"
            );
            for level in ["-1", "0", "1", "2", "3, 4"] {
                assert!(text.contains(&format!("{level:>4}: ")), "{text}");
            }
        }
        // A kernel that treats 3 as 2 (perf ran): no command to run.
        let ran = render_perf_access(&access(3, false), false);
        assert!(
            !ran.contains("sudo sysctl kernel.perf_event_paranoid=2"),
            "{ran}"
        );
    }

    #[test]
    fn at_2_doctor_says_what_a_user_gives_up() {
        let text = render_perf_access(&access(2, false), false);
        assert!(text.contains("not at this level: kernel frames"), "{text}");
        assert!(text.contains("not at this level: --off-cpu"), "{text}");
        assert!(!text.contains("perf is refused"), "{text}");
        let root = render_perf_access(&access(2, true), false);
        assert_eq!(
            root,
            "perf_event_paranoid: 2; you are root, whom it does not restrict: perf may sample everything\n"
        );
    }
}
