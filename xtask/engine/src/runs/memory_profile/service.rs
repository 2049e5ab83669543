//! `memory --workload SERVER`: a server's memory under its load, and its
//! heap just before and just after the load.

use super::{
    custom_allocator, heaptrack_data, heaptrack_report, massif_files, massif_report, string_args,
    wrapped, Profiler,
};
use crate::runs::process::{self, Spec};
use crate::runs::progress::Progress;
use crate::runs::service_setup::{with_setup, ServerPlan};
use crate::runs::workload::Prepared;
use crate::tools::memory_model::{self, HeapUnderLoad, MemoryReport};
use crate::tools::{heaptrack, instruments, massif, Toolbox};
use anyhow::{bail, Context};
use std::path::Path;

/// A server's memory profile under its load: the report, the heap before
/// and after the load, and the load's own run.
pub struct ServiceMemory {
    pub report: MemoryReport,
    pub under_load: Option<HeapUnderLoad>,
    pub load: crate::runs::measure::RunSample,
}

/// How long the server idles before the load and after it before it is
/// stopped: it closes the connections (the readiness probe's, the load's)
/// and frees their state, so that "before" and "after" are the heap that
/// stays, not the heap of requests in flight.
const SETTLE_AROUND_LOAD: std::time::Duration = std::time::Duration::from_millis(300);

/// `memory --workload SERVER`: starts the server under `profiler`, waits
/// until it is ready, runs one load against it, then stops it with its
/// `stop_signal` (sent to the server, not to the tool, so that the tool sees
/// its program end and writes its data: heaptrack loses it on SIGKILL, and
/// massif writes only at exit). The heap just before and just after the load
/// come from the tool's heap over time.
#[allow(clippy::too_many_arguments)]
pub fn profile_service(
    server: &Prepared,
    load: &Prepared,
    plan: &ServerPlan,
    tools: &Toolbox,
    profiler: Profiler,
    dir: &Path,
    top: usize,
) -> anyhow::Result<ServiceMemory> {
    eprintln!(
        "{}: running the server `{}` under it ({} slower than a bare run), then the load",
        profiler.name(),
        server.name,
        profiler.slowdown()
    );
    let base = dir.join("heaptrack");
    let massif_out = dir.join("massif.out");
    let trace = dir.join("allocations.trace");
    let spec = service_spec(server, tools, profiler, &base, &massif_out, &trace)?;
    let served = with_setup(plan, || serve_load(spec, server, load, plan, profiler))?;
    let outcome = &served.outcome;
    let window = |source: &str, timeline: &[(f64, f64)]| {
        memory_model::heap_under_load(
            source,
            timeline,
            served.load_start_s,
            served.load_end_s,
            served.stopped_at_s,
        )
    };
    let (mut report, under_load) = match profiler {
        Profiler::Heaptrack => {
            let (report, timeline) = heaptrack_service_report(tools, outcome, &base, dir, top)?;
            let under_load = window(
                "heaptrack timeline (heaptrack_print --print-massif)",
                &timeline,
            );
            (report, under_load)
        }
        Profiler::Massif => {
            let parsed = massif_report(tools, &massif_out, dir)?;
            let timeline = massif::timeline(&parsed).unwrap_or_default();
            let mut report = parsed.to_report();
            report.runtime_s.get_or_insert(outcome.wall.as_secs_f64());
            report.raw_files = massif_files(tools, &massif_out, dir);
            (
                report,
                window("massif snapshots (--time-unit=ms)", &timeline),
            )
        }
        Profiler::Instruments => {
            let mut report = MemoryReport {
                tool: "instruments".into(),
                ..Default::default()
            };
            report.raw_files = vec!["allocations.trace".into()];
            report.notes.push(
                "the server's allocations are in allocations.trace: open it in Instruments (the heap before and after the load is not read from it)".into(),
            );
            (report, None)
        }
    };
    note_heap_window(&mut report, under_load.as_ref(), profiler);
    if let Some(allocator) = custom_allocator(&server.program) {
        eprintln!("note: {allocator}");
        report.notes.push(allocator);
    }
    Ok(ServiceMemory {
        report,
        under_load,
        load: served.sample,
    })
}

/// The server under `profiler`, writing to `base` (heaptrack), `massif_out`
/// or `trace` (Instruments), stopped by its own signal rather than a timer.
fn service_spec(
    server: &Prepared,
    tools: &Toolbox,
    profiler: Profiler,
    base: &Path,
    massif_out: &Path,
    trace: &Path,
) -> anyhow::Result<Spec> {
    let args = string_args(server);
    let argv = match profiler {
        Profiler::Heaptrack => {
            heaptrack::record_command(tools.heaptrack.path()?, base, &server.program, &args)
        }
        // Milliseconds: the snapshots' times then say when the load ran.
        Profiler::Massif => massif::record_command_with(
            tools.valgrind.path()?,
            massif_out,
            &server.program,
            &args,
            &massif::MassifOptions {
                stacks: false,
                extra: vec!["--time-unit=ms".into()],
            },
        ),
        Profiler::Instruments => {
            tools.xctrace.path()?;
            instruments::xctrace_allocations_command(trace, &server.program, &args)
        }
    };
    let mut spec = wrapped(server, argv, profiler);
    spec.run_for = None;
    spec.stop_target = Some(server.program.clone());
    spec.watch
        .push("heaptrack output will be written to".into());
    spec.watch
        .extend(heaptrack::DATA_LOSS_MARKERS.iter().map(|m| m.to_string()));
    Ok(spec)
}

/// A load run against a server under a memory tool: how the server (the
/// tool) ended, the load's sample, and when the load started and ended and
/// the server was stopped, in seconds on the tool's clock.
struct Served {
    outcome: process::Outcome,
    sample: crate::runs::measure::RunSample,
    load_start_s: f64,
    load_end_s: f64,
    stopped_at_s: f64,
}

/// Starts the server (`spec`), lets it settle, runs the load once, lets it
/// settle again and stops the server; fails when the server died under the
/// load or the tool did not finish writing its data.
fn serve_load(
    spec: Spec,
    server: &Prepared,
    load: &Prepared,
    plan: &ServerPlan,
    profiler: Profiler,
) -> anyhow::Result<Served> {
    use crate::runs::service;
    use std::time::Instant;
    let mut slowed = plan.ready.clone();
    slowed.timeout = plan.ready.timeout.saturating_mul(profiler.timeout_factor());
    let spawned = Instant::now();
    let running = service::start_server_spec(spec, &slowed)?;
    // The tools' clocks start with the server, which a wrapper script
    // (heaptrack's) starts a little after we start the wrapper.
    let offset = running.target_started_after().unwrap_or_default();
    let since_start = || spawned.elapsed().saturating_sub(offset).as_secs_f64();
    // The readiness probe's connection is a request too: let the server
    // finish with it, so that "before" is the idle server's heap.
    std::thread::sleep(SETTLE_AROUND_LOAD);
    let load_start_s = since_start();
    let spinner = Progress::spinner(&format!("{} under {}", load.name, profiler.name()));
    let loaded = crate::runs::measure::run_once(load);
    spinner.finish();
    let load_end_s = since_start();
    if loaded.is_ok() {
        service::drain_after_load(running.pid, plan.drain);
        std::thread::sleep(SETTLE_AROUND_LOAD);
    }
    let server_died = !running.is_running();
    let stopped_at_s = since_start();
    let server_pid = running.pid;
    let outcome = running.stop(server.stop_signal, service::STOP_GRACE);
    if profiler == Profiler::Heaptrack {
        heaptrack::remove_fifo(server_pid);
    }
    let (sample, _) = match loaded {
        Ok(done) => done,
        Err(error) if server_died => bail!(
            "the server exited during the load under {}: {}\n{}\n  the load then failed: {error:#}",
            profiler.name(),
            outcome.describe(None),
            outcome.tail()
        ),
        Err(error) => return Err(error),
    };
    if outcome.timed_out {
        bail!(
            "{} did not finish writing its data after the server stopped: {}\n{}",
            profiler.name(),
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(Served {
        outcome,
        sample,
        load_start_s,
        load_end_s,
        stopped_at_s,
    })
}

/// heaptrack's report of a server, and its heap over time (seconds, bytes)
/// from heaptrack_print's massif output.
fn heaptrack_service_report(
    tools: &Toolbox,
    outcome: &process::Outcome,
    base: &Path,
    dir: &Path,
    top: usize,
) -> anyhow::Result<(MemoryReport, Vec<(f64, f64)>)> {
    if let Some(line) = heaptrack::data_loss(&outcome.watched) {
        bail!(
            "heaptrack lost data: it said \"{line}\"\n{}",
            outcome.tail()
        );
    }
    let data = heaptrack_data(outcome, base)?;
    let timeline_file = dir.join("heaptrack.massif");
    let report = heaptrack_report(tools, &data, dir, top, Some(&timeline_file))?;
    let text = std::fs::read_to_string(&timeline_file)
        .with_context(|| format!("heaptrack_print wrote no {}", timeline_file.display()))?;
    let timeline = heaptrack::parse_timeline(&text)
        .with_context(|| format!("reading {}", timeline_file.display()))?;
    let _ = std::fs::remove_file(&timeline_file);
    Ok((report, timeline))
}

/// Notes on the heap before and after the load: none was recorded, or the
/// "after" figure is from the load itself.
fn note_heap_window(
    report: &mut MemoryReport,
    under_load: Option<&HeapUnderLoad>,
    profiler: Profiler,
) {
    if under_load.is_none() && profiler != Profiler::Instruments {
        report.notes.push(format!(
            "{} recorded no heap figure before the load started: no before/after heap",
            profiler.name()
        ));
    }
    // massif snapshots on heap operations only: an idle server after its
    // load may give none, and the last one then is from the load itself.
    if let Some(heap) = under_load.filter(|h| h.after_at_s < h.load_end_s) {
        report.notes.push(format!(
            "the heap \"after the load\" is {}'s last figure, at {:.2} s, before the load ended at {:.2} s: it includes requests still in progress, so the growth may overstate what stays",
            profiler.name(),
            heap.after_at_s,
            heap.load_end_s
        ));
    }
}
