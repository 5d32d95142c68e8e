//! The simulated world of `bmad monitor --simulate`: faults that come and go, response
//! times that degrade, gauges (pool and memory usage) that drift, log lines that match
//! the monitor's patterns now and then, fixes that work or do not. Every draw comes from
//! the seed, and on a virtual clock the order of draws is fixed: the same seed gives the
//! same week.

use std::collections::HashMap;
use std::time::Duration;

/// A check fails, on average, once in this long.
const MEAN_BETWEEN_FAULTS: Duration = Duration::from_secs(2 * 24 * 3600);
/// A log pattern matches, on average, once in this long.
const MEAN_BETWEEN_MATCHES: Duration = Duration::from_secs(3 * 24 * 3600);
/// Response times degrade, on average, once in this long.
const MEAN_BETWEEN_SLOWDOWNS: Duration = Duration::from_secs(24 * 3600);
/// The share of faults that clear by themselves after a few probes.
const TRANSIENT: f64 = 0.4;
/// The chance that one fix clears a fault.
const FIX_WORKS: f64 = 0.6;

/// What a simulated probe saw.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SimProbe {
    /// Whether the check passed.
    pub ok: bool,
    /// Its response time.
    pub latency: Duration,
    /// The number it read (pool usage, ...).
    pub value: f64,
}

#[derive(Debug, Clone)]
struct Fault {
    /// Probes left before it clears by itself; `None` when it stays until fixed.
    left: Option<u32>,
}

/// The simulated systems.
#[derive(Debug)]
pub(super) struct World {
    state: u64,
    faults: HashMap<String, Fault>,
    slow: HashMap<String, u32>,
    gauges: HashMap<String, f64>,
}

impl World {
    /// A world drawn from `seed`.
    pub(super) fn new(seed: u64) -> World {
        World {
            state: seed ^ 0x6a09_e667_f3bc_c908,
            faults: HashMap::new(),
            slow: HashMap::new(),
            gauges: HashMap::new(),
        }
    }

    /// A uniform draw in [0, 1) (splitmix64).
    fn draw(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with the chance of at least one event of mean spacing `mean` within `every`.
    fn happens(&mut self, every: Duration, mean: Duration) -> bool {
        self.draw() < every.as_secs_f64() / mean.as_secs_f64()
    }

    /// Probes the check `key`, probed each `every`.
    // Draws are in [0, 1): the counts and latencies made of them are small and positive.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub(super) fn probe(&mut self, key: &str, every: Duration) -> SimProbe {
        if !self.faults.contains_key(key) && self.happens(every, MEAN_BETWEEN_FAULTS) {
            let left = (self.draw() < TRANSIENT).then(|| 1 + (self.draw() * 3.0) as u32);
            self.faults.insert(key.to_string(), Fault { left });
        }
        let ok = match self.faults.get_mut(key) {
            Some(Fault { left: Some(0) }) => {
                self.faults.remove(key);
                true
            }
            Some(Fault { left: Some(n) }) => {
                *n -= 1;
                false
            }
            Some(Fault { left: None }) => false,
            None => true,
        };
        if !self.slow.contains_key(key) && self.happens(every, MEAN_BETWEEN_SLOWDOWNS) {
            let probes = 2 + (self.draw() * 10.0) as u32;
            self.slow.insert(key.to_string(), probes);
        }
        let slow = match self.slow.get_mut(key) {
            Some(0) => {
                self.slow.remove(key);
                false
            }
            Some(n) => {
                *n -= 1;
                true
            }
            None => false,
        };
        let base = if slow { 250.0 } else { 30.0 };
        let latency = Duration::from_micros(((base + self.draw() * 60.0) * 1000.0) as u64);
        let value = self.gauge(key);
        SimProbe { ok, latency, value }
    }

    /// A gauge in percent that drifts between 20 and 100 and mostly stays under 80.
    pub(super) fn gauge(&mut self, key: &str) -> f64 {
        let step = (self.draw() - 0.5) * 8.0;
        let pull = self.draw();
        let g = self.gauges.entry(key.to_string()).or_insert(50.0);
        // Pulled back towards 50 so that a breach is an episode, not a steady state.
        *g = (*g + step + (50.0 - *g) * 0.05 * pull).clamp(20.0, 100.0);
        (*g * 10.0).round() / 10.0
    }

    /// Whether the log pattern `key`, looked for each `every`, matched a line.
    pub(super) fn pattern_matches(&mut self, key: &str, every: Duration) -> bool {
        let hit = self.happens(every, MEAN_BETWEEN_MATCHES);
        if hit {
            // What the line reports stays broken until something fixes it.
            self.faults.insert(key.to_string(), Fault { left: None });
        }
        hit
    }

    /// Whether `key` is healthy now (no fault).
    pub(super) fn healthy(&self, key: &str) -> bool {
        !self.faults.contains_key(key)
    }

    /// Tries a fix on `key`: whether it cleared the fault.
    pub(super) fn try_fix(&mut self, key: &str) -> bool {
        if self.draw() < FIX_WORKS {
            self.faults.remove(key);
        }
        self.healthy(key)
    }

    /// People fixed `key` (an incident's resolution).
    pub(super) fn resolve(&mut self, key: &str) {
        self.faults.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let run = |seed| {
            let mut w = World::new(seed);
            (0..20_000)
                .map(|_| w.probe("api", Duration::from_secs(30)).ok)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn faults_are_rare_but_happen_in_a_week() {
        let mut w = World::new(1);
        let week = 7 * 24 * 3600 / 30;
        let mut faults = 0;
        for _ in 0..week {
            if !w.probe("api", Duration::from_secs(30)).ok {
                faults += 1;
                w.resolve("api"); // what a heal or an incident would do
            }
        }
        // About one in two days.
        assert!((1..=12).contains(&faults), "{faults} faults in a week");
        let mut w = World::new(2);
        w.faults.insert("x".into(), Fault { left: None });
        assert!((0..20).any(|_| w.try_fix("x")));
        assert!(w.healthy("x"));
    }
}
