//! A recording's samples folded into stacks (`cpu.folded`'s lines,
//! `comm;outermost;...;innermost COUNT`), with each sample's leaf tallied for
//! annotate/.

use super::names::Names;
use super::processes::{Frame, Processes};
use super::{read_samples, EventInfo, FastMap, Recording};
use crate::tools::perf::Folded;
use std::io::Write;

/// [`fold_recording`] of a perf.data file.
pub fn fold_file(
    path: &std::path::Path,
    options: FoldOptions,
    output: impl Write,
) -> anyhow::Result<Folded> {
    fold_recording(super::file(path)?, options, output)
}

/// A thread's name as perf told it (none: `:TID`), and its interned frame.
type ThreadName = (Option<std::sync::Arc<str>>, u32);

/// What to fold.
#[derive(Debug, Clone, Copy, Default)]
pub struct FoldOptions {
    /// Inline frames from the programs' DWARF.
    pub inline_frames: bool,
    /// Leave tracepoints' samples out (the off-CPU switches, folded apart).
    pub without_tracepoints: bool,
}

/// Folds the samples of one event of `recording` (the first sampled, as
/// `perf script`'s folding did: never two kinds of event in one graph) into
/// `output`, most of a recording's cost being each distinct frame named
/// once.
pub fn fold_recording(
    recording: Recording,
    options: FoldOptions,
    mut output: impl Write,
) -> anyhow::Result<Folded> {
    let mut names = Names::new(options.inline_frames);
    let mut events: Vec<EventInfo> = Vec::new();
    let mut processes = Processes::default();
    let mut stacks: FastMap<Vec<u32>, u64> = FastMap::default();
    let mut folded = Folded::default();
    let mut chosen: Option<usize> = None;
    let mut key = Vec::new();
    let mut comms: FastMap<(u32, u32), ThreadName> = FastMap::default();
    read_samples(recording, &mut events, &mut processes, |processes, item| {
        let super::Item::Sample(sample) = item else {
            return;
        };
        let tracepoint = sample.tracepoint;
        if options.without_tracepoints && tracepoint {
            return;
        }
        if *chosen.get_or_insert(sample.event) != sample.event || sample.frames.is_empty() {
            return;
        }
        key.clear();
        let mut leaf = None;
        for (i, frame) in sample.frames.iter().enumerate() {
            let symbol = names.frame(&processes.files, *frame, &mut key);
            if i == 0 {
                leaf = symbol.zip(match frame {
                    Frame::User { file, offset } => Some((*file, *offset)),
                    _ => None,
                });
            }
        }
        folded.leaves.total += 1;
        if let Some((symbol, (file, offset))) = leaf {
            let binary = &processes.files[file as usize].name;
            let function = &names.strings[symbol as usize];
            if binary.starts_with('/') && !binary.contains('\t') && !function.contains('\t') {
                folded.leaves.add_leaf(binary, function, offset);
            }
        }
        if key.is_empty() {
            return;
        }
        // Looked up by thread, without a copy of its name per sample.
        let comm = processes.comm(sample.pid, sample.tid);
        let known = comms
            .get(&(sample.pid, sample.tid))
            .filter(|(c, _)| c.as_ref() == comm);
        let comm_id = match known {
            Some((_, id)) => *id,
            None => {
                let name = comm.map_or_else(|| format!(":{}", sample.tid), |c| c.to_string());
                let id = names.intern(&name.trim().replace(' ', "_"));
                comms.insert((sample.pid, sample.tid), (comm.cloned(), id));
                id
            }
        };
        key.push(comm_id);
        key.reverse();
        *stacks.entry(key.clone()).or_default() += 1;
    })?;
    if let Some(event) = chosen.and_then(|e| events.get(e)) {
        folded.leaves.event = Some(
            event
                .name
                .split(':')
                .next()
                .unwrap_or(&event.name)
                .to_string(),
        );
    }
    let mut lines: Vec<(String, u64)> = stacks
        .into_iter()
        .map(|(key, count)| {
            let frames: Vec<&str> = key
                .iter()
                .map(|id| names.strings[*id as usize].as_str())
                .collect();
            (frames.join(";"), count)
        })
        .collect();
    lines.sort_unstable();
    for (stack, count) in &lines {
        writeln!(output, "{stack} {count}")?;
        folded.samples += count;
    }
    output.flush()?;
    folded.binaries = names.binaries;
    Ok(folded)
}
