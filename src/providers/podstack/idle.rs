//! Deciding from Podstack utilisation samples whether a pod is busy, idle (since when) or unknown.

use chrono::{DateTime, Duration, Utc};

use super::wire::StatsSample;
use crate::fleet::{Activity, Since};

/// What counts as idle for Podstack pods (from `[providers.NAME]` in podwarden.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct IdleThresholds {
    /// Every GPU's utilisation below this, in percent.
    pub gpu_util_pct: f64,
    /// Received + sent bytes per second below this.
    pub net_bytes_per_sec: f64,
    /// Samples older than this make the signal stale (unknown).
    pub stale_after: Duration,
    /// History window requested: `1h`, `6h`, `24h` or `7d`.
    pub window: String,
}

impl Default for IdleThresholds {
    fn default() -> Self {
        IdleThresholds {
            gpu_util_pct: 5.0,
            net_bytes_per_sec: 10_000.0,
            stale_after: Duration::minutes(15),
            window: "24h".into(),
        }
    }
}

/// Busy, idle since the oldest sample of the newest idle run, or unknown when samples are
/// missing or stale. Network throughput is the difference of cumulative counters between
/// consecutive samples, so the oldest sample only counts through its GPU utilisation.
pub fn activity_from_samples(
    samples: &[StatsSample],
    now: DateTime<Utc>,
    t: &IdleThresholds,
) -> Activity {
    let mut samples: Vec<&StatsSample> = samples.iter().collect();
    samples.sort_by_key(|s| s.at);
    let Some(last) = samples.last() else {
        return Activity::Unknown {
            why: "no utilisation samples".into(),
        };
    };
    if now - last.at > t.stale_after {
        return Activity::Unknown {
            why: format!(
                "utilisation stale: last sample {}",
                last.at.format("%Y-%m-%d %H:%M UTC")
            ),
        };
    }
    let idle_at = |i: usize| -> bool {
        let s = samples[i];
        let gpu_idle = s.gpus.iter().all(|g| g.util_pct < t.gpu_util_pct);
        let net_idle = match i.checked_sub(1).map(|p| samples[p]) {
            None => true,
            Some(prev) => {
                let secs = (s.at - prev.at).num_seconds().max(1) as f64;
                let bytes = (s.net_rx_bytes + s.net_tx_bytes)
                    .saturating_sub(prev.net_rx_bytes + prev.net_tx_bytes);
                (bytes as f64 / secs) < t.net_bytes_per_sec
            }
        };
        gpu_idle && net_idle
    };
    let mut first_idle = None;
    for i in (0..samples.len()).rev() {
        if idle_at(i) {
            first_idle = Some(i);
        } else {
            break;
        }
    }
    match first_idle {
        None => Activity::Busy,
        Some(i) => {
            let peak = samples[i..]
                .iter()
                .flat_map(|s| s.gpus.iter().map(|g| g.util_pct))
                .fold(0.0_f64, f64::max);
            Activity::Idle {
                since: Some(samples[i].at),
                source: Some(Since::Provider),
                start_seen: i > 0,
                evidence: format!(
                    "GPU at most {peak:.1}% across {} samples",
                    samples.len() - i
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::podstack::wire::GpuSample;

    fn sample(now: DateTime<Utc>, minutes_ago: i64, util: f64, bytes: u64) -> StatsSample {
        StatsSample {
            at: now - Duration::minutes(minutes_ago),
            cpu_pct: 1.0,
            memory_used_gb: 1.0,
            memory_limit_gb: 8.0,
            gpus: vec![GpuSample {
                index: 0,
                util_pct: util,
                memory_used_gb: 1.0,
            }],
            net_rx_bytes: bytes,
            net_tx_bytes: 0,
            disk_used_gb: 1.0,
        }
    }

    #[test]
    fn idle_since_is_the_start_of_the_newest_idle_run() {
        let now = Utc::now();
        let s = vec![
            sample(now, 20, 80.0, 0),
            sample(now, 15, 80.0, 60_000_000),
            sample(now, 10, 0.5, 60_001_000),
            sample(now, 5, 0.2, 60_002_000),
        ];
        match activity_from_samples(&s, now, &IdleThresholds::default()) {
            Activity::Idle { since, .. } => assert_eq!(since, Some(now - Duration::minutes(10))),
            other => panic!("expected idle, got {other:?}"),
        }
    }

    #[test]
    fn network_traffic_keeps_a_pod_busy_even_at_zero_gpu() {
        let now = Utc::now();
        let s = vec![sample(now, 10, 0.0, 0), sample(now, 5, 0.0, 90_000_000)];
        assert_eq!(
            activity_from_samples(&s, now, &IdleThresholds::default()),
            Activity::Busy
        );
    }

    #[test]
    fn missing_or_stale_samples_are_unknown() {
        let now = Utc::now();
        let t = IdleThresholds::default();
        assert!(matches!(
            activity_from_samples(&[], now, &t),
            Activity::Unknown { .. }
        ));
        let stale = vec![sample(now, 120, 0.0, 0)];
        assert!(matches!(
            activity_from_samples(&stale, now, &t),
            Activity::Unknown { .. }
        ));
    }
}
