//! Idle burn: the running pods that are idle now, what they cost per day, and the same by
//! project.

use crate::report::blocks::Doc;
use crate::report::build::Report;
use crate::report::currency::{grouped, Amounts};

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, format!("Idle burn: {} per day", r.idle.total_per_day));
    if r.idle.pods.is_empty() {
        d.p("No running pod is idle.".into());
    } else {
        d.table(
            &[
                "provider",
                "pod",
                "project",
                "idle since",
                "per day",
                "evidence",
            ],
            r.idle
                .pods
                .iter()
                .map(|p| {
                    vec![
                        p.provider.clone(),
                        p.target.clone(),
                        p.project.clone(),
                        p.since
                            .map_or("unknown".into(), |s| s.format("%Y-%m-%d %H:%M").to_string()),
                        grouped(&p.per_day),
                        p.evidence.clone(),
                    ]
                })
                .collect(),
        );
        d.h(3, "Idle burn by project".into());
        d.chart("idle_project");
        let rows: Vec<(String, Amounts)> = r.idle.by_project.clone();
        d.table(
            &["project", "per day"],
            rows.iter()
                .map(|(k, a)| vec![k.clone(), a.to_string()])
                .collect(),
        );
    }
}
