//! Benchmark: build the spend report for a synthetic fleet with daily cost rows.
//!
//!     cargo run --release --example bench_report -- [PODS] [DAYS]
//!
//! Default 100 000 pods × 90 days of cost rows (9 million rows; 30 % Podstack in INR with a
//! resource breakdown, 5 % orphans). Prints the time to build the spend table alone, to build
//! the report (spend table, aggregations), to render summary.md and report.html and to stream
//! the FOCUS export, and the peak memory of the process after each (VmHWM from
//! /proc/self/status, which includes the synthetic input itself).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use podwarden::fleet::{
    Activity, CostRow, Fleet, Pod, PodHealth, PodStatus, ProviderStatus, ResourceBreakdown,
    ResourceKind, Since,
};
use podwarden::money::{Currency, Money};
use podwarden::providers::registry::ProviderType;
use rust_decimal::Decimal;

/// A writer that only counts the bytes it is given.
struct Counting(usize);

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn fleet(n: usize, days: i64) -> Fleet {
    let now = Utc::now();
    let today = now.date_naive();
    let usd = Currency::usd();
    let inr = Currency::new("INR");
    let projects = ["vision-prod", "research", "llm", "infra", "speech"];
    let mut pods = Vec::with_capacity(n);
    let mut costs = Vec::with_capacity(n * days as usize);
    for i in 0..n {
        let podstack = i % 10 >= 7;
        let orphan = !podstack && i % 20 == 19;
        let (provider, currency, rate) = if podstack {
            ("podstack", &inr, Decimal::new(20700, 2))
        } else {
            ("argus", &usd, Decimal::new(249, 2))
        };
        let project = projects[i % projects.len()];
        let pod_id = format!("p{i:07}");
        pods.push(Pod {
            provider: provider.into(),
            kind: if orphan {
                ResourceKind::Orphan
            } else {
                ResourceKind::Pod
            },
            target: format!("t{i:07}"),
            pod_id: pod_id.clone(),
            name: format!("pod-{i}"),
            status: if i % 8 == 0 {
                PodStatus::Stopped
            } else {
                PodStatus::Running
            },
            project: (!orphan).then(|| project.to_string()),
            owner: Some(["ana", "bo", "chen"][i % 3].into()),
            gpu_type: Some(["H100-80GB", "A100-40GB", "L4"][i % 3].into()),
            gpu_count: 1 + (i % 4) as u32,
            region: Some("us-east-1".into()),
            labels: BTreeMap::new(),
            hourly_rate: Money::new(rate, currency.clone()),
            created_at: now - Duration::days(200),
            last_started_at: Some(now - Duration::hours(5)),
            ttl_expires_at: None,
            orphaned_since: orphan.then(|| now - Duration::days(12)),
            orphaned_since_source: orphan.then_some(Since::Provider),
            stopped_since: None,
            reading: None,
            activity: if i % 3 == 0 {
                Activity::Idle {
                    since: Some(now - Duration::hours(9)),
                    source: Some(Since::Provider),
                    start_seen: true,
                    evidence: "0 cameras".into(),
                }
            } else {
                Activity::Busy
            },
            health: podstack.then(|| PodHealth {
                replicas: 1,
                health: ["green", "yellow", "red"][i % 3].into(),
            }),
        });
        for d in 0..days {
            let hours = Decimal::from(((i as i64 + d) % 25) as u32);
            let amount = rate * hours;
            costs.push(CostRow {
                provider: provider.into(),
                date: today - Duration::days(d),
                pod_id: pod_id.clone(),
                worker_id: (!podstack && !orphan).then(|| format!("t{i:07}")),
                project: (!orphan).then(|| project.to_string()),
                amount: Money::new(amount, currency.clone()),
                hours: (!podstack).then_some(hours),
                by_resource: podstack.then(|| ResourceBreakdown {
                    gpu: amount * Decimal::new(82, 2),
                    cpu: amount * Decimal::new(8, 2),
                    memory: amount * Decimal::new(6, 2),
                    storage: amount * Decimal::new(4, 2),
                }),
            });
        }
    }
    Fleet {
        taken_at: now,
        providers: ["argus", "podstack"]
            .iter()
            .map(|p| ProviderStatus {
                activity_reads: None,
                cost_reads: None,
                name: p.to_string(),
                complete: true,
                pods: pods.iter().filter(|x| x.provider == *p).count(),
                error: None,
                gaps: vec![],
            })
            .collect(),
        pods,
        costs,
        wallets: vec![],
        idle_costs: vec![],
        facts: [ProviderType::Argus, ProviderType::Podstack]
            .map(|t| (t.builtin_name().to_string(), t.facts(true)))
            .into(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let days: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(90);
    let t = Instant::now();
    let fleet = fleet(n, days);
    println!(
        "input: {n} pods, {} cost rows, generated in {:.2} s (peak so far {})",
        fleet.costs.len(),
        t.elapsed().as_secs_f64(),
        peak_memory()
    );
    let conversion = podwarden::report::currency::Conversion {
        report: Currency::usd(),
        rates: [(Currency::new("INR"), Decimal::new(1198, 5))].into(),
        rates_set: None,
    };
    let t = Instant::now();
    let window = podwarden::report::window::Window::at(fleet.taken_at.date_naive());
    let rows = podwarden::report::build::cost_rows(&fleet, &window);
    let frame = podwarden::report::spend::frame(rows.clone(), &fleet, None, &conversion)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "spend table alone: {:.2} s ({} rows; peak so far {})",
        t.elapsed().as_secs_f64(),
        frame.height(),
        peak_memory()
    );
    drop(frame);
    let t = Instant::now();
    let report = podwarden::report::build(&podwarden::report::Input {
        fleet: &fleet,
        plan: None,
        taken: &[],
        pending: &[],
        conversion: &conversion,
        now: fleet.taken_at,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let built = t.elapsed();
    let t = Instant::now();
    let md = podwarden::report::markdown::render(&report);
    let html = podwarden::report::html::render(&report);
    let rendered = t.elapsed();
    println!(
        "build (spend table + aggregations): {:.2} s; render summary.md + report.html: {:.2} s",
        built.as_secs_f64(),
        rendered.as_secs_f64()
    );
    println!(
        "tracked month to date: {}; summary {} bytes, html {} bytes",
        report.headline.mtd_tracked,
        md.len(),
        html.len()
    );
    println!("peak memory (VmHWM): {}", peak_memory());
    // The FOCUS export streams row by row (it is several GB at this size); written to a
    // counting sink here, so the figure is the export's own cost, not the disk's.
    let t = Instant::now();
    let mut sink = Counting(0);
    podwarden::report::focus::write(&mut sink, rows, &fleet, None, &conversion, fleet.taken_at)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "FOCUS export (focus.csv, {} bytes, streamed): {:.2} s; peak memory (VmHWM) {}",
        sink.0,
        t.elapsed().as_secs_f64(),
        peak_memory()
    );
}
