//! Podstack utilisation samples, derived from a pod's profile, telemetry and the clock.
//!
//! Samples lie on a 5-minute grid. The current run's samples start at the pod's
//! `started_at`; earlier runs (before a stop and start) appear in the history too, and
//! each run's cumulative network counters start from 0, as a real agent's do. Gaps hold
//! no samples. A pod without GPU readings reports `"gpus": []`.

use chrono::{DateTime, Duration, DurationRound, Utc};

use super::world::{mix, PodstackPod, Profile};
use crate::providers::podstack::wire::{GpuSample, StatsSample};

pub const STEP_MINUTES: i64 = 5;
/// Network bytes per 5-minute step while busy and while idle.
const BUSY_BYTES: u64 = 60_000_000;
const IDLE_BYTES: u64 = 12_000;

/// The sample at `at` of a run that started at `started` with `profile`.
fn sample(
    p: &PodstackPod,
    started: DateTime<Utc>,
    profile: Profile,
    at: DateTime<Utc>,
) -> StatsSample {
    let steps = |d: Duration| (d.num_minutes().max(0) / STEP_MINUTES) as u64;
    let busy_for = profile.busy_between(started, at);
    let idle_for = (at - started) - busy_for;
    let bytes = steps(busy_for) * BUSY_BYTES + steps(idle_for) * IDLE_BYTES;
    let noise = mix(p.seed ^ at.timestamp() as u64);
    let busy = profile.is_busy(at);
    let util = |i: u64| {
        let n = mix(noise ^ i);
        if busy {
            35.0 + (n % 600) as f64 / 10.0
        } else {
            (n % 12) as f64 / 10.0
        }
    };
    let mem = p.pod.resources.memory_gb;
    let gpus = if p.telemetry.gpu_readings {
        (0..p.pod.resources.gpu_count)
            .map(|i| GpuSample {
                index: i,
                util_pct: util(u64::from(i)),
                memory_used_gb: if busy { 60.0 } else { 2.0 },
            })
            .collect()
    } else {
        Vec::new()
    };
    StatsSample {
        at,
        cpu_pct: if busy {
            40.0 + (noise % 400) as f64 / 10.0
        } else {
            1.5
        },
        memory_used_gb: if busy { mem * 0.6 } else { mem * 0.1 },
        memory_limit_gb: mem,
        gpus,
        net_rx_bytes: bytes * 3 / 4,
        net_tx_bytes: bytes / 4,
        disk_used_gb: 40.0,
    }
}

/// Grid instants in `[from, to]`, oldest first.
fn grid(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let step = Duration::minutes(STEP_MINUTES);
    let Ok(mut at) = to.duration_trunc(step) else {
        return vec![];
    };
    let mut out = Vec::new();
    while at >= from {
        out.push(at);
        at -= step;
    }
    out.reverse();
    out
}

/// Samples at 5-minute steps in `[now - window, now]`, only while the pod runs and its agent
/// reports: the earlier runs' and the current run's, outside the gaps.
pub fn samples(p: &PodstackPod, now: DateTime<Utc>, window: Duration) -> Vec<StatsSample> {
    let Some(started) = p.pod.started_at.filter(|_| p.pod.status == "Running") else {
        return vec![];
    };
    let end = match p.profile {
        Profile::Silent => return vec![],
        Profile::StaleSince(t) => t.min(now),
        _ => now,
    };
    let oldest = now - window;
    let in_gap = |at: &DateTime<Utc>| {
        p.telemetry
            .gaps
            .iter()
            .any(|(from, to)| from <= at && at < to)
    };
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>, Profile)> = p
        .telemetry
        .earlier_runs
        .iter()
        .filter(|r| r.to < started)
        .map(|r| (r.from, r.to.min(now), r.profile))
        .collect();
    runs.sort_by_key(|r| r.0);
    runs.push((started, end, p.profile));
    let mut out = Vec::new();
    for (from, to, profile) in runs {
        for at in grid(from.max(oldest), to) {
            if !in_gap(&at) {
                out.push(sample(p, from, profile, at));
            }
        }
    }
    out
}
