//! The idle burn cross-checked with the providers' own idle lists (those that publish one,
//! see `ProviderFacts::idle_cost_source`): every difference, or that there is none. It follows
//! the idle burn, under its heading.

use std::collections::BTreeMap;

use crate::report::blocks::{more, rest_row, Doc};
use crate::report::build::{IdleList, Report};
use crate::report::currency::grouped;

pub fn add(r: &Report, d: &mut Doc) {
    if r.idle.checked_against.is_empty() {
        d.p("No provider idle list to cross-check against.".into());
    } else if r.idle.differences.is_empty() {
        d.p(format!(
            "Cross-check with {}: no differences.",
            lists_named(&r.idle.checked_against)
        ));
    } else {
        d.warn(format!(
            "Cross-check with {}: {} difference(s)",
            lists_named(&r.idle.checked_against),
            r.idle.differences.len()
        ));
        d.top_table(
            &["provider", "pod", "podwarden", "provider says", "why"],
            &r.idle.differences,
            r.top,
            |x| {
                vec![
                    x.provider.clone(),
                    x.target.clone(),
                    x.ours.as_ref().map_or("-".into(), grouped),
                    x.theirs.as_ref().map_or("-".into(), grouped),
                    x.why.clone(),
                ]
            },
            |rest| rest_row(5, more(rest.len(), "differences"), vec![]),
        );
    }
}

/// The idle lists compared, for people: `NAME, NAME SOURCE`, the providers that publish at
/// the same source named together.
fn lists_named(lists: &[IdleList]) -> String {
    let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in lists {
        by_source.entry(&l.source).or_default().push(&l.provider);
    }
    by_source
        .iter()
        .map(|(source, names)| format!("{} {source}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
