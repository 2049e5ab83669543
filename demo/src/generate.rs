//! The generator: subscribers → Poisson call counts → log-normal durations →
//! CSV rows through a buffered writer.

use crate::rng::Rng;
use crate::{flag_pairs, parse_number};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc;
use std::time::Instant;

pub struct Flags {
    pub subs: u64,
    pub days: u32,
    pub workers: usize,
    pub out: String,
    pub seed: u64,
    pub slowdown: u32,
    pub leak_bytes: usize,
}

impl Flags {
    pub fn parse(args: &[String]) -> Result<Flags, String> {
        let mut flags = Flags {
            subs: 10_000,
            days: 1,
            workers: 1,
            out: "/dev/null".into(),
            seed: 1,
            slowdown: 0,
            leak_bytes: 0,
        };
        for (name, value) in flag_pairs(args)? {
            match name.as_str() {
                "subs" => flags.subs = parse_number(&name, &value)?,
                "days" => flags.days = parse_number(&name, &value)?,
                // 0: everything on the main thread, no threads at all, so that
                // instruction counts (callgrind) do not depend on scheduling.
                "workers" => flags.workers = parse_number::<usize>(&name, &value)?,
                "out" => flags.out = value,
                "seed" => flags.seed = parse_number(&name, &value)?,
                "slowdown" => flags.slowdown = parse_number(&name, &value)?,
                "leak-bytes" => flags.leak_bytes = parse_number(&name, &value)?,
                _ => return Err(format!("unknown flag `--{name}`")),
            }
        }
        Ok(flags)
    }
}

/// One call of one subscriber. Owned strings on purpose: real CDR code
/// allocates per record, and the memory profile should show it.
struct Call {
    kind: &'static str,
    callee: String,
    imei: String,
    start_s: u32,
    duration_s: f64,
    cell: u16,
    cost_cents: u64,
}

/// How many subscribers one worker generates before handing a buffer over.
const CHUNK: u64 = 512;
/// Events (calls, SMS, data sessions) per subscriber and day: enough that
/// `--subs 50000 --days 1` runs for a couple of seconds in the profiling build.
const EVENTS_PER_DAY: f64 = 40.0;
const EPOCH_2026: u64 = 1_767_225_600;

pub fn run(flags: Flags) -> Result<(), String> {
    let started = Instant::now();
    if flags.leak_bytes > 0 {
        leak(flags.leak_bytes);
    }
    let out: Box<dyn Write> = match flags.out.as_str() {
        "-" => Box::new(io::stdout().lock()),
        path => Box::new(File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?),
    };
    let mut writer = BufWriter::with_capacity(1 << 16, out);
    writer
        .write_all(b"caller,kind,callee,imei,start,duration_s,cell,cost_cents\n")
        .map_err(|e| e.to_string())?;

    let chunks = flags.subs.div_ceil(CHUNK);
    let mut records = 0u64;
    let mut bytes = 0u64;
    if flags.workers == 0 {
        for chunk in 0..chunks {
            let first = chunk * CHUNK;
            let (count, text) = generate_chunk(&flags, first..(first + CHUNK).min(flags.subs));
            records += count;
            bytes += text.len() as u64;
            writer
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        return finish(writer, started, records, bytes, flags.subs);
    }
    let (sender, receiver) = mpsc::sync_channel::<(u64, String)>(flags.workers * 2);
    std::thread::scope(|scope| -> Result<(), String> {
        for worker in 0..flags.workers as u64 {
            let sender = sender.clone();
            let flags = &flags;
            scope.spawn(move || {
                let mut chunk = worker;
                while chunk < chunks {
                    let first = chunk * CHUNK;
                    let last = (first + CHUNK).min(flags.subs);
                    let batch = generate_chunk(flags, first..last);
                    if sender.send(batch).is_err() {
                        return;
                    }
                    chunk += flags.workers as u64;
                }
            });
        }
        drop(sender);
        for (count, text) in receiver {
            records += count;
            bytes += text.len() as u64;
            writer
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    finish(writer, started, records, bytes, flags.subs)
}

/// Flushes the output and prints the metrics line.
fn finish(
    mut writer: impl Write,
    started: Instant,
    records: u64,
    bytes: u64,
    subs: u64,
) -> Result<(), String> {
    writer.flush().map_err(|e| e.to_string())?;

    // Integer arithmetic and formatting: a float's digits cost a varying
    // number of instructions, and `profile-compare --counter instructions`
    // counts two runs of the same code as equal only if nothing varies.
    let elapsed_us = (started.elapsed().as_micros() as u64).max(1);
    println!(
        "METRICS records={records} subscribers={} bytes={bytes} elapsed_s={}.{:03} \
         records_per_sec={} subs_per_sec={}",
        subs,
        elapsed_us / 1_000_000,
        elapsed_us / 1_000 % 1_000,
        records * 1_000_000 / elapsed_us,
        subs * 1_000_000 / elapsed_us,
    );
    Ok(())
}

/// Generates `subs` subscribers' records in memory and returns (records,
/// bytes): the unit of work the criterion bench measures.
pub fn generate_in_memory(subs: u64, days: u32, seed: u64, slowdown: u32) -> (u64, usize) {
    let flags = Flags {
        subs,
        days,
        workers: 1,
        out: String::new(),
        seed,
        slowdown,
        leak_bytes: 0,
    };
    let (records, text) = generate_chunk(&flags, 0..subs);
    (records, text.len())
}

/// Generates the calls of a range of subscribers as CSV text.
fn generate_chunk(flags: &Flags, subscribers: std::ops::Range<u64>) -> (u64, String) {
    let mut text = String::with_capacity(64 * 1024);
    let mut records = 0;
    for subscriber in subscribers {
        let mut rng = Rng::new(flags.seed ^ subscriber.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let calls = simulate_subscriber(&mut rng, flags.days, flags.slowdown);
        records += calls.len() as u64;
        format_rows(&mut text, subscriber, &calls);
    }
    (records, text)
}

#[inline(never)]
fn simulate_subscriber(rng: &mut Rng, days: u32, slowdown: u32) -> Vec<Call> {
    let count = rng.poisson(EVENTS_PER_DAY * days as f64);
    let mut calls = Vec::with_capacity(count as usize);
    let imei = format!("35{:013}", rng.below(10_000_000_000_000));
    for _ in 0..count {
        let kind = ["voice", "sms", "data"][rng.below(3) as usize];
        let duration_s = rng.log_normal(4.0, 1.1);
        let callee = format!("+1{:010}", rng.below(10_000_000_000));
        let start_s = rng.below(86_400 * days as u64) as u32;
        let cell = rng.below(4096) as u16;
        let cost_cents = tariff(duration_s, cell, slowdown);
        calls.push(Call {
            kind,
            callee,
            imei: imei.clone(),
            start_s,
            duration_s,
            cell,
            cost_cents,
        });
    }
    calls.sort_by_key(|call| call.start_s);
    calls
}

/// The price of a call. `slowdown` repeats a rating loop on purpose, so that
/// a demo "regression" lands in one clearly named function.
#[inline(never)]
fn tariff(duration_s: f64, cell: u16, slowdown: u32) -> u64 {
    let mut cents = (duration_s / 60.0).ceil() * if cell.is_multiple_of(7) { 9.0 } else { 5.0 };
    for round in 0..slowdown * 64 {
        cents = std::hint::black_box(cents + (round as f64).sqrt() * 1e-9);
    }
    cents as u64
}

#[inline(never)]
fn format_rows(text: &mut String, subscriber: u64, calls: &[Call]) {
    for call in calls {
        // `write!` into a String cannot fail.
        let _ = write!(
            text,
            "+1{subscriber:010},{},{},{},",
            call.kind, call.callee, call.imei
        );
        write_timestamp(text, EPOCH_2026 + call.start_s as u64);
        let _ = writeln!(
            text,
            ",{:.1},{},{}",
            call.duration_s, call.cell, call.cost_cents
        );
    }
}

/// Formats Unix seconds as an ISO 8601 UTC timestamp (Howard Hinnant's
/// civil-from-days), the way CDR files carry them.
#[inline(never)]
fn write_timestamp(text: &mut String, unix_s: u64) {
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        text,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

/// Leaks on purpose: the leak check's test program.
#[inline(never)]
fn leak(bytes: usize) {
    let block = vec![0xA5u8; bytes];
    std::mem::forget(std::hint::black_box(block));
}
