//! Service mode: a loopback TCP server and a load generator, because two of
//! the seed projects profile a server while a load scenario runs.
//!
//! Protocol: one request per line, `GEN <subs>`; the reply is one line,
//! `OK <records> <bytes>`.

use crate::rng::Rng;
use crate::store::{LogOptions, Store};
use crate::{flag_pairs, parse_number};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Flags {
    port: u16,
    workers: usize,
    duration_s: f64,
    subs: u64,
    /// serve: where each request is appended (`--log`, `--fsync`, `--unlink-log`).
    log: LogOptions,
    /// `load --ramp-step S`: client i connects i*S seconds after the start,
    /// so the load grows step by step (seed 000's `ramp`); 0: all at once.
    ramp_step_s: f64,
}

impl Flags {
    pub fn parse(args: &[String]) -> Result<Flags, String> {
        let mut flags = Flags {
            port: 47_111,
            workers: 4,
            duration_s: 5.0,
            subs: 20,
            log: LogOptions::default(),
            ramp_step_s: 0.0,
        };
        for (name, value) in flag_pairs(args)? {
            match name.as_str() {
                "port" => flags.port = parse_number(&name, &value)?,
                "workers" => flags.workers = parse_number::<usize>(&name, &value)?.max(1),
                "duration" => flags.duration_s = parse_number(&name, &value)?,
                "subs" => flags.subs = parse_number(&name, &value)?,
                "log" => flags.log.path = Some(value.into()),
                "fsync" => flags.log.fsync = parse_bool(&name, &value)?,
                "unlink-log" => flags.log.unlink = parse_bool(&name, &value)?,
                "ramp-step" => flags.ramp_step_s = parse_number(&name, &value)?,
                _ => return Err(format!("unknown flag `--{name}`")),
            }
        }
        Ok(flags)
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("`--{name} {value}`: expected true or false")),
    }
}

pub fn serve(flags: Flags) -> Result<(), String> {
    let store = Arc::new(Store::open(&flags.log)?);
    let listener = TcpListener::bind(("127.0.0.1", flags.port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", flags.port))?;
    // The readiness line the xtask waits for.
    println!("cdr-demo: listening on 127.0.0.1:{}", flags.port);
    std::io::stdout().flush().ok();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let store = store.clone();
        std::thread::spawn(move || handle_client(stream, &store));
    }
    Ok(())
}

fn handle_client(stream: TcpStream, store: &Store) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut seed = 1u64;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = match line.trim().strip_prefix("GEN ").map(str::parse::<u64>) {
            Some(Ok(subs)) => {
                seed = seed.wrapping_add(1);
                match answer_request(subs, seed, store) {
                    Ok((records, bytes)) => format!("OK {records} {bytes}\n"),
                    Err(message) => format!("ERR {message}\n"),
                }
            }
            _ => "ERR expected `GEN <subs>`\n".to_string(),
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[inline(never)]
fn answer_request(subs: u64, seed: u64, store: &Store) -> Result<(u64, usize), String> {
    let mut rng = Rng::new(seed);
    let mut text = String::new();
    let mut records = 0;
    for subscriber in 0..subs {
        for _ in 0..rng.poisson(4.0) {
            let duration = rng.log_normal(4.0, 1.1);
            text.push_str(&format!("{subscriber},{duration:.1}\n"));
            records += 1;
        }
    }
    store.record(text.as_bytes())?;
    Ok((records, text.len()))
}

pub fn load(flags: Flags) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs_f64(flags.duration_s);
    let started = Instant::now();
    let results: Vec<Result<Vec<u32>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..flags.workers)
            .map(|i| {
                let flags = &flags;
                let start = started + Duration::from_secs_f64(flags.ramp_step_s * i as f64);
                scope.spawn(move || load_worker(flags, start, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies_us = Vec::new();
    for result in results {
        latencies_us.extend(result?);
    }
    if latencies_us.is_empty() {
        return Err("no request completed".into());
    }
    latencies_us.sort_unstable();
    let pct = |p: f64| latencies_us[((latencies_us.len() - 1) as f64 * p).round() as usize];
    println!(
        "METRICS ops={} ops_per_sec={:.0} p50_us={} p95_us={} p99_us={} workers={}",
        latencies_us.len(),
        latencies_us.len() as f64 / elapsed,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        flags.workers
    );
    Ok(())
}

fn load_worker(flags: &Flags, start: Instant, deadline: Instant) -> Result<Vec<u32>, String> {
    if start >= deadline {
        // A ramp longer than the load: this client's step never comes.
        return Ok(Vec::new());
    }
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let stream = TcpStream::connect(("127.0.0.1", flags.port))
        .map_err(|e| format!("cannot connect to 127.0.0.1:{}: {e}", flags.port))?;
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let request = format!("GEN {}\n", flags.subs);
    let mut reply = String::new();
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        writer
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        reply.clear();
        if reader.read_line(&mut reply).map_err(|e| e.to_string())? == 0 {
            return Err("server closed the connection".into());
        }
        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    Ok(latencies)
}
