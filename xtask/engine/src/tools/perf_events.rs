//! Which event of a perf recording each sample and each loss belongs to:
//! perf's own accounting per event, read from the records of perf.data (the
//! events' attributes with their ids, and the `PERF_RECORD_LOST_SAMPLES`
//! that perf 6.0 and later writes per event at the end). A recording of
//! several events (the CPU samples, the off-CPU switches, the switch
//! records) loses each at its own rate; the total alone would charge the
//! switches' losses to the CPU samples.

use std::collections::HashMap;

/// `perf_event_attr.type` of a software event (cpu-clock, dummy).
pub const TYPE_SOFTWARE: u32 = 1;
/// `perf_event_attr.type` of a tracepoint (`sched:sched_switch`).
pub const TYPE_TRACEPOINT: u32 = 2;
/// `perf_event_attr.config` of the software `dummy` event, which samples
/// nothing and carries the side-band records (mmaps, `--switch-events`).
pub const SW_DUMMY: u64 = 9;

/// `PERF_SAMPLE_IDENTIFIER`: a sample starts with its event's id, and the
/// other records end with it.
const SAMPLE_IDENTIFIER: u64 = 1 << 16;

/// The ids read per event at most: one per thread or CPU it was opened on.
const MAX_IDS: usize = 1 << 16;

/// One event of a recording and what perf wrote and lost of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventCount {
    /// `perf_event_attr.type` and `.config`: what the event is.
    pub attr_type: u32,
    pub config: u64,
    /// Samples in the recording.
    pub samples: u64,
    /// Records the kernel dropped for this event (samples, and for the
    /// dummy event its side-band records), from `PERF_RECORD_LOST_SAMPLES`.
    pub lost: u64,
}

impl EventCount {
    pub fn is_tracepoint(&self) -> bool {
        self.attr_type == TYPE_TRACEPOINT
    }

    pub fn is_dummy(&self) -> bool {
        self.attr_type == TYPE_SOFTWARE && self.config == SW_DUMMY
    }
}

/// The events of one recording, and the counts per event.
#[derive(Debug, Default)]
pub struct Events {
    pub counts: Vec<EventCount>,
    ids: HashMap<u64, usize>,
    /// Every event's samples open with its id, and its other records end with it.
    identified: bool,
}

impl Events {
    /// Adds an event from its `perf_event_attr` (as perf.data stores it) and
    /// its ids; an attribute too short to read is an error.
    pub fn add(&mut self, attr: &[u8], ids: impl IntoIterator<Item = u64>) -> Result<(), String> {
        if attr.len() < 32 {
            return Err(format!(
                "an event attribute of {} bytes in the perf data",
                attr.len()
            ));
        }
        let sample_type = u64_at(attr, 24);
        let identified = sample_type & SAMPLE_IDENTIFIER != 0;
        self.identified = identified && (self.identified || self.counts.is_empty());
        let index = self.counts.len();
        self.counts.push(EventCount {
            attr_type: u32::from_ne_bytes(attr[..4].try_into().expect("4 bytes")),
            config: u64_at(attr, 8),
            ..EventCount::default()
        });
        for id in ids.into_iter().take(MAX_IDS) {
            self.ids.insert(id, index);
        }
        Ok(())
    }

    /// Whether samples open with their event's id (and the other records
    /// end with it), so that they can be told apart per event.
    pub fn identified(&self) -> bool {
        self.identified
    }

    /// A sample of the event with this id.
    pub fn sample(&mut self, id: u64) {
        if let Some(&at) = self.ids.get(&id) {
            self.counts[at].samples += 1;
        }
    }

    /// `lost` records the kernel dropped for the event with this id.
    pub fn lost(&mut self, id: u64, lost: u64) {
        if let Some(&at) = self.ids.get(&id) {
            self.counts[at].lost += lost;
        }
    }

    /// Adds the event of a `PERF_RECORD_HEADER_ATTR` (a stream's): its
    /// header, the attribute (whose own size is its second u32), the ids.
    pub fn add_header_attr(&mut self, record: &[u8]) -> Result<(), String> {
        let attr = record.get(8..).unwrap_or_default();
        let size = attr.get(4..8).map_or(0, |b| {
            u32::from_ne_bytes(b.try_into().expect("4 bytes")) as usize
        });
        if size < 32 || size > attr.len() {
            return Err(format!(
                "an event attribute of {size} bytes in a record of {}",
                record.len()
            ));
        }
        let ids = attr[size..].chunks_exact(8).map(|b| u64_at(b, 0));
        self.add(&attr[..size], ids)
    }
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}
