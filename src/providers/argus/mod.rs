//! The Argus Operations API client and its mapping into the normalized fleet.
//!
//! Workers become [`ResourceKind::Pod`] rows addressed by worker id; pods without a
//! worker become [`ResourceKind::Orphan`] rows addressed by pod id. Activity comes from
//! `/compute/served`: a worker missing there is unknown, never idle.
//!
//! Lists are walked to the end and de-duplicated by id (workers by id, pods by pod id, cost
//! rows by date and pod): a page that starts with the previous page's last item counts it
//! once. A failed `/compute/served` or `/cost/daily` does not fail the provider: the
//! inventory is kept and the loss is reported as a gap (served: every worker unknown;
//! costs: none for this provider).

pub mod wire;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::http::{Api, CursorGuard, HttpSettings};
use super::registry::ProviderType;
use super::wire_fields;
use super::{
    CallStats, Gap, Inventory, OpKind, Operation, Provider, ProviderError, Receipt, WireRequest,
};
use crate::fleet::{
    Activity, CostRow, IdleCost as FleetIdleCost, Pod, PodStatus, ResourceKind, Since,
};
use crate::money::{Currency, Money};
use wire::*;

/// The Argus client. Reads and operations have separate rate budgets at Argus (operations:
/// 20 per 60 s per token), so they go through two connections: `api` learns the read budget
/// from the headers, `ops` starts from the configured operations limit.
pub struct Argus {
    api: Api,
    ops: Api,
}

impl Argus {
    /// `settings.rate` is the operations' limit; reads learn theirs.
    pub fn new(name: &str, settings: HttpSettings) -> Result<Self, ProviderError> {
        let reads = HttpSettings {
            rate: None,
            ..settings.clone()
        };
        Ok(Argus {
            api: Api::new(name, reads)?,
            ops: Api::new(name, settings)?,
        })
    }

    /// Follows a cursor-paginated list to the end; a repeated cursor is an error. An item
    /// seen on an earlier page (same [`Keyed::key`]) is kept once, as first seen.
    pub async fn list_all<T: DeserializeOwned + Keyed>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, ProviderError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut guard = CursorGuard::default();
        let mut cursor: Option<String> = None;
        loop {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("limit", "500".into()));
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page: Page<T> = self.api.get(path, &q).await?;
            out.extend(page.items.into_iter().filter(|i| seen.insert(i.key())));
            match page.next_cursor {
                Some(next) => {
                    guard.check(self.api.provider(), path, "cursor", &next)?;
                    cursor = Some(next);
                }
                None => return Ok(out),
            }
        }
    }

    /// Workers and pods with their activity (no costs): what `collect` and `recheck` share.
    async fn workers_and_pods(&self) -> Result<Inventory, ProviderError> {
        let name = self.api.provider().to_string();
        let workers: Vec<Worker> = self.list_all("/compute/workers", &[]).await?;
        let pods: Vec<ProviderPod> = self.list_all("/compute/pods", &[]).await?;
        // Served is a signal, not inventory: if it fails, every worker is unknown (active).
        let served: Result<Items<Served>, _> = self.api.get("/compute/served", &[]).await;
        let mut inv = Inventory::default();
        let (served, served_error) = match served {
            Ok(s) => (
                s.items
                    .into_iter()
                    .map(|s| (s.worker_id.clone(), s))
                    .collect::<HashMap<_, _>>(),
                None,
            ),
            Err(e) => {
                let detail = e.to_string();
                inv.gaps.push(Gap {
                    data: "served",
                    detail: format!(
                        "every worker's activity is unknown (no idle stop planned): {detail}"
                    ),
                    error: e,
                });
                (HashMap::new(), Some(detail))
            }
        };
        for w in &workers {
            let activity = match &served_error {
                Some(e) => Activity::Unknown {
                    why: format!("served data failed to load: {e}"),
                },
                None => activity(served.get(&w.id), w.last_started_at),
            };
            inv.pods.push(Pod {
                provider: name.clone(),
                kind: ResourceKind::Pod,
                target: w.id.clone(),
                pod_id: w.pod_id.clone(),
                name: w.name.clone(),
                status: PodStatus::parse(&w.status),
                project: Some(w.project.clone()),
                owner: Some(w.owner.clone()),
                gpu_type: Some(w.gpu_type.clone()),
                gpu_count: w.gpu_count,
                region: Some(w.region.clone()),
                labels: w.labels.clone(),
                hourly_rate: self.money(
                    &w.hourly_rate_usd,
                    "/compute/workers",
                    &format!("items[id={}].hourly_rate_usd", w.id),
                )?,
                created_at: w.created_at,
                last_started_at: w.last_started_at,
                ttl_expires_at: w.ttl_expires_at,
                orphaned_since: None,
                orphaned_since_source: None,
                stopped_since: None,
                reading: None,
                health: None,
                activity,
            });
        }
        for p in pods.iter().filter(|p| p.worker_id.is_none()) {
            inv.pods.push(Pod {
                provider: name.clone(),
                kind: ResourceKind::Orphan,
                target: p.pod_id.clone(),
                pod_id: p.pod_id.clone(),
                name: p.pod_id.clone(),
                status: PodStatus::parse(&p.status),
                project: None,
                owner: None,
                gpu_type: Some(p.gpu_type.clone()),
                gpu_count: p.gpu_count,
                region: Some(p.region.clone()),
                labels: Default::default(),
                hourly_rate: self.money(
                    &p.hourly_rate_usd,
                    "/compute/pods",
                    &format!("items[pod_id={}].hourly_rate_usd", p.pod_id),
                )?,
                created_at: p.created_at,
                last_started_at: None,
                ttl_expires_at: None,
                orphaned_since: p.orphaned_since,
                orphaned_since_source: p.orphaned_since.map(|_| Since::Provider),
                stopped_since: None,
                reading: None,
                health: None,
                activity: Activity::Unknown {
                    why: "orphan: no worker, no served signal".into(),
                },
            });
        }
        Ok(inv)
    }

    /// USD from a decoded money field; a failure names the endpoint and `field`
    /// (e.g. `items[id=wkr_1].hourly_rate_usd`).
    fn money(&self, amount: &str, endpoint: &str, field: &str) -> Result<Money, ProviderError> {
        wire_fields::money(
            self.api.provider(),
            endpoint,
            field,
            amount,
            Currency::usd(),
        )
    }
}

/// A worker's activity from its `/compute/served` row (`None`: no row, so unknown) and its
/// last start. Idle time never starts before the last start: a worker resumed 30 minutes ago
/// that last served five days ago has been idle for 30 minutes, and the start is known.
pub fn activity(served: Option<&Served>, last_started_at: Option<DateTime<Utc>>) -> Activity {
    let Some(s) = served else {
        return Activity::Unknown {
            why: "no row in /compute/served".into(),
        };
    };
    if s.cameras > 0 {
        return Activity::Busy;
    }
    let shown = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let (since, evidence) = match (s.last_served_at, last_started_at) {
        (Some(served), Some(started)) if served < started => (
            Some(started),
            format!(
                "0 cameras since its start at {} (last served {})",
                shown(started),
                shown(served)
            ),
        ),
        (Some(served), _) => (
            Some(served),
            format!("0 cameras, last served {}", shown(served)),
        ),
        (None, _) => (None, "0 cameras, never served or not known".into()),
    };
    Activity::Idle {
        since,
        source: since.map(|_| Since::Provider),
        start_seen: since.is_some(),
        evidence,
    }
}

#[async_trait]
impl Provider for Argus {
    fn provider_type(&self) -> ProviderType {
        ProviderType::Argus
    }

    fn name(&self) -> &str {
        self.api.provider()
    }

    /// Workers, pods and `/compute/served` (one list for every worker: no per-pod reads),
    /// and the provider's idle view.
    async fn inventory(&self, _now: DateTime<Utc>) -> Result<Inventory, ProviderError> {
        let mut inv = self.workers_and_pods().await?;
        let name = self.api.provider().to_string();
        // The provider's own idle view, for the report's cross-check; a failed read leaves
        // `idle_costs` unread (`None`) and is a gap.
        match self.api.get::<Items<IdleCost>>("/cost/idle", &[]).await {
            Ok(idle) => {
                let mut rows = Vec::with_capacity(idle.items.len());
                for row in idle.items {
                    let per_day = self.money(
                        &row.usd_per_day,
                        "/cost/idle",
                        &format!("items[worker_id={}].usd_per_day", row.worker_id),
                    )?;
                    rows.push(FleetIdleCost {
                        provider: name.clone(),
                        target: row.worker_id,
                        per_day,
                    });
                }
                inv.idle_costs = Some(rows);
            }
            Err(e) => inv.gaps.push(Gap {
                data: "costs",
                detail: format!("no idle-cost rows (/cost/idle) to cross-check idle burn: {e}"),
                error: e,
            }),
        }
        Ok(inv)
    }

    /// `/cost/daily` from `from` to `to` (inclusive), every page; a row's project is its
    /// pod's (from `pods`, this run's inventory).
    async fn costs(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        pods: &[Pod],
    ) -> Result<Vec<CostRow>, ProviderError> {
        let daily: Vec<DailyCost> = self
            .list_all(
                "/cost/daily",
                &[("from", from.to_string()), ("to", to.to_string())],
            )
            .await?;
        let name = self.api.provider().to_string();
        let project_of: HashMap<&str, &String> = pods
            .iter()
            .filter_map(|p| Some((p.pod_id.as_str(), p.project.as_ref()?)))
            .collect();
        let mut rows = Vec::with_capacity(daily.len());
        for d in daily {
            rows.push(CostRow {
                provider: name.clone(),
                date: d.date,
                project: project_of.get(d.pod_id.as_str()).map(|p| (*p).clone()),
                amount: self.money(
                    &d.usd,
                    "/cost/daily",
                    &format!("items[pod_id={},date={}].usd", d.pod_id, d.date),
                )?,
                // The shortest decimal that reads back as the float: 1.1 stays 1.1.
                hours: rust_decimal::prelude::FromPrimitive::from_f64(d.hours),
                pod_id: d.pod_id,
                worker_id: d.worker_id,
                by_resource: None,
            });
        }
        Ok(rows)
    }

    async fn recheck(
        &self,
        targets: &[String],
        _now: DateTime<Utc>,
    ) -> Result<Vec<Pod>, ProviderError> {
        let wanted: HashSet<&str> = targets.iter().map(String::as_str).collect();
        let inv = self.workers_and_pods().await?;
        Ok(inv
            .pods
            .into_iter()
            .filter(|p| wanted.contains(p.target.as_str()))
            .collect())
    }

    /// One request per operation: Argus has no bulk operations.
    fn requests(&self, ops: &[Operation]) -> Vec<WireRequest> {
        ops.iter()
            .enumerate()
            .map(|(i, op)| {
                let path = match op.kind {
                    ResourceKind::Orphan => format!("/compute/ops/pods/{}/terminate", op.target),
                    ResourceKind::Pod => {
                        format!("/compute/ops/workers/{}/{}", op.target, op.op.as_str())
                    }
                };
                let body = OpRequest {
                    reason: op.reason.clone(),
                    ttl_hours: op.ttl_hours.filter(|_| op.op == OpKind::Resume),
                    confirm: (op.op == OpKind::Terminate && op.confirm).then_some(true),
                };
                self.ops.wire(
                    Method::POST,
                    path,
                    vec![],
                    serde_json::to_value(&body).ok(),
                    op.idempotency_key.clone(),
                    vec![i],
                )
            })
            .collect()
    }

    async fn send(
        &self,
        request: &WireRequest,
        leaving: super::Leaving<'_>,
    ) -> Result<Vec<Result<Receipt, ProviderError>>, ProviderError> {
        if request.path.starts_with("/compute/ops/pods/") && !request.path.ends_with("/terminate") {
            return Err(ProviderError::Conflict {
                provider: self.api.provider().into(),
                endpoint: request.path.clone(),
                code: "orphan_terminate_only".into(),
                message: "an orphan can only be terminated".into(),
            });
        }
        let answer = self.ops.send_wire(request, leaving).await?;
        let status = answer.status;
        let accepted: OpAccepted = self.ops.decode(&request.path, answer.body)?;
        Ok(vec![Ok(Receipt {
            operation_id: Some(accepted.operation_id),
            audit_id: Some(accepted.audit_id),
            http_status: Some(status.as_u16()),
        })])
    }

    fn keeps_operation_ids(&self) -> bool {
        true
    }

    /// The operation itself with `?dry_run=true`: Argus validates it, scope included, and
    /// acts on nothing. It spends one call of the operations budget.
    async fn check_write(&self, sample: &Operation) -> Result<(), ProviderError> {
        let mut request = self
            .requests(std::slice::from_ref(sample))
            .into_iter()
            .next()
            .ok_or_else(|| ProviderError::BadRequest {
                provider: self.api.provider().into(),
                endpoint: "/compute/ops".into(),
                code: "no_request".into(),
                message: "nothing to check".into(),
            })?;
        request.query.push(("dry_run".into(), "true".into()));
        request.idempotency_key = format!(
            "check-{}",
            sample.idempotency_key.chars().take(50).collect::<String>()
        );
        match self.ops.send_wire(&request, &mut || Ok(())).await {
            Ok(_) => Ok(()),
            // Scope and budget are what this checks; a state the operation no longer fits is
            // the re-check's business, right before the action.
            Err(
                e @ (ProviderError::Forbidden { .. }
                | ProviderError::Unauthorized { .. }
                | ProviderError::RateLimited { .. }
                | ProviderError::DeadlineExceeded { .. }
                | ProviderError::Transport { .. }
                | ProviderError::Server { .. }),
            ) => Err(e),
            Err(_) => Ok(()),
        }
    }

    async fn audit(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<super::AuditEntry>>, ProviderError> {
        let items: Items<wire::AuditEntry> = self
            .api
            .get(
                "/audit",
                &[(
                    "since",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )],
            )
            .await?;
        Ok(Some(
            items
                .items
                .into_iter()
                .map(|a| super::AuditEntry {
                    audit_id: a.audit_id,
                    operation_id: a.operation_id,
                    at: a.at,
                    action: a.action,
                    target: a.target,
                    reason: a.reason,
                })
                .collect(),
        ))
    }

    fn write_limit(&self) -> Option<super::budget::RateLimit> {
        self.ops.limit()
    }

    fn write_batch(&self) -> usize {
        self.ops.batch()
    }

    fn stats(&self) -> CallStats {
        let (r, o) = (self.api.stats(), self.ops.stats());
        CallStats {
            writes: o.writes,
            rate_limited: r.rate_limited + o.rate_limited,
        }
    }
}
