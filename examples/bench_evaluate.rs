//! Benchmark: evaluate the shipped policies over a synthetic fleet and build the plan.
//!
//!     cargo run --release --example bench_evaluate -- [PODS] [RUNS]
//!
//! Prints the median and best wall time of `evaluate` (fleet frame + every policy's
//! expressions in one polars pass) and of `plan::build` (guards, precedence, breakers,
//! reasons), over RUNS runs (default 100 000 pods, 7 runs).

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use podwarden::fleet::{Activity, Fleet, Pod, PodStatus, ProviderStatus, ResourceKind, Since};
use podwarden::money::{Currency, Money};
use rand::{Rng, SeedableRng};

fn fleet(n: usize) -> Fleet {
    let now = Utc::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let pods = (0..n)
        .map(|i| {
            let podstack = i % 10 >= 7;
            let orphan = !podstack && i % 20 == 19;
            let activity = match rng.random_range(0..10) {
                0..=4 => Activity::Busy,
                5..=7 => Activity::Idle {
                    since: Some(now - Duration::minutes(rng.random_range(10..6000))),
                    source: Some(Since::Provider),
                    start_seen: true,
                    evidence: "0 cameras".into(),
                },
                8 => Activity::Idle {
                    since: None,
                    source: None,
                    start_seen: false,
                    evidence: "0 cameras".into(),
                },
                _ => Activity::Unknown {
                    why: "no row in /compute/served".into(),
                },
            };
            let mut labels = BTreeMap::new();
            labels.insert(
                "team".to_string(),
                ["vision", "nlp", "infra"][i % 3].to_string(),
            );
            if i % 50 == 0 {
                labels.insert("podwarden/protect".to_string(), "true".to_string());
            }
            let ttl = match i % 25 {
                0 => Some(now + Duration::hours(5)),
                1 => Some(now - Duration::hours(2)),
                _ => None,
            };
            Pod {
                provider: if podstack { "podstack" } else { "argus" }.into(),
                kind: if orphan {
                    ResourceKind::Orphan
                } else {
                    ResourceKind::Pod
                },
                target: format!("t{i:07}"),
                pod_id: format!("p{i:07}"),
                name: format!("pod-{i}"),
                status: if rng.random_range(0..8) == 0 {
                    PodStatus::Stopped
                } else {
                    PodStatus::Running
                },
                project: Some(["vision-prod", "research", "llm"][i % 3].into()),
                owner: Some("ops".into()),
                gpu_type: Some("H100-80GB".into()),
                gpu_count: 1 + (i % 4) as u32,
                region: None,
                labels,
                hourly_rate: Money::parse(
                    if podstack { "207.00" } else { "2.49" },
                    Currency::new(if podstack { "INR" } else { "USD" }),
                )
                .expect("a literal amount"),
                created_at: now - Duration::days(rng.random_range(1..200)),
                last_started_at: Some(now - Duration::hours(rng.random_range(1..200))),
                ttl_expires_at: ttl,
                orphaned_since: orphan.then(|| now - Duration::days(rng.random_range(0..30))),
                orphaned_since_source: orphan.then_some(Since::Provider),
                stopped_since: None,
                reading: None,
                health: None,
                activity,
            }
        })
        .collect::<Vec<_>>();
    let providers = ["argus", "podstack"]
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
        .collect();
    Fleet {
        taken_at: now,
        providers,
        pods,
        costs: vec![],
        wallets: vec![],
        idle_costs: Vec::new(),
        facts: Default::default(),
    }
}

fn median(mut v: Vec<StdDuration>) -> (StdDuration, StdDuration) {
    v.sort();
    (v[v.len() / 2], v[0])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7).max(1);
    let set = podwarden::policy::load_dir(std::path::Path::new("policies")).unwrap_or_else(|d| {
        eprintln!("run from the repository root: {d:?}");
        std::process::exit(2)
    });
    let fleet = fleet(n);
    let now = fleet.taken_at;
    let settings = podwarden::plan::PlanSettings {
        limits: Default::default(),
        ..Default::default()
    };
    // Without circuit breakers, so the plan holds every match (the heavier case).
    let mut unlimited = set.clone();
    for p in &mut unlimited.policies {
        p.limits = Default::default();
    }
    let (mut eval_t, mut plan_t) = (Vec::new(), Vec::new());
    let mut actions = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let eval = podwarden::policy::evaluate::evaluate(&fleet.pods, &unlimited, now)
            .unwrap_or_else(|e| panic!("{e}"));
        eval_t.push(t.elapsed());
        let t = Instant::now();
        let plan = podwarden::plan::build(&fleet, &unlimited, &eval, &settings, now, "bench", now);
        plan_t.push(t.elapsed());
        actions = plan.actions.len();
    }
    let (em, eb) = median(eval_t);
    let (pm, pb) = median(plan_t);
    println!(
        "pods: {n}  policies: {}  runs: {runs}  actions planned: {actions}",
        set.policies.len()
    );
    println!(
        "evaluate (frame + all policies): median {:.1} ms, best {:.1} ms",
        em.as_secs_f64() * 1e3,
        eb.as_secs_f64() * 1e3
    );
    println!(
        "plan build (guards, reasons, keys): median {:.1} ms, best {:.1} ms",
        pm.as_secs_f64() * 1e3,
        pb.as_secs_f64() * 1e3
    );
    println!("total: median {:.1} ms", (em + pm).as_secs_f64() * 1e3);
}
