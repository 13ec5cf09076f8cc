//! Act: carry out an approved plan. Each action is re-checked right before it is sent,
//! written to the audit journal before the request leaves, sent through a rate-limit-aware
//! queue with the plan's idempotency key, and verified afterwards.

pub mod apply;
pub mod journal;
pub mod lock;
pub mod order;
pub mod plan_check;
pub mod preconditions;
pub mod progress;
pub mod queue;
pub mod rederive;
pub mod verify;
