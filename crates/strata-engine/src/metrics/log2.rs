//! Power-of-two histograms, as Tempo's `quantile_over_time` and `histogram_over_time` use.
//!
//! A value `v ≥ 2` falls in the bucket whose upper bound is the smallest power of two
//! `≥ v` ([`bucket`]); durations are bucketed in nanoseconds and labelled in seconds.
//! [`quantile`] finds the bucket holding the `p`-th sample (rank `⌈p·n⌉`, at least 1) and
//! interpolates exponentially between the previous bucket's bound and its own, so a
//! quantile is exact to within one bucket (a factor of two).

/// The upper bound of `v`'s bucket, `None` below 2.
pub fn bucket(v: u64) -> Option<f64> {
    if v < 2 {
        return None;
    }
    let bits = 64 - (v - 1).leading_zeros();
    if bits >= 64 {
        return Some(2f64.powi(64));
    }
    Some((1u64 << bits) as f64)
}

/// The `p` quantile of `buckets` (upper bound, count), sorted by bound. 0 when empty.
pub fn quantile(p: f64, buckets: &[(f64, f64)]) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) || buckets.is_empty() {
        return 0.0;
    }
    let total: f64 = buckets.iter().map(|b| b.1).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let want = (p * total).ceil().max(1.0);
    let mut seen = 0.0;
    let mut at = 0;
    for (i, (bound, count)) in buckets.iter().enumerate() {
        at = i;
        if seen + count > want {
            break;
        }
        seen += count;
        if seen == want {
            return *bound;
        }
    }
    let (bound, count) = buckets[at];
    let frac = if count > 0.0 {
        (want - seen) / count
    } else {
        1.0
    };
    let hi = bound.log2();
    let lo = if at > 0 {
        buckets[at - 1].0.log2()
    } else {
        hi - 1.0
    };
    2f64.powf(lo + (hi - lo) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_next_powers_of_two() {
        assert_eq!(bucket(0), None);
        assert_eq!(bucket(1), None);
        assert_eq!(bucket(2), Some(2.0));
        assert_eq!(bucket(3), Some(4.0));
        assert_eq!(bucket(4), Some(4.0));
        assert_eq!(bucket(5), Some(8.0));
        assert_eq!(bucket(1_000_000_000), Some(1_073_741_824.0));
    }

    #[test]
    fn quantiles_land_in_the_right_bucket() {
        // 10 samples at ≤4, 10 at ≤8.
        let b = [(4.0, 10.0), (8.0, 10.0)];
        assert_eq!(quantile(0.5, &b), 4.0);
        assert_eq!(quantile(1.0, &b), 8.0);
        let q = quantile(0.75, &b);
        assert!(q > 4.0 && q < 8.0, "{q}");
        assert_eq!(quantile(0.0, &b), 2f64.powf(1.0 + 0.1));
        assert_eq!(quantile(0.5, &[]), 0.0);
    }
}
