//! Podstack API wire format (docs/provider-api.md), as JSON types.
//!
//! The client decodes these and the sandbox encodes them. Network counters in stats
//! samples are cumulative since the pod started (as `docker stats` reports them);
//! idleness uses the difference between consecutive samples.
//!
//! Unknown extra fields are ignored when decoding. Field rules (string decimals, instants in
//! any offset, whole counts, measurements as any number, null or absent optionals) live in
//! [`crate::providers::wire_fields`]; the hand-written fixtures in
//! `tests/fixtures/wire/podstack/` check them against the contract.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::providers::wire_fields as wf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodPage {
    pub items: Vec<Pod>,
    #[serde(deserialize_with = "wf::count")]
    pub page: u32,
    #[serde(deserialize_with = "wf::count")]
    pub per_page: u32,
    #[serde(deserialize_with = "wf::count64")]
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub gpu_type: String,
    #[serde(deserialize_with = "wf::count")]
    pub gpu_count: u32,
    /// Any non-negative number (`8`, `0.5`).
    #[serde(deserialize_with = "wf::measure")]
    pub cpu_cores: f64,
    /// Any non-negative number (`64`, `7.5`).
    #[serde(deserialize_with = "wf::measure")]
    pub memory_gb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    #[serde(deserialize_with = "wf::decimal_string")]
    pub gpu: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub cpu: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub memory: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub storage: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub status: String,
    pub image: String,
    pub resources: Resources,
    #[serde(deserialize_with = "wf::count")]
    pub replicas: u32,
    pub health: String,
    #[serde(deserialize_with = "wf::instant")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "wf::optional_instant")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub hourly_rate: String,
    pub currency: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub total_cost: String,
    pub cost_breakdown: Breakdown,
    /// `null` or absent: no labels.
    #[serde(default, deserialize_with = "wf::labels")]
    pub labels: BTreeMap<String, String>,
    /// `null` or absent: none. The contract leaves the items open: strings are kept,
    /// other items as their JSON text.
    #[serde(default, deserialize_with = "wf::open_list")]
    pub nfs_volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    #[serde(deserialize_with = "wf::count")]
    pub index: u32,
    #[serde(deserialize_with = "wf::measure")]
    pub util_pct: f64,
    #[serde(deserialize_with = "wf::measure")]
    pub memory_used_gb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsSample {
    #[serde(deserialize_with = "wf::instant")]
    pub at: DateTime<Utc>,
    #[serde(deserialize_with = "wf::measure")]
    pub cpu_pct: f64,
    #[serde(deserialize_with = "wf::measure")]
    pub memory_used_gb: f64,
    #[serde(deserialize_with = "wf::measure")]
    pub memory_limit_gb: f64,
    /// Required: `null` is refused rather than read as "no GPUs", which would make every
    /// GPU vacuously idle.
    pub gpus: Vec<GpuSample>,
    /// Cumulative bytes: any non-negative number, rounded down.
    #[serde(deserialize_with = "wf::floor_u64")]
    pub net_rx_bytes: u64,
    #[serde(deserialize_with = "wf::floor_u64")]
    pub net_tx_bytes: u64,
    #[serde(deserialize_with = "wf::measure")]
    pub disk_used_gb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    #[serde(deserialize_with = "wf::decimal_string")]
    pub balance: String,
    pub currency: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub run_rate_per_hour: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub low_balance_threshold: String,
    /// Any non-negative number, rounded down to whole hours (a warning comes early, not late).
    #[serde(deserialize_with = "wf::floor_u32")]
    pub grace_period_hours: u32,
    pub auto_debit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    #[serde(deserialize_with = "wf::date")]
    pub date: NaiveDate,
    pub pod_id: String,
    pub project_id: String,
    #[serde(deserialize_with = "wf::decimal_string")]
    pub amount: String,
    pub currency: String,
    pub by_resource: Breakdown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkIds {
    pub ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResult {
    pub id: String,
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkResults {
    pub results: Vec<BulkResult>,
}
