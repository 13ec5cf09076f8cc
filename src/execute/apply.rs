//! Apply: carry out a plan's actions, each exactly once, with an audited reason.
//!
//! For every action, in order of value (`order`):
//! 1. the journal decides whether it is still to do: an action accepted or verified in any
//!    run is never sent again; one *sent* before a crash is recovered (below); a terminate
//!    without `--yes` is held back (journalled as skipped);
//! 2. right before sending, the target is re-read and the plan's preconditions checked
//!    (`preconditions`); a failed check is journalled as skipped with its reason;
//! 3. the journal records *sent* (durably) before the request leaves, then *accepted* or
//!    *failed* with the HTTP status, the provider's operation and audit ids;
//! 4. after the queues drain, `verify` records *verified* or *unverified*.
//!
//! Recovery after a crash: an action whose last record is *sent* may or may not have
//! arrived. Its target is re-read: if it shows the effect (stopping, stopped, gone, …) the
//! action arrived; Argus is asked again with the same `Idempotency-Key` (the provider
//! answers with the first response, acting on nothing) to recover the operation id, and
//! Podstack, which has no operation ids, is journalled as accepted from the state it shows.
//! Otherwise it is treated as never sent: re-checked and sent with the same key.
//!
//! Providers are worked on concurrently, each through its own rate budget. Write access is
//! checked before anything is journalled, so a read-only token exits 5 with nothing marked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use tokio::time::Instant;

pub use super::operation::{operation, PlanError};
use super::preconditions::{self, Effect};
use super::queue::{self, StopSignal};
pub use super::rederive::{Refusal, Rejected};
use super::verify;
pub use super::{wall_clock, Clock};
use crate::exit::Exit;
use crate::fleet::{Pod, ResourceKind};
use crate::money::Currency;
use crate::plan::{Plan, PlanSettings, PlannedAction};
use crate::progress::Progress;
use crate::providers::{CallStats, OpKind, Operation, Provider, ProviderError, Receipt};
use crate::state::journal::{Journal, JournalError, NewRecord, Record, Stage};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A plan that cannot be applied as written (a hand-edited file).
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// One unit of a currency (its code) in the report currency; `None`: no rate.
pub type RateOf = Box<dyn Fn(&str) -> Option<Decimal> + Send + Sync>;

/// How to apply.
pub struct Options {
    /// Terminates are sent only with `--yes`.
    pub yes: bool,
    /// The run's deadline: what is not sent by then stays pending (exit 6).
    pub deadline: Instant,
    pub verify_timeout: Duration,
    /// Protection (label, new-pod grace), as the plan's guards applied it.
    pub settings: PlanSettings,
    /// Converts one unit of a currency to the report currency (`None`: no rate).
    pub rate: RateOf,
    /// The clock: journal times, the re-check's "now" (leases, new-pod grace) and the
    /// verification's audit window all read it. [`wall_clock`] in the binary; tests pass the
    /// sandbox's clock, so that nothing here depends on the machine's date.
    pub clock: Clock,
}

/// What became of one action this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionResult {
    Accepted,
    /// Accepted or verified in an earlier run (or an earlier attempt of this one).
    AlreadyDone,
    Skipped,
    /// A terminate without `--yes`.
    HeldBack,
    /// A plan-file action these policies can never plan as written (`rederive`): the file
    /// was edited. Never sent.
    Refused,
    Failed,
    /// Not reached: the deadline, a 403 or SIGTERM stopped the queue first.
    Pending,
}

impl ActionResult {
    /// As printed, and as the metrics' `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionResult::Accepted => "accepted",
            ActionResult::AlreadyDone => "done before",
            ActionResult::Skipped => "skipped",
            ActionResult::HeldBack => "held back",
            ActionResult::Refused => "REFUSED",
            ActionResult::Failed => "FAILED",
            ActionResult::Pending => "pending",
        }
    }
}

/// One line of the outcome, for people.
#[derive(Debug, Clone)]
pub struct Line {
    pub action: PlannedAction,
    pub result: ActionResult,
    pub detail: String,
}

/// The figures of one provider's queue.
#[derive(Debug, Clone)]
pub struct Figures {
    pub provider: String,
    pub writes: u64,
    pub rate_limited: u64,
    pub elapsed: Duration,
    /// The write limit the budget started from (configured), if any.
    pub limit: Option<crate::providers::budget::RateLimit>,
}

impl Figures {
    /// How fully the queue used the write budget: the shortest time the provider's fixed
    /// windows allow for this many calls (`(⌈calls / limit⌉ − 1) × window`: the last window's
    /// calls go as soon as it opens) over the time taken. 1.0 when every call fit in the first
    /// window. The write-access check counts as a call.
    pub fn share(&self) -> Option<f64> {
        let l = self.limit?;
        let windows = self.writes.div_ceil(u64::from(l.calls));
        if windows <= 1 || self.elapsed.is_zero() {
            return Some(1.0);
        }
        let fastest = (windows - 1) as f64 * l.window.as_secs_f64();
        Some((fastest / self.elapsed.as_secs_f64()).min(1.0))
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "{}: {} write calls in {:.1} s, {} × 429",
            self.provider,
            self.writes,
            self.elapsed.as_secs_f64(),
            self.rate_limited
        );
        if let (Some(share), Some(l)) = (self.share(), self.limit) {
            s.push_str(&format!(
                "; {:.0} % of the budget ({} per {:.0} s)",
                share * 100.0,
                l.calls,
                l.window.as_secs_f64()
            ));
        }
        s
    }
}

/// What applying did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<Line>,
    pub verified: usize,
    pub unverified: Vec<(String, String)>,
    /// 403s: a token lacks a scope (exit 5); one per provider that refused.
    pub forbidden: Vec<ProviderError>,
    /// The deadline cut a queue short (exit 6).
    pub deadline: Option<ProviderError>,
    /// SIGTERM stopped the queue.
    pub interrupted: bool,
    pub figures: Vec<Figures>,
    pub elapsed: Duration,
    /// Plan-file actions that did not re-derive from today's policies and fleet (never sent).
    pub not_derived: usize,
    /// Of those, the ones a circuit breaker refuses now (exit 4).
    pub breaker_refused: usize,
}

impl Outcome {
    pub fn count(&self, r: ActionResult) -> usize {
        self.lines.iter().filter(|l| l.result == r).count()
    }

    /// 5 on a 403, 6 when the deadline left actions pending, 3 when some failed, stayed
    /// unverified, were held back (terminate without `--yes`), were refused as edited (a
    /// plan-file action these policies cannot plan) or left by SIGTERM, else 0.
    /// Skips whose preconditions no longer held are the re-check working: exit 0; so is an
    /// action that did not re-derive because the fleet moved on (busy now, restarted, …).
    /// SIGTERM always exits 3: even when the queue had drained, verification was skipped,
    /// so what was accepted stays unverified.
    pub fn exit(&self) -> Exit {
        if !self.forbidden.is_empty() {
            Exit::Forbidden
        } else if self.deadline.is_some() {
            Exit::RateLimited
        } else if self.count(ActionResult::Failed) > 0
            || self.count(ActionResult::HeldBack) > 0
            || self.count(ActionResult::Refused) > 0
            || self.count(ActionResult::Pending) > 0
            || !self.unverified.is_empty()
            || self.interrupted
        {
            Exit::ActionsFailed
        } else if self.breaker_refused > 0 {
            Exit::CircuitBreaker
        } else {
            Exit::Success
        }
    }
}

/// A journal record of `a` at `stage`, at `at`.
fn record(
    plan: &Plan,
    a: &PlannedAction,
    stage: Stage,
    detail: Option<String>,
    at: chrono::DateTime<Utc>,
) -> NewRecord {
    NewRecord {
        run_id: plan.run_id.clone(),
        action_id: a.id.clone(),
        idempotency_key: a.idempotency_key.clone(),
        provider: a.provider.clone(),
        target: a.target.clone(),
        pod_id: a.pod_id.clone(),
        kind: a.kind.to_string(),
        action: a.action.to_string(),
        policy: a.policy.clone(),
        reason: a.reason.clone(),
        stage,
        http_status: None,
        operation_id: None,
        audit_id: None,
        detail,
        est_savings_per_day: Some(a.est_savings_per_day.to_string()),
        currency: Some(a.currency.to_string()),
        at,
    }
}

/// Shared by the providers' queues.
struct Shared<'a> {
    plan: &'a Plan,
    journal: Mutex<&'a mut Journal>,
    progress: Mutex<Progress>,
    opts: &'a Options,
    stop: &'a StopSignal,
}

impl Shared<'_> {
    fn append(&self, r: NewRecord) -> Result<Record, JournalError> {
        let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        j.append(r)
    }
    /// A journal record of `a` at `stage`, now.
    fn record(&self, a: &PlannedAction, stage: Stage, detail: Option<String>) -> NewRecord {
        record(self.plan, a, stage, detail, self.now())
    }
    fn now(&self) -> chrono::DateTime<Utc> {
        (self.opts.clock)()
    }
    /// When the journal first recorded the action with `key`.
    fn first_recorded(&self, key: &str) -> Option<chrono::DateTime<Utc>> {
        let j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        j.history(key).ok()?.first().map(|r| r.new.at)
    }
    fn settle(&self, what: &str) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .advance(what);
    }
}

/// What the journal says an action still needs.
enum Todo {
    /// Never sent (or sent and known not to have arrived): re-check, then send.
    Send,
    /// Sent before a crash (or sent and answered by a transient failure): find out whether
    /// it arrived; if not, re-check and send it with the same key.
    Recover,
    /// Sent before a crash in an earlier run, but not in this plan: find out whether it
    /// arrived and journal that; never send it (this plan does not approve it).
    RecoverOnly,
    Done(String),
    /// Failed permanently (400, 404, 409, 428) earlier in this run: reported as failed again,
    /// not re-sent (the same request would get the same answer).
    Failed(String),
}

/// Whether a failed record leaves open whether its request arrived: no HTTP answer
/// (timeout, reset, could not re-check), a 5xx or a 429. A 4xx is the provider's
/// definitive no.
fn inconclusive(r: &Record) -> bool {
    r.new.http_status.is_none_or(|s| s >= 500 || s == 429)
}

/// What an action whose latest record is `failed` still needs. Walking back over
/// inconclusive failures: when a *sent* comes first, the request may have arrived (a timeout
/// after the provider acted) and is recovered like one sent before a crash; re-sending it
/// fresh would find the target changed and journal a skip, losing the accepted operation.
fn after_failure(history: &[Record], latest: &Record, run_id: &str) -> Todo {
    if !inconclusive(latest) {
        return if latest.new.run_id == run_id {
            Todo::Failed(format!(
                "failed earlier in this run: {}",
                latest.new.detail.as_deref().unwrap_or("")
            ))
        } else {
            Todo::Send
        };
    }
    let before = history
        .iter()
        .rev()
        .find(|r| !(r.new.stage == Stage::Failed && inconclusive(r)));
    match before.map(|r| r.new.stage) {
        Some(Stage::Sent) => Todo::Recover,
        _ => Todo::Send,
    }
}

/// The receipt of an action's last *accepted* record (what verification looks up), and when
/// it was journalled (`fallback` when no record is accepted).
fn receipt_of(
    history: &[Record],
    fallback: chrono::DateTime<Utc>,
) -> (Receipt, chrono::DateTime<Utc>) {
    history
        .iter()
        .rev()
        .find(|r| r.new.stage == Stage::Accepted)
        .map(|r| (receipt_in(r), r.new.at))
        .unwrap_or((Receipt::default(), fallback))
}

/// The provider's answer as a record holds it.
fn receipt_in(r: &Record) -> Receipt {
    Receipt {
        operation_id: r.new.operation_id.clone(),
        audit_id: r.new.audit_id.clone(),
        http_status: r.new.http_status,
    }
}

/// Whether two actions are the same operation on the same target by the same policy.
fn same_action(a: &PlannedAction, b: &PlannedAction) -> bool {
    a.provider == b.provider
        && a.target == b.target
        && a.kind == b.kind
        && a.action == b.action
        && a.policy == b.policy
}

/// An action of an earlier run, rebuilt from its journal record (to recover or verify it when
/// the current plan does not carry it). Its TTL is not journalled: a resume is verified as
/// running; its rate is not either (0), and its savings only order the queue (0 when the
/// record's text is not a decimal). `None`, with a warning, for a record whose action or kind
/// is not one podwarden writes: nothing can be sent for it.
fn from_record(r: &Record) -> Option<PlannedAction> {
    let n = &r.new;
    let (Some(kind), Some(action)) = (ResourceKind::parse(&n.kind), OpKind::parse(&n.action))
    else {
        tracing::warn!(
            seq = r.seq,
            kind = %n.kind,
            action = %n.action,
            "journal record of an unknown action or kind: left alone"
        );
        return None;
    };
    Some(PlannedAction {
        id: n.action_id.clone(),
        provider: n.provider.clone(),
        target: n.target.clone(),
        pod_id: n.pod_id.clone(),
        kind,
        action,
        policy: n.policy.clone(),
        reason: n.reason.clone(),
        hourly_rate_usd: None,
        est_savings_usd_per_day: None,
        hourly_rate: Decimal::ZERO,
        est_savings_per_day: n
            .est_savings_per_day
            .as_deref()
            .and_then(|text| text.parse().ok())
            .unwrap_or(Decimal::ZERO),
        currency: Currency::new(n.currency.as_deref().unwrap_or_default()),
        idempotency_key: n.idempotency_key.clone(),
        preconditions: Default::default(),
        ttl_hours: None,
        also_matched: Vec::new(),
        notice: None,
        activity_read_at: None,
    })
}

/// Applies `plan`. Errors are the journal's (the run cannot act without its record) and
/// malformed plans; provider failures are part of the outcome.
pub async fn apply(
    plan: &Plan,
    providers: &[Box<dyn Provider>],
    journal: &mut Journal,
    rejected: &[Rejected],
    opts: &Options,
    stop: &StopSignal,
) -> Result<Outcome, ApplyError> {
    let started = std::time::Instant::now();
    let by_name: HashMap<&str, &dyn Provider> =
        providers.iter().map(|p| (p.name(), p.as_ref())).collect();
    let mut outcome = Outcome::default();
    let mut todo: HashMap<&str, Vec<(&PlannedAction, Todo)>> = HashMap::new();
    let mut to_verify: Vec<verify::Accepted> = Vec::new();

    // A hand-edited plan is refused before anything is journalled or sent.
    let names: Vec<&str> = by_name.keys().copied().collect();
    super::plan_check::check(plan, &names)?;

    // Plan-file actions that did not re-derive from today's policies and fleet (`rederive`)
    // are never sent. What the journal already holds under such a key is an earlier apply's:
    // it is settled from the journal's own record (recovered, verified), never from the
    // file's words. The others are journalled as skipped, once write access is known.
    outcome.not_derived = rejected.len();
    let mut refused: Vec<&Rejected> = Vec::new();
    for r in rejected {
        let history = journal.history(&r.action.idempotency_key)?;
        let Some(last) = history.last() else {
            refused.push(r);
            continue;
        };
        // The journal's action under this key must be the file's: a key copied from another
        // action is refused, and that action's records are left alone.
        let Some(known) = from_record(last).filter(|k| same_action(k, &r.action)) else {
            outcome.lines.push(Line {
                action: r.action.clone(),
                result: ActionResult::Refused,
                detail: format!(
                    "not re-derived: its idempotency key is the journal's {} of {} by {}",
                    last.new.action, last.new.target, last.new.policy
                ),
            });
            continue;
        };
        let done = |detail: String| Line {
            action: known.clone(),
            result: ActionResult::AlreadyDone,
            detail,
        };
        let run = &last.new.run_id;
        match last.new.stage {
            // Not in this plan: the earlier-runs path below recovers it.
            Stage::Sent => {}
            Stage::Accepted => outcome
                .lines
                .push(done(format!("accepted in run {run}, verifying"))),
            Stage::Verified => outcome.lines.push(done(format!("verified in run {run}"))),
            Stage::Unverified => {
                let (receipt, at) = receipt_of(&history, last.new.at);
                to_verify.push(verify::Accepted {
                    action: known.clone(),
                    receipt,
                    at,
                });
                outcome
                    .lines
                    .push(done(format!("unverified in run {run}, verifying")));
            }
            // Sent, then no conclusive answer: the earlier-runs path recovers it too.
            Stage::Failed if matches!(after_failure(&history, last, ""), Todo::Recover) => {}
            _ => refused.push(r),
        }
    }
    // Those journalled here as skipped or failed; the earlier-runs path leaves them alone.
    let refused_keys: std::collections::HashSet<&str> = refused
        .iter()
        .filter(|r| r.refusal != Refusal::Edited && r.own_key)
        .map(|r| r.action.idempotency_key.as_str())
        .collect();

    // Actions of earlier runs this plan does not carry: sent before a crash (find out whether
    // they arrived) or accepted and never verified (a run killed before verifying). Without
    // this, `run --apply` (whose next plan no longer holds a pod that was stopped) would
    // leave them unfinished for ever.
    let in_plan: std::collections::HashSet<&str> = plan
        .actions
        .iter()
        .map(|a| a.idempotency_key.as_str())
        .collect();
    let mut earlier: Vec<(PlannedAction, &Record)> = Vec::new();
    let records: Vec<Record> = journal
        .unfinished()?
        .into_iter()
        .chain(journal.accepted_unverified()?)
        .chain(journal.sent_then_inconclusive()?)
        .collect();
    for r in &records {
        let Some(a) = from_record(r) else { continue };
        if in_plan.contains(a.idempotency_key.as_str())
            || refused_keys.contains(a.idempotency_key.as_str())
            || !by_name.contains_key(a.provider.as_str())
        {
            continue;
        }
        earlier.push((a, r));
    }
    // Planned by an earlier run and never sent (a deadline or a signal stopped its queue), and
    // not in this plan: this plan supersedes it. Closed below, once write access is known.
    let mut superseded: Vec<(&PlannedAction, &str)> = Vec::new();
    for (a, r) in &earlier {
        match r.new.stage {
            Stage::Planned => superseded.push((a, &r.new.run_id)),
            // Sent, and perhaps arrived (a crash, or a failure with no conclusive answer).
            Stage::Sent | Stage::Failed => todo
                .entry(a.provider.as_str())
                .or_default()
                .push((a, Todo::RecoverOnly)),
            Stage::Accepted => to_verify.push(verify::Accepted {
                action: a.clone(),
                receipt: receipt_in(r),
                at: r.new.at,
            }),
            _ => {}
        }
    }

    // The journal first, read-only: what is already done, what is held back.
    let mut held = Vec::new();
    for a in &plan.actions {
        let history = journal.history(&a.idempotency_key)?;
        let state = match history.last() {
            Some(r) => match r.new.stage {
                // Accepted, or verified without success (the target could not be read, the
                // provider was down, …): verified (again) this run; verification only reads.
                Stage::Accepted | Stage::Unverified => {
                    let (receipt, at) = receipt_of(&history, r.new.at);
                    to_verify.push(verify::Accepted {
                        action: a.clone(),
                        receipt,
                        at,
                    });
                    Todo::Done(format!(
                        "{} in run {}, verifying",
                        r.new.stage.as_str(),
                        r.new.run_id
                    ))
                }
                Stage::Verified => {
                    Todo::Done(format!("{} in run {}", r.new.stage.as_str(), r.new.run_id))
                }
                Stage::Failed => after_failure(&history, r, &plan.run_id),
                Stage::Sent => Todo::Recover,
                _ => Todo::Send,
            },
            None => Todo::Send,
        };
        match state {
            Todo::Done(why) => outcome.lines.push(Line {
                action: a.clone(),
                result: ActionResult::AlreadyDone,
                detail: why,
            }),
            Todo::Failed(why) => outcome.lines.push(Line {
                action: a.clone(),
                result: ActionResult::Failed,
                detail: why,
            }),
            Todo::Send if a.action == OpKind::Terminate && !opts.yes => held.push(a),
            t => todo.entry(a.provider.as_str()).or_default().push((a, t)),
        }
    }

    // Write access, before anything is journalled: a read-only token marks nothing. Every
    // provider with work is asked before giving up, so that one run names every missing
    // scope. The check is a write call of the budget, so each provider's figures start
    // before it.
    let mut starts: HashMap<&str, (CallStats, std::time::Instant)> = HashMap::new();
    let mut names: Vec<&str> = todo.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        let provider = by_name[name];
        starts.insert(name, (provider.stats(), std::time::Instant::now()));
        if let Some((a, _)) = todo[name].first() {
            if let Err(e) = provider.check_write(&operation(a, opts.yes)).await {
                if matches!(
                    e,
                    ProviderError::Forbidden { .. } | ProviderError::Unauthorized { .. }
                ) {
                    outcome.forbidden.push(e);
                    continue;
                }
                tracing::warn!(provider = name, error = %e, "could not check write access; trying the actions");
            }
        }
    }
    if !outcome.forbidden.is_empty() {
        outcome
            .lines
            .extend(todo.values().flatten().map(|(a, _)| Line {
                action: (*a).clone(),
                result: ActionResult::Pending,
                detail: "not sent: the token may not act".into(),
            }));
        return Ok(outcome);
    }

    for (a, run_id) in superseded {
        let why = format!(
            "planned by run {run_id} and never sent; this run's plan ({}) does not carry it",
            plan.run_id
        );
        journal.append(record(plan, a, Stage::Skipped, Some(why), (opts.clock)()))?;
    }
    for r in refused {
        let why = format!("not re-derived: {}", r.why);
        let (stage, result) = match r.refusal {
            Refusal::Edited => (Stage::Skipped, ActionResult::Refused),
            Refusal::Moved | Refusal::Breaker => (Stage::Skipped, ActionResult::Skipped),
            // No HTTP answer: inconclusive, so the next apply derives it again.
            Refusal::Unreadable => (Stage::Failed, ActionResult::Failed),
        };
        outcome.breaker_refused += usize::from(r.refusal == Refusal::Breaker);
        // Journalled only under a key that is provably the target's own: an edited action's
        // key may be forged (and nothing was done).
        if r.refusal != Refusal::Edited && r.own_key {
            journal.append(record(
                plan,
                &r.action,
                stage,
                Some(why.clone()),
                (opts.clock)(),
            ))?;
        }
        outcome.lines.push(Line {
            action: r.action.clone(),
            result,
            detail: why,
        });
    }
    for a in held {
        let why = "terminate needs --yes on the command line (and the policy's permission)";
        journal.append(record(
            plan,
            a,
            Stage::Skipped,
            Some(why.into()),
            (opts.clock)(),
        ))?;
        outcome.lines.push(Line {
            action: a.clone(),
            result: ActionResult::HeldBack,
            detail: why.into(),
        });
    }
    for (a, t) in todo.values().flatten() {
        if matches!(t, Todo::Send) && journal.latest(&a.idempotency_key)?.is_none() {
            journal.append(record(plan, a, Stage::Planned, None, (opts.clock)()))?;
        }
    }

    let total = todo.values().map(Vec::len).sum();
    let shared = Shared {
        plan,
        journal: Mutex::new(journal),
        progress: Mutex::new(Progress::new(total, "acting", "actions")),
        opts,
        stop,
    };
    let queues = todo.into_iter().map(|(name, mut actions)| {
        let provider = by_name[name];
        let order = super::order::by_value(
            &actions
                .iter()
                .map(|(a, _)| (*a).clone())
                .collect::<Vec<_>>(),
            &*opts.rate,
        );
        let mut ordered = Vec::with_capacity(actions.len());
        let mut slots: Vec<Option<(&PlannedAction, Todo)>> = actions.drain(..).map(Some).collect();
        for i in order {
            if let Some(x) = slots[i].take() {
                ordered.push(x);
            }
        }
        let start = starts
            .get(name)
            .copied()
            .unwrap_or_else(|| (provider.stats(), std::time::Instant::now()));
        provider_queue(provider, ordered, &shared, start)
    });
    let results = futures::future::join_all(queues).await;
    shared
        .progress
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .finish();
    let journal = shared
        .journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    for r in results {
        let r = r?;
        outcome.lines.extend(r.lines);
        to_verify.extend(r.accepted);
        outcome.figures.push(r.figures);
        if let Some(e) = r.stopped_by {
            match e {
                ProviderError::Forbidden { .. } | ProviderError::Unauthorized { .. } => {
                    outcome.forbidden.push(e)
                }
                _ => outcome.deadline = Some(e),
            }
        }
    }
    outcome.interrupted = stop.is_stopped();
    outcome.figures.sort_by(|a, b| a.provider.cmp(&b.provider));

    // Verification, unless SIGTERM asked to stop: the next run verifies what is accepted.
    if !outcome.interrupted && !to_verify.is_empty() {
        let until = (Instant::now() + opts.verify_timeout).min(opts.deadline);
        let verdicts = verify::verify(&to_verify, providers, until, &opts.clock).await;
        for (a, verdict) in verdicts {
            let (stage, detail) = match &verdict {
                Ok(how) => (Stage::Verified, how.clone()),
                Err(why) => (Stage::Unverified, why.clone()),
            };
            journal.append(record(plan, &a, stage, Some(detail), (opts.clock)()))?;
            match verdict {
                Ok(_) => outcome.verified += 1,
                Err(why) => outcome.unverified.push((a.target.clone(), why)),
            }
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// What one provider's queue did.
struct QueueResult {
    lines: Vec<Line>,
    accepted: Vec<verify::Accepted>,
    figures: Figures,
    /// The failure that stopped the queue (403, deadline), if any.
    stopped_by: Option<ProviderError>,
}

/// Works through one provider's actions: batches that fit the write budget, each re-checked
/// right before it is sent.
async fn provider_queue(
    provider: &dyn Provider,
    actions: Vec<(&PlannedAction, Todo)>,
    shared: &Shared<'_>,
    (before, started): (CallStats, std::time::Instant),
) -> Result<QueueResult, JournalError> {
    let mut out = QueueResult {
        lines: Vec::new(),
        accepted: Vec::new(),
        figures: Figures {
            provider: provider.name().to_string(),
            writes: 0,
            rate_limited: 0,
            elapsed: Duration::ZERO,
            limit: provider.write_limit(),
        },
        stopped_by: None,
    };
    let mut rest = actions.into_iter().peekable();
    while rest.peek().is_some() {
        if shared.stop.is_stopped() || out.stopped_by.is_some() {
            break;
        }
        let batch: Vec<(&PlannedAction, Todo)> =
            rest.by_ref().take(provider.write_batch().max(1)).collect();
        let targets: Vec<String> = batch.iter().map(|(a, _)| a.target.clone()).collect();
        let fresh = match provider.recheck(&targets, shared.now()).await {
            Ok(pods) => pods
                .into_iter()
                .map(|p| (p.target.clone(), p))
                .collect::<HashMap<String, Pod>>(),
            Err(e) => {
                let stops = matches!(
                    e,
                    ProviderError::DeadlineExceeded { .. }
                        | ProviderError::Forbidden { .. }
                        | ProviderError::Unauthorized { .. }
                );
                for (a, _) in &batch {
                    let (result, stage) = if stops {
                        (ActionResult::Pending, None)
                    } else {
                        (ActionResult::Failed, Some(Stage::Failed))
                    };
                    let detail = format!("could not re-check the target: {e}");
                    if let Some(stage) = stage {
                        shared.append(shared.record(a, stage, Some(detail.clone())))?;
                    }
                    shared.settle(&a.target);
                    out.lines.push(Line {
                        action: (*a).clone(),
                        result,
                        detail,
                    });
                }
                if stops {
                    out.stopped_by = Some(e);
                }
                continue;
            }
        };
        let mut sendable: Vec<&PlannedAction> = Vec::new();
        for (a, todo) in &batch {
            let pod = fresh.get(&a.target);
            if matches!(todo, Todo::Recover | Todo::RecoverOnly) {
                match preconditions::took_effect(a.action, pod) {
                    Effect::Done | Effect::InProgress => {
                        recover(provider, a, pod, shared, &mut out).await?;
                        continue;
                    }
                    Effect::NotYet | Effect::Gone => {}
                }
            }
            // Sent before a crash, did not arrive, and this plan does not carry it: closed
            // as skipped, never sent on an old plan's approval.
            if matches!(todo, Todo::RecoverOnly) {
                let why = "sent before a crash in an earlier run; it did not arrive, and this \
                           plan does not carry it"
                    .to_string();
                shared.append(shared.record(a, Stage::Skipped, Some(why.clone())))?;
                shared.settle(&a.target);
                out.lines.push(Line {
                    action: (*a).clone(),
                    result: ActionResult::Skipped,
                    detail: why,
                });
                continue;
            }
            // A terminate sent before a crash that did not arrive is held back like any
            // other without `--yes`: re-sending it would send a terminate without `--yes`.
            if a.action == OpKind::Terminate && !shared.opts.yes {
                let why = "terminate needs --yes on the command line (and the policy's permission)";
                shared.append(shared.record(a, Stage::Skipped, Some(why.into())))?;
                shared.settle(&a.target);
                out.lines.push(Line {
                    action: (*a).clone(),
                    result: ActionResult::HeldBack,
                    detail: why.into(),
                });
                continue;
            }
            match preconditions::check(
                a,
                pod,
                shared.plan.evaluated_at,
                &shared.opts.settings,
                shared.now(),
            ) {
                Ok(()) => sendable.push(a),
                Err(why) => {
                    shared.append(shared.record(a, Stage::Skipped, Some(why.clone())))?;
                    shared.settle(&a.target);
                    out.lines.push(Line {
                        action: (*a).clone(),
                        result: ActionResult::Skipped,
                        detail: why,
                    });
                }
            }
        }
        let ops: Vec<Operation> = sendable
            .iter()
            .map(|a| operation(a, shared.opts.yes))
            .collect();
        for request in provider.requests(&ops) {
            let carried: Vec<&PlannedAction> = request.ops.iter().map(|&i| sendable[i]).collect();
            if shared.stop.is_stopped() || out.stopped_by.is_some() {
                for a in carried {
                    out.lines.push(pending(a, "not sent: the queue stopped"));
                }
                continue;
            }
            // *sent* is journalled once the budget lets the request go, right before it leaves
            // (a retry of the same request is not journalled again). A journal that cannot
            // record it keeps the request from leaving.
            let mut journalled = false;
            let mut journal_error = None;
            let mut leaving = || -> Result<(), String> {
                if journalled {
                    return Ok(());
                }
                for a in &carried {
                    if let Err(e) = shared.append(shared.record(a, Stage::Sent, None)) {
                        let why = e.to_string();
                        journal_error = Some(e);
                        return Err(why);
                    }
                }
                journalled = true;
                Ok(())
            };
            let answer = queue::send(provider, &request, shared.opts.deadline, &mut leaving).await;
            if let Some(e) = journal_error {
                return Err(e);
            }
            if !journalled {
                // Never left (the deadline came first): still as planned, for the next run.
                for a in &carried {
                    shared.settle(&a.target);
                    out.lines
                        .push(pending(a, "not sent: the run's deadline came first"));
                }
                if let Err(e) = answer {
                    out.stopped_by = Some(e);
                }
                continue;
            }
            settle_answer(&carried, answer, shared, &mut out)?;
        }
    }
    for (a, _) in rest {
        out.lines.push(pending(a, "not sent: the queue stopped"));
    }
    let after = provider.stats();
    out.figures.writes = after.writes - before.writes;
    out.figures.rate_limited = after.rate_limited - before.rate_limited;
    out.figures.elapsed = started.elapsed();
    Ok(out)
}

fn pending(a: &PlannedAction, why: &str) -> Line {
    Line {
        action: a.clone(),
        result: ActionResult::Pending,
        detail: why.into(),
    }
}

/// Journals the answer to one request for each action it carried.
fn settle_answer(
    carried: &[&PlannedAction],
    answer: Result<Vec<Result<Receipt, ProviderError>>, ProviderError>,
    shared: &Shared<'_>,
    out: &mut QueueResult,
) -> Result<(), JournalError> {
    let per_op: Vec<Result<Receipt, ProviderError>> = match answer {
        Ok(results) => results,
        Err(e) => {
            if matches!(
                e,
                ProviderError::DeadlineExceeded { .. }
                    | ProviderError::Forbidden { .. }
                    | ProviderError::Unauthorized { .. }
            ) {
                // Left as *sent*: whether it arrived is found out by the next run.
                for a in carried {
                    shared.settle(&a.target);
                    out.lines.push(pending(a, &format!("not confirmed: {e}")));
                }
                out.stopped_by = Some(e);
                return Ok(());
            }
            carried.iter().map(|_| Err(e.clone())).collect()
        }
    };
    for (a, result) in carried.iter().zip(per_op) {
        let line = match result {
            Ok(receipt) => {
                let mut r = shared.record(a, Stage::Accepted, None);
                r.http_status = receipt.http_status;
                r.operation_id = receipt.operation_id.clone();
                r.audit_id = receipt.audit_id.clone();
                shared.append(r)?;
                out.accepted.push(verify::Accepted {
                    action: (*a).clone(),
                    receipt: receipt.clone(),
                    at: shared.now(),
                });
                Line {
                    action: (*a).clone(),
                    result: ActionResult::Accepted,
                    detail: receipt
                        .operation_id
                        .map_or_else(|| "accepted".into(), |id| format!("accepted as {id}")),
                }
            }
            Err(e) => {
                let mut r = shared.record(a, Stage::Failed, Some(e.to_string()));
                r.http_status = e.http_status();
                shared.append(r)?;
                Line {
                    action: (*a).clone(),
                    result: ActionResult::Failed,
                    detail: e.to_string(),
                }
            }
        };
        shared.settle(&a.target);
        out.lines.push(line);
    }
    Ok(())
}

/// An action sent before a crash whose effect shows on its target: ask again with the same
/// key where the provider gives operation ids (the first response comes back, nothing is
/// done twice), else journal it as accepted from the state shown.
async fn recover(
    provider: &dyn Provider,
    a: &PlannedAction,
    pod: Option<&Pod>,
    shared: &Shared<'_>,
    out: &mut QueueResult,
) -> Result<(), JournalError> {
    let state = pod.map_or_else(|| "gone".to_string(), |p| p.status.to_string());
    let op = operation(a, shared.opts.yes);
    // A terminate is replayed only with `--yes`: without it the request would be a terminate
    // sent without `--yes` (its effect shows anyway; the receipt is what is lost).
    let replay = if provider.keeps_operation_ids() && (op.op != OpKind::Terminate || op.confirm) {
        match provider.requests(std::slice::from_ref(&op)).first() {
            Some(r) => Some(queue::send(provider, r, shared.opts.deadline, &mut || Ok(())).await),
            None => None,
        }
    } else {
        None
    };
    let receipt = match replay {
        Some(Ok(mut results)) if !results.is_empty() => results.remove(0).ok(),
        _ => None,
    };
    let mut r = shared.record(
        a,
        Stage::Accepted,
        Some(format!(
            "sent before a crash; it arrived (the target is {state} now){}",
            if receipt.is_some() {
                ": receipt recovered with the same Idempotency-Key"
            } else {
                ""
            }
        )),
    );
    let receipt = receipt.unwrap_or_default();
    r.operation_id = receipt.operation_id.clone();
    r.audit_id = receipt.audit_id.clone();
    r.http_status = receipt.http_status;
    shared.append(r)?;
    // It was accepted when it was first sent, perhaps hours ago: the audit is read from then.
    let at = shared.first_recorded(&a.idempotency_key);
    out.accepted.push(verify::Accepted {
        action: a.clone(),
        receipt,
        at: at.unwrap_or_else(|| shared.now()),
    });
    shared.settle(&a.target);
    out.lines.push(Line {
        action: a.clone(),
        result: ActionResult::Accepted,
        detail: format!("recovered after a crash (target {state})"),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SIGTERM after the queue drained skips verification: what was accepted is unverified,
    /// and the exit code must say so (it said 0).
    #[test]
    fn a_signal_exits_3_even_when_nothing_was_left_pending() {
        let outcome = Outcome {
            interrupted: true,
            ..Outcome::default()
        };
        assert_eq!(outcome.exit(), Exit::ActionsFailed);
        assert_eq!(Outcome::default().exit(), Exit::Success);
    }
}
