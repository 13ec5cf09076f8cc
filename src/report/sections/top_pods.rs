//! The ten pods that cost most this month (orphans included, marked by their kind).

use crate::report::blocks::Doc;
use crate::report::build::Report;

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, "Top 10 pods, month to date".into());
    d.table(
        &[
            "provider",
            "pod",
            "name",
            "project",
            "kind",
            "month to date",
        ],
        r.top_pods
            .iter()
            .map(|p| {
                vec![
                    p.provider.clone(),
                    p.target.clone(),
                    p.name.clone(),
                    p.project.clone(),
                    p.kind.clone(),
                    p.mtd.to_string(),
                ]
            })
            .collect(),
    );
}
