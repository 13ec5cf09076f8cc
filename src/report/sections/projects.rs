//! A section per project that `[report] projects` names: its tracked month to date, its pods
//! by cost, its idle pods and its planned actions (each the first `[report] top`, the rest
//! summed), for the team that owns it.

use crate::report::blocks::Doc;
use crate::report::build::Report;
use crate::report::sections::{actions, idle, top_pods};

pub fn add(r: &Report, d: &mut Doc) {
    for p in &r.projects {
        d.h(2, format!("Project {}: {} month to date", p.name, p.mtd));
        d.h(3, "Pods, month to date".into());
        top_pods::table(r, d, &p.top_pods);
        d.h(3, format!("Idle now ({})", p.idle.len()));
        idle::table(r, d, &p.idle);
        if r.plan_made {
            d.h(3, format!("Planned this run ({})", p.planned.len()));
            actions::planned(r, d, &p.planned);
        }
    }
}
