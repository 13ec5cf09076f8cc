//! The sandbox's front door: bearer-token auth, scopes, fixed-window rate limits with
//! `X-RateLimit-*` headers, 429 + `Retry-After`, injected faults, and idempotency keys.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::world::{Remembered, World};
use super::{Fault, Sandbox};

/// Scopes of the Argus API; the Podstack API uses `pods:read`, `pods:write`, `billing:read`.
pub const ARGUS_READ: &str = "compute:read";
pub const ARGUS_COST: &str = "cost:read";
pub const ARGUS_WRITE: &str = "compute:write";
pub const PODSTACK_READ: &str = "pods:read";
pub const PODSTACK_WRITE: &str = "pods:write";
pub const PODSTACK_BILLING: &str = "billing:read";

/// Who is calling: a known token and its scopes. `operator` is what the audit log shows.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: String,
    pub operator: &'static str,
    pub scopes: &'static [&'static str],
}

impl Caller {
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("this token lacks the {scope} scope"),
            )
            .with("required_scope", json!(scope)))
        }
    }
}

/// An error response: `{"error": code, "message": text, ...}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: &str) -> Self {
        ApiError {
            status,
            body: json!({"error": code, "message": message}),
        }
    }
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.body[key] = value;
        self
    }
    pub fn bad_request(code: &str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("{what} not found"),
        )
    }
    pub fn conflict(code: &str, message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// A 500 injected by a `--fault` ("injected fault: WHAT unavailable").
    pub fn injected_down(what: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("injected fault: {what} unavailable"),
        )
    }
    pub fn confirmation_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "confirmation_required",
            "terminate destroys the pod and its disk: repeat with confirm=true",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// A rate-limit bucket: which calls share one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket {
    ArgusRead,
    ArgusOps,
    Podstack,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

/// Fixed windows per (token, bucket), and what the gate refused.
#[derive(Debug, Default)]
pub struct Limiter {
    windows: Mutex<HashMap<(String, Bucket), Window>>,
    /// 429s answered.
    rejected: AtomicU64,
    /// Buckets that already answered their injected 503 (`retry-after-date`).
    unavailable_once: Mutex<HashSet<Bucket>>,
    /// Injected 503s answered.
    unavailable: AtomicU64,
}

struct Verdict {
    limit: u32,
    remaining: u32,
    reset_secs: u64,
    allowed: bool,
}

impl Limiter {
    fn hit(&self, token: &str, bucket: Bucket, limit: u32, window: Duration) -> Verdict {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = windows
            .entry((token.to_string(), bucket))
            .or_insert(Window {
                started: now,
                used: 0,
            });
        if now.duration_since(w.started) >= window {
            *w = Window {
                started: now,
                used: 0,
            };
        }
        let elapsed = now.duration_since(w.started);
        let reset_secs = window.saturating_sub(elapsed).as_secs_f64().ceil().max(1.0) as u64;
        let allowed = w.used < limit;
        if allowed {
            w.used += 1;
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
        Verdict {
            limit,
            remaining: limit - w.used,
            reset_secs,
            allowed,
        }
    }
}

impl Limiter {
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    pub fn unavailable(&self) -> u64 {
        self.unavailable.load(Ordering::Relaxed)
    }

    /// Whether this is the bucket's first request (and so gets the injected 503).
    fn first_of(&self, bucket: Bucket) -> bool {
        let first = self
            .unavailable_once
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(bucket);
        if first {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
        }
        first
    }
}

/// How far ahead the injected 503's `Retry-After` date lies.
const RETRY_AFTER_DATE_AHEAD: Duration = Duration::from_secs(2);

/// How long a [`Fault::StallOnce`] answer goes silent after its first bytes.
const STALL: Duration = Duration::from_secs(60);

/// An answer that sends the start of a JSON body, then nothing for [`STALL`].
fn stalled_answer() -> Response {
    use futures::StreamExt;
    let start = futures::stream::once(async {
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from_static(b"{\"items\":["))
    });
    let rest = futures::stream::once(async {
        tokio::time::sleep(STALL).await;
        Ok(axum::body::Bytes::from_static(b"]}"))
    });
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        axum::body::Body::from_stream(start.chain(rest)),
    )
        .into_response()
}

fn bucket_for(path: &str) -> Option<Bucket> {
    if path.starts_with("/argus/v1/compute/ops/") {
        Some(Bucket::ArgusOps)
    } else if path.starts_with("/argus/v1/") {
        Some(Bucket::ArgusRead)
    } else if path.starts_with("/podstack/v1/") {
        Some(Bucket::Podstack)
    } else {
        None
    }
}

fn header(v: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&v.to_string()).unwrap_or(HeaderValue::from_static("0"))
}

/// Middleware: 401 for a missing or unknown token, 429 past the window's limit, then the
/// handler; every answer carries the rate-limit headers.
pub async fn gate(State(sandbox): State<Arc<Sandbox>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    sandbox.count_request(req.method().as_str(), &path);
    let Some(bucket) = bucket_for(&path) else {
        return ApiError::not_found("route").into_response();
    };
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(caller) = token.and_then(|t| sandbox.caller(&t)) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown bearer token",
        )
        .into_response();
    };
    let cfg = &sandbox.config;
    let (limit, window) = match bucket {
        Bucket::ArgusRead => (cfg.read_limit, Duration::from_secs(cfg.read_window_secs)),
        Bucket::ArgusOps => (cfg.ops_limit, Duration::from_secs(cfg.ops_window_secs)),
        Bucket::Podstack => (
            cfg.podstack_limit,
            Duration::from_secs(cfg.podstack_window_secs),
        ),
    };
    let verdict = sandbox.limiter.hit(&caller.token, bucket, limit, window);
    let mut response = if !verdict.allowed {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "rate limit exceeded; retry after the window resets",
        )
        .into_response();
        r.headers_mut()
            .insert("Retry-After", header(verdict.reset_secs));
        r
    } else if bucket == Bucket::Podstack && cfg.faults.contains(&Fault::PodstackDown) {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "injected fault: podstack is down",
        )
        .into_response()
    } else if cfg.faults.contains(&Fault::RetryAfterDate) && sandbox.limiter.first_of(bucket) {
        let mut r = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "injected fault: busy, retry at the given date",
        )
        .into_response();
        let at = httpdate::fmt_http_date(SystemTime::now() + RETRY_AFTER_DATE_AHEAD);
        r.headers_mut().insert("Retry-After", header(at));
        r
    } else if cfg.faults.contains(&Fault::HtmlOnce) && sandbox.limiter.first_of(bucket) {
        (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body><h1>502 Bad Gateway</h1>injected fault: a proxy's page</body></html>",
        )
            .into_response()
    } else if cfg.faults.contains(&Fault::StallOnce) && sandbox.limiter.first_of(bucket) {
        stalled_answer()
    } else if cfg.faults.contains(&Fault::TruncatedBodies) && bucket == Bucket::ArgusRead {
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            r#"{"items":[{"id":"wkr_cut","na"#,
        )
            .into_response()
    } else {
        req.extensions_mut().insert(caller);
        next.run(req).await
    };
    let h = response.headers_mut();
    h.insert("X-RateLimit-Limit", header(verdict.limit));
    h.insert("X-RateLimit-Remaining", header(verdict.remaining));
    h.insert("X-RateLimit-Reset", header(verdict.reset_secs));
    response
}

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// Runs a mutation at most once per (token, `Idempotency-Key`) within 24 h: a repeat gets
/// the first response back and changes nothing. Responses to dry runs are not remembered.
pub fn idempotent(
    sandbox: &Sandbox,
    caller: &Caller,
    headers: &HeaderMap,
    remember: bool,
    act: impl FnOnce(&mut World, chrono::DateTime<chrono::Utc>) -> Result<(StatusCode, Value), ApiError>,
) -> Response {
    let key = headers
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(k) = &key {
        if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY {
            return ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 64 characters",
            )
            .into_response();
        }
    }
    let now = sandbox.clock.now();
    let mut world = sandbox.world();
    world.settle(now);
    if let Some(k) = &key {
        if let Some(first) = world.idempotency.get(&(caller.token.clone(), k.clone())) {
            let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
            let mut r = (status, Json(first.body.clone())).into_response();
            r.headers_mut()
                .insert("Idempotent-Replayed", HeaderValue::from_static("true"));
            return r;
        }
    }
    let (status, body) = match act(&mut world, now) {
        Ok(ok) => ok,
        Err(e) => (e.status, e.body),
    };
    if let (Some(k), true) = (key, remember) {
        if !status.is_server_error() {
            world.idempotency.insert(
                (caller.token.clone(), k),
                Remembered {
                    status: status.as_u16(),
                    body: body.clone(),
                    at: now,
                },
            );
        }
    }
    (status, Json(body)).into_response()
}

/// The operator name and scopes of each sandbox token kind.
pub const ADMIN_SCOPES: &[&str] = &[
    ARGUS_READ,
    ARGUS_COST,
    ARGUS_WRITE,
    PODSTACK_READ,
    PODSTACK_WRITE,
    PODSTACK_BILLING,
];
pub const READ_SCOPES: &[&str] = &[ARGUS_READ, ARGUS_COST, PODSTACK_READ, PODSTACK_BILLING];
