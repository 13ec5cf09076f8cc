//! Replicas and health, as the providers that report them (Podstack) do: the pods counted
//! by colour, then only the pods that are not green (red first; the first `[report] top`).

use crate::report::blocks::{more, rest_row, Doc};
use crate::report::build::Report;

pub fn add(r: &Report, d: &mut Doc) {
    if r.health.is_empty() {
        return;
    }
    let count = |h: &str| r.health.iter().filter(|x| x.health == h).count();
    let (green, yellow, red) = (count("green"), count("yellow"), count("red"));
    let other = r.health.len() - green - yellow - red;
    d.h(2, "Replicas and health".into());
    let mut counts = format!("{green} green · {yellow} yellow · {red} red");
    if other > 0 {
        counts.push_str(&format!(" · {other} other"));
    }
    d.p(counts);
    let mut rows: Vec<_> = r.health.iter().filter(|h| h.health != "green").collect();
    if rows.is_empty() {
        d.p("Every pod is green.".into());
        return;
    }
    rows.sort_by_key(|h| (health_rank(&h.health), h.target.clone()));
    d.top_table(
        &[
            "provider", "pod", "name", "project", "status", "replicas", "health",
        ],
        &rows,
        r.top,
        |h| {
            vec![
                h.provider.clone(),
                h.target.clone(),
                h.name.clone(),
                h.project.clone(),
                h.status.to_string(),
                h.replicas.to_string(),
                h.health.clone(),
            ]
        },
        |rest| rest_row(7, more(rest.len(), "pods not green"), vec![]),
    );
}

/// red first, then yellow, green, anything else.
pub fn health_rank(h: &str) -> u8 {
    match h {
        "red" => 0,
        "yellow" => 1,
        "green" => 2,
        _ => 3,
    }
}
