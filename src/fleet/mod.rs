//! The normalized fleet: every provider's pods, costs and wallets in one model.
//!
//! Provider adapters map their wire formats into these types; everything after
//! collection (policies, plans, reports) sees only this model. A signal that is not
//! known is `None` or [`Activity::Unknown`], never a default that could look idle.

pub mod frame;
#[cfg(test)]
pub(crate) mod samples;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// What an action can address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A tracked pod: an Argus worker (with its pod) or a Podstack pod.
    Pod,
    /// An Argus pod with no worker row: it bills, and it can only be terminated.
    Orphan,
}

impl ResourceKind {
    /// The word of the plan file and the journal (`pod`, `orphan`).
    pub fn parse(word: &str) -> Option<ResourceKind> {
        [ResourceKind::Pod, ResourceKind::Orphan]
            .into_iter()
            .find(|k| k.as_str() == word)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Pod => "pod",
            ResourceKind::Orphan => "orphan",
        }
    }
}

/// The word, padded as the format asks.
impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A pod's lifecycle state, normalized across providers (Podstack's `Running`, Argus' `running`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodStatus {
    Running,
    Starting,
    Stopping,
    Stopped,
    Restarting,
    Error,
    /// A state this version of podwarden does not know; never acted on.
    Unknown,
}

impl PodStatus {
    pub fn parse(raw: &str) -> Self {
        match raw.to_ascii_lowercase().as_str() {
            "running" => PodStatus::Running,
            "starting" => PodStatus::Starting,
            "stopping" => PodStatus::Stopping,
            "stopped" => PodStatus::Stopped,
            "restarting" => PodStatus::Restarting,
            "error" => PodStatus::Error,
            _ => PodStatus::Unknown,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PodStatus::Running => "running",
            PodStatus::Starting => "starting",
            PodStatus::Stopping => "stopping",
            PodStatus::Stopped => "stopped",
            PodStatus::Restarting => "restarting",
            PodStatus::Error => "error",
            PodStatus::Unknown => "unknown",
        }
    }
    pub const ALL: [&'static str; 7] = [
        "running",
        "starting",
        "stopping",
        "stopped",
        "restarting",
        "error",
        "unknown",
    ];
}

impl fmt::Display for PodStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a "since" instant comes from: the provider said so, or podwarden first saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Since {
    Provider,
    Observed,
}

/// Whether a pod is doing work, as far as the provider's signals tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Activity {
    /// Serving or computing now.
    Busy,
    /// Doing nothing. `since` is `None` until it is known (from the provider or from the
    /// state store's first observation); an idle pod without `since` never matches `idle_for`.
    Idle {
        since: Option<DateTime<Utc>>,
        source: Option<Since>,
        /// Whether the provider's signal shows where this idle run began (a busy reading before
        /// it, the pod's start, or the provider's own last-served time). When `false`, `since` is
        /// only a lower bound (the run reaches back past the oldest reading, or the provider gives
        /// no start): the state store's sighting of the same run may stand in for the start.
        #[serde(default)]
        start_seen: bool,
        /// What the signal showed, for reasons and `explain` ("0 cameras", "GPU 0.4%").
        evidence: String,
    },
    /// Missing, stale or failed signal: treated as active.
    Unknown { why: String },
}

/// One pod of the fleet, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    /// The configured provider name (the `[providers.NAME]` key).
    pub provider: String,
    pub kind: ResourceKind,
    /// The id an action addresses: Argus worker id, orphan pod id, or Podstack pod id.
    pub target: String,
    pub pod_id: String,
    pub name: String,
    pub status: PodStatus,
    pub project: Option<String>,
    pub owner: Option<String>,
    pub gpu_type: Option<String>,
    pub gpu_count: u32,
    pub region: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub hourly_rate: Money,
    pub created_at: DateTime<Utc>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub ttl_expires_at: Option<DateTime<Utc>>,
    /// When it became an orphan (orphans only): the provider's `orphaned_since`, else
    /// podwarden's first observation; `None` until one of the two is known.
    pub orphaned_since: Option<DateTime<Utc>>,
    pub orphaned_since_source: Option<Since>,
    /// When podwarden first saw it in its current stopped period (stopped pods only; from the
    /// state store). A resume's idempotency key names this period, so two resumes of the same
    /// pod on different stops never share a key.
    #[serde(default)]
    pub stopped_since: Option<DateTime<Utc>>,
    pub activity: Activity,
    /// Replicas and health as the provider reports them (Podstack); `None` where the provider
    /// has no such notion (Argus) or in snapshots written before it was read.
    #[serde(default)]
    pub health: Option<PodHealth>,
    /// Where its activity comes from when it needs a read of its own (a Podstack pod's
    /// utilisation): read by this run, taken from the state store, or not read. `None` for a
    /// signal that comes with the inventory (Argus' served list) and in older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<Reading>,
}

/// Where a pod's activity comes from, for a signal read pod by pod (see
/// [`crate::collect::readings`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Reading {
    /// Read by this run (its activity may still be unknown: a failed read, stale samples).
    Read,
    /// A reading an earlier run stored at `at`, of the same incarnation and younger than the
    /// configured `max_evidence_age`: the pod is judged on it, and apply reads it again right
    /// before acting.
    Stored { at: DateTime<Utc> },
    /// Not read this run and no usable stored reading: its activity is unknown.
    Skipped { why: String },
}

/// A Podstack pod's replicas and its health light.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodHealth {
    pub replicas: u32,
    /// `green`, `yellow`, `red` (lower-cased), or what the provider sent otherwise.
    pub health: String,
}

impl Pod {
    /// Which run of the pod a fact belongs to: its last start (or creation when never started).
    /// A fact about an earlier incarnation says nothing about this one.
    pub fn incarnation(&self) -> DateTime<Utc> {
        self.last_started_at.unwrap_or(self.created_at)
    }

    /// The cost of one day at the current hourly rate.
    pub fn daily_rate(&self) -> Money {
        self.hourly_rate.times(Decimal::from(24))
    }
}

/// Billed cost of one pod on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    pub provider: String,
    pub date: NaiveDate,
    pub pod_id: String,
    /// The worker (Argus) the pod belonged to; `None` for orphans and Podstack.
    pub worker_id: Option<String>,
    pub project: Option<String>,
    pub amount: Money,
    pub hours: Option<Decimal>,
    /// What the amount is made of (Podstack's `by_resource`), in the row's currency; `None`
    /// where the provider gives no breakdown (Argus).
    #[serde(default)]
    pub by_resource: Option<ResourceBreakdown>,
}

/// A cost split by resource (Podstack `/billing/usage` `by_resource`), exact decimals in the
/// currency of the row it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceBreakdown {
    #[serde(with = "rust_decimal::serde::str")]
    pub gpu: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub cpu: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub memory: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub storage: Decimal,
}

/// The provider's own view of idle burn (read from its
/// [`ProviderFacts::idle_cost_source`]): a running worker serving nothing and what it costs
/// per day. The report cross-checks its idle burn against these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleCost {
    pub provider: String,
    /// The worker id (the target an action addresses).
    pub target: String,
    pub per_day: Money,
}

/// A prepaid wallet (Podstack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    pub provider: String,
    pub balance: Money,
    pub run_rate_per_hour: Money,
    pub low_balance_threshold: Money,
    pub grace_period_hours: u32,
    pub auto_debit: bool,
}

impl Wallet {
    /// Hours the balance lasts at the current run rate; `None` when nothing runs.
    pub fn runway_hours(&self) -> Option<Decimal> {
        if self.run_rate_per_hour.amount.is_zero() {
            None
        } else {
            Some(self.balance.amount / self.run_rate_per_hour.amount)
        }
    }
}

/// How one provider's collection went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderStatus {
    pub name: String,
    /// The inventory was read to the end. An incomplete provider gets no actions.
    pub complete: bool,
    pub pods: usize,
    /// Why it is incomplete (never contains a token).
    pub error: Option<String>,
    /// Data that failed to load although the inventory is complete (served, stats, costs,
    /// wallet). What it affects is unknown or missing, and the run exits non-zero. Absent in
    /// snapshots written before gaps existed.
    #[serde(default)]
    pub gaps: Vec<DataGap>,
    /// How this run came by the activity of the pods that need a read of their own (Podstack's
    /// utilisation); `None` for a provider with none and in older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_reads: Option<ReadCounts>,
    /// Which days of cost rows this run read and which came from the state file; `None` when
    /// costs were not read through it (a provider that failed, `observe`, older snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_reads: Option<CostReads>,
}

/// How a run came by one provider's cost rows (in the plan's and the snapshot's provider
/// entries; see `collect::costs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReads {
    /// The days read from the provider this run (`from` and `to`, inclusive), besides the spot
    /// check; `None` when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<(NaiveDate, NaiveDate)>,
    /// Days of the window taken from the state file.
    pub stored_days: usize,
    /// The stored day read again to check it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_checked: Option<NaiveDate>,
    /// Stored days the provider had rewritten (found by the spot check; the window was then
    /// read again whole).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revised: Vec<NaiveDate>,
}

impl CostReads {
    /// "read 2026-11-30..2026-12-01, 59 days from storage, 2026-10-04 checked".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((from, to)) = self.read {
            parts.push(format!("read {from}..{to}"));
        }
        parts.push(format!("{} days from storage", self.stored_days));
        if let Some(d) = self.spot_checked {
            parts.push(format!("{d} checked again"));
        }
        if !self.revised.is_empty() {
            let days: Vec<String> = self.revised.iter().map(ToString::to_string).collect();
            parts.push(format!(
                "REVISED by the provider: {} (the window was read again)",
                days.join(", ")
            ));
        }
        parts.join(", ")
    }
}

/// How many of a provider's pods had their activity read this run, taken from storage, or
/// left unknown ([`Reading`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCounts {
    /// Read this run.
    pub read: usize,
    /// Of those, how many came back unknown (a failed or cut read, stale samples).
    pub read_unknown: usize,
    /// Judged on a stored reading of an earlier run.
    pub stored: usize,
    /// Of those, how many readings had proved nothing (the pod is unknown).
    #[serde(default)]
    pub stored_unknown: usize,
    /// The oldest stored reading used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_stored: Option<DateTime<Utc>>,
    /// Not read and nothing stored: unknown. `skipped_why` says why, with counts.
    pub skipped: usize,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_why: BTreeMap<String, usize>,
}

impl ReadCounts {
    /// The counts of `pods` (one provider's); `None` when none needs a read of its own.
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Option<ReadCounts> {
        let mut c = ReadCounts::default();
        let mut any = false;
        for pod in pods {
            let Some(reading) = &pod.reading else {
                continue;
            };
            any = true;
            match reading {
                Reading::Read => {
                    c.read += 1;
                    if matches!(pod.activity, Activity::Unknown { .. }) {
                        c.read_unknown += 1;
                    }
                }
                Reading::Stored { at } => {
                    c.stored += 1;
                    if matches!(pod.activity, Activity::Unknown { .. }) {
                        c.stored_unknown += 1;
                    }
                    c.oldest_stored = Some(c.oldest_stored.map_or(*at, |o| o.min(*at)));
                }
                Reading::Skipped { why } => {
                    c.skipped += 1;
                    *c.skipped_why.entry(why.clone()).or_default() += 1;
                }
            }
        }
        any.then_some(c)
    }

    /// One line for people: "412 read (3 unknown), 2,100 from storage (oldest 58m), 188 not
    /// read: no acting policy could act on them".
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let mut parts = vec![format!("{} read", self.read)];
        if self.read_unknown > 0 {
            parts[0].push_str(&format!(" ({} unknown)", self.read_unknown));
        }
        if self.stored > 0 {
            let oldest = self.oldest_stored.map_or_else(String::new, |at| {
                format!(" (oldest {} old)", crate::duration::format(now - at))
            });
            let unknown = if self.stored_unknown > 0 {
                format!(", {} of them unknown", self.stored_unknown)
            } else {
                String::new()
            };
            parts.push(format!("{} from storage{oldest}{unknown}", self.stored));
        }
        for (why, n) in &self.skipped_why {
            parts.push(format!("{n} not read: {why}"));
        }
        parts.join(", ")
    }
}

/// One kind of a provider's data that failed to load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataGap {
    /// `served`, `stats`, `costs` or `wallet`.
    pub data: String,
    /// What was lost and why.
    pub detail: String,
}

/// Everything collected in one run: the input of evaluation and reporting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub taken_at: DateTime<Utc>,
    pub providers: Vec<ProviderStatus>,
    pub pods: Vec<Pod>,
    pub costs: Vec<CostRow>,
    pub wallets: Vec<Wallet>,
    /// Providers' own idle-cost rows (see [`ProviderFacts::idle_cost_source`]), for the
    /// report's cross-check. Absent in snapshots written before they were read.
    #[serde(default)]
    pub idle_costs: Vec<IdleCost>,
    /// Each provider's facts, by configured name (not part of [`ProviderStatus`], which the
    /// plan file carries unchanged). A snapshot saved before facts were recorded has none
    /// here; `snapshot::load` then reads them off its data as podwarden did before (see
    /// `providers::legacy_facts`), so that it reports as it did.
    #[serde(default)]
    pub facts: BTreeMap<String, ProviderFacts>,
}

/// What the fleet's data from one provider is, as its type declares it
/// (`providers::registry::ProviderType`) and as far as this run read it. Recorded at
/// collection, so that the report reads facts instead of guessing them from the data's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFacts {
    /// Its cost rows name the worker each pod billed under: a row that names none is a pod
    /// billed without a worker, an orphan's spend outside the tracked total.
    pub cost_rows_per_worker: bool,
    /// Where its own idle-cost rows in [`Fleet::idle_costs`] were read from, named in the
    /// report's cross-check; `None` when it publishes none or this run could not read them
    /// (the provider is incomplete, or a `costs` gap says why): nothing to cross-check against.
    pub idle_cost_source: Option<String>,
}

/// The facts of a provider the fleet holds none for (a fleet built by hand): its cost rows
/// are per pod and it has no idle-cost list.
static NO_FACTS: ProviderFacts = ProviderFacts {
    cost_rows_per_worker: false,
    idle_cost_source: None,
};

impl Fleet {
    /// A fleet with nothing in it yet, taken at `taken_at`.
    pub fn empty(taken_at: DateTime<Utc>) -> Fleet {
        Fleet {
            taken_at,
            providers: Vec::new(),
            pods: Vec::new(),
            costs: Vec::new(),
            wallets: Vec::new(),
            idle_costs: Vec::new(),
            facts: BTreeMap::new(),
        }
    }

    /// Whether any provider is incomplete or has data that failed to load.
    pub fn has_gaps(&self) -> bool {
        self.providers
            .iter()
            .any(|p| !p.complete || !p.gaps.is_empty())
    }

    /// Whether a provider's inventory is complete (unknown providers are not).
    pub fn is_complete(&self, provider: &str) -> bool {
        self.providers
            .iter()
            .any(|p| p.name == provider && p.complete)
    }

    /// The facts of `provider` (see [`Fleet::facts`]; none recorded: per-pod cost rows, no
    /// idle-cost list).
    pub fn facts_of(&self, provider: &str) -> &ProviderFacts {
        self.facts.get(provider).unwrap_or(&NO_FACTS)
    }

    /// Sorts pods and costs into a stable order so that plans and reports are deterministic.
    pub fn normalize_order(&mut self) {
        self.pods
            .sort_by(|a, b| (&a.provider, &a.target).cmp(&(&b.provider, &b.target)));
        self.costs.sort_by(|a, b| {
            (&a.provider, a.date, &a.pod_id).cmp(&(&b.provider, b.date, &b.pod_id))
        });
        self.providers.sort_by(|a, b| a.name.cmp(&b.name));
        self.idle_costs
            .sort_by(|a, b| (&a.provider, &a.target).cmp(&(&b.provider, &b.target)));
    }
}
