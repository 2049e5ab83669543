//! The machine's state over one timed run: how much of its CPU other
//! programs took while the run went on, how much the hypervisor gave to
//! other virtual machines (steal), and the load average at the end. A run's
//! wall time stretches when it has to wait for a core; these say whether it
//! had to, so that a comparison can tell a slower machine from slower code.
//!
//! The first line of `/proc/stat` sums every CPU's time in clock ticks:
//! user, nice, system, idle, iowait, irq, softirq, steal, then guest and
//! guest_nice, which user and nice already include. Over a run, the busy
//! ticks (all but idle, iowait and steal) less the run's own CPU time (from
//! `wait4`) are the others'; divided by all the ticks, they are the share
//! of the whole machine (every core) that others used. The kernel counts
//! in ticks (100 a second on most systems), so for runs of a few clock
//! ticks the shares are coarse; a run shorter than one tick records none.
//! Linux only: elsewhere no run records a load.

/// Others' share of the machine's CPU (plus steal) from which a run counts
/// as taken under heavy contention: half the machine went to something
/// else, so a run that wanted more than the other half waited for a core.
pub const HEAVY_CONTENTION: f64 = 0.5;

/// Whether a run with these shares was taken under heavy contention:
/// others' CPU and steal together took at least [`HEAVY_CONTENTION`] of the
/// machine.
pub fn is_heavy(others_cpu_share: f64, steal_share: f64) -> bool {
    others_cpu_share + steal_share >= HEAVY_CONTENTION
}

/// The machine's CPU time counters at one moment, in clock ticks, summed
/// over every CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    /// Every tick of every CPU (guest time aside: it is inside user time).
    pub total: u64,
    /// Ticks no one wanted a CPU for: idle and iowait.
    pub idle: u64,
    /// Ticks the hypervisor gave to other virtual machines.
    pub steal: u64,
}

/// The first (`cpu `) line of `/proc/stat`.
pub fn parse_stat(text: &str) -> Result<CpuTicks, String> {
    let line = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or("no `cpu ` line (the sum over every CPU)")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{line}`: not a list of tick counts"))?;
    // user nice system idle [iowait irq softirq steal guest guest_nice]:
    // the columns after idle came with later kernels.
    if fields.len() < 4 {
        return Err(format!("`{line}`: fewer than 4 columns"));
    }
    let at = |i: usize| fields.get(i).copied().unwrap_or(0);
    let total = fields.iter().take(8).sum();
    Ok(CpuTicks {
        total,
        idle: at(3) + at(4),
        steal: at(7),
    })
}

/// The one-minute load average: the first field of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<f64, String> {
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("`{}`: no load average first", text.trim()))
}

/// What the machine did over one run.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineLoad {
    /// The one-minute load average when the run ended.
    pub loadavg_1m: f64,
    /// Every CPU's time over the run (its wall time times the CPUs, as the
    /// kernel counted it), in seconds.
    pub capacity_s: f64,
    /// CPU seconds others used over the run: busy time, less the run's own.
    pub others_cpu_s: f64,
    /// CPU seconds the hypervisor gave to other virtual machines.
    pub steal_s: f64,
}

impl MachineLoad {
    /// The load between two readings of the counters, `tick_s` seconds a
    /// tick, the run itself having used `own_cpu_s`. None when no tick
    /// passed (the counters cannot tell anything then).
    pub fn between(
        before: CpuTicks,
        after: CpuTicks,
        tick_s: f64,
        own_cpu_s: f64,
        loadavg_1m: f64,
    ) -> Option<MachineLoad> {
        let total = after.total.checked_sub(before.total)?;
        if total == 0 {
            return None;
        }
        let idle = after.idle.saturating_sub(before.idle);
        let steal = after.steal.saturating_sub(before.steal);
        let busy = total.saturating_sub(idle).saturating_sub(steal);
        Some(MachineLoad {
            loadavg_1m,
            capacity_s: total as f64 * tick_s,
            // Ticks are sampled and the run's time is exact: a run alone on
            // the machine can read a little more than all the busy time.
            others_cpu_s: (busy as f64 * tick_s - own_cpu_s).max(0.0),
            steal_s: steal as f64 * tick_s,
        })
    }

    /// Others' share of the machine's CPU time over the run, 0 to 1.
    pub fn others_cpu_share(&self) -> f64 {
        (self.others_cpu_s / self.capacity_s).clamp(0.0, 1.0)
    }

    /// The hypervisor's share given to other virtual machines, 0 to 1.
    pub fn steal_share(&self) -> f64 {
        (self.steal_s / self.capacity_s).clamp(0.0, 1.0)
    }

    /// Counts `cpu_s` as part of the measurement, not as others' load: a
    /// server's CPU over its load run, or the other side of a duet pair.
    pub fn exclude(&mut self, cpu_s: f64) {
        self.others_cpu_s = (self.others_cpu_s - cpu_s).max(0.0);
    }

    /// Whether the run was taken under heavy contention ([`is_heavy`]).
    pub fn heavy_contention(&self) -> bool {
        is_heavy(self.others_cpu_share(), self.steal_share())
    }
}

/// The counters before a run, to be read again after it.
#[derive(Debug, Clone, Copy)]
pub struct Before(CpuTicks);

/// Reads the counters before a run; None where they cannot be read (not
/// Linux, no /proc).
pub fn before() -> Option<Before> {
    read_stat().map(Before)
}

impl Before {
    /// The machine's load over the run that just ended, which used
    /// `own_cpu_s` of CPU itself.
    pub fn after(self, own_cpu_s: f64) -> Option<MachineLoad> {
        let after = read_stat()?;
        let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
        MachineLoad::between(
            self.0,
            after,
            crate::runs::descendants::clock_tick_s(),
            own_cpu_s,
            parse_loadavg(&loadavg).ok()?,
        )
    }
}

fn read_stat() -> Option<CpuTicks> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    parse_stat(&std::fs::read_to_string("/proc/stat").ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/stat` of a 2-CPU virtual machine (the per-CPU lines and the
    /// rest cut), before and after one second of a run.
    const BEFORE: &str = "cpu  456220 68 64733 129278 2472 0 5148 523 0 0\n\
                          cpu0 228355 28 30956 66027 1178 0 2407 254 0 0\n\
                          cpu1 227865 39 33776 63250 1293 0 2741 269 0 0\n\
                          intr 123 0 0\nctxt 99\n";

    fn after(user: u64, idle: u64, steal: u64) -> String {
        format!(
            "cpu  {} 68 64733 {} 2472 0 5148 {} 0 0\nctxt 100\n",
            456220 + user,
            129278 + idle,
            523 + steal
        )
    }

    #[test]
    fn reads_the_sum_over_every_cpu() {
        let ticks = parse_stat(BEFORE).unwrap();
        assert_eq!(
            ticks,
            CpuTicks {
                total: 456220 + 68 + 64733 + 129278 + 2472 + 5148 + 523,
                idle: 129278 + 2472,
                steal: 523,
            }
        );
        // Old kernels: four columns.
        assert_eq!(parse_stat("cpu 1 2 3 4\n").unwrap().total, 10);
        assert!(parse_stat("cpu0 1 2 3 4\n")
            .unwrap_err()
            .contains("no `cpu ` line"));
        assert!(parse_stat("cpu 1 x 3 4\n")
            .unwrap_err()
            .contains("not a list"));
        assert!(parse_stat("cpu 1 2\n")
            .unwrap_err()
            .contains("fewer than 4"));
        assert_eq!(parse_loadavg("2.53 3.22 2.92 3/134 10049\n"), Ok(2.53));
        assert!(parse_loadavg("").is_err());
        assert!(parse_loadavg("NaN 1 1").is_err());
    }

    /// Two CPUs for one second (200 ticks): the run used one CPU (100
    /// ticks), a hog the other; then the run alone; then a run with half a
    /// CPU stolen by the hypervisor.
    #[test]
    fn others_are_the_busy_time_less_the_run_s_own() {
        let load = |after: &str, own_s: f64| {
            MachineLoad::between(
                parse_stat(BEFORE).unwrap(),
                parse_stat(after).unwrap(),
                0.01,
                own_s,
                1.5,
            )
            .unwrap()
        };
        let hogged = load(&after(200, 0, 0), 1.0);
        assert!((hogged.others_cpu_share() - 0.5).abs() < 1e-9);
        assert_eq!(hogged.steal_share(), 0.0);
        assert!(hogged.heavy_contention());
        assert_eq!(hogged.loadavg_1m, 1.5);

        let alone = load(&after(100, 100, 0), 1.0);
        assert_eq!(alone.others_cpu_share(), 0.0);
        assert!(!alone.heavy_contention());
        // The run's exact time can exceed the sampled ticks: never below 0.
        assert_eq!(load(&after(98, 102, 0), 1.0).others_cpu_share(), 0.0);

        let stolen = load(&after(100, 50, 50), 1.0);
        assert_eq!(
            (stolen.others_cpu_share(), stolen.steal_share()),
            (0.0, 0.25)
        );
        assert!(!stolen.heavy_contention());
        let stolen_and_busy = load(&after(150, 0, 50), 1.0);
        assert!((stolen_and_busy.others_cpu_share() - 0.25).abs() < 1e-9);
        assert!(stolen_and_busy.heavy_contention());
    }

    #[test]
    fn what_the_measurement_itself_used_is_not_others() {
        let mut duet = MachineLoad::between(
            parse_stat(BEFORE).unwrap(),
            parse_stat(&after(200, 0, 0)).unwrap(),
            0.01,
            1.0,
            2.0,
        )
        .unwrap();
        duet.exclude(0.99);
        assert!(duet.others_cpu_share() < 0.01);
        duet.exclude(5.0);
        assert_eq!(duet.others_cpu_share(), 0.0);
    }

    #[test]
    fn no_tick_no_load() {
        let ticks = parse_stat(BEFORE).unwrap();
        assert_eq!(MachineLoad::between(ticks, ticks, 0.01, 0.0, 0.0), None);
        // Counters that went backwards (another boot?): nothing to say.
        let later = parse_stat(&after(10, 0, 0)).unwrap();
        assert_eq!(MachineLoad::between(later, ticks, 0.01, 0.0, 0.0), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_machine_s_counters_read() {
        let before = before().expect("/proc/stat reads on Linux");
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(100) {}
        let load = before.after(0.0).expect("100 ms is several ticks");
        assert!(load.capacity_s > 0.0 && load.loadavg_1m >= 0.0);
        // This test's own spinning counts as others here.
        assert!(load.others_cpu_s > 0.0, "{load:?}");
    }
}
