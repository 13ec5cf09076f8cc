//! Evaluation: (pods, policies, now) → which pods each policy matches. Pure and deterministic.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::compile::{policy_expr, unknown_expr};
use super::PolicySet;
use crate::fleet::{frame, Pod};

#[derive(Debug, thiserror::Error)]
#[error("policy evaluation failed in polars: {0}")]
pub struct EvalError(#[from] PolarsError);

/// Row indices (into the pods slice) per policy, in the policy set's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub matched: Vec<Vec<usize>>,
    /// Rows that would match if an unknown input were known (never acted on).
    pub unknown: Vec<Vec<usize>>,
}

/// The label keys any policy reads.
pub fn label_keys(set: &PolicySet) -> BTreeSet<String> {
    set.policies
        .iter()
        .flat_map(|p| p.label_keys().map(str::to_string))
        .collect()
}

/// Evaluates every policy over `pods` as of `now`, in one pass over the fleet frame.
pub fn evaluate(
    pods: &[Pod],
    set: &PolicySet,
    now: DateTime<Utc>,
) -> Result<Evaluation, EvalError> {
    let df = frame::build(pods, now, &label_keys(set))?;
    let mut exprs = Vec::new();
    for (i, p) in set.policies.iter().enumerate() {
        exprs.push(policy_expr(p).fill_null(lit(false)).alias(format!("m{i}")));
        let unknown = unknown_expr(p).unwrap_or(lit(false));
        exprs.push(unknown.fill_null(lit(false)).alias(format!("u{i}")));
    }
    let masks = df.lazy().select(exprs).collect()?;
    let rows = |name: String| -> Result<Vec<usize>, EvalError> {
        let mask = masks.column(&name)?.bool()?.clone();
        Ok(mask
            .iter()
            .enumerate()
            .filter(|(_, m)| *m == Some(true))
            .map(|(i, _)| i)
            .collect())
    };
    let mut out = Evaluation::default();
    for i in 0..set.policies.len() {
        out.matched.push(rows(format!("m{i}"))?);
        out.unknown.push(rows(format!("u{i}"))?);
    }
    Ok(out)
}
