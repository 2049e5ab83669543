//! The task's standard output: what a task prints as its answer (tables,
//! listings, paths), through [`out!`] and [`outln!`] instead of `print!`,
//! which panics when the output cannot be written.
//!
//! A reader that stops reading (`cargo xtask list | head -1`) is no error:
//! the rest of the output is dropped and the task goes on to its end, so a
//! result is never lost to a closed pipe. Any other failure to write (a
//! full disk) is said once, on stderr, and fails the task at its end.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

const WRITING: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(WRITING);

/// Writes formatted text (see [`out!`]).
pub fn write_fmt(text: std::fmt::Arguments) {
    write_with(|out| out.write_fmt(text));
}

/// Writes bytes as they are (an exported file).
pub fn write_bytes(bytes: &[u8]) {
    write_with(|out| out.write_all(bytes));
}

fn write_with(write: impl FnOnce(&mut std::io::StdoutLock) -> std::io::Result<()>) {
    if STATE.load(Ordering::SeqCst) != WRITING {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(error) = write(&mut out) {
        failed(error);
    }
}

fn failed(error: std::io::Error) {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        STATE.store(CLOSED, Ordering::SeqCst);
    } else if STATE.swap(FAILED, Ordering::SeqCst) != FAILED {
        eprintln!("error: cannot write to standard output: {error}");
    }
}

/// Flushes what is left; whether everything was written (or its reader
/// stopped reading, which is no failure).
pub fn finish() -> bool {
    if STATE.load(Ordering::SeqCst) == WRITING {
        if let Err(error) = std::io::stdout().lock().flush() {
            failed(error);
        }
    }
    STATE.load(Ordering::SeqCst) != FAILED
}

/// `print!` to the task's standard output, without a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::reports::stdout::write_fmt(format_args!($($arg)*))
    };
}

/// `println!` to the task's standard output, without a panic.
macro_rules! outln {
    () => {
        $crate::reports::stdout::write_bytes(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::reports::stdout::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
