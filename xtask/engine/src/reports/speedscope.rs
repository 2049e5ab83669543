//! speedscope's file format (<https://www.speedscope.app/file-format-schema.json>):
//! every folded profile of a result as one "sampled" profile, each folded
//! stack one sample weighted by its count, all sharing one frame table.

use crate::reports::viewer::profiles::Profile;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// speedscope's unit for a profile's weights.
fn unit(profile: &Profile) -> &'static str {
    match profile.unit {
        "bytes" => "bytes",
        "µs" => "microseconds",
        _ => "none",
    }
}

/// The speedscope file of `profiles`, named after the result `name`.
pub fn document(name: &str, profiles: &[Profile]) -> Value {
    let mut frames: Vec<Value> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for profile in profiles {
        let mut samples = Vec::with_capacity(profile.stacks.len());
        let mut weights = Vec::with_capacity(profile.stacks.len());
        for (stack, weight) in &profile.stacks {
            let ids: Vec<usize> = stack
                .iter()
                .map(|frame| {
                    *index.entry(frame.as_str()).or_insert_with(|| {
                        frames.push(json!({ "name": frame }));
                        frames.len() - 1
                    })
                })
                .collect();
            samples.push(ids);
            weights.push(*weight);
        }
        out.push(json!({
            "type": "sampled",
            "name": format!("{name} · {}", profile.label),
            "unit": unit(profile),
            "startValue": 0,
            "endValue": profile.total(),
            "samples": samples,
            "weights": weights,
        }));
    }
    json!({
        "$schema": SCHEMA,
        "name": name,
        "exporter": format!("cargo xtask export {}", env!("CARGO_PKG_VERSION")),
        "activeProfileIndex": 0,
        "shared": { "frames": frames },
        "profiles": out,
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::reports::viewer::profiles::parse_folded;

    /// Checks what speedscope relies on, and returns each profile's stacks
    /// read back as folded lines with their summed weights.
    pub fn check(doc: &Value) -> Vec<HashMap<String, u64>> {
        assert_eq!(doc["$schema"], SCHEMA);
        let frames = doc["shared"]["frames"].as_array().unwrap();
        assert!(frames.iter().all(|f| f["name"].is_string()));
        let mut read = Vec::new();
        for profile in doc["profiles"].as_array().unwrap() {
            assert_eq!(profile["type"], "sampled");
            let samples = profile["samples"].as_array().unwrap();
            let weights = profile["weights"].as_array().unwrap();
            assert_eq!(samples.len(), weights.len());
            let mut stacks: HashMap<String, u64> = HashMap::new();
            for (sample, weight) in samples.iter().zip(weights) {
                let names: Vec<&str> = sample
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        let i = i.as_u64().unwrap() as usize;
                        assert!(i < frames.len(), "frame {i} out of range");
                        frames[i]["name"].as_str().unwrap()
                    })
                    .collect();
                *stacks.entry(names.join(";")).or_default() += weight.as_u64().unwrap();
            }
            let total: u64 = stacks.values().sum();
            assert_eq!(profile["endValue"].as_u64().unwrap(), total);
            read.push(stacks);
        }
        read
    }

    #[test]
    fn each_folded_profile_becomes_a_sampled_profile_over_shared_frames() {
        let cpu = Profile {
            path: "cpu.folded".into(),
            label: "CPU".into(),
            unit: "samples",
            stacks: parse_folded("main;work 5\nmain 2\nmain;work 1\n").unwrap(),
        };
        let memory = Profile {
            path: "memory.folded".into(),
            label: "heap".into(),
            unit: "bytes",
            stacks: parse_folded("main;alloc 4096\n").unwrap(),
        };
        let doc = document("r", &[cpu, memory]);
        let read = check(&doc);
        assert_eq!(read[0]["main;work"], 6);
        assert_eq!(read[0]["main"], 2);
        assert_eq!(read[1]["main;alloc"], 4096);
        // `main` is one frame, shared by both profiles.
        assert_eq!(doc["shared"]["frames"].as_array().unwrap().len(), 3);
        assert_eq!(doc["profiles"][1]["unit"], "bytes");
        assert_eq!(doc["profiles"][0]["unit"], "none");
    }
}
