//! Wrong plans, each pinned over real HTTP against the sandbox: the facts a stop
//! stands on and the guards no policy can get around.

use std::path::PathBuf;

use chrono::Utc;
use podwarden::plan::{Plan, PlanSettings};
use podwarden::policy::load::load_sources;
use podwarden::providers::{OpKind, Operation, Provider};
use podwarden::sandbox::SandboxConfig;
use podwarden::state::store::Store;
use serde_json::Value;

use crate::support::*;

fn actions(plan: &Value) -> Vec<&Value> {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .collect()
}

fn blocked_why<'a>(plan: &'a Value, policy: &str) -> Vec<&'a str> {
    plan["blocked"]
        .as_array()
        .expect("blocked")
        .iter()
        .filter(|b| b["policy"] == policy)
        .filter_map(|b| b["why"].as_str())
        .collect()
}

/// Case 5: `where` conditions and negations cannot get around the plan's guards.
#[test]
fn conditions_cannot_bypass_the_lease_unknown_data_or_the_pods_state() {
    let sandbox = SandboxProcess::start(&["--seed", "42"]);
    let dir = workspace(
        &sandbox.base,
        r#"
[[policy]]
name = "stop-where-idle"
action = "stop"
[policy.match]
where = [{ field = "idle", op = ">=", value = "6h" }]

[[policy]]
name = "stop-not-busy"
action = "stop"
[policy.match]
where = [{ field = "activity", op = "!=", value = "busy" }]
"#,
    );
    let (plan, fleet) = snapshot_and_plan(dir.path());
    let at = plan["evaluated_at"].as_str().expect("evaluated_at");
    assert!(!actions(&plan).is_empty(), "idle running pods are stopped");
    for a in actions(&plan) {
        let pod = pod_of(&fleet, a["target"].as_str().expect("target"));
        assert_eq!(pod["status"], "running", "a stop needs a running pod: {a}");
        assert_eq!(
            pod["activity"]["state"], "idle",
            "only known idle pods: {a}"
        );
        if let Some(ttl) = pod["ttl_expires_at"].as_str() {
            assert!(ttl <= at, "never inside an active lease: {a}");
        }
    }
    let why = blocked_why(&plan, "stop-where-idle");
    assert!(
        why.iter()
            .any(|w| w.starts_with("inside an active resume-TTL lease")),
        "{why:?}"
    );
    let why = blocked_why(&plan, "stop-not-busy");
    assert!(
        why.iter().any(|w| w.starts_with("activity unknown")),
        "{why:?}"
    );
    assert!(
        why.iter().any(|w| w.starts_with("already stopped")),
        "{why:?}"
    );
    // No savings are claimed for pods that are already stopped.
    let stopped_targets: Vec<&str> = fleet["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter(|p| p["status"] == "stopped")
        .filter_map(|p| p["target"].as_str())
        .collect();
    assert!(actions(&plan)
        .iter()
        .all(|a| !stopped_targets.contains(&a["target"].as_str().unwrap_or_default())));
}

/// Case 5, the other half: a policy that means to stop inside a lease says so, and only
/// stop and terminate policies may say it.
#[test]
fn stopping_inside_a_lease_takes_an_explicit_validated_key() {
    let sandbox = SandboxProcess::start(&["--seed", "42"]);
    let dir = workspace(
        &sandbox.base,
        r#"
[[policy]]
name = "stop-leased-idle"
action = "stop"
override_ttl_lease = true
[policy.match]
ttl = "active"
idle_for = "6h"
"#,
    );
    let (plan, fleet) = snapshot_and_plan(dir.path());
    assert!(
        !actions(&plan).is_empty(),
        "leased idle workers are stopped when the policy says so"
    );
    for a in actions(&plan) {
        let pod = pod_of(&fleet, a["target"].as_str().expect("target"));
        assert!(pod["ttl_expires_at"].is_string());
    }

    let bad = workspace(
        &sandbox.base,
        "[[policy]]\nname = \"r\"\naction = \"resume\"\noverride_ttl_lease = true\n[policy.match]\nstatus = \"stopped\"\n",
    );
    let out = podwarden_in(bad.path(), &["validate", "policies"]);
    assert_eq!(out.status.code(), Some(2));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("policies/p.toml:4:22: error[P021]"),
        "{shown}"
    );
}

/// Case 6: an amount names its currency; an INR pod never compares with a USD amount.
#[test]
fn money_compares_only_within_its_currency() {
    let sandbox = SandboxProcess::start(&["--seed", "42"]);
    let bare = workspace(
        &sandbox.base,
        "[[policy]]\nname = \"pricey\"\naction = \"report\"\n[policy.match]\nwhere = [{ field = \"hourly_rate\", op = \">\", value = \"2.00\" }]\n",
    );
    let out = podwarden_in(bare.path(), &["validate", "policies"]);
    assert_eq!(out.status.code(), Some(2));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("policies/p.toml:5:53: error[P020]"),
        "{shown}"
    );
    assert!(
        shown.contains("\"2.00 USD\""),
        "the hint shows how: {shown}"
    );

    let dir = workspace(
        &sandbox.base,
        "[[policy]]\nname = \"pricey\"\naction = \"report\"\n[policy.match]\nwhere = [{ field = \"hourly_rate\", op = \">\", value = \"2.00 USD\" }]\n",
    );
    let (plan, fleet) = snapshot_and_plan(dir.path());
    let reported = plan["reported"].as_array().expect("reported");
    assert!(!reported.is_empty());
    let inr = fleet["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter(|p| p["hourly_rate"]["currency"] == "INR")
        .count();
    assert!(inr > 0, "the sandbox bills some pods in INR");
    for r in reported {
        let pod = pod_of(&fleet, r["target"].as_str().expect("target"));
        assert_eq!(pod["hourly_rate"]["currency"], "USD", "{r}");
    }
}

/// Case 4: `--now` with a live collection is refused, and nothing is recorded.
#[test]
fn now_is_refused_with_live_collection_and_records_nothing() {
    let sandbox = SandboxProcess::start(&["--seed", "42"]);
    let dir = workspace(
        &sandbox.base,
        "[[policy]]\nname = \"p\"\naction = \"report\"\n[policy.match]\nstatus = \"running\"\n",
    );
    let out = podwarden_in(
        dir.path(),
        &[
            "plan",
            "--config",
            "podwarden.toml",
            "--now",
            "2026-01-01T02:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--now 2026-01-01T02:00:00+00:00 applies only with --snapshot")
    );
    assert!(
        !dir.path().join("state").exists(),
        "no sighting was recorded"
    );
}

fn resume_policy(target: &str) -> podwarden::policy::PolicySet {
    let toml = format!(
        "[[policy]]\nname = \"resume-one\"\nproviders = [\"podstack\"]\naction = \"resume\"\n\
         [policy.match]\nstatus = \"stopped\"\nwhere = [{{ field = \"target\", op = \"==\", value = \"{target}\" }}]\n"
    );
    load_sources(&[(PathBuf::from("p.toml"), toml)]).expect("policy loads")
}

async fn collect_and_plan(
    client: &podwarden::providers::podstack::Podstack,
    store: &mut Store,
    set: &podwarden::policy::PolicySet,
) -> Plan {
    let now = Utc::now();
    let mut fleet = podwarden::fleet::Fleet {
        taken_at: now,
        providers: vec![podwarden::fleet::ProviderStatus {
            activity_reads: None,
            cost_reads: None,
            name: "podstack".into(),
            complete: true,
            pods: 0,
            error: None,
            gaps: vec![],
        }],
        pods: client.collect(now, 1).await.expect("collect").pods,
        costs: vec![],
        wallets: vec![],
        idle_costs: Vec::new(),
        facts: Default::default(),
    };
    fleet.normalize_order();
    store.observe(&mut fleet, now).expect("observe");
    podwarden::plan::make(&fleet, set, &PlanSettings::default(), now, "t", now).expect("evaluate")
}

/// Case 7: two resumes of one pod after different stops carry different keys (the provider
/// replays a repeated key for 24 h and does nothing); re-planning one stop gives the same key.
#[tokio::test(flavor = "multi_thread")]
async fn resumes_after_different_stops_carry_different_keys() {
    let s = sandbox(SandboxConfig {
        transition_secs: 0,
        pods: 40,
        ..SandboxConfig::default()
    })
    .await;
    let target = {
        let w = s.sandbox.world();
        w.podstack
            .pods
            .values()
            .find(|p| p.pod.status == "Stopped" && !p.pod.labels.contains_key("podwarden/protect"))
            .map(|p| p.pod.id.clone())
            .expect("a stopped pod")
    };
    let dir = tempfile::tempdir().expect("temp");
    let mut store = Store::open(&dir.path().join("state.db")).expect("store");
    let client = podstack(&s, ADMIN);
    let set = resume_policy(&target);

    let first = collect_and_plan(&client, &mut store, &set).await;
    let again = collect_and_plan(&client, &mut store, &set).await;
    assert_eq!(first.actions.len(), 1, "{:?}", first.blocked);
    assert_eq!(
        first.actions[0].idempotency_key, again.actions[0].idempotency_key,
        "the same stop, planned twice, is the same resume"
    );
    let op = |kind, key: &str| Operation {
        kind: podwarden::fleet::ResourceKind::Pod,
        target: target.clone(),
        op: kind,
        reason: "test".into(),
        ttl_hours: None,
        idempotency_key: key.into(),
        confirm: false,
    };
    client
        .execute(&op(OpKind::Resume, &first.actions[0].idempotency_key))
        .await
        .expect("resumed");
    // Let the resume settle and be seen running, then someone stops it again.
    let running = collect_and_plan(&client, &mut store, &set).await;
    assert!(running.actions.is_empty());
    client
        .execute(&op(OpKind::Stop, "someone-else-stops-it"))
        .await
        .expect("stopped");

    let second = collect_and_plan(&client, &mut store, &set).await;
    assert_eq!(second.actions.len(), 1);
    assert_ne!(
        first.actions[0].idempotency_key, second.actions[0].idempotency_key,
        "a resume after another stop is a new operation"
    );
    client
        .execute(&op(OpKind::Resume, &second.actions[0].idempotency_key))
        .await
        .expect("resumed again");
    let status = {
        let mut w = s.sandbox.world();
        w.settle(s.sandbox.clock.now());
        w.podstack.pods[&target].pod.status.clone()
    };
    assert_eq!(
        status, "Running",
        "the second resume was carried out, not replayed"
    );
}
