//! The Podstack API client and its mapping into the normalized fleet.
//!
//! Podstack has no "served" signal: a pod is idle when every GPU's utilisation and its
//! network throughput stay below thresholds. Samples are read from
//! `/pods/{id}/stats/history`; missing or stale samples, or a failed request, make the
//! pod unknown (active). Amounts keep their own currency (INR or USD).
//!
//! `/pods` is walked page by page and de-duplicated by id until the distinct pods reach
//! `total`: a page that repeats an item of the previous one (shifting the rest) is read on
//! and the pod counted once. An empty page before `total`, a `total` that changes between
//! pages, more distinct pods than `total` or a page with nothing new means the list changed
//! under the walk: the provider is incomplete. Failed stats, wallet or cost reads keep the
//! inventory and are reported as gaps; the wallet and costs are read before the utilisation,
//! so that a run cut by its deadline loses only the slow part.

mod idle;
pub mod wire;

pub use idle::{activity_from_samples, IdleThresholds};

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::stream::{self, StreamExt};
use reqwest::Method;

use super::http::{Api, CursorGuard, HttpSettings};
use super::registry::ProviderType;
use super::wire_fields;
use super::{
    ActivityRead, CallStats, Gap, Inventory, OpKind, Operation, Provider, ProviderError, Receipt,
    WireRequest,
};
use crate::fleet::{
    Activity, CostRow, Pod, PodHealth, PodStatus, ResourceBreakdown, ResourceKind,
    Wallet as FleetWallet,
};
use crate::money::{Currency, Money};
use sha2::{Digest, Sha256};
use wire::*;

/// The most ids one bulk call takes.
const BULK_MAX: usize = 50;

/// Stats requests in flight at once (the provider allows 120 requests per minute).
const STATS_CONCURRENCY: usize = 4;
const PER_PAGE: u32 = 100;

pub struct Podstack {
    api: Api,
    idle: IdleThresholds,
    /// Project names by id, from the last inventory's `/projects` (cost rows name ids).
    projects: std::sync::Mutex<HashMap<String, String>>,
}

impl Podstack {
    pub fn new(
        name: &str,
        settings: HttpSettings,
        idle: IdleThresholds,
    ) -> Result<Self, ProviderError> {
        Ok(Podstack {
            api: Api::new(name, settings)?,
            idle,
            projects: Default::default(),
        })
    }

    /// Reads `/pods` page by page until the distinct pods reach `total` (see the module doc).
    pub async fn list_pods(&self) -> Result<Vec<wire::Pod>, ProviderError> {
        let mut out: Vec<wire::Pod> = Vec::new();
        let mut seen = HashSet::new();
        let mut guard = CursorGuard::default();
        let mut total: Option<u64> = None;
        let mut page = 1u32;
        let inconsistent = |detail: String| ProviderError::Pagination {
            provider: self.api.provider().into(),
            endpoint: "/pods".into(),
            detail,
        };
        loop {
            let q = [
                ("status", "all".to_string()),
                ("page", page.to_string()),
                ("per_page", PER_PAGE.to_string()),
            ];
            let p: PodPage = self.api.get("/pods", &q).await?;
            match total {
                Some(t) if t != p.total => {
                    return Err(inconsistent(format!(
                        "the total changed from {t} to {} at page {page}: the list changed under the walk",
                        p.total
                    )))
                }
                _ => total = Some(p.total),
            }
            if let Some(first) = p.items.first() {
                guard.check(self.api.provider(), "/pods", "page starting at", &first.id)?;
            }
            let before = out.len();
            let empty = p.items.is_empty();
            out.extend(p.items.into_iter().filter(|i| seen.insert(i.id.clone())));
            let read = out.len() as u64;
            if read > p.total {
                return Err(inconsistent(format!(
                    "{read} distinct pods but a total of {}: ids changed under the walk",
                    p.total
                )));
            }
            if read == p.total {
                return Ok(out);
            }
            if empty {
                return Err(inconsistent(format!(
                    "page {page} is empty with {read} of {} pods read",
                    p.total
                )));
            }
            if out.len() == before {
                return Err(inconsistent(format!(
                    "page {page} holds only pods already read ({read} of {})",
                    p.total
                )));
            }
            page += 1;
        }
    }

    /// Money in `currency` from a decoded money field; a failure names the endpoint and
    /// `field` (e.g. `items[id=pod_1].hourly_rate`).
    fn money(
        &self,
        amount: &str,
        currency: &str,
        endpoint: &str,
        field: &str,
    ) -> Result<Money, ProviderError> {
        let currency = Currency::new(currency);
        wire_fields::money(self.api.provider(), endpoint, field, amount, currency)
    }

    /// Logs what reading the running pods' utilisation will cost at the rate limit, and, when
    /// the run's deadline cannot fit it, how many pods it will leave unread (their activity
    /// unknown: no policy acts on them).
    fn announce_stats_reads(&self, running: usize) {
        let Some(limit) = self.api.limit().filter(|_| running > 0) else {
            return;
        };
        let left = self
            .api
            .deadline()
            .map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
        let e = limit.estimate(running, left);
        let took = chrono::Duration::from_std(e.at_least).unwrap_or(chrono::Duration::MAX);
        tracing::info!(
            provider = %self.api.provider(),
            requests = running,
            "reading the utilisation of {running} running pods: {running} requests at {} \
             per {}s take at least {}",
            limit.calls,
            limit.window.as_secs(),
            crate::duration::format(took)
        );
        if e.left_unread > 0 {
            tracing::warn!(
                provider = %self.api.provider(),
                unread = e.left_unread,
                "the run's deadline leaves about {} of {running} running pods unread: their \
                 activity stays unknown and no policy acts on them",
                e.left_unread
            );
        }
    }

    /// A pod's activity from its `/stats/history`, and the error when it could not be read.
    async fn activity(&self, pod: &Pod, now: DateTime<Utc>) -> ActivityRead {
        if pod.status != PodStatus::Running {
            let why = format!("not running ({}): no utilisation signal", pod.status);
            return ActivityRead {
                activity: Activity::Unknown { why },
                error: None,
            };
        }
        let path = format!("/pods/{}/stats/history", pod.target);
        match self
            .api
            .get::<Items<StatsSample>>(&path, &[("window", self.idle.window.clone())])
            .await
        {
            Ok(s) => ActivityRead {
                activity: activity_from_samples(
                    &s.items,
                    pod.last_started_at,
                    pod.gpu_count,
                    now,
                    &self.idle,
                ),
                error: None,
            },
            Err(e) => {
                let why = match e {
                    ProviderError::DeadlineExceeded { .. } => {
                        "utilisation not read before the run's deadline".to_string()
                    }
                    _ => format!("utilisation failed to load: {e}"),
                };
                ActivityRead {
                    activity: Activity::Unknown { why },
                    error: Some(e),
                }
            }
        }
    }

    /// The normalized pod of a wire pod (`project`: its name when known, else its id).
    fn pod(
        &self,
        p: &wire::Pod,
        project: Option<String>,
        activity: Activity,
        endpoint: &str,
    ) -> Result<Pod, ProviderError> {
        Ok(Pod {
            provider: self.api.provider().to_string(),
            kind: ResourceKind::Pod,
            target: p.id.clone(),
            pod_id: p.id.clone(),
            name: p.name.clone(),
            status: PodStatus::parse(&p.status),
            project: Some(project.unwrap_or_else(|| p.project_id.clone())),
            owner: None,
            gpu_type: Some(p.resources.gpu_type.clone()),
            gpu_count: p.resources.gpu_count,
            region: None,
            labels: p.labels.clone(),
            hourly_rate: self.money(
                &p.hourly_rate,
                &p.currency,
                endpoint,
                &format!("items[id={}].hourly_rate", p.id),
            )?,
            created_at: p.created_at,
            last_started_at: p.started_at,
            ttl_expires_at: None,
            orphaned_since: None,
            orphaned_since_source: None,
            stopped_since: None,
            reading: None,
            activity,
            health: Some(PodHealth {
                replicas: p.replicas,
                health: p.health.to_ascii_lowercase(),
            }),
        })
    }

    /// The wallet: kept out of the inventory's fate, a failure becomes a gap.
    async fn wallet(&self, inv: &mut Inventory) {
        let name = self.api.provider().to_string();
        match self.api.get::<Wallet>("/wallet", &[]).await.and_then(|w| {
            Ok(FleetWallet {
                provider: name.clone(),
                balance: self.money(&w.balance, &w.currency, "/wallet", "balance")?,
                run_rate_per_hour: self.money(
                    &w.run_rate_per_hour,
                    &w.currency,
                    "/wallet",
                    "run_rate_per_hour",
                )?,
                low_balance_threshold: self.money(
                    &w.low_balance_threshold,
                    &w.currency,
                    "/wallet",
                    "low_balance_threshold",
                )?,
                grace_period_hours: w.grace_period_hours,
                auto_debit: w.auto_debit,
            })
        }) {
            Ok(w) => inv.wallets.push(w),
            Err(e) => inv.gaps.push(Gap::from_error("wallet", e)),
        }
    }

    /// `/billing/usage` from `from` to `to`, rows de-duplicated, projects named.
    async fn usage(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<CostRow>, ProviderError> {
        let name = self.api.provider().to_string();
        let usage = self
            .api
            .get::<Items<UsageRow>>(
                "/billing/usage",
                &[("from", from.to_string()), ("to", to.to_string())],
            )
            .await;
        let rows = usage.and_then(|usage| {
            let mut seen = HashSet::new();
            let mut rows = Vec::new();
            for u in usage.items {
                if !seen.insert((u.date, u.pod_id.clone())) {
                    continue; // a duplicated row would count twice
                }
                let part = |amount: &str, name: &str| {
                    self.money(
                        amount,
                        &u.currency,
                        "/billing/usage",
                        &format!(
                            "items[pod_id={},date={}].by_resource.{name}",
                            u.pod_id, u.date
                        ),
                    )
                    .map(|m| m.amount)
                };
                let by_resource = ResourceBreakdown {
                    gpu: part(&u.by_resource.gpu, "gpu")?,
                    cpu: part(&u.by_resource.cpu, "cpu")?,
                    memory: part(&u.by_resource.memory, "memory")?,
                    storage: part(&u.by_resource.storage, "storage")?,
                };
                rows.push((
                    self.money(
                        &u.amount,
                        &u.currency,
                        "/billing/usage",
                        &format!("items[pod_id={},date={}].amount", u.pod_id, u.date),
                    )?,
                    by_resource,
                    u,
                ));
            }
            Ok(rows)
        });
        let projects = self.projects.lock().map(|p| p.clone()).unwrap_or_default();
        Ok(rows?
            .into_iter()
            .map(|(amount, by_resource, u)| CostRow {
                provider: name.clone(),
                date: u.date,
                project: Some(
                    projects
                        .get(&u.project_id)
                        .cloned()
                        .unwrap_or_else(|| u.project_id.clone()),
                ),
                amount,
                hours: None,
                pod_id: u.pod_id,
                worker_id: None,
                by_resource: Some(by_resource),
            })
            .collect())
    }
}

#[async_trait]
impl Provider for Podstack {
    fn provider_type(&self) -> ProviderType {
        ProviderType::Podstack
    }

    fn name(&self) -> &str {
        self.api.provider()
    }

    /// Projects, pods, wallet and costs; every running pod is left [`Inventory::unread`]
    /// (its utilisation is one request of its own, the slow part of a run).
    async fn inventory(&self, _now: DateTime<Utc>) -> Result<Inventory, ProviderError> {
        let projects: Items<Project> = self.api.get("/projects", &[]).await?;
        let project_name: HashMap<String, String> =
            projects.items.into_iter().map(|p| (p.id, p.name)).collect();
        if let Ok(mut held) = self.projects.lock() {
            held.clone_from(&project_name);
        }
        let pods = self.list_pods().await?;
        let mut inv = Inventory::default();
        self.wallet(&mut inv).await;
        for p in &pods {
            let project = project_name.get(&p.project_id).cloned();
            let running = p.status.eq_ignore_ascii_case("running");
            let activity = Activity::Unknown {
                why: if running {
                    "utilisation not read".into()
                } else {
                    format!("not running ({}): no utilisation signal", p.status)
                },
            };
            if running {
                inv.unread.push(p.id.clone());
            }
            inv.pods.push(self.pod(p, project, activity, "/pods")?);
        }
        Ok(inv)
    }

    /// `/billing/usage` (one request for the whole range); projects named as the last
    /// inventory's `/projects` names them.
    async fn costs(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        _pods: &[Pod],
    ) -> Result<Vec<CostRow>, ProviderError> {
        self.usage(from, to).await
    }

    /// One `/stats/history` request per pod, four in flight: says first what it will cost at
    /// the rate limit, then reports progress as it goes.
    async fn read_activity(&self, pods: &[&Pod], now: DateTime<Utc>) -> Vec<ActivityRead> {
        let running = pods
            .iter()
            .filter(|p| p.status == PodStatus::Running)
            .count();
        self.announce_stats_reads(running);
        let progress = std::sync::Mutex::new(crate::progress::Progress::new(
            pods.len(),
            &format!("{} utilisation", self.api.provider()),
            "pods",
        ));
        // The futures are made first: a closure over them inside the stream is not `Send`.
        let lookups: Vec<_> = pods.iter().map(|p| self.activity(p, now)).collect();
        let reads = stream::iter(lookups)
            .buffered(STATS_CONCURRENCY)
            .map(|read| {
                if let Ok(mut p) = progress.lock() {
                    p.advance("");
                }
                read
            })
            .collect()
            .await;
        if let Ok(p) = progress.lock() {
            p.finish();
        }
        reads
    }

    /// `GET /pods/{id}` and its utilisation, one target after another (they share the
    /// budget with the writes); a 404 means the pod is gone.
    async fn recheck(
        &self,
        targets: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Pod>, ProviderError> {
        let mut out = Vec::new();
        for id in targets {
            let path = format!("/pods/{id}");
            let p: wire::Pod = match self.api.get(&path, &[]).await {
                Ok(p) => p,
                Err(ProviderError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let mut pod = self.pod(&p, None, Activity::Unknown { why: String::new() }, &path)?;
            pod.activity = self.activity(&pod, now).await.activity;
            out.push(pod);
        }
        Ok(out)
    }

    /// Stops and deletes of two or more pods go in bulk calls of at most 50 ids; a resume,
    /// or a lone stop or delete, is one call. A bulk call's `Idempotency-Key` is the
    /// SHA-256 of its operations' keys, so the same batch replays as one.
    fn requests(&self, ops: &[Operation]) -> Vec<WireRequest> {
        let mut out = Vec::new();
        for kind in [OpKind::Stop, OpKind::Terminate] {
            let of_kind: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].op == kind).collect();
            if of_kind.len() < 2 {
                continue;
            }
            for chunk in of_kind.chunks(BULK_MAX) {
                let mut h = Sha256::new();
                for &i in chunk {
                    h.update(ops[i].idempotency_key.as_bytes());
                    h.update(b"\n");
                }
                let terminate = kind == OpKind::Terminate;
                let body = BulkIds {
                    ids: chunk.iter().map(|&i| ops[i].target.clone()).collect(),
                    confirm: (terminate && chunk.iter().all(|&i| ops[i].confirm)).then_some(true),
                };
                let path = if terminate {
                    "/pods/bulk/delete"
                } else {
                    "/pods/bulk/stop"
                };
                out.push(self.api.wire(
                    Method::POST,
                    path.into(),
                    vec![],
                    serde_json::to_value(&body).ok(),
                    hex::encode(h.finalize()),
                    chunk.to_vec(),
                ));
            }
        }
        let in_bulk: HashSet<usize> = out.iter().flat_map(|r| r.ops.clone()).collect();
        for (i, op) in ops.iter().enumerate().filter(|(i, _)| !in_bulk.contains(i)) {
            let id = &op.target;
            let (method, path, query) = match op.op {
                OpKind::Stop => (Method::POST, format!("/pods/{id}/stop"), vec![]),
                OpKind::Resume => (Method::POST, format!("/pods/{id}/start"), vec![]),
                OpKind::Terminate => (
                    Method::DELETE,
                    format!("/pods/{id}"),
                    if op.confirm {
                        vec![("confirm".to_string(), "true".to_string())]
                    } else {
                        vec![]
                    },
                ),
            };
            out.push(self.api.wire(
                method,
                path,
                query,
                None,
                op.idempotency_key.clone(),
                vec![i],
            ));
        }
        out
    }

    async fn send(
        &self,
        request: &WireRequest,
        leaving: super::Leaving<'_>,
    ) -> Result<Vec<Result<Receipt, ProviderError>>, ProviderError> {
        let answer = self.api.send_wire(request, leaving).await?;
        let accepted = Receipt {
            http_status: Some(answer.status.as_u16()),
            ..Receipt::default()
        };
        if !request.path.starts_with("/pods/bulk/") {
            return Ok(vec![Ok(accepted)]);
        }
        let results: BulkResults = self.api.decode(&request.path, answer.body)?;
        let by_id: HashMap<String, BulkResult> = results
            .results
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let ids: Vec<String> = request
            .body
            .as_ref()
            .and_then(|b| serde_json::from_value::<BulkIds>(b.clone()).ok())
            .map(|b| b.ids)
            .unwrap_or_default();
        Ok(ids
            .iter()
            .map(|id| match by_id.get(id) {
                Some(r) if r.ok => Ok(accepted.clone()),
                Some(r) => {
                    let code = r.error.clone().unwrap_or_else(|| "failed".into());
                    let endpoint = format!("{} (id {id})", request.path);
                    Err(if code == "not_found" {
                        ProviderError::NotFound {
                            provider: self.api.provider().into(),
                            endpoint,
                            message: format!("pod {id} not found"),
                        }
                    } else {
                        ProviderError::Conflict {
                            provider: self.api.provider().into(),
                            endpoint,
                            message: format!("pod {id}: {code}"),
                            code,
                        }
                    })
                }
                None => Err(ProviderError::Decode {
                    provider: self.api.provider().into(),
                    endpoint: request.path.clone(),
                    detail: format!("no result for id {id}"),
                }),
            })
            .collect())
    }

    /// A bulk stop of no pods: the scope is checked first (403 without `pods:write`), then
    /// the empty list is refused (400) and nothing is done. One call of the budget.
    async fn check_write(&self, _sample: &Operation) -> Result<(), ProviderError> {
        let body = serde_json::json!({"ids": []});
        match self
            .api
            .send(Method::POST, "/pods/bulk/stop", &[], Some(&body), None)
            .await
        {
            Ok(_) | Err(ProviderError::BadRequest { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn audit(
        &self,
        _since: DateTime<Utc>,
    ) -> Result<Option<Vec<super::AuditEntry>>, ProviderError> {
        Ok(None)
    }

    fn write_limit(&self) -> Option<super::budget::RateLimit> {
        self.api.limit()
    }

    fn write_batch(&self) -> usize {
        // Each re-checked pod costs two reads of the shared budget besides its write.
        (self.api.batch() / 3).clamp(1, BULK_MAX)
    }

    fn stats(&self) -> CallStats {
        self.api.stats()
    }
}
