//! Wrong plans about evidence and guards, each pinned: every test here failed before its fix
//! every test here failed before its fix (the doc comment of each says what went wrong).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use podwarden::fleet::Activity;
use podwarden::plan::{Plan, PlanSettings};
use podwarden::providers::podstack::{IdleThresholds, Podstack};
use podwarden::providers::{OpKind, Operation, Provider};

use crate::support::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// `where idle != "0s"` / `where idle not in ["0s"]`: a busy pod has no idle time (null),
/// and "not equal" held for null, so a busy worker was planned for a stop.
#[test]
fn where_idle_not_equal_never_stops_a_busy_pod() {
    let dir = repo().join("tests/fixtures/review/where-idle-not-equal");
    let out = podwarden(&repo(), &["test", dir.to_str().expect("utf-8 path")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn resume_key(plan: &Plan, target: &str) -> String {
    plan.actions
        .iter()
        .find(|a| a.target == target && a.action.as_str() == "resume")
        .unwrap_or_else(|| panic!("a resume of {target}: {:?}", plan.blocked))
        .idempotency_key
        .clone()
}

/// Issue 6 case 7 for Podstack: a stopped Podstack pod has no `started_at`, so its stopped
/// sighting's "incarnation" is its creation and survived a resume + stop between two nightly
/// runs. Night 2's resume then carried night 1's key, and Podstack replays it (24 h) and does
/// nothing. Fixed: a resume key also names the UTC day it is planned.
#[tokio::test(flavor = "multi_thread")]
async fn podstack_resumes_after_different_stops_get_different_keys() {
    let start = at("2026-11-16T02:00:00Z");
    let s = scenario_sandbox(
        start,
        "[[podstack]]\nid = \"pd_parked\"\nstatus = \"Stopped\"\nlabels = { wake = \"nightly\" }\n",
    )
    .await;
    {
        // A stopped pod has no start (as the sandbox's own stop leaves it).
        let mut w = s.sandbox.world();
        if let Some(p) = w.podstack.pods.get_mut("pd_parked") {
            p.pod.started_at = None;
        }
    }
    let dir = workspace(
        &format!("http://{}", s.addr),
        "[[policy]]\nname = \"wake-parked\"\naction = \"resume\"\nproviders = [\"podstack\"]\n[policy.match]\nstatus = [\"stopped\"]\nlabels = { wake = \"nightly\" }\n",
    );
    let cfg = admin_config(dir.path());

    let (_, plan1) = plan_night(&cfg, start).await;
    let k1 = resume_key(&plan1, "pd_parked");

    // The resume is carried out; its owner stops the pod again in the afternoon.
    let client = podstack(&s, ADMIN);
    for (op, key, when) in [
        (OpKind::Resume, k1.clone(), start + Duration::minutes(5)),
        (
            OpKind::Stop,
            "owner-stop".to_string(),
            start + Duration::hours(12),
        ),
    ] {
        s.sandbox.clock.set(when);
        client
            .execute(&Operation {
                kind: podwarden::fleet::ResourceKind::Pod,
                target: "pd_parked".into(),
                op,
                reason: "carried out".into(),
                ttl_hours: None,
                idempotency_key: key,
                confirm: false,
            })
            .await
            .expect("operation accepted");
        s.sandbox.world().settle(when);
    }

    let night2 = start + Duration::days(1) - Duration::minutes(10);
    s.sandbox.clock.set(night2);
    let (fleet2, plan2) = plan_night(&cfg, night2).await;
    let pod = fleet2
        .pods
        .iter()
        .find(|p| p.target == "pd_parked")
        .expect("pod");
    assert!(matches!(pod.activity, Activity::Unknown { .. }));
    let k2 = resume_key(&plan2, "pd_parked");
    assert_ne!(
        k1, k2,
        "a resume after another stop is a new operation (stopped_since {:?})",
        pod.stopped_since
    );
}

/// A fixture server for one Podstack pod with 2 GPUs whose samples report only GPU 0.
async fn partial_gpu_server() -> std::net::SocketAddr {
    let now = "2026-11-21T02:00:00Z";
    let _ = now;
    let mut samples = Vec::new();
    for i in 0..=24 {
        let t = at("2026-11-21T00:00:00Z") + Duration::minutes(5 * i);
        samples.push(format!(
            r#"{{"at":"{}","cpu_pct":1,"memory_used_gb":1,"memory_limit_gb":8,"gpus":[{{"index":0,"util_pct":0.0,"memory_used_gb":1}}],"net_rx_bytes":{},"net_tx_bytes":0,"disk_used_gb":1}}"#,
            t.to_rfc3339(),
            1000 * i
        ));
    }
    let bodies: HashMap<String, String> = [
        ("/podstack/v1/projects", r#"{"items":[{"id":"prj_a","name":"a"}]}"#.to_string()),
        (
            "/podstack/v1/pods",
            r#"{"items":[{"id":"pd_two","name":"two","project_id":"prj_a","status":"Running","image":"x",
              "resources":{"gpu_type":"H100-80GB","gpu_count":2,"cpu_cores":8,"memory_gb":64},"replicas":1,
              "health":"green","created_at":"2026-10-01T00:00:00Z","started_at":"2026-11-20T23:58:00Z",
              "hourly_rate":"4.00","currency":"USD","total_cost":"100.00",
              "cost_breakdown":{"gpu":"90.00","cpu":"5.00","memory":"3.00","storage":"2.00"},
              "labels":{},"nfs_volumes":[]}],"page":1,"per_page":100,"total":1}"#
                .to_string(),
        ),
        (
            "/podstack/v1/pods/pd_two/stats/history",
            format!(r#"{{"items":[{}]}}"#, samples.join(",")),
        ),
        (
            "/podstack/v1/wallet",
            r#"{"balance":"100.00","currency":"USD","run_rate_per_hour":"4.00","low_balance_threshold":"10.00","grace_period_hours":24,"auto_debit":false}"#.to_string(),
        ),
        ("/podstack/v1/billing/usage", r#"{"items":[]}"#.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    async fn serve(State(b): State<Arc<HashMap<String, String>>>, uri: Uri) -> Response {
        match b.get(uri.path()) {
            Some(body) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.clone(),
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "{}").into_response(),
        }
    }
    let app = Router::new().fallback(serve).with_state(Arc::new(bodies));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Issue 6 case 3: "missing readings are unknown". A 2-GPU pod whose samples carry a reading
/// for GPU 0 only says nothing about GPU 1, yet it was judged idle (and then stopped).
#[tokio::test]
async fn podstack_missing_gpu_readings_of_a_multi_gpu_pod_are_unknown() {
    let addr = partial_gpu_server().await;
    let client = Podstack::new(
        "podstack",
        settings(format!("http://{addr}/podstack/v1"), "t"),
        IdleThresholds::default(),
    )
    .expect("client");
    let inv = client
        .collect(at("2026-11-21T02:00:00Z"), 1)
        .await
        .expect("collects");
    let pod = inv.pods.iter().find(|p| p.target == "pd_two").expect("pod");
    assert_eq!(pod.gpu_count, 2);
    assert!(
        matches!(pod.activity, Activity::Unknown { .. }),
        "GPU 1 was never read: {:?}",
        pod.activity
    );
}

/// Issue 10 case 2 for the global breaker: `[limits] max_fleet_share = "25%"` divided by every
/// pod of the fleet (stopped ones and orphans too), so with three stopped workers the only
/// running worker — 100 % of the pods a stop can apply to — was stopped under a "25 %" limit.
#[tokio::test(flavor = "multi_thread")]
async fn global_fleet_share_counts_only_pods_the_action_could_apply_to() {
    let start = at("2026-11-16T02:00:00Z");
    let s = scenario_sandbox(
        start,
        "[[worker]]\nid = \"wkr_quiet\"\nlast_started = \"-40d\"\nactivity = { idle_since = \"-9h\" }\n\
                 [[worker]]\nid = \"wkr_s1\"\nstatus = \"stopped\"\n\
                 [[worker]]\nid = \"wkr_s2\"\nstatus = \"stopped\"\n\
                 [[worker]]\nid = \"wkr_s3\"\nstatus = \"stopped\"\n",
    )
    .await;
    let dir = workspace(
        &format!("http://{}", s.addr),
        "[[policy]]\nname = \"stop-idle\"\naction = \"stop\"\n[policy.match]\nstatus = \"running\"\nidle_for = \"6h\"\n",
    );
    let cfg = admin_config(dir.path());
    let (fleet, _) = podwarden::pipeline::inputs::collect(
        &cfg,
        start,
        podwarden::pipeline::inputs::Reads::Everything,
    )
    .await
    .expect("collects");
    let set = podwarden::policy::load_dir(&cfg.policies).expect("policies");
    let eval = podwarden::policy::evaluate::evaluate(&fleet.pods, &set, start).expect("eval");
    let limits = podwarden::policy::limits::LimitsToml {
        max_fleet_share: Some("25%".into()),
        ..Default::default()
    }
    .check()
    .expect("limits");
    let settings = PlanSettings {
        limits,
        ..PlanSettings::default()
    };
    let plan = podwarden::plan::build(&fleet, &set, &eval, &settings, start, "r", start);
    assert!(
        plan.actions.is_empty() && plan.summary.breaker_tripped,
        "stopping 1 of 1 running workers passed a 25% global share: {:?}",
        plan.actions.iter().map(|a| &a.target).collect::<Vec<_>>()
    );
}
