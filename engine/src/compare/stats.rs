//! The statistics of `volley compare`: the Mann–Whitney U test (one-sided, exact for
//! small samples without ties, normal approximation with tie and continuity corrections
//! otherwise) and the Hodges–Lehmann estimate of the shift between two samples with its
//! confidence interval. Pure functions on slices; the normal distribution is `statrs`'s.
//!
//! The samples here are per-interval statistics of two runs (one per second, say), not
//! requests: see `compare` for why.

use statrs::distribution::{ContinuousCDF, Normal};

/// Largest `m × n` for which the exact distribution of U is computed.
const EXACT_MAX_CELLS: usize = 2500;

/// The standard normal CDF.
fn phi(z: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.cdf(z),
        Err(_) => f64::NAN,
    }
}

/// The standard normal quantile.
fn phi_inv(p: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// Midranks (1-based) of `a` then `b` pooled, and the tie correction term
/// `Σ (t³ - t)` over groups of tied values.
fn ranks(a: &[f64], b: &[f64]) -> (Vec<f64>, f64) {
    let mut all: Vec<(f64, usize)> = a.iter().chain(b).copied().zip(0..).collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut r = vec![0.0; all.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for x in &all[i..=j] {
            r[x.1] = mid;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    (r, ties)
}

/// The number of arrangements of `m` and `n` items giving each U = 0..=m·n (the
/// coefficients of the Gaussian binomial), as f64 (exact well past m·n = 2500).
fn u_counts(m: usize, n: usize) -> Vec<f64> {
    // c[j] for the current i: counts for sizes (i, j), built with
    // c(i, j, u) = c(i-1, j, u-j) + c(i, j-1, u).
    let mut prev: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect(); // i = 0
    for i in 1..=m {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        cur.push(vec![1.0]); // j = 0
        for j in 1..=n {
            let mut c = vec![0.0; i * j + 1];
            for (u, x) in prev[j].iter().enumerate() {
                c[u + j] += x;
            }
            for (u, x) in cur[j - 1].iter().enumerate() {
                c[u] += x;
            }
            cur.push(c);
        }
        prev = cur;
    }
    prev.pop().unwrap_or_default()
}

/// A one-sided Mann–Whitney U test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UTest {
    /// U of the second sample: the number of pairs (a, b) with b > a (ties count ½).
    pub u: f64,
    /// P(U ≥ u) under the null: small when `b` tends to be larger than `a`.
    pub p_greater: f64,
    /// P(U ≤ u) under the null: small when `b` tends to be smaller than `a`.
    pub p_less: f64,
    /// Whether the exact distribution was used (small samples without ties).
    pub exact: bool,
}

/// The Mann–Whitney U test of `b` against `a`; `None` when either sample is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<UTest> {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return None;
    }
    let (r, ties) = ranks(a, b);
    let rb: f64 = r[m..].iter().sum();
    let u = rb - (n * (n + 1)) as f64 / 2.0;
    if ties == 0.0 && m * n <= EXACT_MAX_CELLS {
        let counts = u_counts(m, n);
        let total: f64 = counts.iter().sum();
        let k = u.round() as usize;
        let ge: f64 = counts[k.min(counts.len())..].iter().sum();
        let le: f64 = counts[..=k.min(counts.len() - 1)].iter().sum();
        return Some(UTest {
            u,
            p_greater: ge / total,
            p_less: le / total,
            exact: true,
        });
    }
    let (mf, nf) = (m as f64, n as f64);
    let nn = mf + nf;
    let mean = mf * nf / 2.0;
    let var = mf * nf / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
    if var <= 0.0 {
        // Every value tied: no evidence either way.
        return Some(UTest {
            u,
            p_greater: 1.0,
            p_less: 1.0,
            exact: false,
        });
    }
    let sd = var.sqrt();
    Some(UTest {
        u,
        p_greater: 1.0 - phi((u - mean - 0.5) / sd),
        p_less: phi((u - mean + 0.5) / sd),
        exact: false,
    })
}

/// The Hodges–Lehmann estimate of the shift from `a` to `b` (the median of every
/// difference `b_j - a_i`) and its two-sided confidence interval at `level` (e.g. 0.95),
/// by the normal approximation of U's distribution; `None` when either sample is empty.
pub fn hodges_lehmann(a: &[f64], b: &[f64], level: f64) -> Option<(f64, f64, f64)> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut d: Vec<f64> = b
        .iter()
        .flat_map(|y| a.iter().map(move |x| y - x))
        .collect();
    d.sort_by(f64::total_cmp);
    let k = d.len();
    let median = if k % 2 == 1 {
        d[k / 2]
    } else {
        (d[k / 2 - 1] + d[k / 2]) / 2.0
    };
    let (m, n) = (a.len() as f64, b.len() as f64);
    let z = phi_inv(1.0 - (1.0 - level) / 2.0);
    let c = (m * n / 2.0 - z * (m * n * (m + n + 1.0) / 12.0).sqrt()).floor();
    let lo_i = (c.max(0.0) as usize).min(k - 1);
    let hi_i = k.saturating_sub(1 + lo_i).max(lo_i);
    Some((median, d[lo_i], d[hi_i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn the_exact_distribution_of_u_is_the_gaussian_binomial() {
        // m = 2, n = 2: U = 0..4 with counts 1 1 2 1 1 (6 arrangements).
        assert_eq!(u_counts(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        // m = 3, n = 3: 20 arrangements, symmetric.
        let c = u_counts(3, 3);
        assert_eq!(c.iter().sum::<f64>(), 20.0);
        assert_eq!(c, vec![1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0]);
        // C(40, 20) arrangements for 20 and 20.
        assert_eq!(u_counts(20, 20).iter().sum::<f64>(), 137_846_528_820.0);
    }

    #[test]
    fn separated_samples_give_the_smallest_exact_p_value() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let t = mann_whitney(&a, &b).unwrap();
        assert!(t.exact);
        assert_eq!(t.u, 25.0);
        // One arrangement of 252 has every b above every a.
        assert!(close(t.p_greater, 1.0 / 252.0, 1e-12));
        assert!(close(t.p_less, 1.0, 1e-12));
        let back = mann_whitney(&b, &a).unwrap();
        assert!(close(back.p_less, 1.0 / 252.0, 1e-12));
    }

    #[test]
    fn a_small_example_counted_by_hand() {
        // Pairs with b > a: 3.9 beats 3, 5.1 beats 4, 6.2 and 7.4 beat 5, 2.9 beats 2: U = 19.
        // For m = n = 5 the counts of U = 19..=25 are 9 7 5 3 2 1 1: P(U >= 19) = 28/252.
        let a = [1.1, 2.3, 3.2, 4.8, 5.5];
        let b = [3.9, 5.1, 6.2, 7.4, 2.9];
        let t = mann_whitney(&a, &b).unwrap();
        assert_eq!(t.u, 19.0);
        assert!(close(t.p_greater, 28.0 / 252.0, 1e-12));
        assert!(close(t.p_less, 1.0 - 19.0 / 252.0, 1e-12));
        let c = u_counts(5, 5);
        assert_eq!(&c[19..], &[9.0, 7.0, 5.0, 3.0, 2.0, 1.0, 1.0]);
    }

    #[test]
    fn the_normal_approximation_agrees_with_the_exact_test_on_large_samples() {
        // 60 and 60 values: the normal approximation is used (m·n > 2500).
        let a: Vec<f64> = (0..60).map(|i| f64::from(i) * 1.0).collect();
        let b: Vec<f64> = (0..60).map(|i| f64::from(i) * 1.0 + 10.5).collect();
        let t = mann_whitney(&a, &b).unwrap();
        assert!(!t.exact);
        // U = 60·60/2 + shift contribution; z ≈ 2.9 → p ≈ 0.002.
        assert!(t.p_greater < 0.01 && t.p_greater > 0.0001, "{t:?}");
        // A smaller exact case near the boundary gives a similar p-value.
        let a: Vec<f64> = (0..50).map(f64::from).collect();
        let b: Vec<f64> = (0..50).map(|i| f64::from(i) + 8.5).collect();
        let exact = mann_whitney(&a, &b).unwrap();
        assert!(exact.exact);
        let mut b2 = b.clone();
        b2.push(100.0);
        let approx = mann_whitney(&a, &b2).unwrap();
        assert!(!approx.exact);
        assert!((exact.p_greater.ln() - approx.p_greater.ln()).abs() < 0.7);
    }

    #[test]
    fn identical_samples_are_no_evidence() {
        let a = [5.0; 8];
        let t = mann_whitney(&a, &a).unwrap();
        assert_eq!((t.p_greater, t.p_less), (1.0, 1.0));
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let t = mann_whitney(&a, &a).unwrap();
        assert!(t.p_greater > 0.4 && t.p_less > 0.4, "{t:?}");
        assert!(mann_whitney(&[], &a).is_none());
    }

    #[test]
    fn hodges_lehmann_finds_a_shift_and_brackets_it() {
        let a: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i % 7) * 0.3).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 20.0).collect();
        let (est, lo, hi) = hodges_lehmann(&a, &b, 0.95).unwrap();
        assert!(close(est, 20.0, 1e-9));
        assert!(lo <= 20.0 && hi >= 20.0 && hi - lo < 2.0, "{lo} {hi}");
        let (est, lo, hi) = hodges_lehmann(&a, &a, 0.95).unwrap();
        assert!(close(est, 0.0, 1e-9) && lo <= 0.0 && hi >= 0.0);
    }
}
