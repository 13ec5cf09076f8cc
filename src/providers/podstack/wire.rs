//! Podstack API wire format (shared/docs/provider-api.md), as JSON types.
//!
//! The client decodes these and the sandbox encodes them. Network counters in stats
//! samples are cumulative since the pod started (as `docker stats` reports them);
//! idleness uses the difference between consecutive samples.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodPage {
    pub items: Vec<Pod>,
    pub page: u32,
    pub per_page: u32,
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
    pub gpu_count: u32,
    pub cpu_cores: u32,
    pub memory_gb: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub gpu: String,
    pub cpu: String,
    pub memory: String,
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
    pub replicas: u32,
    pub health: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub hourly_rate: String,
    pub currency: String,
    pub total_cost: String,
    pub cost_breakdown: Breakdown,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub nfs_volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    pub index: u32,
    pub util_pct: f64,
    pub memory_used_gb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsSample {
    pub at: DateTime<Utc>,
    pub cpu_pct: f64,
    pub memory_used_gb: f64,
    pub memory_limit_gb: f64,
    pub gpus: Vec<GpuSample>,
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
    pub disk_used_gb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    pub balance: String,
    pub currency: String,
    pub run_rate_per_hour: String,
    pub low_balance_threshold: String,
    pub grace_period_hours: u32,
    pub auto_debit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    pub date: NaiveDate,
    pub pod_id: String,
    pub project_id: String,
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
