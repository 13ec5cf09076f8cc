//! Actions: planned this run (with what they save), pending notices, and the actions of past
//! runs with what they have realised since.

use crate::money::Money;
use crate::report::blocks::{more, rest_row, Doc};
use crate::report::build::{PlannedRow, Report};
use crate::report::currency::{grouped, Amounts};

/// What "Planned this run" says when no plan was made (`podwarden report`).
pub const NO_PLAN: &str = "No plan was made (podwarden report does not plan; see podwarden run).";
/// What "Pending notices" says when no plan was made: notices are listed with the plan.
pub const NO_PLAN_NOTICES: &str =
    "Not listed: pending notices come with a plan (podwarden report does not plan; see podwarden run).";

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, "Actions".into());
    if !r.plan_made {
        d.h(3, "Planned this run".into());
        d.p(NO_PLAN.into());
        d.h(3, "Pending notices".into());
        d.p(NO_PLAN_NOTICES.into());
    } else {
        d.h(
            3,
            format!("Planned this run: {} saved per day", r.planned_total),
        );
        planned(r, d, &r.planned);
        d.h(3, format!("Pending notices ({})", r.pending.len()));
        d.top_table(
            &["provider", "target", "action", "policy", "due", "reason"],
            &r.pending,
            r.top,
            |p| {
                vec![
                    p.provider.clone(),
                    p.target.clone(),
                    p.action.clone(),
                    p.policy.clone(),
                    p.due_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    p.reason.clone(),
                ]
            },
            |rest| rest_row(6, more(rest.len(), "notices"), vec![]),
        );
    }
    d.h(
        3,
        format!("Taken in past runs: {} realised since", r.realised_total),
    );
    d.top_table(
        &[
            "at",
            "provider",
            "target",
            "action",
            "policy",
            "status",
            "per day",
            "realised since",
        ],
        &r.taken,
        r.top,
        |t| {
            let a = &t.action;
            vec![
                a.at.format("%Y-%m-%d %H:%M").to_string(),
                a.provider.clone(),
                a.target.clone(),
                a.action.clone(),
                a.policy.clone(),
                a.status.clone(),
                grouped(&Money::new(a.est_savings_per_day, a.currency.clone())),
                grouped(&t.realised),
            ]
        },
        |rest| {
            let realised = Amounts::of(&r.conversion, rest.iter().map(|t| &t.realised));
            rest_row(8, more(rest.len(), "actions"), vec![realised.to_string()])
        },
    );
}

/// The table of planned actions `rows`, also a project section's.
pub fn planned(r: &Report, d: &mut Doc, rows: &[PlannedRow]) {
    d.top_table(
        &["provider", "target", "action", "policy", "saves per day"],
        rows,
        r.top,
        |p| {
            vec![
                p.provider.clone(),
                p.target.clone(),
                p.action.clone(),
                p.policy.clone(),
                grouped(&p.per_day),
            ]
        },
        |rest| {
            let saves = Amounts::of(&r.conversion, rest.iter().map(|p| &p.per_day));
            rest_row(5, more(rest.len(), "actions"), vec![saves.to_string()])
        },
    );
}
