//! Act: carry out an approved plan. Each action is re-checked right before it is sent,
//! written to the audit journal before the request leaves, sent through a rate-limit-aware
//! queue with the plan's idempotency key, and verified afterwards.

pub mod apply;
pub mod history;
pub mod lock;
pub mod operation;
pub mod order;
pub mod plan_check;
pub mod preconditions;
pub mod queue;
pub mod rederive;
pub mod verify;

/// A source of "now": journal times, re-checks and the verification's audit window read it.
/// [`wall_clock`] in the binary; tests pass the sandbox's clock, so that nothing in acting
/// depends on the machine's date.
pub type Clock = std::sync::Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// The machine's clock.
pub fn wall_clock() -> Clock {
    std::sync::Arc::new(chrono::Utc::now)
}
