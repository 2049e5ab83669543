//! Progress on long work: an indicatif bar or spinner on a terminal, plain
//! lines otherwise (CI logs, pipes), so output stays readable everywhere.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub enum Progress {
    Bar(ProgressBar),
    Plain { prefix: String },
}

fn interactive() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

impl Progress {
    /// A bar for `len` steps with ETA.
    pub fn bar(len: u64, prefix: &str) -> Progress {
        if !interactive() {
            return Progress::Plain {
                prefix: prefix.trim().to_string(),
            };
        }
        let bar = ProgressBar::new(len).with_prefix(prefix.to_string());
        bar.set_style(
            ProgressStyle::with_template("{prefix}[{bar:30}] {pos}/{len} {msg} (ETA {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Progress::Bar(bar)
    }

    /// A spinner with elapsed time, for one long step (massif, perf script).
    pub fn spinner(message: &str) -> Progress {
        if !interactive() {
            eprintln!("{message} ...");
            return Progress::Plain {
                prefix: message.to_string(),
            };
        }
        let bar = ProgressBar::new_spinner().with_message(message.to_string());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress::Bar(bar)
    }

    pub fn set_message(&self, message: String) {
        if let Progress::Bar(bar) = self {
            bar.set_message(message);
        }
    }

    /// One step done; `line` is what plain mode prints for it.
    pub fn step(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.inc(1),
            Progress::Plain { prefix } => eprintln!("{prefix}: {line}"),
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }

    pub fn abandon(&self) {
        if let Progress::Bar(bar) = self {
            bar.abandon();
        }
    }
}
