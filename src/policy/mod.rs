//! Evaluate: policies as data. TOML files under `policies/` are parsed with their source
//! locations ([`load`]), checked into typed [`Policy`] values (collecting every problem as a
//! [`Diagnostic`]), compiled to polars expressions ([`compile`]) and evaluated over the
//! fleet table ([`evaluate`]). Evaluation is pure: (fleet, policies, now) → matches.

pub mod builtin;
pub mod compile;
pub mod diagnostic;
pub mod evaluate;
pub mod filter;
pub mod limits;
pub mod load;
pub mod reason;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use diagnostic::Diagnostic;
pub use filter::{Filter, Op, Value};
pub use limits::LimitsToml;
pub use load::{load_dir, PolicySet};
pub use schedule::Schedule;

use crate::fleet::ResourceKind;

/// What a policy does to the pods it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Only lists the matches in the report; never acts and never takes a pod's action slot.
    Report,
    Resume,
    Stop,
    Terminate,
}

impl Action {
    pub const NAMES: &'static [&'static str] = &["stop", "resume", "terminate", "report"];

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "stop" => Some(Action::Stop),
            "resume" => Some(Action::Resume),
            "terminate" => Some(Action::Terminate),
            "report" => Some(Action::Report),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Stop => "stop",
            Action::Resume => "resume",
            Action::Terminate => "terminate",
            Action::Report => "report",
        }
    }
}

/// Circuit breakers: exceeding any refuses the whole policy (or, globally, the whole plan).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub max_actions: Option<usize>,
    /// Percent of the pods in the policy's scope (its providers).
    pub max_fleet_share_pct: Option<Decimal>,
    /// Per currency code; a currency not listed while this is set trips the breaker.
    pub max_per_day: BTreeMap<String, Decimal>,
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub description: String,
    pub file: PathBuf,
    pub line: usize,
    /// Provider names it applies to; empty means all.
    pub providers: Vec<String>,
    pub resource: ResourceKind,
    pub action: Action,
    pub allow_terminate: bool,
    /// Higher wins when several policies match one pod.
    pub priority: i64,
    pub reason: String,
    pub ttl_hours: Option<u32>,
    /// Stop or terminate even inside an active resume-TTL lease (explicit, validated).
    #[serde(default)]
    pub override_ttl_lease: bool,
    /// A notice period (`notice = "24h"`): a pod it would act on is first listed as pending
    /// and acted on only once it has matched on every run for this long (`plan::notice`).
    #[serde(default)]
    pub notice: Option<chrono::Duration>,
    pub filters: Vec<Filter>,
    pub limits: Limits,
    pub schedule: Option<Schedule>,
}

impl Policy {
    pub fn applies_to(&self, provider: &str) -> bool {
        self.providers.is_empty() || self.providers.iter().any(|p| p == provider)
    }
    /// Label keys its filters read (each becomes a `label.KEY` column).
    pub fn label_keys(&self) -> impl Iterator<Item = &str> {
        self.filters.iter().filter_map(|f| match f {
            Filter::LabelPresent(k) | Filter::LabelAbsent(k) | Filter::LabelEquals(k, _) => {
                Some(k.as_str())
            }
            Filter::Where { field, .. } => field.strip_prefix("label."),
            _ => None,
        })
    }
}
