//! The Podstack API client and its mapping into the normalized fleet.
//!
//! Podstack has no "served" signal: a pod is idle when every GPU's utilisation and its
//! network throughput stay below thresholds. Samples are read from
//! `/pods/{id}/stats/history`; missing or stale samples, or a failed request, make the
//! pod unknown (active). Amounts keep their own currency (INR or USD).

mod idle;
pub mod wire;

pub use idle::{activity_from_samples, IdleThresholds};

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use reqwest::Method;

use super::http::{Api, CursorGuard, HttpSettings};
use super::wire_fields;
use super::{Inventory, OpKind, Operation, Provider, ProviderError, Receipt};
use crate::fleet::{Activity, CostRow, Pod, PodStatus, ResourceKind, Wallet as FleetWallet};
use crate::money::{Currency, Money};
use wire::*;

/// Stats requests in flight at once (the provider allows 120 requests per minute).
const STATS_CONCURRENCY: usize = 4;
const PER_PAGE: u32 = 100;
/// Log progress of the utilisation reads every this many pods.
const PROGRESS_EVERY: usize = 50;

pub struct Podstack {
    api: Api,
    idle: IdleThresholds,
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
        })
    }

    /// Reads `/pods` page by page to the end; a page that repeats an earlier one is an error.
    pub async fn list_pods(&self) -> Result<Vec<wire::Pod>, ProviderError> {
        let mut out: Vec<wire::Pod> = Vec::new();
        let mut guard = CursorGuard::default();
        let mut page = 1u32;
        loop {
            let q = [
                ("status", "all".to_string()),
                ("page", page.to_string()),
                ("per_page", PER_PAGE.to_string()),
            ];
            let p: PodPage = self.api.get("/pods", &q).await?;
            if let Some(first) = p.items.first() {
                guard.check(self.api.provider(), "/pods", "page starting at", &first.id)?;
            }
            let done = p.items.is_empty() || out.len() + p.items.len() >= p.total as usize;
            out.extend(p.items);
            if done {
                return Ok(out);
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

    async fn activity(&self, pod: &wire::Pod, now: DateTime<Utc>) -> Activity {
        if !pod.status.eq_ignore_ascii_case("running") {
            return Activity::Unknown {
                why: format!("not running ({}): no utilisation signal", pod.status),
            };
        }
        let path = format!("/pods/{}/stats/history", pod.id);
        match self
            .api
            .get::<Items<StatsSample>>(&path, &[("window", self.idle.window.clone())])
            .await
        {
            Ok(s) => activity_from_samples(&s.items, now, &self.idle),
            Err(e) => Activity::Unknown {
                why: format!("utilisation failed to load: {e}"),
            },
        }
    }
}

#[async_trait]
impl Provider for Podstack {
    fn name(&self) -> &str {
        self.api.provider()
    }

    async fn collect(
        &self,
        now: DateTime<Utc>,
        cost_days: u32,
    ) -> Result<Inventory, ProviderError> {
        let name = self.api.provider().to_string();
        let projects: Items<Project> = self.api.get("/projects", &[]).await?;
        let project_name: HashMap<String, String> =
            projects.items.into_iter().map(|p| (p.id, p.name)).collect();
        let pods = self.list_pods().await?;
        // One request per running pod: the slow part of a run. Report progress as it goes.
        let lookups: Vec<_> = pods.iter().map(|p| self.activity(p, now)).collect();
        let total = lookups.len();
        let activities: Vec<Activity> = stream::iter(lookups)
            .buffered(STATS_CONCURRENCY)
            .enumerate()
            .map(|(i, activity)| {
                if (i + 1) % PROGRESS_EVERY == 0 || i + 1 == total {
                    tracing::info!(provider = %self.api.provider(), done = i + 1, total, "utilisation read");
                }
                activity
            })
            .collect()
            .await;

        let mut inv = Inventory::default();
        for (p, activity) in pods.iter().zip(activities) {
            inv.pods.push(Pod {
                provider: name.clone(),
                kind: ResourceKind::Pod,
                target: p.id.clone(),
                pod_id: p.id.clone(),
                name: p.name.clone(),
                status: PodStatus::parse(&p.status),
                project: Some(
                    project_name
                        .get(&p.project_id)
                        .cloned()
                        .unwrap_or_else(|| p.project_id.clone()),
                ),
                owner: None,
                gpu_type: Some(p.resources.gpu_type.clone()),
                gpu_count: p.resources.gpu_count,
                region: None,
                labels: p.labels.clone(),
                hourly_rate: self.money(
                    &p.hourly_rate,
                    &p.currency,
                    "/pods",
                    &format!("items[id={}].hourly_rate", p.id),
                )?,
                created_at: p.created_at,
                last_started_at: p.started_at,
                ttl_expires_at: None,
                orphaned_since: None,
                orphaned_since_source: None,
                activity,
            });
        }

        let w: Wallet = self.api.get("/wallet", &[]).await?;
        inv.wallets.push(FleetWallet {
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
        });

        let to = now.date_naive();
        let from = to - Duration::days(i64::from(cost_days.max(1)) - 1);
        let usage: Items<UsageRow> = self
            .api
            .get(
                "/billing/usage",
                &[("from", from.to_string()), ("to", to.to_string())],
            )
            .await?;
        let mut seen = HashSet::new();
        for u in usage.items {
            if !seen.insert((u.date, u.pod_id.clone())) {
                continue; // a duplicated row would count twice
            }
            inv.costs.push(CostRow {
                provider: name.clone(),
                date: u.date,
                project: Some(
                    project_name
                        .get(&u.project_id)
                        .cloned()
                        .unwrap_or_else(|| u.project_id.clone()),
                ),
                amount: self.money(
                    &u.amount,
                    &u.currency,
                    "/billing/usage",
                    &format!("items[pod_id={},date={}].amount", u.pod_id, u.date),
                )?,
                hours: None,
                pod_id: u.pod_id,
                worker_id: None,
            });
        }
        Ok(inv)
    }

    async fn execute(&self, op: &Operation) -> Result<Receipt, ProviderError> {
        let key = Some(op.idempotency_key.as_str());
        let id = &op.target;
        let answer = match op.op {
            OpKind::Stop => {
                self.api
                    .send(Method::POST, &format!("/pods/{id}/stop"), &[], None, key)
                    .await
            }
            OpKind::Resume => {
                self.api
                    .send(Method::POST, &format!("/pods/{id}/start"), &[], None, key)
                    .await
            }
            OpKind::Terminate => {
                // Without confirm=true the provider answers 428: that is the guard working.
                let q = if op.confirm {
                    vec![("confirm", "true".to_string())]
                } else {
                    vec![]
                };
                self.api
                    .send(Method::DELETE, &format!("/pods/{id}"), &q, None, key)
                    .await
            }
        };
        answer.map(|_| Receipt::default())
    }
}
