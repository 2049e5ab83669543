//! The service's shared state, which makes its waits visible: every worker
//! thread takes one lock per request, and holds it across a checksum, the
//! append of the request to a log file (optionally fsync'ed) and the record
//! of the request in a history that grows with the load. So an off-CPU
//! profile of the server shows threads waiting for the lock (futex) and for
//! the disk (write, fsync), as in seed 003; and its heap grows under load.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Requests the history keeps: it grows with the load up to this many,
/// then forgets the oldest (a cache, not a leak).
const HISTORY_CAP: usize = 200_000;

/// Where and how the server logs requests.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub path: Option<PathBuf>,
    /// fsync after each append: every request then waits for the disk.
    pub fsync: bool,
    /// Remove the file's name as soon as it is open: the writes still reach
    /// the disk, and nothing is left behind once the server exits.
    pub unlink: bool,
}

pub struct Store {
    state: Mutex<State>,
    fsync: bool,
}

struct State {
    log: Option<File>,
    /// The recent requests: their generated text, kept as a response cache would.
    history: VecDeque<Box<[u8]>>,
    checksum: u64,
    requests: u64,
}

impl Store {
    pub fn open(options: &LogOptions) -> Result<Store, String> {
        let log = match &options.path {
            Some(path) => {
                // Truncated: a log holds one server run, not every run so far.
                let file = File::create(path)
                    .map_err(|e| format!("cannot create the log {}: {e}", path.display()))?;
                if options.unlink {
                    std::fs::remove_file(path)
                        .map_err(|e| format!("cannot unlink the log {}: {e}", path.display()))?;
                }
                Some(file)
            }
            None => None,
        };
        Ok(Store {
            state: Mutex::new(State {
                log,
                history: VecDeque::new(),
                checksum: 0,
                requests: 0,
            }),
            fsync: options.fsync,
        })
    }

    /// Records one answered request; returns the running checksum. The lock
    /// is held throughout on purpose: this is the contention the demo shows.
    #[inline(never)]
    pub fn record(&self, text: &[u8]) -> Result<u64, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.requests += 1;
        state.checksum = checksum(state.checksum, text);
        let line = format!(
            "{} {} {:016x}\n",
            state.requests,
            text.len(),
            state.checksum
        );
        if let Some(log) = state.log.as_mut() {
            // Unbuffered: one write(2) per request, under the lock.
            log.write_all(line.as_bytes())
                .and_then(|()| log.write_all(text))
                .map_err(|e| format!("cannot append to the log: {e}"))?;
            if self.fsync {
                log.sync_data()
                    .map_err(|e| format!("cannot fsync the log: {e}"))?;
            }
        }
        if state.history.len() == HISTORY_CAP {
            state.history.pop_front();
        }
        state.history.push_back(text.into());
        Ok(state.checksum)
    }
}

/// FNV-1a over the text, a few rounds: the small computation the lock covers.
#[inline(never)]
fn checksum(seed: u64, text: &[u8]) -> u64 {
    let mut hash = seed ^ 0xcbf2_9ce4_8422_2325;
    for _ in 0..4 {
        for &byte in text {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_to_the_log_and_history() {
        let path = std::env::temp_dir().join(format!("cdr-demo-store-{}.log", std::process::id()));
        let store = Store::open(&LogOptions {
            path: Some(path.clone()),
            fsync: true,
            unlink: false,
        })
        .unwrap();
        let first = store.record(b"0,1.5\n").unwrap();
        let second = store.record(b"1,2.5\n").unwrap();
        assert_ne!(first, second);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("1 6 "), "{text}");
        assert!(text.contains("\n1,2.5\n"), "{text}");
        assert_eq!(store.state.lock().unwrap().history.len(), 2);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_unlinked_log_leaves_nothing_behind() {
        let path = std::env::temp_dir().join(format!("cdr-demo-unlink-{}.log", std::process::id()));
        let store = Store::open(&LogOptions {
            path: Some(path.clone()),
            fsync: false,
            unlink: true,
        })
        .unwrap();
        store.record(b"x\n").unwrap();
        assert!(!path.exists());
    }
}
