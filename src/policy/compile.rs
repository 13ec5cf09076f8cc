//! Policies → polars expressions over the fleet frame (`fleet::frame`); each condition's own
//! expression lives with it in [`super::filter`].
//!
//! Comparisons with a null (unknown) value are null, and a null filter result never
//! selects a row. A pod for which a condition's input is unknown is never matched: it is
//! "unknown" for that policy, and the plan blocks it.

use polars::prelude::*;

use super::Policy;

/// Pods in the policy's scope: its providers and resource kind.
pub fn scope_expr(policy: &Policy) -> Expr {
    let kind = col("kind").eq(lit(policy.resource.as_str()));
    if policy.providers.is_empty() {
        kind
    } else {
        let names = lit(Series::new("values".into(), policy.providers.clone())).implode(false);
        kind.and(col("provider").is_in(names, false))
    }
}

/// Some condition's input is unknown for the pod.
fn any_unknown(policy: &Policy) -> Option<Expr> {
    policy
        .filters
        .iter()
        .filter_map(|f| f.unknown())
        .reduce(|a, b| a.or(b))
}

/// The pods the policy matches: in scope, every condition holds, and every input is known.
pub fn policy_expr(policy: &Policy) -> Expr {
    let all = policy.filters.iter().fold(scope_expr(policy), |acc, f| {
        acc.and(f.expr().fill_null(lit(false)))
    });
    match any_unknown(policy) {
        Some(u) => all.and(u.fill_null(lit(false)).not()),
        None => all,
    }
}

/// The pods the policy would match if their unknown inputs were known: in scope, every
/// condition holds or has an unknown input, and at least one input is unknown. `None` when
/// the policy reads no signal that can be unknown.
pub fn unknown_expr(policy: &Policy) -> Option<Expr> {
    let unknown = any_unknown(policy)?;
    let possible = policy.filters.iter().fold(scope_expr(policy), |acc, f| {
        let holds = f.expr().fill_null(lit(false));
        let open = match f.unknown() {
            Some(u) => holds.or(u.fill_null(lit(false))),
            None => holds,
        };
        acc.and(open)
    });
    Some(possible.and(unknown.fill_null(lit(false))))
}
