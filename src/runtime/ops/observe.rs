//! What a health check sees: an HTTP(S) or TCP probe (status and latency, through
//! [`crate::probe`]), a command (exit code and the first number on its output), or a named
//! check; and the host's own metrics (memory, CPU, disk usage).

use super::super::steps::Ctx;
use super::OpsHost;
use crate::model::{Health, HealthProbe};
use crate::probe::Prober;
use std::time::Duration;

/// A probe's time limit when the health check writes none.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one probe of a health check saw.
#[derive(Debug, Clone)]
pub(super) struct Observation {
    /// Whether the check passed.
    pub ok: bool,
    /// How long it took.
    pub latency: Duration,
    /// The number it read, for metrics (`pool usage 73%`).
    pub value: Option<f64>,
    /// What it saw, in words.
    pub detail: String,
}

/// A health check's prober ([`crate::probe::Prober`]: its HTTP client and kept-alive
/// connection, or its TCP target), made at the check's first real probe and kept; or why
/// it could not be made (a bad URL, an unreadable `ca_file`), reported at every probe.
pub(super) type CheckProber = Option<Result<Prober, String>>;

/// The first number in `text` (`73`, `73.5%`, `pool: 73`).
pub(super) fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let neg = text[..start].ends_with('-');
    rest[..end]
        .trim_end_matches('.')
        .parse::<f64>()
        .ok()
        .map(|v| if neg { -v } else { v })
}

/// Probes health check `h` once for real; `prober` is its kept prober.
pub(super) async fn observe(
    host: &dyn OpsHost,
    h: &Health,
    prober: &mut CheckProber,
    timeout: Duration,
    ctx: &Ctx<'_>,
) -> Observation {
    let start = tokio::time::Instant::now();
    match &h.probe {
        HealthProbe::Probe(p) => {
            let prober = prober.get_or_insert_with(|| {
                let ca_file = h.ca_file.as_ref().map(|t| host.program().path_from_file(t));
                Prober::new(p.method.http(), &p.target.value, ca_file.as_deref())
                    .map_err(|e| e.to_string())
            });
            let result = match prober {
                Ok(prober) => prober.probe(timeout).await,
                Err(e) => return failed(e.clone(), start.elapsed()),
            };
            match result {
                Ok(seen) => Observation {
                    ok: seen.passes(h.expect.map(|e| e.value)),
                    latency: seen.latency,
                    value: None,
                    detail: seen.seen(),
                },
                Err(e) => failed(e.to_string(), start.elapsed()),
            }
        }
        HealthProbe::Sh { command } => {
            let done = host.sh(&command.value, timeout).await;
            let first_line = done.stdout.lines().next().unwrap_or("").trim().to_string();
            Observation {
                ok: done.error.is_none(),
                latency: start.elapsed(),
                value: first_number(&done.stdout),
                detail: match done.error {
                    Some(e) => e,
                    None if first_line.is_empty() => "exit 0".into(),
                    None => first_line,
                },
            }
        }
        HealthProbe::Check { check } => {
            let result = tokio::time::timeout(timeout, host.check(&check.name, ctx)).await;
            let (ok, detail) = match result {
                Ok(Ok(())) => (true, "passed".to_string()),
                Ok(Err(e)) => (false, e.to_string()),
                Err(_) => (false, format!("timed out after {timeout:?}")),
            };
            Observation {
                ok,
                latency: start.elapsed(),
                value: None,
                detail,
            }
        }
    }
}

fn failed(detail: String, latency: Duration) -> Observation {
    Observation {
        ok: false,
        latency,
        value: None,
        detail,
    }
}

/// The host's memory in use, in percent of the total and in bytes (from /proc/meminfo).
pub(super) fn host_memory() -> Option<(f64, f64)> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(first_number)
            .map(|kb| kb * 1024.0)
    };
    let (total, available) = (field("MemTotal:")?, field("MemAvailable:")?);
    let used = total - available;
    Some((used / total * 100.0, used))
}

/// The share of CPU time the host spent busy since `before` (from /proc/stat), and the
/// counters to pass next time.
pub(super) fn host_cpu(before: Option<(u64, u64)>) -> (Option<f64>, Option<(u64, u64)>) {
    let now = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        let line = s.lines().next()?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let idle = v.get(3)? + v.get(4).unwrap_or(&0);
        Some((v.iter().sum::<u64>(), idle))
    });
    let usage = match (before, now) {
        (Some((t0, i0)), Some((t1, i1))) if t1 > t0 => {
            Some(100.0 * (1.0 - (i1 - i0) as f64 / (t1 - t0) as f64))
        }
        _ => None,
    };
    (usage, now)
}

/// The disk holding `path`: used, in percent and bytes.
pub(super) fn disk_usage(path: &std::path::Path) -> Option<(f64, f64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain data, for which all zeroes is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &raw mut st) } != 0 {
        return None;
    }
    let total = st.f_blocks as f64 * st.f_frsize as f64;
    let free = st.f_bavail as f64 * st.f_frsize as f64;
    (total > 0.0).then(|| ((total - free) / total * 100.0, total - free))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_on_output() {
        assert_eq!(first_number("73\n"), Some(73.0));
        assert_eq!(first_number("pool usage: 81.5%"), Some(81.5));
        assert_eq!(first_number("-3 degrees"), Some(-3.0));
        assert_eq!(first_number("none"), None);
    }

    #[test]
    fn host_metrics_read() {
        let (pct, bytes) = host_memory().unwrap();
        assert!(pct > 0.0 && pct <= 100.0 && bytes > 0.0);
        let (_, first) = host_cpu(None);
        assert!(first.is_some());
        let (pct, _) = disk_usage(std::path::Path::new("/")).unwrap();
        assert!((0.0..=100.0).contains(&pct));
    }
}
