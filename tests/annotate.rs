//! annotate/ for real: the hottest functions of a flamegraph disassembled
//! by objdump with their samples per instruction, equal to what `perf
//! annotate` says of the same recording, and `cargo xtask annotate` of one
//! more function later, with or without perf.data.

use crate::common;

use common::{has_tool, text, Sandbox};

#[test]
fn a_flamegraph_annotates_its_hottest_functions_and_annotate_adds_one() {
    if !has_tool("perf") {
        return;
    }
    let sandbox = Sandbox::new("annotate", "");
    // perf.data stays only when asked: here, to compare with perf annotate.
    let output = sandbox.xtask(&["flamegraph", "--subs", "20000", "--keep-perf-data"]);
    assert!(output.status.success(), "{}", text(&output));
    let dir = sandbox.results()[0].clone();
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let annotated = run["scales"][0]["cpu_profile"]["annotated"]
        .as_array()
        .unwrap()
        .clone();
    // The shipped profiling.toml keeps the default: three functions.
    assert_eq!(annotated.len(), 3, "{annotated:?}");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for a in &annotated {
        let file = a["file"].as_str().unwrap();
        let function = a["function"].as_str().unwrap();
        assert!(file.starts_with("annotate/0"), "{file}");
        let body = std::fs::read_to_string(dir.join(file)).unwrap();
        // perf's header, then instructions with their share of the samples.
        assert!(body.contains("Source code & Disassembly of"), "{body}");
        assert!(
            body.lines()
                .any(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())
                    && l.contains(" : ")),
            "no sampled instruction in {file}"
        );
        // The link's text is the function's name, escaped for Markdown
        // (`<T as Trait>` is written `&lt;T as Trait&gt;`).
        let link = readme
            .lines()
            .find(|l| l.contains(&format!("]({file})")))
            .unwrap_or_else(|| panic!("no link to {file} in\n{readme}"));
        let name: String = function
            .rsplit("::")
            .next()
            .unwrap()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        assert!(link.contains(&name), "{link}");
        // Every instruction's share, as perf annotate counts the same
        // recording's samples (local hits: samples, not periods). perf
        // annotates every function of that name, each with its own shares:
        // ours is the one with most samples, compared with perf's block of it.
        let ours = shares(&body);
        let perfs: Vec<_> = shares(&perf_annotate(&dir.join("perf.data"), function))
            .into_iter()
            .filter(|(address, _)| ours.iter().any(|(a, _)| a == address))
            .collect();
        assert_eq!(ours, perfs, "{file} differs from perf annotate");
    }

    // One more, later: the demo's own hot function, with its source lines.
    let function = "cdr_demo::generate::simulate_subscriber";
    let output = sandbox.xtask(&["annotate", function]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let file = std::fs::read_dir(dir.join("annotate"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.to_string_lossy()
                .ends_with("-cdr_demo..generate..simulate_subscriber.txt")
        })
        .unwrap_or_else(|| panic!("no annotation written:\n{out}"));
    let body = std::fs::read_to_string(file).unwrap();
    assert!(
        body.contains("fn simulate_subscriber(rng: &mut Rng, days: u32, slowdown: u32)"),
        "the source line is interleaved:\n{body}"
    );

    // A misspelt name: the close ones.
    let output = sandbox.xtask(&["annotate", "simulate_subscribr"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("close names:\n  cdr_demo::generate::simulate_subscriber"),
        "{out}"
    );

    // A flamegraph as made by default, without the raw data: its own
    // annotations are there, and a later one needs no perf.data either.
    let output = sandbox.xtask(&["flamegraph", "--subs", "20000", "--label", "plain"]);
    assert!(output.status.success(), "{}", text(&output));
    let dir = sandbox
        .results()
        .into_iter()
        .find(|d| d.to_string_lossy().ends_with("-plain"))
        .unwrap();
    assert!(!dir.join("perf.data").exists());
    assert!(dir.join("annotate").is_dir());
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let output = sandbox.xtask(&["annotate", &name, function]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("samples annotated"), "{out}");

    // A result without the samples per instruction (an older xtask's): a
    // clear error, and no annotation half written.
    std::fs::remove_file(dir.join("cpu.leaves")).unwrap();
    let output = sandbox.xtask(&["annotate", &name, "core::fmt::write"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("has no cpu.leaves"), "{out}");
}

/// `perf annotate --stdio` of one function, its shares in local hits.
fn perf_annotate(data: &std::path::Path, function: &str) -> String {
    let output = std::process::Command::new("perf")
        .args(["annotate", "--stdio", "--stdio-color", "never"])
        .args(["--percent-type", "local-hits", "-i"])
        .arg(data)
        .args(["-s", function])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// An annotation's instructions: `(address, percent)`, in order.
fn shares(annotation: &str) -> Vec<(String, String)> {
    let shares: Vec<(String, String)> = annotation
        .lines()
        .filter_map(|line| {
            let (percent, rest) = line.split_once(" : ")?;
            let percent = percent.trim();
            percent.parse::<f64>().ok()?;
            let address = rest.trim_start().split(':').next()?;
            Some((address.to_string(), percent.to_string()))
        })
        .collect();
    assert!(shares.iter().any(|(_, p)| p != "0.00"), "{annotation}");
    shares
}
