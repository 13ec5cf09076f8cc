//! Building the plan from evaluation results: the guards, circuit breakers, one action per pod
//! (precedence), reasons and idempotency keys.
//!
//! **Guards** belong to the plan, not to any condition, so that no policy can get around them.
//! A pod a policy matched is not acted on when:
//! 1. its provider's inventory is incomplete this run;
//! 2. it is protected (the protection label, or younger than the new-pod grace);
//! 3. an input a condition reads is unknown (activity, idle start, orphan age): unknown is
//!    active — the policy's evaluation already leaves such pods out, and they are listed here;
//! 4. the action does not fit its status ([`fits`]): stop needs a running pod, resume a
//!    stopped one, terminate a settled one; pods in transition wait for a later run;
//! 5. it is inside an active resume-TTL lease and the action is stop or terminate, unless the
//!    policy says `override_ttl_lease = true`;
//! 6. the policy is outside its schedule (the whole policy).
//!
//! **Circuit breakers** judge a policy's filter, not its share of the spoils: they count every
//! pod the policy matched that the guards let it act on, whether or not it wins precedence
//! (as Cloud Custodian's `max-resources` counts matched resources). `max_fleet_share` divides
//! that count by the pods the action could apply to in the policy's scope (its providers and
//! resource kind, with a status the action fits: running pods for stop, stopped for resume,
//! settled pods or orphans for terminate). `max_per_day` sums the counted pods' daily cost per
//! currency. A tripped breaker refuses the whole policy: its pods do not fall back to another
//! policy in that run. The global `[limits]` judge the finished plan's actions over the fleet.
//!
//! **Precedence** when several acting policies may act on one pod: the highest `priority`
//! wins; on a tie the least destructive action (resume, then stop, then terminate); then the
//! policy name. The losers are listed in the action's `also_matched`. Report-only policies
//! never take a pod's action slot.
//!
//! **Notice periods** (`notice = "24h"`, see [`super::notice`]): the action a notice policy
//! wins is planned only once its notice is due; before that it is listed in `pending`. Pending
//! pods count toward their policy's breakers like any pod it matched and could act on (they
//! are in `counted`), but not toward the global `[limits]`, which count this run's actions.
//! A plan the global breaker refuses holds no pending entry either.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::file;
use super::notice::{self, Notices};
use super::{Blocked, Plan, PlannedAction, PolicyTally, Reported, Summary, VERSION};
use crate::fleet::{Activity, Fleet, Pod, PodStatus, ResourceKind};
use crate::money::{fixed, Currency};
use crate::policy::evaluate::Evaluation;
use crate::policy::schedule::in_schedule;
use crate::policy::{reason, Action, Limits, Policy, PolicySet};

/// What guards the plan besides the policies themselves: podwarden.toml's settings, and the
/// notices held from earlier runs (from the state store; empty for a snapshot).
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub protect_label: (String, String),
    pub new_pod_grace: chrono::Duration,
    pub limits: Limits,
    pub notices: Notices,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            protect_label: ("podwarden/protect".into(), "true".into()),
            new_pod_grace: chrono::Duration::hours(2),
            limits: Limits::default(),
            notices: Notices::new(),
        }
    }
}

/// Whether `action` fits a pod in `status`; why not otherwise.
pub fn fits(action: Action, status: PodStatus) -> Result<(), String> {
    use PodStatus::*;
    let ok = match action {
        Action::Stop => status == Running,
        Action::Resume => status == Stopped,
        Action::Terminate => matches!(status, Running | Stopped | Error),
        Action::Report => true,
    };
    if ok {
        return Ok(());
    }
    Err(match (action, status) {
        (Action::Stop, Stopped) => "already stopped: nothing to stop".into(),
        (_, Starting | Stopping | Restarting) => {
            format!("in transition ({status}): left for a later run")
        }
        (_, Unknown) => "status unknown to podwarden: never acted on".into(),
        _ => format!("{} does not fit a {status} pod", action.as_str()),
    })
}

/// Guard 1: the protection label and the new-pod grace; why the pod is exempt.
pub fn protection(pod: &Pod, settings: &PlanSettings, now: DateTime<Utc>) -> Option<String> {
    let (k, v) = &settings.protect_label;
    if pod.labels.get(k) == Some(v) {
        return Some(format!("protected by label {k}={v}"));
    }
    if now - pod.created_at < settings.new_pod_grace {
        return Some(format!(
            "protected: younger than the new-pod grace of {}",
            crate::duration::format(settings.new_pod_grace)
        ));
    }
    None
}

/// Guards 1 and 2 of the module doc, which exempt a pod from every policy (report-only ones
/// too); why it is exempt.
fn exempt(pod: &Pod, fleet: &Fleet, settings: &PlanSettings, now: DateTime<Utc>) -> Option<String> {
    if !fleet.is_complete(&pod.provider) {
        return Some("provider data incomplete this run".into());
    }
    protection(pod, settings, now)
}

/// Guards 1, 2, 4 and 5 of the module doc for one matched pod; why it is not acted on.
pub(super) fn guard(
    pod: &Pod,
    policy: &Policy,
    fleet: &Fleet,
    settings: &PlanSettings,
    now: DateTime<Utc>,
) -> Option<String> {
    if let Some(why) = exempt(pod, fleet, settings, now) {
        return Some(why);
    }
    if let Err(why) = fits(policy.action, pod.status) {
        return Some(why);
    }
    lease(pod, policy.action, policy.override_ttl_lease, now)
}

/// Guard 5: a stop or terminate inside an active resume-TTL lease, unless the policy
/// overrides it; why it is not acted on. Apply checks it again right before acting.
pub fn lease(pod: &Pod, action: Action, overridden: bool, now: DateTime<Utc>) -> Option<String> {
    let stops = matches!(action, Action::Stop | Action::Terminate);
    match pod.ttl_expires_at {
        Some(t) if t > now && stops && !overridden => Some(format!(
            "inside an active resume-TTL lease (until {}; a policy that means to {} inside a lease says override_ttl_lease = true)",
            t.format("%Y-%m-%d %H:%M UTC"),
            action.as_str()
        )),
        _ => None,
    }
}

/// Why a pod the policy would match if its data were known is not acted on.
fn unknown_why(pod: &Pod) -> String {
    match &pod.activity {
        Activity::Unknown { why } => format!("activity unknown ({why}): treated as active"),
        Activity::Idle { since: None, .. } => {
            "idle, but since when is not known yet: treated as active until observed".into()
        }
        _ if pod.kind == ResourceKind::Orphan && pod.orphaned_since.is_none() => {
            "orphan age unknown until first observed".into()
        }
        _ => "a signal it reads is unknown: treated as active".into(),
    }
}

/// A deterministic key for "this operation on this incarnation of this target": the same
/// across re-runs and re-applies of a plan (so a crashed run never repeats it), new once the
/// target is in another incarnation. Stop: the pod's last start. Terminate: its creation.
/// Resume: the stopped period it ends (when podwarden first saw it stopped) **and** the UTC
/// day it is planned. A provider that keeps no start for a stopped pod (Podstack) cannot show
/// a resume-and-stop that happened between two runs, so the day keeps two resumes on
/// different days apart (the provider replays a repeated key for 24 h and does nothing);
/// within one day a repeated plan is the same resume.
pub fn idempotency_key(pod: &Pod, action: Action, now: DateTime<Utc>) -> String {
    let incarnation = match (pod.kind, action) {
        (ResourceKind::Orphan, _) | (_, Action::Terminate) => pod.created_at.to_rfc3339(),
        (_, Action::Resume) => format!(
            "{} stopped since {} resumed on {}",
            pod.incarnation().to_rfc3339(),
            pod.stopped_since
                .map_or_else(|| "unknown".into(), |t| t.to_rfc3339()),
            now.date_naive()
        ),
        _ => pod.incarnation().to_rfc3339(),
    };
    key_of(&pod.provider, &pod.target, action, &incarnation)
}

/// The SHA-256 behind [`idempotency_key`]: provider, target, action and incarnation.
pub fn key_of(provider: &str, target: &str, action: Action, incarnation: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{provider}\n{target}\n{}\n{incarnation}",
        action.as_str()
    ));
    hex::encode(h.finalize())
}

/// What a circuit breaker judges.
struct Load {
    /// Pods (or actions) counted.
    count: usize,
    /// What `max_fleet_share` divides by.
    comparable: usize,
    /// Daily cost affected, per currency (absolute amounts).
    per_day: BTreeMap<Currency, Decimal>,
}

fn breaker(limits: &Limits, load: &Load, counted: &str) -> Option<String> {
    if let Some(max) = limits.max_actions {
        if load.count > max {
            return Some(format!(
                "circuit breaker: {} {counted} > max_actions {max}",
                load.count
            ));
        }
    }
    if let Some(pct) = limits.max_fleet_share_pct {
        let share = if load.comparable == 0 {
            Decimal::ZERO
        } else {
            Decimal::from(load.count * 100) / Decimal::from(load.comparable)
        };
        if share > pct {
            return Some(format!(
                "circuit breaker: {} {counted} of {} comparable pods ({}%) > max_fleet_share {pct}%",
                load.count,
                load.comparable,
                fixed(share, 1)
            ));
        }
    }
    if !limits.max_per_day.is_empty() {
        for (cur, total) in &load.per_day {
            match limits.max_per_day.get(cur.as_str()) {
                None => {
                    return Some(format!(
                        "circuit breaker: {counted} in {cur} but max_per_day has no {cur} limit"
                    ))
                }
                Some(max) if total > max => {
                    return Some(format!(
                    "circuit breaker: {} {cur}/day affected by {counted} > max_per_day {} {cur}",
                    fixed(*total, 2),
                    fixed(*max, 2)
                ))
                }
                _ => {}
            }
        }
    }
    None
}

/// Daily cost of `pods`, per currency.
fn daily_cost<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> BTreeMap<Currency, Decimal> {
    let mut out = BTreeMap::new();
    for p in pods {
        *out.entry(p.hourly_rate.currency.clone())
            .or_insert(Decimal::ZERO) += p.daily_rate().amount.abs();
    }
    out
}

/// Pods the policy's action could apply to: its providers and resource kind, with a status
/// the action fits (the denominator of `max_fleet_share`).
fn comparable(pods: &[Pod], policy: &Policy) -> usize {
    pods.iter().filter(|pod| could_apply(policy, pod)).count()
}

/// Whether the policy's action could apply to the pod: in its scope, with a fitting status.
fn could_apply(policy: &Policy, pod: &Pod) -> bool {
    pod.kind == policy.resource
        && policy.applies_to(&pod.provider)
        && fits(policy.action, pod.status).is_ok()
}

/// What must still hold right before the action is sent (apply re-reads the target and checks
/// each): `status`; `started_at`, the incarnation the evidence belongs to (a restart voids
/// it); `activity` `idle` (idle since before the plan) or `orphan`; `idle_since`; `lease`
/// `override` when the policy acts inside a TTL lease; and `ttl_expires_at` as planned.
/// Protection (label, new-pod grace) is always checked again.
fn preconditions(pod: &Pod, policy: &Policy) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("status".to_string(), pod.status.to_string());
    if let Some(t) = pod.ttl_expires_at {
        out.insert("ttl_expires_at".to_string(), t.to_rfc3339());
    }
    if let Some(t) = pod.last_started_at {
        out.insert("started_at".to_string(), t.to_rfc3339());
    }
    // A stop, and a terminate whose policy reads the pod's activity, rest on it being idle:
    // apply checks it again right before acting.
    let reads_activity = policy
        .filters
        .iter()
        .any(|f| f.columns().iter().any(|c| c == "activity" || c == "idle"));
    if pod.kind == ResourceKind::Orphan {
        out.insert("activity".to_string(), "orphan".to_string());
    } else if policy.action == Action::Stop
        || (policy.action == Action::Terminate && reads_activity)
    {
        if let Activity::Idle { since, .. } = &pod.activity {
            out.insert("activity".to_string(), "idle".to_string());
            if let Some(t) = since {
                out.insert("idle_since".to_string(), t.to_rfc3339());
            }
        }
    }
    if policy.override_ttl_lease {
        out.insert("lease".to_string(), "override".to_string());
    }
    out
}

/// The action `policy` plans for `pod`; `None` for a report-only policy, which plans none.
fn planned(pod: &Pod, policy: &Policy, now: DateTime<Utc>) -> Option<PlannedAction> {
    let action = super::op_of(policy.action)?;
    let key = idempotency_key(pod, policy.action, now);
    let per_day = pod.daily_rate().amount;
    let savings = if policy.action == Action::Resume {
        -per_day
    } else {
        per_day
    };
    let usd = pod.hourly_rate.currency.is_usd();
    let preconditions = preconditions(pod, policy);
    Some(PlannedAction {
        id: format!("act_{}", &key[..16]),
        provider: pod.provider.clone(),
        target: pod.target.clone(),
        pod_id: pod.pod_id.clone(),
        kind: pod.kind,
        action,
        policy: policy.name.clone(),
        reason: reason::render(policy, pod, now),
        hourly_rate_usd: usd.then(|| file::rate(pod.hourly_rate.amount)),
        est_savings_usd_per_day: usd.then(|| file::daily(savings)),
        hourly_rate: file::rate(pod.hourly_rate.amount),
        est_savings_per_day: file::daily(savings),
        currency: pod.hourly_rate.currency.clone(),
        idempotency_key: key,
        preconditions,
        ttl_hours: policy.ttl_hours.filter(|_| policy.action == Action::Resume),
        also_matched: Vec::new(),
        notice: None,
        activity_read_at: match pod.reading {
            Some(crate::fleet::Reading::Stored { at }) => Some(at),
            _ => None,
        },
    })
}

/// Builds the plan. Pure: the same inputs give the same plan (apart from `run_id`, `generated_at`).
pub fn build(
    fleet: &Fleet,
    set: &PolicySet,
    eval: &Evaluation,
    settings: &PlanSettings,
    now: DateTime<Utc>,
    run_id: &str,
    generated_at: DateTime<Utc>,
) -> Plan {
    let pods = &fleet.pods;
    let mut blocked = Vec::new();
    let mut reported = Vec::new();
    let mut pending = Vec::new();
    let mut tallies = Vec::new();
    let mut refused = BTreeSet::new();
    let mut breaker_tripped = false;
    // pod row → the acting policies (indices) the guards let act on it.
    let mut candidates: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (pi, policy) in set.policies.iter().enumerate() {
        let block = |target: &str, why: String| Blocked {
            policy: policy.name.clone(),
            target: target.into(),
            why,
        };
        let mut tally = PolicyTally {
            policy: policy.name.clone(),
            action: policy.action.as_str().into(),
            matched: eval.matched[pi].len(),
            unknown: eval.unknown[pi].len(),
            ..PolicyTally::default()
        };
        if let Some(s) = policy.schedule.as_ref().filter(|s| !in_schedule(s, now)) {
            blocked.push(block("*", format!("outside its schedule ({s})")));
            // A notice policy re-checks the notices it holds: kept while it still matches.
            if policy.notice.is_some() {
                for &row in &eval.matched[pi] {
                    let pod = &pods[row];
                    if guard(pod, policy, fleet, settings, now).is_some() {
                        continue;
                    }
                    let Some(action) = planned(pod, policy, now) else {
                        continue;
                    };
                    let inc = notice::incarnation(pod, policy.action);
                    let key = notice::key_of(&action);
                    if notice::held(&settings.notices, &key, inc, now).is_some() {
                        if let Some(n) = notice::judge(
                            &settings.notices,
                            &action,
                            inc,
                            policy.notice,
                            policy.schedule.as_ref(),
                            now,
                        ) {
                            tally.pending += 1;
                            pending.push(notice::pending(&action, &n));
                        }
                    }
                }
            }
            tallies.push(tally);
            continue;
        }
        for &row in &eval.unknown[pi] {
            let pod = &pods[row];
            // A guard that would refuse the pod whatever its data says is the reason to give.
            let why = guard(pod, policy, fleet, settings, now).unwrap_or_else(|| unknown_why(pod));
            blocked.push(block(&pod.target, why));
        }
        let mut eligible = Vec::new();
        for &row in &eval.matched[pi] {
            let pod = &pods[row];
            if policy.action == Action::Report {
                match exempt(pod, fleet, settings, now) {
                    Some(why) => blocked.push(block(&pod.target, why)),
                    None => reported.push(Reported {
                        policy: policy.name.clone(),
                        provider: pod.provider.clone(),
                        target: pod.target.clone(),
                        reason: reason::render(policy, pod, now),
                    }),
                }
                continue;
            }
            match guard(pod, policy, fleet, settings, now) {
                Some(why) => {
                    tally.guarded += 1;
                    blocked.push(block(&pod.target, why));
                }
                None => eligible.push(row),
            }
        }
        tally.counted = eligible.len();
        if policy.action != Action::Report {
            let load = Load {
                count: eligible.len(),
                comparable: comparable(pods, policy),
                per_day: daily_cost(eligible.iter().map(|&r| &pods[r])),
            };
            if let Some(why) = breaker(
                &policy.limits,
                &load,
                "pods its filter matches and it could act on",
            ) {
                breaker_tripped = true;
                refused.insert(pi);
                tally.refused = true;
                blocked.push(block("*", format!("{why}; the whole policy is refused")));
            }
            for &row in &eligible {
                candidates.entry(row).or_default().push(pi);
            }
        }
        tallies.push(tally);
    }

    // One action per pod: precedence decides; a refused winner leaves the pod alone.
    let mut actions = Vec::new();
    for (row, mut competing) in candidates {
        competing.sort_by(|&a, &b| {
            let (pa, pb) = (&set.policies[a], &set.policies[b]);
            pb.priority
                .cmp(&pa.priority)
                .then(pa.action.cmp(&pb.action))
                .then(pa.name.cmp(&pb.name))
        });
        let winner = competing[0];
        if refused.contains(&winner) {
            continue;
        }
        let policy = &set.policies[winner];
        let Some(mut action) = planned(&pods[row], policy, now) else {
            continue;
        };
        action.also_matched = competing[1..]
            .iter()
            .map(|&i| set.policies[i].name.clone())
            .collect();
        let inc = notice::incarnation(&pods[row], policy.action);
        match notice::judge(
            &settings.notices,
            &action,
            inc,
            policy.notice,
            policy.schedule.as_ref(),
            now,
        ) {
            Some(n) if !notice::is_due(&n, now) => {
                tallies[winner].pending += 1;
                pending.push(notice::pending(&action, &n));
            }
            served => {
                action.notice = served;
                tallies[winner].planned += 1;
                actions.push(action);
            }
        }
    }

    // The global breaker refuses the whole plan. Its share is of the pods any acting policy
    // could apply to (in its scope, with a status its action fits).
    let acting: Vec<&Policy> = set
        .policies
        .iter()
        .filter(|p| p.action != Action::Report)
        .collect();
    let load = Load {
        count: actions.len(),
        comparable: pods
            .iter()
            .filter(|pod| acting.iter().any(|p| could_apply(p, pod)))
            .count(),
        per_day: super::per_currency(&actions, true),
    };
    if let Some(why) = breaker(&settings.limits, &load, "actions") {
        breaker_tripped = true;
        blocked.push(Blocked {
            policy: "*".into(),
            target: "*".into(),
            why: format!("global {why}; no action is planned"),
        });
        actions.clear();
        pending.clear();
        for t in &mut tallies {
            t.planned = 0;
            t.pending = 0;
        }
    }

    actions.sort_by(|a, b| (&a.provider, &a.target).cmp(&(&b.provider, &b.target)));
    pending.sort_by(|a, b| {
        (&a.provider, &a.target, &a.policy).cmp(&(&b.provider, &b.target, &b.policy))
    });
    blocked.sort();
    blocked.dedup();
    reported.sort_by(|a, b| {
        (&a.policy, &a.provider, &a.target).cmp(&(&b.policy, &b.provider, &b.target))
    });

    let mut summary = Summary {
        breaker_tripped,
        pods: pods.len(),
        ..Summary::default()
    };
    for a in &actions {
        *summary
            .actions_by_kind
            .entry(a.action.to_string())
            .or_default() += 1;
    }
    summary.est_savings_per_day = super::per_currency(&actions, false);

    Plan {
        version: VERSION,
        run_id: run_id.into(),
        generated_at,
        evaluated_at: now,
        policies_sha256: set.sha256.clone(),
        actions,
        blocked,
        pending,
        reported,
        policies: tallies,
        providers: fleet.providers.clone(),
        unfinished: Vec::new(),
        summary,
    }
}
