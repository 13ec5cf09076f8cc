//! Podstack utilisation evidence over real HTTP: an in-process sandbox serving only a
//! scenario's pods (`pods: 0`), the real Podstack client, and a plan built through the
//! library with a 6 h idle policy. Each case of issue 6 (restarts, missing GPU readings,
//! too few readings, gaps), and the sandbox features they rest on: daily profiles, the
//! settable clock, the example scenario file, actions on scenario pods.

use chrono::{DateTime, Duration, Utc};
use podwarden::fleet::{Activity, Fleet, Pod, PodStatus, ResourceKind};
use podwarden::plan::{Plan, PlanSettings};
use podwarden::policy::load::load_sources;
use podwarden::providers::argus::Argus;
use podwarden::providers::podstack::{IdleThresholds, Podstack};
use podwarden::providers::{OpKind, Operation, Provider};
use podwarden::sandbox::{RunningSandbox, SandboxConfig, Scenario};

use crate::support::*;

/// The sandbox clock at start: 02:02 UTC (a sample every 5 minutes, the last at 02:00).
fn start() -> DateTime<Utc> {
    at("2026-11-21T02:02:00Z")
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

const IDLE_POLICY: &str = r#"
[[policy]]
name = "stop-idle"
action = "stop"
reason = "idle {idle_hours}h: {evidence} (policy {policy})"
[policy.match]
status = "running"
idle_for = "6h"
"#;

async fn scenario_sandbox(scenario: &str) -> RunningSandbox {
    sandbox(SandboxConfig {
        pods: 0,
        now: Some(start()),
        scenario: Some(Scenario::parse(scenario).expect("scenario")),
        ..SandboxConfig::default()
    })
    .await
}

/// Collects Podstack through the real client, at the sandbox clock's now.
async fn collect(s: &RunningSandbox) -> Fleet {
    let providers: Vec<Box<dyn Provider>> = vec![Box::new(podstack(s, READER))];
    let (fleet, errors) = podwarden::collect::collect(&providers, s.sandbox.clock.now(), 1).await;
    assert!(errors.is_empty(), "{errors:?}");
    fleet
}

fn plan(fleet: &Fleet) -> Plan {
    let set = load_sources(&[("test.toml".into(), IDLE_POLICY.to_string())])
        .unwrap_or_else(|d| panic!("{d:#?}"));
    let now = fleet.taken_at;
    podwarden::plan::make(fleet, &set, &PlanSettings::default(), now, "test", now)
        .expect("evaluates")
}

fn pod<'a>(fleet: &'a Fleet, target: &str) -> &'a Pod {
    fleet
        .pods
        .iter()
        .find(|p| p.target == target)
        .unwrap_or_else(|| panic!("{target} collected"))
}

fn not_planned(plan: &Plan, target: &str) {
    assert!(
        plan.actions.iter().all(|a| a.target != target),
        "{target} must not be planned: {:#?}",
        plan.actions
    );
}

/// `(since, start_seen)` of an idle pod.
fn idle(p: &Pod) -> (DateTime<Utc>, bool) {
    match &p.activity {
        Activity::Idle {
            since: Some(since),
            start_seen,
            ..
        } => (*since, *start_seen),
        other => panic!("{} should be idle with a known since: {other:?}", p.target),
    }
}

fn unknown_why(p: &Pod) -> String {
    match &p.activity {
        Activity::Unknown { why } => why.clone(),
        other => panic!("{} should be unknown: {other:?}", p.target),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_restarted_an_hour_ago_is_idle_for_an_hour_not_for_the_run_before_it() {
    let s = scenario_sandbox(
        r#"
        [[podstack]]
        id = "pd_restarted"
        started = "-1h"
        activity = { idle_since = "-1h" }
        earlier_runs = [{ from = "-20h", to = "-65m" }]
        "#,
    )
    .await;
    let fleet = collect(&s).await;
    let (since, start_seen) = idle(pod(&fleet, "pd_restarted"));
    // The first sample of the current run: 01:05, within one step of the start (01:02).
    assert_eq!(since, at("2026-11-21T01:05:00Z"));
    assert!(start_seen, "the run begins at the pod's start");
    not_planned(&plan(&fleet), "pd_restarted");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn samples_without_gpu_readings_are_unknown_and_never_planned() {
    let s = scenario_sandbox(
        r#"
        [[podstack]]
        id = "pd_nogpu"
        activity = { idle_since = "-2d" }
        gpu_readings = false
        "#,
    )
    .await;
    let fleet = collect(&s).await;
    let why = unknown_why(pod(&fleet, "pd_nogpu"));
    assert!(why.contains("no GPU readings"), "{why}");
    let plan = plan(&fleet);
    not_planned(&plan, "pd_nogpu");
    assert!(
        plan.blocked
            .iter()
            .any(|b| b.target == "pd_nogpu" && b.why.contains("unknown")),
        "{:#?}",
        plan.blocked
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_started_five_minutes_ago_has_too_few_readings() {
    let s = scenario_sandbox(
        r#"
        [[podstack]]
        id = "pd_new"
        started = "-5m"
        activity = { idle_since = "-5m" }
        "#,
    )
    .await;
    let fleet = collect(&s).await;
    let why = unknown_why(pod(&fleet, "pd_new"));
    assert!(why.contains("too few readings"), "{why}");
    not_planned(&plan(&fleet), "pd_new");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gap_in_samples_ends_the_idle_run_and_hides_its_start() {
    let s = scenario_sandbox(
        r#"
        [[podstack]]
        id = "pd_gap"
        activity = { idle_since = "-10h" }
        gaps = [{ from = "-7h", to = "-4h" }]
        "#,
    )
    .await;
    let fleet = collect(&s).await;
    let (since, start_seen) = idle(pod(&fleet, "pd_gap"));
    // The gap ends at 22:02; the first sample after it is at 22:05.
    assert_eq!(since, at("2026-11-20T22:05:00Z"));
    assert!(
        !start_seen,
        "the idle run reaches back to a gap: its start is not seen"
    );
    not_planned(&plan(&fleet), "pd_gap");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_busy_pod_is_idle_since_the_end_of_its_hours_night_after_night() {
    let s = scenario_sandbox(
        r#"
        [[podstack]]
        id = "pd_daily"
        started = "-3d"
        activity = { daily = "08:00-23:00" }
        "#,
    )
    .await;
    let fleet = collect(&s).await;
    let (since, start_seen) = idle(pod(&fleet, "pd_daily"));
    assert_eq!(since, at("2026-11-20T23:00:00Z"));
    assert!(start_seen, "a busy interval precedes the idle run");
    not_planned(&plan(&fleet), "pd_daily");

    // At noon it is busy; the next night it is idle since 23:00 of the new day.
    s.sandbox.clock.advance(Duration::hours(10));
    let fleet = collect(&s).await;
    assert_eq!(pod(&fleet, "pd_daily").activity, Activity::Busy);
    s.sandbox.clock.advance(Duration::hours(14));
    let fleet = collect(&s).await;
    let (since, start_seen) = idle(pod(&fleet, "pd_daily"));
    assert_eq!(since, at("2026-11-21T23:00:00Z"));
    assert!(start_seen);
    not_planned(&plan(&fleet), "pd_daily");
    s.stop().await;
}

#[tokio::test]
async fn an_argus_daily_worker_follows_the_sandbox_clock() {
    let s = scenario_sandbox(
        r#"
        [[worker]]
        id = "wkr_daily"
        cameras = 7
        activity = { daily = "08:00-23:00" }
        "#,
    )
    .await;
    let activity = || async {
        let inv = argus(&s, READER)
            .collect(s.sandbox.clock.now(), 1)
            .await
            .expect("collects");
        assert_eq!(inv.pods.len(), 1);
        inv.pods[0].activity.clone()
    };
    let idle_since = |a: Activity| match a {
        Activity::Idle {
            since, start_seen, ..
        } => (since, start_seen),
        other => panic!("idle expected: {other:?}"),
    };
    // 02:02: 0 cameras, last served at the end of yesterday's hours.
    assert_eq!(
        idle_since(activity().await),
        (Some(at("2026-11-20T23:00:00Z")), true)
    );
    // Noon: serving.
    s.sandbox.clock.set(at("2026-11-21T12:00:00Z"));
    assert_eq!(activity().await, Activity::Busy);
    // 02:00 the next day: idle since 23:00 of the new day.
    s.sandbox.clock.advance(Duration::hours(14));
    assert_eq!(
        idle_since(activity().await),
        (Some(at("2026-11-21T23:00:00Z")), true)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_scenario_plays_through_the_sandbox_command() {
    let path = repo().join("examples/scenario.toml");
    let path = path.to_str().expect("utf-8 path");
    let sandbox = crate::support::SandboxProcess::start(&[
        "--pods",
        "0",
        "--scenario",
        path,
        "--now",
        "2026-11-21T02:02:00Z",
    ]);
    let ps = Podstack::new(
        "podstack",
        settings(format!("{}/podstack/v1", sandbox.base), READER),
        IdleThresholds::default(),
    )
    .expect("client");
    let ar = Argus::new(
        "argus",
        settings(format!("{}/argus/v1", sandbox.base), READER),
    )
    .expect("client");
    let providers: Vec<Box<dyn Provider>> = vec![Box::new(ar), Box::new(ps)];
    // The process's clock started at --now and runs in real time: read "now" from it.
    let (fleet, errors) = podwarden::collect::collect(&providers, start(), 1).await;
    assert!(errors.is_empty(), "{errors:?}");
    let mut targets: Vec<&str> = fleet.pods.iter().map(|p| p.target.as_str()).collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![
            "pd_gap",
            "pd_nogpu",
            "pd_restarted",
            "pod_leftover",
            "wkr_daytime",
            "wkr_quiet"
        ]
    );
    assert_eq!(
        idle(pod(&fleet, "wkr_daytime")),
        (at("2026-11-20T23:00:00Z"), true)
    );
    assert_eq!(
        idle(pod(&fleet, "pd_restarted")),
        (at("2026-11-21T01:05:00Z"), true)
    );
    assert!(unknown_why(pod(&fleet, "pd_nogpu")).contains("no GPU readings"));
    assert_eq!(
        idle(pod(&fleet, "pd_gap")),
        (at("2026-11-20T22:05:00Z"), false)
    );
    assert_eq!(
        pod(&fleet, "pod_leftover").orphaned_since,
        Some(at("2026-11-11T02:02:00Z"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_actions_move_a_scenario_pod_like_a_generated_one() {
    let s = scenario_sandbox(
        r#"
        [[podstack]]
        id = "pd_quiet"
        activity = { idle_since = "-10h" }
        earlier_runs = [{ from = "-5d", to = "-3d" }]
        "#,
    )
    .await;
    let op = |op: OpKind, key: &str| Operation {
        kind: ResourceKind::Pod,
        target: "pd_quiet".into(),
        op,
        reason: "integration test: scenario pod".into(),
        ttl_hours: None,
        idempotency_key: key.into(),
        confirm: false,
    };
    let client = podstack(&s, ADMIN);
    client
        .execute(&op(OpKind::Stop, "k-stop"))
        .await
        .expect("stop");
    // The transition completes when the sandbox clock passes it.
    s.sandbox.clock.advance(Duration::seconds(10));
    let fleet = collect(&s).await;
    assert_eq!(pod(&fleet, "pd_quiet").status, PodStatus::Stopped);
    s.sandbox.clock.advance(Duration::hours(2));
    client
        .execute(&op(OpKind::Resume, "k-start"))
        .await
        .expect("start");
    let restarted = s.sandbox.clock.now();
    s.sandbox.clock.advance(Duration::minutes(30));
    let fleet = collect(&s).await;
    let p = pod(&fleet, "pd_quiet");
    assert_eq!(p.status, PodStatus::Running);
    let started = p.last_started_at.expect("started_at");
    assert!(
        (started - restarted).num_seconds().abs() < 5,
        "{started} vs {restarted}"
    );
    // Started busy (as a generated pod is after a start): its samples since the start say so.
    assert_eq!(p.activity, Activity::Busy);
    s.stop().await;
}
