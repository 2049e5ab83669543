//! The checks of loading, through [`Config::parse`](super::Config::parse)
//! and [`Config::check_param_flags`](super::Config::check_param_flags): what
//! is rejected, at which line and column, with which suggestion.

use super::super::test_support::{parse, MINIMAL};
use super::suggest;
use std::collections::BTreeSet;

#[test]
fn unknown_key_names_line_column_and_suggests() {
    let text = "[defaults]\nruns = 3\nwarmups = 2\n".to_string() + MINIMAL;
    let err = parse(&text).unwrap_err();
    assert_eq!(err.position, Some((3, 1)), "{err}");
    assert!(err.message.contains("unknown field `warmups`"), "{err}");
    assert_eq!(err.help.as_deref(), Some("did you mean `warmup`?"));
    assert!(
        err.to_string()
            .starts_with("profiling.toml:3:1: unknown field `warmups`"),
        "{err}"
    );
}

#[test]
fn wrong_type_names_the_place() {
    let text = "[defaults]\nruns = \"five\"\n".to_string() + MINIMAL;
    let err = parse(&text).unwrap_err();
    assert_eq!(err.position, Some((2, 8)), "{err}");
    assert!(
        err.message.contains("invalid type: string \"five\""),
        "{err}"
    );
}

#[test]
fn wrong_enum_value_lists_the_valid_ones() {
    let text = "[defaults]\ncall_graph = \"dwraf\"\n".to_string() + MINIMAL;
    let err = parse(&text).unwrap_err();
    assert_eq!(err.position.map(|p| p.0), Some(2), "{err}");
    assert_eq!(err.help.as_deref(), Some("did you mean `dwarf`?"), "{err}");
}

#[test]
fn undeclared_placeholder_points_at_the_argument() {
    let text = MINIMAL.replace("{subs}", "{sub}");
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.message,
        "placeholder `{sub}` names no declared parameter"
    );
    assert_eq!(err.position, Some((8, 19)), "{err}");
    assert_eq!(err.help.as_deref(), Some("did you mean `subs`?"));
}

#[test]
fn missing_default_workload_is_named() {
    let text = "[defaults]\nworkload = \"dmeo\"\n".to_string() + MINIMAL;
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.message,
        "`defaults.workload` names `dmeo`, which is not declared"
    );
    assert_eq!(err.position, Some((2, 12)));
    assert_eq!(err.help.as_deref(), Some("did you mean `demo`?"));
}

#[test]
fn no_workload_at_all_is_an_error() {
    let err = parse("[params.subs]\ndefault = 1\n").unwrap_err();
    assert_eq!(err.message, "no workload is declared");
}

#[test]
fn workload_needs_exactly_one_target() {
    let text = MINIMAL.replace(
        "cargo_bin = \"cdr-demo\"",
        "cargo_bin = \"a\"\ncommand = \"b\"",
    );
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("exactly one of"), "{err}");
    let text = MINIMAL.replace("cargo_bin = \"cdr-demo\"", "");
    assert!(parse(&text).unwrap_err().message.contains("(none set)"));
}

#[test]
fn scale_with_undeclared_parameter() {
    let text = MINIMAL.to_string() + "\n[[scales]]\nname = \"big\"\nparams = { subz = 5 }\n";
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.message,
        "scale sets parameter `subz`, which is not declared"
    );
    assert_eq!(err.help.as_deref(), Some("did you mean `subs`?"));
}

#[test]
fn server_without_load_is_rejected() {
    let text = MINIMAL.to_string() + "ready = { line = \"listening\" }\n";
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("has `ready` but no `load`"), "{err}");
}

#[test]
fn numbers_that_would_break_a_run_are_rejected() {
    for (extra, expected) in [
        (
            "timeout = -1\n",
            "workload `demo`: `timeout` must be a positive number",
        ),
        ("timeout = 1e18\n", "at most 1e9"),
        (
            "profile_time = 0\n",
            "`profile_time` must be a positive number",
        ),
    ] {
        let text = MINIMAL.to_string() + extra;
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains(expected), "{extra}: {err}");
    }
    let text = "[defaults]\ntimeout = -5.0\n".to_string() + MINIMAL;
    assert!(parse(&text)
        .unwrap_err()
        .message
        .contains("`defaults.timeout` must be a positive number of seconds, not -5"));
    let text = "[thresholds]\ntime = -3.0\n".to_string() + MINIMAL;
    assert!(parse(&text)
        .unwrap_err()
        .message
        .contains("`thresholds.time` must be a percentage"));
}

#[test]
fn metrics_may_not_shadow_built_in_measures_or_repeat() {
    for name in ["wall_s", "rps"] {
        let text = MINIMAL.to_string()
            + "\n[[workloads.demo.metrics]]\nname = \"rps\"\npattern = \"rps={}\"\n"
            + &format!("\n[[workloads.demo.metrics]]\nname = \"{name}\"\npattern = \"x={{}}\"\n");
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("declared twice") || err.message.contains("shadows a measure"),
            "{name}: {err}"
        );
    }
}

#[test]
fn scales_name_directories_and_their_values_are_typed() {
    let text =
        MINIMAL.to_string() + "\n[[scales]]\nname = \"../../escape\"\nparams = { subs = 5 }\n";
    assert!(parse(&text)
        .unwrap_err()
        .message
        .contains("cannot name a directory"));
    let text = MINIMAL.to_string() + "\n[[scales]]\nname = \"big\"\nparams = { subs = \"many\" }\n";
    let err = parse(&text).unwrap_err();
    assert!(
        err.message
            .contains("sets `subs` to `many`, but the parameter is integer"),
        "{err}"
    );
    assert_eq!(err.position.map(|p| p.0), Some(12), "{err}");
}

#[test]
fn placeholders_are_checked_in_cwd_filter_and_ready_line() {
    let text = MINIMAL.to_string() + "cwd = \"{nope}\"\n";
    assert!(parse(&text).unwrap_err().message.contains("`{nope}`"));
    let text = MINIMAL.to_string() + "filter = \"{nope}\"\n";
    assert!(parse(&text).unwrap_err().message.contains("`{nope}`"));
    let text = MINIMAL.to_string()
        + "ready = { line = \"listening {nope}\" }\n[workloads.demo.load]\ncommand = \"true\"\n";
    assert!(parse(&text).unwrap_err().message.contains("`{nope}`"));
}

#[test]
fn parameter_may_not_shadow_a_task_flag() {
    let text = MINIMAL.to_string() + "\n[params.runs]\ndefault = 3\n";
    // The task flags come from the command line's definition, one layer up.
    let reserved = BTreeSet::from(["label".to_string(), "runs".to_string()]);
    let err = parse(&text)
        .unwrap()
        .check_param_flags(&reserved)
        .unwrap_err();
    assert!(
        err.message.contains("clash with the task flag `--runs`"),
        "{err}"
    );
    assert_eq!(err.position, Some((10, 9)), "{err}");
    assert_eq!(err.help.as_deref(), Some("rename the parameter"));
}

#[test]
fn parameter_may_not_shadow_a_global_flag_even_before_the_tasks_are_known() {
    for name in ["help", "verbose", "config", "version"] {
        let text = MINIMAL.to_string() + &format!("\n[params.{name}]\ndefault = 3\n");
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "profiling.toml:10:9: parameter `{name}` would clash with the task flag `--{name}`\n  help: rename the parameter"
            )
        );
    }
}

#[test]
fn suggestions_take_the_closest_candidate_within_reach() {
    let flags = ["runs", "warmup", "frequency", "call_graph"];
    assert_eq!(
        suggest("warmups", &flags).as_deref(),
        Some("did you mean `warmup`?")
    );
    assert_eq!(
        suggest("frequnecy", &flags).as_deref(),
        Some("did you mean `frequency`?")
    );
    // Within 2 edits, or a third of the candidate's length when longer.
    assert_eq!(suggest("xyz", &["abc"]), None);
    assert_eq!(suggest("", &["ab"]).as_deref(), Some("did you mean `ab`?"));
    assert_eq!(suggest("xxxx-graph", &["call-graph"]).as_deref(), None);
    assert_eq!(
        suggest("cxxx-graph", &["call-graph"]).as_deref(),
        Some("did you mean `call-graph`?")
    );
    // Edits count characters, not bytes; ties go to the first in order.
    assert_eq!(
        suggest("café", &["cafe"]).as_deref(),
        Some("did you mean `cafe`?")
    );
    assert_eq!(
        suggest("ab", &["ad", "ac"]).as_deref(),
        Some("did you mean `ac`?")
    );
}

#[test]
fn perf_events_of_every_form_perf_takes_load() {
    let events = [
        "page-faults",
        "cache-misses",
        "L1-dcache-load-misses",
        "sched:sched_switch",
        "cycles:u",
        "r003c",
        "cpu/event=0x3c,umask=0x0/",
        "cpu/cycles/u",
        "mem:0x1000:rw",
    ];
    let list = events.map(|e| format!("\"{e}\"")).join(", ");
    let config = parse(&format!("[defaults]\nevents = [{list}]\n{MINIMAL}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.defaults.events, events);
}

/// The bytes of a file that is not UTF-8: its name, the line and column of
/// the first bad byte, the byte and what is allowed.
#[test]
fn invalid_utf8_is_located_in_the_file() {
    let dir = std::env::temp_dir().join(format!("xtask-config-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profiling.toml");
    let mut bytes = b"[defaults]\n# caf\xc3\xa9 ok\nworkload = \"d".to_vec();
    bytes.extend(b"\xffemo\"\n");
    bytes.extend(MINIMAL.as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = super::super::Config::load(&path).unwrap_err();
    assert_eq!(err.position, Some((3, 14)), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:14: the file is not valid UTF-8: byte 0xFF (offset 35) cannot stand here\n  help: allowed: UTF-8 text only, as TOML requires: save the file as UTF-8",
            path.display()
        )
    );
    // The first byte of the file too.
    std::fs::write(&path, b"\xfe[defaults]\n").unwrap();
    let err = super::super::Config::load(&path).unwrap_err();
    assert_eq!(err.position, Some((1, 1)), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `latest` and `previous` name results wherever one is named: a label
/// (and so a pin name) may not take them.
#[test]
fn reserved_result_names_are_not_labels() {
    use super::{parse_label, validate_label};
    for reserved in ["latest", "previous"] {
        let err = validate_label(reserved).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("`{reserved}` cannot be a label: `latest` and `previous` are reserved, they name the newest result and the one before; choose another label")
        );
        assert_eq!(parse_label(reserved).unwrap_err(), err);
    }
    for good in ["latest-1", "previous_run", "Latest2", "baseline"] {
        assert_eq!(parse_label(good).as_deref(), Ok(good));
    }
    assert!(parse_label("a/b").unwrap_err().contains("invalid label"));
}
