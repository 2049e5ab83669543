//! The processes of a recording as perf's records describe them: the files
//! mapped in each (`MMAP2`), its threads' names (`COMM`), forks and execs;
//! and the stack of each sample, its user part unwound from perf's copy.

use super::FastMap;
use linux_perf_data::linux_perf_event_reader::{constants, SampleRecord};
use std::collections::HashMap;
use std::sync::Arc;
use xtask_profiling_dwarf::elf::Image;
use xtask_profiling_dwarf::unwind::{ProcessStacks, Registers, UnwindCache};

/// One frame of a sample's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Frame {
    /// User code in a mapped file: the file (an index into
    /// [`Processes::files`]) and the offset in it of the address to look up.
    User { file: u32, offset: u64 },
    /// A user address in no mapping perf told of.
    Unmapped,
    /// A kernel address.
    Kernel(u64),
}

/// A file mapped in some process, read once however many map it.
pub(crate) struct MappedFile {
    /// perf's name of it: its path, or `[vdso]`, `//anon`...
    pub name: String,
    pub image: Option<Image>,
    pub segments: Vec<xtask_profiling_dwarf::elf::Segment>,
}

#[derive(Clone)]
struct Mapping {
    start: u64,
    end: u64,
    page_offset: u64,
    file: u32,
}

#[derive(Default, Clone)]
struct Process {
    /// By start address.
    maps: Arc<Vec<Mapping>>,
    stacks: Arc<ProcessStacks>,
}

/// Every process of a recording.
#[derive(Default)]
pub(crate) struct Processes {
    processes: FastMap<u32, Process>,
    comms: FastMap<u32, Arc<str>>,
    pub files: Vec<MappedFile>,
    file_index: HashMap<String, u32>,
    cache: UnwindCache,
}

/// What to add to a file's addresses to find them in a process that mapped
/// `length` bytes of it from `page_offset` at `start`: from the segment that
/// mapping loads (which starts within it: the mapping begins at the page
/// below), else the one holding the mapping's start.
fn load_bias(
    segments: &[xtask_profiling_dwarf::elf::Segment],
    start: u64,
    length: u64,
    page_offset: u64,
) -> Option<u64> {
    let within = segments
        .iter()
        .find(|(offset, _, _)| (page_offset..page_offset + length).contains(offset));
    let (offset, _, address) = within.or_else(|| {
        segments
            .iter()
            .find(|(offset, size, _)| (*offset..offset + size).contains(&page_offset))
    })?;
    Some(
        start
            .wrapping_add(offset.wrapping_sub(page_offset))
            .wrapping_sub(*address),
    )
}

/// The first of the callchain's context markers (`PERF_CONTEXT_MAX`).
const CONTEXT_MAX: u64 = -4095i64 as u64;

impl Processes {
    /// The name of thread `tid` (of process `pid`) when perf told it;
    /// perf script prints `:TID` for a thread it knows no name of.
    pub fn comm(&self, pid: u32, tid: u32) -> Option<&Arc<str>> {
        self.comms.get(&tid).or_else(|| self.comms.get(&pid))
    }

    pub fn set_comm(&mut self, pid: u32, tid: u32, name: &str, exec: bool) {
        if exec {
            // A new program: nothing of the old one's mappings holds.
            self.processes.insert(pid, Process::default());
        }
        self.comms.insert(tid, Arc::from(name));
    }

    pub fn fork(&mut self, pid: u32, ppid: u32, tid: u32, ptid: u32) {
        if let Some(comm) = self.comms.get(&ptid).or_else(|| self.comms.get(&ppid)) {
            let comm = comm.clone();
            self.comms.insert(tid, comm);
        }
        if pid != ppid {
            let parent = self.processes.get(&ppid).cloned().unwrap_or_default();
            self.processes.insert(pid, parent);
        }
    }

    /// A file mapped executable in `pid` (others are not code).
    pub fn map(
        &mut self,
        pid: u32,
        start: u64,
        length: u64,
        page_offset: u64,
        name: &str,
        protection: u32,
    ) {
        if protection & libc::PROT_EXEC as u32 == 0 || length == 0 {
            return;
        }
        let file = self.file(name);
        let process = self.processes.entry(pid).or_default();
        let maps = Arc::make_mut(&mut process.maps);
        let end = start.saturating_add(length);
        maps.retain(|m| m.end <= start || m.start >= end);
        let at = maps.partition_point(|m| m.start < start);
        maps.insert(
            at,
            Mapping {
                start,
                end,
                page_offset,
                file,
            },
        );
        let mapped = &self.files[file as usize];
        if let Some(image) = &mapped.image {
            if let Some(bias) = load_bias(&mapped.segments, start, length, page_offset) {
                Arc::make_mut(&mut process.stacks).add_module(
                    mapped.name.clone(),
                    image,
                    start..end,
                    bias,
                );
            }
        }
    }

    fn file(&mut self, name: &str) -> u32 {
        if let Some(index) = self.file_index.get(name) {
            return *index;
        }
        let image = if name.starts_with('/') {
            Image::open(std::path::Path::new(name))
        } else if name == "[vdso]" {
            super::names::own_vdso()
        } else {
            None
        };
        let segments = image.as_ref().map(Image::segments).unwrap_or_default();
        let index = self.files.len() as u32;
        self.files.push(MappedFile {
            name: name.to_string(),
            image,
            segments,
        });
        self.file_index.insert(name.to_string(), index);
        index
    }

    /// The frame of user address `address` in `pid`.
    fn user_frame(&self, pid: u32, address: u64) -> Frame {
        let Some(process) = self.processes.get(&pid) else {
            return Frame::Unmapped;
        };
        let at = process.maps.partition_point(|m| m.start <= address);
        match at.checked_sub(1).map(|i| &process.maps[i]) {
            Some(m) if address < m.end => Frame::User {
                file: m.file,
                offset: address - m.start + m.page_offset,
            },
            _ => Frame::Unmapped,
        }
    }

    /// The stack of a sample, innermost first: its kernel frames (from the
    /// callchain), then its user frames, unwound from the copied stack
    /// where perf copied one, else from the callchain (frame pointers).
    pub fn stack_of(&mut self, pid: u32, sample: &SampleRecord<'_>, frames: &mut Vec<Frame>) {
        let unwinds = sample.user_regs.is_some() && sample.user_stack.is_some();
        let mut user = false;
        if let Some(chain) = &sample.callchain {
            for i in 0..chain.len() {
                let Some(address) = chain.get(i) else { break };
                if address >= CONTEXT_MAX {
                    user = address == constants::PERF_CONTEXT_USER;
                    continue;
                }
                if !user {
                    frames.push(Frame::Kernel(address));
                } else if !unwinds {
                    frames.push(self.user_frame(pid, address));
                }
            }
        } else if let Some(ip) = sample.ip {
            frames.push(self.user_frame(pid, ip));
        }
        if unwinds {
            self.unwind(pid, sample, frames);
        }
    }

    fn unwind(&mut self, pid: u32, sample: &SampleRecord<'_>, frames: &mut Vec<Frame>) {
        let (Some(regs), Some((stack, size))) = (&sample.user_regs, &sample.user_stack) else {
            return;
        };
        let get = |r| regs.get(r);
        let (Some(ip), Some(sp), Some(bp)) = (
            get(constants::PERF_REG_X86_IP),
            get(constants::PERF_REG_X86_SP),
            get(constants::PERF_REG_X86_BP),
        ) else {
            return;
        };
        // No user state to unwind (a thread in the kernel's exit path): perf
        // gives such a sample no user frames.
        if ip == 0 {
            return;
        }
        let stack = stack.as_slice();
        let stack = &stack[..(*size as usize).min(stack.len())];
        let mut addresses = Vec::new();
        if let Some(process) = self.processes.get(&pid) {
            process.stacks.unwind(
                &mut self.cache,
                Registers { ip, sp, bp },
                stack,
                &mut addresses,
            );
        } else {
            addresses.push(ip);
        }
        frames.extend(addresses.into_iter().map(|a| self.user_frame(pid, a)));
    }
}
