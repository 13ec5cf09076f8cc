//! Generates the sandbox's fleet deterministically from a seed.
//!
//! The fleet looks like a real one: busy and idle running workers (idle for various
//! hours), stopped ones, resumes with an active or expired TTL, workers missing from
//! `/compute/served`, orphans of various ages (some of unknown age), several projects,
//! owners and GPU types, and Podstack pods in INR and USD, some with missing or stale
//! utilisation samples. Every category appears in any fleet of 20 pods or more.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::world::{ArgusPod, ArgusWorker, CostBasis, PodstackPod, Profile, Telemetry, World};
use crate::providers::argus::wire as argus;
use crate::providers::podstack::wire as podstack;

/// GPU models with their hourly rate per GPU in USD micros and INR micros.
const GPUS: &[(&str, i64, i64)] = &[
    ("H100-80GB", 2_490_000, 207_000_000),
    ("A100-80GB", 1_790_000, 149_000_000),
    ("A100-40GB", 1_290_000, 107_000_000),
    ("L40S", 990_000, 82_000_000),
    ("RTX-4090", 690_000, 57_000_000),
    ("A10G", 600_000, 50_000_000),
];
const ARGUS_PROJECTS: &[&str] = &["vision-prod", "vision-staging", "research", "demo-booth"];
const OWNERS: &[&str] = &[
    "maria.k", "deshawn", "li.wei", "priya.s", "tom.b", "ops-bot",
];
const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-central-1"];
/// Podstack projects: (id, name, billing currency).
const PODSTACK_PROJECTS: &[(&str, &str, &str)] = &[
    ("prj_llm", "llm-finetune", "USD"),
    ("prj_cv", "cv-labelling", "INR"),
    ("prj_res", "research-india", "INR"),
    ("prj_sbx", "sandbox", "USD"),
];

/// Share of the fleet at each provider: Argus 70 % (orphans included), Podstack 30 %.
const ARGUS_SHARE_PCT: usize = 70;

pub fn generate(seed: u64, pods: usize, now: DateTime<Utc>) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut world = World::default();
    let argus_n = (pods * ARGUS_SHARE_PCT).div_ceil(100);
    for i in 0..argus_n {
        argus_entry(&mut world, &mut rng, i, now);
    }
    // An empty fleet (`--pods 0`, scenario pods only) has no generated projects either.
    if pods > 0 {
        world.podstack.projects = PODSTACK_PROJECTS
            .iter()
            .map(|(id, name, _)| podstack::Project {
                id: id.to_string(),
                name: name.to_string(),
            })
            .collect();
    }
    for i in 0..pods.saturating_sub(argus_n) {
        podstack_entry(&mut world, &mut rng, i, now);
    }
    world.podstack.wallet_currency = "INR".into();
    world.podstack.wallet_balance_micros = rng.random_range(40_000..400_000) * 1_000_000;
    world
}

fn id(rng: &mut ChaCha8Rng, prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let s: String = (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{s}")
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

fn rate_string(micros: i64, places: u32) -> String {
    crate::money::fixed(crate::money::micros_to_decimal(micros), places)
}

/// One Argus worker (with its pod) or one orphan pod; `i % 20` picks the category.
fn argus_entry(world: &mut World, rng: &mut ChaCha8Rng, i: usize, now: DateTime<Utc>) {
    let (gpu, usd, _) = *pick(rng, GPUS);
    let gpu_count = *pick(rng, &[1u32, 1, 1, 2, 4, 8]);
    let rate = usd * i64::from(gpu_count);
    let created = now - Duration::minutes(rng.random_range(3 * 24 * 60..120 * 24 * 60));
    let region = pick(rng, REGIONS).to_string();
    let pod_id = id(rng, "pod_");
    let project = pick(rng, ARGUS_PROJECTS).to_string();
    let seed = rng.random::<u64>();

    if i % 20 == 19 {
        // An orphan: billed, no worker row. Its orphan age is independent of its creation.
        let orphaned_since = match rng.random_range(0..6) {
            0 => None,
            1 => Some(now - hours(20)),
            2 => Some(now - hours(3 * 24 + 5)),
            3 => Some(now - hours(9 * 24 + 2)),
            4 => Some(now - hours(14 * 24)),
            _ => Some(now - hours(30 * 24 + 7)),
        };
        let status = if rng.random_range(0..5) == 0 {
            "stopped"
        } else {
            "running"
        };
        world.argus.costs.push(CostBasis {
            pod_id: pod_id.clone(),
            worker_id: None,
            project: project.clone(),
            rate_micros: rate,
            currency: "USD".into(),
            created: created.date_naive(),
            duty_pct: if status == "running" { 100 } else { 0 },
            seed,
        });
        world.argus.pods.insert(
            pod_id.clone(),
            ArgusPod {
                pod: argus::ProviderPod {
                    pod_id,
                    worker_id: None,
                    status: status.into(),
                    gpu_type: gpu.into(),
                    gpu_count,
                    region,
                    hourly_rate_usd: rate_string(rate, 4),
                    created_at: created,
                    orphaned_since,
                },
                pending: None,
            },
        );
        return;
    }

    let worker_id = id(rng, "wkr_");
    let started = created.max(now - Duration::minutes(rng.random_range(60..40 * 24 * 60)));
    let idle_hours = rng.random_range(7..96);
    let (status, profile, last_started, ttl, unserved) = match i % 20 {
        0..=7 => ("running", Profile::Busy, Some(started), None, false),
        8..=10 => (
            "running",
            Profile::IdleSince(now - hours(idle_hours)),
            Some(started),
            None,
            false,
        ),
        11 => (
            "running",
            Profile::IdleSince(now - Duration::minutes(rng.random_range(20..300))),
            Some(started),
            None,
            false,
        ),
        12 | 13 => (
            "stopped",
            Profile::IdleSince(now - hours(rng.random_range(12..400))),
            Some(started),
            None,
            false,
        ),
        14 => {
            // Resumed with a TTL that is still running, idle for longer than 6 h: a lease.
            let resumed = now - hours(10);
            (
                "running",
                Profile::IdleSince(now - hours(8)),
                Some(resumed),
                Some(resumed + hours(24)),
                false,
            )
        }
        15 => {
            let resumed = now - hours(rng.random_range(8..40));
            let expired = now - hours(rng.random_range(1..6));
            let profile = if rng.random_bool(0.5) {
                Profile::Busy
            } else {
                Profile::IdleSince(now - hours(2))
            };
            ("running", profile, Some(resumed), Some(expired), false)
        }
        // Running but missing from /compute/served: unknown, never idle.
        16 => ("running", Profile::Silent, Some(started), None, true),
        // Zero cameras and no last_served_at: idle, since unknown (the state store counts).
        17 => ("running", Profile::Silent, Some(started), None, false),
        _ => (
            *pick(rng, &["starting", "error"]),
            Profile::Busy,
            Some(started),
            None,
            false,
        ),
    };
    let mut labels = BTreeMap::new();
    labels.insert(
        "team".to_string(),
        pick(rng, &["vision", "ml-platform", "research"]).to_string(),
    );
    if rng.random_range(0..12) == 0 {
        labels.insert("podwarden/protect".to_string(), "true".to_string());
    }
    let worker = argus::Worker {
        id: worker_id.clone(),
        pod_id: pod_id.clone(),
        name: format!("{}-{:04}", project, i),
        status: status.into(),
        gpu_type: gpu.into(),
        gpu_count,
        region: region.clone(),
        project: project.clone(),
        owner: pick(rng, OWNERS).to_string(),
        labels,
        hourly_rate_usd: rate_string(rate, 4),
        created_at: created,
        last_started_at: last_started,
        ttl_expires_at: ttl,
    };
    world.argus.costs.push(CostBasis {
        pod_id: pod_id.clone(),
        worker_id: Some(worker_id.clone()),
        project,
        rate_micros: rate,
        currency: "USD".into(),
        created: created.date_naive(),
        duty_pct: if status == "stopped" { 20 } else { 100 },
        seed,
    });
    world.argus.pods.insert(
        pod_id.clone(),
        ArgusPod {
            pod: argus::ProviderPod {
                pod_id,
                worker_id: Some(worker_id.clone()),
                status: status.into(),
                gpu_type: gpu.into(),
                gpu_count,
                region,
                hourly_rate_usd: rate_string(rate, 4),
                created_at: created,
                orphaned_since: None,
            },
            pending: None,
        },
    );
    if unserved {
        world.argus.unserved.insert(worker_id.clone());
    }
    world.argus.workers.insert(
        worker_id,
        ArgusWorker {
            worker,
            profile,
            cameras_when_busy: rng.random_range(1..48),
            pending: None,
        },
    );
}

/// One Podstack pod; `i % 10` picks the category.
fn podstack_entry(world: &mut World, rng: &mut ChaCha8Rng, i: usize, now: DateTime<Utc>) {
    let (gpu, usd, inr) = *pick(rng, GPUS);
    let (project_id, project_name, currency) = *pick(rng, PODSTACK_PROJECTS);
    let gpu_count = *pick(rng, &[1u32, 1, 2, 4]);
    let rate = if currency == "INR" { inr } else { usd } * i64::from(gpu_count);
    let created = now - Duration::minutes(rng.random_range(2 * 24 * 60..90 * 24 * 60));
    let started = created.max(now - Duration::minutes(rng.random_range(60..20 * 24 * 60)));
    let (status, profile) = match i % 10 {
        0..=3 => ("Running", Profile::Busy),
        4 | 5 => (
            "Running",
            Profile::IdleSince(now - hours(rng.random_range(7..72))),
        ),
        6 => (
            "Running",
            Profile::IdleSince(now - Duration::minutes(rng.random_range(15..240))),
        ),
        7 => (
            "Stopped",
            Profile::IdleSince(now - hours(rng.random_range(10..200))),
        ),
        8 => ("Running", Profile::Silent),
        _ => (
            "Running",
            Profile::StaleSince(now - hours(rng.random_range(2..9))),
        ),
    };
    let pod_id = id(rng, "pd_");
    let running = status == "Running";
    let hours_billed = (now - created).num_hours().max(1);
    let total = rate * hours_billed * if running { 1 } else { 0 } / 2 + rate;
    let share = |pct: i64| rate_string(rate * pct / 100, 2);
    let mut labels = BTreeMap::new();
    labels.insert(
        "team".to_string(),
        pick(rng, &["nlp", "cv", "infra"]).to_string(),
    );
    if rng.random_range(0..12) == 0 {
        labels.insert("podwarden/protect".to_string(), "true".to_string());
    }
    let seed = rng.random::<u64>();
    world.podstack.costs.push(CostBasis {
        pod_id: pod_id.clone(),
        worker_id: None,
        project: project_id.to_string(),
        rate_micros: rate,
        currency: currency.into(),
        created: created.date_naive(),
        duty_pct: if running { 100 } else { 30 },
        seed,
    });
    let pod = podstack::Pod {
        id: pod_id.clone(),
        name: format!("{project_name}-{i:03}"),
        project_id: project_id.into(),
        status: status.into(),
        image: pick(
            rng,
            &[
                "pytorch/pytorch:2.4.0-cuda12.1",
                "vllm/vllm-openai:v0.6.3",
                "nvcr.io/nvidia/tritonserver:24.08",
            ],
        )
        .to_string(),
        resources: podstack::Resources {
            gpu_type: gpu.into(),
            gpu_count,
            cpu_cores: f64::from(8 * gpu_count),
            memory_gb: f64::from(64 * gpu_count),
        },
        replicas: 1,
        health: if matches!(profile, Profile::StaleSince(_)) {
            "yellow"
        } else {
            "green"
        }
        .into(),
        created_at: created,
        started_at: running.then_some(started),
        hourly_rate: rate_string(rate, 2),
        currency: currency.into(),
        total_cost: rate_string(total, 2),
        cost_breakdown: podstack::Breakdown {
            gpu: share(82),
            cpu: share(8),
            memory: share(6),
            storage: share(4),
        },
        labels,
        nfs_volumes: if rng.random_bool(0.3) {
            vec![format!("nfs-{project_id}-data")]
        } else {
            vec![]
        },
    };
    world.podstack.pods.insert(
        pod_id,
        PodstackPod {
            pod,
            profile,
            seed,
            pending: None,
            telemetry: Telemetry::default(),
        },
    );
}
