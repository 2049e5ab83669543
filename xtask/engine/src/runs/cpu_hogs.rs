//! Busy threads that take the machine's cores from a workload, for
//! `bench-verdicts --contention`: a machine that gets busy halfway through
//! a comparison, as a shared CI runner does. Threads of this process, so
//! they end with it whatever happens; stopped when dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct CpuHogs {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl CpuHogs {
    /// `count` threads, each spinning on a core until dropped.
    pub fn start(count: usize) -> CpuHogs {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..count)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        CpuHogs { stop, threads }
    }

    /// One per core this process may use.
    pub fn every_core() -> CpuHogs {
        CpuHogs::start(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

impl Drop for CpuHogs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hogs_spin_until_dropped() {
        let started = std::time::Instant::now();
        let hogs = CpuHogs::start(1);
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(hogs);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
