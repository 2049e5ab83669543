//! Exact null distribution of the Mann–Whitney U statistic. Both the U
//! test's exact p-value and the Hodges–Lehmann interval's critical value read
//! it, so it lives apart from either; it is the one piece of the statistics
//! that can be checked exhaustively (against enumerating every arrangement),
//! and the one that needs bounds (integer overflow, table size) and a cache.

use std::cell::RefCell;
use std::rc::Rc;

/// Exact null distribution of U for samples of sizes `n1`, `n2` without ties:
/// `cum[u]` is the number of the `C(n1+n2, n1)` equally likely arrangements
/// with `U <= u`.
pub(super) struct UNull {
    /// (smaller, larger) sample size.
    sizes: (usize, usize),
    cum: Vec<i128>,
    total: i128,
}

impl UNull {
    /// Largest table built (entries), to bound memory.
    const MAX_ENTRIES: usize = 1_000_000;

    /// `None` when the counts would not fit in `i128` or the table would be
    /// larger than [`UNull::MAX_ENTRIES`].
    pub(super) fn new(n1: usize, n2: usize) -> Option<UNull> {
        let (m, n) = (n1.min(n2), n1.max(n2));
        let max_u = m.checked_mul(n)?;
        if max_u >= Self::MAX_ENTRIES {
            return None;
        }
        // C(m+n, m) bounds every count; keep well clear of i128::MAX (1.7e38).
        let mut binom = 1.0f64;
        for i in 1..=m {
            binom = binom * (n + i) as f64 / i as f64;
        }
        if binom > 1e37 {
            return None;
        }
        // The counts are the coefficients of the Gaussian binomial
        // [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i).
        let mut c = vec![0i128; max_u + m + 1];
        c[0] = 1;
        let mut deg = 0;
        for i in 1..=m {
            let shift = n + i;
            let top = deg + shift;
            for k in (shift..=top).rev() {
                c[k] -= c[k - shift];
            }
            for k in i..=top {
                c[k] += c[k - i];
            }
            deg = i * n;
        }
        c.truncate(max_u + 1);
        let mut cum = c;
        for k in 1..cum.len() {
            cum[k] += cum[k - 1];
        }
        let total = *cum.last()?;
        Some(UNull {
            sizes: (m, n),
            cum,
            total,
        })
    }

    /// [`UNull::new`], remembering the last table of the thread: a
    /// comparison needs the same one twice, and runs come in equal sizes.
    pub(super) fn cached(n1: usize, n2: usize) -> Option<Rc<UNull>> {
        thread_local! {
            static LAST: RefCell<Option<Rc<UNull>>> = const { RefCell::new(None) };
        }
        let sizes = (n1.min(n2), n1.max(n2));
        LAST.with(|last| {
            if let Some(dist) = &*last.borrow() {
                if dist.sizes == sizes {
                    return Some(Rc::clone(dist));
                }
            }
            let dist = Rc::new(UNull::new(n1, n2)?);
            *last.borrow_mut() = Some(Rc::clone(&dist));
            Some(dist)
        })
    }

    /// `P(U <= k)`.
    pub(super) fn cdf(&self, k: i64) -> f64 {
        if k < 0 {
            return 0.0;
        }
        let k = (k as usize).min(self.cum.len() - 1);
        self.cum[k] as f64 / self.total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // -- exact machinery against brute force --------------------------------

    /// U-distribution counts by enumerating all C(n1+n2, n1) arrangements.
    fn brute_u_counts(n1: usize, n2: usize) -> Vec<u64> {
        let n = n1 + n2;
        let mut counts = vec![0u64; n1 * n2 + 1];
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != n1 {
                continue;
            }
            // Positions with a bit set belong to x; U = #(x above y) pairs.
            let mut u = 0;
            let mut ys_below = 0;
            for pos in 0..n {
                if mask & (1 << pos) != 0 {
                    u += ys_below;
                } else {
                    ys_below += 1;
                }
            }
            counts[u] += 1;
        }
        counts
    }

    #[test]
    fn exact_u_distribution_matches_enumeration() {
        for (n1, n2) in [(1, 1), (1, 5), (3, 3), (2, 7), (4, 6), (6, 5), (7, 7)] {
            let dist = UNull::new(n1, n2).unwrap();
            let brute = brute_u_counts(n1, n2);
            let mut cum = 0u64;
            for (u, c) in brute.iter().enumerate() {
                cum += c;
                assert_eq!(dist.cum[u], cum as i128, "n1={n1} n2={n2} u={u}");
            }
        }
        // Too large for i128: falls back instead of overflowing.
        assert!(UNull::new(200, 200).is_none());
        assert!(UNull::new(60, 60).is_some());
    }
}
