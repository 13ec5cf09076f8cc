//! Re-derivation: a plan file is a request to act, not the truth. Before `podwarden apply
//! PLAN.json` sends anything, every action of the file is derived again from the policies on
//! disk and a fresh collection of the fleet; only actions that podwarden would plan *now*, as
//! written, are admitted, and they are carried out as the fresh plan words them (reason,
//! preconditions, savings, key). An edited plan can therefore only remove actions: an action
//! that was added, changed (action, policy, target, TTL, idempotency key, preconditions) or
//! widened does not re-derive and is never sent.
//!
//! Pure: (the file's plan, the fresh plan, the fresh fleet, the policies, settings, clock).
//!
//! Each refusal says why, and which kind it is ([`Refusal`]): the file itself was edited (its
//! action cannot come from these policies whatever the fleet did, e.g. a stop turned into a
//! terminate, or a key that belongs to no such action), the fleet moved on since the plan (the
//! pod turned busy, restarted, left; a notice holds it), a circuit breaker refuses it now, or
//! the provider could not be read to tell.

use chrono::{DateTime, Utc};

use super::preconditions::{self, same_value};
use crate::fleet::{Fleet, Pod, ResourceKind};
use crate::plan::build::{idempotency_key, key_of};
use crate::plan::{Plan, PlanSettings, PlannedAction};
use crate::policy::{Action, PolicySet};
use crate::providers::OpKind;

/// A plan-file action that did not re-derive: never sent.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The action as the file has it.
    pub action: PlannedAction,
    pub why: String,
    pub refusal: Refusal,
    /// Its idempotency key is provably its own (the key of this action on this target, for
    /// the start the file names or the pod has now): only then is the refusal journalled
    /// under it, so that a key copied from another action never gets records of this one.
    pub own_key: bool,
}

/// Why an action did not re-derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The file says what these policies can never plan (exit 3: someone must look). Not
    /// journalled: its idempotency key may be forged.
    Edited,
    /// The fleet moved on since the plan: skipped, as a failed re-check is (exit 0).
    Moved,
    /// A circuit breaker refuses the policy (or the whole plan) now: skipped (exit 4).
    Breaker,
    /// The provider could not be read to derive it: failed for now, tried again by the next
    /// apply (exit 3, or the collection's own exit).
    Unreadable,
}

/// The preconditions compared between the file and the fresh derivation. `lease` comes from
/// the policy (a difference is an edit); the others from the pod's state (a difference is the
/// fleet moving on). (`idle_since` is not among them: a Podstack idle run seen only back to
/// the history window's edge is a lower bound that moves with the window.)
const COMPARED: &[&str] = &[
    "lease",
    "status",
    "started_at",
    "ttl_expires_at",
    "activity",
];

/// Splits `file`'s actions into the plan to apply (the fresh wording of each action that
/// re-derives, under the file's run id) and those refused.
///
/// The admitted plan's `evaluated_at` is the earlier of the two evaluations: the re-check
/// right before sending ("idle since before the plan was evaluated") is never looser than a
/// fresh plan's.
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
            Ok(f) => admitted.push(f),
            Err((why, refusal)) => rejected.push(Rejected {
                own_key: own_key(a, fleet, file.evaluated_at),
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

/// Whether `a`'s key is the one podwarden derives for its action on its target: from the
/// start the file names (a stop), or from the pod as it is now.
fn own_key(a: &PlannedAction, fleet: &Fleet, evaluated_at: DateTime<Utc>) -> bool {
    let action = crate::plan::action_of(a.action);
    let named_start = a
        .preconditions
        .get("started_at")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .filter(|_| action == Action::Stop && a.kind == ResourceKind::Pod)
        .map(|t| {
            key_of(
                &a.provider,
                &a.target,
                action,
                &t.with_timezone(&Utc).to_rfc3339(),
            )
        });
    let now = pod_of(fleet, a).map(|pod| idempotency_key(pod, action, evaluated_at));
    [named_start, now]
        .into_iter()
        .flatten()
        .any(|k| k == a.idempotency_key)
}

/// The target of `a` as the fresh fleet shows it.
fn pod_of<'f>(fleet: &'f Fleet, a: &PlannedAction) -> Option<&'f Pod> {
    fleet
        .pods
        .iter()
        .find(|p| p.provider == a.provider && p.target == a.target)
}

type Verdict = Result<PlannedAction, (String, Refusal)>;

fn edited(why: String) -> Verdict {
    Err((why, Refusal::Edited))
}

fn moved(why: String) -> Verdict {
    Err((why, Refusal::Moved))
}

/// What the file claims that no fleet can make true under `set`: the policy exists, plans
/// this action on this kind of resource at this provider, and may terminate when it does.
/// Needs no fleet: `--print-requests` runs it offline.
pub fn claims(a: &PlannedAction, set: &PolicySet) -> Result<(), String> {
    let Some(policy) = set.policies.iter().find(|p| p.name == a.policy) else {
        return Err(format!(
            "policy {:?} is not among the policies on disk",
            a.policy
        ));
    };
    if crate::plan::action_of(a.action) != policy.action {
        return Err(format!(
            "policy {} plans {}, not {}",
            policy.name,
            policy.action.as_str(),
            a.action
        ));
    }
    if policy.action == Action::Terminate && !policy.allow_terminate {
        return Err(format!(
            "policy {} does not allow terminate (allow_terminate = true)",
            policy.name
        ));
    }
    if a.kind != policy.resource {
        return Err(format!(
            "policy {} acts on {}s, not on a {}",
            policy.name,
            policy.resource.as_str(),
            a.kind
        ));
    }
    if !policy.applies_to(&a.provider) {
        return Err(format!(
            "policy {} does not apply to provider {}",
            policy.name, a.provider
        ));
    }
    // A stop's key is the SHA-256 of its target and the start it names: a key that does not
    // belong to the file's own target and start was not written by podwarden.
    if a.action == OpKind::Stop && a.kind == ResourceKind::Pod {
        if let Some(started) = a
            .preconditions
            .get("started_at")
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        {
            let own = key_of(
                &a.provider,
                &a.target,
                Action::Stop,
                &started.with_timezone(&Utc).to_rfc3339(),
            );
            if own != a.idempotency_key {
                return Err(format!(
                    "its idempotency key does not belong to a stop of {} started at {}",
                    a.target,
                    started.to_rfc3339()
                ));
            }
        }
    }
    Ok(())
}

/// The fresh action that `a` re-derives to, or why it does not.
fn judge(
    a: &PlannedAction,
    file: &Plan,
    fresh: &Plan,
    fleet: &Fleet,
    set: &PolicySet,
    settings: &PlanSettings,
    now: DateTime<Utc>,
) -> Verdict {
    if let Err(why) = claims(a, set) {
        return edited(why);
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
    let Some(pod) = pod_of(fleet, a) else {
        return moved(format!("{} is not in the fleet now", a.target));
    };
    if pod.kind != a.kind {
        return edited(format!(
            "{} is a {}, not a {}",
            a.target,
            pod.kind.as_str(),
            a.kind
        ));
    }
    if pod.pod_id != a.pod_id {
        return moved(format!(
            "{} is on pod {} now, not on {}",
            a.target, pod.pod_id, a.pod_id
        ));
    }
    // The plan's own preconditions on the fresh state: what the fleet did since the plan.
    if let Err(why) = preconditions::check(a, Some(pod), file.evaluated_at, settings, now) {
        return moved(why);
    }
    let Some(f) = fresh.actions.iter().find(|f| {
        f.provider == a.provider
            && f.target == a.target
            && f.action == a.action
            && f.policy == a.policy
    }) else {
        return Err(why_not_planned(a, fresh, pod));
    };
    let mut admitted = PlannedAction {
        id: a.id.clone(),
        // The earliest reading either plan rests on: apply's re-check counts busy spells from it.
        activity_read_at: match (a.activity_read_at, f.activity_read_at) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
        ..f.clone()
    };
    if f.idempotency_key != a.idempotency_key {
        // A resume's key names the UTC day it is planned: one approved before midnight and
        // applied after it keeps the key of its day (the journal still makes it once).
        let planned_day = idempotency_key(pod, Action::Resume, file.evaluated_at);
        if a.action == OpKind::Resume && planned_day == a.idempotency_key {
            admitted.idempotency_key = a.idempotency_key.clone();
        } else {
            return edited(format!(
                "its idempotency key is not the one podwarden derives for {} now ({}…)",
                a.target,
                &f.idempotency_key[..f.idempotency_key.len().min(12)]
            ));
        }
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
        if same_value(theirs, ours) {
            continue;
        }
        let why = format!(
            "precondition {key} is {} in the plan file, {} as podwarden derives it now",
            theirs.map_or("absent", String::as_str),
            ours.map_or("absent", String::as_str)
        );
        match (*key, theirs) {
            // A lease override the policy does not grant.
            ("lease", Some(_)) => return edited(why),
            // The policy overrides leases now, which the reviewed plan did not.
            ("lease", None) => return moved(why),
            // State the pod shows now and the plan did not name (it turned idle, was given a
            // TTL): the fresh, stricter precondition is the one checked.
            (_, None) => {}
            (_, Some(_)) => return moved(why),
        }
    }
    Ok(admitted)
}

fn show(ttl: Option<u32>) -> String {
    ttl.map_or_else(|| "none".into(), |h| h.to_string())
}

/// Why the fresh plan has no such action for the target: another action wins it, it waits for
/// a notice, a breaker, guard or schedule holds it (the fresh plan's `blocked`, the global
/// `[limits]` included), or the policy's conditions no longer hold.
fn why_not_planned(a: &PlannedAction, fresh: &Plan, pod: &Pod) -> (String, Refusal) {
    if let Some(other) = fresh
        .actions
        .iter()
        .find(|f| f.provider == a.provider && f.target == a.target)
    {
        let why = format!(
            "today's policies plan {} by {} for it instead",
            other.action, other.policy
        );
        return (why, Refusal::Moved);
    }
    if let Some(p) = fresh
        .pending
        .iter()
        .find(|p| p.provider == a.provider && p.target == a.target && p.policy == a.policy)
    {
        let why = format!(
            "policy {} holds it in a notice period until {}",
            p.policy,
            p.due_at.to_rfc3339()
        );
        return (why, Refusal::Moved);
    }
    let blocked: Vec<&crate::plan::Blocked> = fresh
        .blocked
        .iter()
        .filter(|b| {
            (b.policy == a.policy || b.policy == "*") && (b.target == a.target || b.target == "*")
        })
        .collect();
    if !blocked.is_empty() {
        let breaker = blocked
            .iter()
            .any(|b| b.target == "*" && b.why.contains("circuit breaker"));
        let why = blocked
            .iter()
            .map(|b| b.why.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return (
            why,
            if breaker {
                Refusal::Breaker
            } else {
                Refusal::Moved
            },
        );
    }
    let why = format!(
        "policy {}'s conditions do not hold for {} now (status {}; see `podwarden explain {}`)",
        a.policy, a.target, pod.status, a.target
    );
    (why, Refusal::Moved)
}
