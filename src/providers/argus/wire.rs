//! Argus Operations API wire format (docs/provider-api.md), as JSON types.
//!
//! The client decodes these and the sandbox encodes them, so the contract is written once.
//! Unknown extra fields are ignored when decoding. Field rules (string decimals, instants in
//! any offset, whole counts, null or absent optionals) live in [`crate::providers::wire_fields`];
//! the hand-written fixtures in `tests/fixtures/wire/argus/` check them against the contract.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::providers::wire_fields as wf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    pub id: String,
    pub pod_id: String,
    pub name: String,
    pub status: String,
    pub gpu_type: String,
    #[serde(deserialize_with = "wf::count")]
    pub gpu_count: u32,
    pub region: String,
    pub project: String,
    pub owner: String,
    /// `null` or absent: no labels.
    #[serde(default, deserialize_with = "wf::labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub hourly_rate_usd: String,
    #[serde(deserialize_with = "wf::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "wf::optional_instant")]
    pub last_started_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "wf::optional_instant")]
    pub ttl_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Served {
    pub worker_id: String,
    #[serde(deserialize_with = "wf::count")]
    pub cameras: u32,
    #[serde(default, deserialize_with = "wf::optional_instant")]
    pub last_served_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderPod {
    pub pod_id: String,
    pub worker_id: Option<String>,
    pub status: String,
    pub gpu_type: String,
    #[serde(deserialize_with = "wf::count")]
    pub gpu_count: u32,
    pub region: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub hourly_rate_usd: String,
    #[serde(deserialize_with = "wf::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "wf::optional_instant")]
    pub orphaned_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyCost {
    #[serde(deserialize_with = "wf::date")]
    pub date: NaiveDate,
    pub pod_id: String,
    pub worker_id: Option<String>,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub usd: String,
    /// Billed hours: any non-negative number (`24`, `1.5`).
    #[serde(deserialize_with = "wf::measure")]
    pub hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleCost {
    pub worker_id: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub usd_per_day: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub audit_id: String,
    pub operation_id: String,
    #[serde(deserialize_with = "wf::instant")]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub reason: String,
}

/// Body of stop / resume / terminate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpRequest {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<bool>,
}

/// 202 response of an accepted operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpAccepted {
    pub operation_id: String,
    pub worker_id: Option<String>,
    pub pod_id: String,
    pub action: String,
    pub status: String,
    pub audit_id: String,
}

/// The identity of a list item, for de-duplicating items a paginated walk sees twice.
pub trait Keyed {
    fn key(&self) -> String;
}

impl Keyed for Worker {
    fn key(&self) -> String {
        self.id.clone()
    }
}

impl Keyed for ProviderPod {
    fn key(&self) -> String {
        self.pod_id.clone()
    }
}

/// A cost row is one pod on one day.
impl Keyed for DailyCost {
    fn key(&self) -> String {
        format!("{}/{}", self.date, self.pod_id)
    }
}

/// Untyped items: their `id`, else their `pod_id`, else the whole item.
impl Keyed for serde_json::Value {
    fn key(&self) -> String {
        ["id", "pod_id"]
            .iter()
            .find_map(|k| self.get(k).and_then(serde_json::Value::as_str))
            .map_or_else(|| self.to_string(), str::to_string)
    }
}
