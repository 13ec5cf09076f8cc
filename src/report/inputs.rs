//! What the report takes besides the fleet and the plan: actions taken in past runs (from the
//! audit journal) and pending notices (from notice periods). Small structs of their own, so
//! the report does not depend on how the journal or the notices store them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Currency;

/// An action a past run took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakenAction {
    pub at: DateTime<Utc>,
    pub provider: String,
    pub target: String,
    /// `stop`, `resume`, `terminate`.
    pub action: String,
    pub policy: String,
    /// Estimated savings per day when it was planned (negative for a resume).
    #[serde(with = "rust_decimal::serde::str")]
    pub est_savings_per_day: Decimal,
    pub currency: Currency,
    /// The journal's state: `planned`, `sent`, `accepted`, `verified`, `failed`. Savings are
    /// realised only by an action the provider accepted (`accepted`, `verified`).
    pub status: String,
}

impl TakenAction {
    /// Whether the provider took it, so that it saves money from `at` on.
    pub fn took_effect(&self) -> bool {
        matches!(self.status.as_str(), "accepted" | "verified")
    }

    /// Savings realised from `at` to `now`: the estimate per day times the days elapsed (an
    /// estimate: a pod started again by hand since stops saving, which the journal does not know).
    pub fn realised(&self, now: DateTime<Utc>) -> Decimal {
        if !self.took_effect() || now <= self.at {
            return Decimal::ZERO;
        }
        let secs = Decimal::from((now - self.at).num_seconds());
        self.est_savings_per_day * secs / Decimal::from(86_400)
    }
}

/// An action announced and waiting for its notice period to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingNotice {
    pub provider: String,
    pub target: String,
    pub policy: String,
    pub action: String,
    pub due_at: DateTime<Utc>,
    pub reason: String,
}
