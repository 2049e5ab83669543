//! A process's call stacks unwound from a copy of its stack, as perf records
//! them (`--call-graph dwarf`): the registers and the bytes above the stack
//! pointer at each sample, unwound with the call-frame information of the
//! files mapped in the process (framehop).

use crate::elf::{Bytes, Image};
use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::Unwinder;
use std::ops::Range;

/// The frames perf itself unwinds at most (`kernel.perf_event_max_stack`'s
/// default): a deeper stack is cut there, as perf cut it.
pub const MAX_FRAMES: usize = 127;

/// The code mapped in one process, for unwinding its stacks.
#[derive(Default, Clone)]
pub struct ProcessStacks {
    unwinder: UnwinderX86_64<Bytes>,
}

/// The unwind rules already found, shared by every process of a profile.
#[derive(Default)]
pub struct UnwindCache(CacheX86_64);

/// A sample's user registers, as the unwinder needs them.
#[derive(Debug, Clone, Copy)]
pub struct Registers {
    pub ip: u64,
    pub sp: u64,
    pub bp: u64,
}

impl ProcessStacks {
    /// `image` mapped at `avma` (its addresses shifted by `bias`: an address
    /// in the file plus `bias` is where it lies in the process). A module
    /// mapped over another replaces it.
    pub fn add_module(&mut self, name: String, image: &Image, avma: Range<u64>, bias: u64) {
        self.unwinder.remove_module(avma.start);
        let module = framehop::Module::new(name, avma, bias, image.unwind_sections());
        self.unwinder.add_module(module);
    }

    /// The stack at a sample, innermost first, as the addresses to look up:
    /// the instruction pointer, then each return address less one (the
    /// call instruction). `stack` holds the bytes copied from `registers.sp`
    /// up. Returns whether the unwinding reached the stack's end (rather
    /// than failing, or stopping at [`MAX_FRAMES`]).
    pub fn unwind(
        &self,
        cache: &mut UnwindCache,
        registers: Registers,
        stack: &[u8],
        frames: &mut Vec<u64>,
    ) -> bool {
        let sp = registers.sp;
        let mut read_stack = |address: u64| {
            let at = usize::try_from(address.checked_sub(sp).ok_or(())?).map_err(|_| ())?;
            let bytes = stack.get(at..at.checked_add(8).ok_or(())?).ok_or(())?;
            Ok(u64::from_le_bytes(bytes.try_into().map_err(|_| ())?))
        };
        let regs = UnwindRegsX86_64::new(registers.ip, registers.sp, registers.bp);
        let mut iter = self
            .unwinder
            .iter_frames(registers.ip, regs, &mut cache.0, &mut read_stack);
        while frames.len() < MAX_FRAMES {
            match iter.next() {
                Ok(Some(frame)) => frames.push(frame.address_for_lookup()),
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
        false
    }
}
