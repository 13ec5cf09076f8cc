//! Scenario pods: hand-written pods added to the sandbox's generated fleet, so that a test
//! (or a person) can play a precise case over real HTTP: a restart, a resume, a gap in
//! samples, missing GPU readings, a pod busy by day and idle at night.
//!
//! A scenario is a TOML file (`podwarden sandbox --scenario FILE`) or a
//! [`SandboxConfig::scenario`](super::SandboxConfig) value. With `--pods 0` the sandbox
//! serves only the scenario's pods. Every key has a default, so a case writes only what
//! matters. Times are relative to the sandbox clock at start (`"-5d"`, `"-30m"`, `"+2h"`,
//! `"now"`) or RFC 3339.
//!
//! ```toml
//! [[worker]]                      # an Argus worker (with its pod)
//! id = "wkr_daily"                # default wkr_scenario01, 02, …
//! activity = { daily = "08:00-23:00" }   # busy 08:00-23:00 UTC every day, idle otherwise
//!
//! [[worker]]
//! id = "wkr_idle"
//! activity = { idle_since = "-9h" }      # last_served_at = 9 h before the start
//! # also: pod_id, name, status ("running"), created ("-30d"), last_started ("-2d"),
//! # ttl_expires, labels, project, owner, region, rate ("2.4900" USD/h), gpu_type,
//! # gpu_count, cameras (when busy: 12); activity: "busy" (default), { idle_since = T },
//! # "unserved" (no /compute/served row), "never_served" (0 cameras, last_served_at null),
//! # { daily = "HH:MM-HH:MM" } (0 cameras outside, last_served_at = the latest end).
//!
//! [[orphan]]                      # an Argus pod without a worker
//! pod_id = "pod_lost"
//! orphaned_since = "-9d"          # absent: null (not known)
//! # also: status ("running"), created ("-60d"), gpu_type, gpu_count, region, rate
//!
//! [[podstack]]                    # a Podstack pod
//! id = "pd_restarted"
//! started = "-1h"                 # the current run's start (default "-2d")
//! activity = { idle_since = "-1h" }
//! earlier_runs = [{ from = "-20h", to = "-65m" }]   # ran before (idle unless `activity`)
//! gaps = [{ from = "-7h", to = "-4h" }]             # no samples, no restart
//! gpu_readings = false            # every sample has "gpus": []
//! # also: name, project ("prj_scenario"), status ("Running"), created ("-30d"), labels,
//! # rate ("3.50"), currency ("USD"), gpu_type, gpu_count, image; activity: "busy",
//! # { idle_since = T }, "silent" (no samples), { stale_since = T }, { daily = "…" }.
//! ```
//!
//! Samples lie on a 5-minute grid; an earlier run's network counters restart from 0 at its
//! start, as the current run's do. Sandbox actions (stop, resume, start, restart) change a
//! scenario pod exactly as a generated one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::daily::DailyHours;
use super::when::When;
use super::world::{
    mix, ArgusPod, ArgusWorker, CostBasis, EarlierRun, PodstackPod, Profile, Telemetry, World,
};
use crate::money::{decimal_to_micros, fixed};
use crate::providers::argus::wire as argus;
use crate::providers::podstack::wire as podstack;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("reading scenario {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("scenario: {0}")]
    Invalid(String),
}

/// Pods to add to the generated fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub worker: Vec<WorkerSpec>,
    pub orphan: Vec<OrphanSpec>,
    pub podstack: Vec<PodstackSpec>,
}

/// What an Argus worker's `/compute/served` row shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerActivity {
    Busy,
    /// 0 cameras, `last_served_at` = T.
    IdleSince(When),
    /// No row in `/compute/served`.
    Unserved,
    /// 0 cameras, `last_served_at` null.
    NeverServed,
    /// Cameras inside the hours; outside, 0 with `last_served_at` = the latest end.
    Daily(DailyHours),
}

/// What a Podstack pod's utilisation samples show.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodActivity {
    Busy,
    /// Quiet GPUs and network from T (or from its start, if later).
    IdleSince(When),
    /// No samples at all.
    Silent,
    /// Samples stop at T.
    StaleSince(When),
    /// Busy inside the hours (GPU and network), idle outside them.
    Daily(DailyHours),
}

impl PodActivity {
    fn profile(self, start: DateTime<Utc>) -> Profile {
        match self {
            PodActivity::Busy => Profile::Busy,
            PodActivity::IdleSince(t) => Profile::IdleSince(t.at(start)),
            PodActivity::Silent => Profile::Silent,
            PodActivity::StaleSince(t) => Profile::StaleSince(t.at(start)),
            PodActivity::Daily(h) => Profile::Daily(h),
        }
    }
}

/// An Argus worker and its pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSpec {
    /// Default `wkr_scenarioNN` (its position, from 01).
    pub id: Option<String>,
    /// Default `pod_` followed by the worker id without its `wkr_`.
    pub pod_id: Option<String>,
    /// Default: the id.
    pub name: Option<String>,
    pub status: String,
    pub created: When,
    pub last_started: Option<When>,
    pub ttl_expires: Option<When>,
    pub labels: BTreeMap<String, String>,
    pub project: String,
    pub owner: String,
    pub region: String,
    /// USD per hour.
    pub rate: String,
    pub gpu_type: String,
    pub gpu_count: u32,
    /// Cameras served while busy.
    pub cameras: u32,
    pub activity: WorkerActivity,
}

impl Default for WorkerSpec {
    fn default() -> Self {
        WorkerSpec {
            id: None,
            pod_id: None,
            name: None,
            status: "running".into(),
            created: When::ago(Duration::days(30)),
            last_started: Some(When::ago(Duration::days(2))),
            ttl_expires: None,
            labels: BTreeMap::new(),
            project: "research".into(),
            owner: "scenario".into(),
            region: "us-east-1".into(),
            rate: "2.4900".into(),
            gpu_type: "H100-80GB".into(),
            gpu_count: 1,
            cameras: 12,
            activity: WorkerActivity::Busy,
        }
    }
}

/// An Argus pod without a worker row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrphanSpec {
    /// Default `pod_orphanNN`.
    pub pod_id: Option<String>,
    pub status: String,
    /// Absent: the provider does not know (`null`).
    pub orphaned_since: Option<When>,
    pub created: When,
    pub region: String,
    /// USD per hour.
    pub rate: String,
    pub gpu_type: String,
    pub gpu_count: u32,
}

impl Default for OrphanSpec {
    fn default() -> Self {
        OrphanSpec {
            pod_id: None,
            status: "running".into(),
            orphaned_since: None,
            created: When::ago(Duration::days(60)),
            region: "us-east-1".into(),
            rate: "2.4900".into(),
            gpu_type: "H100-80GB".into(),
            gpu_count: 1,
        }
    }
}

/// A Podstack pod and the shape of its utilisation history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PodstackSpec {
    /// Default `pd_scenarioNN`.
    pub id: Option<String>,
    /// Default: the id.
    pub name: Option<String>,
    /// A project id; the sandbox lists every scenario project (named by its id).
    pub project: String,
    /// `Running`, `Starting`, `Stopping`, `Stopped`, `Restarting` or `Error` (any case).
    pub status: String,
    pub created: When,
    /// The current run's start (`started_at`).
    pub started: Option<When>,
    pub labels: BTreeMap<String, String>,
    /// Per hour, in `currency`.
    pub rate: String,
    pub currency: String,
    pub gpu_type: String,
    pub gpu_count: u32,
    pub image: String,
    pub activity: PodActivity,
    /// `false`: every sample has `"gpus": []`.
    pub gpu_readings: bool,
    /// Runs before `started`, each with its own counters from 0 (idle unless said).
    pub earlier_runs: Vec<RunSpec>,
    /// Intervals without samples while running (the agent was down; no restart).
    pub gaps: Vec<GapSpec>,
}

impl Default for PodstackSpec {
    fn default() -> Self {
        PodstackSpec {
            id: None,
            name: None,
            project: "prj_scenario".into(),
            status: "Running".into(),
            created: When::ago(Duration::days(30)),
            started: Some(When::ago(Duration::days(2))),
            labels: BTreeMap::new(),
            rate: "3.50".into(),
            currency: "USD".into(),
            gpu_type: "A100-80GB".into(),
            gpu_count: 1,
            image: "pytorch/pytorch:2.4.0-cuda12.1".into(),
            activity: PodActivity::Busy,
            gpu_readings: true,
            earlier_runs: Vec::new(),
            gaps: Vec::new(),
        }
    }
}

/// An earlier run `[from, to]` of a Podstack pod.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub from: When,
    pub to: When,
    /// Default: idle for the whole run.
    #[serde(default)]
    pub activity: Option<PodActivity>,
}

/// No samples in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapSpec {
    pub from: When,
    pub to: When,
}

const ARGUS_STATUSES: [&str; 5] = ["running", "starting", "stopping", "stopped", "error"];
const PODSTACK_STATUSES: [&str; 6] = [
    "Running",
    "Starting",
    "Stopping",
    "Stopped",
    "Restarting",
    "Error",
];

/// Podstack's spelling of a status given in any case, if it is one.
fn podstack_status(s: &str) -> Option<&'static str> {
    PODSTACK_STATUSES
        .iter()
        .find(|p| p.eq_ignore_ascii_case(s))
        .copied()
}

fn rate_micros(rate: &str) -> Option<i64> {
    rate.parse::<rust_decimal::Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
        .map(decimal_to_micros)
}

/// Whether `a` is before `b`; a relative and an absolute instant are not compared here
/// (the sandbox ignores an earlier run that does not end before the current start).
fn before(a: When, b: When) -> bool {
    match (a, b) {
        (When::Relative(a), When::Relative(b)) => a < b,
        (When::At(a), When::At(b)) => a < b,
        _ => true,
    }
}

/// A stable seed for a scenario pod's sample noise, from its id.
fn seed_of(id: &str) -> u64 {
    id.bytes()
        .fold(0x5CE7_A210_u64, |h, b| mix(h ^ u64::from(b)))
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ScenarioError::Parse { message, .. } => ScenarioError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks a scenario from TOML text.
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: PathBuf::from("(text)"),
            message: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    fn worker_id(&self, i: usize) -> String {
        self.worker[i]
            .id
            .clone()
            .unwrap_or_else(|| format!("wkr_scenario{:02}", i + 1))
    }

    fn orphan_id(&self, i: usize) -> String {
        self.orphan[i]
            .pod_id
            .clone()
            .unwrap_or_else(|| format!("pod_orphan{:02}", i + 1))
    }

    fn podstack_id(&self, i: usize) -> String {
        self.podstack[i]
            .id
            .clone()
            .unwrap_or_else(|| format!("pd_scenario{:02}", i + 1))
    }

    fn pod_id_of_worker(&self, i: usize) -> String {
        self.worker[i].pod_id.clone().unwrap_or_else(|| {
            let id = self.worker_id(i);
            format!("pod_{}", id.strip_prefix("wkr_").unwrap_or(&id))
        })
    }

    /// Checks what the types cannot: statuses, rates, unique ids, ordered intervals.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |what: String| Err(ScenarioError::Invalid(what));
        let mut ids = std::collections::BTreeSet::new();
        for (i, w) in self.worker.iter().enumerate() {
            let id = self.worker_id(i);
            if !ARGUS_STATUSES.contains(&w.status.as_str()) {
                return bad(format!(
                    "worker {id}: status {:?} is not one of {}",
                    w.status,
                    ARGUS_STATUSES.join(", ")
                ));
            }
            if rate_micros(&w.rate).is_none() {
                return bad(format!("worker {id}: rate {:?} is not a decimal", w.rate));
            }
            for pod in [id.clone(), self.pod_id_of_worker(i)] {
                if !ids.insert(pod.clone()) {
                    return bad(format!("id {pod} appears twice"));
                }
            }
        }
        for (i, o) in self.orphan.iter().enumerate() {
            let id = self.orphan_id(i);
            if !ARGUS_STATUSES.contains(&o.status.as_str()) {
                return bad(format!(
                    "orphan {id}: status {:?} is not one of {}",
                    o.status,
                    ARGUS_STATUSES.join(", ")
                ));
            }
            if rate_micros(&o.rate).is_none() {
                return bad(format!("orphan {id}: rate {:?} is not a decimal", o.rate));
            }
            if !ids.insert(id.clone()) {
                return bad(format!("id {id} appears twice"));
            }
        }
        for (i, p) in self.podstack.iter().enumerate() {
            let id = self.podstack_id(i);
            if podstack_status(&p.status).is_none() {
                return bad(format!(
                    "podstack pod {id}: status {:?} is not one of {}",
                    p.status,
                    PODSTACK_STATUSES.join(", ")
                ));
            }
            if rate_micros(&p.rate).is_none() {
                return bad(format!(
                    "podstack pod {id}: rate {:?} is not a decimal",
                    p.rate
                ));
            }
            if !ids.insert(id.clone()) {
                return bad(format!("id {id} appears twice"));
            }
            for r in &p.earlier_runs {
                if !before(r.from, r.to) {
                    return bad(format!(
                        "podstack pod {id}: earlier run {}..{} is empty",
                        r.from, r.to
                    ));
                }
                if p.started.is_some_and(|s| !before(r.to, s)) {
                    return bad(format!(
                        "podstack pod {id}: earlier run {}..{} must end before `started`",
                        r.from, r.to
                    ));
                }
            }
            for g in &p.gaps {
                if !before(g.from, g.to) {
                    return bad(format!(
                        "podstack pod {id}: gap {}..{} is empty",
                        g.from, g.to
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds the scenario's pods to `world`, with times relative to `start` (the clock at start).
    pub fn apply(&self, world: &mut World, start: DateTime<Utc>) {
        for (i, w) in self.worker.iter().enumerate() {
            self.add_worker(world, i, w, start);
        }
        for (i, o) in self.orphan.iter().enumerate() {
            self.add_orphan(world, i, o, start);
        }
        for (i, p) in self.podstack.iter().enumerate() {
            self.add_podstack(world, i, p, start);
        }
    }

    fn add_worker(&self, world: &mut World, i: usize, w: &WorkerSpec, start: DateTime<Utc>) {
        let id = self.worker_id(i);
        let pod_id = self.pod_id_of_worker(i);
        let created = w.created.at(start);
        let rate = rate_micros(&w.rate).unwrap_or_default();
        let rate_text = fixed(crate::money::micros_to_decimal(rate), 4);
        let profile = match w.activity {
            WorkerActivity::Busy => Profile::Busy,
            WorkerActivity::IdleSince(t) => Profile::IdleSince(t.at(start)),
            WorkerActivity::Unserved | WorkerActivity::NeverServed => Profile::Silent,
            WorkerActivity::Daily(h) => Profile::Daily(h),
        };
        if w.activity == WorkerActivity::Unserved {
            world.argus.unserved.insert(id.clone());
        }
        world.argus.costs.push(CostBasis {
            pod_id: pod_id.clone(),
            worker_id: Some(id.clone()),
            project: w.project.clone(),
            rate_micros: rate,
            currency: "USD".into(),
            created: created.date_naive(),
            duty_pct: if w.status == "stopped" { 20 } else { 100 },
            seed: seed_of(&id),
        });
        world.argus.pods.insert(
            pod_id.clone(),
            ArgusPod {
                pod: argus::ProviderPod {
                    pod_id: pod_id.clone(),
                    worker_id: Some(id.clone()),
                    status: w.status.clone(),
                    gpu_type: w.gpu_type.clone(),
                    gpu_count: w.gpu_count,
                    region: w.region.clone(),
                    hourly_rate_usd: rate_text.clone(),
                    created_at: created,
                    orphaned_since: None,
                },
                pending: None,
            },
        );
        world.argus.workers.insert(
            id.clone(),
            ArgusWorker {
                worker: argus::Worker {
                    id: id.clone(),
                    pod_id,
                    name: w.name.clone().unwrap_or_else(|| id.clone()),
                    status: w.status.clone(),
                    gpu_type: w.gpu_type.clone(),
                    gpu_count: w.gpu_count,
                    region: w.region.clone(),
                    project: w.project.clone(),
                    owner: w.owner.clone(),
                    labels: w.labels.clone(),
                    hourly_rate_usd: rate_text,
                    created_at: created,
                    last_started_at: w.last_started.map(|t| t.at(start)),
                    ttl_expires_at: w.ttl_expires.map(|t| t.at(start)),
                },
                profile,
                cameras_when_busy: w.cameras,
                pending: None,
            },
        );
    }

    fn add_orphan(&self, world: &mut World, i: usize, o: &OrphanSpec, start: DateTime<Utc>) {
        let pod_id = self.orphan_id(i);
        let created = o.created.at(start);
        let rate = rate_micros(&o.rate).unwrap_or_default();
        world.argus.costs.push(CostBasis {
            pod_id: pod_id.clone(),
            worker_id: None,
            project: "orphans".into(),
            rate_micros: rate,
            currency: "USD".into(),
            created: created.date_naive(),
            duty_pct: if o.status == "running" { 100 } else { 0 },
            seed: seed_of(&pod_id),
        });
        world.argus.pods.insert(
            pod_id.clone(),
            ArgusPod {
                pod: argus::ProviderPod {
                    pod_id,
                    worker_id: None,
                    status: o.status.clone(),
                    gpu_type: o.gpu_type.clone(),
                    gpu_count: o.gpu_count,
                    region: o.region.clone(),
                    hourly_rate_usd: fixed(crate::money::micros_to_decimal(rate), 4),
                    created_at: created,
                    orphaned_since: o.orphaned_since.map(|t| t.at(start)),
                },
                pending: None,
            },
        );
    }

    fn add_podstack(&self, world: &mut World, i: usize, p: &PodstackSpec, start: DateTime<Utc>) {
        let id = self.podstack_id(i);
        let created = p.created.at(start);
        let rate = rate_micros(&p.rate).unwrap_or_default();
        let status = podstack_status(&p.status).unwrap_or("Error");
        let running = status == "Running";
        let seed = seed_of(&id);
        if !world.podstack.projects.iter().any(|pr| pr.id == p.project) {
            world.podstack.projects.push(podstack::Project {
                id: p.project.clone(),
                name: p.project.clone(),
            });
        }
        world.podstack.costs.push(CostBasis {
            pod_id: id.clone(),
            worker_id: None,
            project: p.project.clone(),
            rate_micros: rate,
            currency: p.currency.clone(),
            created: created.date_naive(),
            duty_pct: if running { 100 } else { 30 },
            seed,
        });
        let share = |pct: i64| fixed(crate::money::micros_to_decimal(rate * pct / 100), 2);
        let hours_billed = (start - created).num_hours().max(1);
        let telemetry = Telemetry {
            gpu_readings: p.gpu_readings,
            earlier_runs: p
                .earlier_runs
                .iter()
                .map(|r| {
                    let from = r.from.at(start);
                    EarlierRun {
                        from,
                        to: r.to.at(start),
                        profile: r
                            .activity
                            .map(|a| a.profile(start))
                            .unwrap_or(Profile::IdleSince(from)),
                    }
                })
                .collect(),
            gaps: p
                .gaps
                .iter()
                .map(|g| (g.from.at(start), g.to.at(start)))
                .collect(),
        };
        let pod = podstack::Pod {
            id: id.clone(),
            name: p.name.clone().unwrap_or_else(|| id.clone()),
            project_id: p.project.clone(),
            status: status.into(),
            image: p.image.clone(),
            resources: podstack::Resources {
                gpu_type: p.gpu_type.clone(),
                gpu_count: p.gpu_count,
                cpu_cores: f64::from(8 * p.gpu_count),
                memory_gb: f64::from(64 * p.gpu_count),
            },
            replicas: 1,
            health: if matches!(p.activity, PodActivity::StaleSince(_)) {
                "yellow"
            } else {
                "green"
            }
            .into(),
            created_at: created,
            started_at: p.started.map(|t| t.at(start)),
            hourly_rate: fixed(crate::money::micros_to_decimal(rate), 2),
            currency: p.currency.clone(),
            total_cost: fixed(crate::money::micros_to_decimal(rate * hours_billed), 2),
            cost_breakdown: podstack::Breakdown {
                gpu: share(82),
                cpu: share(8),
                memory: share(6),
                storage: share(4),
            },
            labels: p.labels.clone(),
            nfs_volumes: vec![],
        };
        world.podstack.pods.insert(
            id,
            PodstackPod {
                pod,
                profile: p.activity.profile(start),
                seed,
                pending: None,
                telemetry,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_reads_with_defaults_and_every_activity() {
        let s = Scenario::parse(
            r#"
            [[worker]]
            activity = { daily = "08:00-23:00" }
            [[worker]]
            id = "wkr_gone"
            activity = "unserved"
            [[worker]]
            activity = { idle_since = "-9h" }
            [[orphan]]
            orphaned_since = "-9d"
            [[podstack]]
            started = "-1h"
            activity = { idle_since = "-1h" }
            earlier_runs = [{ from = "-20h", to = "-65m" }]
            gaps = [{ from = "-50m", to = "-40m" }]
            gpu_readings = false
            [[podstack]]
            status = "stopped"
            activity = "silent"
            "#,
        )
        .expect("parses");
        assert_eq!(s.worker.len(), 3);
        assert_eq!(s.worker[1].activity, WorkerActivity::Unserved);
        assert_eq!(s.worker[0].status, "running");
        assert!(!s.podstack[0].gpu_readings);
        let start = Utc::now();
        let mut world = World::default();
        s.apply(&mut world, start);
        assert!(world.argus.workers.contains_key("wkr_scenario01"));
        assert!(world.argus.unserved.contains("wkr_gone"));
        assert!(world.argus.pods.contains_key("pod_orphan01"));
        assert_eq!(world.podstack.pods["pd_scenario02"].pod.status, "Stopped");
        assert_eq!(
            world.podstack.pods["pd_scenario01"].pod.started_at,
            Some(start - Duration::hours(1))
        );
        assert_eq!(world.podstack.projects.len(), 1);
    }

    #[test]
    fn mistakes_are_refused_with_what_is_wrong() {
        let err = |text: &str| Scenario::parse(text).expect_err(text).to_string();
        assert!(err("[[worker]]\nactivity = \"stale\"").contains("unknown variant"));
        assert!(err("[[worker]]\nstatus = \"Running\"").contains("status"));
        assert!(err("[[podstack]]\ncreated = \"5d\"").contains("relative"));
        assert!(err("[[podstack]]\nspeed = 1").contains("unknown field"));
        assert!(err("[[worker]]\nid = \"wkr_a\"\n[[worker]]\nid = \"wkr_a\"").contains("twice"));
        assert!(err(
            "[[podstack]]\nstarted = \"-1h\"\nearlier_runs = [{ from = \"-5h\", to = \"-30m\" }]"
        )
        .contains("before"));
    }
}
