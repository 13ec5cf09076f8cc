//! The provider contract over real HTTP: pagination, repeated cursors, scopes, rate limits,
//! confirmation, reason length, idempotency, asynchronous state and unknown activity.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use podwarden::fleet::{Activity, ResourceKind};
use podwarden::providers::{OpKind, Operation, Provider, ProviderError};
use podwarden::sandbox::{Fault, SandboxConfig};

use crate::support::*;

fn op(target: &str, op: OpKind, key: &str) -> Operation {
    Operation {
        kind: ResourceKind::Pod,
        target: target.into(),
        op,
        reason: "integration test: idle worker".into(),
        ttl_hours: None,
        idempotency_key: key.into(),
        confirm: false,
    }
}

fn running_workers(s: &podwarden::sandbox::RunningSandbox, n: usize) -> Vec<String> {
    let world = s.sandbox.world();
    let ids: Vec<String> = world
        .argus
        .workers
        .values()
        .filter(|w| w.worker.status == "running")
        .map(|w| w.worker.id.clone())
        .take(n)
        .collect();
    assert_eq!(ids.len(), n, "the sandbox fleet has {n} running workers");
    ids
}

#[tokio::test]
async fn argus_lists_are_followed_across_pages_to_the_end() {
    let s = sandbox(SandboxConfig {
        pods: 2000,
        ..SandboxConfig::default()
    })
    .await;
    let expected = s.sandbox.world().argus.workers.len();
    assert!(expected > 1000, "more than two pages of 500");
    let workers: Vec<podwarden::providers::argus::wire::Worker> = argus(&s, READER)
        .list_all("/compute/workers", &[])
        .await
        .expect("workers");
    let ids: HashSet<_> = workers.iter().map(|w| w.id.clone()).collect();
    assert_eq!(workers.len(), expected);
    assert_eq!(ids.len(), expected, "no worker twice");
    let pods: Vec<podwarden::providers::argus::wire::ProviderPod> = argus(&s, READER)
        .list_all("/compute/pods", &[])
        .await
        .expect("pods");
    assert_eq!(pods.len(), s.sandbox.world().argus.pods.len());
}

#[tokio::test]
async fn podstack_pages_are_followed_to_the_end() {
    let s = sandbox(SandboxConfig {
        pods: 1200,
        ..SandboxConfig::default()
    })
    .await;
    let expected = s.sandbox.world().podstack.pods.len();
    assert!(expected > 300, "several pages of 100");
    let pods = podstack(&s, READER).list_pods().await.expect("pods");
    let ids: HashSet<_> = pods.iter().map(|p| p.id.clone()).collect();
    assert_eq!((pods.len(), ids.len()), (expected, expected));
}

#[tokio::test]
async fn a_repeating_cursor_is_an_error_not_a_hang() {
    let s = sandbox(SandboxConfig {
        pods: 2000,
        faults: vec![Fault::RepeatCursor],
        ..SandboxConfig::default()
    })
    .await;
    let a = tokio::time::timeout(
        Duration::from_secs(10),
        argus(&s, READER).list_all::<serde_json::Value>("/compute/workers", &[]),
    )
    .await
    .expect("argus returns instead of looping");
    assert!(
        matches!(a, Err(ProviderError::RepeatedCursor { .. })),
        "{a:?}"
    );
    let p = tokio::time::timeout(Duration::from_secs(10), podstack(&s, READER).list_pods())
        .await
        .expect("podstack returns");
    assert!(
        matches!(p, Err(ProviderError::RepeatedCursor { .. })),
        "{p:?}"
    );
}

#[tokio::test]
async fn read_only_token_gets_403_naming_compute_write() {
    let s = sandbox(SandboxConfig::default()).await;
    let target = running_workers(&s, 1).remove(0);
    let err = argus(&s, READER)
        .execute(&op(&target, OpKind::Stop, "k-403"))
        .await
        .unwrap_err();
    match &err {
        ProviderError::Forbidden { required_scope, .. } => {
            assert_eq!(required_scope, "compute:write")
        }
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(err.to_string().contains("compute:write"));
    assert_eq!(podwarden::exit::Exit::for_provider(&err).code(), 5);
}

#[tokio::test]
async fn unknown_token_gets_401() {
    let s = sandbox(SandboxConfig::default()).await;
    let err = argus(&s, "not-a-token")
        .list_all::<serde_json::Value>("/compute/workers", &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err:?}");
    assert!(
        !err.to_string().contains("not-a-token"),
        "errors never print the token"
    );
    assert_eq!(
        podwarden::exit::Exit::for_provider(&err).code(),
        2,
        "a rejected token is a config error"
    );
}

#[tokio::test]
async fn the_21st_operation_in_the_window_gets_429_with_retry_after() {
    let s = sandbox(SandboxConfig::default()).await;
    let targets = running_workers(&s, 21);
    let client = argus(&s, ADMIN);
    for (i, t) in targets[..20].iter().enumerate() {
        client
            .execute(&op(t, OpKind::Stop, &format!("k-{i}")))
            .await
            .unwrap_or_else(|e| panic!("op {i}: {e}"));
    }
    // A second client with the same token does not know the window is used up.
    let err = argus(&s, ADMIN)
        .execute(&op(&targets[20], OpKind::Stop, "k-20"))
        .await
        .unwrap_err();
    match &err {
        ProviderError::RateLimited { retry_after, .. } => assert!(
            *retry_after >= Duration::from_secs(1) && *retry_after <= Duration::from_secs(60)
        ),
        other => panic!("expected 429, got {other:?}"),
    }
    assert_eq!(podwarden::exit::Exit::for_provider(&err).code(), 6);
    let world = s.sandbox.world();
    assert_eq!(
        world.argus.workers[&targets[20]].worker.status, "running",
        "the refused operation did nothing"
    );
}

#[tokio::test]
async fn the_client_paces_itself_by_the_rate_limit_headers() {
    let s = sandbox(SandboxConfig {
        ops_limit: 5,
        ops_window_secs: 2,
        ..SandboxConfig::default()
    })
    .await;
    let client = argus(&s, ADMIN);
    let started = std::time::Instant::now();
    for (i, t) in running_workers(&s, 6).iter().enumerate() {
        client
            .execute(&op(t, OpKind::Stop, &format!("pace-{i}")))
            .await
            .unwrap_or_else(|e| panic!("op {i}: {e}"));
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the sixth call waited for the window to reset"
    );
}

#[tokio::test]
async fn terminate_without_confirm_gets_428() {
    let s = sandbox(SandboxConfig::default()).await;
    let target = running_workers(&s, 1).remove(0);
    let err = argus(&s, ADMIN)
        .execute(&op(&target, OpKind::Terminate, "k-428"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::ConfirmationRequired { .. }),
        "{err:?}"
    );
    assert!(
        s.sandbox.world().argus.workers.contains_key(&target),
        "nothing was terminated"
    );
}

#[tokio::test]
async fn a_two_character_reason_gets_400() {
    let s = sandbox(SandboxConfig::default()).await;
    let target = running_workers(&s, 1).remove(0);
    let mut short = op(&target, OpKind::Stop, "k-400");
    short.reason = "ok".into();
    match argus(&s, ADMIN).execute(&short).await.unwrap_err() {
        ProviderError::BadRequest { code, .. } => assert_eq!(code, "invalid_reason"),
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn a_repeated_idempotency_key_does_not_act_twice() {
    let s = sandbox(SandboxConfig::default()).await;
    let target = running_workers(&s, 1).remove(0);
    let client = argus(&s, ADMIN);
    let first = client
        .execute(&op(&target, OpKind::Stop, "same-key"))
        .await
        .expect("accepted");
    let again = client
        .execute(&op(&target, OpKind::Stop, "same-key"))
        .await
        .expect("replayed, not refused");
    assert_eq!(first, again, "the first response is returned again");
    let audit = s
        .sandbox
        .world()
        .argus
        .audit
        .iter()
        .filter(|a| a.target == target)
        .count();
    assert_eq!(audit, 1, "one operation, one audit entry");
    // A new key is a new request: now the worker is stopping, so it does not fit its state.
    let err = client
        .execute(&op(&target, OpKind::Stop, "other-key"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Conflict { ref code, .. } if code == "invalid_state"),
        "{err:?}"
    );
}

#[tokio::test]
async fn state_changes_complete_asynchronously() {
    let s = sandbox(SandboxConfig {
        transition_secs: 1,
        ..SandboxConfig::default()
    })
    .await;
    let target = running_workers(&s, 1).remove(0);
    argus(&s, ADMIN)
        .execute(&op(&target, OpKind::Stop, "k-async"))
        .await
        .expect("accepted");
    let now = Utc::now();
    let status = |s: &podwarden::sandbox::RunningSandbox| {
        let mut w = s.sandbox.world();
        w.settle(s.sandbox.clock.now());
        w.argus.workers[&target].worker.status.clone()
    };
    assert_eq!(status(&s), "stopping");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        status(&s),
        "stopped",
        "stopped {}ms later",
        (Utc::now() - now).num_milliseconds()
    );
}

#[tokio::test]
async fn orphans_are_terminate_only() {
    let s = sandbox(SandboxConfig::default()).await;
    let orphan = s
        .sandbox
        .world()
        .argus
        .pods
        .values()
        .find(|p| p.pod.worker_id.is_none())
        .map(|p| p.pod.pod_id.clone())
        .expect("an orphan");
    let err = argus(&s, ADMIN)
        .execute(&op(&orphan, OpKind::Stop, "k-orphan"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Conflict { ref code, .. } if code == "orphan_terminate_only"),
        "{err:?}"
    );
    let mut terminate = op(&orphan, OpKind::Terminate, "k-orphan-t");
    terminate.kind = ResourceKind::Orphan;
    terminate.confirm = true;
    argus(&s, ADMIN)
        .execute(&terminate)
        .await
        .expect("orphan terminate accepted");
}

// polars runs its work on tokio's blocking pool, which needs the multi-threaded runtime.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_missing_from_served_is_unknown_and_never_planned_idle() {
    let s = sandbox(SandboxConfig::default()).await;
    let unserved: Vec<String> = s.sandbox.world().argus.unserved.iter().cloned().collect();
    assert!(
        !unserved.is_empty(),
        "the fleet has workers missing from /compute/served"
    );
    let now = s.sandbox.clock.now();
    let inv = argus(&s, READER).collect(now, 3).await.expect("collect");
    for id in &unserved {
        let pod = inv
            .pods
            .iter()
            .find(|p| &p.target == id)
            .expect("still in inventory");
        assert!(
            matches!(pod.activity, Activity::Unknown { .. }),
            "{id}: {:?}",
            pod.activity
        );
    }
    let fleet = podwarden::fleet::Fleet {
        taken_at: now,
        providers: vec![podwarden::fleet::ProviderStatus {
            activity_reads: None,
            cost_reads: None,
            name: "argus".into(),
            complete: true,
            pods: inv.pods.len(),
            error: None,
            gaps: vec![],
        }],
        pods: inv.pods,
        costs: vec![],
        wallets: vec![],
        idle_costs: Vec::new(),
        facts: Default::default(),
    };
    let set = podwarden::policy::builtin::load().expect("shipped policies");
    let plan =
        podwarden::plan::make(&fleet, &set, &Default::default(), now, "t", now).expect("evaluates");
    assert!(
        plan.actions
            .iter()
            .any(|a| a.policy == "stop-idle-argus-workers"),
        "idle workers are planned"
    );
    for id in &unserved {
        assert!(
            !plan
                .actions
                .iter()
                .any(|a| &a.target == id && a.policy == "stop-idle-argus-workers"),
            "{id} planned as idle"
        );
    }
    assert!(
        plan.blocked
            .iter()
            .any(|b| unserved.contains(&b.target) && b.why.contains("unknown")),
        "the plan says why they were skipped"
    );
}

#[tokio::test]
async fn podstack_collects_money_in_its_own_currency_and_signals() {
    let s = sandbox(SandboxConfig::default()).await;
    let now = s.sandbox.clock.now();
    let inv = podstack(&s, READER).collect(now, 3).await.expect("collect");
    let currencies: HashSet<String> = inv
        .pods
        .iter()
        .map(|p| p.hourly_rate.currency.to_string())
        .collect();
    assert!(
        currencies.contains("INR") && currencies.contains("USD"),
        "{currencies:?}"
    );
    assert!(inv
        .pods
        .iter()
        .any(|p| matches!(p.activity, Activity::Idle { .. })));
    assert!(inv
        .pods
        .iter()
        .any(|p| matches!(&p.activity, Activity::Unknown { why } if why.contains("stale"))));
    assert!(inv.pods.iter().any(
        |p| matches!(&p.activity, Activity::Unknown { why } if why.contains("no utilisation"))
    ));
    assert_eq!(inv.wallets.len(), 1);
    assert!(!inv.costs.is_empty());
}

#[tokio::test]
async fn a_provider_that_is_down_makes_the_run_incomplete_not_wrong() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::PodstackDown],
        ..SandboxConfig::default()
    })
    .await;
    let providers: Vec<Box<dyn Provider>> =
        vec![Box::new(argus(&s, READER)), Box::new(podstack(&s, READER))];
    let (fleet, errors) = podwarden::collect::collect(&providers, s.sandbox.clock.now(), 2).await;
    assert_eq!(errors.len(), 1);
    assert_eq!(podwarden::exit::Exit::for_provider(&errors[0]).code(), 7);
    assert!(fleet.is_complete("argus") && !fleet.is_complete("podstack"));
    assert!(fleet.pods.iter().all(|p| p.provider == "argus"));
}
