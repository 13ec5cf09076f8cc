//! Benchmark: a nightly `plan` at fleet size against the sandbox at the providers' documented
//! rate limits (Argus 600 reads / 60 s, Podstack 120 requests / 60 s), real HTTP.
//!
//!     cargo run --release --example bench_nightly -- [PODS] [--first-night] [--age MINUTES] [--no-compare]
//!     cargo run --release --example bench_nightly -- [PODS] --observe MINUTES
//!
//! Default (second night): a first sandbox with raised limits stands in for the nights and
//! observe runs before: one full read stores every running pod's utilisation and caches the
//! cost rows in a fresh state file (its requests are printed: those of a first night; its time
//! is not one at the documented limits). Then the measured night runs
//! `MINUTES` later (default 30: an hourly observe's worst half) against a second sandbox of
//! the same seed and clock at the documented limits, and is compared with an unhurried full
//! read of the same instant (same actions, same blocked reasons).
//!
//! `--observe MINUTES`: one `podwarden observe` run spread over MINUTES at 50 % of the
//! documented limits, on a fresh state file: how many pods it refreshed, and at what rate.
//!
//! `--first-night`: no state file; the run reads every candidate in $/day order within the
//! 30-minute deadline (this takes as long as the rate limit says: ~25 min at 10 000 pods).
//!
//! The shipped policies run without their circuit breakers and the global `[limits]` (sized
//! for real fleets, they would refuse every policy of a synthetic one and leave no actions to
//! compare). Prints the wall time, the requests per endpoint, how many pods were read, taken from
//! storage or left unknown, and how the plan compares.

use std::collections::BTreeSet;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use podwarden::config::Config;
use podwarden::fleet::Fleet;
use podwarden::pipeline::inputs::{collect, settings, Reads};
use podwarden::plan::Plan;
use podwarden::providers::budget::RateLimit;
use podwarden::sandbox::{spawn, RunningSandbox, SandboxConfig};

struct Args {
    pods: usize,
    first_night: bool,
    /// `--observe MINUTES`: one observe run of that span.
    observe: Option<u64>,
    age: i64,
    compare: bool,
}

fn args() -> Args {
    let mut a = Args {
        pods: 10_000,
        first_night: false,
        observe: None,
        age: 30,
        compare: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--first-night" => a.first_night = true,
            "--no-compare" => a.compare = false,
            "--observe" => a.observe = it.next().and_then(|v| v.parse().ok()),
            "--age" => a.age = it.next().and_then(|v| v.parse().ok()).unwrap_or(30),
            n => a.pods = n.parse().unwrap_or(a.pods),
        }
    }
    a
}

async fn sandbox(pods: usize, start: DateTime<Utc>, raised: bool) -> RunningSandbox {
    let mut cfg = SandboxConfig {
        pods,
        now: Some(start),
        ..SandboxConfig::default()
    };
    if raised {
        cfg.read_limit = 1_000_000;
        cfg.podstack_limit = 1_000_000;
    }
    spawn(cfg, ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox starts")
}

fn config(s: &RunningSandbox, state: &std::path::Path, raised: bool) -> Config {
    let mut cfg = podwarden::demo::config(s, state).expect("config");
    cfg.deadline = StdDuration::from_secs(30 * 60);
    cfg.limits = Default::default();
    if raised {
        for p in &mut cfg.providers {
            p.ops_rate = Some(RateLimit {
                calls: 1_000_000,
                window: StdDuration::from_secs(60),
            });
        }
    }
    cfg
}

/// The shipped policies without their circuit breakers (sized for real fleets, they refuse a
/// synthetic fleet's whole policy, which would leave no actions to compare).
fn policies(cfg: &Config) -> podwarden::policy::PolicySet {
    let mut set = podwarden::pipeline::evaluate::policies(None, Some(cfg)).expect("policies");
    for p in &mut set.policies {
        p.limits = Default::default();
    }
    set
}

async fn night(cfg: &Config, now: DateTime<Utc>, reads: ReadsKind) -> (Fleet, Plan, StdDuration) {
    let set = policies(cfg);
    let started = Instant::now();
    let reads = match reads {
        ReadsKind::Candidates => Reads::Candidates(&set),
        ReadsKind::Everything => Reads::Everything,
    };
    let (fleet, _errors) = collect(cfg, now, reads).await.expect("collects");
    let plan = podwarden::plan::make(&fleet, &set, &settings(Some(cfg)), now, "bench", now)
        .expect("plans");
    (fleet, plan, started.elapsed())
}

#[derive(Clone, Copy)]
enum ReadsKind {
    Candidates,
    Everything,
}

/// The plan's decisions: actions (policy, target, op) and blocked (policy, target, why's kind).
fn decisions(plan: &Plan) -> (BTreeSet<String>, BTreeSet<String>) {
    let actions = plan
        .actions
        .iter()
        .map(|a| format!("{} {} {}", a.policy, a.action, a.target))
        .collect();
    // A blocked reason quotes evidence; its kind is the part before any parenthesis.
    let blocked = plan
        .blocked
        .iter()
        .map(|b| {
            let kind = b.why.split(" (").next().unwrap_or(&b.why);
            format!("{} {} {kind}", b.policy, b.target)
        })
        .collect();
    (actions, blocked)
}

fn print_night(label: &str, s: &RunningSandbox, fleet: &Fleet, plan: &Plan, took: StdDuration) {
    println!("{label}: {:.1} s wall", took.as_secs_f64());
    let counts = s.sandbox.request_counts();
    let total: u64 = counts.values().sum();
    println!("  requests: {total} in all");
    for (endpoint, n) in &counts {
        println!("    {n:>6}  {endpoint}");
    }
    for p in &fleet.providers {
        if let Some(r) = &p.activity_reads {
            println!("  {} activity: {}", p.name, r.describe(fleet.taken_at));
        }
        if let Some(c) = &p.cost_reads {
            println!("  {} costs: {}", p.name, c.describe());
        }
    }
    let unknown = plan
        .blocked
        .iter()
        .filter(|b| b.why.starts_with("activity unknown"))
        .count();
    println!(
        "  plan: {} actions, {} blocked, {unknown} of them because activity is unknown",
        plan.actions.len(),
        plan.blocked.len()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let start = DateTime::parse_from_rfc3339("2026-11-16T02:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let state = tempfile::tempdir().expect("state folder");
    println!(
        "{} pods, documented limits (Argus 600 reads/60 s, Podstack 120 requests/60 s)",
        a.pods
    );
    if let Some(minutes) = a.observe {
        let measured = sandbox(a.pods, start, false).await;
        let mut cfg = config(&measured, state.path(), false);
        cfg.collect.observe_span = StdDuration::from_secs(minutes * 60);
        let started = Instant::now();
        let (fleet, _) = collect(&cfg, start, Reads::Observe)
            .await
            .expect("observes");
        let took = started.elapsed();
        let stats = measured.sandbox.requests_to("/stats/history");
        println!(
            "observe over {minutes} min at {:.0} % of the budget: {:.1} s wall, {stats} utilisation reads ({:.1} a minute)",
            cfg.collect.observe_budget * 100.0,
            took.as_secs_f64(),
            stats as f64 / took.as_secs_f64() * 60.0
        );
        for p in &fleet.providers {
            if let Some(r) = &p.activity_reads {
                println!("  {} activity: {}", p.name, r.describe(fleet.taken_at));
            }
        }
        return;
    }
    if a.first_night {
        let measured = sandbox(a.pods, start, false).await;
        let cfg = config(&measured, state.path(), false);
        let (fleet, plan, took) = night(&cfg, start, ReadsKind::Candidates).await;
        print_night(
            "first night (no state file)",
            &measured,
            &fleet,
            &plan,
            took,
        );
        return;
    }
    // The nights and observe runs before: one full read, raised limits, not measured.
    let before = sandbox(a.pods, start, true).await;
    let (fleet, plan, took) = night(
        &config(&before, state.path(), true),
        start,
        ReadsKind::Everything,
    )
    .await;
    print_night(
        "first night, a full read at raised limits (its requests are a first night's; its time is not)",
        &before,
        &fleet,
        &plan,
        took,
    );
    let now = start + Duration::minutes(a.age);
    let measured = sandbox(a.pods, start, false).await;
    measured.sandbox.clock.set(now);
    let (fleet, plan, took) = night(
        &config(&measured, state.path(), false),
        now,
        ReadsKind::Candidates,
    )
    .await;
    print_night(
        &format!("second night, readings {} min old", a.age),
        &measured,
        &fleet,
        &plan,
        took,
    );
    // Argus alone, second night, on a fresh sandbox at the documented limits (its own rate
    // window): what the Argus part of the night costs without Podstack beside it.
    let argus_only = sandbox(a.pods, start, false).await;
    argus_only.sandbox.clock.set(now);
    let mut cfg = config(&argus_only, state.path(), false);
    cfg.providers
        .retain(|p| p.kind == podwarden::config::ProviderType::Argus);
    let (argus_fleet, argus_plan, argus_took) = night(&cfg, now, ReadsKind::Candidates).await;
    print_night(
        "second night, Argus alone",
        &argus_only,
        &argus_fleet,
        &argus_plan,
        argus_took,
    );
    if !a.compare {
        return;
    }
    // The reference: an unhurried full read of the same instant, fresh state file.
    let reference_state = tempfile::tempdir().expect("state folder");
    let reference = sandbox(a.pods, start, true).await;
    reference.sandbox.clock.set(now);
    let (_, full, _) = night(
        &config(&reference, reference_state.path(), true),
        now,
        ReadsKind::Everything,
    )
    .await;
    let (ours, theirs) = (decisions(&plan), decisions(&full));
    let differ = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.symmetric_difference(b).count();
    println!(
        "  against a full read of the same instant: {} actions differ, {} blocked differ ({} and {} actions)",
        differ(&ours.0, &theirs.0),
        differ(&ours.1, &theirs.1),
        plan.actions.len(),
        full.actions.len()
    );
    for d in ours.0.symmetric_difference(&theirs.0).take(10) {
        println!("    action only in one: {d}");
    }
}
