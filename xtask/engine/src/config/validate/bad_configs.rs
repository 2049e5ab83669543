//! The bad-config campaign, kept as a table: every way a new user was found
//! to get `profiling.toml` wrong, each with where the error must point, what
//! it must say and the hint it must give. `»` in a case's text marks the
//! expected position (it is removed before parsing), so the expected line
//! and column come from the text itself, not from the parser under test.

use super::super::test_support::parse;
use std::collections::BTreeSet;

/// The smallest config that loads; cases add to it, before (`top`) or after
/// (`demo`: inside `[workloads.demo]`, the last table).
const BASE: &str = "[params.subs]\ndefault = 100\nhelp = \"subscribers\"\n\n[workloads.demo]\ncargo_bin = \"cdr-demo\"\nargs = [\"--subs\", \"{subs}\"]\n";

fn top(extra: &str) -> String {
    format!("{extra}\n{BASE}")
}

fn demo(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// A server workload that loads; `ready` and `load` are the case's.
fn server(ready: &str, load: &str) -> String {
    format!("{BASE}\n[params.port]\ndefault = 7878\n\n[workloads.srv]\ncommand = \"true\"\n{ready}\n[workloads.srv.load]\ncommand = \"true\"\n{load}")
}

struct Case {
    text: String,
    /// What the message must contain.
    message: &'static str,
    /// What the help line must contain (None: the case has no hint).
    help: Option<&'static str>,
}

fn case(text: impl Into<String>, message: &'static str, help: Option<&'static str>) -> Case {
    Case {
        text: text.into(),
        message,
        help,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Syntax and types, reported by the TOML reader.
        case(top("[defaults]\n»warmups = 2"), "unknown field `warmups`", Some("did you mean `warmup`?")),
        case(top("[»default]\nruns = 3"), "unknown field `default`", Some("did you mean `defaults`?")),
        case(top("[thresholds]\n»tme = 3.0"), "unknown field `tme`", Some("did you mean `time`?")),
        case(demo("»arg = [\"x\"]\n"), "unknown field `arg`", Some("did you mean `args`?")),
        case(demo("»timout = 5\n"), "unknown field `timout`", Some("did you mean `timeout`?")),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\n»patern = \"rps={}\"\n"), "unknown field `patern`", Some("did you mean `pattern`?")),
        case(top("[params.days]\n»defualt = 1"), "unknown field `defualt`", Some("did you mean `default`?")),
        case(server("ready = { »prot = \"{port}\" }", ""), "unknown field `prot`", Some("did you mean `port`?")),
        case(demo("\n[[scales]]\n»nmae = \"big\"\n"), "unknown field `nmae`", Some("did you mean `name`?")),
        case(top("[defaults]\nruns = »\"five\""), "invalid type: string \"five\"", None),
        case(top("[defaults]\ncall_graph = »\"dwraf\""), "unknown variant `dwraf`", Some("did you mean `dwarf`?")),
        case(top("[defaults]\nmemory_tool = »\"heaptrak\""), "unknown variant `heaptrak`", Some("did you mean `heaptrack`?")),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\npattern = \"rps={}\"\nbetter = »\"hgher\"\n"), "unknown variant `hgher`", Some("did you mean `higher`?")),
        case(top("[defaults]\nruns = »-1"), "`defaults.runs` must be from 1 to 10000, not -1", Some("measured runs from 1 to 10000")),
        case(top("[defaults]\nfrequency = »1.5"), "invalid type: floating point `1.5`", None),
        case(top("[defaults]\nkeep = »-1"), "`defaults.keep` must be from 0 to 100000, not -1", Some("results to keep from 0 to 100000")),
        case(top("[defaults]\nkernel_frames = »\"yes\""), "invalid type: string \"yes\"", None),
        case(top("[thresholds]\nleaked_bytes = »-1"), "invalid value: integer `-1`", None),
        case(top("[workloads.x]\ncommand = \"a\"\nargs = »\"--subs 5\""), "invalid type: string \"--subs 5\"", None),
        case(demo("env = { RUST_LOG = »3 }\n"), "invalid type: integer `3`", None),
        case(top("[defaults]\nruns = 3\n»runs = 4"), "duplicate key", None),
        case(top("[defaults]\nlabel = \"unclosed»"), "invalid basic string, expected `\"`", None),
        // Numbers that would break a run.
        case(top("[defaults]\n»runs = 0"), "`defaults.runs` must be from 1 to 10000, not 0", Some("5 is usual")),
        case(top("[defaults]\n»runs = 1000000000"), "`defaults.runs` must be from 1 to 10000, not 1000000000", Some("measured runs from 1 to 10000")),
        case(top("[defaults]\nruns = »5000000000"), "`defaults.runs` must be from 1 to 10000, not 5000000000", Some("from 1 to 10000")),
        case(top("[defaults]\n»warmup = 1001"), "`defaults.warmup` must be from 0 to 1000, not 1001", Some("warm-up runs")),
        case(top("[defaults]\nwarmup = »-1"), "`defaults.warmup` must be from 0 to 1000, not -1", Some("warm-up runs")),
        case(top("[defaults]\n»keep = 1000000"), "`defaults.keep` must be from 0 to 100000, not 1000000", Some("results to keep")),
        case(top("[defaults]\n»annotate = 101"), "`defaults.annotate` must be from 0 to 100, not 101", Some("0 turns it off")),
        case(top(&format!("[defaults]\n»events = [{}]", vec!["\"page-faults\""; 33].join(", "))), "`defaults.events` lists 33 events: at most 32", Some("one more profiled run")),
        case(demo(&"\n[[scales]]\nname = \"s\"\n".repeat(101)).replacen("[[scales]]", "[[»scales]]", 1), "101 [[scales]] are declared: at most 100", Some("`--scale all`")),
        case(top("[defaults]\n»frequency = 0"), "the sampling frequency must be from 1 to", Some("perf_event_max_sample_rate")),
        case(top("[defaults]\n»frequency = 10000000"), "Hz, not 10000000", Some("perf_event_max_sample_rate")),
        case(top("[defaults]\n»timeout = 0"), "`defaults.timeout` must be a positive number of seconds, not 0", Some("more than 0 and at most 1e9")),
        case(top("[defaults]\n»timeout = -5"), "`defaults.timeout` must be a positive number of seconds, not -5", Some("more than 0")),
        case(top("[defaults]\n»timeout = inf"), "not inf", Some("at most 1e9")),
        case(top("[defaults]\n»timeout = nan"), "not NaN", Some("at most 1e9")),
        case(top("[defaults]\n»timeout = 1e18"), "not 1000000000000000000", Some("at most 1e9")),
        case(top("[defaults]\n»results_dir = \"\""), "`defaults.results_dir` must not be empty", Some("remove the line")),
        case(top("[defaults]\n»build_profile = \" \""), "`defaults.build_profile` must not be empty", Some("profiling")),
        case(top("[thresholds]\n»noise = -1"), "`thresholds.noise` must be a percentage of 0 or more, not -1", Some("from 0 to 1e6")),
        case(top("[thresholds]\n»time = nan"), "`thresholds.time` must be a percentage of 0 or more, not NaN", Some("in percent")),
        case(top("[thresholds]\n»memory = inf"), "`thresholds.memory`", Some("in percent")),
        case(top("[thresholds]\n»throughput = -0.5"), "`thresholds.throughput`", Some("in percent")),
        case(top("[thresholds]\nlatency = 5.0\n»instructions = -1.0"), "`thresholds.instructions`", Some("in percent")),
        case(top("[thresholds]\n»heap_growth = -5"), "`thresholds.heap_growth` must be a percentage of 0 or more, not -5", Some("in percent")),
        case(demo("»timeout = 0\n"), "workload `demo`: `timeout` must be a positive number of seconds, not 0", Some("more than 0")),
        case(demo("»timeout = -1\n"), "workload `demo`: `timeout` must be a positive number of seconds, not -1", Some("more than 0")),
        case(server("ready = { port = \"{port}\" }", "\n[workloads.srv.scenarios.»all]\ncommand = \"true\"\n"), "scenario name `all` cannot name a result", Some("not `all`")),
        case(server("ready = { port = \"{port}\" }", "\n[workloads.srv.scenarios.burst]\n»comand = \"true\"\n"), "unknown field `comand`", Some("did you mean `command`?")),
        case(server("ready = { port = \"{port}\" }", "\n[workloads.srv.scenarios.burst]\ncommand = \"true\"\nargs = [»\"{clients}\"]\n"), "placeholder `{clients}` names no declared parameter", Some("declare it")),
        case(demo("\n[workloads.demo.scenarios.»burst]\ncommand = \"true\"\n"), "workload `demo` has a scenario but no `ready` check", Some("ready = {")),
        case(server("ready = { port = \"{port}\" }", "\n[workloads.srv.scenarios.burst]\ncommand = \"true\"\n»run_for = 0\n"), "workload `srv.scenarios.burst`: `run_for` must be a positive number of seconds, not 0", Some("more than 0")),
        case(demo("»run_for = 0\n"), "workload `demo`: `run_for` must be a positive number of seconds, not 0", Some("more than 0")),
        case(demo("»run_for = -2.5\n"), "workload `demo`: `run_for` must be a positive number of seconds, not -2.5", Some("at most 1e9")),
        case(demo("run_for = »\"30\"\n"), "invalid type: string \"30\"", None),
        case(demo("stop_signal = »\"SIGSTOP\"\n"), "workload `demo`: `stop_signal`: `SIGSTOP` is not a signal a program can be stopped with", Some("allowed: SIGINT, SIGTERM, SIGHUP")),
        case(demo("stop_signal = »\"9\"\n"), "`stop_signal`: `9` is not a signal", Some("SIGUSR2")),
        case(demo("»stop_sigal = \"SIGINT\"\n"), "unknown field `stop_sigal`", Some("did you mean `stop_signal`?")),
        case(demo("»profile_time = 0\n"), "workload `demo`: `profile_time` must be a positive number", Some("more than 0")),
        case(server("ready = { port = \"{port}\", »timeout = 0 }", ""), "workload `srv`: `ready.timeout` must be a positive number", Some("more than 0")),
        // Workload names follow the rule of labels.
        case(top("[workloads.»\"<script>\"]\ncommand = \"true\""), "workload name `<script>` is not allowed", Some("letters, digits, `-`, `_` or `.`, not starting with `.` (like `_script_`)")),
        case(top("[workloads.»\"../x\"]\ncommand = \"true\""), "workload name `../x` is not allowed", Some("(like `_x`)")),
        case(top("[workloads.»\"a b\"]\ncommand = \"true\""), "workload name `a b` is not allowed", Some("(like `a_b`)")),
        case(top("[workloads.»\"\"]\ncommand = \"true\""), "workload name `` is not allowed", Some("1-64 letters")),
        case(top("[workloads.»latest]\ncommand = \"true\""), "workload name `latest` is reserved", Some("rename the workload")),
        case(top("[workloads.»previous]\ncommand = \"true\""), "workload name `previous` is reserved", Some("rename the workload")),
        case(server("ready = { port = \"{port}\" }", "\n[workloads.srv.scenarios.»latest]\ncommand = \"true\"\n"), "scenario name `latest` cannot name a result", Some("`latest` or `previous`")),
        // What surrounds a server: its drain, its setup and its teardown.
        case(demo("»drain = 2\n"), "workload `demo`: `drain` belongs to a server workload", Some("move `drain`")),
        case(server("ready = { port = \"{port}\" }\n»drain = -1", ""), "workload `srv`: `drain` must be a number of seconds from 0 to 3600, not -1", Some("drain = 2")),
        case(server("ready = { port = \"{port}\" }", "»drain = 1\n"), "workload `srv.load`: `drain` belongs to a server workload (one with `ready` and a `load`), not to its load", Some("move `drain`")),
        case(demo("\n[[workloads.demo.»setup]]\ncommand = \"true\"\n"), "workload `demo`: `setup` belongs to a server workload", Some("move `setup`")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.setup]]\n»comand = \"redis-server\"\n"), "unknown field `comand`", Some("did you mean `command`?")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.setup]]\ncommand = \"true\"\n\n[[workloads.srv.setup]]\ncommand = \"x\"\nargs = [»\"{redis}\"]\n"), "placeholder `{redis}` names no declared parameter", Some("declare it")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.»setup]]\nargs = [\"x\"]\n"), "workload `srv: setup #1` must set exactly one of", Some("`command = \"prog\"`")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.setup]]\ncommand = \"redis-server\"\nready = { port = \"{port}\" }\n»timeout = 5\n"), "workload `srv: setup #1`: a dependency (a step with `ready`) runs as long as the server: `timeout` does not apply", Some("`ready.timeout`")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.setup]]\ncommand = \"init-db\"\n»stop_signal = \"SIGTERM\"\n"), "workload `srv: setup #1`: a one-shot command (no `ready`) runs to its end: `stop_signal` does not apply", Some("give the step a `ready`")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.setup]]\ncommand = \"redis-server\"\nready = { port = »\"0\" }\n"), "workload `srv: setup #1`: `ready.port` `0` is not a TCP port number", Some("from 1 to 65535")),
        case(server("ready = { port = \"{port}\" }", "\n[[workloads.srv.teardown]]\ncommand = \"rm\"\n»ready = { line = \"x\" }\n"), "workload `srv: teardown #1`: a teardown command runs to its end and has no `ready`", Some("belongs to `setup`")),
        // Targets.
        case(demo("»command = \"b\"\n"), "must set exactly one of `cargo_bin`, `example`, `bench`, `command` (`cargo_bin` and `command` set)", Some("`cargo_bin = \"my-bin\"`")),
        case(top("[workloads.»none]\nargs = []"), "workload `none` must set exactly one of", Some("`command = \"prog\"`")),
        case(top("[workloads.x]\n»command = \"\""), "workload `x`: `command` must not be empty", Some("a program on PATH")),
        case(top("[workloads.x]\n»cargo_bin = \"\""), "workload `x`: `cargo_bin` must not be empty", Some("name the cargo bin")),
        case(top("[defaults]\nworkload = »\"dmeo\""), "`defaults.workload` names `dmeo`, which is not declared", Some("did you mean `demo`?")),
        // Placeholders.
        case(demo("").replace("\"{subs}\"", "»\"{sub}\""), "placeholder `{sub}` names no declared parameter", Some("did you mean `subs`?")),
        case(demo("env = { N = »\"{nope}\" }\n"), "placeholder `{nope}` names no declared parameter", Some("declare it: [params.nope]")),
        case(demo("").replace("cargo_bin = \"cdr-demo\"", "command = »\"run-{subz}\""), "placeholder `{subz}`", Some("did you mean `subs`?")),
        case(demo("cwd = »\"{nope}\"\n"), "placeholder `{nope}`", Some("declare it")),
        case(demo("filter = »\"{nope}\"\n"), "placeholder `{nope}`", Some("declare it")),
        case(server("ready = { port = »\"{prot}\" }", ""), "placeholder `{prot}`", Some("did you mean `port`?")),
        case(server("ready = { line = »\"listening {nope}\" }", ""), "placeholder `{nope}`", Some("declare it")),
        case(demo("").replace("\"{subs}\"", "»\"{subs\""), "unclosed `{`", Some("write `{{` and `}}`")),
        case(demo("").replace("\"{subs}\"", "»\"subs}\""), "unmatched `}`", Some("write `{{` and `}}`")),
        case(demo("").replace("\"{subs}\"", "»\"{a b}\""), "is not a parameter name", Some("write `{{` and `}}`")),
        case(demo("env = { »\"A=B\" = \"1\" }\n"), "environment variable name `A=B` is not valid", Some("no `=`")),
        case(demo("cwd = »\"no-such-dir-for-this-test\"\n"), "the working directory `no-such-dir-for-this-test` does not exist", Some("relative to the directory of profiling.toml")),
        case(demo("").replace("\"{subs}\"]", "\"{subs}\", »\"a\\u0000b\"]"), "workload `demo`: the value holds a NUL character (`\\u0000`)", Some("remove the `\\u0000`")),
        case(demo("env = { RUST_LOG = »\"warn\\u0000\" }\n"), "holds a NUL character", Some("allowed is any other text")),
        case(demo("command = »\"x\\u0000\"\n").replace("cargo_bin = \"cdr-demo\"\n", ""), "holds a NUL character", Some("remove the")),
        case(server("ready = { line = »\"up\\u0000\" }", ""), "holds a NUL character", Some("remove the")),
        // Perf events.
        case(top("[defaults]\nevents = [»\"page-faults,cycles\"]"), "`defaults.events`: `page-faults,cycles` is not a perf event name: one event per entry", Some("several events are several entries")),
        case(top("[defaults]\nevents = [\"page-faults\", »\"\"]"), "`` is not a perf event name: it is empty", Some("as `perf list` names it")),
        case(top("[defaults]\nevents = [»\"-e\"]"), "`-e` is not a perf event name: it must start with a letter or digit", Some("`sched:sched_switch`")),
        case(top("[defaults]\nevents = [»\"{cycles,instructions}\"]"), "must start with a letter or digit", Some("`cpu/event=0x3c,umask=0x0/`")),
        case(top("[defaults]\nevents = [»\"cycles instructions\"]"), "` ` is not allowed in it", Some("letters, digits")),
        case(top("[defaults]\nevents = [»\"cpu/event=0x3c\"]"), "with two `/`", Some("PMU/TERM=VALUE")),
        case(top("[defaults]\nevents = [»\"sched:*\"]"), "`*` is not allowed in it", Some("one perf event per entry")),
        // Parameters.
        case(top("[params.x]\ndefault = »[]"), "invalid type: sequence, expected a string, integer, float or boolean", None),
        case(top("[params.x]\ndefault = »{ a = 1 }"), "expected a string, integer, float or boolean", None),
        case(demo("\n[[scales]]\nname = \"big\"\nparams = { subs = »[1] }\n"), "expected a string, integer, float or boolean", None),
        case(top("[params.»\"a b\"]\ndefault = 1"), "parameter name `a b` must be letters, digits, `-` or `_`", Some("did you mean `a_b`?")),
        case(top("[params.»help]\ndefault = 1"), "parameter `help` would clash with the task flag `--help`", Some("rename the parameter")),
        case(top("[params.»verbose]\ndefault = true"), "clash with the task flag `--verbose`", Some("rename the parameter")),
        case(top("[params.»config]\ndefault = \"x\""), "clash with the task flag `--config`", Some("rename the parameter")),
        case(top("[params.»runs]\ndefault = 3"), "parameter `runs` would clash with the task flag `--runs`", Some("rename the parameter")),
        case(top("[params.»freq]\ndefault = 3"), "clash with the task flag `--freq`", Some("rename the parameter")),
        case(top("»[params.days]\nhelp = \"days\""), "missing field `default`", None),
        // Scales.
        case(demo("\n[[scales]]\n»name = \"../../escape\"\n"), "scale name `../../escape` cannot name a directory", Some("letters, digits")),
        case(demo("\n[[scales]]\n»name = \"\"\n"), "scale name `` cannot name a directory", Some("not starting with `.`")),
        case(demo("\n[[scales]]\n»name = \".hidden\"\n"), "cannot name a directory", Some("not starting with `.`")),
        case(demo("\n[[scales]]\nname = \"big\"\n\n[[scales]]\n»name = \"big\"\n"), "scale `big` is declared twice", Some("the first is on line 10")),
        case(demo("\n[[scales]]\nname = \"big\"\nparams = { »subz = 5 }\n"), "scale sets parameter `subz`, which is not declared", Some("did you mean `subs`?")),
        case(demo("\n[[scales]]\nname = \"big\"\nparams = { »subs = \"many\" }\n"), "scale `big` sets `subs` to `many`, but the parameter is integer", Some("give an integer value")),
        // Metrics.
        case(demo("\n[[workloads.demo.metrics]]\n»name = \"\"\npattern = \"x={}\"\n"), "metric name `` of workload `demo` must be letters", Some("like `records_per_sec`")),
        case(demo("\n[[workloads.demo.metrics]]\n»name = \"rps now\"\npattern = \"x={}\"\n"), "metric name `rps now`", Some("like `records_per_sec`")),
        case(demo("\n[[workloads.demo.metrics]]\n»name = \"wall_s\"\npattern = \"x={}\"\n"), "metric `wall_s` of workload `demo` shadows a measure every run records", Some("taken: wall_s, cpu_s, user_s")),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\npattern = \"rps={}\"\n\n[[workloads.demo.metrics]]\n»name = \"rps\"\npattern = \"r={}\"\n"), "metric `rps` of workload `demo` is declared twice", Some("the first is on line 10")),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\n»pattern = \"rps=\"\n"), "the pattern `rps=` must contain `{}` exactly once", Some("`pattern = \"rps={}\"`")),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\n»pattern = \"{} {}\"\n"), "must contain `{}` exactly once", Some("where the number stands")),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\n»pattern = \"{} ops\"\n"), "needs text before `{}`", Some("picks the output line")),
        case(demo("\n»[[workloads.demo.metrics]]\nname = \"rps\"\n"), "missing field `pattern`", None),
        case(demo("\n[[workloads.demo.metrics]]\nname = \"rps\"\npattern = \"rps={}\"\nrequired = »\"no\"\n"), "invalid type: string \"no\"", None),
        // Servers.
        case(server("»ready = { timeout = 5 }", ""), "workload `srv`: `ready` needs `port` or `line`", Some("`ready = { port = \"{port}\" }`")),
        case(server("ready = { port = »\"notaport\" }", ""), "`ready.port` `notaport` is not a TCP port number", Some("from 1 to 65535")),
        case(server("ready = { port = »\"70000\" }", ""), "`ready.port` `70000` is not a TCP port number", Some("from 1 to 65535")),
        case(server("ready = { port = »\"0\" }", ""), "is not a TCP port number", Some("from 1 to 65535")),
        case(server("ready = { port = »\"{subs}0000\" }", ""), "`{subs}0000` (`1000000` with the parameters' defaults) is not a TCP port number", Some("a `{placeholder}` whose default is one")),
        case(server("ready = { »line = \" \" }", ""), "`ready.line` must not be empty", Some("like `listening`")),
        case(demo("»ready = { line = \"listening\" }\n"), "workload `demo` has `ready` but no `load`", Some("add [workloads.demo.load]")),
        case(demo("\n[workloads.demo.»load]\ncommand = \"true\"\n"), "workload `demo` has a `load` but no `ready` check", Some("add `ready = { port")),
        case(server("ready = { line = \"up\" }", "ready = { line = \"x\" }\n\n[workloads.srv.load.»load]\ncommand = \"true\"\n"), "a load scenario cannot have its own load", Some("a workload of its own")),
        case(server("ready = { line = \"up\" }", "»timeout = -2\n"), "workload `srv.load`: `timeout` must be a positive number", Some("more than 0")),
        case(top("[workloads.srv]\ncommand = \"true\"\nready = { line = \"up\" }\nload = { command = \"true\", »load = { command = \"x\" } }"), "a load scenario cannot have its own load", Some("a workload of its own")),
    ]
}

/// The task flags the command line reserves (the real set comes from `cli`,
/// a layer above; the end-to-end test checks one through the binary).
fn task_flags() -> BTreeSet<String> {
    ["runs", "freq", "label", "workload"]
        .map(String::from)
        .into()
}

#[test]
fn every_bad_config_names_file_line_column_what_and_hint() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let marker = case
            .text
            .find('»')
            .unwrap_or_else(|| panic!("case {i} has no » marker:\n{}", case.text));
        let text = case.text.replacen('»', "", 1);
        let before = &text[..marker];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
        let result = parse(&text).and_then(|config| config.check_param_flags(&task_flags()));
        let Err(error) = result else {
            failures.push(format!("case {i}: loaded, but should fail:\n{text}"));
            continue;
        };
        let shown = error.to_string();
        let expected_start = format!("profiling.toml:{line}:{column}: ");
        let help_ok = match (case.help, &error.help) {
            (Some(want), Some(help)) => help.contains(want),
            (None, None) => true,
            _ => false,
        };
        if !shown.starts_with(&expected_start) || !error.message.contains(case.message) || !help_ok
        {
            failures.push(format!(
                "case {i}: expected `{expected_start}…{}` with help {:?}, got:\n{shown}\n--- text:\n{text}",
                case.message, case.help
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
