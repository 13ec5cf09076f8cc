//! The simulated Argus Operations API: workers, served, pods, costs, audit, and operations.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::gate::{idempotent, ApiError, Caller, ARGUS_COST, ARGUS_READ, ARGUS_WRITE};
use super::world::{Pending, Profile, Transition, World};
use super::{billed_days, billed_hours, query_date, query_num, Fault, Sandbox};
use crate::providers::argus::wire::*;

type Q = Query<HashMap<String, String>>;

pub fn routes() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/compute/workers", get(workers))
        .route("/compute/served", get(served))
        .route("/compute/pods", get(pods))
        .route("/cost/daily", get(cost_daily))
        .route("/cost/idle", get(cost_idle))
        .route("/audit", get(audit))
        .route("/compute/ops/workers/{id}/{action}", post(worker_op))
        .route(
            "/compute/ops/pods/{pod_id}/terminate",
            post(orphan_terminate),
        )
}

const MAX_LIMIT: usize = 500;

/// One page of a key-ordered map after `cursor`; the next cursor is the last key served.
fn page_after<'a, V, T>(
    sandbox: &Sandbox,
    map: &'a std::collections::BTreeMap<String, V>,
    q: &HashMap<String, String>,
    f: impl Fn(&'a V) -> T,
) -> Result<Page<T>, ApiError> {
    let limit = query_num(q, "limit", 100usize)?.clamp(1, MAX_LIMIT);
    let cursor = q.get("cursor").cloned();
    // With duplicate-pages, a page starts at its cursor (the previous page's last item).
    let after = |c| {
        if sandbox.has_fault(Fault::DuplicatePages) {
            std::ops::Bound::Included(c)
        } else {
            std::ops::Bound::Excluded(c)
        }
    };
    let range = match &cursor {
        Some(c) => map.range::<String, _>((after(c), std::ops::Bound::Unbounded)),
        None => map.range::<String, _>(..),
    };
    let chunk: Vec<(&String, &V)> = range.take(limit + 1).collect();
    let more = chunk.len() > limit;
    let items: Vec<T> = chunk.iter().take(limit).map(|(_, v)| f(v)).collect();
    let mut next_cursor = if more {
        chunk.get(limit - 1).map(|(k, _)| (*k).clone())
    } else {
        None
    };
    if sandbox.has_fault(Fault::RepeatCursor) && cursor.is_some() {
        next_cursor = cursor;
    }
    Ok(Page { items, next_cursor })
}

async fn workers(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Query(q): Q,
) -> Result<Json<Page<Worker>>, ApiError> {
    c.require(ARGUS_READ)?;
    let mut world = s.world();
    world.settle(s.clock.now());
    Ok(Json(page_after(&s, &world.argus.workers, &q, |w| {
        w.worker.clone()
    })?))
}

async fn pods(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Query(q): Q,
) -> Result<Json<Page<ProviderPod>>, ApiError> {
    c.require(ARGUS_READ)?;
    let mut world = s.world();
    world.settle(s.clock.now());
    Ok(Json(page_after(&s, &world.argus.pods, &q, |p| {
        p.pod.clone()
    })?))
}

async fn served(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Items<Served>>, ApiError> {
    c.require(ARGUS_READ)?;
    if s.has_fault(Fault::ServedDown) {
        return Err(ApiError::injected_down("served"));
    }
    let now = s.clock.now();
    let mut world = s.world();
    world.settle(now);
    let items = world
        .argus
        .workers
        .values()
        .filter(|w| !world.argus.unserved.contains(&w.worker.id))
        .map(|w| {
            let (cameras, last_served_at) = w.served(now);
            Served {
                worker_id: w.worker.id.clone(),
                cameras,
                last_served_at,
            }
        })
        .collect();
    Ok(Json(Items { items }))
}

async fn cost_daily(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Query(q): Q,
) -> Result<Json<Page<DailyCost>>, ApiError> {
    c.require(ARGUS_COST)?;
    if s.has_fault(Fault::CostDown) {
        return Err(ApiError::injected_down("costs"));
    }
    let (from, to) = (query_date(&q, "from")?, query_date(&q, "to")?);
    let limit = query_num(&q, "limit", 500usize)?.clamp(1, MAX_LIMIT);
    let now = s.clock.now();
    let days = billed_days(from, to, now.date_naive());
    let world = s.world();
    let bases = &world.argus.costs;
    // The cursor is "day index.basis index" of the next row to serve.
    let (mut d, mut b) = match q.get("cursor") {
        None => (0usize, 0usize),
        Some(c) => c
            .split_once('.')
            .and_then(|(d, b)| Some((d.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "cursor is not one this server issued")
            })?,
    };
    let row = |d: usize, b: usize| {
        let basis = bases.get(b)?;
        let day = *days.get(d)?;
        let hours = billed_hours(basis, day, now);
        (day >= basis.created).then(|| DailyCost {
            date: day,
            pod_id: basis.pod_id.clone(),
            worker_id: basis.worker_id.clone(),
            usd: crate::money::fixed(
                crate::money::micros_to_decimal(basis.rate_micros * hours),
                4,
            ),
            hours: hours as f64,
        })
    };
    let mut items = Vec::new();
    // With duplicate-pages, a page after the first starts with the row before its cursor.
    if s.has_fault(Fault::DuplicatePages) && q.contains_key("cursor") {
        let previous = match (d, b) {
            (d, 0) if d > 0 => Some((d - 1, bases.len().saturating_sub(1))),
            (d, b) if b > 0 => Some((d, b - 1)),
            _ => None,
        };
        items.extend(previous.and_then(|(d, b)| row(d, b)));
    }
    while d < days.len() && items.len() < limit {
        if b < bases.len() {
            items.extend(row(d, b));
            b += 1;
        } else {
            d += 1;
            b = 0;
        }
    }
    let next_cursor = (d < days.len()).then(|| format!("{d}.{b}"));
    Ok(Json(Page { items, next_cursor }))
}

async fn cost_idle(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
) -> Result<Json<Items<IdleCost>>, ApiError> {
    c.require(ARGUS_COST)?;
    let now = s.clock.now();
    let mut world = s.world();
    world.settle(now);
    let items = world
        .argus
        .workers
        .values()
        .filter(|w| {
            w.worker.status == "running"
                && w.served(now).0 == 0
                && !world.argus.unserved.contains(&w.worker.id)
        })
        .map(|w| {
            let rate: rust_decimal::Decimal = w.worker.hourly_rate_usd.parse().unwrap_or_default();
            IdleCost {
                worker_id: w.worker.id.clone(),
                usd_per_day: crate::money::fixed(rate * rust_decimal::Decimal::from(24), 2),
            }
        })
        .collect();
    Ok(Json(Items { items }))
}

async fn audit(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Query(q): Q,
) -> Result<Json<Items<AuditEntry>>, ApiError> {
    c.require(ARGUS_READ)?;
    let since = match q.get("since") {
        None => None,
        Some(v) => Some(
            DateTime::parse_from_rfc3339(v)
                .map_err(|_| {
                    ApiError::bad_request("invalid_query", "since must be an RFC 3339 timestamp")
                })?
                .with_timezone(&Utc),
        ),
    };
    let world = s.world();
    let items = world
        .argus
        .audit
        .iter()
        .filter(|a| since.is_none_or(|t| a.at >= t))
        .cloned()
        .collect();
    Ok(Json(Items { items }))
}

/// Parses and checks an operation body: reason length, and `confirm` for terminate.
fn op_request(body: &Bytes, terminate: bool) -> Result<OpRequest, ApiError> {
    let req: OpRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            &format!("body is not a valid operation request: {e}"),
        )
    })?;
    let len = req.reason.chars().count();
    if !(3..=500).contains(&len) {
        return Err(ApiError::bad_request(
            "invalid_reason",
            &format!("reason must be 3 to 500 characters, got {len}"),
        ));
    }
    if let Some(ttl) = req.ttl_hours {
        if !(1..=168).contains(&ttl) {
            return Err(ApiError::bad_request(
                "invalid_ttl",
                "ttl_hours must be 1 to 168",
            ));
        }
    }
    if terminate && req.confirm != Some(true) {
        return Err(ApiError::confirmation_required());
    }
    Ok(req)
}

fn is_dry_run(q: &HashMap<String, String>) -> bool {
    q.get("dry_run").is_some_and(|v| v == "true")
}

fn accept(
    world: &mut World,
    now: DateTime<Utc>,
    caller: &Caller,
    action: &str,
    worker_id: Option<&str>,
    pod_id: &str,
    reason: &str,
) -> (StatusCode, Value) {
    let (operation_id, audit_id) = world.next_ids();
    let target = worker_id.unwrap_or(pod_id).to_string();
    world.argus.audit.push(AuditEntry {
        audit_id: audit_id.clone(),
        operation_id: operation_id.clone(),
        at: now,
        actor: caller.operator.to_string(),
        action: action.to_string(),
        target,
        reason: reason.to_string(),
    });
    let body = OpAccepted {
        operation_id,
        worker_id: worker_id.map(str::to_string),
        pod_id: pod_id.to_string(),
        action: action.to_string(),
        status: "accepted".into(),
        audit_id,
    };
    (StatusCode::ACCEPTED, json!(body))
}

async fn worker_op(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path((id, action)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = c.require(ARGUS_WRITE) {
        return e.into_response();
    }
    if !matches!(action.as_str(), "stop" | "resume" | "terminate") {
        return ApiError::not_found("operation").into_response();
    }
    let req = match op_request(&body, action == "terminate") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let dry_run = is_dry_run(&q);
    if !dry_run && s.has_fault(Fault::RefuseOps) {
        return ApiError::bad_request("invalid_request", "refused (sandbox fault refuse-ops)")
            .into_response();
    }
    let transition = Duration::seconds(s.config.transition_secs as i64);
    idempotent(&s, &c, &headers, !dry_run, |world, now| {
        if world
            .argus
            .pods
            .get(&id)
            .is_some_and(|p| p.pod.worker_id.is_none())
        {
            return Err(ApiError::conflict("orphan_terminate_only", "this is an orphan pod: it can only be terminated, via /compute/ops/pods/{pod_id}/terminate"));
        }
        let w = world
            .argus
            .workers
            .get(&id)
            .ok_or_else(|| ApiError::not_found("worker"))?;
        let status = w.worker.status.as_str();
        let removing = w
            .pending
            .is_some_and(|p| p.transition == Transition::Remove);
        let fits = !removing
            && match action.as_str() {
                "stop" => matches!(status, "running" | "starting" | "error"),
                "resume" => status == "stopped",
                _ => true,
            };
        if !fits {
            return Err(ApiError::conflict(
                "invalid_state",
                &format!("cannot {action} a worker that is {status}"),
            ));
        }
        if dry_run {
            return Ok((
                StatusCode::OK,
                json!({"dry_run": true, "action": action, "worker_id": id, "request": req}),
            ));
        }
        let pod_id = w.worker.pod_id.clone();
        let w = world
            .argus
            .workers
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("worker"))?;
        match action.as_str() {
            "stop" => {
                w.worker.status = "stopping".into();
                w.profile = Profile::IdleSince(now);
                w.pending = Some(Pending {
                    transition: Transition::To("stopped"),
                    due: now + transition,
                });
            }
            "resume" => {
                w.worker.status = "starting".into();
                w.worker.last_started_at = Some(now);
                w.worker.ttl_expires_at =
                    req.ttl_hours.map(|h| now + Duration::hours(i64::from(h)));
                w.profile = Profile::Busy;
                w.pending = Some(Pending {
                    transition: Transition::To("running"),
                    due: now + transition,
                });
                world.argus.unserved.remove(&id);
            }
            _ => {
                w.worker.status = "stopping".into();
                w.pending = Some(Pending {
                    transition: Transition::Remove,
                    due: now + transition,
                });
            }
        }
        if let Some(p) = world.argus.pods.get_mut(&pod_id) {
            p.pod.status = world
                .argus
                .workers
                .get(&id)
                .map(|w| w.worker.status.clone())
                .unwrap_or_default();
        }
        Ok(accept(
            world,
            now,
            &c,
            &action,
            Some(&id),
            &pod_id,
            &req.reason,
        ))
    })
}

async fn orphan_terminate(
    State(s): State<Arc<Sandbox>>,
    Extension(c): Extension<Caller>,
    Path(pod_id): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = c.require(ARGUS_WRITE) {
        return e.into_response();
    }
    let req = match op_request(&body, true) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let dry_run = is_dry_run(&q);
    let transition = Duration::seconds(s.config.transition_secs as i64);
    idempotent(&s, &c, &headers, !dry_run, |world, now| {
        let p = world
            .argus
            .pods
            .get_mut(&pod_id)
            .ok_or_else(|| ApiError::not_found("pod"))?;
        if p.pod.worker_id.is_some() {
            return Err(ApiError::conflict(
                "invalid_state",
                "this pod has a worker: terminate the worker instead",
            ));
        }
        if p.pending.is_some() {
            return Err(ApiError::conflict(
                "invalid_state",
                "this pod is already being terminated",
            ));
        }
        if dry_run {
            return Ok((
                StatusCode::OK,
                json!({"dry_run": true, "action": "terminate", "pod_id": pod_id, "request": req}),
            ));
        }
        p.pod.status = "stopping".into();
        p.pending = Some(Pending {
            transition: Transition::Remove,
            due: now + transition,
        });
        Ok(accept(
            world,
            now,
            &c,
            "terminate",
            None,
            &pod_id,
            &req.reason,
        ))
    })
}
