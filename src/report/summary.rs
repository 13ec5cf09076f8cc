//! The short spend summary printed after a plan: billed spend per provider and currency,
//! today's burn rate, idle burn, running orphans and wallet runway.
//!
//! Sums run over integer micro-units in polars, so they are exact; currencies are
//! never added together.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::fleet::{Activity, CostRow, Fleet, PodStatus, ResourceKind};
use crate::money::{micros_to_decimal, Currency, Money};

/// Billed spend per (provider, currency) over `costs`, by provider and currency.
pub fn spend_by_provider(costs: &[&CostRow]) -> PolarsResult<Vec<(String, Money)>> {
    let df = DataFrame::new(
        costs.len(),
        vec![
            Column::new(
                "provider".into(),
                costs.iter().map(|c| c.provider.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "currency".into(),
                costs
                    .iter()
                    .map(|c| c.amount.currency.to_string())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "micros".into(),
                costs
                    .iter()
                    .map(|c| c.amount.micros())
                    .collect::<Vec<i64>>(),
            ),
        ],
    )?;
    let out = df
        .lazy()
        .group_by([col("provider"), col("currency")])
        .agg([col("micros").sum()])
        .sort(["provider", "currency"], SortMultipleOptions::default())
        .collect()?;
    let providers = out.column("provider")?.str()?.clone();
    let currencies = out.column("currency")?.str()?.clone();
    let micros = out.column("micros")?.i64()?.clone();
    Ok((0..out.height())
        .filter_map(|i| {
            let m = micros.get(i)?;
            Some((
                providers.get(i)?.to_string(),
                Money::new(micros_to_decimal(m), Currency::new(currencies.get(i)?)),
            ))
        })
        .collect())
}

fn per_currency(items: impl Iterator<Item = Money>) -> String {
    let mut sums: std::collections::BTreeMap<Currency, rust_decimal::Decimal> = Default::default();
    for m in items {
        *sums.entry(m.currency).or_default() += m.amount;
    }
    if sums.is_empty() {
        return "none".into();
    }
    sums.into_iter()
        .map(|(c, a)| Money::new(a, c).to_string())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A few lines for the terminal and the top of the email.
pub fn text(fleet: &Fleet, cost_days: u32, now: DateTime<Utc>) -> PolarsResult<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Spend summary ({} pods, as of {})",
        fleet.pods.len(),
        now.format("%Y-%m-%d %H:%M UTC")
    );
    // The days the line names, ending on the summary's day: a replay at `--now` counts no
    // row after it, and none before the window.
    let last = now.date_naive();
    let first = last - chrono::Days::new(u64::from(cost_days.max(1) - 1));
    let billed: Vec<&CostRow> = fleet
        .costs
        .iter()
        .filter(|c| c.date >= first && c.date <= last)
        .collect();
    for (provider, money) in spend_by_provider(&billed)? {
        let _ = writeln!(
            out,
            "  billed last {cost_days} days  {provider:<10} {money}"
        );
    }
    let running = fleet.pods.iter().filter(|p| p.status == PodStatus::Running);
    let _ = writeln!(
        out,
        "  burn now (per day)            {}",
        per_currency(running.clone().map(|p| p.daily_rate()))
    );
    let idle = running
        .clone()
        .filter(|p| matches!(p.activity, Activity::Idle { .. }) && p.kind == ResourceKind::Pod);
    let _ = writeln!(
        out,
        "  of which idle                 {}",
        per_currency(idle.map(|p| p.daily_rate()))
    );
    let orphans: Vec<_> = running.filter(|p| p.kind == ResourceKind::Orphan).collect();
    if !orphans.is_empty() {
        let _ = writeln!(
            out,
            "  WARNING: {} running orphan pods burn {}/day and are excluded from tracked totals",
            orphans.len(),
            per_currency(orphans.iter().map(|p| p.daily_rate()))
        );
    }
    for w in &fleet.wallets {
        let runway = w.runway_hours().map_or_else(
            || "no pods running".to_string(),
            |h| format!("{}h of runway", crate::money::fixed(h, 0)),
        );
        let low = if w.balance.amount < w.low_balance_threshold.amount {
            " (BELOW the low-balance threshold)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  wallet {:<10} {} at {}/h: {runway}{low}",
            w.provider, w.balance, w.run_rate_per_hour
        );
    }
    Ok(out)
}
