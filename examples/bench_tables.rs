//! Benchmark: podwarden's report tables from a `spend.parquet`, with the reduction and the
//! figures the report itself runs (`report::tables`: the table reduced slice by slice, then
//! every figure from the reduced frames; the report build feeds the same reduction with its
//! in-memory table, built from the cost rows, instead of a file), written as the CSV files
//! `bench/compare.py` checks against the DuckDB and pandas baselines (`bench/baselines/`).
//!
//!     cargo run --release --example bench_tables -- SPEND.parquet DAY OUTDIR [--rate INR=0.01198]…
//!
//! Prints `seconds=<float>`: from before reading the file to after writing the tables.
//! Amounts are written as exact integer micro-units per currency, so the three agree exactly
//! or not at all; the ranking of `top_pods.csv` is by amount converted with the rates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use podwarden::money::Currency;
use podwarden::report::currency::{Amounts, Conversion};
use podwarden::report::tables::Reduced;
use podwarden::report::window::Window;
use rust_decimal::Decimal;

/// Rows of the file read at a time.
const ROWS_PER_SLICE: usize = 4 << 20;

/// Micro-units of each currency of `a` (computed with [`no_rates`]: nothing converted).
fn micros(a: &Amounts) -> Vec<(String, String)> {
    a.unconverted
        .iter()
        .map(|(c, d)| {
            (
                c.as_str().to_string(),
                (d * Decimal::from(1_000_000)).normalize().to_string(),
            )
        })
        .collect()
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A conversion with no rate and a report currency no row has (ISO 4217 `XXX`): every sum
/// stays in its own currency, exact.
fn no_rates() -> Conversion {
    Conversion {
        report: Currency::new("XXX"),
        rates: BTreeMap::new(),
        rates_set: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [spend, day, out, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_tables SPEND.parquet DAY OUTDIR [--rate CUR=RATE]…".into());
    };
    let mut rates = BTreeMap::new();
    let mut rest = rest.iter();
    while let Some(a) = rest.next() {
        let spec = match a.strip_prefix("--rate=") {
            Some(s) => s.to_string(),
            None if a == "--rate" => rest.next().ok_or("--rate needs CUR=RATE")?.clone(),
            None => return Err(format!("unknown argument {a}").into()),
        };
        let (c, r) = spec.split_once('=').ok_or("--rate CUR=RATE")?;
        rates.insert(Currency::new(c), r.parse::<Decimal>()?);
    }
    let conv = Conversion {
        report: Currency::usd(),
        rates,
        rates_set: None,
    };
    let window = Window::at(day.parse::<NaiveDate>()?);
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;

    let t = Instant::now();
    let reduced = Reduced::of_parquet(Path::new(spend), &window, ROWS_PER_SLICE)?;
    let figures = reduced.figures(&window, &conv)?;
    let exact = reduced.figures(&window, &no_rates())?;

    // Each table: its header and rows (sorted by their fields, except the ranked top pods).
    let mut files: Vec<(&str, &str, Vec<Vec<String>>)> = Vec::new();
    let with_micros = |key: Vec<String>, a: &Amounts| -> Vec<Vec<String>> {
        micros(a)
            .into_iter()
            .map(|(c, m)| key.iter().cloned().chain([c, m]).collect())
            .collect()
    };
    for (file, rows) in [
        ("by_provider.csv", &exact.by_provider),
        ("by_project.csv", &exact.by_project),
        ("by_owner.csv", &exact.by_owner),
        ("by_gpu_type.csv", &exact.by_gpu_type),
    ] {
        let rows = rows
            .iter()
            .flat_map(|(k, a)| with_micros(vec![k.clone()], a))
            .collect();
        files.push((file, "key,currency,micros", rows));
    }
    let daily = podwarden::report::spend::sum_by(
        &reduced.daily,
        polars::prelude::lit(true),
        &["date", "provider"],
        "amount_micros",
        &no_rates(),
    )?
    .iter()
    .flat_map(|(k, a)| with_micros(k.clone(), a))
    .collect();
    files.push(("daily.csv", "date,provider,currency,micros", daily));
    let breakdown = exact
        .breakdown
        .iter()
        .map(|r| {
            let m = |d: Decimal| (d * Decimal::from(1_000_000)).normalize().to_string();
            vec![
                r.provider.clone(),
                r.project.clone(),
                r.owner.clone(),
                r.kind.clone(),
                r.currency.as_str().to_string(),
                r.pods.to_string(),
                m(r.month_to_date),
                m(r.last_month),
            ]
        })
        .collect();
    files.push((
        "breakdown.csv",
        "provider,project,owner,kind,currency,pods,mtd_micros,last_month_micros",
        breakdown,
    ));
    let headline = [
        ("last_month_same_period", &exact.last_month_same_period),
        ("last_month_total", &exact.last_month_total),
        ("mtd_orphans", &exact.mtd_orphans),
        ("mtd_tracked", &exact.mtd_tracked),
    ]
    .iter()
    .flat_map(|(f, a)| with_micros(vec![f.to_string()], a))
    .collect();
    files.push(("headline.csv", "figure,currency,micros", headline));
    for (_, _, rows) in files.iter_mut() {
        rows.sort();
    }
    // The ranking is the report's (converted); each pod's exact sum comes from `exact`.
    let exact_pods: BTreeMap<[&str; 5], &Amounts> = exact
        .top_pods
        .iter()
        .map(|p| {
            (
                [&*p.provider, &*p.target, &*p.name, &*p.project, &*p.kind],
                &p.mtd,
            )
        })
        .collect();
    let mut top = Vec::new();
    for p in figures.top_pods.iter().take(20) {
        let key = [&*p.provider, &*p.target, &*p.name, &*p.project, &*p.kind];
        if let Some(a) = exact_pods.get(&key) {
            top.extend(with_micros(key.map(String::from).to_vec(), a));
        }
    }
    files.push((
        "top_pods.csv",
        "provider,target,name,project,kind,currency,micros",
        top,
    ));
    for (name, head, rows) in &files {
        let mut text = format!("{head}\n");
        for row in rows {
            let fields: Vec<String> = row.iter().map(|f| field(f)).collect();
            writeln!(text, "{}", fields.join(","))?;
        }
        std::fs::write(out.join(name), text)?;
    }
    println!("seconds={:.3}", t.elapsed().as_secs_f64());
    eprintln!(
        "bench_tables: {} pod groups, {} day groups; tracked month to date {}",
        reduced.per_pod.height(),
        reduced.daily.height(),
        figures.mtd_tracked
    );
    Ok(())
}
