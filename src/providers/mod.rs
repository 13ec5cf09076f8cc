//! Collect: one module per provider behind the [`Provider`] trait.
//!
//! A provider reads its inventory, signals and costs (read-only, paginated to the end,
//! rate-limit aware) and maps them into the normalized [`crate::fleet`] model; it also
//! carries out single operations. Every provider quirk stays inside its module.

pub mod argus;
pub mod budget;
pub mod error;
pub mod http;
pub mod legacy_facts;
pub mod podstack;
pub mod registry;
pub mod retry_after;
pub mod wire_fields;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use error::ProviderError;

use crate::fleet::{Activity, CostRow, IdleCost, Pod, ResourceKind, Wallet};

/// What one provider returned.
#[derive(Debug, Default)]
pub struct Inventory {
    pub pods: Vec<Pod>,
    pub costs: Vec<CostRow>,
    pub wallets: Vec<Wallet>,
    /// The provider's own idle-cost rows, read from its type's
    /// [`registry::ProviderType::idle_cost_source`]; `None` when it publishes none or the
    /// read failed (a gap then says why): the report has nothing to cross-check against.
    pub idle_costs: Option<Vec<IdleCost>>,
    /// Data that failed to load although the inventory was read to the end.
    pub gaps: Vec<Gap>,
    /// The targets whose activity needs a read of its own ([`Provider::read_activity`]; a
    /// Podstack pod's `/stats/history`): until read, their activity is unknown. Empty for a
    /// provider whose signal comes with the inventory (Argus' `/compute/served`).
    pub unread: Vec<String>,
}

/// What one per-pod activity read found.
#[derive(Debug, Clone)]
pub struct ActivityRead {
    pub activity: Activity,
    /// Why the activity is unknown when the read failed (a deadline, a 5xx…).
    pub error: Option<ProviderError>,
}

/// Data of a provider that failed to load while its inventory was read to the end: what it
/// affects is unknown (pods' activity) or missing (costs, wallet), and the run exits non-zero.
#[derive(Debug, Clone)]
pub struct Gap {
    /// What is missing: `served`, `stats`, `costs` or `wallet`.
    pub data: &'static str,
    /// For people: what was lost and why (never a token).
    pub detail: String,
    /// The most specific error behind it, for the exit code.
    pub error: ProviderError,
}

/// The days of `cost_days` days of costs ending on `now`'s day (at least one).
pub fn cost_window(now: DateTime<Utc>, cost_days: u32) -> (NaiveDate, NaiveDate) {
    let to = now.date_naive();
    (
        to - chrono::Duration::days(i64::from(cost_days.max(1)) - 1),
        to,
    )
}

impl Gap {
    /// The gap of a failed cost read: the provider has no cost rows this run.
    pub fn no_costs(error: ProviderError) -> Self {
        Gap {
            data: "costs",
            detail: format!("no cost rows for this provider: {error}"),
            error,
        }
    }

    /// A gap caused by one failed read.
    pub fn from_error(data: &'static str, error: ProviderError) -> Self {
        Gap {
            data,
            detail: error.to_string(),
            error,
        }
    }
}

impl ActivityRead {
    /// The `stats` gap of a batch of reads of which some failed: how many, the first error,
    /// and the most specific one for the exit code. `None` when none failed.
    pub fn gap(reads: &[ActivityRead]) -> Option<Gap> {
        let failed: Vec<&ProviderError> = reads.iter().filter_map(|r| r.error.as_ref()).collect();
        let first = failed.first()?;
        let worst = failed.iter().min_by_key(|e| e.failure())?;
        Some(Gap {
            data: "stats",
            detail: format!(
                "{} of {} pods' utilisation not read, their activity is unknown (first error: {first})",
                failed.len(),
                reads.len()
            ),
            error: (*worst).clone(),
        })
    }
}

/// An operation a provider can carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Stop,
    Resume,
    Terminate,
}

impl OpKind {
    /// The word of the plan file and the journal (`stop`, `resume`, `terminate`).
    pub fn parse(word: &str) -> Option<OpKind> {
        [OpKind::Stop, OpKind::Resume, OpKind::Terminate]
            .into_iter()
            .find(|k| k.as_str() == word)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Stop => "stop",
            OpKind::Resume => "resume",
            OpKind::Terminate => "terminate",
        }
    }
}

/// The word, padded as the format asks (the plan and apply tables align on it).
impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One operation on one target.
#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: ResourceKind,
    pub target: String,
    pub op: OpKind,
    pub reason: String,
    pub ttl_hours: Option<u32>,
    /// Sent as `Idempotency-Key`: a repeat of the same key never acts twice.
    pub idempotency_key: String,
    /// Terminate is sent with the provider's confirmation only when this is true.
    pub confirm: bool,
}

/// The provider's acknowledgement of an accepted operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Receipt {
    pub operation_id: Option<String>,
    pub audit_id: Option<String>,
    /// The answer's HTTP status (a bulk call's, for each operation it carried).
    pub http_status: Option<u16>,
}

/// One HTTP request that carries out one or more operations, exactly as it is sent (the
/// token aside): what `apply --print-requests` shows and what the queue sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WireRequest {
    pub method: String,
    /// The full URL, query included.
    pub url: String,
    /// The path below the provider's base URL, e.g. `/compute/ops/workers/wkr_1/stop`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub idempotency_key: String,
    /// Indexes (into the operations it was made from) of the operations it carries, in the
    /// order of their per-operation results.
    pub ops: Vec<usize>,
}

/// Runs right before a write request leaves (after its wait for the rate budget); an `Err`
/// keeps it from being sent. Apply journals *sent* here.
pub type Leaving<'a> = &'a mut (dyn FnMut() -> Result<(), String> + Send);

/// An accepted operation as the provider's own audit log shows it (Argus `/audit`).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub audit_id: String,
    pub operation_id: String,
    pub at: DateTime<Utc>,
    pub action: String,
    pub target: String,
    pub reason: String,
}

/// Requests sent and 429s received by one provider connection since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Write requests (operations) that got an answer.
    pub writes: u64,
    /// 429 answers to any request.
    pub rate_limited: u64,
}

/// A GPU-pod provider.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The configured name ("argus", "podstack"), used in plans and reports.
    fn name(&self) -> &str;
    /// Which provider it is: the facts the fleet records for it come from its type.
    fn provider_type(&self) -> registry::ProviderType;
    /// Reads the inventory to the end, the signals that come in lists, the wallet and the
    /// provider's own idle view (no cost rows: [`Provider::costs`]). Pods whose activity needs
    /// a read of its own are listed in [`Inventory::unread`], their activity unknown.
    async fn inventory(&self, now: DateTime<Utc>) -> Result<Inventory, ProviderError>;
    /// The billed cost rows of the days `from` to `to` (inclusive). `pods` is this run's
    /// inventory of the provider (a row takes its pod's project where the provider names none).
    async fn costs(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        pods: &[Pod],
    ) -> Result<Vec<CostRow>, ProviderError>;
    /// Reads the activity of `pods` (from [`Inventory::unread`]), in the order given, as far
    /// as the run's deadline allows: one result per pod, in the same order. The default, for a
    /// provider that lists none: their activity as it is.
    async fn read_activity(&self, pods: &[&Pod], _now: DateTime<Utc>) -> Vec<ActivityRead> {
        pods.iter()
            .map(|p| ActivityRead {
                activity: p.activity.clone(),
                error: None,
            })
            .collect()
    }
    /// Reads everything: [`Provider::inventory`], `cost_days` days of costs up to `now` (a
    /// failed read is a `costs` gap), then every unread pod's activity.
    async fn collect(
        &self,
        now: DateTime<Utc>,
        cost_days: u32,
    ) -> Result<Inventory, ProviderError> {
        let mut inv = self.inventory(now).await?;
        let (from, to) = cost_window(now, cost_days);
        match self.costs(from, to, &inv.pods).await {
            Ok(rows) => inv.costs = rows,
            Err(e) => inv.gaps.push(Gap::no_costs(e)),
        }
        let unread: std::collections::HashSet<&String> = inv.unread.iter().collect();
        let rows: Vec<usize> = (0..inv.pods.len())
            .filter(|&i| unread.contains(&inv.pods[i].target))
            .collect();
        let pods: Vec<&Pod> = rows.iter().map(|&i| &inv.pods[i]).collect();
        let reads = self.read_activity(&pods, now).await;
        if let Some(gap) = ActivityRead::gap(&reads) {
            inv.gaps.push(gap);
        }
        for (i, read) in rows.into_iter().zip(reads) {
            inv.pods[i].activity = read.activity;
        }
        inv.unread.clear();
        Ok(inv)
    }
    /// Reads the current state of `targets` (status, labels, lease, activity), for the
    /// re-check right before an action and for verification after it. A target missing from
    /// the answer is gone.
    async fn recheck(
        &self,
        targets: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Pod>, ProviderError>;
    /// The requests that carry out `ops` (one per operation, or a bulk call where the
    /// provider has one and it saves calls).
    fn requests(&self, ops: &[Operation]) -> Vec<WireRequest>;
    /// Sends one request from [`Provider::requests`], running `leaving` right before it
    /// leaves (after the wait for the rate budget). `Err` when the request as a whole failed;
    /// otherwise one result per operation it carries (a bulk call can accept some and refuse
    /// others).
    async fn send(
        &self,
        request: &WireRequest,
        leaving: Leaving<'_>,
    ) -> Result<Vec<Result<Receipt, ProviderError>>, ProviderError>;
    /// Checks that the token may act (403 names the missing scope) without changing anything.
    async fn check_write(&self, sample: &Operation) -> Result<(), ProviderError>;
    /// The provider's own audit log since `since`; `None` when it keeps none (Podstack).
    async fn audit(&self, since: DateTime<Utc>) -> Result<Option<Vec<AuditEntry>>, ProviderError>;
    /// How many operations the provider lets this token send per window, as configured or
    /// learnt; used to size the re-check batches.
    fn write_batch(&self) -> usize;
    /// Requests sent and 429s seen so far.
    fn stats(&self) -> CallStats;
    /// The write rate limit the budget started from (configured), `None` when learnt.
    fn write_limit(&self) -> Option<budget::RateLimit>;
    /// Whether an accepted operation gets an id the provider's audit shows (Argus), so that
    /// a replay with the same key recovers it.
    fn keeps_operation_ids(&self) -> bool {
        false
    }

    /// Carries out one operation (one request, no retry).
    async fn execute(&self, op: &Operation) -> Result<Receipt, ProviderError> {
        let requests = self.requests(std::slice::from_ref(op));
        let request = requests.first().ok_or_else(|| ProviderError::BadRequest {
            provider: self.name().into(),
            endpoint: "-".into(),
            code: "no_request".into(),
            message: format!("{} cannot be sent to {}", op.op.as_str(), op.target),
        })?;
        self.send(request, &mut || Ok(()))
            .await?
            .into_iter()
            .next()
            .unwrap_or_else(|| Ok(Receipt::default()))
    }
}
