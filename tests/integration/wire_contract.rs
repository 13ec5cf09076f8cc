//! An independent check of the wire contract: hand-written JSON fixtures
//! (tests/fixtures/wire/, written from docs/provider-api.md, not serialised from the
//! shared wire types) served over real HTTP by a small fixture server, read by the real
//! clients. Legal variants must decode and map exactly; each illegal variant must be refused
//! with an error that names the provider, the endpoint and the field.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use podwarden::fleet::{Activity, PodStatus, ResourceKind, Since};
use podwarden::providers::argus::{wire as aw, Argus};
use podwarden::providers::http::Api;
use podwarden::providers::podstack::{wire as pw, IdleThresholds, Podstack};
use podwarden::providers::{Inventory, Provider};
use rust_decimal::Decimal;

use crate::support::settings;

const ARGUS: &str = "/argus/v1";
const PODSTACK: &str = "/podstack/v1";
/// The cursor `compute-workers.page1.json` hands out (URL-encoded on the way: it ends in `=`).
const WORKERS_CURSOR: &str = "eyJhZnRlciI6Indrcl9iIn0=";

/// Routes (path under the provider's base, plus `?cursor=` / `?page=` for later pages) and
/// the legal fixture each serves.
fn legal_routes() -> Vec<(String, &'static str)> {
    let a = |p: &str| format!("{ARGUS}{p}");
    let p = |p: &str| format!("{PODSTACK}{p}");
    vec![
        (a("/compute/workers"), "argus/compute-workers.page1.json"),
        (
            a(&format!("/compute/workers?cursor={WORKERS_CURSOR}")),
            "argus/compute-workers.page2.json",
        ),
        (a("/compute/served"), "argus/compute-served.json"),
        (a("/compute/pods"), "argus/compute-pods.json"),
        (a("/cost/daily"), "argus/cost-daily.json"),
        (a("/cost/idle"), "argus/cost-idle.json"),
        (a("/audit"), "argus/audit.json"),
        (p("/projects"), "podstack/projects.json"),
        (p("/pods"), "podstack/pods.page1.json"),
        (p("/pods?page=2"), "podstack/pods.page2.json"),
        (
            p("/pods/pod_ps_run/stats/history"),
            "podstack/pods-stats-history.json",
        ),
        (p("/pods/pod_ps_run/stats"), "podstack/pods-stats.json"),
        (p("/wallet"), "podstack/wallet.json"),
        (p("/billing/usage"), "podstack/billing-usage.json"),
    ]
}

fn fixture_dir() -> PathBuf {
    crate::support::repo().join("tests/fixtures/wire")
}

fn read_fixture(file: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(file))
        .unwrap_or_else(|e| panic!("fixture {file}: {e}"))
}

/// The route key of a request: its path, plus the cursor or a page after the first.
fn route_key(path: &str, q: &HashMap<String, String>) -> String {
    match (q.get("cursor"), q.get("page").filter(|p| p.as_str() != "1")) {
        (Some(c), _) => format!("{path}?cursor={c}"),
        (None, Some(p)) => format!("{path}?page={p}"),
        (None, None) => path.to_string(),
    }
}

async fn serve_fixture(
    State(bodies): State<Arc<HashMap<String, String>>>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    match bodies.get(&route_key(uri.path(), &q)) {
        Some(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.clone(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"not_found","message":"no fixture for this request"}"#,
        )
            .into_response(),
    }
}

/// Serves the legal fixtures on a free loopback port, with `overrides` (route, fixture file)
/// in place of the legal ones.
async fn fixture_server(overrides: &[(String, &str)]) -> SocketAddr {
    let mut bodies: HashMap<String, String> = legal_routes()
        .into_iter()
        .map(|(route, file)| (route, read_fixture(file)))
        .collect();
    for (route, file) in overrides {
        bodies.insert(route.clone(), read_fixture(file));
    }
    let app = Router::new()
        .fallback(serve_fixture)
        .with_state(Arc::new(bodies));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn argus_client(addr: SocketAddr) -> Argus {
    Argus::new("argus", settings(format!("http://{addr}{ARGUS}"), "t")).expect("client")
}

fn podstack_client(addr: SocketAddr) -> Podstack {
    Podstack::new(
        "podstack",
        settings(format!("http://{addr}{PODSTACK}"), "t"),
        IdleThresholds::default(),
    )
    .expect("client")
}

fn api(addr: SocketAddr, provider: &str) -> Api {
    let base = if provider == "argus" { ARGUS } else { PODSTACK };
    Api::new(provider, settings(format!("http://{addr}{base}"), "t")).expect("api")
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("a UTC instant")
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal")
}

fn now() -> DateTime<Utc> {
    utc("2026-11-21T02:00:00Z")
}

fn pod<'a>(inv: &'a Inventory, target: &str) -> &'a podwarden::fleet::Pod {
    inv.pods
        .iter()
        .find(|p| p.target == target)
        .unwrap_or_else(|| panic!("{target} in the inventory"))
}

fn idle_since(a: &Activity) -> (Option<DateTime<Utc>>, Option<Since>, bool) {
    match a {
        Activity::Idle {
            since,
            source,
            start_seen,
            ..
        } => (*since, *source, *start_seen),
        other => panic!("expected idle, got {other:?}"),
    }
}

#[tokio::test]
async fn argus_legal_fixtures_decode_and_map_exactly() {
    let addr = fixture_server(&[]).await;
    let inv = argus_client(addr)
        .collect(now(), 2)
        .await
        .expect("every legal variant decodes");
    assert_eq!(inv.pods.len(), 6, "4 workers over 2 pages + 2 orphans");

    let a = pod(&inv, "wkr_a");
    assert_eq!(a.status, PodStatus::Running);
    assert_eq!(a.hourly_rate.amount, dec("2.49"));
    assert_eq!(a.hourly_rate.currency.as_str(), "USD");
    assert_eq!(
        a.labels.get("podwarden/protect").map(String::as_str),
        Some("true")
    );
    assert_eq!(a.created_at, utc("2026-10-01T08:00:00Z"));
    assert_eq!(
        a.last_started_at,
        Some(utc("2026-11-20T02:00:00Z")),
        "+00:00"
    );
    assert_eq!(a.ttl_expires_at, None, "null");
    assert_eq!(a.activity, Activity::Busy);

    let b = pod(&inv, "wkr_b");
    assert_eq!(b.status, PodStatus::Running, "\"Running\" is running");
    assert_eq!(b.gpu_count, 2, "2.0 is a whole count");
    assert!(b.labels.is_empty(), "labels: null is no labels");
    assert_eq!(b.hourly_rate.amount, Decimal::new(11, 1), "\"1.1\" is 1.1");
    assert_eq!(b.hourly_rate.amount.to_string(), "1.1");
    assert_eq!(b.created_at, utc("2026-11-01T00:00:00.5Z"), "+05:30 → UTC");
    assert_eq!(b.last_started_at, Some(utc("2026-11-20T02:00:00Z")));
    assert_eq!(b.ttl_expires_at, Some(utc("2026-11-21T01:59:59.123456Z")));
    assert_eq!(
        idle_since(&b.activity),
        (
            Some(utc("2026-11-20T22:30:00Z")),
            Some(Since::Provider),
            true
        ),
        "0 cameras, last served at 04:00+05:30"
    );

    let c = pod(&inv, "wkr_c");
    assert_eq!(
        c.status,
        PodStatus::Unknown,
        "\"hibernating\" is not in the list"
    );
    assert_eq!(c.gpu_count, 8);
    assert!(c.labels.is_empty(), "labels absent");
    assert_eq!(
        (c.last_started_at, c.ttl_expires_at),
        (None, None),
        "absent"
    );
    assert_eq!(c.created_at, utc("2026-09-15T16:00:00Z"), "-04:00 → UTC");
    assert_eq!(
        idle_since(&c.activity),
        (None, None, false),
        "cameras 0.0, last_served_at null"
    );

    let d = pod(&inv, "wkr_d");
    assert_eq!(d.status, PodStatus::Stopped, "\"STOPPED\" is stopped");
    assert_eq!(
        d.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["spot=true", "team=research", "tier=2"],
        "label values: numbers and booleans as their JSON text"
    );
    assert_eq!(
        d.ttl_expires_at,
        Some(utc("2026-11-21T00:00:00Z")),
        "-00:00"
    );
    assert_eq!(d.created_at, utc("2026-11-19T23:59:59.999Z"));
    assert!(
        matches!(&d.activity, Activity::Unknown { .. }),
        "no /compute/served row: unknown, not idle"
    );

    let o1 = pod(&inv, "pod_orph1");
    assert_eq!(
        (o1.kind, o1.status),
        (ResourceKind::Orphan, PodStatus::Running)
    );
    assert_eq!(o1.gpu_count, 2);
    assert_eq!(o1.hourly_rate.amount, dec("4.98"));
    assert_eq!(o1.orphaned_since, Some(utc("2026-11-10T12:00:00Z")));
    assert_eq!(o1.orphaned_since_source, Some(Since::Provider));

    let o2 = pod(&inv, "pod_orph2");
    assert_eq!(
        o2.kind,
        ResourceKind::Orphan,
        "worker_id absent is an orphan"
    );
    assert_eq!(
        o2.status,
        PodStatus::Unknown,
        "\"Suspended\" is not in the list"
    );
    assert_eq!((o2.orphaned_since, o2.orphaned_since_source), (None, None));
    assert_eq!(
        o2.created_at.timestamp_subsec_nanos(),
        999_999_999,
        "nine fractional digits"
    );

    assert_eq!(inv.costs.len(), 4);
    let cost = |pod_id: &str| {
        inv.costs
            .iter()
            .find(|c| c.pod_id == pod_id)
            .unwrap_or_else(|| panic!("cost row of {pod_id}"))
    };
    assert_eq!(cost("pod_a").amount.amount, dec("59.76"));
    assert_eq!(cost("pod_a").hours, Some(Decimal::from(24)), "hours 24");
    assert_eq!(cost("pod_a").project.as_deref(), Some("vision"));
    assert_eq!(
        cost("pod_b").hours.map(|h| h.to_string()),
        Some("1.1".into())
    );
    assert_eq!(cost("pod_orph1").worker_id, None, "null");
    assert_eq!(cost("pod_orph2").worker_id, None, "absent");
    assert_eq!(cost("pod_orph2").amount.amount, dec("0.4"));
    assert_eq!(cost("pod_orph2").date.to_string(), "2026-11-19");
}

#[tokio::test]
async fn argus_endpoints_outside_collect_decode_over_http() {
    let addr = fixture_server(&[]).await;
    let api = api(addr, "argus");
    let served: aw::Items<aw::Served> = api.get("/compute/served", &[]).await.expect("served");
    let gone = served
        .items
        .iter()
        .find(|s| s.worker_id == "wkr_gone")
        .expect("row");
    assert_eq!(
        (gone.cameras, gone.last_served_at),
        (3, None),
        "3.0; absent"
    );
    assert_eq!(
        served.items[0].last_served_at,
        Some(utc("2026-11-21T01:59:59.123456Z"))
    );

    let idle: aw::Items<aw::IdleCost> = api.get("/cost/idle", &[]).await.expect("idle");
    assert_eq!(
        idle.items
            .iter()
            .map(|i| (i.worker_id.as_str(), i.usd_per_day.as_str()))
            .collect::<Vec<_>>(),
        [("wkr_b", "26.4"), ("wkr_c", "478.0800")]
    );

    let audit: aw::Items<aw::AuditEntry> = api.get("/audit", &[]).await.expect("audit");
    assert_eq!(
        audit.items[0].at,
        utc("2026-11-20T02:45:30.5Z"),
        "+05:30 → UTC"
    );
    assert_eq!(audit.items[1].at, utc("2026-11-20T03:00:00Z"));
    assert_eq!(audit.items[1].action, "resume");
}

#[tokio::test]
async fn podstack_legal_fixtures_decode_and_map_exactly() {
    let addr = fixture_server(&[]).await;
    let client = podstack_client(addr);
    let inv = client
        .collect(now(), 2)
        .await
        .expect("every legal variant decodes");
    assert_eq!(inv.pods.len(), 3, "2 pages, total 3");

    let run = pod(&inv, "pod_ps_run");
    assert_eq!(run.status, PodStatus::Running);
    assert_eq!(run.project.as_deref(), Some("inference"));
    assert_eq!(run.hourly_rate.amount, Decimal::from(210));
    assert_eq!(run.hourly_rate.currency.as_str(), "INR");
    assert_eq!(
        run.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["podwarden/protect=true", "team=nlp", "tier=2"],
        "a boolean `true` still reads as the protection label"
    );
    assert_eq!(run.created_at, utc("2026-11-01T00:00:00Z"), "+05:30 → UTC");
    assert_eq!(run.last_started_at, Some(utc("2026-11-20T14:00:00Z")));
    assert_eq!(
        idle_since(&run.activity),
        (
            Some(utc("2026-11-21T01:50:00Z")),
            Some(Since::Provider),
            true
        ),
        "util 0.4 and 0 after 87; counters as floats"
    );

    let stop = pod(&inv, "pod_ps_stop");
    assert_eq!(stop.status, PodStatus::Stopped, "\"stopped\" is stopped");
    assert_eq!(
        stop.hourly_rate.amount,
        Decimal::new(11, 1),
        "\"1.1\" is 1.1"
    );
    assert_eq!(stop.hourly_rate.currency.as_str(), "USD");
    assert!(stop.labels.is_empty(), "labels: null");
    assert_eq!(stop.last_started_at, None, "started_at: null");
    assert!(matches!(stop.activity, Activity::Unknown { .. }));

    let hib = pod(&inv, "pod_ps_hib");
    assert_eq!(
        hib.status,
        PodStatus::Unknown,
        "\"hibernating\" is not in the list"
    );
    assert!(
        matches!(hib.activity, Activity::Unknown { .. }),
        "never idle: not running"
    );
    assert_eq!(hib.project.as_deref(), Some("prj_gone"));
    assert_eq!(hib.hourly_rate.currency.as_str(), "USD", "\"usd\"");
    assert_eq!(hib.created_at, utc("2026-10-01T07:00:00Z"), "-07:00 → UTC");
    assert_eq!((hib.last_started_at, hib.gpu_count), (None, 4), "absent");

    let w = &inv.wallets[0];
    assert_eq!(w.balance.amount, dec("15000.5"));
    assert_eq!(w.balance.currency.as_str(), "INR");
    assert_eq!(w.run_rate_per_hour.amount, Decimal::from(210));
    assert_eq!(w.low_balance_threshold.amount, dec("5000"));
    assert_eq!((w.grace_period_hours, w.auto_debit), (36, false), "36.0");

    assert_eq!(inv.costs.len(), 2);
    let inr = inv
        .costs
        .iter()
        .find(|c| c.pod_id == "pod_ps_run")
        .expect("row");
    assert_eq!(inr.amount.amount, dec("5040.00"));
    assert_eq!(inr.amount.currency.as_str(), "INR");
    assert_eq!(inr.project.as_deref(), Some("inference"));
    let usd = inv
        .costs
        .iter()
        .find(|c| c.pod_id == "pod_ps_stop")
        .expect("row");
    assert_eq!(usd.amount.amount.to_string(), "1.1");

    // Wire fields the fleet does not carry.
    let pods = client.list_pods().await.expect("pods");
    assert_eq!(pods[0].nfs_volumes[0], "datasets");
    assert!(
        pods[0].nfs_volumes[1].starts_with('{') && pods[0].nfs_volumes[1].contains("ckpt"),
        "an object item is kept as its JSON text: {:?}",
        pods[0].nfs_volumes
    );
    assert_eq!(
        (pods[1].resources.cpu_cores, pods[1].resources.memory_gb),
        (0.5, 7.5)
    );
    assert!(pods[1].nfs_volumes.is_empty() && pods[2].nfs_volumes.is_empty());
    assert_eq!((pods[2].replicas, pods[2].resources.cpu_cores), (1, 32.0));
}

#[tokio::test]
async fn podstack_latest_stats_decode_over_http() {
    let addr = fixture_server(&[]).await;
    let s: pw::StatsSample = api(addr, "podstack")
        .get("/pods/pod_ps_run/stats", &[])
        .await
        .expect("stats");
    assert_eq!(s.at, utc("2026-11-21T01:59:59.5Z"));
    assert_eq!(
        (s.cpu_pct, s.memory_limit_gb, s.disk_used_gb),
        (2.0, 64.0, 40.0)
    );
    assert_eq!((s.gpus[1].index, s.gpus[1].util_pct), (1, 100.0));
    assert_eq!(
        (s.net_rx_bytes, s.net_tx_bytes),
        (1_500_000_000, 300_006_750)
    );
}

/// How an illegal fixture reaches the client.
#[derive(Clone, Copy)]
enum Via {
    /// `collect` fails.
    Collect,
    /// `collect` succeeds, but this pod's signal is unknown, with the error as the reason.
    Signal(&'static str),
    /// `Api::get` of the endpoint fails (collect does not read it).
    Get,
    /// `collect` keeps the inventory and reports this data (costs, wallet) as a gap.
    Gap(&'static str),
}

struct Illegal {
    /// Under tests/fixtures/wire/.
    file: &'static str,
    /// The contract path the fixture is served at, in place of the legal one.
    endpoint: &'static str,
    via: Via,
    /// The field path the error must name.
    field: &'static str,
}

const fn illegal(
    file: &'static str,
    endpoint: &'static str,
    via: Via,
    field: &'static str,
) -> Illegal {
    Illegal {
        file,
        endpoint,
        via,
        field,
    }
}

const WRK: &str = "/compute/workers";
const HIST: &str = "/pods/pod_ps_run/stats/history";

#[rustfmt::skip]
const ILLEGAL: &[Illegal] = &[
    illegal("argus/illegal/compute-workers.money-as-number.json", WRK, Via::Collect, "items[1].hourly_rate_usd"),
    illegal("argus/illegal/compute-workers.money-not-a-decimal.json", WRK, Via::Collect, "items[1].hourly_rate_usd"),
    illegal("argus/illegal/compute-workers.timestamp-without-offset.json", WRK, Via::Collect, "items[1].ttl_expires_at"),
    illegal("argus/illegal/compute-workers.missing-required-field.json", WRK, Via::Collect, "items[1]: missing field `pod_id`"),
    illegal("argus/illegal/compute-workers.gpu-count-as-string.json", WRK, Via::Collect, "items[0].gpu_count"),
    illegal("argus/illegal/compute-workers.negative-gpu-count.json", WRK, Via::Collect, "items[1].gpu_count"),
    illegal("argus/illegal/compute-workers.items-not-an-array.json", WRK, Via::Collect, "items: invalid type: map"),
    illegal("argus/illegal/compute-workers.label-value-an-object.json", WRK, Via::Collect, "items[0].labels"),
    illegal("argus/illegal/compute-served.fractional-cameras.json", "/compute/served", Via::Signal("wkr_a"), "items[0].cameras"),
    illegal("argus/illegal/compute-pods.money-with-exponent.json", "/compute/pods", Via::Collect, "items[0].hourly_rate_usd"),
    illegal("argus/illegal/compute-pods.orphaned-since-as-epoch-number.json", "/compute/pods", Via::Collect, "items[0].orphaned_since"),
    illegal("argus/illegal/cost-daily.date-not-iso.json", "/cost/daily", Via::Gap("costs"), "items[1].date"),
    illegal("argus/illegal/cost-daily.negative-hours.json", "/cost/daily", Via::Gap("costs"), "items[0].hours"),
    illegal("argus/illegal/cost-idle.money-empty-string.json", "/cost/idle", Via::Get, "items[0].usd_per_day"),
    illegal("argus/illegal/audit.timestamp-as-epoch-number.json", "/audit", Via::Get, "items[0].at"),
    illegal("podstack/illegal/projects.items-null.json", "/projects", Via::Collect, "items: invalid type: null"),
    illegal("podstack/illegal/pods.money-as-number.json", "/pods", Via::Collect, "items[0].hourly_rate"),
    illegal("podstack/illegal/pods.labels-not-an-object.json", "/pods", Via::Collect, "items[0].labels"),
    illegal("podstack/illegal/pods.breakdown-money-as-number.json", "/pods", Via::Collect, "items[0].cost_breakdown.gpu"),
    illegal("podstack/illegal/pods.negative-replicas.json", "/pods", Via::Collect, "items[0].replicas"),
    illegal("podstack/illegal/pods.total-missing.json", "/pods", Via::Collect, "missing field `total`"),
    illegal("podstack/illegal/pods-stats-history.timestamp-not-rfc3339.json", HIST, Via::Signal("pod_ps_run"), "items[1].at"),
    illegal("podstack/illegal/pods-stats-history.negative-net-counter.json", HIST, Via::Signal("pod_ps_run"), "items[1].net_rx_bytes"),
    illegal("podstack/illegal/pods-stats-history.gpus-null.json", HIST, Via::Signal("pod_ps_run"), "items[1].gpus"),
    illegal("podstack/illegal/pods-stats.util-as-string.json", "/pods/pod_ps_run/stats", Via::Get, "gpus[0].util_pct"),
    illegal("podstack/illegal/wallet.money-not-a-decimal.json", "/wallet", Via::Gap("wallet"), "balance"),
    illegal("podstack/illegal/wallet.auto-debit-as-string.json", "/wallet", Via::Gap("wallet"), "auto_debit"),
    illegal("podstack/illegal/billing-usage.money-as-number.json", "/billing/usage", Via::Gap("costs"), "items[0].amount"),
    illegal("podstack/illegal/billing-usage.date-with-time.json", "/billing/usage", Via::Gap("costs"), "items[0].date"),
];

/// Decodes `endpoint` through `Api::get` as the contract's type for it.
async fn get_endpoint(api: &Api, endpoint: &str) -> Result<(), String> {
    let e = match (api.provider(), endpoint) {
        ("argus", "/cost/idle") => api
            .get::<aw::Items<aw::IdleCost>>(endpoint, &[])
            .await
            .err(),
        ("argus", "/audit") => api
            .get::<aw::Items<aw::AuditEntry>>(endpoint, &[])
            .await
            .err(),
        ("podstack", "/pods/pod_ps_run/stats") => {
            api.get::<pw::StatsSample>(endpoint, &[]).await.err()
        }
        other => panic!("no decode target for {other:?}"),
    };
    e.map_or(Ok(()), |e| Err(e.to_string()))
}

/// The error an illegal fixture produces, served in place of the legal one.
async fn refusal(case: &Illegal) -> String {
    let provider = case.file.split('/').next().expect("provider folder");
    let base = if provider == "argus" { ARGUS } else { PODSTACK };
    let addr = fixture_server(&[(format!("{base}{}", case.endpoint), case.file)]).await;
    let collect = || async {
        if provider == "argus" {
            argus_client(addr).collect(now(), 2).await
        } else {
            podstack_client(addr).collect(now(), 2).await
        }
    };
    match case.via {
        Via::Gap(data) => {
            let inv = collect()
                .await
                .expect("a failed cost or wallet read is not a failed inventory");
            let gap = inv
                .gaps
                .iter()
                .find(|g| g.data == data)
                .unwrap_or_else(|| panic!("{}: no {data} gap in {:?}", case.file, inv.gaps));
            gap.error.to_string()
        }
        Via::Collect => match collect().await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{}: collect accepted an illegal response", case.file),
        },
        Via::Signal(target) => {
            let inv = collect()
                .await
                .expect("a failed signal is not a failed inventory");
            match &pod(&inv, target).activity {
                Activity::Unknown { why } => why.clone(),
                other => panic!("{}: {target} is {other:?}, not unknown", case.file),
            }
        }
        Via::Get => get_endpoint(&api(addr, provider), case.endpoint)
            .await
            .expect_err("an illegal response is refused"),
    }
}

#[tokio::test]
async fn illegal_fixtures_are_refused_naming_provider_endpoint_and_field() {
    let mut report = String::new();
    for case in ILLEGAL {
        let message = refusal(case).await;
        let provider = case.file.split('/').next().expect("provider folder");
        let head = format!("{provider}: {}: ", case.endpoint);
        assert!(
            message.contains(&head) && message.contains(case.field),
            "{}: the error must name `{head}` and `{}`:\n  {message}",
            case.file,
            case.field
        );
        report.push_str(&format!("{}\n  {message}\n", case.file));
    }
    insta::assert_snapshot!("illegal_wire_fixtures", report);
}

#[test]
fn every_illegal_fixture_is_in_the_table() {
    let mut on_disk = BTreeSet::new();
    for provider in ["argus", "podstack"] {
        let dir = fixture_dir().join(provider).join("illegal");
        for entry in std::fs::read_dir(&dir).expect("illegal folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            on_disk.insert(format!("{provider}/illegal/{name}"));
        }
    }
    let in_table: BTreeSet<String> = ILLEGAL.iter().map(|c| c.file.to_string()).collect();
    assert_eq!(on_disk, in_table);
}
