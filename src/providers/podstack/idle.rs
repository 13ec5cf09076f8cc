//! Deciding from Podstack utilisation samples whether a pod is busy, idle (since when) or unknown.
//!
//! The rules, in order (unknown is active: it never leads to a stop):
//!
//! 1. Samples before the pod's last start (`started_at`) belong to an earlier run and are
//!    ignored: idleness never starts before the last start.
//! 2. No samples → unknown; the newest sample older than `stale_after` → unknown (stale).
//! 3. The newest sample without a reading for every GPU of the pod (`"gpus": []`, or fewer
//!    distinct GPUs than its `gpu_count`) → unknown: a GPU that was not read is not idle.
//! 4. The current run of readings is the newest samples back to a gap between consecutive
//!    samples longer than `max_gap`, or to a drop of the cumulative network counters (a
//!    restart). Fewer than two samples in it → unknown ("too few readings"): network
//!    throughput needs two samples of the same run.
//! 5. Idleness is judged per interval between consecutive samples of that run: idle when
//!    both samples' GPUs are all below `gpu_util_pct` and the counters' rate (received +
//!    sent bytes per second) is below `net_bytes_per_sec`; busy when either is above; unknown
//!    when a sample lacks GPU readings and nothing else shows work.
//! 6. The idle run is the longest suffix of idle intervals. None: busy if the newest
//!    interval is busy, unknown if it is unknown. `since` is the first sample of the idle run.
//! 7. `start_seen` is true when the idle run is preceded by a busy interval or begins at the
//!    pod's start (its first sample within one step of `started_at`, or right after a
//!    restart seen as a counter drop); false when it reaches back to the oldest sample of the
//!    window, to a gap or to a sample without GPU readings: `since` is then a lower bound.
//! 8. The evidence gives the GPU peak and the network peak rate over the idle run's samples
//!    and its start, e.g. "GPU peak 0.4%, network peak 40 B/s over 13 samples since
//!    2026-11-21 01:05 UTC" (reasons quote it).

use chrono::{DateTime, Duration, Utc};

use super::wire::StatsSample;
use crate::fleet::{Activity, Since};

/// The agent's sampling step (the contract's 5 minutes).
pub const SAMPLE_STEP: Duration = Duration::minutes(5);

/// What counts as idle for Podstack pods (from `[providers.NAME]` in podwarden.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct IdleThresholds {
    /// Every GPU's utilisation below this, in percent.
    pub gpu_util_pct: f64,
    /// Received + sent bytes per second below this.
    pub net_bytes_per_sec: f64,
    /// Samples older than this make the signal stale (unknown).
    pub stale_after: Duration,
    /// A longer silence between two samples ends the run of readings (the agent was down):
    /// what happened in between is not known. Default 15 min, three sampling steps.
    pub max_gap: Duration,
    /// History window requested: `1h`, `6h`, `24h` or `7d`.
    pub window: String,
}

impl Default for IdleThresholds {
    fn default() -> Self {
        IdleThresholds {
            gpu_util_pct: 5.0,
            net_bytes_per_sec: 10_000.0,
            stale_after: Duration::minutes(15),
            max_gap: Duration::minutes(15),
            window: "24h".into(),
        }
    }
}

/// What one interval between consecutive samples shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Interval {
    Idle,
    Busy,
    /// A sample without GPU readings and nothing else showing work.
    Unknown,
}

/// Where the current run of readings begins.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RunStart {
    /// At the pod's start, or right after a restart (a counter drop).
    Start,
    /// After a gap longer than `max_gap`, or at the oldest sample of the window.
    NotSeen,
}

fn total_bytes(s: &StatsSample) -> u64 {
    s.net_rx_bytes.saturating_add(s.net_tx_bytes)
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Busy, idle since the first sample of the newest idle run, or unknown (see the module
/// doc for the rules). `started_at` is the pod's last start, when the provider gives it.
pub fn activity_from_samples(
    samples: &[StatsSample],
    started_at: Option<DateTime<Utc>>,
    gpu_count: u32,
    now: DateTime<Utc>,
    t: &IdleThresholds,
) -> Activity {
    let unknown = |why: String| Activity::Unknown { why };
    // A sample reads every GPU of the pod, or its GPU signal is missing (unknown): a GPU that
    // was not read is not an idle GPU.
    let expected = gpu_count.max(1) as usize;
    let complete = |s: &StatsSample| {
        let mut seen: Vec<u32> = s.gpus.iter().map(|g| g.index).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len() >= expected
    };
    let mut samples: Vec<&StatsSample> = samples
        .iter()
        .filter(|s| started_at.is_none_or(|start| s.at >= start))
        .collect();
    samples.sort_by_key(|s| s.at);
    samples.dedup_by_key(|s| s.at);
    let Some(newest) = samples.last() else {
        return unknown(match started_at {
            Some(start) => format!(
                "no utilisation samples since the last start {}",
                fmt_time(start)
            ),
            None => "no utilisation samples".into(),
        });
    };
    if now - newest.at > t.stale_after {
        return unknown(format!(
            "utilisation stale: last sample {}",
            fmt_time(newest.at)
        ));
    }
    if !complete(newest) {
        return unknown(match newest.gpus.len() {
            0 => format!(
                "no GPU readings in the newest sample ({})",
                fmt_time(newest.at)
            ),
            n => format!(
                "only {n} of {expected} GPU readings in the newest sample ({})",
                fmt_time(newest.at)
            ),
        });
    }

    // The current run of readings: back to a gap or a counter drop.
    let mut lo = samples.len() - 1;
    let mut run_start = RunStart::NotSeen;
    while lo > 0 {
        let (prev, cur) = (samples[lo - 1], samples[lo]);
        if total_bytes(cur) < total_bytes(prev) {
            run_start = RunStart::Start;
            break;
        }
        if cur.at - prev.at > t.max_gap {
            break;
        }
        lo -= 1;
    }
    if lo == 0 && started_at.is_some_and(|start| samples[0].at - start <= SAMPLE_STEP) {
        run_start = RunStart::Start;
    }
    let run = &samples[lo..];
    if run.len() < 2 {
        return unknown(format!(
            "too few readings since {}: {} sample, network throughput needs two",
            fmt_time(run[0].at),
            run.len()
        ));
    }

    let gpu_idle = |s: &StatsSample| s.gpus.iter().all(|g| g.util_pct < t.gpu_util_pct);
    let rate = |a: &StatsSample, b: &StatsSample| {
        let secs = (b.at - a.at).num_seconds().max(1) as f64;
        total_bytes(b).saturating_sub(total_bytes(a)) as f64 / secs
    };
    let judge = |a: &StatsSample, b: &StatsSample| {
        if rate(a, b) >= t.net_bytes_per_sec || !gpu_idle(a) || !gpu_idle(b) {
            Interval::Busy
        } else if !complete(a) || !complete(b) {
            Interval::Unknown
        } else {
            Interval::Idle
        }
    };
    // first = index in `run` of the idle run's first sample.
    let mut first = run.len() - 1;
    let mut before = None;
    while first > 0 {
        match judge(run[first - 1], run[first]) {
            Interval::Idle => first -= 1,
            other => {
                before = Some(other);
                break;
            }
        }
    }
    if first == run.len() - 1 {
        return match before {
            Some(Interval::Unknown) => unknown(format!(
                "a sample without GPU readings at {}: too few readings after it",
                fmt_time(run[first - 1].at)
            )),
            _ => Activity::Busy,
        };
    }
    let start_seen = match before {
        Some(Interval::Busy) => true,
        Some(_) => false,
        None => run_start == RunStart::Start,
    };
    let idle = &run[first..];
    let gpu_peak = idle
        .iter()
        .flat_map(|s| s.gpus.iter().map(|g| g.util_pct))
        .fold(0.0_f64, f64::max);
    let net_peak = idle
        .windows(2)
        .map(|w| rate(w[0], w[1]))
        .fold(0.0_f64, f64::max);
    Activity::Idle {
        since: Some(idle[0].at),
        source: Some(Since::Provider),
        start_seen,
        evidence: format!(
            "GPU peak {gpu_peak:.1}%, network peak {net_peak:.0} B/s over {} samples since {}",
            idle.len(),
            fmt_time(idle[0].at)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::podstack::wire::GpuSample;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T02:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    fn sample(minutes_ago: i64, util: f64, bytes: u64) -> StatsSample {
        StatsSample {
            at: now() - Duration::minutes(minutes_ago),
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

    fn no_gpus(minutes_ago: i64, bytes: u64) -> StatsSample {
        StatsSample {
            gpus: vec![],
            ..sample(minutes_ago, 0.0, bytes)
        }
    }

    /// Quiet samples every 5 minutes from `from` down to `to` minutes ago, counters from `bytes`.
    fn quiet(from: i64, to: i64, bytes: u64) -> Vec<StatsSample> {
        (0..=(from - to) / 5)
            .map(|i| sample(from - 5 * i, 0.3, bytes + 1_000 * i as u64))
            .collect()
    }

    fn ago(minutes: i64) -> Option<DateTime<Utc>> {
        Some(now() - Duration::minutes(minutes))
    }

    fn activity(s: &[StatsSample], started: Option<DateTime<Utc>>) -> Activity {
        activity_from_samples(s, started, 1, now(), &IdleThresholds::default())
    }

    /// `(since minutes ago, start_seen)` of an idle result.
    fn idle(a: Activity) -> (i64, bool) {
        match a {
            Activity::Idle {
                since: Some(since),
                start_seen,
                ..
            } => ((now() - since).num_minutes(), start_seen),
            other => panic!("expected idle, got {other:?}"),
        }
    }

    fn unknown(a: Activity) -> String {
        match a {
            Activity::Unknown { why } => why,
            other => panic!("expected unknown, got {other:?}"),
        }
    }

    #[test]
    fn idle_since_is_the_start_of_the_newest_idle_run() {
        let s = vec![
            sample(20, 80.0, 0),
            sample(15, 80.0, 60_000_000),
            sample(10, 0.5, 60_001_000),
            sample(5, 0.2, 60_002_000),
        ];
        // The interval 15→10 is busy (GPU 80 % at 15): the idle run starts at 10.
        assert_eq!(idle(activity(&s, ago(600))), (10, true));
    }

    #[test]
    fn network_traffic_keeps_a_pod_busy_even_at_zero_gpu() {
        let s = vec![sample(10, 0.0, 0), sample(5, 0.0, 90_000_000)];
        assert_eq!(activity(&s, ago(600)), Activity::Busy);
    }

    #[test]
    fn missing_or_stale_samples_are_unknown() {
        assert!(unknown(activity(&[], None)).contains("no utilisation samples"));
        assert!(unknown(activity(&[sample(120, 0.0, 0)], None)).contains("stale"));
    }

    #[test]
    fn samples_before_the_last_start_belong_to_an_earlier_run() {
        // Quiet from 20 h ago until a stop at -65 min, restarted at -60 min, quiet since.
        let mut s = quiet(1200, 65, 0);
        s.extend(quiet(60, 0, 0));
        // Today's code counted idleness across the restart: idle for 20 h.
        assert_eq!(idle(activity(&s, ago(60))), (60, true));
        // Only the earlier run's samples: nothing is known about the current run.
        let earlier = quiet(1200, 65, 0);
        assert!(unknown(activity(&earlier, ago(3))).contains("no utilisation samples since"));
    }

    #[test]
    fn a_counter_drop_is_a_restart_that_begins_the_run() {
        // No started_at from the provider; the counters drop at -60 min.
        let mut s = quiet(300, 65, 5_000_000);
        s.extend(quiet(60, 0, 0));
        assert_eq!(idle(activity(&s, None)), (60, true));
    }

    #[test]
    fn a_gap_in_samples_ends_the_run_and_hides_its_start() {
        // Busy, then the agent was down 3 h (no restart), quiet since.
        let mut s = vec![sample(430, 90.0, 0), sample(425, 90.0, 50_000_000)];
        s.extend(quiet(240, 0, 50_010_000));
        assert_eq!(idle(activity(&s, ago(2000))), (240, false));
        // Quiet on both sides of the gap: still only since the gap's end.
        let mut s = quiet(600, 425, 0);
        s.extend(quiet(240, 0, 100_000));
        assert_eq!(idle(activity(&s, ago(2000))), (240, false));
        // Two steps apart is no gap (max_gap is three).
        let mut s = quiet(60, 25, 0);
        s.extend(quiet(15, 0, 10_000));
        assert_eq!(idle(activity(&s, ago(62))), (60, true));
    }

    #[test]
    fn the_newest_sample_without_gpu_readings_is_unknown() {
        let mut s = quiet(120, 5, 0);
        s.push(no_gpus(0, 30_000));
        assert!(unknown(activity(&s, ago(600))).contains("no GPU readings"));
        // All samples without GPU readings: "GPU at most 0.0%" used to stop such a pod.
        let s: Vec<StatsSample> = (0..24).map(|i| no_gpus(5 * (23 - i), i as u64)).collect();
        assert!(unknown(activity(&s, ago(600))).contains("no GPU readings"));
    }

    #[test]
    fn an_older_sample_without_gpu_readings_ends_the_idle_run_after_it() {
        let mut s = vec![sample(60, 90.0, 0), no_gpus(55, 1_000)];
        s.extend(quiet(50, 0, 2_000));
        assert_eq!(idle(activity(&s, ago(600))), (50, false));
        // The newest interval touches it: nothing idle is known after it.
        let s = vec![sample(10, 0.1, 0), no_gpus(5, 1_000), sample(0, 0.1, 2_000)];
        assert!(unknown(activity(&s, ago(600))).contains("without GPU readings"));
        // Network traffic next to it still shows work.
        let s = vec![no_gpus(5, 0), sample(0, 0.1, 90_000_000)];
        assert_eq!(activity(&s, ago(600)), Activity::Busy);
    }

    #[test]
    fn one_sample_is_too_few_readings() {
        let s = vec![sample(0, 0.0, 0)];
        assert!(unknown(activity(&s, ago(4))).contains("too few readings"));
        // One sample after a gap, too.
        let s = vec![sample(120, 0.0, 0), sample(0, 0.0, 10)];
        assert!(unknown(activity(&s, ago(600))).contains("too few readings"));
    }

    #[test]
    fn the_start_is_seen_at_the_pods_start_not_at_the_windows_edge() {
        let s = quiet(1435, 0, 0);
        // Started 1437 min ago: the first sample is within one step of it.
        assert_eq!(idle(activity(&s, ago(1437))), (1435, true));
        // Started two days ago: the window's oldest sample is only a lower bound.
        assert_eq!(idle(activity(&s, ago(2880))), (1435, false));
        assert_eq!(idle(activity(&s, None)), (1435, false));
    }

    #[test]
    fn the_evidence_gives_gpu_and_network_peaks_over_the_idle_run() {
        let s = vec![
            sample(15, 80.0, 0),
            sample(10, 0.4, 60_000_000),
            sample(5, 0.2, 60_003_000),
            sample(0, 0.1, 60_006_000),
        ];
        match activity(&s, ago(600)) {
            Activity::Idle { evidence, .. } => assert_eq!(
                evidence,
                "GPU peak 0.4%, network peak 10 B/s over 3 samples since 2026-11-21 01:50 UTC"
            ),
            other => panic!("expected idle, got {other:?}"),
        }
    }
}
