//! The plan for people: a terminal table and Markdown (for review comments). JSON is serde.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Plan;

/// How many blocked entries are listed one by one before the rest are counted by reason.
const BLOCKED_LISTED: usize = 15;

fn blocked_groups(plan: &Plan) -> BTreeMap<String, usize> {
    let mut groups = BTreeMap::new();
    for b in &plan.blocked {
        let key = b
            .why
            .split(" (")
            .next()
            .unwrap_or(&b.why)
            .split(':')
            .next()
            .unwrap_or(&b.why)
            .to_string();
        *groups.entry(key).or_insert(0) += 1;
    }
    groups
}

fn savings_line(plan: &Plan) -> String {
    if plan.summary.est_savings_per_day.is_empty() {
        return "none".into();
    }
    plan.summary
        .est_savings_per_day
        .iter()
        .map(|(cur, amount)| format!("{amount} {cur}/day"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A fixed-width table for a terminal.
pub fn table(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "podwarden plan  (evaluated at {}, policies {})",
        plan.evaluated_at.format("%Y-%m-%d %H:%M:%S UTC"),
        &plan.policies_sha256[..plan.policies_sha256.len().min(12)]
    );
    for p in &plan.providers {
        let state = if p.complete {
            "complete".to_string()
        } else {
            format!(
                "INCOMPLETE: {}",
                p.error.as_deref().unwrap_or("unknown error")
            )
        };
        let _ = writeln!(out, "  provider {:<10} {:>6} pods  {state}", p.name, p.pods);
        for g in &p.gaps {
            let _ = writeln!(out, "    DATA GAP {}: {}", g.data, g.detail);
        }
    }
    let _ = writeln!(out);
    if plan.actions.is_empty() {
        let _ = writeln!(out, "No actions.");
    } else {
        let _ = writeln!(
            out,
            "{:<10} {:<9} {:<16} {:<28} {:>12}  REASON",
            "ACTION", "PROVIDER", "TARGET", "POLICY", "SAVES/DAY"
        );
        for a in &plan.actions {
            let _ = writeln!(
                out,
                "{:<10} {:<9} {:<16} {:<28} {:>12}  {}",
                a.action,
                a.provider,
                a.target,
                a.policy,
                format!("{} {}", a.est_savings_per_day, a.currency),
                a.reason
            );
        }
    }
    if !plan.pending.is_empty() {
        let _ = writeln!(
            out,
            "\nPending: waiting for their notice period ({}):",
            plan.pending.len()
        );
        let _ = writeln!(
            out,
            "{:<10} {:<9} {:<16} {:<28} {:<22} {:<22} REASON",
            "ACTION", "PROVIDER", "TARGET", "POLICY", "DUE", "FIRST MATCHED"
        );
        for p in &plan.pending {
            let _ = writeln!(
                out,
                "{:<10} {:<9} {:<16} {:<28} {:<22} {:<22} {}",
                p.action,
                p.provider,
                p.target,
                p.policy,
                due(plan, p),
                p.first_matched.format("%Y-%m-%d %H:%M UTC").to_string(),
                p.reason
            );
        }
    }
    if !plan.unfinished.is_empty() {
        let _ = writeln!(
            out,
            "\nUnfinished from earlier runs ({}): the next apply re-checks and completes them:",
            plan.unfinished.len()
        );
        for u in &plan.unfinished {
            let _ = writeln!(
                out,
                "  {:<10} {:<9} {:<16} {:<28} {} since {} (run {})",
                u.action,
                u.provider,
                u.target,
                u.policy,
                u.stage,
                u.at.format("%Y-%m-%d %H:%M UTC"),
                u.run_id
            );
        }
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(out, "\nNot acted on ({}):", plan.blocked.len());
        for b in plan.blocked.iter().take(BLOCKED_LISTED) {
            let _ = writeln!(out, "  {:<28} {:<16} {}", b.policy, b.target, b.why);
        }
        if plan.blocked.len() > BLOCKED_LISTED {
            let _ = writeln!(
                out,
                "  … and {} more; by reason:",
                plan.blocked.len() - BLOCKED_LISTED
            );
            for (why, n) in blocked_groups(plan) {
                let _ = writeln!(out, "    {n:>5}  {why}");
            }
        }
    }
    if !plan.policies.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "POLICY", "MATCHED", "UNKNOWN", "GUARDED", "COUNTED", "PLANNED", "PENDING"
        );
        for t in &plan.policies {
            let _ = writeln!(
                out,
                "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}{}",
                t.policy,
                t.matched,
                t.unknown,
                t.guarded,
                t.counted,
                t.planned,
                t.pending,
                if t.refused {
                    "  REFUSED by a breaker"
                } else {
                    ""
                }
            );
        }
    }
    let kinds: Vec<String> = plan
        .summary
        .actions_by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let _ = writeln!(
        out,
        "\n{} actions ({}), est. savings {}; {} pending a notice; {} not acted on; {} reported.{}",
        plan.actions.len(),
        if kinds.is_empty() {
            "none".into()
        } else {
            kinds.join(", ")
        },
        savings_line(plan),
        plan.pending.len(),
        plan.blocked.len(),
        plan.reported.len(),
        if plan.summary.breaker_tripped {
            " A CIRCUIT BREAKER REFUSED A POLICY."
        } else {
            ""
        }
    );
    out
}

/// When a pending action is due: its time, or that it is due but waits for its policy's
/// schedule window (a notice policy outside its window keeps its notices and acts on none).
fn due(plan: &Plan, p: &super::Pending) -> String {
    if p.due_at <= plan.evaluated_at {
        "due, outside schedule".into()
    } else {
        p.due_at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// The header of a Markdown table of actions (see [`action_row`]).
pub const ACTIONS_HEADER: &str =
    "| action | provider | target | policy | saves/day | reason |\n|---|---|---|---|---:|---|";

/// One action as a row of a Markdown table.
pub fn action_row(a: &super::PlannedAction) -> String {
    format!(
        "| {} | {} | `{}` | {} | {} {} | {} |",
        a.action,
        a.provider,
        a.target,
        a.policy,
        a.est_savings_per_day,
        a.currency,
        a.reason.replace('|', "\\|")
    )
}

/// Markdown, for a pull-request comment or the report.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## podwarden plan\n");
    let _ = writeln!(
        out,
        "Evaluated at {} · policies `{}`\n",
        plan.evaluated_at.format("%Y-%m-%d %H:%M UTC"),
        &plan.policies_sha256[..plan.policies_sha256.len().min(12)]
    );
    let _ = writeln!(
        out,
        "**{} actions**, est. savings {}.{}\n",
        plan.actions.len(),
        savings_line(plan),
        if plan.pending.is_empty() {
            String::new()
        } else {
            format!(" {} pending a notice period.", plan.pending.len())
        }
    );
    let problems: Vec<String> = plan
        .providers
        .iter()
        .flat_map(|p| {
            let incomplete = (!p.complete).then(|| {
                format!(
                    "- **{}**: incomplete, no actions: {}",
                    p.name,
                    p.error.as_deref().unwrap_or("unknown error")
                )
            });
            incomplete.into_iter().chain(
                p.gaps
                    .iter()
                    .map(move |g| format!("- **{}** {}: {}", p.name, g.data, g.detail)),
            )
        })
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "**Provider data incomplete:**\n");
        for line in problems {
            let _ = writeln!(out, "{}", line.replace('|', "\\|"));
        }
        let _ = writeln!(out);
    }
    if !plan.actions.is_empty() {
        let _ = writeln!(out, "{ACTIONS_HEADER}");
        for a in &plan.actions {
            let _ = writeln!(out, "{}", action_row(a));
        }
    }
    if !plan.pending.is_empty() {
        let _ = writeln!(
            out,
            "\n**Pending** — waiting for their notice period ({}):\n\n| action | provider | target | policy | due | first matched | reason |\n|---|---|---|---|---|---|---|",
            plan.pending.len()
        );
        for p in &plan.pending {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} | {} | {} |",
                p.action,
                p.provider,
                p.target,
                p.policy,
                due(plan, p),
                p.first_matched.format("%Y-%m-%d %H:%M UTC"),
                p.reason.replace('|', "\\|")
            );
        }
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(out, "\n<details><summary>Not acted on ({})</summary>\n\n| policy | target | why |\n|---|---|---|", plan.blocked.len());
        for b in &plan.blocked {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                b.policy,
                b.target,
                b.why.replace('|', "\\|")
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}
