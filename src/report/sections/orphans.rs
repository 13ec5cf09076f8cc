//! Orphans: pods billed without a worker, outside the tracked total, with their age and what
//! they cost.

use crate::report::blocks::{more, rest_row, sum, Doc};
use crate::report::build::Report;
use crate::report::currency::{grouped, Amounts};

pub fn add(r: &Report, d: &mut Doc) {
    d.h(2, format!("Orphans ({})", r.orphans.len()));
    if r.orphans.is_empty() {
        d.p("None.".into());
    } else {
        d.p(format!(
            "Outside the tracked total. Billed this month: {}.",
            r.headline.mtd_orphans
        ));
        d.top_table(
            &[
                "provider",
                "pod",
                "status",
                "GPU",
                "orphan since",
                "age (days)",
                "per day",
                "month to date",
            ],
            &r.orphans,
            r.top,
            |o| {
                vec![
                    o.provider.clone(),
                    o.target.clone(),
                    o.status.to_string(),
                    o.gpu_type.clone(),
                    o.orphaned_since
                        .map_or("unknown".into(), |s| s.format("%Y-%m-%d").to_string()),
                    o.age_days.map_or("?".into(), |x| x.to_string()),
                    grouped(&o.per_day),
                    o.mtd.to_string(),
                ]
            },
            |rest| {
                let per_day = Amounts::of(&r.conversion, rest.iter().map(|o| &o.per_day));
                let mtd = sum(rest.iter().map(|o| &o.mtd));
                rest_row(
                    8,
                    more(rest.len(), "orphans"),
                    vec![per_day.to_string(), mtd],
                )
            },
        );
    }
}
