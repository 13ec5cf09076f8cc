//! The facts of a provider in a snapshot saved before the fleet recorded them
//! ([`crate::fleet::Fleet::facts`]): read off its data the way podwarden told its providers
//! apart then, so that such a snapshot gives the same plan and report as it did.

use crate::fleet::{Fleet, ProviderFacts, ResourceKind};
use crate::providers::registry::ProviderType;

/// The facts of provider `name` of `fleet`, a snapshot that recorded none; `None` when its
/// data shows none (no Argus-shaped data: per-pod cost rows and no idle-cost list, the
/// facts of a provider the fleet holds nothing for).
///
/// Such snapshots knew two providers, and only Argus' data has these shapes: cost rows with
/// billed hours and no resource split, tracked pods without health, idle-cost rows. Its
/// idle-cost read counts as failed when the provider is incomplete or one of its gaps names
/// the idle-cost source, as the gap's detail did.
pub fn read_off(fleet: &Fleet, name: &str) -> Option<ProviderFacts> {
    let argus_shaped = fleet
        .costs
        .iter()
        .any(|c| c.provider == name && c.hours.is_some() && c.by_resource.is_none())
        || fleet
            .pods
            .iter()
            .any(|p| p.provider == name && p.kind == ResourceKind::Pod && p.health.is_none())
        || fleet.idle_costs.iter().any(|c| c.provider == name);
    if !argus_shaped {
        return None;
    }
    let kind = ProviderType::Argus;
    let read = fleet.providers.iter().any(|p| {
        p.name == name
            && p.complete
            && !p.gaps.iter().any(|g| {
                kind.idle_cost_source()
                    .is_some_and(|source| g.detail.contains(source))
            })
    });
    Some(kind.facts(read))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{DataGap, IdleCost, ProviderStatus};
    use crate::money::{Currency, Money};

    fn old_snapshot(gaps: Vec<DataGap>) -> Fleet {
        Fleet {
            taken_at: "2026-11-21T02:00:00Z".parse().expect("instant"),
            providers: ["a", "p"]
                .map(|name| ProviderStatus {
                    activity_reads: None,
                    cost_reads: None,
                    name: name.into(),
                    complete: true,
                    pods: 0,
                    error: None,
                    gaps: if name == "a" { gaps.clone() } else { vec![] },
                })
                .into(),
            pods: vec![],
            costs: vec![],
            wallets: vec![],
            idle_costs: vec![IdleCost {
                provider: "a".into(),
                target: "wkr_1".into(),
                per_day: Money::new(rust_decimal::Decimal::ONE, Currency::usd()),
            }],
            facts: Default::default(),
        }
    }

    #[test]
    fn an_old_snapshot_gets_the_facts_its_data_shows() {
        let fleet = old_snapshot(vec![]);
        assert_eq!(read_off(&fleet, "a"), Some(ProviderType::Argus.facts(true)));
        assert_eq!(read_off(&fleet, "p"), None, "no Argus-shaped data");
        let failed = old_snapshot(vec![DataGap {
            data: "costs".into(),
            detail: "no idle-cost rows (/cost/idle) to cross-check idle burn: 500".into(),
        }]);
        assert_eq!(
            read_off(&failed, "a").and_then(|f| f.idle_cost_source),
            None,
            "a failed idle-cost read leaves nothing to cross-check against"
        );
    }
}
