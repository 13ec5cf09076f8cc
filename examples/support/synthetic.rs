//! The synthetic fleet the benchmarks share: pods of two providers (30 % Podstack in INR with
//! a resource breakdown, 5 % orphans, a third idle), each with a daily cost row for `days`
//! days ending on the day of `now`. A pod's data depends only on its index, so a fleet built
//! a range of pods at a time (`bench_data`) holds the same rows as one built whole.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{DateTime, Duration, Utc};
use podwarden::fleet::{
    Activity, CostRow, Fleet, Pod, PodHealth, PodStatus, ProviderStatus, ResourceBreakdown,
    ResourceKind, Since,
};
use podwarden::money::{Currency, Money};
use podwarden::providers::registry::ProviderType;
use rust_decimal::Decimal;

/// The pods `range` of the synthetic fleet at `now`, with `days` days of cost rows each.
pub fn fleet(range: Range<usize>, days: i64, now: DateTime<Utc>) -> Fleet {
    let today = now.date_naive();
    let usd = Currency::usd();
    let inr = Currency::new("INR");
    let projects = ["vision-prod", "research", "llm", "infra", "speech"];
    let mut pods = Vec::with_capacity(range.len());
    let mut costs = Vec::with_capacity(range.len() * days as usize);
    for i in range {
        let podstack = i % 10 >= 7;
        let orphan = !podstack && i % 20 == 6;
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
