//! Re-derivation: a plan file is a request to act, not the truth. Before `podwarden apply
//! PLAN.json` sends anything, every action of the file is derived again from the policies on
//! disk and a fresh collection of the fleet; only actions that podwarden would plan *now*, as
//! written, are admitted, and they are carried out as the fresh plan words them (reason,
//! preconditions, savings). An edited plan can therefore only remove actions: an action that
//! was added, changed (action, policy, target, pod, TTL, idempotency key, preconditions) or
//! widened does not re-derive and is never sent.
//!
//! Pure: (the file's plan, the fresh plan, the fresh fleet, the policies, settings, clock).
//!
//! Each refusal says why, and which kind it is ([`Refusal`]): the file itself was edited (its
//! action cannot come from these policies whatever the fleet did, e.g. a stop turned into a
//! terminate), the fleet moved on since the plan (the pod turned busy, restarted, left, a
//! breaker or a notice now holds it back), or the provider could not be read to tell.
//!
//! The reason sent to the provider is the file's: the words the reviewer approved (they change
//! nothing that is done; the provider refuses one outside 3–500 characters). Everything else —
//! preconditions, savings, the idempotency key — is the fresh derivation's.

use chrono::{DateTime, Utc};

use super::preconditions::{self, same_value};
use crate::fleet::{Fleet, Pod};
use crate::plan::{Plan, PlanSettings, PlannedAction};
use crate::policy::{Action, PolicySet};

/// A plan-file action that did not re-derive: never sent.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The action as the file has it.
    pub action: PlannedAction,
    pub why: String,
    pub refusal: Refusal,
}

/// Why an action did not re-derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file says what these policies can never plan (exit 3: someone must look).
    Edited,
    /// The fleet moved on since the plan: skipped, as a failed re-check is (exit 0).
    Moved,
    /// The provider could not be read to derive it: failed for now, tried again by the next
    /// apply (exit 3, and the run's collection exit).
    Unreadable,
}

/// The preconditions compared between the file and the fresh derivation: what an action
/// stands on. (`idle_since` is not among them: a Podstack idle run seen only back to the
/// history window's edge is a lower bound that moves with the window.)
const COMPARED: &[&str] = &[
    "status",
    "started_at",
    "ttl_expires_at",
    "activity",
    "lease",
];

/// Splits `file`'s actions into the plan to apply (the fresh wording of each action that
/// re-derives, under the file's run id) and those refused.
///
/// The admitted plan's `evaluated_at` is the earlier of the two evaluations, so that the
/// re-check right before sending ("idle since before the plan was evaluated") is at least as
/// strict as the reviewed plan's; a file can narrow what is done, never widen it.
pub fn rederive(
    file: &Plan,
    fresh: &Plan,
    fleet: &Fleet,
    set: &PolicySet,
    settings: &PlanSettings,
    now: DateTime<Utc>,
) -> (Plan, Vec<Rejected>) {
    let mut admitted = Vec::new();
    let mut rejected = Vec::new();
    for a in &file.actions {
        match judge(a, file, fresh, fleet, set, settings, now) {
            Ok(f) => admitted.push(PlannedAction {
                id: a.id.clone(),
                reason: a.reason.clone(),
                ..f.clone()
            }),
            Err((why, refusal)) => rejected.push(Rejected {
                action: a.clone(),
                why,
                refusal,
            }),
        }
    }
    let plan = Plan {
        evaluated_at: file.evaluated_at.min(fresh.evaluated_at),
        actions: admitted,
        ..file.clone()
    };
    (plan, rejected)
}

type Verdict<'a> = Result<&'a PlannedAction, (String, Refusal)>;

fn edited<'a>(why: String) -> Verdict<'a> {
    Err((why, Refusal::Edited))
}

fn moved<'a>(why: String) -> Verdict<'a> {
    Err((why, Refusal::Moved))
}

/// The fresh action that `a` re-derives to, or why it does not.
fn judge<'a>(
    a: &PlannedAction,
    file: &Plan,
    fresh: &'a Plan,
    fleet: &Fleet,
    set: &PolicySet,
    settings: &PlanSettings,
    now: DateTime<Utc>,
) -> Verdict<'a> {
    // What the file claims, against the policies on disk.
    let Some(policy) = set.policies.iter().find(|p| p.name == a.policy) else {
        return edited(format!(
            "policy {:?} is not among the policies on disk",
            a.policy
        ));
    };
    if Action::parse(&a.action) != Some(policy.action) {
        return edited(format!(
            "policy {} plans {}, not {}",
            policy.name,
            policy.action.as_str(),
            a.action
        ));
    }
    if policy.action == Action::Terminate && !policy.allow_terminate {
        return edited(format!(
            "policy {} does not allow terminate (allow_terminate = true)",
            policy.name
        ));
    }
    if a.kind != policy.resource.as_str() {
        return edited(format!(
            "policy {} acts on {}s, not on a {}",
            policy.name,
            policy.resource.as_str(),
            a.kind
        ));
    }
    if !policy.applies_to(&a.provider) {
        return edited(format!(
            "policy {} does not apply to provider {}",
            policy.name, a.provider
        ));
    }
    // The target as the provider shows it now, when it could be read.
    if let Some(p) = fleet
        .providers
        .iter()
        .find(|p| p.name == a.provider && !p.complete)
    {
        return Err((
            format!(
                "provider {} could not be read completely: {}",
                p.name,
                p.error.as_deref().unwrap_or("incomplete")
            ),
            Refusal::Unreadable,
        ));
    }
    let Some(pod) = fleet
        .pods
        .iter()
        .find(|p| p.provider == a.provider && p.target == a.target)
    else {
        return moved(format!("{} is not in the fleet now", a.target));
    };
    if pod.pod_id != a.pod_id || pod.kind.as_str() != a.kind {
        return edited(format!(
            "{} is the {} {}, not the {} {} the plan names",
            a.target,
            pod.kind.as_str(),
            pod.pod_id,
            a.kind,
            a.pod_id
        ));
    }
    // The plan's own preconditions on the fresh state: what the fleet did since the plan.
    if let Err(why) = preconditions::check(a, Some(pod), file.evaluated_at, settings, now) {
        return moved(why);
    }
    let same = |f: &&PlannedAction| {
        f.provider == a.provider
            && f.target == a.target
            && f.action == a.action
            && f.policy == a.policy
    };
    let Some(f) = fresh.actions.iter().find(same) else {
        return moved(why_not_planned(a, fresh, pod));
    };
    if f.idempotency_key != a.idempotency_key {
        if policy.action == Action::Resume {
            return moved(
                "a resume's idempotency key names the UTC day it is planned, and this plan was \
                 made on another day: make a new plan"
                    .into(),
            );
        }
        return edited(format!(
            "its idempotency key is not the one podwarden derives for {} now ({}…)",
            a.target,
            &f.idempotency_key[..f.idempotency_key.len().min(12)]
        ));
    }
    if f.ttl_hours != a.ttl_hours {
        return edited(format!(
            "ttl_hours {} is not the policy's {}",
            show(a.ttl_hours),
            show(f.ttl_hours)
        ));
    }
    for key in COMPARED {
        let (theirs, ours) = (a.preconditions.get(*key), f.preconditions.get(*key));
        if !same_value(theirs, ours) {
            return edited(format!(
                "precondition {key} is {} in the plan file, {} as podwarden derives it now",
                theirs.map_or("absent", String::as_str),
                ours.map_or("absent", String::as_str)
            ));
        }
    }
    Ok(f)
}

fn show(ttl: Option<u32>) -> String {
    ttl.map_or_else(|| "none".into(), |h| h.to_string())
}

/// Why the fresh plan has no such action for the target: another action wins it, it waits for
/// a notice, a guard or breaker holds it (the fresh plan's `blocked`), or the policy's
/// conditions no longer hold.
fn why_not_planned(a: &PlannedAction, fresh: &Plan, pod: &Pod) -> String {
    if let Some(other) = fresh
        .actions
        .iter()
        .find(|f| f.provider == a.provider && f.target == a.target)
    {
        return format!(
            "today's policies plan {} by {} for it instead",
            other.action, other.policy
        );
    }
    if let Some(p) = fresh
        .pending
        .iter()
        .find(|p| p.provider == a.provider && p.target == a.target && p.policy == a.policy)
    {
        return format!(
            "policy {} holds it in a notice period until {}",
            p.policy,
            p.due_at.to_rfc3339()
        );
    }
    let blocked: Vec<&str> = fresh
        .blocked
        .iter()
        .filter(|b| b.policy == a.policy && (b.target == a.target || b.target == "*"))
        .map(|b| b.why.as_str())
        .collect();
    if !blocked.is_empty() {
        return blocked.join("; ");
    }
    format!(
        "policy {}'s conditions do not hold for {} now (status {}; see `podwarden explain {}`)",
        a.policy, a.target, pod.status, a.target
    )
}
