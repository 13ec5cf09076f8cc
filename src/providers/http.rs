//! The HTTP transport both provider clients share: bearer auth, timeouts, a rate budget
//! shared by every concurrent request of the connection (pacing by `X-RateLimit-*`, one
//! pause for all on 429 or 503 + `Retry-After`), bounded retries of reads (429 and 503 after
//! `Retry-After`, other 5xx and network errors with exponential backoff), the run's
//! deadline over every wait and request, and error mapping.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use std::sync::atomic::{AtomicU64, Ordering};

use super::budget::{Budget, RateLimit};
use super::error::ProviderError;
use crate::secret::Secret;

/// Retries of one read after its first attempt (429, 5xx, network): bounded, whatever the deadline.
const MAX_RETRIES: usize = 5;
/// The pause a 429 without a readable `Retry-After` stands for.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Settings of one provider connection.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub token: Secret,
    /// The longest one request may take, start to last byte (cut shorter when the
    /// deadline is nearer).
    pub timeout: Duration,
    /// The longest wait for a connection (TCP and TLS) to be set up.
    pub connect_timeout: Duration,
    /// The longest silence while reading an answer (headers or body): a stalled server costs
    /// this, not the whole `timeout`; each byte that arrives starts it again.
    pub read_timeout: Duration,
    /// The run's deadline: no wait (pacing, `Retry-After`, backoff) that would end past it is
    /// started, and no request runs past it. A rate-limit wait or a request cut by it fails
    /// with `DeadlineExceeded` (exit 6); a backoff after a 5xx or network error that does not
    /// fit returns that error (exit 7).
    pub deadline: Option<Instant>,
    /// The rate limit to start from (none: learnt from `X-RateLimit-*`).
    pub rate: Option<RateLimit>,
}

/// A provider's HTTP endpoint: one per provider and token, so its budget is that token's.
#[derive(Debug)]
pub struct Api {
    provider: String,
    client: reqwest::Client,
    settings: HttpSettings,
    budget: Budget,
    /// Write requests sent (answered or not), the deadline's refusals aside.
    writes: AtomicU64,
    /// 429 answers.
    rate_limited: AtomicU64,
}

/// A failed request's whole cause (reqwest's own message stops at "error sending request"),
/// with what to check when the cause is a common mistake.
fn transport_detail(e: &reqwest::Error) -> String {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.contains(&text) {
            chain = format!("{chain}: {text}");
        }
        source = cause.source();
    }
    let lower = chain.to_lowercase();
    let hint = if lower.contains("invalidcontenttype") || lower.contains("corrupt message") {
        Some("this looks like https:// to a server that speaks plain HTTP: check base_url's scheme")
    } else if lower.contains("connection refused") {
        Some("nothing listens at that address: check base_url's host and port")
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Some("the host name does not resolve: check base_url's host")
    } else if lower.contains("certificate") {
        Some("the server's TLS certificate is not trusted for that host")
    } else {
        None
    };
    match hint {
        Some(h) => format!("{chain} ({h})"),
        None => chain,
    }
}

/// A response's status and JSON body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Api {
    pub fn new(provider: &str, settings: HttpSettings) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .user_agent(concat!("podwarden/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Transport {
                provider: provider.into(),
                endpoint: settings.base_url.clone(),
                detail: e.to_string(),
            })?;
        Ok(Api {
            provider: provider.into(),
            client,
            budget: Budget::with_limit(settings.rate).named(provider),
            settings,
            writes: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        })
    }

    /// Requests sent and 429s seen so far.
    pub fn stats(&self) -> super::CallStats {
        super::CallStats {
            writes: self.writes.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// The rate limit the budget started from (configured), `None` when learnt.
    pub fn limit(&self) -> Option<RateLimit> {
        self.settings.rate
    }

    /// The run's deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.settings.deadline
    }

    /// Calls that fit in one window of this connection's budget.
    pub fn batch(&self) -> usize {
        self.budget.batch()
    }

    /// The full URL of `path` with `query` (what `--print-requests` shows).
    pub fn url(&self, path: &str, query: &[(String, String)]) -> String {
        let base = format!("{}{}", self.settings.base_url.trim_end_matches('/'), path);
        match reqwest::Url::parse_with_params(&base, query) {
            Ok(u) => u.to_string(),
            Err(_) => base,
        }
    }

    /// A [`super::WireRequest`] for `path` (its `ops` left to the caller).
    pub fn wire(
        &self,
        method: Method,
        path: String,
        query: Vec<(String, String)>,
        body: Option<Value>,
        idempotency_key: String,
        ops: Vec<usize>,
    ) -> super::WireRequest {
        super::WireRequest {
            method: method.to_string(),
            url: self.url(&path, &query),
            path,
            query,
            body,
            idempotency_key,
            ops,
        }
    }

    /// Sends one [`super::WireRequest`] (one attempt; the queue retries). `leaving` runs
    /// once the rate budget lets the request go, right before it leaves: the journal's *sent*
    /// record is written there, so that a wait for the window is not recorded as sent. When
    /// it fails, nothing is sent.
    pub async fn send_wire(
        &self,
        r: &super::WireRequest,
        leaving: super::Leaving<'_>,
    ) -> Result<Answer, ProviderError> {
        let method = Method::from_bytes(r.method.as_bytes()).unwrap_or(Method::POST);
        let query: Vec<(&str, String)> = r
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let answer = self
            .send_then(
                method,
                &r.path,
                &query,
                r.body.as_ref(),
                Some(&r.idempotency_key),
                Some(leaving),
            )
            .await;
        if !matches!(
            answer,
            Err(ProviderError::DeadlineExceeded { .. } | ProviderError::NotSent { .. })
        ) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// GET `path` with `query`, decoded as `T`. Transient failures, and success answers whose
    /// body is not JSON (cut short, a proxy's HTML page), are retried at most [`MAX_RETRIES`]
    /// times: after the provider's `Retry-After` (429, 503), else with exponential backoff;
    /// never past the deadline. A body that is JSON but not the expected shape is not
    /// retried: the provider answered, wrongly (a contract error).
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(MAX_RETRIES)
            .build();
        loop {
            let e = match self.send(Method::GET, path, query, None, None).await {
                Ok(answer) => return self.decode(path, answer.body),
                Err(e) if e.is_worth_reading_again() => e,
                Err(e) => return Err(e),
            };
            let Some(delay) = backoff.next() else {
                return Err(e);
            };
            if e.retry_after().is_some() {
                // The pause is shared: the next `send` waits for it (within the deadline).
                tracing::debug!(provider = %self.provider, error = %e, "retrying after the provider's pause");
                continue;
            }
            // A backoff that would end past the deadline is not started. The failure stays
            // the provider's own (5xx, unreachable: exit 7), not the deadline's: the run was not
            // throttled, the provider was broken until the end.
            if let Some(deadline) = self.settings.deadline {
                if Instant::now() + delay > deadline {
                    return Err(e);
                }
            }
            tracing::debug!(provider = %self.provider, error = %e, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Decodes a JSON body into `T`. When it does not fit, the error names the provider, the
    /// endpoint and the path of the offending field, e.g.
    /// `argus: /compute/workers: … items[1].hourly_rate_usd: expected a string decimal, …`
    /// (no path when the body as a whole is wrong).
    pub fn decode<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, ProviderError> {
        serde_path_to_error::deserialize(body).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            ProviderError::Decode {
                provider: self.provider.clone(),
                endpoint: path.into(),
                detail: if field == "." {
                    inner.to_string()
                } else {
                    format!("{field}: {inner}")
                },
            }
        })
    }

    fn deadline_exceeded(&self, path: &str, waiting_for: String) -> ProviderError {
        ProviderError::DeadlineExceeded {
            provider: self.provider.clone(),
            endpoint: path.into(),
            waiting_for,
        }
    }

    /// The timeout of a request starting now: the configured one, cut to the time left
    /// before the deadline (`true` when cut). `None` when the deadline has passed.
    fn request_timeout(&self) -> Option<(Duration, bool)> {
        let timeout = self.settings.timeout;
        match self.settings.deadline {
            None => Some((timeout, false)),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    None
                } else if left < timeout {
                    Some((left, true))
                } else {
                    Some((timeout, false))
                }
            }
        }
    }

    /// One request, no retry. `idempotency_key` is sent as `Idempotency-Key`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, ProviderError> {
        self.send_then(method, path, query, body, idempotency_key, None)
            .await
    }

    /// [`Api::send`], running `leaving` (if any) once the budget lets the request go.
    async fn send_then(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
        leaving: Option<super::Leaving<'_>>,
    ) -> Result<Answer, ProviderError> {
        let permit = self
            .budget
            .acquire(self.settings.deadline)
            .await
            .map_err(|why| self.deadline_exceeded(path, why))?;
        if let Some(leaving) = leaving {
            leaving().map_err(|why| ProviderError::NotSent {
                provider: self.provider.clone(),
                endpoint: path.into(),
                why,
            })?;
        }
        let Some((timeout, cut)) = self.request_timeout() else {
            return Err(self.deadline_exceeded(path, "waiting to send the request".into()));
        };
        let url = format!("{}{}", self.settings.base_url.trim_end_matches('/'), path);
        let mut req = self
            .client
            .request(method, &url)
            .bearer_auth(self.settings.token.expose())
            .timeout(timeout)
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport(path, &e, cut))?;
        let headers = resp.headers();
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        permit.observe(num("X-RateLimit-Remaining"), num("X-RateLimit-Reset"));
        let status = resp.status();
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| super::retry_after::parse(v, SystemTime::now()));
        if status.as_u16() == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let pause = match status.as_u16() {
            429 => Some(retry_after.unwrap_or(DEFAULT_RETRY_AFTER)),
            503 => retry_after,
            _ => None,
        };
        if let Some(pause) = pause {
            tracing::warn!(provider = %self.provider, endpoint = path, status = status.as_u16(), pause_ms = pause.as_millis() as u64, "the provider asked to pause; every request of this token waits");
            permit.pause(pause);
        }
        let text = resp
            .text()
            .await
            .map_err(|e| self.transport(path, &e, cut))?;
        drop(permit);
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) if status.is_success() => {
                    return Err(ProviderError::UnreadableBody {
                        provider: self.provider.clone(),
                        endpoint: path.into(),
                        detail: e.to_string(),
                    })
                }
                Err(_) => Value::String(text.chars().take(200).collect()),
            }
        };
        if status.is_success() {
            return Ok(Answer { status, body });
        }
        Err(self.error(path, status, &body, retry_after))
    }

    /// A failed request; one that timed out because the deadline cut its timeout (`cut`) is
    /// `DeadlineExceeded`.
    fn transport(&self, path: &str, e: &reqwest::Error, cut: bool) -> ProviderError {
        if e.is_timeout() && cut {
            return self.deadline_exceeded(path, "waiting for the answer".into());
        }
        // reqwest's message names the URL (no token: that travels in a header).
        let detail = if e.is_timeout() {
            format!("timed out: {e}")
        } else {
            transport_detail(e)
        };
        ProviderError::Transport {
            provider: self.provider.clone(),
            endpoint: path.into(),
            detail,
        }
    }

    fn error(
        &self,
        path: &str,
        status: StatusCode,
        body: &Value,
        retry_after: Option<Duration>,
    ) -> ProviderError {
        let provider = self.provider.clone();
        let endpoint = path.to_string();
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let code = field("error");
        let message = match body {
            Value::String(s) => s.clone(),
            _ => field("message"),
        };
        match status.as_u16() {
            401 => ProviderError::Unauthorized { provider },
            403 => ProviderError::Forbidden {
                provider,
                endpoint,
                required_scope: field("required_scope"),
            },
            404 => ProviderError::NotFound {
                provider,
                endpoint,
                message,
            },
            400 => ProviderError::BadRequest {
                provider,
                endpoint,
                code,
                message,
            },
            409 => ProviderError::Conflict {
                provider,
                endpoint,
                code,
                message,
            },
            428 => ProviderError::ConfirmationRequired {
                provider,
                endpoint,
                message,
            },
            429 => ProviderError::RateLimited {
                provider,
                endpoint,
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            },
            s if s >= 500 => ProviderError::Server {
                provider,
                endpoint,
                status: s,
                message,
                retry_after: retry_after.filter(|_| s == 503),
            },
            s => ProviderError::Unexpected {
                provider,
                endpoint,
                status: s,
                message,
            },
        }
    }
}

/// Guards a paginated walk against a server that hands out the same cursor twice.
#[derive(Debug, Default)]
pub struct CursorGuard {
    seen: std::collections::HashSet<String>,
}

impl CursorGuard {
    /// Records `cursor`; an error when it was seen before in this walk.
    pub fn check(
        &mut self,
        provider: &str,
        endpoint: &str,
        what: &'static str,
        cursor: &str,
    ) -> Result<(), ProviderError> {
        if self.seen.insert(cursor.to_string()) {
            Ok(())
        } else {
            Err(ProviderError::RepeatedCursor {
                provider: provider.into(),
                endpoint: endpoint.into(),
                what,
                value: cursor.into(),
            })
        }
    }
}
