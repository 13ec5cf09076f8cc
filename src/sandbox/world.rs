//! The sandbox's simulated world: both providers' state, its clock, and pending transitions.
//!
//! Every request first calls [`World::settle`], which applies the asynchronous state
//! changes (stopping → stopped, starting → running, terminate → removed) that are due.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::providers::argus::wire as argus;
use crate::providers::podstack::wire as podstack;

/// The sandbox's clock: a start instant that advances with real time.
#[derive(Debug, Clone)]
pub struct Clock {
    started: Instant,
    start: DateTime<Utc>,
}

impl Clock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Clock {
            started: Instant::now(),
            start,
        }
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.start + Duration::from_std(self.started.elapsed()).unwrap_or_default()
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
