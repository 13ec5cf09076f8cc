//! The queue's order: the most valuable actions first, so that when the run's deadline cuts
//! the queue short, what was done is what mattered most. Pure.
//!
//! Value is the plan's estimated savings per day. Currencies are compared through the
//! configured rates (to the report currency); a currency without a rate cannot be compared
//! with the others, so its actions are ordered among themselves and the groups are
//! interleaved by rank (the first of each group, then the second of each, …). A resume
//! costs money (negative savings) and comes after the stops of its group. Ties go by action id.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::plan::PlannedAction;

/// Indexes of `actions` in the order to send them. `rate` converts one unit of a currency
/// to the report currency, `None` when no rate is configured.
pub fn by_value(actions: &[PlannedAction], rate: &dyn Fn(&str) -> Option<Decimal>) -> Vec<usize> {
    // Group key: `None` for the comparable (converted) group, else the currency.
    let mut groups: BTreeMap<Option<&str>, Vec<(Decimal, usize)>> = BTreeMap::new();
    for (i, a) in actions.iter().enumerate() {
        let amount = a.est_savings_per_day;
        match rate(a.currency.as_str()) {
            Some(r) => groups.entry(None).or_default().push((amount * r, i)),
            None => groups
                .entry(Some(a.currency.as_str()))
                .or_default()
                .push((amount, i)),
        }
    }
    for g in groups.values_mut() {
        g.sort_by(|(va, ia), (vb, ib)| {
            vb.cmp(va)
                .then_with(|| actions[*ia].id.cmp(&actions[*ib].id))
        });
    }
    let longest = groups.values().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|rank| {
            groups
                .values()
                .filter_map(move |g| g.get(rank).map(|(_, i)| *i))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(id: &str, savings: &str, currency: &str) -> PlannedAction {
        PlannedAction {
            id: id.into(),
            est_savings_per_day: savings.parse().expect("decimal"),
            currency: crate::money::Currency::new(currency),
            ..crate::plan::sample_action(id)
        }
    }

    fn ids(actions: &[PlannedAction], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| actions[i].id.clone()).collect()
    }

    #[test]
    fn converted_currencies_compare_by_value() {
        let a = [
            action("usd-small", "10.00", "USD"),
            action("inr-big", "5000.00", "INR"), // 59.90 USD at 0.01198
            action("usd-big", "50.00", "USD"),
            action("resume", "-20.00", "USD"),
        ];
        let rate = |c: &str| match c {
            "USD" => Some(Decimal::ONE),
            "INR" => "0.01198".parse().ok(),
            _ => None,
        };
        assert_eq!(
            ids(&a, &by_value(&a, &rate)),
            ["inr-big", "usd-big", "usd-small", "resume"]
        );
    }

    #[test]
    fn without_a_rate_each_currency_is_ordered_apart_and_interleaved() {
        let a = [
            action("usd-10", "10.00", "USD"),
            action("inr-100", "100.00", "INR"),
            action("usd-50", "50.00", "USD"),
            action("inr-900", "900.00", "INR"),
        ];
        let rate = |c: &str| (c == "USD").then_some(Decimal::ONE);
        assert_eq!(
            ids(&a, &by_value(&a, &rate)),
            ["usd-50", "inr-900", "usd-10", "inr-100"]
        );
    }
}
