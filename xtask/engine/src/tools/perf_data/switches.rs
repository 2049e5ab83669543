//! The scheduler's switches of an off-CPU recording, read in process: each
//! `sched:sched_switch` sample (a thread blocking, with its stack) and each
//! switch record (`--switch-events`), as `tools::offcpu::Event`s in time
//! order.

use super::names::Names;
use super::processes::Processes;
use super::{read_samples, EventInfo, Item};
use crate::tools::offcpu::Event;

/// Where `sched_switch`'s fields lie in a sample's raw data.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SwitchFields {
    prev_comm: (usize, usize),
    prev_state: (usize, usize),
}

impl SwitchFields {
    /// From the tracepoint's format as the kernel describes it, else the
    /// layout every kernel since 4.x has.
    fn of_this_kernel() -> SwitchFields {
        ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
            .iter()
            .find_map(|root| {
                let format =
                    std::fs::read_to_string(format!("{root}/events/sched/sched_switch/format"))
                        .ok()?;
                SwitchFields::parse(&format)
            })
            .unwrap_or(SwitchFields {
                prev_comm: (8, 16),
                prev_state: (32, 8),
            })
    }

    /// `field:long prev_state;\toffset:32;\tsize:8;\tsigned:1;` lines.
    fn parse(format: &str) -> Option<SwitchFields> {
        let field = |name: &str| {
            let line = format.lines().find(|l| {
                l.split(';')
                    .next()
                    .is_some_and(|d| d.trim_end_matches(']').split(['[', ' ']).any(|w| w == name))
            })?;
            let number = |key: &str| -> Option<usize> {
                line.split(';')
                    .find_map(|part| part.trim().strip_prefix(key))
                    .and_then(|n| n.parse().ok())
            };
            Some((number("offset:")?, number("size:")?))
        };
        Some(SwitchFields {
            prev_comm: field("prev_comm")?,
            prev_state: field("prev_state")?,
        })
    }

    /// The blocking thread's name and its state as perf prints it (`S`,
    /// `D`, `R+`...).
    fn read(&self, raw: &[u8]) -> Option<(String, String)> {
        let (at, size) = self.prev_comm;
        let comm = raw.get(at..at + size)?;
        let comm = &comm[..comm.iter().position(|b| *b == 0).unwrap_or(comm.len())];
        let (at, size) = self.prev_state;
        let mut bytes = [0u8; 8];
        bytes[..size.min(8)].copy_from_slice(raw.get(at..at + size.min(8))?);
        let state = u64::from_ne_bytes(bytes);
        Some((
            String::from_utf8_lossy(comm).into_owned(),
            state_name(state),
        ))
    }
}

/// `prev_state` as the tracepoint's format prints it.
fn state_name(state: u64) -> String {
    const FLAGS: [(u64, &str); 8] = [
        (0x1, "S"),
        (0x2, "D"),
        (0x4, "T"),
        (0x8, "t"),
        (0x10, "X"),
        (0x20, "Z"),
        (0x40, "P"),
        (0x80, "I"),
    ];
    let flags: Vec<&str> = FLAGS
        .iter()
        .filter(|(bit, _)| state & 0xff & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    let mut name = if flags.is_empty() {
        "R".to_string()
    } else {
        flags.join("|")
    };
    if state & 0x100 != 0 {
        name.push('+');
    }
    name
}

/// Reads the switches of the perf.data at `path`, calling `on_event` for
/// each in time order; the blocking stacks named as the CPU profile's are
/// (with inline frames when asked). Returns the switch samples whose fields
/// did not read.
pub fn read_switches(
    path: &std::path::Path,
    inline_frames: bool,
    mut on_event: impl FnMut(Event),
) -> anyhow::Result<u64> {
    let fields = SwitchFields::of_this_kernel();
    let mut names = Names::new(inline_frames);
    let mut events: Vec<EventInfo> = Vec::new();
    let mut processes = Processes::default();
    let mut unread = 0;
    let mut ids = Vec::new();
    let mut each = |processes: &Processes, item: Item<'_>| match item {
        Item::Switch {
            tid,
            time_ns,
            out: true,
            preempted,
        } => on_event(Event::Out {
            tid,
            time_ns,
            preempted,
        }),
        Item::Switch { tid, time_ns, .. } => on_event(Event::In { tid, time_ns }),
        Item::Sample(sample) if sample.tracepoint => {
            let Some((comm, state)) = sample.raw.and_then(|raw| fields.read(raw)) else {
                unread += 1;
                return;
            };
            ids.clear();
            for frame in sample.frames {
                names.frame(&processes.files, *frame, &mut ids);
            }
            let stack = ids
                .iter()
                .map(|id| names.strings[*id as usize].clone())
                .collect();
            on_event(Event::Blocks {
                tid: sample.tid,
                time_ns: sample.time_ns,
                comm,
                state,
                stack,
            });
        }
        Item::Sample(_) => {}
    };
    read_samples(super::file(path)?, &mut events, &mut processes, &mut each)?;
    Ok(unread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_fields_read_from_the_kernels_format() {
        let format = "name: sched_switch\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
            \tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
            \tfield:long prev_state;\toffset:40;\tsize:8;\tsigned:1;\n\
            \tfield:char next_comm[16];\toffset:48;\tsize:16;\tsigned:0;\n";
        let fields = SwitchFields::parse(format).unwrap();
        assert_eq!(fields.prev_comm, (8, 16));
        assert_eq!(fields.prev_state, (40, 8));
        let mut raw = vec![0u8; 64];
        raw[8..13].copy_from_slice(b"tokio");
        raw[40] = 0x2;
        assert_eq!(fields.read(&raw), Some(("tokio".into(), "D".into())));
        assert_eq!(state_name(0), "R");
        assert_eq!(state_name(0x100), "R+");
        assert_eq!(state_name(0x1), "S");
        assert!(fields.read(&raw[..30]).is_none());
    }
}
