//! How late probes start against their schedule: a histogram in 100 µs buckets up to one
//! second (later ones in one overflow bucket), so a week of probes costs a fixed 80 KB.

use std::time::Duration;

const BUCKET_US: u64 = 100;
const BUCKETS: usize = 10_000;

/// Lateness of every probe.
#[derive(Debug, Clone)]
pub struct Lateness {
    counts: Vec<u64>,
    total: u64,
    max: Duration,
}

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            counts: vec![0; BUCKETS + 1],
            total: 0,
            max: Duration::ZERO,
        }
    }
}

impl Lateness {
    /// Counts one probe that started `late` after its scheduled time.
    pub fn add(&mut self, late: Duration) {
        let micros = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let bucket = usize::try_from(micros / BUCKET_US).map_or(BUCKETS, |b| b.min(BUCKETS));
        self.counts[bucket] += 1;
        self.total += 1;
        self.max = self.max.max(late);
    }

    /// Probes counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The worst lateness seen.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The lateness that fraction `q` (0 to 1) of probes stayed under: the upper edge of
    /// its bucket (the maximum, for the overflow bucket).
    // `q` is between 0 and 1, so the rank is at most the count of probes.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let want = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                if i == BUCKETS {
                    return self.max;
                }
                return Duration::from_micros((i as u64 + 1) * BUCKET_US).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let mut l = Lateness::default();
        for ms in 1..=100 {
            l.add(Duration::from_millis(ms));
        }
        assert_eq!(l.count(), 100);
        assert_eq!(l.quantile(0.5), Duration::from_micros(50_100));
        assert_eq!(l.quantile(0.99), Duration::from_micros(99_100));
        assert_eq!(l.quantile(1.0), Duration::from_millis(100));
        l.add(Duration::from_secs(5));
        assert_eq!(l.quantile(1.0), Duration::from_secs(5));
        assert_eq!(Lateness::default().quantile(0.99), Duration::ZERO);
    }
}
