//! Policy filters → polars expressions over the fleet frame (`fleet::frame`).
//!
//! Comparisons with a null (unknown) value are null, and a null filter result never
//! selects a row: unknown data cannot satisfy a condition such as `idle_for`.

use polars::prelude::*;

use super::{Filter, Op, Policy, Value};
use crate::fleet::frame::label_column;

fn strings(values: &[String]) -> Expr {
    lit(Series::new("values".into(), values.to_vec()))
}

fn any_of(column: &str, values: &[String]) -> Expr {
    col(column).is_in(strings(values).implode(false), false)
}

/// The expression selecting the pods `filter` matches.
pub fn filter_expr(filter: &Filter) -> Expr {
    match filter {
        Filter::Status(s) => any_of("status", s),
        Filter::IdleFor(d) => col("activity")
            .eq(lit("idle"))
            .and(col("idle").gt_eq(lit(d.num_seconds())))
            .and(col("ttl_state").neq(lit("active"))),
        Filter::OlderThan(d) => col("age").gt_eq(lit(d.num_seconds())),
        Filter::YoungerThan(d) => col("age").lt(lit(d.num_seconds())),
        Filter::OrphanedFor(d) => col("kind")
            .eq(lit("orphan"))
            .and(col("orphaned").gt_eq(lit(d.num_seconds()))),
        Filter::Ttl(states) => any_of("ttl_state", states),
        Filter::LabelPresent(k) => col(label_column(k)).is_not_null(),
        Filter::LabelAbsent(k) => col(label_column(k)).is_null(),
        Filter::LabelEquals(k, v) => col(label_column(k)).eq(lit(v.clone())),
        Filter::Project(v) => any_of("project", v),
        Filter::Owner(v) => any_of("owner", v),
        Filter::GpuType(v) => any_of("gpu_type", v),
        Filter::Where { field, op, value } => where_expr(field, *op, value),
    }
}

fn where_expr(field: &str, op: Op, value: &Value) -> Expr {
    let c = col(field);
    let scalar = match value {
        Value::Text(s) => lit(s.clone()),
        Value::Int(i) => lit(*i),
        Value::Texts(v) => strings(v).implode(false),
        Value::Ints(v) => lit(Series::new("values".into(), v.clone())).implode(false),
    };
    match op {
        Op::Eq => c.eq(scalar),
        // "not equal" holds for a missing value too (a pod without a project is not in "x").
        Op::Ne => c.neq_missing(scalar),
        Op::Lt => c.lt(scalar),
        Op::Le => c.lt_eq(scalar),
        Op::Gt => c.gt(scalar),
        Op::Ge => c.gt_eq(scalar),
        Op::In => c.is_in(scalar, false),
        Op::NotIn => c.is_in(scalar, false).fill_null(lit(false)).not(),
        Op::Glob => {
            let pattern = match value {
                Value::Text(s) => s.as_str(),
                _ => "",
            };
            c.str().contains(lit(glob_regex(pattern)), true)
        }
    }
}

/// A glob as a regular expression polars accepts. globset writes byte-oriented regexes
/// (`(?-u)`); polars matches UTF-8 text, so the flag is dropped. Patterns were checked when
/// the policy was loaded; an invalid one here matches nothing.
pub fn glob_regex(pattern: &str) -> String {
    match globset::Glob::new(pattern) {
        Ok(g) => g.regex().trim_start_matches("(?-u)").to_string(),
        Err(_) => "^\\b\\B$".into(),
    }
}

/// Pods in the policy's scope: its providers and resource kind.
pub fn scope_expr(policy: &Policy) -> Expr {
    let kind = col("kind").eq(lit(policy.resource.as_str()));
    if policy.providers.is_empty() {
        kind
    } else {
        kind.and(any_of("provider", &policy.providers))
    }
}

/// Everything a policy requires, combined.
pub fn policy_expr(policy: &Policy) -> Expr {
    policy
        .filters
        .iter()
        .fold(scope_expr(policy), |acc, f| acc.and(filter_expr(f)))
}

/// Pods that would match if their activity were known: every filter except `idle_for`
/// holds, an `idle_for` is present, and the activity (or its start) is unknown.
/// `None` when the policy has no `idle_for`.
pub fn unknown_activity_expr(policy: &Policy) -> Option<Expr> {
    if !policy
        .filters
        .iter()
        .any(|f| matches!(f, Filter::IdleFor(_)))
    {
        return None;
    }
    let others = policy
        .filters
        .iter()
        .filter(|f| !matches!(f, Filter::IdleFor(_)))
        .fold(scope_expr(policy), |acc, f| acc.and(filter_expr(f)));
    let unknown = col("activity")
        .eq(lit("unknown"))
        .or(col("activity").eq(lit("idle")).and(col("idle").is_null()));
    Some(others.and(unknown).and(col("ttl_state").neq(lit("active"))))
}

/// The columns a filter reads (for `explain`).
pub fn columns_read(filter: &Filter) -> Vec<String> {
    match filter {
        Filter::Status(_) => vec!["status".into()],
        Filter::IdleFor(_) => vec!["activity".into(), "idle".into(), "ttl_state".into()],
        Filter::OlderThan(_) | Filter::YoungerThan(_) => vec!["age".into()],
        Filter::OrphanedFor(_) => vec!["kind".into(), "orphaned".into()],
        Filter::Ttl(_) => vec!["ttl_state".into()],
        Filter::LabelPresent(k) | Filter::LabelAbsent(k) | Filter::LabelEquals(k, _) => {
            vec![label_column(k)]
        }
        Filter::Project(_) => vec!["project".into()],
        Filter::Owner(_) => vec!["owner".into()],
        Filter::GpuType(_) => vec!["gpu_type".into()],
        Filter::Where { field, .. } => vec![field.clone()],
    }
}
