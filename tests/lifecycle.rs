//! End-to-end tests of the result lifecycle tasks through the real binary:
//! pin/unpin/list, trends (text, CSV, SVG), export, cleanup and the results
//! page (rendered in headless Chromium when it is installed).
//!
//! Every test uses its own results directory under the system temp dir,
//! through a copy of profiling.toml whose `results_dir` points there.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A temp directory with a config and its results directory; removed on drop.
struct Setup {
    config: PathBuf,
    temp: PathBuf,
    results: PathBuf,
    /// Where the xtask runs: the workspace when a test builds and runs the
    /// demo workload (a config outside any Cargo project belongs to the
    /// project of the current directory), else the temp directory.
    cwd: PathBuf,
}

impl Setup {
    fn new(tag: &str, in_workspace: bool) -> Setup {
        let temp =
            std::env::temp_dir().join(format!("xtask-lifecycle-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&temp);
        let results = temp.join("results");
        std::fs::create_dir_all(&results).unwrap();
        let text = std::fs::read_to_string(workspace_root().join("profiling.toml")).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("results_dir"))
            .expect("profiling.toml sets results_dir");
        let text = text.replace(
            line,
            &format!("results_dir = {:?}", results.display().to_string()),
        );
        let config = temp.join("profiling.toml");
        std::fs::write(&config, text).unwrap();
        let cwd = if in_workspace {
            workspace_root()
        } else {
            temp.clone()
        };
        Setup {
            config,
            temp,
            results,
            cwd,
        }
    }

    fn xtask(&self, args: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(&self.cwd)
            .env("CI", "true")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        eprintln!(
            "$ xtask {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs a task that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.xtask(args);
        assert!(
            output.status.success(),
            "xtask {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.temp);
    }
}

/// The result directories (`<stamp>-<label>`), oldest first.
fn result_dirs(results: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<(String, PathBuf)> = std::fs::read_dir(results)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.join("run.json").is_file()
                && !std::fs::symlink_metadata(p)
                    .unwrap()
                    .file_type()
                    .is_symlink()
        })
        .map(|p| {
            let run: Value =
                serde_json::from_str(&std::fs::read_to_string(p.join("run.json")).unwrap())
                    .unwrap();
            (
                format!(
                    "{}{}",
                    run["created"].as_str().unwrap(),
                    p.file_name().unwrap().to_string_lossy()
                ),
                p,
            )
        })
        .collect();
    dirs.sort();
    dirs.into_iter().map(|(_, p)| p).collect()
}

fn run_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

fn name_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// Splits CSV (as the xtask writes it: quoted fields only when needed).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (false, '"') => quoted = true,
                (false, ',') => fields.push(std::mem::take(&mut field)),
                (_, c) => field.push(c),
            }
        }
        fields.push(field.trim_end_matches('\r').to_string());
        rows.push(fields);
    }
    rows
}

#[test]
fn baselines_then_pins_trends_exports_report_and_cleanup() {
    let setup = Setup::new("e2e", true);
    for label in ["e2e-a", "e2e-b", "e2e-c"] {
        setup.ok(&[
            "profile-baseline",
            "--no-profile",
            "--runs",
            "3",
            "--subs",
            "2000",
            "--label",
            label,
        ]);
    }
    let dirs = result_dirs(&setup.results);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    let runs: Vec<Value> = dirs.iter().map(|d| run_json(d)).collect();
    let names: Vec<String> = dirs.iter().map(|d| name_of(d)).collect();

    // Pins: a stable name, accepted wherever a result is named.
    setup.ok(&["pin", "release-1.2", "previous"]);
    let listed = setup.ok(&["list"]);
    let pinned_line = listed.lines().find(|l| l.contains(&names[1])).unwrap();
    assert!(
        pinned_line.contains("release-1.2") && pinned_line.contains("complete"),
        "{listed}"
    );
    assert_eq!(
        listed.lines().filter(|l| l.contains("complete")).count(),
        3,
        "{listed}"
    );
    let pins: Value =
        serde_json::from_str(&std::fs::read_to_string(setup.results.join("pins.json")).unwrap())
            .unwrap();
    assert_eq!(pins["schema_version"], 1);
    assert_eq!(pins["pins"]["release-1.2"]["dir"], names[1]);
    let csv = setup.ok(&["export", "release-1.2", "--format", "csv"]);
    let rows = parse_csv(&csv);
    let wall = rows.iter().find(|r| r[1] == "wall_s").unwrap();
    assert_eq!(
        wall[3].parse::<f64>().unwrap(),
        runs[1]["scales"][0]["summaries"]["wall_s"]["summary"]["median"]
            .as_f64()
            .unwrap()
    );
    let failed = setup.xtask(&["pin", "latest", "latest"]);
    assert!(!failed.status.success());

    // Trends: text, CSV and plot, checked against the run.json files.
    let csv_path = setup.temp.join("trends.csv");
    let svg_path = setup.temp.join("trends.svg");
    let text = setup.ok(&[
        "trends",
        "--export-csv",
        csv_path.to_str().unwrap(),
        "--plot",
        svg_path.to_str().unwrap(),
    ]);
    let median = |i: usize, m: &str| {
        runs[i]["scales"][0]["summaries"][m]["summary"]["median"]
            .as_f64()
            .unwrap()
    };
    let wall_block: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("wall_s"))
        .take(5)
        .collect();
    let last = wall_block.iter().find(|l| l.contains(&names[2])).unwrap();
    let vs_first = (median(2, "wall_s") - median(0, "wall_s")) / median(0, "wall_s") * 100.0;
    let vs_previous = (median(2, "wall_s") - median(1, "wall_s")) / median(1, "wall_s") * 100.0;
    assert!(
        last.contains(&format!("{vs_previous:+.1} %"))
            && last.ends_with(&format!("{vs_first:+.1} %")),
        "{last}"
    );
    let rows = parse_csv(&std::fs::read_to_string(&csv_path).unwrap());
    assert_eq!(
        rows[0],
        [
            "created", "dir", "label", "workload", "scale", "commit", "measure", "unit", "median",
            "mean", "stddev", "min", "max", "n", "params", "machine"
        ]
    );
    let measures = runs[0]["scales"][0]["summaries"].as_object().unwrap().len();
    assert!(measures >= 5, "wall, user, sys, rss and the demo's metrics");
    assert_eq!(rows.len() - 1, 3 * measures);
    for row in &rows[1..] {
        let i = names.iter().position(|n| *n == row[1]).unwrap();
        let m = &runs[i]["scales"][0]["summaries"][&row[6]];
        assert_eq!(row[0], runs[i]["created"].as_str().unwrap());
        assert_eq!(row[2], runs[i]["label"].as_str().unwrap());
        assert_eq!(row[7], m["unit"].as_str().unwrap());
        for (column, key) in [
            (8, "median"),
            (9, "mean"),
            (10, "stddev"),
            (11, "min"),
            (12, "max"),
        ] {
            assert_eq!(
                row[column].parse::<f64>().unwrap(),
                m["summary"][key].as_f64().unwrap(),
                "{} {key}",
                row[6]
            );
        }
        assert_eq!(row[13], m["summary"]["n"].to_string());
        assert!(row[15].contains("cores"), "the machine class: {row:?}");
    }
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(svg.matches("<svg class=\"chart\"").count(), measures);
    for i in 0..3 {
        assert!(svg.contains(&format!("data-median=\"{}\"", median(i, "wall_s"))));
    }

    // Exports.
    let bmf: Value =
        serde_json::from_str(&setup.ok(&["export", "latest", "--format", "bmf"])).unwrap();
    let latency = &bmf["demo"]["latency"];
    assert!((latency["value"].as_f64().unwrap() - median(2, "wall_s") * 1e9).abs() < 1e-3);
    assert!(bmf["demo"]["throughput"]["value"].as_f64().unwrap() == median(2, "records_per_sec"));
    let markdown = setup.ok(&["export", "e2e-a", "--format", "markdown"]);
    assert!(
        markdown.contains("| measure | median |") && markdown.contains("e2e-a"),
        "{markdown}"
    );
    let no_profile = setup.xtask(&[
        "export",
        "latest",
        "--format",
        "pprof",
        "-o",
        setup.temp.join("x.pb.gz").to_str().unwrap(),
    ]);
    assert!(!no_profile.status.success());
    assert!(String::from_utf8_lossy(&no_profile.stderr).contains("has no CPU profile"));
    // --scale picks pprof's profile; it is refused, not ignored, elsewhere.
    let scale_on_csv = setup.xtask(&["export", "latest", "--format", "csv", "--scale", "1K"]);
    assert_eq!(scale_on_csv.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&scale_on_csv.stderr).contains("--scale chooses the CPU profile")
    );

    // The page.
    setup.ok(&["report"]);
    let html = std::fs::read_to_string(setup.results.join("index.html")).unwrap();
    for name in &names {
        assert!(
            html.contains(&format!("href=\"{name}/README.md\"")),
            "{name}"
        );
    }

    // Cleanup: keep 1 → the newest and the pinned one stay, plus foreign things.
    std::fs::create_dir_all(setup.results.join("my-notes")).unwrap();
    let dry = setup.ok(&["cleanup", "--keep", "1", "--dry-run"]);
    assert!(dry.contains(&format!("would remove {}", names[0])), "{dry}");
    assert_eq!(
        result_dirs(&setup.results).len(),
        3,
        "a dry run removes nothing"
    );
    let done = setup.ok(&["cleanup", "--keep", "1"]);
    assert!(done.contains("removed 1 directory"), "{done}");
    assert!(
        done.contains("my-notes") && done.contains("not made by this tool"),
        "{done}"
    );
    let left: Vec<String> = result_dirs(&setup.results)
        .iter()
        .map(|d| name_of(d))
        .collect();
    assert_eq!(left, vec![names[1].clone(), names[2].clone()]);
    assert!(setup.results.join("my-notes").is_dir());

    setup.ok(&["unpin", "release-1.2"]);
    assert!(!setup.ok(&["list"]).contains("release-1.2"));
    assert!(!setup.xtask(&["unpin", "release-1.2"]).status.success());
}

/// A run.json for a synthetic result with the given wall times.
fn synthetic_run(label: &str, created: &str, wall: &[f64]) -> Value {
    let mut sorted = wall.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let stddev = if n > 1 {
        (sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    json!({
        "schema_version": 1, "task": "profile-baseline", "label": label, "created": created,
        "workload": "demo", "build_profile": "profiling",
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": false, "branch": "main"},
        "scales": [{
            "scale": "default", "params": {"subs": "2000"}, "argv": ["cdr-demo"], "env": {}, "cwd": "/", "warmup": 0, "runs": [],
            "summaries": {"wall_s": {"unit": "s", "better": "lower", "samples": wall,
                "summary": {"n": n, "mean": mean, "median": median, "stddev": stddev, "min": sorted[0], "max": sorted[n - 1], "cv": stddev / mean}}}
        }]
    })
}

fn write_result(results: &Path, name: &str, run: &Value) -> PathBuf {
    let dir = results.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_string_pretty(run).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), format!("# {name}\n")).unwrap();
    dir
}

#[test]
fn cleanup_through_the_cli_spares_pins_foreign_entries_and_symlink_targets() {
    let setup = Setup::new("cleanup", false);
    let results = &setup.results;
    for day in 1..=4 {
        write_result(
            results,
            &format!("2026010{day}-000000-r{day}"),
            &synthetic_run(
                &format!("r{day}"),
                &format!("2026-01-0{day}T00:00:00Z"),
                &[0.1, 0.2],
            ),
        );
    }
    setup.ok(&["pin", "keep-me", "r1"]);
    // Outside the results directory, reached through symlinks: never touched.
    let outside = setup.temp.join("outside");
    write_result(
        &outside,
        "20200101-000000-old",
        &synthetic_run("old", "2020-01-01T00:00:00Z", &[1.0]),
    );
    std::os::unix::fs::symlink(
        outside.join("20200101-000000-old"),
        results.join("20200101-000000-old"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        &outside,
        results.join("20260102-000000-r2").join("link-out"),
    )
    .unwrap();
    std::fs::write(results.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir_all(results.join("compare-foreign")).unwrap();
    // An interrupted run of a process that no longer exists.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = results.join(format!(".tmp-20260105-000000-x-{dead}"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("partial"), vec![0u8; 4096]).unwrap();

    let before = std::fs::read_dir(results).unwrap().count();
    let dry = setup.ok(&["cleanup", "--keep", "1", "--dry-run"]);
    assert_eq!(
        std::fs::read_dir(results).unwrap().count(),
        before,
        "--dry-run deletes nothing"
    );
    assert!(dry.contains("would remove 3 directories"), "{dry}");

    let out = setup.ok(&["cleanup", "--keep", "1"]);
    assert!(out.contains("removed 3 directories"), "{out}");
    assert!(out.contains("freed"), "{out}");
    for gone in ["20260102-000000-r2", "20260103-000000-r3"] {
        assert!(!results.join(gone).exists(), "{gone}");
    }
    assert!(!stale.exists());
    for kept in [
        "20260101-000000-r1",
        "20260104-000000-r4",
        "notes.txt",
        "compare-foreign",
        "pins.json",
    ] {
        assert!(results.join(kept).exists(), "{kept}");
    }
    assert!(
        std::fs::symlink_metadata(results.join("20200101-000000-old"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        outside
            .join("20200101-000000-old")
            .join("run.json")
            .is_file(),
        "the symlink's target is untouched"
    );
    assert!(out.contains("symlink: never followed"), "{out}");
    assert!(out.contains("pinned as keep-me"), "{out}");
    // Pinned names resolve for every task (profile-compare included, through Store::resolve).
    assert!(setup
        .ok(&["export", "keep-me", "--format", "csv"])
        .contains("wall_s"));
}

/// Waits for a child up to `limit`, killing it (by its own pid) if it hangs.
fn wait_with_limit(mut child: std::process::Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "chromium did not finish in {limit:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| which::which(name).ok())
}

fn headless(chromium: &Path, profile: &Path, args: &[&str]) -> Output {
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_with_limit(child, Duration::from_secs(90))
}

#[test]
fn the_results_page_renders_in_headless_chromium_with_its_charts_and_links() {
    let Some(chromium) = chromium() else {
        eprintln!("note: chromium is not installed (apt-get install chromium); skipping the browser check of results/index.html");
        return;
    };
    let setup = Setup::new("page", false);
    let results = &setup.results;
    let walls: [&[f64]; 3] = [
        &[0.10, 0.12, 0.11],
        &[0.21, 0.25, 0.22],
        &[0.15, 0.14, 0.16],
    ];
    for (i, wall) in walls.iter().enumerate() {
        let name = format!("2026010{}-000000-r{i}", i + 1);
        let dir = write_result(
            results,
            &name,
            &synthetic_run(
                &format!("r{i}"),
                &format!("2026-01-0{}T00:00:00Z", i + 1),
                wall,
            ),
        );
        std::fs::write(
            dir.join("flamegraph.svg"),
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        )
        .unwrap();
    }
    // r0's flamegraph with the samples its profile counted.
    let r0 = results.join("20260101-000000-r0").join("run.json");
    let mut run: Value = serde_json::from_str(&std::fs::read_to_string(&r0).unwrap()).unwrap();
    run["scales"][0]["cpu_profile"] = json!({
        "tool": "perf", "frequency": 99, "call_graph": "dwarf", "symbolizer": "inline",
        "record": {"samples": 1288, "data_mb": 0.5, "warnings": []}, "folded_samples": 1288,
        "argv": [], "files": ["flamegraph.svg"], "notes": []
    });
    std::fs::write(&r0, serde_json::to_string(&run).unwrap()).unwrap();
    // A result at three scales, a decade or more apart.
    let mut scaled = synthetic_run("scaled", "2025-12-01T00:00:00Z", &[0.01, 0.012, 0.011]);
    let one = scaled["scales"][0].clone();
    scaled["scales"] = ["1K", "100K", "10M"]
        .iter()
        .zip([1_000, 100_000, 10_000_000])
        .map(|(name, subs)| {
            let mut scale = one.clone();
            scale["scale"] = json!(name);
            scale["params"]["subs"] = json!(subs.to_string());
            let median = subs as f64 / 1e5;
            let summary = &mut scale["summaries"]["wall_s"]["summary"];
            summary["median"] = json!(median);
            summary["min"] = json!(median * 0.9);
            summary["max"] = json!(median * 1.1);
            scale
        })
        .collect();
    write_result(results, "20251201-000000-scaled", &scaled);
    std::fs::create_dir_all(results.join("compare-r0-r2")).unwrap();
    std::fs::write(
        results.join("compare-r0-r2").join("compare.json"),
        json!({
            "a": {"name": "20260101-000000-r0", "label": "r0"},
            "b": {"name": "20260103-000000-r2", "label": "r2"},
            "gate": {"counter": "time", "passed": false, "failures": [{"measure": "wall_s"}], "strict": false},
            "scales": [{"scale": "default", "measures": [{"name": "wall_s", "method": "sampled",
                "verdict": "regressed", "change": 0.4, "ci_low": 0.3, "ci_high": 0.5,
                "gated": true, "gate_failed": true}]}]
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        results.join("compare-r0-r2").join("README.md"),
        "# comparison\n",
    )
    .unwrap();
    setup.ok(&["pin", "v1", "r0"]);
    setup.ok(&["report"]);
    let page = results.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "the page itself has no script");

    // A copy with a probe script that measures what the browser laid out.
    let probe = results.join("probe.html");
    let script = r#"<script>
      const charts = [...document.querySelectorAll('#trends svg.chart')];
      const drawn = charts.filter(c => { const r = c.getBoundingClientRect(); return r.width > 200 && r.height > 100; });
      const points = [...document.querySelectorAll('#trends svg.chart circle')].filter(c => c.getBoundingClientRect().width > 0);
      const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
      const verdicts = [...document.querySelectorAll('table.comparisons .verdict')].map(v => [v.textContent, getComputedStyle(v).color]);
      const scaled = [...document.querySelectorAll('#scales svg.chart')].map(c => ({
        title: c.getAttribute('aria-label'), width: c.getBoundingClientRect().width,
        xs: [...c.querySelectorAll('circle')].map(p => p.getBoundingClientRect().x),
        ticks: [...c.querySelectorAll('text.x-tick')].map(t => t.textContent),
        axis: c.querySelector('text.x-label').textContent }));
      const samples = [...document.querySelectorAll('.samples')].map(s => s.textContent);
      document.body.setAttribute('data-probe', JSON.stringify({charts: charts.length, drawn: drawn.length, points: points.length, links, verdicts, scaled, samples}));
    </script>"#;
    std::fs::write(&probe, html.replace("</body>", &format!("{script}</body>"))).unwrap();
    let profile = setup.temp.join("chromium-profile");
    let url = format!("file://{}", probe.display());
    let output = headless(&chromium, &profile, &["--dump-dom", &url]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("data-probe=\"").expect("the probe ran") + "data-probe=\"".len();
    let probe_json = dom[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&quot;", "\"");
    let probe: Value = serde_json::from_str(&probe_json).unwrap();
    assert_eq!(
        probe["charts"], 4,
        "one trend per measure and scale: wall_s at the default scale and at each of the 3 scales: {probe}"
    );
    assert_eq!(
        probe["drawn"], 4,
        "the charts have a real size on the page: {probe}"
    );
    assert_eq!(probe["points"], 6, "a point per result and scale: {probe}");
    let links: Vec<&str> = probe["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for i in 0..3 {
        let name = format!("2026010{}-000000-r{i}", i + 1);
        assert!(
            links.contains(&format!("{name}/README.md").as_str()),
            "{links:?}"
        );
        assert!(
            links.contains(&format!("{name}/flamegraph.svg").as_str()),
            "{links:?}"
        );
    }
    assert!(links.contains(&"compare-r0-r2/README.md"), "{links:?}");
    // The comparison's gate and verdict, coloured red.
    let red = "rgb(207, 34, 46)";
    assert_eq!(
        probe["verdicts"],
        json!([["gate failed: 1 regressed", red], ["regressed", red]]),
        "{probe}"
    );
    // The multi-scale result: one chart of wall_s across its three scales,
    // spaced by the logarithm of subs (1K → 100K is two decades, 100K → 10M
    // two more), its scales named under the points.
    let scaled = &probe["scaled"];
    assert_eq!(scaled.as_array().unwrap().len(), 1, "{probe}");
    assert_eq!(scaled[0]["title"], "wall_s");
    assert!(scaled[0]["width"].as_f64().unwrap() > 200.0, "{probe}");
    assert_eq!(scaled[0]["ticks"], json!(["1K", "100K", "10M"]), "{probe}");
    assert_eq!(scaled[0]["axis"], "subs (log scale)");
    let xs: Vec<f64> = scaled[0]["xs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(
        ((xs[1] - xs[0]) - (xs[2] - xs[1])).abs() < 1.0 && xs[1] - xs[0] > 50.0,
        "{xs:?}"
    );
    assert!(
        links.contains(&"#scales-20251201-000000-scaled"),
        "{links:?}"
    );
    assert_eq!(probe["samples"], json!(["(1288 samples)"]), "{probe}");
    assert!(
        links.iter().all(|l| !l.starts_with("http")),
        "nothing leaves the page: {links:?}"
    );

    // And a screenshot of the page itself: a real image, not an error page.
    let shot = setup.temp.join("page.png");
    let output = headless(
        &chromium,
        &profile,
        &[
            "--window-size=1400,2000",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    // To look at it: XTASK_PAGE_SCREENSHOT=/tmp/page.png.
    if let Some(keep) = std::env::var_os("XTASK_PAGE_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "a page with tables and a chart is more than a blank image ({} bytes)",
        png.len()
    );
}

#[test]
fn the_pprof_export_is_read_by_go_tool_pprof() {
    let setup = Setup::new("pprof", false);
    let mut run = synthetic_run("prof", "2026-01-01T00:00:00Z", &[0.1, 0.2]);
    run["scales"][0]["cpu_profile"] = json!({
        "tool": "perf 6.1", "frequency": 997, "call_graph": "dwarf", "symbolizer": "addr2line",
        "record": {"samples": 165, "data_mb": 0.5, "warnings": []}, "folded_samples": 165,
        "argv": [], "files": ["cpu.folded"], "notes": []
    });
    let dir = write_result(&setup.results, "20260101-000000-prof", &run);
    std::fs::write(
        dir.join("cpu.folded"),
        "cdr-demo;main;cdr_demo::generate::run;cdr_demo::generate::tariff 120\ncdr-demo;main;cdr_demo::generate::run;std::io::Write::write_all 40\ncdr-demo;main 5\n",
    )
    .unwrap();
    let file = setup.temp.join("cpu.pb.gz");
    setup.ok(&[
        "export",
        "prof",
        "--format",
        "pprof",
        "-o",
        file.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
    let Ok(go) = which::which("go") else {
        eprintln!("note: go is not installed (apt-get install golang-go); skipping the check with go tool pprof");
        return;
    };
    let home = setup.temp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new(go)
        .args(["tool", "pprof", "-raw"])
        .arg(&file)
        .env("HOME", &home)
        .env("GOCACHE", home.join("cache"))
        .env("PPROF_TMPDIR", &home)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("samples/count cpu/nanoseconds"), "{text}");
    assert!(text.contains("cdr_demo::generate::tariff"), "{text}");
    assert!(text.contains("PeriodType: cpu nanoseconds"), "{text}");
    // 120 + 40 + 5 samples: each count appears with its cpu time (count × 1e9/997 ns).
    for count in [120u64, 40, 5] {
        let line = format!("{count:>11} {:>10}:", count * (1_000_000_000 / 997));
        assert!(
            text.lines().any(|l| l.starts_with(&line)),
            "{line:?} in\n{text}"
        );
    }
}

/// A corrupt pins.json (issue 12, D10/D11): list and unpin still work and
/// say what is wrong where; cleanup and export refuse, naming the file's
/// line and column, and cleanup deletes nothing; a pin through a symlink is
/// refused by export and profile-compare instead of read through.
#[test]
fn a_corrupt_pins_file_is_repaired_through_list_and_unpin_while_cleanup_deletes_nothing() {
    let setup = Setup::new("corrupt-pins", false);
    let results = &setup.results;
    for day in 1..=3 {
        write_result(
            results,
            &format!("2026010{day}-000000-r{day}"),
            &synthetic_run(
                &format!("r{day}"),
                &format!("2026-01-0{day}T00:00:00Z"),
                &[0.1, 0.2],
            ),
        );
    }
    let pins_file = results.join("pins.json");
    let shown = pins_file.display().to_string();
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    // Not JSON at all.
    std::fs::write(
        &pins_file,
        "{\n  \"pins\": {\n    \"old\": {\"dir\": \"20260101-000000-r1\",\n",
    )
    .unwrap();
    let listed = setup.ok(&["list"]);
    assert!(listed.contains("20260103-000000-r3"), "{listed}");
    assert!(
        listed.contains(&format!("warning: {shown}:4:1: not valid JSON")),
        "{listed}"
    );
    assert!(listed.contains("help: fix"), "{listed}");
    for args in [
        &["cleanup", "--keep", "1"][..],
        &["export", "r1", "--format", "csv"][..],
        &["profile-compare", "r1", "r2"][..],
        &["unpin", "old"][..],
    ] {
        let output = setup.xtask(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let err = stderr(&output);
        assert!(
            err.contains(&format!("{shown}:4:1: not valid JSON")),
            "{args:?}: {err}"
        );
        assert!(err.contains("delete the file"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(stderr(&setup.xtask(&["cleanup", "--keep", "1"])).contains("cleanup removed nothing"));
    assert_eq!(result_dirs(results).len(), 3, "cleanup deleted nothing");

    // Valid JSON with a bad entry (pointing at /etc) beside a good one.
    std::fs::write(
        &pins_file,
        "{\n  \"schema_version\": 1,\n  \"pins\": {\n    \"keep\": {\"dir\": \"20260101-000000-r1\", \"pinned\": \"2026-01-05T00:00:00Z\"},\n    \"evil\": {\"dir\": \"/etc\", \"pinned\": \"2026-01-05T00:00:00Z\"}\n  }\n}\n",
    )
    .unwrap();
    let listed = setup.ok(&["list"]);
    assert!(
        listed.contains(&format!(
            "warning: {shown}:5:5: pin `evil` points at `/etc`"
        )),
        "{listed}"
    );
    let output = setup.xtask(&["cleanup", "--keep", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains(&format!("{shown}:5:5: pin `evil`")));
    assert_eq!(result_dirs(results).len(), 3, "cleanup deleted nothing");
    let unpinned = setup.ok(&["unpin", "evil"]);
    assert!(unpinned.contains("unpinned evil"), "{unpinned}");
    assert!(!setup.ok(&["list"]).contains("warning"));
    let out = setup.ok(&["cleanup", "--keep", "1"]);
    assert!(out.contains("pinned as keep"), "{out}");
    assert!(
        results.join("20260101-000000-r1").is_dir(),
        "the pinned result stays"
    );

    // A pin whose directory is a symlink to a result outside.
    let outside = setup.temp.join("outside");
    write_result(
        &outside,
        "20200101-000000-far",
        &synthetic_run("far", "2020-01-01T00:00:00Z", &[1.0]),
    );
    std::os::unix::fs::symlink(
        outside.join("20200101-000000-far"),
        results.join("20200101-000000-far"),
    )
    .unwrap();
    std::fs::write(
        &pins_file,
        r#"{"schema_version": 1, "pins": {"far": {"dir": "20200101-000000-far", "pinned": "2026-01-05T00:00:00Z"}}}"#,
    )
    .unwrap();
    for args in [
        &["export", "far", "--format", "csv"][..],
        &["profile-compare", "far", "latest"][..],
    ] {
        let output = setup.xtask(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let err = stderr(&output);
        assert!(
            err.contains("pin `far` points at") && err.contains("never read through links"),
            "{err}"
        );
        assert!(err.contains("cargo xtask unpin far"), "{err}");
    }
    let listed = setup.ok(&["list"]);
    assert!(listed.contains("not read: a symlink to"), "{listed}");
    assert!(
        listed.contains("warning: pin far → 20200101-000000-far (a symlink, never read through"),
        "{listed}"
    );
}

/// A history of twelve results whose wall time steps up about 15 % at the eighth:
/// `trends` marks that result in its table and names it under the table,
/// `--format json` lists it under `change_points`, and the results page
/// draws it in the chart and lists it.
#[test]
fn trends_find_where_a_history_shifted() {
    let setup = Setup::new("shifts", false);
    let mut names = Vec::new();
    for i in 0..12u32 {
        let level = if i < 7 { 1.00 } else { 1.15 };
        let wobble = [0.004, -0.003, 0.002, -0.001, 0.003, -0.004][i as usize % 6];
        let wall: Vec<f64> = [0.0, 0.002, -0.002]
            .iter()
            .map(|d| level + wobble + d)
            .collect();
        let name = format!("202612{:02}-120000-run{i}", i + 1);
        let created = format!("2026-12-{:02}T12:00:00Z", i + 1);
        write_result(
            &setup.results,
            &name,
            &synthetic_run(&format!("run{i}"), &created, &wall),
        );
        names.push(name);
    }
    let text = setup.ok(&["trends", "--metric", "wall_s"]);
    let row = text
        .lines()
        .find(|l| l.contains(&names[7]) && !l.contains("shift at"))
        .unwrap();
    assert!(row.trim_end().ends_with("shift +14.9 %"), "{text}");
    assert!(
        text.contains(&format!(
            "shift at {} (2026-12-08T12:00:00Z): +14.9 %",
            names[7]
        )),
        "{text}"
    );
    assert_eq!(text.matches("shift at").count(), 1, "{text}");

    let json: Value =
        serde_json::from_str(&setup.ok(&["trends", "--metric", "wall_s", "--format", "json"]))
            .unwrap();
    let shifts = json["series"][0]["change_points"].as_array().unwrap();
    assert_eq!(shifts.len(), 1, "{json:#}");
    assert_eq!(shifts[0]["index"], 7);
    assert_eq!(shifts[0]["dir"], names[7].as_str());
    assert!(shifts[0]["p_value"].as_f64().unwrap() <= 0.05);

    setup.ok(&["report"]);
    let page = std::fs::read_to_string(setup.results.join("index.html")).unwrap();
    assert!(page.contains("<g class=\"shift\">"), "no shift drawn");
    assert!(
        page.contains(&format!("+14.9 % from <a href=\"{}/README.md\">", names[7])),
        "no shift listed"
    );
}

/// Outside a git repository a flamegraph's subtitle says so once, instead
/// of "commit no commit".
#[test]
fn a_flamegraph_outside_git_says_no_git_commit() {
    if !Command::new("sh")
        .args(["-c", "command -v perf"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("note: perf is not installed; skipping");
        return;
    }
    let setup = Setup::new("no-git", false);
    let outside = Command::new("git")
        .args(["-C", &setup.temp.display().to_string(), "rev-parse"])
        .output()
        .unwrap();
    assert!(
        !outside.status.success(),
        "the temp dir is inside a repository"
    );
    std::fs::write(
        &setup.config,
        format!(
            "[defaults]\nworkload = \"w\"\nresults_dir = {:?}\n\n[workloads.w]\ncommand = \"sh\"\n\
             args = [\"-c\", \"i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done\"]\n",
            setup.results.display().to_string()
        ),
    )
    .unwrap();
    setup.ok(&["flamegraph"]);
    let dirs = result_dirs(&setup.results);
    let svg = std::fs::read_to_string(dirs[0].join("flamegraph.svg")).unwrap();
    assert!(!svg.contains("commit no commit"), "{svg}");
    assert!(svg.contains("no git commit"), "{svg}");
}

/// A page that does not fit on the disk leaves no `.index.html.PID.tmp`
/// beside it: the failed write's temporary file is removed. Needs a small
/// tmpfs, so root: skipped with a note otherwise.
#[test]
fn a_full_disk_leaves_no_temporary_file_of_the_results_page() {
    let setup = Setup::new("fulldisk", false);
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&setup.results)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here (not root?); skipping");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&setup.results);
    // Fill the disk: the page's first block no longer fits.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k", "count=64"])
        .arg(format!("of={}", setup.results.join("filler").display()))
        .output()
        .unwrap();
    let output = setup.xtask(&["report"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(&setup.results)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "filler")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
