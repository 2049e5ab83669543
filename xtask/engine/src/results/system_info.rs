//! `system_info.json`: the machine a result was measured on, so that
//! profile-compare can warn when two results come from different ones.

use crate::tools::Toolbox;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped on any incompatible change of system_info.json.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SystemInfo {
    #[serde(default = "crate::results::unversioned")]
    pub schema_version: u32,
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub cpu_model: String,
    pub cores: usize,
    pub memory_bytes: u64,
    pub rustc: String,
    pub perf_event_paranoid: Option<i32>,
    /// Tool name → version line, for every tool found.
    pub tools: BTreeMap<String, String>,
}

impl Default for SystemInfo {
    /// Nothing known, at the current schema version.
    fn default() -> SystemInfo {
        SystemInfo {
            schema_version: SCHEMA_VERSION,
            hostname: String::new(),
            os: String::new(),
            kernel: String::new(),
            arch: String::new(),
            cpu_model: String::new(),
            cores: 0,
            memory_bytes: 0,
            rustc: String::new(),
            perf_event_paranoid: None,
            tools: BTreeMap::new(),
        }
    }
}

impl SystemInfo {
    pub fn collect(tools: &Toolbox) -> SystemInfo {
        let uname = uname();
        SystemInfo {
            schema_version: SCHEMA_VERSION,
            hostname: uname.get(1).cloned().unwrap_or_default(),
            os: os_name(),
            kernel: format!(
                "{} {}",
                uname.first().map_or("", String::as_str),
                uname.get(2).map_or("", String::as_str)
            ),
            arch: std::env::consts::ARCH.to_string(),
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: memory_bytes(),
            rustc: tools.rustc.version.clone().unwrap_or_default(),
            perf_event_paranoid: tools.perf_event_paranoid,
            tools: tools
                .all()
                .into_iter()
                .filter_map(|t| Some((t.name.to_string(), t.version.clone()?)))
                .collect(),
        }
    }

    /// This machine's class (see [`MachineClass`]).
    pub fn machine_class(&self) -> MachineClass {
        MachineClass::of(self)
    }

    /// What differs between two machines in ways that move timings.
    pub fn differences(&self, other: &SystemInfo) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |what: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{what}: `{a}` vs `{b}`"));
            }
        };
        check("host", self.hostname.clone(), other.hostname.clone());
        check("CPU", self.cpu_model.clone(), other.cpu_model.clone());
        check("cores", self.cores.to_string(), other.cores.to_string());
        check("kernel", self.kernel.clone(), other.kernel.clone());
        check("rustc", self.rustc.clone(), other.rustc.clone());
        for (tool, version) in &self.tools {
            if let Some(theirs) = other.tools.get(tool) {
                check(tool, version.clone(), theirs.clone());
            }
        }
        out
    }
}

/// What kind of machine a result was measured on, without naming the
/// machine: results of one class are comparable over time, while CI
/// machines' host names are random. Stored in run.json (`machine`); results
/// of older versions have none and read as "unknown".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MachineClass {
    /// As the OS names it (`/proc/cpuinfo`'s model name), which some
    /// architectures leave empty.
    pub cpu_model: String,
    pub arch: String,
    pub cores: usize,
    /// The memory rounded up to whole GiB: the kernel reports a little less
    /// than is installed, and by amounts that vary between boots and kernels.
    pub memory_gib: u64,
}

/// How a result without a machine class is shown and grouped.
pub const UNKNOWN_MACHINE: &str = "unknown";

const GIB: u64 = 1 << 30;

impl MachineClass {
    pub fn of(system: &SystemInfo) -> MachineClass {
        MachineClass {
            cpu_model: system.cpu_model.trim().to_string(),
            arch: system.arch.clone(),
            cores: system.cores,
            memory_gib: system.memory_bytes.div_ceil(GIB),
        }
    }

    /// `Intel Xeon Platinum 8370C, 2 cores, 8 GiB`: the model without its
    /// trademarks and clock (the same part at another nominal clock is rare,
    /// and a wall of text in every table is not), or the architecture when
    /// the OS names no model.
    pub fn describe(&self) -> String {
        let model = short_model(&self.cpu_model);
        let model = if model.is_empty() {
            format!("{} CPU", self.arch)
        } else {
            model
        };
        format!(
            "{model}, {} core{}, {} GiB",
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.memory_gib
        )
    }
}

/// `Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz` → `Intel Xeon Platinum 8370C`,
/// `AMD EPYC 7763 64-Core Processor` → `AMD EPYC 7763`.
fn short_model(model: &str) -> String {
    let model = model.split(" @ ").next().unwrap_or(model);
    model
        .replace("(R)", "")
        .replace("(r)", "")
        .replace("(TM)", "")
        .replace("(tm)", "")
        .split_whitespace()
        .filter(|word| {
            let cores = word
                .strip_suffix("-Core")
                .is_some_and(|n| n.parse::<u32>().is_ok());
            !(cores || matches!(*word, "CPU" | "Processor"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// sysname, nodename, release, version, machine.
fn uname() -> Vec<String> {
    let Ok(name) = nix::sys::utsname::uname() else {
        return Vec::new();
    };
    [
        name.sysname(),
        name.nodename(),
        name.release(),
        name.version(),
        name.machine(),
    ]
    .iter()
    .map(|f| f.to_string_lossy().into_owned())
    .collect()
}

fn os_name() -> String {
    if cfg!(target_os = "macos") {
        return crate::tools::capture("sw_vers", &["-productVersion"])
            .map(|v| format!("macOS {v}"))
            .unwrap_or_else(|| "macOS".into());
    }
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn cpu_model() -> String {
    if cfg!(target_os = "macos") {
        return crate::tools::capture("sysctl", &["-n", "machdep.cpu.brand_string"])
            .unwrap_or_default();
    }
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

fn memory_bytes() -> u64 {
    if cfg!(target_os = "macos") {
        return crate::tools::capture("sysctl", &["-n", "hw.memsize"])
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    }
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let info = SystemInfo {
            cores: 2,
            ..SystemInfo::default()
        };
        let mut other = info.clone();
        assert!(info.differences(&other).is_empty());
        other.cores = 8;
        assert_eq!(info.differences(&other), vec!["cores: `2` vs `8`"]);
        if cfg!(target_os = "linux") {
            assert!(memory_bytes() > 0);
            assert!(!uname().is_empty());
        }
    }

    #[test]
    fn a_machine_class_names_the_hardware_not_the_host() {
        let system = SystemInfo {
            hostname: "fv-az123-456".into(),
            cpu_model: "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz".into(),
            arch: "x86_64".into(),
            cores: 2,
            // What a machine with 8 GiB installed reports.
            memory_bytes: 8_323_657_728,
            ..SystemInfo::default()
        };
        let class = system.machine_class();
        assert_eq!(class.memory_gib, 8);
        assert_eq!(
            class.describe(),
            "Intel Xeon Platinum 8370C, 2 cores, 8 GiB"
        );
        let other_host = SystemInfo {
            hostname: "fv-az999-001".into(),
            ..system.clone()
        };
        assert_eq!(other_host.machine_class(), class);
        let epyc = MachineClass {
            cpu_model: "AMD EPYC 7763 64-Core Processor".into(),
            arch: "x86_64".into(),
            cores: 4,
            memory_gib: 16,
        };
        assert_eq!(epyc.describe(), "AMD EPYC 7763, 4 cores, 16 GiB");
        let arm = MachineClass {
            cpu_model: String::new(),
            arch: "aarch64".into(),
            cores: 1,
            memory_gib: 4,
        };
        assert_eq!(arm.describe(), "aarch64 CPU, 1 core, 4 GiB");
        // Exactly 8 GiB stays 8; anything above is the next GiB.
        assert_eq!(
            MachineClass::of(&SystemInfo {
                memory_bytes: 8 * GIB,
                ..system.clone()
            })
            .memory_gib,
            8
        );
        assert_eq!(
            MachineClass::of(&SystemInfo {
                memory_bytes: 8 * GIB + 1,
                ..system
            })
            .memory_gib,
            9
        );
    }

    /// The schema version is the first field; a file written before it
    /// existed reads as version 1.
    #[test]
    fn says_its_schema_version_and_reads_files_without_one() {
        let text = serde_json::to_string_pretty(&SystemInfo::default()).unwrap();
        assert!(
            text.starts_with("{\n  \"schema_version\": 1,\n  \"hostname\""),
            "{text}"
        );
        let old = r#"{"hostname":"h","os":"Debian","kernel":"Linux 6.1","arch":"x86_64",
            "cpu_model":"cpu","cores":2,"memory_bytes":4096,"rustc":"rustc 1.80",
            "perf_event_paranoid":2,"tools":{"perf":"perf 6.1"}}"#;
        let info: SystemInfo = serde_json::from_str(old).unwrap();
        assert_eq!(info.schema_version, 1);
        assert_eq!((info.cores, info.tools.len()), (2, 1));
    }
}
