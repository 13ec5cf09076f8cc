//! The spend table: one row per pod per day, every dimension joined from the fleet and the
//! plan, amounts exact (a string decimal and integer micro-units in the row's currency, plus
//! micro-units in the report currency when a rate exists).
//!
//! A row is **orphan** spend (outside the tracked total) when the pod is an orphan in the
//! fleet, or when a provider that bills per worker (Argus) billed it without one (`worker_id`
//! null on that day). Rows of pods no longer in the fleet keep the dimensions the cost row
//! itself carries.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::fleet::{Activity, CostRow, Fleet, Pod, PodStatus, ResourceKind};
use crate::money::{decimal_to_micros, micros_to_decimal, Currency};
use crate::plan::Plan;
use crate::report::currency::{Amounts, Conversion};

/// The columns of `spend.csv` / `spend.parquet`, in order.
pub const COLUMNS: &[&str] = &[
    "date",
    "provider",
    "kind",
    "tracked",
    "target",
    "pod_id",
    "name",
    "project",
    "owner",
    "gpu_type",
    "gpu_count",
    "region",
    "status",
    "idle_now",
    "planned_action",
    "planned_policy",
    "hours",
    "currency",
    "amount",
    "amount_micros",
    "report_currency",
    "report_amount_micros",
    "gpu_micros",
    "cpu_micros",
    "memory_micros",
    "storage_micros",
];

/// A string column filled row by row straight into polars' buffers: no per-row `String` and
/// no intermediate `Vec` (a 9-million-row table would otherwise hold each column twice).
struct Strings(StringChunkedBuilder);

impl Strings {
    fn new(name: &str, n: usize) -> Self {
        Strings(StringChunkedBuilder::new(name.into(), n))
    }
    fn push(&mut self, v: Option<&str>) {
        self.0.append_option(v);
    }
    fn column(self) -> Column {
        self.0.finish().into_column()
    }
}

/// An integer column with nulls, filled the same way.
struct Ints(PrimitiveChunkedBuilder<Int64Type>);

impl Ints {
    fn new(name: &str, n: usize) -> Self {
        Ints(PrimitiveChunkedBuilder::new(name.into(), n))
    }
    fn push(&mut self, v: Option<i64>) {
        self.0.append_option(v);
    }
    fn column(self) -> Column {
        self.0.finish().into_column()
    }
}

/// A cost row's pod and planned action, looked up by (provider, pod id): what the spend table
/// and the FOCUS export both join each row with.
pub struct Lookup<'a> {
    pub pods: HashMap<(&'a str, &'a str), &'a Pod>,
    /// (action, policy) planned for the pod this run.
    pub planned: HashMap<(&'a str, &'a str), (&'a str, &'a str)>,
}

impl<'a> Lookup<'a> {
    pub fn new(fleet: &'a Fleet, plan: Option<&'a Plan>) -> Self {
        Lookup {
            pods: fleet
                .pods
                .iter()
                .map(|p| ((p.provider.as_str(), p.pod_id.as_str()), p))
                .collect(),
            planned: plan
                .map(|p| {
                    p.actions
                        .iter()
                        .map(|a| {
                            (
                                (a.provider.as_str(), a.pod_id.as_str()),
                                (a.action.as_str(), a.policy.as_str()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Builds the spend table of the cost rows `costs` (the report's: those of `fleet` inside its
/// window, see [`crate::report::build::cost_rows`]), joined with `fleet`'s pods.
///
/// Built for size (100 000 pods × 90 days is 9 million rows): columns are filled directly,
/// dates are formatted once per distinct day, decimals are formatted into one reused buffer,
/// a pod's dimensions are looked up once per run of its rows, and the report currency is a
/// scalar column.
pub fn frame<'a>(
    costs: impl Iterator<Item = &'a CostRow> + Clone,
    fleet: &'a Fleet,
    plan: Option<&'a Plan>,
    conv: &Conversion,
) -> PolarsResult<DataFrame> {
    frame_with(&Lookup::new(fleet, plan), costs, fleet, conv, Columns::All)
}

/// Which columns [`frames`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Every column of [`COLUMNS`]: `spend.csv`, `spend.parquet`.
    All,
    /// Only those the report's figures read (`report::tables`): the dimensions, the
    /// currency and the micro-unit amounts, without the text amounts (formatting a decimal
    /// per row is most of the table's cost).
    Figures,
}

/// Rows per part of [`frames`] (262 144): tens of MB of spend table per part, so that even
/// one part per core in flight stays small.
pub const ROWS_PER_FRAME: usize = 1 << 18;

/// The spend table of `costs` as [`frame`] builds it, in parts of at most `rows` rows
/// (always at least one part, empty when there are no rows), so that a caller that reduces
/// or writes each part in turn holds one part at a time.
pub fn frames<'a>(
    costs: impl Iterator<Item = &'a CostRow> + 'a,
    fleet: &'a Fleet,
    plan: Option<&'a Plan>,
    conv: &'a Conversion,
    rows: usize,
    columns: Columns,
) -> impl Iterator<Item = PolarsResult<DataFrame>> + 'a {
    let lookup = Lookup::new(fleet, plan);
    let mut costs = costs.peekable();
    let mut first = true;
    std::iter::from_fn(move || {
        if !first && costs.peek().is_none() {
            return None;
        }
        first = false;
        let part: Vec<&CostRow> = costs.by_ref().take(rows.max(1)).collect();
        Some(frame_with(
            &lookup,
            part.iter().copied(),
            fleet,
            conv,
            columns,
        ))
    })
}

/// [`frame`] with a [`Lookup`] built once for many parts, and only `columns`.
pub fn frame_with<'a>(
    lookup: &Lookup<'a>,
    costs: impl Iterator<Item = &'a CostRow> + Clone,
    fleet: &'a Fleet,
    conv: &Conversion,
    columns: Columns,
) -> PolarsResult<DataFrame> {
    let Lookup { pods, planned } = lookup;
    let days: HashMap<NaiveDate, String> = costs
        .clone()
        .map(|c| c.date)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|d| (d, d.to_string()))
        .collect();
    let n = costs.clone().count();
    let mut date = Strings::new("date", n);
    let mut provider = Strings::new("provider", n);
    let mut kind = Strings::new("kind", n);
    let mut tracked: Vec<bool> = Vec::with_capacity(n);
    let mut target = Strings::new("target", n);
    let mut pod_id = Strings::new("pod_id", n);
    let mut name = Strings::new("name", n);
    let mut project = Strings::new("project", n);
    let mut owner = Strings::new("owner", n);
    let mut gpu_type = Strings::new("gpu_type", n);
    let mut gpu_count = Ints::new("gpu_count", n);
    let mut region = Strings::new("region", n);
    let mut status = Strings::new("status", n);
    let mut idle_now: Vec<bool> = Vec::with_capacity(n);
    let mut planned_action = Strings::new("planned_action", n);
    let mut planned_policy = Strings::new("planned_policy", n);
    let mut hours = Strings::new("hours", n);
    let mut currency = Strings::new("currency", n);
    let mut amount = Strings::new("amount", n);
    let mut micros: Vec<i64> = Vec::with_capacity(n);
    let mut report_micros = Ints::new("report_amount_micros", n);
    let mut parts = [
        Ints::new("gpu_micros", n),
        Ints::new("cpu_micros", n),
        Ints::new("memory_micros", n),
        Ints::new("storage_micros", n),
    ];
    // The few currencies seen, with their rates (a linear search beats hashing each row's).
    let mut rates: Vec<(&Currency, Option<rust_decimal::Decimal>)> = Vec::new();
    type Dims<'a> = (
        &'a str,
        &'a str,
        Option<&'a Pod>,
        Option<&'a (&'a str, &'a str)>,
    );
    let mut last: Option<Dims<'_>> = None;
    let mut buf = String::with_capacity(32);
    for c in costs {
        let (pod, plan) = match last {
            Some((p, id, pod, plan)) if p == c.provider && id == c.pod_id => (pod, plan),
            _ => {
                let key = (c.provider.as_str(), c.pod_id.as_str());
                let found = (pods.get(&key).copied(), planned.get(&key));
                last = Some((key.0, key.1, found.0, found.1));
                found
            }
        };
        let orphan = is_orphan_spend(c, pod, fleet);
        date.push(days.get(&c.date).map(String::as_str));
        provider.push(Some(&c.provider));
        kind.push(Some(if orphan { "orphan" } else { "pod" }));
        tracked.push(!orphan);
        target.push(Some(
            pod.map(|p| p.target.as_str())
                .or(c.worker_id.as_deref())
                .unwrap_or(c.pod_id.as_str()),
        ));
        pod_id.push(Some(&c.pod_id));
        name.push(pod.map(|p| p.name.as_str()));
        project.push(
            c.project
                .as_deref()
                .or_else(|| pod.and_then(|p| p.project.as_deref())),
        );
        owner.push(pod.and_then(|p| p.owner.as_deref()));
        gpu_type.push(pod.and_then(|p| p.gpu_type.as_deref()));
        currency.push(Some(c.amount.currency.as_str()));
        let m = c.amount.micros();
        micros.push(m);
        if columns == Columns::All {
            gpu_count.push(pod.map(|p| i64::from(p.gpu_count)));
            region.push(pod.and_then(|p| p.region.as_deref()));
            status.push(Some(pod.map_or("gone", |p| p.status.as_str())));
            idle_now.push(pod.is_some_and(is_idle));
            planned_action.push(plan.map(|p| p.0));
            planned_policy.push(plan.map(|p| p.1));
            match c.hours {
                Some(h) => {
                    buf.clear();
                    let _ = write!(buf, "{}", h.normalize());
                    hours.push(Some(&buf));
                }
                None => hours.push(None),
            }
            buf.clear();
            let _ = write!(buf, "{}", c.amount.amount);
            amount.push(Some(&buf));
            let rate = match rates.iter().find(|(k, _)| **k == c.amount.currency) {
                Some((_, r)) => *r,
                None => {
                    let r = conv.rate(&c.amount.currency);
                    rates.push((&c.amount.currency, r));
                    r
                }
            };
            report_micros.push(rate.map(|r| {
                if r == rust_decimal::Decimal::ONE {
                    m
                } else {
                    decimal_to_micros(c.amount.amount * r)
                }
            }));
        }
        let b = c.by_resource.as_ref();
        parts[0].push(b.map(|b| decimal_to_micros(b.gpu)));
        parts[1].push(b.map(|b| decimal_to_micros(b.cpu)));
        parts[2].push(b.map(|b| decimal_to_micros(b.memory)));
        parts[3].push(b.map(|b| decimal_to_micros(b.storage)));
    }
    let [gpu, cpu, memory, storage] = parts;
    let report_currency = Column::new_scalar(
        "report_currency".into(),
        Scalar::new(
            DataType::String,
            AnyValue::StringOwned(conv.report.as_str().into()),
        ),
        n,
    );
    // Every column in [`COLUMNS`] order, each marked with whether the figures read it; the
    // others were left empty for `Columns::Figures` and are dropped here.
    let all = [
        (true, date.column()),
        (true, provider.column()),
        (true, kind.column()),
        (true, Column::new("tracked".into(), tracked)),
        (true, target.column()),
        (true, pod_id.column()),
        (true, name.column()),
        (true, project.column()),
        (true, owner.column()),
        (true, gpu_type.column()),
        (false, gpu_count.column()),
        (false, region.column()),
        (false, status.column()),
        (false, Column::new("idle_now".into(), idle_now)),
        (false, planned_action.column()),
        (false, planned_policy.column()),
        (false, hours.column()),
        (true, currency.column()),
        (false, amount.column()),
        (true, Column::new("amount_micros".into(), micros)),
        (false, report_currency),
        (false, report_micros.column()),
        (true, gpu.column()),
        (true, cpu.column()),
        (true, memory.column()),
        (true, storage.column()),
    ];
    let kept = all
        .into_iter()
        .filter(|(figures_read, _)| *figures_read || columns == Columns::All)
        .map(|(_, c)| c)
        .collect();
    DataFrame::new(n, kept)
}

/// Whether cost row `c` of `fleet` is orphan spend (outside the tracked total): its pod
/// (`pod`, when the fleet has it) is an orphan, or its provider's rows name the worker each
/// pod billed under ([`crate::fleet::ProviderFacts::cost_rows_per_worker`]) and this one
/// names none.
pub fn is_orphan_spend(c: &CostRow, pod: Option<&Pod>, fleet: &Fleet) -> bool {
    pod.is_some_and(|p| p.kind == ResourceKind::Orphan)
        || (c.worker_id.is_none() && fleet.facts_of(&c.provider).cost_rows_per_worker)
}

/// Whether a pod is running and idle now.
pub fn is_idle(p: &Pod) -> bool {
    p.status == PodStatus::Running && matches!(p.activity, Activity::Idle { .. })
}

/// Sums `value` (a micro-units column) of the rows where `filter` holds, per `keys` and
/// currency (exact integer sums in polars), and converts each group with `conv`. Groups come
/// back largest first (by the converted amount), then by key.
pub fn sum_by(
    df: &DataFrame,
    filter: Expr,
    keys: &[&str],
    value: &str,
    conv: &Conversion,
) -> PolarsResult<Vec<(Vec<String>, Amounts)>> {
    let mut by: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    by.push(col("currency"));
    // Keys as text (booleans and numbers as they print), read through typed arrays: a
    // group-by of every pod has 100 000 groups, too many to read value by value.
    let mut select: Vec<Expr> = keys
        .iter()
        .map(|k| col(*k).cast(DataType::String))
        .collect();
    select.extend([col("currency"), col("sum")]);
    let out = df
        .clone()
        .lazy()
        .filter(filter)
        .group_by(by)
        .agg([col(value).sum().alias("sum")])
        .select(select)
        .collect()?;
    let key_cols: Vec<StringChunked> = keys
        .iter()
        .map(|k| Ok(out.column(k)?.str()?.rechunk().into_owned()))
        .collect::<PolarsResult<_>>()?;
    let currency = out.column("currency")?.str()?.rechunk().into_owned();
    let sums = out.column("sum")?.i64()?.rechunk().into_owned();
    let mut groups: BTreeMap<Vec<String>, BTreeMap<Currency, rust_decimal::Decimal>> =
        BTreeMap::new();
    for i in 0..out.height() {
        let key: Vec<String> = key_cols
            .iter()
            .map(|c| c.get(i).unwrap_or("(none)").to_string())
            .collect();
        let (Some(c), Some(m)) = (currency.get(i), sums.get(i)) else {
            continue;
        };
        *groups
            .entry(key)
            .or_default()
            .entry(Currency::new(c))
            .or_default() += micros_to_decimal(m);
    }
    let mut rows: Vec<(Vec<String>, Amounts)> = groups
        .into_iter()
        .map(|(k, sums)| (k, conv.amounts(&sums)))
        .collect();
    rows.sort_by(|a, b| rank(&a.1).cmp(&rank(&b.1)).then(a.0.cmp(&b.0)));
    Ok(rows)
}

/// Largest first, comparably across currencies (as [`crate::report::build::sort_by_daily_cost`]
/// ranks single amounts): groups with a converted amount by it; then the groups only in
/// currencies without a rate, each currency apart (by code), by its raw amount.
fn rank(
    a: &Amounts,
) -> (
    bool,
    Option<&Currency>,
    std::cmp::Reverse<rust_decimal::Decimal>,
) {
    let raw = a.unconverted.iter().find(|(_, x)| !x.is_zero());
    match raw {
        Some((c, x)) if a.converted.is_zero() => (true, Some(c), std::cmp::Reverse(*x)),
        _ => (false, None, std::cmp::Reverse(a.converted)),
    }
}

/// The total of `value` over the rows where `filter` holds.
pub fn total(
    df: &DataFrame,
    filter: Expr,
    value: &str,
    conv: &Conversion,
) -> PolarsResult<Amounts> {
    let mut out = Amounts::zero(conv.report.clone());
    for (_, a) in sum_by(df, filter, &[], value, conv)? {
        out.merge(&a);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_in_a_currency_without_a_rate_rank_by_their_own_amount() {
        let df = df!(
            "project" => ["a", "b", "x-big-inr", "a-small-inr"],
            "currency" => ["USD", "USD", "INR", "INR"],
            "amount_micros" => [2_000_000i64, 1_000_000, 900_000_000, 5_000_000],
        )
        .expect("frame");
        let order: Vec<String> = sum_by(
            &df,
            lit(true),
            &["project"],
            "amount_micros",
            &Conversion::default(),
        )
        .expect("sums")
        .into_iter()
        .map(|(k, _)| k.join("/"))
        .collect();
        // Converted first (USD), then INR by its raw amount, not by name.
        assert_eq!(order, ["a", "b", "x-big-inr", "a-small-inr"]);
    }
}
