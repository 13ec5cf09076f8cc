//! The report as data: a pure function of (fleet, plan, past actions, pending notices,
//! conversion, clock). Every renderer (Markdown, HTML, CSV, Parquet, FOCUS) reads this.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::fleet::{Activity, CostRow, Fleet, PodStatus, ResourceKind};
use crate::money::{Currency, Money};
use crate::plan::Plan;
use crate::report::currency::{Amounts, Conversion};
use crate::report::inputs::{PendingNotice, TakenAction};
use crate::report::spend::{self, is_idle, sum_by, total};
use crate::report::window::Window;

/// Everything the report is built from.
pub struct Input<'a> {
    pub fleet: &'a Fleet,
    pub plan: Option<&'a Plan>,
    pub taken: &'a [TakenAction],
    pub pending: &'a [PendingNotice],
    pub conversion: &'a Conversion,
    pub now: DateTime<Utc>,
}

/// The headline figures, in the report currency (unconverted currencies apart).
#[derive(Debug, Clone)]
pub struct Headline {
    /// Month to date, orphans excluded.
    pub mtd_tracked: Amounts,
    /// `mtd_tracked` plus today's tracked burn rate for each day left in the month.
    pub forecast: Amounts,
    /// The same days of last month, orphans excluded.
    pub last_month_same_period: Amounts,
    pub last_month_same_period_dates: (NaiveDate, NaiveDate),
    /// The whole previous month, orphans excluded.
    pub last_month_total: Amounts,
    /// Running tracked pods' hourly rates × 24.
    pub burn_per_day: Amounts,
    /// Month to date billed to orphans (outside the tracked total).
    pub mtd_orphans: Amounts,
    pub running_orphans: usize,
    pub orphan_burn_per_day: Amounts,
}

#[derive(Debug, Clone)]
pub struct IdlePod {
    pub provider: String,
    pub target: String,
    pub name: String,
    pub project: String,
    pub since: Option<DateTime<Utc>>,
    pub evidence: String,
    pub per_day: Money,
}

/// One difference between podwarden's idle list and the provider's own.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleDifference {
    pub provider: String,
    pub target: String,
    /// podwarden's $/day (None: podwarden does not count it idle).
    pub ours: Option<Money>,
    /// The provider's $/day (None: the provider does not list it).
    pub theirs: Option<Money>,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct IdleBurn {
    pub pods: Vec<IdlePod>,
    pub total_per_day: Amounts,
    pub by_project: Vec<(String, Amounts)>,
    /// The providers' own idle lists compared, by provider name.
    pub checked_against: Vec<IdleList>,
    pub differences: Vec<IdleDifference>,
}

/// A provider's own idle list the report compared its idle burn with.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleList {
    pub provider: String,
    /// Where the provider publishes it ([`crate::fleet::ProviderFacts::idle_cost_source`]).
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Orphan {
    pub provider: String,
    pub target: String,
    pub status: PodStatus,
    pub gpu_type: String,
    pub orphaned_since: Option<DateTime<Utc>>,
    pub age_days: Option<i64>,
    /// What it burns per day now (zero unless running).
    pub per_day: Money,
    pub mtd: Amounts,
}

#[derive(Debug, Clone)]
pub struct TopPod {
    pub provider: String,
    pub target: String,
    pub name: String,
    pub project: String,
    pub kind: String,
    pub mtd: Amounts,
}

#[derive(Debug, Clone)]
pub struct HealthRow {
    pub provider: String,
    pub target: String,
    pub name: String,
    pub project: String,
    pub status: PodStatus,
    pub replicas: u32,
    pub health: String,
}

#[derive(Debug, Clone)]
pub struct PlannedRow {
    pub provider: String,
    pub target: String,
    pub action: String,
    pub policy: String,
    pub per_day: Money,
}

#[derive(Debug, Clone)]
pub struct TakenRow {
    pub action: TakenAction,
    pub realised: Money,
}

#[derive(Debug, Clone)]
pub struct WalletRow {
    pub provider: String,
    pub balance: Money,
    pub run_rate_per_hour: Money,
    pub runway_hours: Option<Decimal>,
    pub grace_period_hours: u32,
    /// The runway is shorter than the auto-stop grace period.
    pub short: bool,
    pub below_threshold: bool,
}

/// One point of a daily series: a date, a label (provider or project) and the converted
/// amount (only currencies with a rate can be drawn together).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyPoint {
    pub date: NaiveDate,
    pub label: String,
    pub amount: Decimal,
}

/// The spend report.
pub struct Report {
    pub now: DateTime<Utc>,
    pub window: Window,
    pub conversion: Conversion,
    /// The spend table (one row per pod per day, only the days of `window`: see
    /// [`cost_rows`]), see [`spend::COLUMNS`].
    pub spend: DataFrame,
    pub headline: Headline,
    /// Currencies seen without a configured rate: their amounts stay apart.
    pub missing_rates: Vec<Currency>,
    /// Why figures may be incomplete: providers' data gaps, a window the cost rows do not fill.
    pub warnings: Vec<String>,
    pub idle: IdleBurn,
    pub orphans: Vec<Orphan>,
    pub by_provider: Vec<(String, Amounts)>,
    pub by_project: Vec<(String, Amounts)>,
    pub by_owner: Vec<(String, Amounts)>,
    pub by_gpu_type: Vec<(String, Amounts)>,
    /// Podstack month to date by resource (gpu, cpu, memory, storage).
    pub by_resource: Vec<(String, Amounts)>,
    pub top_pods: Vec<TopPod>,
    pub health: Vec<HealthRow>,
    /// Whether a plan was made for this report (`podwarden report` makes none: `planned` and
    /// `pending` are then unknown, not empty).
    pub plan_made: bool,
    pub planned: Vec<PlannedRow>,
    pub planned_total: Amounts,
    pub pending: Vec<PendingNotice>,
    pub taken: Vec<TakenRow>,
    pub realised_total: Amounts,
    pub wallets: Vec<WalletRow>,
    pub daily_by_provider: Vec<DailyPoint>,
    pub daily_by_project: Vec<DailyPoint>,
    /// Spend per provider, project, owner, kind and currency (`summary-by-project.csv`).
    pub breakdown: Vec<crate::report::breakdown::Row>,
}

fn dates_between(from: NaiveDate, to: NaiveDate) -> Expr {
    col("date")
        .gt_eq(lit(from.to_string()))
        .and(col("date").lt_eq(lit(to.to_string())))
}

fn per_day_of(pods: impl Iterator<Item = Money>, conv: &Conversion) -> Amounts {
    let mut out = Amounts::zero(conv.report.clone());
    for m in pods {
        out.add(conv, &m.currency, m.amount);
    }
    out
}

fn pairs(rows: Vec<(Vec<String>, Amounts)>) -> Vec<(String, Amounts)> {
    rows.into_iter()
        .map(|(k, a)| (k.into_iter().next().unwrap_or_default(), a))
        .collect()
}

/// Sorts rows by what they cost per day, largest first, comparably across currencies: the
/// rows whose currency has a rate first, by their amount converted into the report currency;
/// then each currency without a rate on its own (by currency code), by its raw amount, since
/// raw amounts of different currencies cannot be compared. Ties go by `target`.
pub fn sort_by_daily_cost<T>(
    rows: &mut [T],
    conv: &Conversion,
    money: impl Fn(&T) -> &Money,
    target: impl Fn(&T) -> &str,
) {
    rows.sort_by(|a, b| {
        let key = |r: &T| {
            let m = money(r);
            match conv.rate(&m.currency) {
                Some(rate) => (None, m.amount * rate),
                None => (Some(m.currency.clone()), m.amount),
            }
        };
        let ((ca, xa), (cb, xb)) = (key(a), key(b));
        // `None` (converted) sorts before every unconverted currency.
        ca.cmp(&cb)
            .then(xb.cmp(&xa))
            .then_with(|| target(a).cmp(target(b)))
    });
}

/// The cost rows a report covers: those of `fleet` dated inside `window` (its first day up to
/// the day of the report's instant). Every figure and every file of the report reads these and
/// only these: a replay at an earlier `--now` carries no row after it, and `cost_days` reaching
/// further back than the window adds none before it.
pub fn cost_rows<'a>(
    fleet: &'a Fleet,
    window: &Window,
) -> impl Iterator<Item = &'a CostRow> + Clone + 'a {
    let window = *window;
    fleet.costs.iter().filter(move |c| window.holds(c.date))
}

/// Builds the report.
pub fn build(input: &Input<'_>) -> PolarsResult<Report> {
    let conv = input.conversion;
    let fleet = input.fleet;
    let window = Window::at(input.now.date_naive());
    let df = spend::frame(cost_rows(fleet, &window), fleet, input.plan, conv)?;
    // Month-to-date rows, filtered once: most figures read only them (a quarter of a 90-day
    // table), so each of their group-bys scans the small frame, not the whole table.
    let mtd_df = df
        .clone()
        .lazy()
        .filter(dates_between(window.month_start, window.today))
        .collect()?;
    let tracked = col("tracked");
    let orphan = col("kind").eq(lit("orphan"));

    // Headline.
    let mtd_tracked = total(&mtd_df, tracked.clone(), "amount_micros", conv)?;
    let (lm_from, lm_to) = window.last_month_same_period();
    let last_month_same_period = total(
        &df,
        dates_between(lm_from, lm_to).and(tracked.clone()),
        "amount_micros",
        conv,
    )?;
    let last_month_total = total(
        &df,
        dates_between(window.from, window.month_start - chrono::Duration::days(1))
            .and(tracked.clone()),
        "amount_micros",
        conv,
    )?;
    let running = |k: ResourceKind| {
        fleet
            .pods
            .iter()
            .filter(move |p| p.kind == k && p.status == PodStatus::Running)
    };
    let burn_per_day = per_day_of(running(ResourceKind::Pod).map(|p| p.daily_rate()), conv);
    let mut forecast = mtd_tracked.clone();
    forecast.merge(&burn_per_day.times(Decimal::from(window.days_left())));
    let headline = Headline {
        mtd_orphans: total(&mtd_df, orphan.clone(), "amount_micros", conv)?,
        running_orphans: running(ResourceKind::Orphan).count(),
        orphan_burn_per_day: per_day_of(
            running(ResourceKind::Orphan).map(|p| p.daily_rate()),
            conv,
        ),
        mtd_tracked,
        forecast,
        last_month_same_period,
        last_month_same_period_dates: (lm_from, lm_to),
        last_month_total,
        burn_per_day,
    };

    // Currencies without a rate, wherever they appear.
    // One pass over the cost rows (millions of them) for their currencies and first day;
    // consecutive rows mostly share a currency, so the set is rarely touched.
    let mut seen: BTreeSet<&Currency> = fleet
        .pods
        .iter()
        .map(|p| &p.hourly_rate.currency)
        .chain(fleet.wallets.iter().map(|w| &w.balance.currency))
        .collect();
    let mut first_day: Option<NaiveDate> = None;
    let mut last: Option<&Currency> = None;
    for c in cost_rows(fleet, &window) {
        if last != Some(&c.amount.currency) {
            seen.insert(&c.amount.currency);
            last = Some(&c.amount.currency);
        }
        first_day = Some(first_day.map_or(c.date, |d| d.min(c.date)));
    }
    let missing_rates: Vec<Currency> = seen
        .into_iter()
        .filter(|c| conv.rate(c).is_none())
        .cloned()
        .collect();

    let mut warnings = Vec::new();
    for p in &fleet.providers {
        if !p.complete {
            warnings.push(format!(
                "{}: inventory incomplete ({}); its figures are partial",
                p.name,
                p.error.as_deref().unwrap_or("no detail")
            ));
        }
        for g in &p.gaps {
            warnings.push(format!("{}: {} data missing: {}", p.name, g.data, g.detail));
        }
        // Pods whose utilisation this run did not read count as not idle in the idle burn.
        if let Some(r) = p.activity_reads.as_ref().filter(|r| r.skipped > 0) {
            warnings.push(format!(
                "{}: the utilisation of {} pods was not read this run (no acting policy could act \
                 on them, or left for a later observe run); the idle burn counts them as not idle",
                p.name, r.skipped
            ));
        }
        if let Some(c) = p.cost_reads.as_ref().filter(|c| !c.revised.is_empty()) {
            warnings.push(format!("{}: cost rows: {}", p.name, c.describe()));
        }
    }
    if let Some(first) = first_day {
        if first > window.from {
            warnings.push(format!(
                "cost rows start on {first}, after the window's first day {}: earlier days count as zero",
                window.from
            ));
        }
    }

    // Idle burn, cross-checked with the providers' own idle rows.
    let mut idle_pods: Vec<IdlePod> = fleet
        .pods
        .iter()
        .filter(|p| p.kind == ResourceKind::Pod && is_idle(p))
        .map(|p| {
            let (since, evidence) = match &p.activity {
                Activity::Idle {
                    since, evidence, ..
                } => (*since, evidence.clone()),
                _ => (None, String::new()),
            };
            IdlePod {
                provider: p.provider.clone(),
                target: p.target.clone(),
                name: p.name.clone(),
                project: p.project.clone().unwrap_or_else(|| "(none)".into()),
                since,
                evidence,
                per_day: p.daily_rate(),
            }
        })
        .collect();
    sort_by_daily_cost(&mut idle_pods, conv, |p| &p.per_day, |p| &p.target);
    let total_per_day = per_day_of(idle_pods.iter().map(|p| p.per_day.clone()), conv);
    let mut by_project: BTreeMap<String, Amounts> = BTreeMap::new();
    for p in &idle_pods {
        by_project
            .entry(p.project.clone())
            .or_insert_with(|| Amounts::zero(conv.report.clone()))
            .add(conv, &p.per_day.currency, p.per_day.amount);
    }
    let mut by_project: Vec<(String, Amounts)> = by_project.into_iter().collect();
    by_project.sort_by(|a, b| b.1.converted.cmp(&a.1.converted).then(a.0.cmp(&b.0)));
    // The providers' own idle lists that this fleet holds (read in full), each compared
    // when there is something to compare: rows it listed, or tracked pods of its own. A
    // provider with neither adds nothing to the cross-check and is not named in it (as before
    // the facts were recorded, when such a provider could not be told to publish a list).
    let checked_against: Vec<IdleList> = fleet
        .facts
        .iter()
        .filter_map(|(name, facts)| {
            let source = facts.idle_cost_source.as_ref()?;
            let compared = fleet.idle_costs.iter().any(|c| &c.provider == name)
                || fleet
                    .pods
                    .iter()
                    .any(|p| &p.provider == name && p.kind == ResourceKind::Pod);
            compared.then(|| IdleList {
                provider: name.clone(),
                source: source.clone(),
            })
        })
        .collect();
    let mut differences = Vec::new();
    for IdleList { provider, .. } in &checked_against {
        let theirs: BTreeMap<&str, &Money> = fleet
            .idle_costs
            .iter()
            .filter(|c| &c.provider == provider)
            .map(|c| (c.target.as_str(), &c.per_day))
            .collect();
        let ours: BTreeMap<&str, &Money> = idle_pods
            .iter()
            .filter(|p| &p.provider == provider)
            .map(|p| (p.target.as_str(), &p.per_day))
            .collect();
        let targets: BTreeSet<&str> = theirs.keys().chain(ours.keys()).copied().collect();
        for t in targets {
            let (o, th) = (ours.get(t), theirs.get(t));
            let why = match (o, th) {
                (Some(a), Some(b))
                    if crate::money::fixed(a.amount, 2) == crate::money::fixed(b.amount, 2) =>
                {
                    continue
                }
                (Some(_), Some(_)) => "amounts differ".to_string(),
                (Some(_), None) => "idle for podwarden, not listed by the provider".to_string(),
                (None, Some(_)) => {
                    match fleet
                        .pods
                        .iter()
                        .find(|p| &p.provider == provider && p.target == t)
                    {
                        Some(p) => match &p.activity {
                            Activity::Unknown { why } => {
                                format!("listed by the provider; podwarden: unknown ({why})")
                            }
                            Activity::Busy => {
                                "listed by the provider; podwarden saw it busy".into()
                            }
                            _ => format!("listed by the provider; podwarden: {}", p.status),
                        },
                        None => "listed by the provider; not in podwarden's fleet".into(),
                    }
                }
                (None, None) => continue,
            };
            differences.push(IdleDifference {
                provider: provider.clone(),
                target: t.to_string(),
                ours: o.map(|m| (*m).clone()),
                theirs: th.map(|m| (*m).clone()),
                why,
            });
        }
    }
    let idle = IdleBurn {
        pods: idle_pods,
        total_per_day,
        by_project,
        checked_against,
        differences,
    };

    // Orphans.
    let orphan_mtd: BTreeMap<String, Amounts> = sum_by(
        &mtd_df,
        orphan.clone(),
        &["provider", "pod_id"],
        "amount_micros",
        conv,
    )?
    .into_iter()
    .map(|(k, a)| (k.join("/"), a))
    .collect();
    let mut orphans: Vec<Orphan> = fleet
        .pods
        .iter()
        .filter(|p| p.kind == ResourceKind::Orphan)
        .map(|p| Orphan {
            provider: p.provider.clone(),
            target: p.target.clone(),
            status: p.status,
            gpu_type: p.gpu_type.clone().unwrap_or_default(),
            orphaned_since: p.orphaned_since,
            age_days: p.orphaned_since.map(|s| (input.now - s).num_days()),
            per_day: if p.status == PodStatus::Running {
                p.daily_rate()
            } else {
                Money::new(Decimal::ZERO, p.hourly_rate.currency.clone())
            },
            mtd: orphan_mtd
                .get(&format!("{}/{}", p.provider, p.pod_id))
                .cloned()
                .unwrap_or_else(|| Amounts::zero(conv.report.clone())),
        })
        .collect();
    sort_by_daily_cost(&mut orphans, conv, |o| &o.per_day, |o| &o.target);

    // Breakdowns: month to date, tracked.
    let tracked_mtd = tracked.clone();
    let by = |k: &str| -> PolarsResult<Vec<(String, Amounts)>> {
        Ok(pairs(sum_by(
            &mtd_df,
            tracked_mtd.clone(),
            &[k],
            "amount_micros",
            conv,
        )?))
    };
    let (by_provider, by_project, by_owner, by_gpu_type) = (
        by("provider")?,
        by("project")?,
        by("owner")?,
        by("gpu_type")?,
    );
    let mut by_resource = Vec::new();
    for (name, column) in [
        ("GPU", "gpu_micros"),
        ("CPU", "cpu_micros"),
        ("memory", "memory_micros"),
        ("storage", "storage_micros"),
    ] {
        let filter = tracked_mtd.clone().and(col(column).is_not_null());
        by_resource.push((name.to_string(), total(&mtd_df, filter, column, conv)?));
    }
    if by_resource.iter().all(|(_, a)| a.is_zero()) {
        by_resource.clear();
    }

    // Top pods: month to date, every pod (orphans marked).
    let top_pods = sum_by(
        &mtd_df,
        lit(true),
        &["provider", "target", "name", "project", "kind"],
        "amount_micros",
        conv,
    )?
    .into_iter()
    .take(10)
    .map(|(k, mtd)| {
        let get = |i: usize| k.get(i).cloned().unwrap_or_default();
        TopPod {
            provider: get(0),
            target: get(1),
            name: get(2),
            project: get(3),
            kind: get(4),
            mtd,
        }
    })
    .collect();

    let health = fleet
        .pods
        .iter()
        .filter_map(|p| {
            p.health.as_ref().map(|h| HealthRow {
                provider: p.provider.clone(),
                target: p.target.clone(),
                name: p.name.clone(),
                project: p.project.clone().unwrap_or_default(),
                status: p.status,
                replicas: h.replicas,
                health: h.health.clone(),
            })
        })
        .collect();

    // Actions.
    let planned: Vec<PlannedRow> = input
        .plan
        .map(|plan| {
            plan.actions
                .iter()
                .map(|a| PlannedRow {
                    provider: a.provider.clone(),
                    target: a.target.clone(),
                    action: a.action.to_string(),
                    policy: a.policy.clone(),
                    per_day: Money::new(a.est_savings_per_day, a.currency.clone()),
                })
                .collect()
        })
        .unwrap_or_default();
    let planned_total = per_day_of(planned.iter().map(|p| p.per_day.clone()), conv);
    let taken: Vec<TakenRow> = input
        .taken
        .iter()
        .map(|t| TakenRow {
            realised: Money::new(t.realised(input.now), t.currency.clone()),
            action: t.clone(),
        })
        .collect();
    let realised_total = per_day_of(taken.iter().map(|t| t.realised.clone()), conv);

    let wallets = fleet
        .wallets
        .iter()
        .map(|w| {
            let runway_hours = w.runway_hours();
            WalletRow {
                provider: w.provider.clone(),
                balance: w.balance.clone(),
                run_rate_per_hour: w.run_rate_per_hour.clone(),
                short: runway_hours.is_some_and(|h| h < Decimal::from(w.grace_period_hours)),
                runway_hours,
                grace_period_hours: w.grace_period_hours,
                below_threshold: w.balance.amount < w.low_balance_threshold.amount,
            }
        })
        .collect();

    // Both daily series from one group-by of the whole table (by date, provider and project),
    // folded into each series here: the group-by result is small, the table is not.
    let mut by_provider_day: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    let mut by_project_day: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    for (key, a) in sum_by(
        &df,
        lit(true),
        &["date", "provider", "project"],
        "amount_micros",
        conv,
    )? {
        let (Some(Ok(date)), Some(provider), Some(project)) = (
            key.first().map(|d| d.parse::<NaiveDate>()),
            key.get(1),
            key.get(2),
        ) else {
            continue;
        };
        *by_provider_day.entry((date, provider.clone())).or_default() += a.converted;
        *by_project_day.entry((date, project.clone())).or_default() += a.converted;
    }
    let points = |m: BTreeMap<(NaiveDate, String), Decimal>| -> Vec<DailyPoint> {
        m.into_iter()
            .map(|((date, label), amount)| DailyPoint {
                date,
                label,
                amount,
            })
            .collect()
    };
    Ok(Report {
        now: input.now,
        window,
        conversion: conv.clone(),
        headline,
        missing_rates,
        warnings,
        idle,
        orphans,
        by_provider,
        by_project,
        by_owner,
        by_gpu_type,
        by_resource,
        top_pods,
        health,
        plan_made: input.plan.is_some(),
        planned,
        planned_total,
        pending: input.pending.to_vec(),
        taken,
        realised_total,
        wallets,
        daily_by_provider: points(by_provider_day),
        daily_by_project: points(by_project_day),
        breakdown: crate::report::breakdown::rows(&df, &window, conv)?,
        spend: df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(items: &[(&str, &str, i64)]) -> Vec<(String, Money)> {
        items
            .iter()
            .map(|(t, c, a)| {
                (
                    t.to_string(),
                    Money::new(Decimal::new(*a, 2), Currency::new(c)),
                )
            })
            .collect()
    }

    fn order(mut r: Vec<(String, Money)>, conv: &Conversion) -> Vec<String> {
        sort_by_daily_cost(&mut r, conv, |x| &x.1, |x| &x.0);
        r.into_iter().map(|x| x.0).collect()
    }

    #[test]
    fn the_report_holds_only_the_rows_of_its_window() {
        let day = |s: &str| s.parse::<NaiveDate>().expect("date");
        let row = |date: &str, cents: i64| crate::fleet::CostRow {
            provider: "podstack".into(),
            date: day(date),
            pod_id: "pd_a".into(),
            worker_id: None,
            project: Some("research".into()),
            amount: Money::new(Decimal::new(cents, 2), Currency::usd()),
            hours: None,
            by_resource: None,
        };
        // The window at 2026-11-21: 2026-10-01 to 2026-11-21.
        let fleet = Fleet {
            taken_at: "2026-11-25T00:00:00Z".parse().expect("instant"),
            providers: vec![],
            pods: vec![],
            costs: vec![
                row("2026-09-30", 100_000),
                row("2026-10-01", 10_00),
                row("2026-11-21", 1_00),
                row("2026-11-22", 10_000_000),
            ],
            wallets: vec![],
            idle_costs: vec![],
            facts: Default::default(),
        };
        let conv = Conversion::default();
        let report = build(&Input {
            fleet: &fleet,
            plan: None,
            taken: &[],
            pending: &[],
            conversion: &conv,
            now: "2026-11-21T02:00:00Z".parse().expect("instant"),
        })
        .expect("builds");
        let dates = report
            .spend
            .column("date")
            .expect("date")
            .str()
            .expect("str")
            .clone();
        let dates: Vec<Option<&str>> = (0..dates.len()).map(|i| dates.get(i)).collect();
        assert_eq!(dates, [Some("2026-10-01"), Some("2026-11-21")]);
        assert_eq!(report.headline.mtd_tracked.converted, Decimal::new(1_00, 2));
        assert_eq!(
            report.headline.last_month_total.converted,
            Decimal::new(10_00, 2)
        );
        let drawn: Decimal = report.daily_by_provider.iter().map(|p| p.amount).sum();
        assert_eq!(
            drawn,
            Decimal::new(11_00, 2),
            "the chart draws the same rows"
        );
    }

    #[test]
    fn daily_costs_sort_by_converted_amount_then_per_unconverted_currency() {
        // ₹4,968.00 a day is $59.52 at 0.01198: less than $59.76, though the raw number is larger.
        let pods = rows(&[
            ("inr_small", "INR", 496_800),
            ("usd_mid", "USD", 5_976),
            ("usd_big", "USD", 8_400),
            ("eur", "EUR", 9_000),
            ("inr_big", "INR", 720_000),
        ]);
        let with_rate = Conversion {
            report: Currency::usd(),
            rates: [(Currency::new("INR"), Decimal::new(1198, 5))].into(),
            rates_set: None,
        };
        // INR converted: inr_big $86.256 > usd_big $84 > usd_mid $59.76 > inr_small $59.52;
        // EUR has no rate: after every converted row.
        assert_eq!(
            order(pods.clone(), &with_rate),
            ["inr_big", "usd_big", "usd_mid", "inr_small", "eur"]
        );
        // No INR rate: USD first, then each unconverted currency apart (EUR, INR), raw amounts.
        assert_eq!(
            order(pods, &Conversion::default()),
            ["usd_big", "usd_mid", "eur", "inr_big", "inr_small"]
        );
    }
}
