//! Idle burn: the running pods that are idle now, what they cost per day (the first
//! `[report] top`, the rest summed), and the same by project.

use crate::report::blocks::{more, sum, Doc};
use crate::report::build::{IdlePod, Report};
use crate::report::currency::{grouped, Amounts};

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, format!("Idle burn: {} per day", r.idle.total_per_day));
    if r.idle.pods.is_empty() {
        d.p("No running pod is idle.".into());
    } else {
        table(r, d, &r.idle.pods);
        d.h(3, "Idle burn by project".into());
        d.chart("idle_project");
        d.top_table(
            &["project", "per day"],
            &r.idle.by_project,
            r.top,
            |(k, a)| vec![k.clone(), a.to_string()],
            |rest| {
                vec![
                    more(rest.len(), "projects"),
                    sum(rest.iter().map(|(_, a)| a)),
                ]
            },
        );
    }
}

/// The table of idle `pods` (most per day first), also a project section's.
pub fn table(r: &Report, d: &mut Doc, pods: &[IdlePod]) {
    d.top_table(
        &[
            "provider",
            "pod",
            "project",
            "idle since",
            "per day",
            "evidence",
        ],
        pods,
        r.top,
        |p| {
            vec![
                p.provider.clone(),
                p.target.clone(),
                p.project.clone(),
                p.since
                    .map_or("unknown".into(), |s| s.format("%Y-%m-%d %H:%M").to_string()),
                grouped(&p.per_day),
                p.evidence.clone(),
            ]
        },
        |rest| {
            let per_day = Amounts::of(&r.conversion, rest.iter().map(|p| &p.per_day));
            vec![
                more(rest.len(), "idle pods"),
                String::new(),
                String::new(),
                String::new(),
                per_day.to_string(),
                String::new(),
            ]
        },
    );
}
