//! The providers podwarden knows and the facts each one declares once: what the rest of the
//! program (policy validation, the demo, collection, the report through the fleet's
//! [`ProviderFacts`]) reads instead of naming a provider.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::fleet::ProviderFacts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    Argus,
    Podstack,
}

impl ProviderType {
    /// Every provider podwarden has a client for: the one list to extend with a new one.
    pub const ALL: [ProviderType; 2] = [ProviderType::Argus, ProviderType::Podstack];

    /// The name it goes by without a configuration: the built-in names policies are checked
    /// against, the demo's providers, the default of a policy test case.
    pub fn builtin_name(self) -> &'static str {
        match self {
            ProviderType::Argus => "argus",
            ProviderType::Podstack => "podstack",
        }
    }

    /// Product name, for messages.
    pub fn title(self) -> &'static str {
        match self {
            ProviderType::Argus => "Argus",
            ProviderType::Podstack => "Podstack",
        }
    }

    /// Whether a resume can carry a TTL (`ttl_hours`) that the provider enforces: the one
    /// place this capability is recorded (Argus: yes; Podstack: no, see docs/provider-api.md).
    pub fn supports_resume_ttl(self) -> bool {
        match self {
            ProviderType::Argus => true,
            ProviderType::Podstack => false,
        }
    }

    /// The documented write rate limit (docs/provider-api.md): Argus operations 20 per 60 s per
    /// token; Podstack 120 per 60 s per token, shared by reads and writes.
    pub fn documented_ops_rate(self) -> &'static str {
        match self {
            ProviderType::Argus => "20/60s",
            ProviderType::Podstack => "120/60s",
        }
    }

    /// Whether its cost rows name the worker each pod billed under (Argus `/cost/daily`
    /// `worker_id`): a row that names none is a pod billed without a worker, an orphan's spend
    /// outside the tracked total. Podstack bills pods and never names a worker.
    pub fn cost_rows_per_worker(self) -> bool {
        match self {
            ProviderType::Argus => true,
            ProviderType::Podstack => false,
        }
    }

    /// Where it publishes its own idle-cost rows, which the report cross-checks its idle burn
    /// against and names in its text (Argus `/cost/idle`); `None` when it publishes none.
    pub fn idle_cost_source(self) -> Option<&'static str> {
        match self {
            ProviderType::Argus => Some("/cost/idle"),
            ProviderType::Podstack => None,
        }
    }

    /// The facts the fleet records for a provider of this type, which the report reads.
    /// `idle_costs_read`: whether this run read its idle-cost rows (a provider whose read
    /// failed is recorded as having no list to cross-check against).
    pub fn facts(self, idle_costs_read: bool) -> ProviderFacts {
        ProviderFacts {
            cost_rows_per_worker: self.cost_rows_per_worker(),
            idle_cost_source: self
                .idle_cost_source()
                .filter(|_| idle_costs_read)
                .map(String::from),
        }
    }
}

/// Provider names and their types, as policies are checked against them. Policies name
/// providers by configured name; with a config the names are its `[providers.NAME]`
/// tables, without one the built-in names ("argus" is Argus, "podstack" is Podstack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTypes {
    pub names: BTreeMap<String, ProviderType>,
    /// The config file they come from; `None` for the built-in names.
    pub source: Option<PathBuf>,
}

impl ProviderTypes {
    /// The built-in names, used when no configuration is known.
    pub fn builtin() -> Self {
        ProviderTypes {
            names: ProviderType::ALL
                .iter()
                .map(|t| (t.builtin_name().to_string(), *t))
                .collect(),
            source: None,
        }
    }
}

/// The built-in names, for messages ("argus, podstack").
pub fn builtin_names() -> String {
    ProviderType::ALL
        .iter()
        .map(|t| t.builtin_name())
        .collect::<Vec<_>>()
        .join(", ")
}
