//! The report as data: a pure function of (fleet, plan, past actions, pending notices,
//! conversion, clock). Every renderer (Markdown, HTML, CSV, Parquet, FOCUS) reads this.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::fleet::{Activity, CostRow, Fleet, PodStatus, ResourceKind};
use crate::money::{Currency, Money};
use crate::plan::Plan;
use crate::report::currency::{Amounts, Conversion};
use crate::report::inputs::{PendingNotice, TakenAction};
use crate::report::settings::ReportSettings;
use crate::report::spend::is_idle;
pub use crate::report::tables::{DailyPoint, TopPod};
use crate::report::tables::{Figures, Reduced};
use crate::report::window::Window;

/// Everything the report is built from.
pub struct Input<'a> {
    pub fleet: &'a Fleet,
    pub plan: Option<&'a Plan>,
    pub taken: &'a [TakenAction],
    pub pending: &'a [PendingNotice],
    pub conversion: &'a Conversion,
    /// `[report]`: rows per table, projects with a section of their own.
    pub settings: &'a ReportSettings,
    pub now: DateTime<Utc>,
}

/// The headline figures, in the report currency (unconverted currencies apart).
#[derive(Debug, Clone)]
pub struct Headline {
    /// Month to date, orphans excluded.
    pub mtd_tracked: Amounts,
    /// `mtd_tracked` plus today's tracked burn rate for the rest of today
    /// (`hours_left_today`) and each day left in the month after it.
    pub forecast: Amounts,
    /// Whole hours from the start of the report's hour to the end of its (UTC) day: the part
    /// of today that no cost row holds yet (providers bill whole hours) and the forecast adds
    /// at the burn rate.
    pub hours_left_today: Decimal,
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
    /// The pod's project (`(none)` without one).
    pub project: String,
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

/// A project's own section (`[report] projects`): its figures, picked from the report's.
#[derive(Debug, Clone)]
pub struct ProjectSection {
    pub name: String,
    /// Tracked month to date.
    pub mtd: Amounts,
    /// Its pods by month to date, largest first.
    pub top_pods: Vec<TopPod>,
    pub idle: Vec<IdlePod>,
    pub planned: Vec<PlannedRow>,
}

/// The spend report.
pub struct Report {
    pub now: DateTime<Utc>,
    pub window: Window,
    pub conversion: Conversion,
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
    /// Rows each table shows before summing the rest (`[report] top`).
    pub top: usize,
    /// The projects `[report] projects` asks a section for, in that order.
    pub projects: Vec<ProjectSection>,
    /// Spend per provider, project, owner, kind and currency (`summary-by-project.csv`).
    pub breakdown: Vec<crate::report::breakdown::Row>,
}

fn per_day_of(pods: impl Iterator<Item = Money>, conv: &Conversion) -> Amounts {
    let mut out = Amounts::zero(conv.report.clone());
    for m in pods {
        out.add(conv, &m.currency, m.amount);
    }
    out
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
    // The spend table, built a part at a time and reduced as it goes (see `report::tables`):
    // every figure below reads the two small reduced frames, never the table itself.
    let figures =
        Reduced::of_cost_rows(cost_rows(fleet, &window), fleet, input.plan, conv, &window)?
            .figures(&window, conv)?;
    let Figures {
        mtd_tracked,
        last_month_same_period,
        last_month_total,
        mtd_orphans,
        by_provider,
        by_project,
        by_owner,
        by_gpu_type,
        by_resource,
        top_pods,
        orphan_mtd,
        daily_by_provider,
        daily_by_project,
        breakdown,
    } = figures;
    let (lm_from, lm_to) = window.last_month_same_period();
    let running = |k: ResourceKind| {
        fleet
            .pods
            .iter()
            .filter(move |p| p.kind == k && p.status == PodStatus::Running)
    };
    let burn_per_day = per_day_of(running(ResourceKind::Pod).map(|p| p.daily_rate()), conv);
    // Today's cost rows hold only what was billed so far (whole hours at most): the rest of
    // today is counted at the burn rate, then every day after it.
    let end_of_today = (window.today + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(input.now);
    // Providers bill whole hours, so today's rows hold the hours before the current one: the
    // rest of today is counted from the start of that hour (of the later of the report's
    // instant and the fleet's: a replay at an earlier `--now` holds today's rows as billed
    // when the snapshot was taken). Whole hours also keep two reports of the same hour equal.
    let billed_to = input.now.max(fleet.taken_at);
    let whole_hour = billed_to
        .date_naive()
        .and_hms_opt(billed_to.hour(), 0, 0)
        .map_or(billed_to, |t| t.and_utc());
    let hours_left_today = Decimal::from((end_of_today - whole_hour).num_hours().clamp(0, 24));
    let mut forecast = mtd_tracked.clone();
    forecast.merge(
        &burn_per_day
            .times(Decimal::from(window.days_left()) + hours_left_today / Decimal::from(24)),
    );
    let headline = Headline {
        mtd_orphans,
        running_orphans: running(ResourceKind::Orphan).count(),
        orphan_burn_per_day: per_day_of(
            running(ResourceKind::Orphan).map(|p| p.daily_rate()),
            conv,
        ),
        mtd_tracked,
        forecast,
        hours_left_today,
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
    let mut idle_by_project: BTreeMap<String, Amounts> = BTreeMap::new();
    for p in &idle_pods {
        idle_by_project
            .entry(p.project.clone())
            .or_insert_with(|| Amounts::zero(conv.report.clone()))
            .add(conv, &p.per_day.currency, p.per_day.amount);
    }
    let mut idle_by_project: Vec<(String, Amounts)> = idle_by_project.into_iter().collect();
    idle_by_project.sort_by(|a, b| b.1.converted.cmp(&a.1.converted).then(a.0.cmp(&b.0)));
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
    // Largest first (the sections show the first `[report] top`): by podwarden's $/day where
    // it has one, else the provider's.
    let mut keyed: Vec<(Money, IdleDifference)> = differences
        .into_iter()
        .map(|x| {
            let by = x.ours.clone().or_else(|| x.theirs.clone());
            (
                by.unwrap_or_else(|| Money::new(Decimal::ZERO, conv.report.clone())),
                x,
            )
        })
        .collect();
    sort_by_daily_cost(&mut keyed, conv, |k| &k.0, |k| &k.1.target);
    let differences: Vec<IdleDifference> = keyed.into_iter().map(|(_, x)| x).collect();
    let idle = IdleBurn {
        pods: idle_pods,
        total_per_day,
        by_project: idle_by_project,
        checked_against,
        differences,
    };

    // Orphans.
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
    let project_of: std::collections::HashMap<(&str, &str), &str> = fleet
        .pods
        .iter()
        .filter_map(|p| {
            Some((
                (p.provider.as_str(), p.pod_id.as_str()),
                p.project.as_deref()?,
            ))
        })
        .collect();
    let planned: Vec<PlannedRow> = input
        .plan
        .map(|plan| {
            plan.actions
                .iter()
                .map(|a| PlannedRow {
                    provider: a.provider.clone(),
                    target: a.target.clone(),
                    project: project_of
                        .get(&(a.provider.as_str(), a.pod_id.as_str()))
                        .map_or_else(|| "(none)".into(), |p| p.to_string()),
                    action: a.action.to_string(),
                    policy: a.policy.clone(),
                    per_day: Money::new(a.est_savings_per_day, a.currency.clone()),
                })
                .collect()
        })
        .unwrap_or_default();
    // Largest saving first: the sections show the first `[report] top` and sum the rest.
    let mut planned = planned;
    sort_by_daily_cost(&mut planned, conv, |p| &p.per_day, |p| &p.target);
    let planned_total = per_day_of(planned.iter().map(|p| p.per_day.clone()), conv);
    let taken: Vec<TakenRow> = input
        .taken
        .iter()
        .map(|t| TakenRow {
            realised: Money::new(t.realised(input.now), t.currency.clone()),
            action: t.clone(),
        })
        .collect();
    // Newest first: the sections show the first `[report] top` and sum the rest.
    let mut taken = taken;
    taken.sort_by_key(|t| std::cmp::Reverse(t.action.at));
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

    let projects = input
        .settings
        .projects
        .iter()
        .map(|name| ProjectSection {
            name: name.clone(),
            mtd: by_project
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| Amounts::zero(conv.report.clone())),
            top_pods: top_pods
                .iter()
                .filter(|p| &p.project == name)
                .cloned()
                .collect(),
            idle: idle
                .pods
                .iter()
                .filter(|p| &p.project == name)
                .cloned()
                .collect(),
            planned: planned
                .iter()
                .filter(|p| &p.project == name)
                .cloned()
                .collect(),
        })
        .collect();
    Ok(Report {
        top: input.settings.top,
        projects,
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
        daily_by_provider,
        daily_by_project,
        breakdown,
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
            settings: &ReportSettings::default(),
            now: "2026-11-21T02:00:00Z".parse().expect("instant"),
        })
        .expect("builds");
        let spend =
            crate::report::spend::frame(cost_rows(&fleet, &report.window), &fleet, None, &conv)
                .expect("spend table");
        let dates = spend
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

    /// The report of one running pod at $1/h and no cost rows, its fleet taken at
    /// `taken_at`, made at `now`.
    fn one_pod_report(taken_at: &str, now: &str) -> Report {
        let fleet = Fleet {
            taken_at: taken_at.parse().expect("instant"),
            providers: vec![],
            pods: vec![crate::fleet::samples::pod("a")],
            costs: vec![],
            wallets: vec![],
            idle_costs: vec![],
            facts: Default::default(),
        };
        build(&Input {
            fleet: &fleet,
            plan: None,
            taken: &[],
            pending: &[],
            conversion: &Conversion::default(),
            settings: &ReportSettings::default(),
            now: now.parse().expect("instant"),
        })
        .expect("builds")
    }

    #[test]
    fn the_forecast_counts_the_rest_of_today_and_every_day_after_it() {
        // At 18:40 on 2026-11-21 today's rows hold the hours to 18:00: 6 h of today and 9
        // days after it are left, $6 + 9 × $24 = $222.
        let report = one_pod_report("2026-11-21T18:40:00Z", "2026-11-21T18:40:00Z");
        assert_eq!(report.headline.forecast.converted, Decimal::from(222));
        assert_eq!(report.headline.hours_left_today, Decimal::from(6));
        let md = crate::report::markdown::render(&report);
        assert!(
            md.contains("for the rest of today, 6 h, and the 9 days after it"),
            "{md}"
        );
    }

    #[test]
    fn a_replay_before_its_snapshot_counts_the_rest_of_today_from_the_snapshot() {
        // Snapshot at 18:00, replayed at 06:00: today's rows hold billing to 18:00, so only
        // 6 h of today are left to add, not 18.
        let report = one_pod_report("2026-11-21T18:00:00Z", "2026-11-21T06:00:00Z");
        assert_eq!(report.headline.hours_left_today, Decimal::from(6));
        assert_eq!(report.headline.forecast.converted, Decimal::from(222));
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
