//! Collect: one module per provider behind the [`Provider`] trait.
//!
//! A provider reads its inventory, signals and costs (read-only, paginated to the end,
//! rate-limit aware) and maps them into the normalized [`crate::fleet`] model; it also
//! carries out single operations. Every provider quirk stays inside its module.

pub mod argus;
pub mod budget;
pub mod error;
pub mod http;
pub mod podstack;
pub mod retry_after;
pub mod wire_fields;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::ProviderError;

use crate::fleet::{CostRow, IdleCost, Pod, ResourceKind, Wallet};

/// What one provider returned.
#[derive(Debug, Default)]
pub struct Inventory {
    pub pods: Vec<Pod>,
    pub costs: Vec<CostRow>,
    pub wallets: Vec<Wallet>,
    /// The provider's own idle-cost rows (Argus `/cost/idle`).
    pub idle_costs: Vec<IdleCost>,
    /// Data that failed to load although the inventory was read to the end.
    pub gaps: Vec<Gap>,
}

/// Data of a provider that failed to load while its inventory was read to the end: what it
/// affects is unknown (pods' activity) or missing (costs, wallet), and the run exits non-zero.
#[derive(Debug, Clone)]
pub struct Gap {
    /// What is missing: `served`, `stats`, `costs` or `wallet`.
    pub data: &'static str,
    /// For people: what was lost and why (never a token).
    pub detail: String,
    /// The most specific error behind it, for the exit code.
    pub error: ProviderError,
}

impl Gap {
    /// A gap caused by one failed read.
    pub fn from_error(data: &'static str, error: ProviderError) -> Self {
        Gap {
            data,
            detail: error.to_string(),
            error,
        }
    }
}

/// An operation a provider can carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Stop,
    Resume,
    Terminate,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Stop => "stop",
            OpKind::Resume => "resume",
            OpKind::Terminate => "terminate",
        }
    }
}

/// One operation on one target.
#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: ResourceKind,
    pub target: String,
    pub op: OpKind,
    pub reason: String,
    pub ttl_hours: Option<u32>,
    /// Sent as `Idempotency-Key`: a repeat of the same key never acts twice.
    pub idempotency_key: String,
    /// Terminate is sent with the provider's confirmation only when this is true.
    pub confirm: bool,
}

/// The provider's acknowledgement of an accepted operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Receipt {
    pub operation_id: Option<String>,
    pub audit_id: Option<String>,
}

/// A GPU-pod provider.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The configured name ("argus", "podstack"), used in plans and reports.
    fn name(&self) -> &str;
    /// Reads everything: inventory to the end, signals, and `cost_days` days of costs up to `now`.
    async fn collect(&self, now: DateTime<Utc>, cost_days: u32)
        -> Result<Inventory, ProviderError>;
    /// Carries out one operation.
    async fn execute(&self, op: &Operation) -> Result<Receipt, ProviderError>;
}
