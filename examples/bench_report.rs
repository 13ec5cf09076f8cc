//! Benchmark: build and write the spend report of a synthetic fleet with daily cost rows.
//!
//!     cargo run --release --example bench_report -- [PODS] [DAYS] [KEEP_IN_DIR]
//!
//! Default 100 000 pods × 90 days of cost rows (9 million rows, 3.3 million in the report's
//! window; 30 % Podstack in INR with a resource breakdown, 5 % orphans; see
//! `support/synthetic.rs`). Prints, per step (the report build, rendering summary.md and
//! report.html, writing every file), its time and its peak memory: the process's peak during
//! the step (Linux VmHWM, reset before each step) and, apart, the step's own share of it (the
//! peak less what was resident before: the synthetic input, held in memory here as a real run
//! holds what it read from the state file and the providers).

use std::time::Instant;

use chrono::Utc;
use podwarden::money::Currency;
use rust_decimal::Decimal;

#[path = "support/synthetic.rs"]
mod synthetic;

/// A figure of /proc/self/status in MiB (`VmHWM`: the peak resident size; `VmRSS`: now).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with(field))?.to_string();
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb / 1024.0)
        })
        .unwrap_or(f64::NAN)
}

/// Resets the peak resident size to what is resident now (Linux: `5` to `clear_refs`), so
/// that the next `VmHWM` is the peak of the step that follows, the input still counted.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `step`, printing its time and its own peak memory: the peak during it less what
/// was resident before it (the synthetic input, which a real run reads from the state file
/// and the providers instead).
fn measured<T>(what: &str, step: impl FnOnce() -> T) -> T {
    reset_peak();
    let before = status_mib("VmRSS");
    let t = Instant::now();
    let out = step();
    let peak = status_mib("VmHWM");
    println!(
        "{what}: {:.2} s; peak {:.0} MiB, of which its own {:.0} MiB (resident before: {:.0} MiB)",
        t.elapsed().as_secs_f64(),
        peak,
        peak - before,
        before
    );
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let days: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(90);
    // A folder to keep the files in (to look at them); by default a temporary one.
    let keep = args.next();
    let fleet = measured("input (synthetic fleet and cost rows)", || {
        let mut fleet = synthetic::fleet(0..n, days, Utc::now());
        // In the order a collection leaves them (by provider, date, pod): each part of the
        // report's spend table then holds a day's rows of many pods, not a few pods' days.
        fleet.normalize_order();
        fleet
    });
    println!("input: {n} pods, {} cost rows", fleet.costs.len());
    let conversion = podwarden::report::currency::Conversion {
        report: Currency::usd(),
        rates: [(Currency::new("INR"), Decimal::new(1198, 5))].into(),
        rates_set: None,
    };
    let report = measured(
        "report build (spend table reduced part by part, every figure)",
        || {
            podwarden::report::build(&podwarden::report::Input {
                fleet: &fleet,
                plan: None,
                taken: &[],
                pending: &[],
                conversion: &conversion,
                settings: &Default::default(),
                now: fleet.taken_at,
            })
            .unwrap_or_else(|e| panic!("{e}"))
        },
    );
    let (md, html) = measured("render summary.md + report.html", || {
        (
            podwarden::report::markdown::render(&report),
            podwarden::report::html::render(&report),
        )
    });
    println!(
        "tracked month to date: {}; summary.md {} bytes, report.html {} bytes",
        report.headline.mtd_tracked,
        md.len(),
        html.len()
    );
    // Every file, as `run` writes them (spend.csv and spend.parquet a part at a time, the
    // FOCUS export row by row), into a temporary folder.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder = keep.map_or_else(|| dir.path().to_path_buf(), std::path::PathBuf::from);
    let written = measured("write every report file", || {
        podwarden::report::write::write(&report, &fleet, None, &folder)
            .unwrap_or_else(|e| panic!("{e}"))
    });
    for path in written {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "  {}: {:.1} MB",
            path.file_name().unwrap_or_default().to_string_lossy(),
            size as f64 / 1e6
        );
    }
}
