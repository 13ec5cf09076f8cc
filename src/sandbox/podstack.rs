//! The simulated Podstack API: projects, pods, utilisation stats, wallet, billing, actions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::gate::{idempotent, ApiError, Caller, PODSTACK_BILLING, PODSTACK_READ, PODSTACK_WRITE};
use super::samples::{samples, STEP_MINUTES};
use super::world::{Pending, Profile, Transition, World};
use super::{billed_days, billed_hours, query_date, query_num, Fault, Sandbox};
use crate::money::{fixed, micros_to_decimal};
use crate::providers::podstack::wire::*;

type Q = Query<HashMap<String, String>>;

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/projects", get(projects))
        .route("/pods", get(list_pods))
        .route("/pods/bulk/stop", post(bulk_stop))
        .route("/pods/bulk/delete", post(bulk_delete))
        .route("/pods/{id}", get(one_pod).delete(delete_pod))
        .route("/pods/{id}/stats", get(stats))
        .route("/pods/{id}/stats/history", get(history))
        .route("/pods/{id}/{action}", post(pod_action))
        .route("/wallet", get(wallet))
        .route("/billing/usage", get(usage))
}

async fn projects(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Items<Project>>, ApiError> {
    c.require(PODSTACK_READ)?;
    Ok(Json(Items {
        items: s.world().podstack.projects.clone(),
    }))
}

async fn list_pods(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Query(q): Q,
) -> Result<Json<PodPage>, ApiError> {
    c.require(PODSTACK_READ)?;
    let page = query_num(&q, "page", 1u32)?.max(1);
    let per_page = query_num(&q, "per_page", 20u32)?.clamp(1, 100);
    let status = q.get("status").map(String::as_str).unwrap_or("all");
    if !matches!(status, "running" | "stopped" | "all") {
        return Err(ApiError::bad_request(
            "invalid_query",
            "status must be running, stopped or all",
        ));
    }
    let mut world = s.world();
    world.settle(s.clock.now());
    let matching: Vec<&Pod> = world
        .podstack
        .pods
        .values()
        .map(|p| &p.pod)
        .filter(|p| q.get("project_id").is_none_or(|id| &p.project_id == id))
        .filter(|p| status == "all" || p.status.eq_ignore_ascii_case(status))
        .filter(|p| q.get("search").is_none_or(|s| p.name.contains(s.as_str())))
        .collect();
    // With the repeat-cursor fault, every page after the first is the first page again.
    let served_page = if s.has_fault(Fault::RepeatCursor) {
        1
    } else {
        page
    } as usize;
    let per = per_page as usize;
    // With duplicate-pages, page N+1 repeats page N's last pod: pages advance by per_page - 1.
    let start = if s.has_fault(Fault::DuplicatePages) {
        (served_page - 1) * per.saturating_sub(1).max(1)
    } else {
        (served_page - 1) * per
    };
    let items = if s.has_fault(Fault::EmptyPage) && page > 1 {
        Vec::new()
    } else {
        matching
            .iter()
            .skip(start)
            .take(per)
            .map(|p| (*p).clone())
            .collect()
    };
    let grown = if s.has_fault(Fault::ListChanges) {
        u64::from(page - 1)
    } else {
        0
    };
    Ok(Json(PodPage {
        items,
        page,
        per_page,
        total: matching.len() as u64 + grown,
    }))
}

async fn one_pod(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Pod>, ApiError> {
    c.require(PODSTACK_READ)?;
    let mut world = s.world();
    world.settle(s.clock.now());
    world
        .podstack
        .pods
        .get(&id)
        .map(|p| Json(p.pod.clone()))
        .ok_or_else(|| ApiError::not_found("pod"))
}

async fn stats(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<StatsSample>, ApiError> {
    c.require(PODSTACK_READ)?;
    if s.has_fault(Fault::StatsDown) {
        return Err(ApiError::injected_down("stats"));
    }
    let now = s.clock.now();
    let world = s.world();
    let p = world
        .podstack
        .pods
        .get(&id)
        .ok_or_else(|| ApiError::not_found("pod"))?;
    samples(p, now, Duration::minutes(STEP_MINUTES))
        .pop()
        .or_else(|| samples(p, now, Duration::days(7)).pop())
        .map(Json)
        .ok_or_else(|| ApiError::not_found("stats sample"))
}

async fn history(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Result<Json<Items<StatsSample>>, ApiError> {
    c.require(PODSTACK_READ)?;
    if s.has_fault(Fault::StatsDown) {
        return Err(ApiError::injected_down("stats"));
    }
    if s.has_fault(Fault::SlowStats) {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    let window = match q.get("window").map(String::as_str).unwrap_or("24h") {
        "1h" => Duration::hours(1),
        "6h" => Duration::hours(6),
        "24h" => Duration::hours(24),
        "7d" => Duration::days(7),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "window must be 1h, 6h, 24h or 7d",
            ))
        }
    };
    let now = s.clock.now();
    let mut world = s.world();
    world.settle(now);
    let p = world
        .podstack
        .pods
        .get(&id)
        .ok_or_else(|| ApiError::not_found("pod"))?;
    Ok(Json(Items {
        items: samples(p, now, window),
    }))
}

async fn wallet(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Wallet>, ApiError> {
    c.require(PODSTACK_BILLING)?;
    let mut world = s.world();
    world.settle(s.clock.now());
    let ps = &world.podstack;
    let run_rate: i64 = ps
        .costs
        .iter()
        .filter(|b| b.currency == ps.wallet_currency)
        .filter(|b| {
            ps.pods
                .get(&b.pod_id)
                .is_some_and(|p| p.pod.status == "Running")
        })
        .map(|b| b.rate_micros)
        .sum();
    Ok(Json(Wallet {
        balance: fixed(micros_to_decimal(ps.wallet_balance_micros), 2),
        currency: ps.wallet_currency.clone(),
        run_rate_per_hour: fixed(micros_to_decimal(run_rate), 2),
        low_balance_threshold: "5000.00".into(),
        grace_period_hours: 24,
        auto_debit: false,
    }))
}

async fn usage(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Query(q): Q,
) -> Result<Json<Items<UsageRow>>, ApiError> {
    c.require(PODSTACK_BILLING)?;
    if s.has_fault(Fault::CostDown) {
        return Err(ApiError::injected_down("costs"));
    }
    let (from, to) = (query_date(&q, "from")?, query_date(&q, "to")?);
    let now = s.clock.now();
    let days = billed_days(from, to, now.date_naive());
    let world = s.world();
    let mut items = Vec::new();
    for day in days {
        for b in world.podstack.costs.iter().filter(|b| day >= b.created) {
            let amount = b.rate_micros * billed_hours(b, day, now);
            let share = |pct: i64| fixed(micros_to_decimal(amount * pct / 100), 2);
            items.push(UsageRow {
                date: day,
                pod_id: b.pod_id.clone(),
                project_id: b.project.clone(),
                amount: fixed(micros_to_decimal(amount), 2),
                currency: b.currency.clone(),
                by_resource: Breakdown {
                    gpu: share(82),
                    cpu: share(8),
                    memory: share(6),
                    storage: share(4),
                },
            });
        }
    }
    Ok(Json(Items { items }))
}

/// Starts a lifecycle change on one pod, or says why it does not fit its state.
fn change(
    world: &mut World,
    id: &str,
    action: &str,
    now: DateTime<Utc>,
    transition: Duration,
) -> Result<(), ApiError> {
    let p = world
        .podstack
        .pods
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("pod"))?;
    let busy = p.pending.is_some();
    let (from, via, to) = match action {
        "start" => ("Stopped", "Starting", Transition::To("Running")),
        "stop" => ("Running", "Stopping", Transition::To("Stopped")),
        "restart" => ("Running", "Restarting", Transition::To("Running")),
        "delete" => (p.pod.status.as_str(), "Stopping", Transition::Remove),
        _ => return Err(ApiError::not_found("action")),
    };
    if busy || p.pod.status != from {
        return Err(ApiError::conflict(
            "invalid_state",
            &format!("cannot {action} a pod that is {}", p.pod.status),
        ));
    }
    p.pod.status = via.to_string();
    match action {
        "start" | "restart" => {
            p.pod.started_at = Some(now);
            p.profile = Profile::Busy;
        }
        _ => {
            // A stopped pod has no start (as generated stopped pods have none).
            p.pod.started_at = None;
            p.profile = Profile::IdleSince(now);
        }
    }
    p.pending = Some(Pending {
        transition: to,
        due: now + transition,
    });
    Ok(())
}

fn transition_of(s: &Sandbox) -> Duration {
    Duration::seconds(s.config.transition_secs as i64)
}

#[derive(serde::Deserialize)]
struct Scale {
    replicas: u32,
}

async fn pod_action(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = c.require(PODSTACK_WRITE) {
        return e.into_response();
    }
    let transition = transition_of(&s);
    match action.as_str() {
        "start" | "stop" | "restart" => idempotent(&s, &c, &headers, true, |world, now| {
            change(world, &id, &action, now, transition)?;
            Ok((StatusCode::OK, json!({})))
        }),
        "scale" => {
            let replicas = match serde_json::from_slice::<Scale>(&body) {
                Ok(r) if (1..=16).contains(&r.replicas) => r.replicas,
                _ => {
                    return ApiError::bad_request(
                        "invalid_body",
                        "body must be {\"replicas\": 1..16}",
                    )
                    .into_response()
                }
            };
            idempotent(&s, &c, &headers, true, |world, _| {
                let p = world
                    .podstack
                    .pods
                    .get_mut(&id)
                    .ok_or_else(|| ApiError::not_found("pod"))?;
                p.pod.replicas = replicas;
                Ok((StatusCode::OK, json!({})))
            })
        }
        _ => ApiError::not_found("action").into_response(),
    }
}

async fn delete_pod(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = c.require(PODSTACK_WRITE) {
        return e.into_response();
    }
    if q.get("confirm").is_none_or(|v| v != "true") {
        return ApiError::confirmation_required().into_response();
    }
    let transition = transition_of(&s);
    idempotent(&s, &c, &headers, true, |world, now| {
        change(world, &id, "delete", now, transition)?;
        Ok((StatusCode::OK, json!({})))
    })
}

fn bulk_ids(body: &Bytes) -> Result<BulkIds, ApiError> {
    let req: BulkIds = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_body", &e.to_string()))?;
    if req.ids.is_empty() || req.ids.len() > 50 {
        return Err(ApiError::bad_request(
            "invalid_ids",
            "ids must hold 1 to 50 pod ids",
        ));
    }
    Ok(req)
}

fn bulk(
    s: &Sandbox,
    c: &Caller,
    headers: &HeaderMap,
    body: &Bytes,
    action: &'static str,
) -> Response {
    if let Err(e) = c.require(PODSTACK_WRITE) {
        return e.into_response();
    }
    let req = match bulk_ids(body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if action == "delete" && req.confirm != Some(true) {
        return ApiError::confirmation_required().into_response();
    }
    let transition = transition_of(s);
    idempotent(s, c, headers, true, |world, now| {
        let results: Vec<BulkResult> = req
            .ids
            .iter()
            .map(|id| match change(world, id, action, now, transition) {
                Ok(()) => BulkResult {
                    id: id.clone(),
                    ok: true,
                    error: None,
                },
                Err(e) => BulkResult {
                    id: id.clone(),
                    ok: false,
                    error: e.body["error"].as_str().map(str::to_string),
                },
            })
            .collect();
        Ok((StatusCode::OK, json!(BulkResults { results })))
    })
}

async fn bulk_stop(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(&s, &c, &headers, &body, "stop")
}

async fn bulk_delete(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(&s, &c, &headers, &body, "delete")
}
