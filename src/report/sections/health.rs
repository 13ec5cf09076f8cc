//! Replicas and health, as the providers that report them (Podstack) do: red first.

use crate::report::blocks::Doc;
use crate::report::build::Report;

pub fn add(r: &Report, d: &mut Doc) {
    if !r.health.is_empty() {
        let count = |h: &str| r.health.iter().filter(|x| x.health == h).count();
        d.h(2, "Replicas and health".into());
        d.p(format!(
            "{} green · {} yellow · {} red",
            count("green"),
            count("yellow"),
            count("red")
        ));
        let mut rows: Vec<_> = r.health.iter().collect();
        rows.sort_by_key(|h| (health_rank(&h.health), h.target.clone()));
        d.table(
            &[
                "provider", "pod", "name", "project", "status", "replicas", "health",
            ],
            rows.iter()
                .map(|h| {
                    vec![
                        h.provider.clone(),
                        h.target.clone(),
                        h.name.clone(),
                        h.project.clone(),
                        h.status.to_string(),
                        h.replicas.to_string(),
                        h.health.clone(),
                    ]
                })
                .collect(),
        );
    }
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
