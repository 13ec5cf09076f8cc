//! Typed provider errors. Messages name the provider and endpoint, never a token.

use std::time::Duration;

/// What went wrong talking to a provider.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider}: the token was rejected (401 unauthorized); check the token's environment variable or file in the config")]
    Unauthorized { provider: String },
    #[error(
        "{provider}: the token lacks the `{required_scope}` scope (403 forbidden) for {endpoint}"
    )]
    Forbidden {
        provider: String,
        endpoint: String,
        required_scope: String,
    },
    #[error("{provider}: {endpoint}: not found (404): {message}")]
    NotFound {
        provider: String,
        endpoint: String,
        message: String,
    },
    #[error("{provider}: {endpoint}: request rejected (400 {code}): {message}")]
    BadRequest {
        provider: String,
        endpoint: String,
        code: String,
        message: String,
    },
    #[error("{provider}: {endpoint}: conflict (409 {code}): {message}")]
    Conflict {
        provider: String,
        endpoint: String,
        code: String,
        message: String,
    },
    #[error("{provider}: {endpoint}: confirmation required (428): {message}")]
    ConfirmationRequired {
        provider: String,
        endpoint: String,
        message: String,
    },
    #[error("{provider}: {endpoint}: rate limited (429); the provider asks to retry after {}s", retry_after.as_secs())]
    RateLimited {
        provider: String,
        endpoint: String,
        retry_after: Duration,
    },
    #[error("{provider}: {endpoint}: server error {status}: {message}")]
    Server {
        provider: String,
        endpoint: String,
        status: u16,
        message: String,
        /// The pause a 503 asked for with `Retry-After` (other 5xx: `None`, plain backoff).
        retry_after: Option<Duration>,
    },
    #[error("{provider}: {endpoint}: unexpected answer {status}: {message}")]
    Unexpected {
        provider: String,
        endpoint: String,
        status: u16,
        message: String,
    },
    /// A success status whose body is not JSON at all (cut short, or an HTML page from a
    /// proxy or a load balancer): a transport fault, retried on reads like one.
    #[error("{provider}: {endpoint}: the answer (status 200) is not JSON, cut short or a proxy's page ({detail}); retried, then given up")]
    UnreadableBody {
        provider: String,
        endpoint: String,
        detail: String,
    },
    #[error("{provider}: {endpoint}: the response body could not be read: {detail}")]
    Decode {
        provider: String,
        endpoint: String,
        detail: String,
    },
    #[error("{provider}: {endpoint}: the server repeated {what} {value:?}; stopping instead of looping forever")]
    RepeatedCursor {
        provider: String,
        endpoint: String,
        what: &'static str,
        value: String,
    },
    #[error("{provider}: {endpoint}: the list could not be read consistently: {detail}")]
    Pagination {
        provider: String,
        endpoint: String,
        detail: String,
    },
    #[error("{provider}: {endpoint}: stopped at the run's deadline while {waiting_for}")]
    DeadlineExceeded {
        provider: String,
        endpoint: String,
        /// What the request was waiting for ("the rate-limit window to reset in 42s", …).
        waiting_for: String,
    },
    #[error("{provider}: {endpoint}: not sent: {why}")]
    NotSent {
        provider: String,
        endpoint: String,
        why: String,
    },
    #[error("{provider}: {endpoint}: cannot reach the provider: {detail}")]
    Transport {
        provider: String,
        endpoint: String,
        detail: String,
    },
}

/// What kind of failure a provider error is, from the most specific (a config problem to
/// fix) to the least; the exit code a failed read calls for follows from it
/// (`Exit::for_provider`), and the order picks the error a gap reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// The token was rejected (401).
    Unauthorized,
    /// The token lacks a scope (403).
    Forbidden,
    /// A rate limit, or a wait cut by the run's deadline.
    RateLimited,
    /// Anything else: the provider's data is incomplete.
    Other,
}

impl ProviderError {
    /// What kind of failure this is (see [`Failure`]).
    pub fn failure(&self) -> Failure {
        match self {
            Self::Unauthorized { .. } => Failure::Unauthorized,
            Self::Forbidden { .. } => Failure::Forbidden,
            Self::RateLimited { .. } | Self::DeadlineExceeded { .. } => Failure::RateLimited,
            _ => Failure::Other,
        }
    }

    /// Worth trying again (after a pause): rate limits, server errors, network trouble.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Transport { .. }
        )
    }

    /// Worth reading again: a transient failure, or a success whose body is not JSON (cut
    /// short, a proxy's page). Only reads retry the latter: a write whose answer was lost is
    /// settled by re-reading the pod (see `execute`), never by sending it again blind.
    pub fn is_worth_reading_again(&self) -> bool {
        self.is_transient() || matches!(self, Self::UnreadableBody { .. })
    }

    /// The HTTP status behind the error, when there was an answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::BadRequest { .. } => Some(400),
            Self::Conflict { .. } => Some(409),
            Self::ConfirmationRequired { .. } => Some(428),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status, .. } | Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The pause the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
