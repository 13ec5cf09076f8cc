//! Which pods' activity can change the plan: evaluated before utilisation is read, so that a
//! run spends its rate budget only where a decision can change.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::build::{guard, PlanSettings};
use crate::fleet::Fleet;
use crate::policy::evaluate::{evaluate, EvalError};
use crate::policy::schedule::in_schedule;
use crate::policy::{Action, PolicySet};

/// The rows of `fleet.pods` that some acting policy could act on if an unknown input it
/// reads were known: every condition on known data holds (status, scope, labels, age…), no
/// guard refuses the pod (protection, new-pod grace, status, lease, incomplete provider), and
/// the policy is inside its schedule — or, outside it, holds a notice for the pod (in
/// `settings.notices`), which it re-checks there.
/// Report-only policies never make a pod a candidate. Pure, like the plan.
pub fn needing_signals(
    fleet: &Fleet,
    set: &PolicySet,
    settings: &PlanSettings,
    now: DateTime<Utc>,
) -> Result<BTreeSet<usize>, EvalError> {
    let eval = evaluate(&fleet.pods, set, now)?;
    let mut rows = BTreeSet::new();
    for (pi, policy) in set.policies.iter().enumerate() {
        if policy.action == Action::Report {
            continue;
        }
        let scheduled = policy.schedule.as_ref().is_none_or(|s| in_schedule(s, now));
        if !scheduled && policy.notice.is_none() {
            continue;
        }
        let op = crate::plan::op_of(policy.action).map(|o| o.as_str().to_string());
        for &row in &eval.unknown[pi] {
            let pod = &fleet.pods[row];
            let held = || {
                settings.notices.keys().any(|k| {
                    k.provider == pod.provider
                        && k.target == pod.target
                        && k.policy == policy.name
                        && Some(&k.action) == op.as_ref()
                })
            };
            if guard(pod, policy, fleet, settings, now).is_none() && (scheduled || held()) {
                rows.insert(row);
            }
        }
    }
    Ok(rows)
}
