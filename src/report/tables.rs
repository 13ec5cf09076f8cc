//! The spend table reduced to what the report's figures read, part by part, so that the
//! table is never held whole (100 000 pods × 90 days is 9 million rows).
//!
//! [`reduce`] folds any part of the spend table (a frame built in memory, a slice of
//! `spend.parquet`) into two small frames, [`Reduced::sum`] sums parts, and the report reads
//! every figure from the sum (`report::build`). The sums are exact integer micro-units, and a
//! pod's rows split between two parts are summed back into one group, so no figure depends on
//! where the table was cut. The sizes are those of the fleet (a row per pod and period) and of
//! the calendar (a row per day, provider, project and currency), not of pods × days.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::fleet::{CostRow, Fleet};
use crate::plan::Plan;
use crate::report::currency::{Amounts, Conversion};
use crate::report::spend::{self, sum_by, total, Columns};
use crate::report::window::Window;

/// The keys of [`Reduced::per_pod`]: a pod (with the dimensions the report shows it by), its
/// currency and whether the rows are of this month (`mtd`) or the previous one.
pub const POD_KEYS: &[&str] = &[
    "provider", "pod_id", "target", "project", "kind", "tracked", "currency", "mtd",
];

/// The pod's own dimensions in [`Reduced::per_pod`], beside its keys: the spend table takes
/// them from the fleet's pod (null for a pod no longer in it), so they are the same on every
/// row of a (provider, pod id) and are carried, not grouped by.
pub const POD_DIMS: &[&str] = &["name", "owner", "gpu_type"];

/// The keys of [`Reduced::daily`].
pub const DAY_KEYS: &[&str] = &["date", "provider", "project", "tracked", "currency"];

/// The micro-unit columns summed per group.
const SUMMED: &[&str] = &[
    "amount_micros",
    "gpu_micros",
    "cpu_micros",
    "memory_micros",
    "storage_micros",
    "parts",
];

/// Rows of the spend table built and reduced at a time by [`Reduced::of_cost_rows`]. The
/// rows come by day (as a collection orders them), so a part holds a few days of every pod
/// and reduces to a row per pod and period; larger parts reduce further (fewer rows to sum
/// again), smaller ones hold less at a time. Measured at 100 000 pods × 90 days
/// (BENCHMARKS.md): this size keeps the build within 3 s and a few hundred MiB.
pub const ROWS_PER_PART: usize = 1 << 20;

/// `costs` in runs of one pod (in the order its pods first appear; a pod's rows keep their
/// order). A collection leaves the rows by day, where each part of the table would hold a row
/// of nearly every pod and reduce to nearly its own size; by pod, a part reduces to a row per
/// pod and period, and the table's lookups of a pod's dimensions happen once per run. The
/// sort is of integer keys (a pod's number, then the row's position), not of strings.
fn by_pod<'a>(costs: impl Iterator<Item = &'a CostRow>) -> Vec<&'a CostRow> {
    let rows: Vec<&CostRow> = costs.collect();
    let mut number: std::collections::HashMap<(&str, &str), u32> = std::collections::HashMap::new();
    let mut keys: Vec<(u32, u32)> = Vec::with_capacity(rows.len());
    for (i, c) in rows.iter().enumerate() {
        let next = number.len() as u32;
        let n = *number
            .entry((c.provider.as_str(), c.pod_id.as_str()))
            .or_insert(next);
        keys.push((n, i as u32));
    }
    keys.sort_unstable();
    keys.into_iter().map(|(_, i)| rows[i as usize]).collect()
}

/// The spend table reduced.
#[derive(Debug, Clone)]
pub struct Reduced {
    /// One row per [`POD_KEYS`]: `amount_micros`, the four resource columns
    /// (`gpu_micros`…, zero where the provider gives no breakdown) and `parts`, how many of
    /// the group's rows carried a breakdown (Podstack's).
    pub per_pod: DataFrame,
    /// One row per [`DAY_KEYS`]: `amount_micros`.
    pub daily: DataFrame,
}

fn cols(names: &[&str]) -> Vec<Expr> {
    names.iter().map(|k| col(*k)).collect()
}

/// Reduces a part of the spend table (the columns of [`crate::report::spend::COLUMNS`], rows
/// of `window` only).
pub fn reduce(spend: LazyFrame, window: &Window) -> PolarsResult<Reduced> {
    let spend = spend.with_column(
        col("date")
            .gt_eq(lit(window.month_start.to_string()))
            .alias("mtd"),
    );
    let mut sums: Vec<Expr> = SUMMED[..5].iter().map(|c| col(*c).sum()).collect();
    sums.push(
        col("gpu_micros")
            .count()
            .cast(DataType::Int64)
            .alias("parts"),
    );
    sums.extend(POD_DIMS.iter().map(|d| col(*d).first()));
    let per_pod = spend.clone().group_by(cols(POD_KEYS)).agg(sums).collect()?;
    let daily = spend
        .group_by(cols(DAY_KEYS))
        .agg([col("amount_micros").sum()])
        .collect()?;
    Ok(Reduced { per_pod, daily })
}

impl Reduced {
    /// The sum of reduced parts: their frames stacked and grouped again (sums of sums). An
    /// empty list is an error: reduce an empty frame to get the columns.
    pub fn sum(parts: Vec<Reduced>) -> PolarsResult<Reduced> {
        if parts.len() == 1 {
            return parts
                .into_iter()
                .next()
                .ok_or_else(|| PolarsError::NoData("no part".into()));
        }
        let (pods, days): (Vec<LazyFrame>, Vec<LazyFrame>) = parts
            .into_iter()
            .map(|r| (r.per_pod.lazy(), r.daily.lazy()))
            .unzip();
        let again = |frames: Vec<LazyFrame>, keys: &[&str], summed: &[&str]| {
            if frames.is_empty() {
                return Err(PolarsError::NoData("no part of the spend table".into()));
            }
            let mut aggs: Vec<Expr> = summed.iter().map(|c| col(*c).sum()).collect();
            if keys == POD_KEYS {
                aggs.extend(POD_DIMS.iter().map(|d| col(*d).first()));
            }
            concat(frames, UnionArgs::default())?
                .group_by(cols(keys))
                .agg(aggs)
                .collect()
        };
        Ok(Reduced {
            per_pod: again(pods, POD_KEYS, SUMMED)?,
            daily: again(days, DAY_KEYS, &["amount_micros"])?,
        })
    }

    /// Reduces every part and sums them (at least one part: an empty table is one empty
    /// frame, so the result always has its columns).
    pub fn of_parts(
        parts: impl IntoIterator<Item = PolarsResult<DataFrame>>,
        window: &Window,
    ) -> PolarsResult<Reduced> {
        let reduced = parts
            .into_iter()
            .map(|part| reduce(part?.lazy(), window))
            .collect::<PolarsResult<Vec<_>>>()?;
        Reduced::sum(reduced)
    }

    /// The spend table of `costs` (see [`spend::frames`]) reduced: built and reduced
    /// [`ROWS_PER_PART`] rows at a time, by pod (see [`by_pod`]), with only the columns the
    /// figures read.
    /// (Building parts on several threads at once was slower and held twice the memory on
    /// two cores: polars' group-by already uses them all.)
    pub fn of_cost_rows<'a>(
        costs: impl Iterator<Item = &'a CostRow>,
        fleet: &'a Fleet,
        plan: Option<&'a Plan>,
        conv: &Conversion,
        window: &Window,
    ) -> PolarsResult<Reduced> {
        let rows = by_pod(costs);
        let lookup = spend::Lookup::new(fleet, plan);
        let part = |rows: &[&'a CostRow]| {
            let df =
                spend::frame_with(&lookup, rows.iter().copied(), fleet, conv, Columns::Figures)?;
            reduce(df.lazy(), window)
        };
        if rows.is_empty() {
            return part(&[]);
        }
        let parts = rows
            .chunks(ROWS_PER_PART)
            .map(part)
            .collect::<PolarsResult<Vec<_>>>()?;
        Reduced::sum(parts)
    }

    /// Reduces `spend.parquet` (a report's, or any file of its columns) slice by slice of
    /// `rows` rows, so reading it holds one slice at a time.
    pub fn of_parquet(path: &Path, window: &Window, rows: usize) -> PolarsResult<Reduced> {
        let scan =
            || LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default());
        let height = scan()?
            .select([len().alias("n")])
            .collect()?
            .column("n")?
            .cast(&DataType::Int64)?
            .i64()?
            .get(0)
            .unwrap_or(0) as usize;
        let window_rows = |lf: LazyFrame| {
            lf.filter(
                col("date")
                    .gt_eq(lit(window.from.to_string()))
                    .and(col("date").lt_eq(lit(window.today.to_string()))),
            )
        };
        let rows = rows.max(1);
        let mut parts = Vec::new();
        let mut offset = 0usize;
        loop {
            let part = window_rows(scan()?.slice(offset as i64, rows as IdxSize));
            parts.push(reduce(part, window)?);
            offset += rows;
            if offset >= height {
                break;
            }
        }
        Reduced::sum(parts)
    }
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

/// One point of a daily series: a date, a label (provider or project) and the converted
/// amount (only currencies with a rate can be drawn together).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyPoint {
    pub date: NaiveDate,
    pub label: String,
    pub amount: Decimal,
}

/// The report's figures that come from the spend table (the rest come from the fleet).
#[derive(Debug, Clone)]
pub struct Figures {
    /// Month to date, orphans excluded.
    pub mtd_tracked: Amounts,
    /// The same days of last month, orphans excluded.
    pub last_month_same_period: Amounts,
    /// The whole previous month, orphans excluded.
    pub last_month_total: Amounts,
    /// Month to date billed to orphans.
    pub mtd_orphans: Amounts,
    /// Tracked month to date by provider, project, owner, GPU type, largest first.
    pub by_provider: Vec<(String, Amounts)>,
    pub by_project: Vec<(String, Amounts)>,
    pub by_owner: Vec<(String, Amounts)>,
    pub by_gpu_type: Vec<(String, Amounts)>,
    /// Tracked month to date by resource (GPU, CPU, memory, storage) of the rows that split
    /// it (Podstack's); empty when none do.
    pub by_resource: Vec<(String, Amounts)>,
    /// Every pod's month to date (orphans included), largest first.
    pub top_pods: Vec<TopPod>,
    /// Orphans' month to date by `provider/pod_id`.
    pub orphan_mtd: BTreeMap<String, Amounts>,
    pub daily_by_provider: Vec<DailyPoint>,
    pub daily_by_project: Vec<DailyPoint>,
    /// `summary-by-project.csv`.
    pub breakdown: Vec<crate::report::breakdown::Row>,
}

fn dates_between(from: NaiveDate, to: NaiveDate) -> Expr {
    col("date")
        .gt_eq(lit(from.to_string()))
        .and(col("date").lt_eq(lit(to.to_string())))
}

impl Reduced {
    /// Every figure of the reduced spend table of `window`, converted with `conv`.
    pub fn figures(&self, window: &Window, conv: &Conversion) -> PolarsResult<Figures> {
        let (per_pod, daily) = (&self.per_pod, &self.daily);
        let (tracked, mtd) = (col("tracked"), col("mtd"));
        let this_month = dates_between(window.month_start, window.today);
        let (lm_from, lm_to) = window.last_month_same_period();
        let last_month = dates_between(window.from, window.month_start - Duration::days(1));
        let micros = "amount_micros";

        let tracked_mtd = tracked.clone().and(mtd.clone());
        let by = |k: &str| -> PolarsResult<Vec<(String, Amounts)>> {
            Ok(sum_by(per_pod, tracked_mtd.clone(), &[k], micros, conv)?
                .into_iter()
                .map(|(k, a)| (k.into_iter().next().unwrap_or_default(), a))
                .collect())
        };
        let mut by_resource = Vec::new();
        for (name, column) in [
            ("GPU", "gpu_micros"),
            ("CPU", "cpu_micros"),
            ("memory", "memory_micros"),
            ("storage", "storage_micros"),
        ] {
            let filter = tracked_mtd.clone().and(col("parts").gt(lit(0)));
            by_resource.push((name.to_string(), total(per_pod, filter, column, conv)?));
        }
        if by_resource.iter().all(|(_, a)| a.is_zero()) {
            by_resource.clear();
        }
        let pod_keys = ["provider", "target", "name", "project", "kind"];
        let top_pods = sum_by(per_pod, mtd.clone(), &pod_keys, micros, conv)?
            .into_iter()
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
        let orphan = col("kind").eq(lit("orphan"));
        let orphan_mtd = sum_by(
            per_pod,
            mtd.and(orphan),
            &["provider", "pod_id"],
            micros,
            conv,
        )?
        .into_iter()
        .map(|(k, a)| (k.join("/"), a))
        .collect();

        // Both daily series from one group-by (by date, provider and project), folded into
        // each series here.
        let mut by_provider_day: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
        let mut by_project_day: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
        let day_keys = ["date", "provider", "project"];
        for (key, a) in sum_by(daily, lit(true), &day_keys, micros, conv)? {
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
        Ok(Figures {
            mtd_tracked: total(daily, this_month.clone().and(tracked.clone()), micros, conv)?,
            last_month_same_period: total(
                daily,
                dates_between(lm_from, lm_to).and(tracked.clone()),
                micros,
                conv,
            )?,
            last_month_total: total(daily, last_month.and(tracked.clone()), micros, conv)?,
            mtd_orphans: total(daily, this_month.and(tracked.not()), micros, conv)?,
            by_provider: by("provider")?,
            by_project: by("project")?,
            by_owner: by("owner")?,
            by_gpu_type: by("gpu_type")?,
            by_resource,
            top_pods,
            orphan_mtd,
            daily_by_provider: points(by_provider_day),
            daily_by_project: points(by_project_day),
            breakdown: crate::report::breakdown::rows(per_pod, conv)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spend table of `n` rows over two pods, two currencies and both months, one pod
    /// with a resource breakdown and one orphan row.
    fn spend() -> DataFrame {
        let dates = [
            "2026-10-30",
            "2026-10-31",
            "2026-11-01",
            "2026-11-02",
            "2026-11-02",
            "2026-11-03",
        ];
        df!(
            "date" => dates,
            "provider" => ["argus", "argus", "argus", "podstack", "argus", "podstack"],
            "pod_id" => ["a", "a", "a", "p", "o", "p"],
            "target" => ["wk-a", "wk-a", "wk-a", "p", "o", "p"],
            "name" => [Some("a"), Some("a"), Some("a"), Some("p"), None, Some("p")],
            "project" => [Some("llm"), Some("llm"), Some("llm"), Some("vision"), None, Some("vision")],
            "owner" => [Some("ana"), Some("ana"), Some("ana"), None, None, None],
            "gpu_type" => [Some("H100"), Some("H100"), Some("H100"), Some("L4"), None, Some("L4")],
            "kind" => ["pod", "pod", "pod", "pod", "orphan", "pod"],
            "tracked" => [true, true, true, true, false, true],
            "currency" => ["USD", "USD", "USD", "INR", "USD", "INR"],
            "amount_micros" => [1_000_000i64, 2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000],
            "gpu_micros" => [None, None, None, Some(6_000_000i64), None, Some(30_000_000)],
            "cpu_micros" => [None, None, None, Some(2_000_000i64), None, Some(2_000_000)],
            "memory_micros" => [None::<i64>, None, None, Some(0), None, Some(0)],
            "storage_micros" => [None::<i64>, None, None, Some(0), None, Some(0)],
        )
        .expect("frame")
    }

    fn sorted(r: Reduced) -> (DataFrame, DataFrame) {
        let sort = |df: DataFrame, keys: &[&str]| {
            df.sort(keys.to_vec(), SortMultipleOptions::default())
                .expect("sort")
        };
        (sort(r.per_pod, POD_KEYS), sort(r.daily, DAY_KEYS))
    }

    fn window() -> Window {
        Window::at("2026-11-03".parse().expect("date"))
    }

    #[test]
    fn the_figures_do_not_depend_on_where_the_table_was_cut() {
        let whole = Reduced::of_parts([Ok(spend())], &window()).expect("whole");
        // Cut after every row: pod a's three rows land in three parts.
        let df = spend();
        let parts = (0..df.height()).map(|i| Ok(df.slice(i as i64, 1)));
        let cut = Reduced::of_parts(parts, &window()).expect("cut");
        let (w, c) = (sorted(whole), sorted(cut));
        assert!(w.0.equals_missing(&c.0), "{}\n{}", w.0, c.0);
        assert!(w.1.equals_missing(&c.1), "{}\n{}", w.1, c.1);
        // Pod a: 1 + 2 last month, 4 this month: two groups, not three.
        let a =
            w.0.clone()
                .lazy()
                .filter(col("pod_id").eq(lit("a")))
                .collect()
                .expect("a");
        assert_eq!(a.height(), 2);
        let sums: Vec<Option<i64>> = a
            .column("amount_micros")
            .expect("col")
            .i64()
            .expect("i64")
            .iter()
            .collect();
        assert_eq!(sums, [Some(3_000_000), Some(4_000_000)]);
        // Pod p's rows carry a breakdown; the others count none.
        let parts: i64 =
            w.0.column("parts")
                .expect("parts")
                .i64()
                .expect("i64")
                .sum()
                .unwrap_or(0);
        assert_eq!(parts, 2);
    }

    #[test]
    fn spend_parquet_read_in_slices_reduces_as_the_table_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spend.parquet");
        let mut df = spend();
        // A row outside the window (before its first day) is left out of the file's figures.
        let mut early = df.slice(0, 1);
        early
            .replace("date", Column::new("date".into(), ["2026-09-30"]))
            .expect("replace");
        df.vstack_mut(&early).expect("vstack");
        let file = std::fs::File::create(&path).expect("create");
        ParquetWriter::new(file).finish(&mut df).expect("write");
        let read = Reduced::of_parquet(&path, &window(), 2).expect("read");
        let whole = Reduced::of_parts([Ok(spend())], &window()).expect("whole");
        let (r, w) = (sorted(read), sorted(whole));
        assert!(r.0.equals_missing(&w.0), "{}\n{}", r.0, w.0);
        assert!(r.1.equals_missing(&w.1), "{}\n{}", r.1, w.1);
    }
}
