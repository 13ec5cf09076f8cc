//! The well-formedness of a plan's actions, checked before anything is journalled or sent:
//! a plan file may be hand-edited, and apply must refuse what it cannot act on exactly once.
//!
//! - every action names a configured provider (its action and kind are types, checked when
//!   the file was read: `plan::file`);
//! - action ids, idempotency keys and targets are each unique: two actions sharing a key would
//!   make the provider replay the first one's answer for the second (journalled as accepted,
//!   though nothing was done to the second target), and two actions on one target are not
//!   what `plan` ever writes;
//! - an idempotency key is 1 to 64 visible ASCII characters (the providers' limit; anything
//!   else cannot be sent as a header, and would be retried until it fails);
//! - a target and a pod id are one URL path segment: no `/`, `?`, `#`, `%`, `\`, whitespace or
//!   control characters, and not `.` or `..` (a target is put into the operation's path).

use std::collections::HashSet;

use super::operation::PlanError;
use crate::plan::Plan;

/// The providers' longest `Idempotency-Key`.
pub const MAX_KEY: usize = 64;

/// `Ok` when every action of `plan` can be applied; else every problem found, each naming its
/// action (one problem as itself, several as [`PlanError::Many`]).
pub fn check(plan: &Plan, providers: &[&str]) -> Result<(), PlanError> {
    let mut problems = problems(plan, providers);
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.remove(0)),
        _ => Err(PlanError::Many(problems)),
    }
}

/// Every problem of `plan`'s actions, in the order of the file.
pub fn problems(plan: &Plan, providers: &[&str]) -> Vec<PlanError> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    let mut targets = HashSet::new();
    for a in &plan.actions {
        let mut bad = |why: String| {
            out.push(PlanError::BadPlan {
                id: a.id.clone(),
                why,
            })
        };
        if !providers.contains(&a.provider.as_str()) {
            out.push(PlanError::UnknownProvider(a.provider.clone()));
            continue;
        }
        if !ids.insert(a.id.as_str()) {
            bad("its id is used by another action".into());
        }
        let key = &a.idempotency_key;
        if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
            bad(format!(
                "its idempotency_key must be 1 to {MAX_KEY} visible ASCII characters \
                 (it has {} characters)",
                key.chars().count()
            ));
        } else if !keys.insert(key.as_str()) {
            bad(format!(
                "its idempotency_key {key} is used by another action: the provider would \
                 answer the second with the first one's result"
            ));
        }
        for (field, value) in [("target", &a.target), ("pod_id", &a.pod_id)] {
            if !path_segment(value) {
                bad(format!(
                    "its {field} {value:?} is not a provider id (one URL path segment)"
                ));
            }
        }
        if !targets.insert((a.provider.as_str(), a.target.as_str())) {
            bad(format!(
                "{} {} has another action in this plan",
                a.provider, a.target
            ));
        }
    }
    out
}

/// Whether `s` can stand as one segment of a URL path, unchanged.
fn path_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/?#%\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids_are_path_segments_and_paths_are_not() {
        assert!(path_segment("wkr_0001"));
        assert!(path_segment("pd-a.b"));
        for bad in [
            "",
            ".",
            "..",
            "../pods/pod_1",
            "wkr?x=1",
            "wkr 1",
            "a%2F",
            "a\nb",
        ] {
            assert!(!path_segment(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_problem_of_a_plan_is_found_at_once() {
        let mut first = crate::plan::sample_action("wkr_a");
        first.idempotency_key = "k".repeat(MAX_KEY + 1);
        let mut second = crate::plan::sample_action("../wkr_b");
        second.id = first.id.clone();
        second.pod_id = "pod_b".into();
        let mut third = crate::plan::sample_action("wkr_c");
        third.provider = "azure".into();
        let plan = Plan {
            actions: vec![first, second, third],
            ..crate::plan::sample_plan()
        };
        let found: Vec<String> = problems(&plan, &["argus"])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(
            found[0].contains("idempotency_key must be 1 to 64"),
            "{found:#?}"
        );
        assert!(
            found[1].contains("its id is used by another action"),
            "{found:#?}"
        );
        assert!(
            found[2].contains("\"../wkr_b\" is not a provider id"),
            "{found:#?}"
        );
        assert!(found[3].contains("provider \"azure\""), "{found:#?}");
        assert!(check(&plan, &["argus"])
            .unwrap_err()
            .to_string()
            .starts_with("4 problems"));
    }
}
