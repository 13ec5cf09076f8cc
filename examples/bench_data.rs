//! Benchmark input: writes the synthetic fleet's spend table (see `support/synthetic.rs`) to
//! a Parquet file, as podwarden writes `spend.parquet`, a range of pods at a time so that
//! even 1 000 000 pods × 90 days (90 million rows) never sit in memory whole.
//!
//!     cargo run --release --example bench_data -- PODS DAY OUT.parquet [DAYS]
//!
//! DAY (YYYY-MM-DD) is the report's day: the cost rows end on it. DAYS defaults to 90.
//! `bench/run.sh` times the report tables of this file (`bench_tables`) against DuckDB and
//! pandas.

use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use podwarden::money::Currency;
use polars::prelude::*;
use rust_decimal::Decimal;

#[path = "support/synthetic.rs"]
mod synthetic;

/// Pods built, framed and written at a time.
const PODS_PER_PART: usize = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pods, day, out, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_data PODS DAY OUT.parquet [DAYS]".into());
    };
    let pods: usize = pods.parse()?;
    let day: NaiveDate = day.parse()?;
    let days: i64 = rest.first().map_or(Ok(90), |d| d.parse())?;
    // Mid-day, so that the day's rows exist and the day is in progress.
    let now = Utc.from_utc_datetime(&day.and_hms_opt(12, 0, 0).ok_or("time")?);
    let conversion = podwarden::report::currency::Conversion {
        report: Currency::usd(),
        rates: [(Currency::new("INR"), Decimal::new(1198, 5))].into(),
        rates_set: None,
    };
    let t = Instant::now();
    let file = std::fs::File::create(out)?;
    let mut writer = None;
    let mut rows = 0usize;
    for start in (0..pods).step_by(PODS_PER_PART) {
        let fleet = synthetic::fleet(start..(start + PODS_PER_PART).min(pods), days, now);
        let part = podwarden::report::spend::frame(fleet.costs.iter(), &fleet, None, &conversion)?;
        if writer.is_none() {
            writer = Some(ParquetWriter::new(file.try_clone()?).batched(part.schema())?);
        }
        if let Some(w) = writer.as_mut() {
            w.write_batch(&part)?;
        }
        rows += part.height();
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    println!(
        "bench_data: {pods} pods, {rows} rows, {days} days to {day}: {out} ({} MB) in {:.1} s",
        std::fs::metadata(out)?.len() / 1_000_000,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
