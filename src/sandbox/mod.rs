//! `podwarden sandbox`: both provider APIs simulated in one process on loopback.
//!
//! It serves `/argus/v1/...` and `/podstack/v1/...` as fixed in
//! docs/provider-api.md over a fleet generated from a seed, and enforces the
//! contract: auth and scopes, rate limits, reason length, 428/409, idempotency keys,
//! asynchronous state changes, orphans and the audit log. Test-only knobs (a shorter
//! rate window, faults, a fixed seed and clock) are flags here, never cases in clients.

mod argus;
pub mod daily;
mod gate;
pub mod generate;
mod podstack;
mod samples;
pub mod scenario;
pub mod when;
pub mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use gate::{Caller, Limiter};
pub use gate::{ADMIN_SCOPES, READ_SCOPES};
pub use scenario::Scenario;
use world::{Clock, World};

/// A fault the sandbox can be told to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Paginated lists repeat a cursor (Argus) or a page (Podstack) forever.
    RepeatCursor,
    /// Every Podstack endpoint answers 503.
    PodstackDown,
    /// `GET /compute/served` answers 500.
    ServedDown,
    /// Every Podstack `/pods/{id}/stats` and `/pods/{id}/stats/history` answers 500.
    StatsDown,
    /// Argus `/cost/daily` and Podstack `/billing/usage` answer 500.
    CostDown,
    /// The first request of each rate bucket answers 503 with `Retry-After` as an HTTP date
    /// about 2 s ahead; later requests are served.
    RetryAfterDate,
    /// Pages overlap: each Argus page (workers, pods, costs) starts with the previous page's
    /// last item; each Podstack `/pods` page after the first repeats the previous page's last
    /// pod, shifting the rest by one.
    DuplicatePages,
    /// Podstack `/pods` pages after the first are empty although `total` says there is more.
    EmptyPage,
    /// Podstack `/pods` reports a `total` one larger on every page: the list changes under the walk.
    ListChanges,
    /// Every Podstack stats history answer takes 3 s longer.
    SlowStats,
    /// Every Argus operation that would act answers 400 `invalid_request` (a dry run still
    /// passes): a provider's definitive refusal.
    RefuseOps,
    /// The first request of each rate bucket answers 200 with an HTML page (a proxy's error
    /// page) instead of JSON; later requests are served.
    HtmlOnce,
    /// Every Argus read answers 200 with a body cut short in the middle of its JSON.
    TruncatedBodies,
    /// The first request of each rate bucket answers 200 and the start of its JSON, then
    /// goes silent for a minute: a stalled server or connection.
    StallOnce,
}

/// Everything the sandbox can be configured with (the `podwarden sandbox` flags).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub seed: u64,
    pub pods: usize,
    pub ops_limit: u32,
    pub ops_window_secs: u64,
    pub read_limit: u32,
    pub read_window_secs: u64,
    pub podstack_limit: u32,
    pub podstack_window_secs: u64,
    pub admin_token: String,
    pub read_token: String,
    /// How long stop / resume / terminate take to complete.
    pub transition_secs: u64,
    /// The simulated "now" at start (the clock then advances in real time).
    pub now: Option<DateTime<Utc>>,
    pub faults: Vec<Fault>,
    /// Hand-written pods added to the generated fleet (`--scenario FILE`).
    pub scenario: Option<Scenario>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 42,
            pods: 300,
            ops_limit: 20,
            ops_window_secs: 60,
            read_limit: 600,
            read_window_secs: 60,
            podstack_limit: 120,
            podstack_window_secs: 60,
            admin_token: "pw-admin".into(),
            read_token: "pw-readonly".into(),
            transition_secs: 3,
            now: None,
            faults: Vec::new(),
            scenario: None,
        }
    }
}

/// The shared state behind every handler.
pub struct Sandbox {
    pub config: SandboxConfig,
    pub clock: Clock,
    world: Mutex<World>,
    limiter: Limiter,
    /// Requests received, by method and endpoint (ids replaced by `{id}`), 429s included.
    requests: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let start = config.now.unwrap_or_else(Utc::now);
        let mut world = generate::generate(config.seed, config.pods, start);
        if let Some(scenario) = &config.scenario {
            scenario.apply(&mut world, start);
        }
        Sandbox {
            clock: Clock::starting_at(start),
            world: Mutex::new(world),
            limiter: Limiter::default(),
            requests: Mutex::default(),
            config,
        }
    }

    fn count_request(&self, method: &str, path: &str) {
        let endpoint: Vec<&str> = path
            .split('/')
            .map(|seg| if is_id(seg) { "{id}" } else { seg })
            .collect();
        let key = format!("{method} {}", endpoint.join("/"));
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests.entry(key).or_default() += 1;
    }

    /// Requests received so far, by `METHOD /path` with ids as `{id}` (e.g.
    /// `GET /podstack/v1/pods/{id}/stats/history`): what benchmarks and tests count.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests received so far whose `METHOD /path` key ends with `suffix`.
    pub fn requests_to(&self, suffix: &str) -> u64 {
        self.request_counts()
            .iter()
            .filter(|(k, _)| k.ends_with(suffix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Locks the world (a panicked handler does not poison it for the others).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn caller(&self, token: &str) -> Option<Caller> {
        if token == self.config.admin_token {
            Some(Caller {
                token: token.into(),
                operator: "sandbox-admin",
                scopes: ADMIN_SCOPES,
            })
        } else if token == self.config.read_token {
            Some(Caller {
                token: token.into(),
                operator: "sandbox-reader",
                scopes: READ_SCOPES,
            })
        } else {
            None
        }
    }

    pub fn has_fault(&self, fault: Fault) -> bool {
        self.config.faults.contains(&fault)
    }

    /// How many 429s the sandbox has answered so far (every bucket and token).
    pub fn rate_limited_count(&self) -> u64 {
        self.limiter.rejected()
    }

    /// How many injected 503s with `Retry-After` it has answered so far.
    pub fn retry_after_count(&self) -> u64 {
        self.limiter.unavailable()
    }
}

/// A path segment that names one resource (`pod_12`, `wkr_3`, `ps_0007`): a letter prefix,
/// an underscore, then anything.
fn is_id(segment: &str) -> bool {
    segment.split_once('_').is_some_and(|(prefix, rest)| {
        !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_lowercase()) && !rest.is_empty()
    })
}

/// The axum router serving both APIs.
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .nest("/argus/v1", argus::routes())
        .nest("/podstack/v1", podstack::routes())
        .layer(axum::middleware::from_fn_with_state(
            sandbox.clone(),
            gate::gate,
        ))
        .with_state(sandbox)
}

/// A sandbox running in the background; dropping the handle does not stop it, `stop` does.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    pub sandbox: Arc<Sandbox>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    /// The base URL the sandbox serves provider `kind`'s API at (its registration of the
    /// providers it simulates).
    pub fn url_for(&self, kind: crate::providers::registry::ProviderType) -> String {
        match kind {
            crate::providers::registry::ProviderType::Argus => self.argus_url(),
            crate::providers::registry::ProviderType::Podstack => self.podstack_url(),
        }
    }

    pub fn argus_url(&self) -> String {
        format!("http://{}/argus/v1", self.addr)
    }
    pub fn podstack_url(&self) -> String {
        format!("http://{}/podstack/v1", self.addr)
    }
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// Binds `addr` (port 0 for a free one) and serves in a background task. A scenario that
/// does not validate is refused (`InvalidInput`).
pub async fn spawn(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<RunningSandbox> {
    if let Some(scenario) = &config.scenario {
        scenario
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    }
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let sandbox = Arc::new(Sandbox::new(config));
    let app = router(sandbox.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningSandbox {
        addr,
        sandbox,
        stop: Some(tx),
        task,
    })
}

/// Parses a `u32`/`usize` query parameter, with a 400 naming it when it is not a number.
fn query_num<T: std::str::FromStr>(
    q: &std::collections::HashMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, gate::ApiError> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            gate::ApiError::bad_request("invalid_query", &format!("{key} must be a number"))
        }),
    }
}

/// Parses a `YYYY-MM-DD` query parameter (required).
fn query_date(
    q: &std::collections::HashMap<String, String>,
    key: &str,
) -> Result<chrono::NaiveDate, gate::ApiError> {
    q.get(key)
        .and_then(|v| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            gate::ApiError::bad_request(
                "invalid_query",
                &format!("{key} must be a date YYYY-MM-DD"),
            )
        })
}

/// Billed hours of a pod on a day, from its duty share and a per-day hash.
fn billed_hours(
    basis: &world::CostBasis,
    day: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> i64 {
    use chrono::{Datelike, Timelike};
    if day < basis.created {
        return 0;
    }
    let h = if basis.duty_pct >= 100 {
        24
    } else {
        let h = (world::mix(basis.seed ^ u64::from(day.num_days_from_ce() as u32)) % 25) as i64;
        h * i64::from(basis.duty_pct) / 100
    };
    // The day in progress is billed for the whole hours gone by, never for time to come.
    if day == now.date_naive() {
        h.min(i64::from(now.hour()))
    } else {
        h
    }
}

/// The dates of `from..=to` that have billing data (the last 90 days up to today).
fn billed_days(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Vec<chrono::NaiveDate> {
    let first = from.max(today - chrono::Duration::days(89));
    let last = to.min(today);
    first.iter_days().take_while(|d| *d <= last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_in_progress_is_billed_for_the_hours_gone_by_only() {
        let now = crate::fleet::samples::at(6) + chrono::Duration::minutes(30);
        let basis = world::CostBasis {
            pod_id: "pod_a".into(),
            worker_id: None,
            project: "p".into(),
            rate_micros: 1_000_000,
            currency: "USD".into(),
            created: now.date_naive() - chrono::Duration::days(10),
            duty_pct: 100,
            seed: 7,
        };
        let yesterday = now.date_naive() - chrono::Duration::days(1);
        assert_eq!(billed_hours(&basis, yesterday, now), 24);
        assert_eq!(
            billed_hours(&basis, now.date_naive(), now),
            6,
            "06:30: six whole hours"
        );
    }
}
