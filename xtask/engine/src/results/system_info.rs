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
