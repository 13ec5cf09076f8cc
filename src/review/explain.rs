//! `podwarden explain TARGET`: for one pod, every policy and each condition's verdict with
//! the values it saw. It evaluates the same compiled expressions as the plan, one condition
//! at a time, so the explanation cannot drift from what the engine does.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::fleet::{frame, Pod};
use crate::plan::Plan;
use crate::policy::compile::scope_expr;
use crate::policy::evaluate::{label_keys, EvalError};
use crate::policy::PolicySet;

/// One condition's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub condition: String,
    pub holds: bool,
    pub seen: String,
}

/// One policy's verdict on the pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub policy: String,
    pub action: String,
    pub in_scope: bool,
    pub conditions: Vec<Condition>,
}

impl Verdict {
    pub fn matches(&self) -> bool {
        self.in_scope && self.conditions.iter().all(|c| c.holds)
    }
}

fn shown(df: &DataFrame, column: &str) -> String {
    let Ok(c) = df.column(column) else {
        return "?".into();
    };
    match c.get(0) {
        Ok(AnyValue::Null) | Err(_) => "null (unknown)".into(),
        Ok(AnyValue::Int64(v)) => match column {
            "age" | "idle" | "orphaned" | "ttl_expired" => {
                crate::duration::format(chrono::Duration::seconds(v))
            }
            "hourly_rate" => crate::money::micros_to_decimal(v).normalize().to_string(),
            _ => v.to_string(),
        },
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(other) => other.to_string(),
    }
}

fn holds(df: &DataFrame, expr: Expr) -> Result<bool, EvalError> {
    let out = df
        .clone()
        .lazy()
        .select([expr.fill_null(lit(false)).alias("v")])
        .collect()?;
    Ok(out.column("v")?.bool()?.get(0).unwrap_or(false))
}

/// Every policy's verdict on `pod` at `now`.
pub fn explain(pod: &Pod, set: &PolicySet, now: DateTime<Utc>) -> Result<Vec<Verdict>, EvalError> {
    let df = frame::build(std::slice::from_ref(pod), now, &label_keys(set))?;
    let mut out = Vec::new();
    for p in &set.policies {
        let mut conditions = Vec::new();
        for f in &p.filters {
            let seen = f
                .columns()
                .iter()
                .map(|c| format!("{c}={}", shown(&df, c)))
                .collect::<Vec<_>>()
                .join(", ");
            conditions.push(Condition {
                condition: f.describe(),
                holds: holds(&df, f.expr())?,
                seen,
            });
        }
        out.push(Verdict {
            policy: p.name.clone(),
            action: p.action.as_str().into(),
            in_scope: holds(&df, scope_expr(p))?,
            conditions,
        });
    }
    Ok(out)
}

/// The explanation as text, ending with what the plan does with the pod.
pub fn render(pod: &Pod, verdicts: &[Verdict], plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}), {} {}, {}/h",
        pod.provider,
        pod.target,
        pod.name,
        pod.kind.as_str(),
        pod.status,
        pod.hourly_rate
    );
    let _ = writeln!(
        out,
        "  activity: {}",
        serde_json::to_string(&pod.activity).unwrap_or_default()
    );
    for v in verdicts {
        let verdict = if !v.in_scope {
            "not in scope"
        } else if v.matches() {
            "MATCHES"
        } else {
            "no match"
        };
        let _ = writeln!(out, "\npolicy {} ({}): {verdict}", v.policy, v.action);
        if v.in_scope {
            for c in &v.conditions {
                let _ = writeln!(
                    out,
                    "  [{}] {}   saw {}",
                    if c.holds { "x" } else { " " },
                    c.condition,
                    c.seen
                );
            }
        }
    }
    let _ = writeln!(out);
    match plan
        .actions
        .iter()
        .find(|a| a.provider == pod.provider && a.target == pod.target)
    {
        Some(a) => {
            let _ = writeln!(out, "Plan: {} by {} — {}", a.action, a.policy, a.reason);
            if let Some(n) = &a.notice {
                let _ = writeln!(
                    out,
                    "  after its notice period: first matched {}, due {}",
                    n.first_matched.format("%Y-%m-%d %H:%M UTC"),
                    n.due_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
            if !a.also_matched.is_empty() {
                let _ = writeln!(
                    out,
                    "  also matched (lost on precedence): {}",
                    a.also_matched.join(", ")
                );
            }
        }
        None => match plan
            .pending
            .iter()
            .find(|p| p.provider == pod.provider && p.target == pod.target)
        {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "Plan: no action yet — {} by {} is pending its notice period: first matched {}, due {} — {}",
                    p.action,
                    p.policy,
                    p.first_matched.format("%Y-%m-%d %H:%M UTC"),
                    p.due_at.format("%Y-%m-%d %H:%M UTC"),
                    p.reason
                );
            }
            None => {
                let _ = writeln!(out, "Plan: no action.");
            }
        },
    }
    for b in plan.blocked.iter().filter(|b| b.target == pod.target) {
        let _ = writeln!(out, "  not acted on by {}: {}", b.policy, b.why);
    }
    for b in plan
        .blocked
        .iter()
        .filter(|b| b.target == "*" && verdicts.iter().any(|v| v.matches() && v.policy == b.policy))
    {
        let _ = writeln!(out, "  policy {} refused: {}", b.policy, b.why);
    }
    out
}
