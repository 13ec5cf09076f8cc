//! Guard and plan: the plan file contract of docs/design.md, built from evaluation results.
//!
//! Fields of [`Plan`] and [`PlannedAction`] may be added but never removed or renamed:
//! other tools read the plan file.

pub mod build;
pub mod candidates;
pub mod file;
pub mod notice;
pub mod render;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use build::{build, PlanSettings};
pub use notice::{NoticeServed, Notices, Pending};

use rust_decimal::Decimal;

use crate::fleet::{ProviderStatus, ResourceKind};
use crate::money::Currency;
use crate::policy::Action;
use crate::providers::OpKind;

/// The provider operation a policy's action asks for; `None` for report-only.
pub fn op_of(action: Action) -> Option<OpKind> {
    match action {
        Action::Stop => Some(OpKind::Stop),
        Action::Resume => Some(OpKind::Resume),
        Action::Terminate => Some(OpKind::Terminate),
        Action::Report => None,
    }
}

/// The policy action that asks for `op`.
pub fn action_of(op: OpKind) -> Action {
    match op {
        OpKind::Stop => Action::Stop,
        OpKind::Resume => Action::Resume,
        OpKind::Terminate => Action::Terminate,
    }
}

/// The plan file format version.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    pub run_id: String,
    pub generated_at: DateTime<Utc>,
    /// The instant policies were evaluated at (the snapshot's time, or `--now`).
    pub evaluated_at: DateTime<Utc>,
    pub policies_sha256: String,
    pub actions: Vec<PlannedAction>,
    pub blocked: Vec<Blocked>,
    /// Actions of policies with a notice period that are not due yet (`plan::notice`).
    #[serde(default)]
    pub pending: Vec<Pending>,
    /// Matches of report-only policies.
    #[serde(default)]
    pub reported: Vec<Reported>,
    /// Per policy: how many pods its filter matched and how many it acts on.
    #[serde(default)]
    pub policies: Vec<PolicyTally>,
    #[serde(default)]
    pub providers: Vec<ProviderStatus>,
    /// Actions of earlier runs that the audit journal holds as not finished (planned or
    /// sent and never answered, e.g. cut by a deadline or a crash): the next apply re-checks
    /// and completes them. Filled by the commands from the state file, not by planning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<Unfinished>,
    #[serde(default)]
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub id: String,
    pub provider: String,
    pub target: String,
    pub pod_id: String,
    /// `pod` or `orphan` in the file.
    pub kind: ResourceKind,
    /// `stop`, `resume` or `terminate` in the file.
    pub action: OpKind,
    pub policy: String,
    pub reason: String,
    /// The hourly rate in USD; `null` when the pod bills in another currency (a file without
    /// the key reads as `null`).
    #[serde(default, with = "file::rate_text_or_null")]
    pub hourly_rate_usd: Option<Decimal>,
    /// Savings per day in USD (negative for resume); `null` when not in USD.
    #[serde(default, with = "file::daily_text_or_null")]
    pub est_savings_usd_per_day: Option<Decimal>,
    /// The hourly rate (4 places) and savings (2 places) in the pod's own currency.
    #[serde(with = "file::rate_text")]
    pub hourly_rate: Decimal,
    #[serde(with = "file::daily_text")]
    pub est_savings_per_day: Decimal,
    pub currency: Currency,
    pub idempotency_key: String,
    pub preconditions: BTreeMap<String, String>,
    /// Resume only: the TTL to resume with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_hours: Option<u32>,
    /// Other policies that matched this pod but lost on precedence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_matched: Vec<String>,
    /// The notice period this action has served (policies with `notice` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<NoticeServed>,
    /// When the activity this action rests on was read, when an earlier run (or `podwarden
    /// observe`) read it and this plan took it from the state store; absent when this run
    /// read it or the signal came with the inventory. Apply reads it again before acting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_read_at: Option<DateTime<Utc>>,
}

/// An action an earlier run left unfinished (see [`Plan::unfinished`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfinished {
    pub run_id: String,
    pub action_id: String,
    pub provider: String,
    pub target: String,
    pub action: String,
    pub policy: String,
    /// `planned` or `sent`.
    pub stage: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Blocked {
    pub policy: String,
    /// The pod, or `*` for the whole policy (circuit breaker, schedule).
    pub target: String,
    pub why: String,
}

/// What one policy's filter matched and what became of it (the circuit breakers judge `counted`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyTally {
    pub policy: String,
    pub action: String,
    /// Pods in scope for which every condition holds on known data.
    pub matched: usize,
    /// Pods it would match if an unknown input were known (never acted on).
    pub unknown: usize,
    /// Matched pods a guard keeps it from (protection, status, lease, incomplete provider).
    pub guarded: usize,
    /// Matched pods it could act on: what its circuit breakers count, whether or not it wins
    /// precedence.
    pub counted: usize,
    /// Actions it won and that are in the plan.
    pub planned: usize,
    /// Pods it won that wait for its notice period (in the plan's `pending`).
    #[serde(default)]
    pub pending: usize,
    /// A circuit breaker refused it. (Outside its schedule, a policy's counts beyond
    /// `matched` and `unknown` stay 0, and `blocked` says why.)
    pub refused: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    pub policy: String,
    pub provider: String,
    pub target: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Keyed by the action's word (`stop`, …), in the file's alphabetical order.
    pub actions_by_kind: BTreeMap<String, usize>,
    /// Estimated savings per day, per currency.
    #[serde(with = "file::daily_per_currency")]
    pub est_savings_per_day: BTreeMap<Currency, Decimal>,
    /// A circuit breaker refused at least one policy (exit code 4).
    pub breaker_tripped: bool,
    /// Pods examined.
    pub pods: usize,
}

/// Daily amounts of `actions` summed per currency, from `est_savings_per_day` (the plan
/// file's own figures, rounded as the file holds them, so a plan read back from disk sums the
/// same). `affected` sums the absolute amounts (what a circuit breaker limits); otherwise
/// savings are signed (a resume costs money).
pub fn per_currency<'a>(
    actions: impl IntoIterator<Item = &'a PlannedAction>,
    affected: bool,
) -> BTreeMap<Currency, Decimal> {
    let mut out = BTreeMap::new();
    for a in actions {
        let amount = a.est_savings_per_day;
        *out.entry(a.currency.clone()).or_default() += if affected { amount.abs() } else { amount };
    }
    out
}

/// Evaluates `set` over `fleet` at `now` and builds the plan: the whole of planning, pure.
pub fn make(
    fleet: &crate::fleet::Fleet,
    set: &crate::policy::PolicySet,
    settings: &PlanSettings,
    now: DateTime<Utc>,
    run_id: &str,
    generated_at: DateTime<Utc>,
) -> Result<Plan, crate::policy::evaluate::EvalError> {
    let eval = crate::policy::evaluate::evaluate(&fleet.pods, set, now)?;
    Ok(build(
        fleet,
        set,
        &eval,
        settings,
        now,
        run_id,
        generated_at,
    ))
}

impl Plan {
    /// Writes the plan file (see [`file::write`]).
    pub fn write(&self, path: &std::path::Path) -> Result<(), file::PlanFileError> {
        file::write(self, path)
    }
}

/// An empty plan, for the tests of the modules that read plans.
#[cfg(test)]
pub(crate) fn sample_plan() -> Plan {
    Plan {
        version: VERSION,
        run_id: "run_1".into(),
        generated_at: DateTime::UNIX_EPOCH,
        evaluated_at: DateTime::UNIX_EPOCH,
        policies_sha256: "0".repeat(64),
        actions: Vec::new(),
        blocked: Vec::new(),
        pending: Vec::new(),
        reported: Vec::new(),
        policies: Vec::new(),
        providers: Vec::new(),
        unfinished: Vec::new(),
        summary: Summary::default(),
    }
}

/// A stop of an idle Argus worker at $2.49/h, for the tests of the modules that read plans.
#[cfg(test)]
pub(crate) fn sample_action(target: &str) -> PlannedAction {
    PlannedAction {
        id: format!("act_{target}"),
        provider: "argus".into(),
        target: target.into(),
        pod_id: format!("pod_{target}"),
        kind: ResourceKind::Pod,
        action: OpKind::Stop,
        policy: "stop-idle".into(),
        reason: "idle 9h".into(),
        hourly_rate_usd: Some(file::rate(Decimal::new(249, 2))),
        est_savings_usd_per_day: Some(file::daily(Decimal::new(5976, 2))),
        hourly_rate: file::rate(Decimal::new(249, 2)),
        est_savings_per_day: file::daily(Decimal::new(5976, 2)),
        currency: Currency::usd(),
        idempotency_key: format!("key-{target}"),
        preconditions: BTreeMap::new(),
        ttl_hours: None,
        also_matched: Vec::new(),
        notice: None,
        activity_read_at: None,
    }
}
