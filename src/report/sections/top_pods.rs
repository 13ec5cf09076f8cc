//! The pods that cost most this month (orphans included, marked by their kind): the first
//! `[report] top`, the rest summed in one row.

use crate::report::blocks::{more, rest_row, sum, Doc};
use crate::report::build::{Report, TopPod};

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, format!("Top {} pods, month to date", r.top));
    table(r, d, &r.top_pods);
}

/// The table of `pods` (largest first), also a project section's.
pub fn table(r: &Report, d: &mut Doc, pods: &[TopPod]) {
    d.top_table(
        &[
            "provider",
            "pod",
            "name",
            "project",
            "kind",
            "month to date",
        ],
        pods,
        r.top,
        |p| {
            vec![
                p.provider.clone(),
                p.target.clone(),
                p.name.clone(),
                p.project.clone(),
                p.kind.clone(),
                p.mtd.to_string(),
            ]
        },
        |rest| {
            rest_row(
                6,
                more(rest.len(), "pods"),
                vec![sum(rest.iter().map(|p| &p.mtd))],
            )
        },
    );
}
