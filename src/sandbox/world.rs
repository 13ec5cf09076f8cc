//! The sandbox's simulated world: both providers' state, its clock, and pending transitions.
//!
//! Every request first calls [`World::settle`], which applies the asynchronous state
//! changes (stopping → stopped, starting → running, terminate → removed) that are due.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::daily::DailyHours;
use crate::providers::argus::wire as argus;
use crate::providers::podstack::wire as podstack;

/// The sandbox's clock: a simulated instant that advances with real time, and that tests
/// may set or move forward (`set`, `advance`) to play days and nights between runs.
/// Everything time-derived (served rows, samples, settling transitions, billing days)
/// reads it; rate-limit windows stay in real time.
#[derive(Debug)]
pub struct Clock {
    anchor: Mutex<Anchor>,
}

/// The simulated instant `at` corresponds to the real instant `real`.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    at: DateTime<Utc>,
}

impl Clock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Clock {
            anchor: Mutex::new(Anchor {
                real: Instant::now(),
                at: start,
            }),
        }
    }

    fn anchor(&self) -> MutexGuard<'_, Anchor> {
        self.anchor.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        let a = *self.anchor();
        a.at + Duration::from_std(a.real.elapsed()).unwrap_or_default()
    }

    /// Jumps to `t`; the clock keeps advancing in real time from there.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.anchor() = Anchor {
            real: Instant::now(),
            at: t,
        };
    }

    /// Moves the clock by `d` (negative moves it back); it keeps advancing in real time.
    pub fn advance(&self, d: Duration) {
        let mut a = self.anchor();
        let now = a.at + Duration::from_std(a.real.elapsed()).unwrap_or_default();
        *a = Anchor {
            real: Instant::now(),
            at: now + d,
        };
    }
}

/// A state change that completes later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    To(&'static str),
    Remove,
}

#[derive(Debug, Clone, Copy)]
pub struct Pending {
    pub transition: Transition,
    pub due: DateTime<Utc>,
}

/// How a simulated pod uses its GPUs over time (drives served rows and stats samples).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Profile {
    Busy,
    IdleSince(DateTime<Utc>),
    /// The monitoring agent never reported: no samples / no served row.
    Silent,
    /// Samples stopped arriving at this instant.
    StaleSince(DateTime<Utc>),
    /// Busy inside the daily hours, idle outside them.
    Daily(DailyHours),
}

impl Profile {
    /// Whether the pod does work at `at` (a silent or stale pod is taken as busy: its
    /// agent's silence is not evidence of idleness).
    pub fn is_busy(&self, at: DateTime<Utc>) -> bool {
        match self {
            Profile::IdleSince(t) => at < *t,
            Profile::Daily(h) => h.is_busy(at),
            Profile::Busy | Profile::Silent | Profile::StaleSince(_) => true,
        }
    }

    /// The busy time inside `[a, b)`.
    pub fn busy_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        match self {
            Profile::IdleSince(t) => (b.min(*t) - a).max(Duration::zero()),
            Profile::Daily(h) => h.busy_between(a, b),
            Profile::Busy | Profile::Silent | Profile::StaleSince(_) => {
                (b - a).max(Duration::zero())
            }
        }
    }
}

/// What billing history is generated from (kept after a pod is removed).
#[derive(Debug, Clone)]
pub struct CostBasis {
    pub pod_id: String,
    pub worker_id: Option<String>,
    pub project: String,
    pub rate_micros: i64,
    pub currency: String,
    pub created: NaiveDate,
    /// Share of each day the pod ran, in percent (100 = always on).
    pub duty_pct: u32,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct ArgusWorker {
    pub worker: argus::Worker,
    pub profile: Profile,
    pub cameras_when_busy: u32,
    pub pending: Option<Pending>,
}

impl ArgusWorker {
    /// Its `/compute/served` row at `now`: cameras, and the last time it served any.
    /// Busy: its cameras, served a minute ago. Idle since T: 0 cameras, T. Daily: busy
    /// inside the hours, else 0 cameras since the end of the latest busy period. Silent:
    /// 0 cameras, never served. Not running: 0 cameras.
    pub fn served(&self, now: DateTime<Utc>) -> (u32, Option<DateTime<Utc>>) {
        let running = self.worker.status == "running";
        match self.profile {
            Profile::Busy if running => (self.cameras_when_busy, Some(now - Duration::minutes(1))),
            Profile::Daily(h) if running && h.is_busy(now) => {
                (self.cameras_when_busy, Some(now - Duration::minutes(1)))
            }
            Profile::Daily(h) => (0, Some(h.latest_end(now))),
            Profile::IdleSince(t) => (0, Some(t)),
            _ => (0, None),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ArgusPod {
    pub pod: argus::ProviderPod,
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone)]
pub struct PodstackPod {
    pub pod: podstack::Pod,
    pub profile: Profile,
    pub seed: u64,
    pub pending: Option<Pending>,
    /// How its agent's samples deviate from a plain history of the current run.
    pub telemetry: Telemetry,
}

/// What a Podstack pod's utilisation history holds besides the current run's samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    /// `false`: every sample has `"gpus": []` (the agent reports no GPU readings).
    pub gpu_readings: bool,
    /// Runs before the current start; each one's network counters start from 0.
    pub earlier_runs: Vec<EarlierRun>,
    /// Intervals `[from, to)` without samples while the pod runs (agent down, no restart).
    pub gaps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            gpu_readings: true,
            earlier_runs: Vec::new(),
            gaps: Vec::new(),
        }
    }
}

/// A run of a pod before its current start: `[from, to)`, with its own activity.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierRun {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub profile: Profile,
}

#[derive(Debug, Default)]
pub struct ArgusWorld {
    pub workers: BTreeMap<String, ArgusWorker>,
    pub pods: BTreeMap<String, ArgusPod>,
    /// Workers with no row in `/compute/served` (their agent is down).
    pub unserved: std::collections::BTreeSet<String>,
    pub costs: Vec<CostBasis>,
    pub audit: Vec<argus::AuditEntry>,
}

#[derive(Debug, Default)]
pub struct PodstackWorld {
    pub projects: Vec<podstack::Project>,
    pub pods: BTreeMap<String, PodstackPod>,
    pub costs: Vec<CostBasis>,
    pub wallet_balance_micros: i64,
    pub wallet_currency: String,
}

/// A remembered response to an idempotent mutation.
#[derive(Debug, Clone)]
pub struct Remembered {
    pub status: u16,
    pub body: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct World {
    pub argus: ArgusWorld,
    pub podstack: PodstackWorld,
    /// (token, Idempotency-Key) → first response.
    pub idempotency: HashMap<(String, String), Remembered>,
    pub next_op: u64,
}

impl World {
    /// Applies every transition due at `now`.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        let mut removed = Vec::new();
        for (id, w) in self.argus.workers.iter_mut() {
            if let Some(p) = w.pending.filter(|p| p.due <= now) {
                w.pending = None;
                match p.transition {
                    Transition::To(status) => w.worker.status = status.to_string(),
                    Transition::Remove => removed.push((id.clone(), w.worker.pod_id.clone())),
                }
            }
        }
        for (worker_id, pod_id) in removed {
            self.argus.workers.remove(&worker_id);
            self.argus.pods.remove(&pod_id);
            self.argus.unserved.remove(&worker_id);
        }
        let mut orphans_removed = Vec::new();
        for (id, p) in self.argus.pods.iter_mut() {
            if let Some(pending) = p.pending.filter(|p| p.due <= now) {
                p.pending = None;
                match pending.transition {
                    Transition::To(status) => p.pod.status = status.to_string(),
                    Transition::Remove => orphans_removed.push(id.clone()),
                }
            }
        }
        for id in orphans_removed {
            self.argus.pods.remove(&id);
        }
        let mut ps_removed = Vec::new();
        for (id, p) in self.podstack.pods.iter_mut() {
            if let Some(pending) = p.pending.filter(|p| p.due <= now) {
                p.pending = None;
                match pending.transition {
                    Transition::To(status) => p.pod.status = status.to_string(),
                    Transition::Remove => ps_removed.push(id.clone()),
                }
            }
        }
        for id in ps_removed {
            self.podstack.pods.remove(&id);
        }
        self.idempotency
            .retain(|_, r| now - r.at < Duration::hours(24));
    }

    /// A fresh operation id and audit id.
    pub fn next_ids(&mut self) -> (String, String) {
        self.next_op += 1;
        (
            format!("op_{:08}", self.next_op),
            format!("aud_{:08}", self.next_op),
        )
    }
}

/// A deterministic 64-bit mix (splitmix64), for values derived from (seed, pod, day).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
