//! The interactive viewer (`cargo xtask view`) and the speedscope export of a
//! real demo profile: written with the result, refreshed by `view`, opened
//! only where someone can see it, and read by headless Chromium from
//! `file://` with the network off.

use crate::common::{has_tool, text, Sandbox};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| which::which(name).ok())
}

/// Headless Chromium with every request outside the page sent to a closed
/// port: the page must work with no network. Its output goes to files (a
/// large DOM would fill a pipe nobody reads while we wait); returns stdout.
fn headless(chromium: &Path, profile: &Path, args: &[&str]) -> String {
    let out = profile.with_extension("stdout");
    let err = profile.with_extension("stderr");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    std::fs::read_to_string(&out).unwrap()
}

/// What a probe script appended to the page wrote into `data-probe`.
pub(crate) fn probe(chromium: &Path, profile: &Path, page: &Path, script: &str) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let copy = page.with_file_name("probe.html");
    std::fs::write(
        &copy,
        html.replace("</body>", &format!("<script>{script}</script></body>")),
    )
    .unwrap();
    let url = format!("file://{}", copy.display());
    let dom = headless(chromium, profile, &["--dump-dom", &url]);
    let start = dom
        .find("data-probe=\"")
        .unwrap_or_else(|| panic!("the probe did not run: {dom}"))
        + "data-probe=\"".len();
    let json = dom[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    serde_json::from_str(&json).unwrap()
}

const PROBE: &str = r#"
const $ = (id) => document.getElementById(id);
const names = (sel) => [...document.querySelectorAll(sel)].map(e => e.textContent);
const out = { flame: names('#flame .frame'), options: names('#profile option') };
$('search').value = 'generate';
$('search').dispatchEvent(new Event('input'));
out.match = $('match').textContent;
out.highlighted = names('#flame .frame.match');
document.querySelector('[data-view=table-view]').click();
out.rows = names('#functions tbody td.fn');
document.querySelectorAll('#functions th')[3].click();
out.totals = [...document.querySelectorAll('#functions tbody tr')].map(r => Number(r.cells[3].textContent.replace(/,/g, '')));
$('search').value = '';
$('search').dispatchEvent(new Event('input'));
document.querySelectorAll('#functions th')[0].click();
out.by_name = names('#functions tbody td.fn');
const row = [...document.querySelectorAll('#functions tbody tr')].find(r => r.cells[0].textContent === 'cdr_demo::generate::format_rows');
row.click();
out.sandwich = $('sandwich-title').textContent;
out.callers = names('#callers .frame');
out.callees = names('#callees .frame');
out.sandwich_shown = !$('sandwich-view').hidden;
$('profile').value = '1';
$('profile').dispatchEvent(new Event('change'));
out.second = $('summary').textContent;
document.body.setAttribute('data-probe', JSON.stringify(out));
"#;

pub(crate) fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The folded file's stacks with their summed weights.
fn folded(path: &Path) -> HashMap<String, u64> {
    let mut stacks = HashMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let (stack, weight) = line.rsplit_once(' ').unwrap();
        *stacks.entry(stack.to_string()).or_default() += weight.parse::<u64>().unwrap();
    }
    stacks
}

/// speedscope's structure: frame indices in range, a weight per sample, and
/// each profile's stacks exactly the folded file's.
fn check_speedscope(doc: &Value, dir: &Path) {
    assert_eq!(
        doc["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let frames = doc["shared"]["frames"].as_array().unwrap();
    let profiles = doc["profiles"].as_array().unwrap();
    assert_eq!(
        profiles.len(),
        2,
        "CPU and off-CPU: {:?}",
        profiles.iter().map(|p| &p["name"]).collect::<Vec<_>>()
    );
    for (profile, file) in profiles.iter().zip(["cpu.folded", "offcpu.folded"]) {
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
                    frames[i.as_u64().unwrap() as usize]["name"]
                        .as_str()
                        .unwrap()
                })
                .collect();
            *stacks.entry(names.join(";")).or_default() += weight.as_u64().unwrap();
        }
        let expected = folded(&dir.join(file));
        assert_eq!(stacks, expected, "{file}");
        assert_eq!(
            profile["endValue"].as_u64().unwrap(),
            expected.values().sum::<u64>()
        );
    }
}

#[test]
fn the_viewer_of_a_demo_profile_works_offline_in_chromium() {
    if !has_tool("perf") {
        eprintln!("skipped: no perf");
        return;
    }
    let sandbox = Sandbox::new("viewer", "");
    let output = sandbox.xtask(&["flamegraph", "--subs", "3000", "--off-cpu"]);
    assert!(output.status.success(), "{}", text(&output));
    let dir = sandbox.results()[0].clone();
    let page = dir.join("viewer.html");
    // Written with the result, and linked from its README.
    assert!(page.is_file(), "{}", text(&output));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("](viewer.html)"), "{readme}");

    // `view` rewrites it and prints only its path: no display, nothing opens
    // (the browser would leave a marker).
    std::fs::remove_file(&page).unwrap();
    let marker = dir.join("opened");
    let browser = format!("/usr/bin/touch {}", marker.display());
    let output = sandbox
        .command(&["view"])
        .env("BROWSER", &browser)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\n", page.display())
    );
    assert!(page.is_file());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "a browser was started with no display");

    // At a terminal with a display, $BROWSER is started and not waited for.
    if has_tool("script") {
        // A browser that stays up: `view` must return long before it ends.
        let slow_browser = dir.join("slow-browser");
        std::fs::write(
            &slow_browser,
            format!("#!/bin/sh\ntouch '{}'\nexec sleep 8\n", marker.display()),
        )
        .unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&slow_browser, executable).unwrap();
        let command = sandbox.command(&["view"]);
        let mut line = vec![command.get_program().to_string_lossy().to_string()];
        line.extend(command.get_args().map(|a| a.to_string_lossy().to_string()));
        let started = Instant::now();
        let output = Command::new("script")
            .args(["-qec", &line.join(" "), "/dev/null"])
            .current_dir(crate::common::workspace())
            .env("BROWSER", &slow_browser)
            .env("DISPLAY", ":99")
            .env("CI", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "view waited for the browser"
        );
        let start = Instant::now();
        while !marker.exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            marker.exists(),
            "$BROWSER was not started: {}",
            text(&output)
        );
    }

    // speedscope: one sampled profile per folded file, the same stacks.
    let export = dir.join("profile.speedscope.json");
    let output = sandbox.xtask(&[
        "export",
        "--format",
        "speedscope",
        "-o",
        export.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    check_speedscope(&doc, &dir);

    let Some(chromium) = chromium() else {
        eprintln!("note: chromium is not installed; skipping the browser check of viewer.html");
        return;
    };
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing to fetch"
    );
    let profile = dir.join("chromium-profile");
    let seen = probe(&chromium, &profile, &page, PROBE);
    let flame = strings(&seen["flame"]);
    for name in [
        "cdr_demo::generate::format_rows",
        "cdr_demo::generate::simulate_subscriber",
    ] {
        assert!(
            flame.contains(&name),
            "{name} is text in the flame graph: {seen}"
        );
    }
    assert!(
        strings(&seen["options"])[1].starts_with("off-CPU"),
        "{seen}"
    );
    // The search highlights every frame naming `generate` and says their share.
    let highlighted = strings(&seen["highlighted"]);
    assert!(
        !highlighted.is_empty()
            && highlighted
                .iter()
                .all(|n| n.to_lowercase().contains("generate")),
        "{seen}"
    );
    let said = seen["match"].as_str().unwrap();
    assert!(
        said.contains("functions match") && said.contains('%'),
        "{said}"
    );
    let rows = strings(&seen["rows"]);
    assert!(
        !rows.is_empty() && rows.iter().all(|n| n.to_lowercase().contains("generate")),
        "the table shows the matches: {seen}"
    );
    let totals: Vec<u64> = seen["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        totals.windows(2).all(|w| w[0] >= w[1]),
        "sorted by total: {totals:?}"
    );
    let by_name = strings(&seen["by_name"]);
    assert!(by_name.len() > rows.len(), "{seen}");
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted, "sorted by name");
    assert!(seen["sandwich_shown"].as_bool().unwrap(), "{seen}");
    assert!(
        seen["sandwich"]
            .as_str()
            .unwrap()
            .starts_with("cdr_demo::generate::format_rows"),
        "{seen}"
    );
    let callers = strings(&seen["callers"]);
    assert!(
        callers.contains(&"cdr_demo::generate::generate_chunk"),
        "its caller: {seen}"
    );
    assert!(!strings(&seen["callees"]).is_empty(), "{seen}");
    assert!(
        seen["second"].as_str().unwrap().contains("off-CPU"),
        "{seen}"
    );

    let shot = dir.join("viewer.png");
    headless(
        &chromium,
        &profile,
        &[
            "--window-size=1400,900",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "a drawn flame graph ({} bytes)",
        png.len()
    );
    if let Ok(keep) = std::env::var("VIEWER_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// A memory result's viewer: the heap profile's allocating functions are
/// text in the flame graph, and the profile is named as bytes at peak.
#[test]
fn the_viewer_of_a_memory_profile_names_the_allocating_functions_in_chromium() {
    if !has_tool("heaptrack") {
        eprintln!("skipped: no heaptrack");
        return;
    }
    let sandbox = Sandbox::new("viewer-memory", "");
    let output = sandbox.xtask(&["memory", "--tool", "heaptrack", "--subs", "3000"]);
    assert!(output.status.success(), "{}", text(&output));
    let dir = sandbox.results()[0].clone();
    let page = dir.join("viewer.html");
    assert!(page.is_file(), "{}", text(&output));
    let Some(chromium) = chromium() else {
        eprintln!("note: chromium is not installed; skipping the browser check of viewer.html");
        return;
    };
    let script = r#"
const names = (sel) => [...document.querySelectorAll(sel)].map(e => e.textContent);
document.body.setAttribute('data-probe', JSON.stringify({
  flame: names('#flame .frame'),
  options: names('#profile option'),
  summary: document.getElementById('summary').textContent,
}));
"#;
    let seen = probe(&chromium, &dir.join("chromium-profile"), &page, script);
    let options = strings(&seen["options"]);
    assert!(
        options.iter().any(|o| o.contains("heap allocations")),
        "{seen}"
    );
    let flame = strings(&seen["flame"]);
    assert!(
        flame.iter().any(|n| n.starts_with("cdr_demo::generate::")),
        "the demo's allocating functions are text in the flame graph: {seen}"
    );
    assert!(
        seen["summary"].as_str().unwrap().contains("bytes"),
        "{seen}"
    );
}
