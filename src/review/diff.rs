//! `podwarden diff`: how a policy change alters the plan against the same fleet and clock,
//! as Markdown for a review comment.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::money::fixed;
use crate::plan::render::{action_row, ACTIONS_HEADER};
use crate::plan::{Plan, PlannedAction};

type Key = (String, String);

fn by_target(plan: &Plan) -> BTreeMap<Key, &PlannedAction> {
    plan.actions
        .iter()
        .map(|a| ((a.provider.clone(), a.target.clone()), a))
        .collect()
}

/// What changed between the plan under the base policies and under the head policies.
pub struct PlanDiff<'a> {
    pub added: Vec<&'a PlannedAction>,
    pub removed: Vec<&'a PlannedAction>,
    pub changed: Vec<(&'a PlannedAction, &'a PlannedAction)>,
}

pub fn diff<'a>(base: &'a Plan, head: &'a Plan) -> PlanDiff<'a> {
    let (b, h) = (by_target(base), by_target(head));
    PlanDiff {
        added: h
            .iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|(_, a)| *a)
            .collect(),
        removed: b
            .iter()
            .filter(|(k, _)| !h.contains_key(*k))
            .map(|(_, a)| *a)
            .collect(),
        changed: h
            .iter()
            .filter_map(|(k, a)| {
                b.get(k)
                    .filter(|old| old.action != a.action || old.policy != a.policy)
                    .map(|old| (*old, *a))
            })
            .collect(),
    }
}

pub fn markdown(base: &Plan, head: &Plan) -> String {
    let d = diff(base, head);
    let mut out = String::new();
    let _ = writeln!(out, "## podwarden plan diff\n");
    let _ = writeln!(
        out,
        "Same fleet, evaluated at {}. Policies `{}` → `{}`.\n",
        head.evaluated_at.format("%Y-%m-%d %H:%M UTC"),
        &base.policies_sha256[..base.policies_sha256.len().min(12)],
        &head.policies_sha256[..head.policies_sha256.len().min(12)]
    );
    let _ = writeln!(
        out,
        "**{} added, {} removed, {} changed** ({} → {} actions).\n",
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        base.actions.len(),
        head.actions.len()
    );
    let (before, after) = (
        crate::plan::per_currency(&base.actions, false),
        crate::plan::per_currency(&head.actions, false),
    );
    let currencies: std::collections::BTreeSet<&crate::money::Currency> =
        before.keys().chain(after.keys()).collect();
    if !currencies.is_empty() {
        let _ = writeln!(
            out,
            "| currency | savings/day before | after | change |\n|---|---:|---:|---:|"
        );
        for c in currencies {
            let (x, y) = (
                before.get(c).copied().unwrap_or_default(),
                after.get(c).copied().unwrap_or_default(),
            );
            let _ = writeln!(
                out,
                "| {c} | {} | {} | {}{} |",
                fixed(x, 2),
                fixed(y, 2),
                if y >= x { "+" } else { "" },
                fixed(y - x, 2)
            );
        }
        let _ = writeln!(out);
    }
    for (title, list) in [("Added", &d.added), ("Removed", &d.removed)] {
        if !list.is_empty() {
            let _ = writeln!(out, "### {title}\n\n{ACTIONS_HEADER}");
            for a in list.iter() {
                let _ = writeln!(out, "{}", action_row(a));
            }
            let _ = writeln!(out);
        }
    }
    if !d.changed.is_empty() {
        let _ = writeln!(
            out,
            "### Changed\n\n| provider | target | before | after |\n|---|---|---|---|"
        );
        for (old, new) in &d.changed {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} by {} | {} by {} |",
                new.provider, new.target, old.action, old.policy, new.action, new.policy
            );
        }
        let _ = writeln!(out);
    }
    if !(base.pending.is_empty() && head.pending.is_empty()) {
        let _ = writeln!(
            out,
            "Pending a notice period: {} → {} ({:+}).\n",
            base.pending.len(),
            head.pending.len(),
            head.pending.len() as i64 - base.pending.len() as i64
        );
    }
    let blocked_delta = head.blocked.len() as i64 - base.blocked.len() as i64;
    let _ = writeln!(
        out,
        "Not acted on: {} → {} ({blocked_delta:+}).",
        base.blocked.len(),
        head.blocked.len()
    );
    if head.summary.breaker_tripped {
        let _ = writeln!(
            out,
            "\n**A circuit breaker refuses a policy under the head policies.**"
        );
    }
    out
}
