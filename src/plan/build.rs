//! Building the plan from evaluation results: protection, unknown activity, schedules,
//! one action per pod (precedence), circuit breakers, reasons and idempotency keys.
//!
//! Precedence when several acting policies match one pod: the highest `priority` wins;
//! on a tie the least destructive action (resume, then stop, then terminate); then the
//! policy name. The losers are listed in the action's `also_matched`. Report-only
//! policies never take a pod's action slot. A policy refused by a circuit breaker is
//! refused whole: none of its actions remain, and its pods do not fall back to others.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::{Blocked, Plan, PlannedAction, Reported, Summary, VERSION};
use crate::fleet::{Activity, Fleet, Pod, ResourceKind};
use crate::money::fixed;
use crate::policy::evaluate::Evaluation;
use crate::policy::schedule::in_schedule;
use crate::policy::{reason, Action, Limits, Policy, PolicySet};

/// What guards the plan besides the policies themselves (from podwarden.toml).
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub protect_label: (String, String),
    pub new_pod_grace: chrono::Duration,
    pub limits: Limits,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            protect_label: ("podwarden/protect".into(), "true".into()),
            new_pod_grace: chrono::Duration::hours(2),
            limits: Limits::default(),
        }
    }
}

fn protection(pod: &Pod, settings: &PlanSettings, now: DateTime<Utc>) -> Option<String> {
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

/// A deterministic key for "this operation on this incarnation of this target": the
/// same across re-runs (so a crashed run never repeats it), new once the pod is restarted.
pub fn idempotency_key(pod: &Pod, action: Action) -> String {
    let incarnation = match (pod.kind, action) {
        (ResourceKind::Orphan, _) | (_, Action::Terminate) => pod.created_at,
        _ => pod.last_started_at.unwrap_or(pod.created_at),
    };
    let mut h = Sha256::new();
    h.update(format!(
        "{}\n{}\n{}\n{}",
        pod.provider,
        pod.target,
        action.as_str(),
        incarnation.to_rfc3339()
    ));
    hex::encode(h.finalize())
}

fn breaker(limits: &Limits, actions: &[&PlannedAction], scope: usize) -> Option<String> {
    if let Some(max) = limits.max_actions {
        if actions.len() > max {
            return Some(format!(
                "circuit breaker: {} actions > max_actions {max}",
                actions.len()
            ));
        }
    }
    if let Some(pct) = limits.max_fleet_share_pct {
        let share = if scope == 0 {
            Decimal::ZERO
        } else {
            Decimal::from(actions.len() * 100) / Decimal::from(scope)
        };
        if share > pct {
            return Some(format!(
                "circuit breaker: {} of {scope} pods ({}%) > max_fleet_share {pct}%",
                actions.len(),
                fixed(share, 1)
            ));
        }
    }
    if !limits.max_per_day.is_empty() {
        for (cur, total) in super::per_currency(actions.iter().copied(), true) {
            match limits.max_per_day.get(&cur) {
                None => {
                    return Some(format!(
                        "circuit breaker: actions in {cur} but max_per_day has no {cur} limit"
                    ))
                }
                Some(max) if total > *max => {
                    return Some(format!(
                        "circuit breaker: {} {cur}/day affected > max_per_day {} {cur}",
                        fixed(total, 2),
                        fixed(*max, 2)
                    ))
                }
                _ => {}
            }
        }
    }
    None
}

fn planned(pod: &Pod, policy: &Policy, now: DateTime<Utc>) -> PlannedAction {
    let key = idempotency_key(pod, policy.action);
    let per_day = pod.daily_rate().amount;
    let savings = if policy.action == Action::Resume {
        -per_day
    } else {
        per_day
    };
    let usd = pod.hourly_rate.currency.is_usd();
    let mut preconditions = BTreeMap::new();
    preconditions.insert("status".to_string(), pod.status.to_string());
    if let Some(t) = pod.ttl_expires_at {
        preconditions.insert("ttl_expires_at".to_string(), t.to_rfc3339());
    }
    PlannedAction {
        id: format!("act_{}", &key[..16]),
        provider: pod.provider.clone(),
        target: pod.target.clone(),
        pod_id: pod.pod_id.clone(),
        kind: pod.kind.as_str().into(),
        action: policy.action.as_str().into(),
        policy: policy.name.clone(),
        reason: reason::render(policy, pod, now),
        hourly_rate_usd: usd.then(|| fixed(pod.hourly_rate.amount, 4)),
        est_savings_usd_per_day: usd.then(|| fixed(savings, 2)),
        hourly_rate: fixed(pod.hourly_rate.amount, 4),
        est_savings_per_day: fixed(savings, 2),
        currency: pod.hourly_rate.currency.to_string(),
        idempotency_key: key,
        preconditions,
        ttl_hours: policy.ttl_hours.filter(|_| policy.action == Action::Resume),
        also_matched: Vec::new(),
    }
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
    // pod row → competing (policy index) for the action slot.
    let mut candidates: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (pi, policy) in set.policies.iter().enumerate() {
        if let Some(s) = policy.schedule.as_ref().filter(|s| !in_schedule(s, now)) {
            blocked.push(Blocked {
                policy: policy.name.clone(),
                target: "*".into(),
                why: format!("outside its schedule ({s})"),
            });
            continue;
        }
        for &row in &eval.unknown[pi] {
            let why = match &pods[row].activity {
                Activity::Unknown { why } => format!("activity unknown ({why}): treated as active"),
                _ => {
                    "idle, but since when is not known yet: treated as active until observed".into()
                }
            };
            blocked.push(Blocked {
                policy: policy.name.clone(),
                target: pods[row].target.clone(),
                why,
            });
        }
        for &row in &eval.matched[pi] {
            let pod = &pods[row];
            if !fleet.is_complete(&pod.provider) {
                blocked.push(Blocked {
                    policy: policy.name.clone(),
                    target: pod.target.clone(),
                    why: "provider data incomplete this run".into(),
                });
            } else if let Some(why) = protection(pod, settings, now) {
                blocked.push(Blocked {
                    policy: policy.name.clone(),
                    target: pod.target.clone(),
                    why,
                });
            } else if policy.action == Action::Report {
                reported.push(Reported {
                    policy: policy.name.clone(),
                    provider: pod.provider.clone(),
                    target: pod.target.clone(),
                    reason: reason::render(policy, pod, now),
                });
            } else {
                candidates.entry(row).or_default().push(pi);
            }
        }
    }

    // One action per pod: precedence decides.
    let mut by_policy: BTreeMap<usize, Vec<PlannedAction>> = BTreeMap::new();
    for (row, mut competing) in candidates {
        competing.sort_by(|&a, &b| {
            let (pa, pb) = (&set.policies[a], &set.policies[b]);
            pb.priority
                .cmp(&pa.priority)
                .then(pa.action.cmp(&pb.action))
                .then(pa.name.cmp(&pb.name))
        });
        let winner = competing[0];
        let mut action = planned(&pods[row], &set.policies[winner], now);
        action.also_matched = competing[1..]
            .iter()
            .map(|&i| set.policies[i].name.clone())
            .collect();
        by_policy.entry(winner).or_default().push(action);
    }

    // Per-policy circuit breakers refuse the whole policy.
    let mut breaker_tripped = false;
    let mut actions = Vec::new();
    for (pi, list) in by_policy {
        let policy = &set.policies[pi];
        let scope = pods
            .iter()
            .filter(|p| policy.applies_to(&p.provider))
            .count();
        let refs: Vec<&PlannedAction> = list.iter().collect();
        match breaker(&policy.limits, &refs, scope) {
            Some(why) => {
                breaker_tripped = true;
                blocked.push(Blocked {
                    policy: policy.name.clone(),
                    target: "*".into(),
                    why: format!("{why}; the whole policy is refused"),
                });
            }
            None => actions.extend(list),
        }
    }
    // The global breaker refuses the whole plan.
    let refs: Vec<&PlannedAction> = actions.iter().collect();
    if let Some(why) = breaker(&settings.limits, &refs, pods.len()) {
        breaker_tripped = true;
        blocked.push(Blocked {
            policy: "*".into(),
            target: "*".into(),
            why: format!("global {why}; no action is planned"),
        });
        actions.clear();
    }

    actions.sort_by(|a, b| (&a.provider, &a.target).cmp(&(&b.provider, &b.target)));
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
        *summary.actions_by_kind.entry(a.action.clone()).or_default() += 1;
    }
    summary.est_savings_per_day = super::per_currency(&actions, false)
        .into_iter()
        .map(|(c, d)| (c, fixed(d, 2)))
        .collect();

    Plan {
        version: VERSION,
        run_id: run_id.into(),
        generated_at,
        evaluated_at: now,
        policies_sha256: set.sha256.clone(),
        actions,
        blocked,
        reported,
        providers: fleet.providers.clone(),
        summary,
    }
}
