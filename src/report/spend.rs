//! The spend table: one row per pod per day, every dimension joined from the fleet and the
//! plan, amounts exact (a string decimal and integer micro-units in the row's currency, plus
//! micro-units in the report currency when a rate exists).
//!
//! A row is **orphan** spend (outside the tracked total) when the pod is an orphan in the
//! fleet, or when Argus billed it without a worker (`worker_id` null on that day). Rows of
//! pods no longer in the fleet keep the dimensions the cost row itself carries.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::fleet::{Activity, Fleet, Pod, PodStatus, ResourceKind};
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

/// Builds the spend table of `fleet`'s cost rows.
pub fn frame(fleet: &Fleet, plan: Option<&Plan>, conv: &Conversion) -> PolarsResult<DataFrame> {
    let pods: HashMap<(&str, &str), &Pod> = fleet
        .pods
        .iter()
        .map(|p| ((p.provider.as_str(), p.pod_id.as_str()), p))
        .collect();
    let planned: HashMap<(&str, &str), (&str, &str)> = plan
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
        .unwrap_or_default();
    let n = fleet.costs.len();
    let mut date = Vec::with_capacity(n);
    let mut provider = Vec::with_capacity(n);
    let mut kind = Vec::with_capacity(n);
    let mut tracked = Vec::with_capacity(n);
    let mut target = Vec::with_capacity(n);
    let mut pod_id = Vec::with_capacity(n);
    let mut name: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut project: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut owner: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut gpu_type: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut gpu_count: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut region: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut status: Vec<&str> = Vec::with_capacity(n);
    let mut idle_now = Vec::with_capacity(n);
    let mut planned_action: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut planned_policy: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut hours: Vec<Option<String>> = Vec::with_capacity(n);
    let mut currency = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);
    let mut micros = Vec::with_capacity(n);
    let mut report_micros: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut parts: [Vec<Option<i64>>; 4] = Default::default();
    let mut rates: HashMap<&Currency, Option<rust_decimal::Decimal>> = HashMap::new();
    for c in &fleet.costs {
        let pod = pods.get(&(c.provider.as_str(), c.pod_id.as_str())).copied();
        let orphan = is_orphan_spend(c, pod);
        date.push(c.date.to_string());
        provider.push(c.provider.as_str());
        kind.push(if orphan { "orphan" } else { "pod" });
        tracked.push(!orphan);
        target.push(
            pod.map(|p| p.target.as_str())
                .or(c.worker_id.as_deref())
                .unwrap_or(c.pod_id.as_str()),
        );
        pod_id.push(c.pod_id.as_str());
        name.push(pod.map(|p| p.name.as_str()));
        project.push(
            c.project
                .as_deref()
                .or_else(|| pod.and_then(|p| p.project.as_deref())),
        );
        owner.push(pod.and_then(|p| p.owner.as_deref()));
        gpu_type.push(pod.and_then(|p| p.gpu_type.as_deref()));
        gpu_count.push(pod.map(|p| i64::from(p.gpu_count)));
        region.push(pod.and_then(|p| p.region.as_deref()));
        status.push(pod.map_or("gone", |p| p.status.as_str()));
        idle_now.push(pod.is_some_and(is_idle));
        let plan = planned.get(&(c.provider.as_str(), c.pod_id.as_str()));
        planned_action.push(plan.map(|p| p.0));
        planned_policy.push(plan.map(|p| p.1));
        hours.push(c.hours.map(|h| h.normalize().to_string()));
        currency.push(c.amount.currency.as_str());
        amount.push(c.amount.amount.to_string());
        micros.push(c.amount.micros());
        let rate = *rates
            .entry(&c.amount.currency)
            .or_insert_with(|| conv.rate(&c.amount.currency));
        report_micros.push(rate.map(|r| decimal_to_micros(c.amount.amount * r)));
        let b = c.by_resource.as_ref();
        parts[0].push(b.map(|b| decimal_to_micros(b.gpu)));
        parts[1].push(b.map(|b| decimal_to_micros(b.cpu)));
        parts[2].push(b.map(|b| decimal_to_micros(b.memory)));
        parts[3].push(b.map(|b| decimal_to_micros(b.storage)));
    }
    let [gpu, cpu, memory, storage] = parts;
    let report_currency = vec![conv.report.as_str(); n];
    DataFrame::new(
        n,
        vec![
            Column::new("date".into(), date),
            Column::new("provider".into(), provider),
            Column::new("kind".into(), kind),
            Column::new("tracked".into(), tracked),
            Column::new("target".into(), target),
            Column::new("pod_id".into(), pod_id),
            Column::new("name".into(), name),
            Column::new("project".into(), project),
            Column::new("owner".into(), owner),
            Column::new("gpu_type".into(), gpu_type),
            Column::new("gpu_count".into(), gpu_count),
            Column::new("region".into(), region),
            Column::new("status".into(), status),
            Column::new("idle_now".into(), idle_now),
            Column::new("planned_action".into(), planned_action),
            Column::new("planned_policy".into(), planned_policy),
            Column::new("hours".into(), hours),
            Column::new("currency".into(), currency),
            Column::new("amount".into(), amount),
            Column::new("amount_micros".into(), micros),
            Column::new("report_currency".into(), report_currency),
            Column::new("report_amount_micros".into(), report_micros),
            Column::new("gpu_micros".into(), gpu),
            Column::new("cpu_micros".into(), cpu),
            Column::new("memory_micros".into(), memory),
            Column::new("storage_micros".into(), storage),
        ],
    )
}

/// Whether cost row `c` is orphan spend (outside the tracked total): its pod (`pod`, when the
/// fleet has it) is an orphan, or the provider billed it per worker and named none that day.
pub fn is_orphan_spend(c: &crate::fleet::CostRow, pod: Option<&Pod>) -> bool {
    pod.is_some_and(|p| p.kind == ResourceKind::Orphan)
        || (c.worker_id.is_none() && billed_per_worker(c))
}

/// Whether the provider bills pods by worker (Argus: its rows carry billed hours and name the
/// worker, `null` for an orphan). Podstack rows carry a resource breakdown and never a worker.
fn billed_per_worker(c: &crate::fleet::CostRow) -> bool {
    c.hours.is_some() && c.by_resource.is_none()
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
    let out = df
        .clone()
        .lazy()
        .filter(filter)
        .group_by(by)
        .agg([col(value).sum().alias("sum")])
        .collect()?;
    let key_cols: Vec<Column> = keys
        .iter()
        .map(|k| out.column(k).cloned())
        .collect::<PolarsResult<_>>()?;
    let currency = out.column("currency")?.str()?.clone();
    let sums = out.column("sum")?.i64()?.clone();
    let mut groups: BTreeMap<Vec<String>, BTreeMap<Currency, rust_decimal::Decimal>> =
        BTreeMap::new();
    for i in 0..out.height() {
        let key: Vec<String> = key_cols
            .iter()
            .map(|c| match c.get(i) {
                Ok(AnyValue::Null) | Err(_) => "(none)".to_string(),
                Ok(AnyValue::String(s)) => s.to_string(),
                Ok(AnyValue::StringOwned(s)) => s.to_string(),
                Ok(v) => v.to_string(),
            })
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
    rows.sort_by(|a, b| b.1.converted.cmp(&a.1.converted).then(a.0.cmp(&b.0)));
    Ok(rows)
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
