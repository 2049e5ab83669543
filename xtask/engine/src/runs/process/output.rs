//! A child's output, read as it comes in chunks: the lines it watches for,
//! the tails kept for error reports, and who still holds its pipes.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};

/// Lines of each stream kept for error reports.
pub(super) const TAIL_LINES: usize = 40;

/// The longest line kept of a child's output; the rest of a longer line is
/// read and dropped, so that a workload printing one endless line cannot
/// fill our memory.
pub(super) const LINE_LIMIT: usize = 16 << 10;

/// The most bytes of watched lines kept: past it the oldest go (metrics take
/// the last value printed), so that a workload printing its metric line
/// millions of times cannot fill our memory either.
pub(super) const WATCHED_LIMIT: usize = 4 << 20;

/// Output collected by the reader threads.
#[derive(Default)]
pub(super) struct Captured {
    pub(super) stdout_tail: VecDeque<String>,
    pub(super) stderr_tail: VecDeque<String>,
    pub(super) watched: VecDeque<String>,
    watched_bytes: usize,
    /// Reader threads still reading (their stream not yet at its end).
    pub(super) open_readers: usize,
}

impl Captured {
    fn keep_watched(&mut self, line: String) {
        self.watched_bytes += line.len();
        self.watched.push_back(line);
        while self.watched_bytes > WATCHED_LIMIT && self.watched.len() > 1 {
            let oldest = self.watched.pop_front().unwrap_or_default();
            self.watched_bytes -= oldest.len();
        }
    }
}

/// The inode of a pipe, by which the processes holding its other end are
/// found in `/proc/PID/fd`.
pub(super) fn pipe_inode(pipe: &impl std::os::fd::AsFd) -> Option<u64> {
    nix::sys::stat::fstat(pipe.as_fd())
        .ok()
        .map(|stat| stat.st_ino)
}

/// Reads one output stream of a child as it comes, in chunks: keeps the
/// watched lines and a tail, each line cut at [`LINE_LIMIT`]. The chunk,
/// not the line, is the unit of work (one lock, one search per watched text),
/// so that a workload printing millions of short lines is not slowed down
/// by our reading.
pub(super) fn spawn_reader(
    mut stream: impl Read + Send + 'static,
    is_stdout: bool,
    watch: Vec<String>,
    captured: Arc<(Mutex<Captured>, Condvar)>,
) {
    captured
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .open_readers += 1;
    std::thread::spawn(move || {
        let mut lines = OutputLines::new(&watch);
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let read = match stream.read(&mut chunk) {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => None,
            };
            match read {
                Some(n) => lines.feed(&chunk[..n]),
                None => lines.end(),
            }
            lines.publish(is_stdout, &captured);
            if read.is_none() {
                break;
            }
        }
        let (lock, condvar) = &*captured;
        lock.lock().unwrap_or_else(|e| e.into_inner()).open_readers -= 1;
        condvar.notify_all();
    });
}

/// Splits a stream into lines: those containing a watched text, and the
/// last [`TAIL_LINES`], each cut at [`LINE_LIMIT`] bytes.
pub(super) struct OutputLines {
    watch: Vec<memchr::memmem::Finder<'static>>,
    /// The start of a line whose end has not arrived yet (at most the limit).
    pending: Vec<u8>,
    /// The pending line is past the limit: the rest of it is dropped.
    skipping: bool,
    /// Found since the last publish, in order.
    watched: Vec<String>,
    tail: VecDeque<String>,
}

impl OutputLines {
    pub(super) fn new(watch: &[String]) -> OutputLines {
        OutputLines {
            watch: watch
                .iter()
                .filter(|w| !w.is_empty())
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
                .collect(),
            pending: Vec::new(),
            skipping: false,
            watched: Vec::new(),
            tail: VecDeque::new(),
        }
    }

    pub(super) fn feed(&mut self, mut data: &[u8]) {
        if !self.pending.is_empty() || self.skipping {
            let Some(end) = memchr::memchr(b'\n', data) else {
                self.keep_pending(data);
                return;
            };
            self.keep_pending(&data[..end]);
            let line = std::mem::take(&mut self.pending);
            self.skipping = false;
            self.line(&line);
            data = &data[end + 1..];
        }
        let complete = memchr::memrchr(b'\n', data).map_or(0, |end| end + 1);
        self.lines(&data[..complete]);
        self.keep_pending(&data[complete..]);
    }

    /// The stream ended: a last line without a newline is a line too.
    pub(super) fn end(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(&line);
        }
        self.skipping = false;
    }

    fn keep_pending(&mut self, part: &[u8]) {
        let room = LINE_LIMIT - self.pending.len();
        if part.len() > room {
            self.skipping = true;
        }
        self.pending
            .extend_from_slice(&part[..part.len().min(room)]);
    }

    /// Complete lines, each ending with a newline: the watched ones are found
    /// by searching the whole region, the tail by walking back from its end.
    fn lines(&mut self, region: &[u8]) {
        if region.is_empty() {
            return;
        }
        let mut starts: Vec<usize> = Vec::new();
        for finder in &self.watch {
            for found in finder.find_iter(region) {
                let start = memchr::memrchr(b'\n', &region[..found]).map_or(0, |nl| nl + 1);
                // Only what is kept of a line counts, however it arrived.
                if found + finder.needle().len() <= start + LINE_LIMIT {
                    starts.push(start);
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        for start in starts {
            let end = start + memchr::memchr(b'\n', &region[start..]).unwrap_or(0);
            self.watched.push(text_of(&region[start..end]));
        }
        // The last lines, walking back from the region's end one newline at a time.
        let body = &region[..region.len() - 1];
        let mut start = body.len() + 1;
        let mut count = 0;
        while count < TAIL_LINES && start > 0 {
            start = memchr::memrchr(b'\n', &body[..start - 1]).map_or(0, |nl| nl + 1);
            count += 1;
        }
        for line in body[start..].split(|&b| b == b'\n') {
            self.push_tail(text_of(line));
        }
    }

    fn line(&mut self, line: &[u8]) {
        if self.watch.iter().any(|w| w.find(line).is_some()) {
            self.watched.push(text_of(line));
        }
        self.push_tail(text_of(line));
    }

    fn push_tail(&mut self, line: String) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// Hands what was found since the last call to the [`Captured`] output.
    pub(super) fn publish(&mut self, is_stdout: bool, captured: &(Mutex<Captured>, Condvar)) {
        let (lock, condvar) = captured;
        let mut captured = lock.lock().unwrap_or_else(|e| e.into_inner());
        if !self.watched.is_empty() {
            for line in self.watched.drain(..) {
                captured.keep_watched(line);
            }
            condvar.notify_all();
        }
        let tail = if is_stdout {
            &mut captured.stdout_tail
        } else {
            &mut captured.stderr_tail
        };
        for line in self.tail.drain(..) {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// A line as text: invalid UTF-8 replaced, trailing white space (`\r`) gone,
/// at most [`LINE_LIMIT`] bytes.
pub(super) fn text_of(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(LINE_LIMIT)])
        .trim_end()
        .to_string()
}

/// The processes (pid, name) other than us that hold an end of one of these
/// pipes open, from `/proc/PID/fd` (Linux; none elsewhere).
pub(super) fn pipe_holders(pipes: &[u64]) -> Vec<(i32, String)> {
    if pipes.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<String> = pipes
        .iter()
        .map(|inode| format!("pipe:[{inode}]"))
        .collect();
    let me = std::process::id() as i32;
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for process in processes.flatten() {
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let name = std::fs::read_to_string(process.path().join("comm")).unwrap_or_default();
            holders.push((pid, name.trim().to_string()));
        }
    }
    holders
}
