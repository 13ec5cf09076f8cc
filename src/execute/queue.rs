//! Sending: one request with its retries, and the signal that stops the queue.
//!
//! Every retry of a request carries the same `Idempotency-Key`, so a retry after a timeout
//! whose first attempt did arrive is answered with the first response and acts on nothing.
//! Transient failures (429 after the provider's pause, 5xx, timeouts, resets) are retried
//! with exponential backoff and full jitter, at most [`MAX_ATTEMPTS`] times and never past
//! the run's deadline; permanent ones (400, 403, 404, 409, 428) are not retried. Pacing and
//! 429 pauses are the connection's shared budget (`providers::budget`): a 429 pauses every
//! request of that provider and token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::providers::{Leaving, Provider, ProviderError, Receipt, WireRequest};

/// Attempts of one request, the first included.
pub const MAX_ATTEMPTS: usize = 6;

/// Asks the queue to stop after the request in flight (SIGTERM). Cloned freely.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sends `request`, retrying transient failures with the same key. `leaving` runs right
/// before each attempt leaves (after its wait for the rate budget). `Err` is the last failure
/// of the request as a whole; `Ok` has one result per operation it carries.
pub async fn send(
    provider: &dyn Provider,
    request: &WireRequest,
    deadline: Instant,
    leaving: Leaving<'_>,
) -> Result<Vec<Result<Receipt, ProviderError>>, ProviderError> {
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_jitter()
        .with_max_times(MAX_ATTEMPTS - 1)
        .build();
    loop {
        let e = match provider.send(request, &mut *leaving).await {
            Ok(results) => return Ok(results),
            Err(e) if e.is_transient() => e,
            Err(e) => return Err(e),
        };
        let Some(delay) = backoff.next() else {
            return Err(e);
        };
        // The provider's own pause is already shared by the budget: the next send waits for it.
        let delay = if e.retry_after().is_some() {
            Duration::ZERO
        } else {
            delay
        };
        if Instant::now() + delay > deadline {
            return Err(e);
        }
        tracing::warn!(provider = provider.name(), url = %request.url, error = %e, retry_in_ms = delay.as_millis() as u64, "retrying with the same Idempotency-Key");
        tokio::time::sleep(delay).await;
    }
}
