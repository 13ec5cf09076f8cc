//! The HTTP transport both provider clients share: bearer auth, timeouts, pacing by the
//! `X-RateLimit-*` headers, retries of reads (429 after `Retry-After`, 5xx and network
//! errors with exponential backoff, all within the run's deadline), and error mapping.

use std::sync::Mutex;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use super::error::ProviderError;
use crate::secret::Secret;

/// Settings of one provider connection.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub token: Secret,
    pub timeout: Duration,
    /// Reads retry until this instant at the latest; a longer `Retry-After` fails with 429.
    pub deadline: Option<Instant>,
}

/// A provider's HTTP endpoint.
#[derive(Debug)]
pub struct Api {
    provider: String,
    client: reqwest::Client,
    settings: HttpSettings,
    /// When the provider's window was used up: wait until then before the next call.
    paused_until: Mutex<Option<Instant>>,
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
            .connect_timeout(Duration::from_secs(10))
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
            settings,
            paused_until: Mutex::new(None),
        })
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// GET `path` with `query`, decoded as `T`, retried while transient and within the deadline.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        let answer = (|| self.send(Method::GET, path, query, None, None))
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_times(5),
            )
            .when(|e: &ProviderError| e.is_transient())
            .adjust(|e, backoff| self.next_pause(e, backoff))
            .await?;
        self.decode(path, answer.body)
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

    /// How long to wait before retrying after `e`; `None` (give up) past the deadline.
    fn next_pause(&self, e: &ProviderError, backoff: Option<Duration>) -> Option<Duration> {
        let pause = e.retry_after().or(backoff)?;
        match self.settings.deadline {
            Some(deadline) if Instant::now() + pause > deadline => None,
            _ => Some(pause),
        }
    }

    async fn wait_for_window(&self) {
        let until = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = until {
            if until > Instant::now() {
                tracing::debug!(provider = %self.provider, wait_ms = (until - Instant::now()).as_millis() as u64, "rate-limit window used up; waiting");
                tokio::time::sleep_until(until).await;
            }
        }
    }

    fn note_rate_headers(&self, headers: &reqwest::header::HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let (Some(0), Some(reset)) = (num("X-RateLimit-Remaining"), num("X-RateLimit-Reset")) {
            *self.paused_until.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Instant::now() + Duration::from_secs(reset));
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
        self.wait_for_window().await;
        let url = format!("{}{}", self.settings.base_url.trim_end_matches('/'), path);
        let mut req = self
            .client
            .request(method, &url)
            .bearer_auth(self.settings.token.expose())
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.map_err(|e| self.transport(path, &e))?;
        self.note_rate_headers(resp.headers());
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp.text().await.map_err(|e| self.transport(path, &e))?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) if status.is_success() => {
                    return Err(ProviderError::Decode {
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

    fn transport(&self, path: &str, e: &reqwest::Error) -> ProviderError {
        // reqwest's message names the URL (no token: that travels in a header).
        let detail = if e.is_timeout() {
            format!("timed out: {e}")
        } else {
            e.to_string()
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
        retry_after: Option<u64>,
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
                retry_after: Duration::from_secs(retry_after.unwrap_or(60)),
            },
            s if s >= 500 => ProviderError::Server {
                provider,
                endpoint,
                status: s,
                message,
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
