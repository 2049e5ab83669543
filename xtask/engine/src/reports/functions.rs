//! Functions ranked by share of samples, from folded stacks: the
//! "top functions" text report (like `perf report`'s self and children
//! columns), and the before/after comparison of profile-compare.

use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionStats {
    pub name: String,
    /// Samples where the function is the leaf (on CPU itself).
    pub self_samples: u64,
    /// Samples where the function is anywhere on the stack (counted once per stack).
    pub total_samples: u64,
    pub self_pct: f64,
    pub total_pct: f64,
}

/// Aggregates folded stacks (`a;b;c 12`) per function, sorted by self share.
pub fn from_folded(folded: &str) -> Vec<FunctionStats> {
    let mut self_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut all = 0u64;
    for line in folded.lines() {
        let Some((stack, count)) = line.trim_end().rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        all += count;
        let frames: Vec<&str> = stack.split(';').collect();
        if let Some(leaf) = frames.last() {
            *self_counts.entry(leaf).or_default() += count;
        }
        let mut seen = HashSet::new();
        for frame in frames {
            if seen.insert(frame) {
                *total_counts.entry(frame).or_default() += count;
            }
        }
    }
    let pct = |n: u64| {
        if all == 0 {
            0.0
        } else {
            n as f64 * 100.0 / all as f64
        }
    };
    let mut stats: Vec<FunctionStats> = total_counts
        .into_iter()
        .map(|(name, total)| {
            let own = self_counts.get(name).copied().unwrap_or(0);
            FunctionStats {
                name: name.to_string(),
                self_samples: own,
                total_samples: total,
                self_pct: pct(own),
                total_pct: pct(total),
            }
        })
        .collect();
    stats.sort_by(|a, b| {
        b.self_samples
            .cmp(&a.self_samples)
            .then(b.total_samples.cmp(&a.total_samples))
            .then(a.name.cmp(&b.name))
    });
    stats
}

/// A `perf report`-like table of the top `n` functions by self share.
pub fn render_top(stats: &[FunctionStats], n: usize) -> String {
    let total: u64 = stats.iter().map(|s| s.self_samples).sum();
    let mut out = format!(
        "# {total} samples; top {} functions by self time\n",
        n.min(stats.len())
    );
    out.push_str(&format!(
        "{:>8} {:>8} {:>9}  {}\n",
        "self%", "total%", "samples", "function"
    ));
    for s in stats.iter().take(n) {
        out.push_str(&format!(
            "{:>7.2}% {:>7.2}% {:>9}  {}\n",
            s.self_pct, s.total_pct, s.self_samples, s.name
        ));
    }
    out
}

/// One function's share before and after.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FunctionChange {
    pub name: String,
    pub self_before: f64,
    pub self_after: f64,
    pub total_before: f64,
    pub total_after: f64,
}

impl FunctionChange {
    pub fn self_delta(&self) -> f64 {
        self.self_after - self.self_before
    }
}

/// Functions by largest change of self share (perf diff style), top `n`.
pub fn diff(before: &[FunctionStats], after: &[FunctionStats], n: usize) -> Vec<FunctionChange> {
    let mut changes: BTreeMap<&str, FunctionChange> = BTreeMap::new();
    for (side, stats) in [(0, before), (1, after)] {
        for s in stats {
            let entry = changes.entry(&s.name).or_insert_with(|| FunctionChange {
                name: s.name.clone(),
                self_before: 0.0,
                self_after: 0.0,
                total_before: 0.0,
                total_after: 0.0,
            });
            if side == 0 {
                entry.self_before = s.self_pct;
                entry.total_before = s.total_pct;
            } else {
                entry.self_after = s.self_pct;
                entry.total_after = s.total_pct;
            }
        }
    }
    let mut list: Vec<FunctionChange> = changes.into_values().collect();
    list.sort_by(|a, b| {
        b.self_delta()
            .abs()
            .total_cmp(&a.self_delta().abs())
            .then(
                (b.total_after - b.total_before)
                    .abs()
                    .total_cmp(&(a.total_after - a.total_before).abs()),
            )
            .then(a.name.cmp(&b.name))
    });
    list.truncate(n);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLDED: &str = "main;a;b 6\nmain;a 2\nmain;c;b 2\n";

    #[test]
    fn self_and_total_shares() {
        let stats = from_folded(FOLDED);
        let get = |n: &str| stats.iter().find(|s| s.name == n).unwrap().clone();
        assert_eq!(get("b").self_samples, 8);
        assert_eq!(get("b").self_pct, 80.0);
        assert_eq!(get("a").total_samples, 8);
        assert_eq!(get("a").self_samples, 2);
        assert_eq!(get("main").total_pct, 100.0);
        assert_eq!(stats[0].name, "b");
        let table = render_top(&stats, 2);
        assert!(table.starts_with("# 10 samples; top 2 functions"));
        assert!(
            table.contains("  80.00%  100.00%") || table.contains("80.00%"),
            "{table}"
        );
    }

    #[test]
    fn recursion_counts_once_in_total() {
        let stats = from_folded("main;f;f;f 4\n");
        let f = stats.iter().find(|s| s.name == "f").unwrap();
        assert_eq!(f.total_samples, 4);
        assert_eq!(f.total_pct, 100.0);
    }

    #[test]
    fn diff_ranks_by_self_change() {
        let before = from_folded("main;fast 50\nmain;slow 50\n");
        let after = from_folded("main;fast 20\nmain;slow 80\n");
        let changes = diff(&before, &after, 5);
        assert_eq!(changes[0].self_delta().abs(), 30.0);
        let slow = changes.iter().find(|c| c.name == "slow").unwrap();
        assert_eq!(slow.self_delta(), 30.0);
    }
}
