//! Collect: builds the providers from configuration and reads them all into one [`Fleet`].
//!
//! Two steps: [`inventories`] reads every provider's inventory, list signals and costs; then
//! [`read_activity`] reads the activity of the pods whose signal needs a request of its own
//! (which ones, and what stands for the others, is [`readings`]' part; the pipeline chooses).
//! [`collect`] does both for every pod.
//!
//! Providers are read concurrently. One that fails is marked incomplete (it gets no
//! actions this run) and its error is kept for the exit code; the others carry on. Data
//! that failed to load while the inventory was read (served, stats, costs, wallet) is kept
//! as the provider's gaps, and the errors behind them count for the exit code too.

pub mod costs;
pub mod readings;
pub mod settings;

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::config::{Config, ConfigError, ProviderType};
use crate::fleet::{DataGap, Fleet, ProviderStatus, ReadCounts, Reading};
use crate::providers::argus::Argus;
use crate::providers::http::HttpSettings;
use crate::providers::podstack::Podstack;
use crate::providers::{ActivityRead, Provider, ProviderError};

/// Why the providers could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// Builds one client per configured provider, reading their tokens; reads retry until `deadline`.
pub fn providers(
    cfg: &Config,
    deadline: tokio::time::Instant,
) -> Result<Vec<Box<dyn Provider>>, SetupError> {
    let mut out: Vec<Box<dyn Provider>> = Vec::new();
    for p in &cfg.providers {
        let token = cfg.token(p, &|var| std::env::var(var).ok())?;
        let settings = HttpSettings {
            base_url: p.base_url.clone(),
            token,
            timeout: p.timeout,
            connect_timeout: p.connect_timeout,
            read_timeout: p.read_timeout,
            deadline: Some(deadline),
            rate: p.ops_rate,
        };
        out.push(match p.kind {
            ProviderType::Argus => Box::new(Argus::new(&p.name, settings)?),
            ProviderType::Podstack => Box::new(Podstack::new(&p.name, settings, p.idle.clone())?),
        });
    }
    Ok(out)
}

/// What [`inventories`] read: the fleet (activity unknown where it needs a read of its own),
/// the errors, and the rows of those pods.
pub struct Collected {
    pub fleet: Fleet,
    pub errors: Vec<ProviderError>,
    /// Rows of `fleet.pods` whose activity needs a read of its own ([`read_activity`]).
    pub unread: Vec<usize>,
}

/// Reads every provider, `cost_days` days of costs straight from each (no state file), and
/// [`read_activity`] of every pod that needs it: the whole fleet.
pub async fn collect(
    providers: &[Box<dyn Provider>],
    now: DateTime<Utc>,
    cost_days: u32,
) -> (Fleet, Vec<ProviderError>) {
    let mut c = inventories(providers, now).await;
    let (from, to) = crate::providers::cost_window(now, cost_days);
    for p in providers {
        let Some(pods) = c.complete_pods(p.name()) else {
            continue;
        };
        match p.costs(from, to, &pods).await {
            Ok(rows) => c.fleet.costs.extend(rows),
            Err(e) => c.add_gap(p.name(), crate::providers::Gap::no_costs(e)),
        }
    }
    c.fleet.normalize_order();
    let rows = c.unread.clone();
    read_activity(providers, &mut c, &rows, now).await;
    count_readings(&mut c.fleet);
    (c.fleet, c.errors)
}

/// Reads every provider's inventory (no cost rows, no per-pod activity reads). Returns the
/// fleet, the errors of the providers that failed and of the data that failed to load, and
/// the unread rows.
pub async fn inventories(providers: &[Box<dyn Provider>], now: DateTime<Utc>) -> Collected {
    let results = futures::future::join_all(providers.iter().map(|p| p.inventory(now))).await;
    let mut fleet = Fleet::empty(now);
    let mut errors = Vec::new();
    for (p, result) in providers.iter().zip(results) {
        match result {
            Ok(inv) => {
                tracing::info!(
                    provider = p.name(),
                    pods = inv.pods.len(),
                    cost_rows = inv.costs.len(),
                    unread = inv.unread.len(),
                    "inventory read"
                );
                let mut gaps = Vec::new();
                for gap in inv.gaps {
                    warn_gap(p.name(), &gap);
                    gaps.push(DataGap {
                        data: gap.data.into(),
                        detail: gap.detail,
                    });
                    errors.push(gap.error);
                }
                fleet.providers.push(ProviderStatus {
                    name: p.name().into(),
                    complete: true,
                    pods: inv.pods.len(),
                    error: None,
                    gaps,
                    activity_reads: None,
                    cost_reads: None,
                });
                let unread: HashSet<String> = inv.unread.into_iter().collect();
                fleet.pods.extend(inv.pods.into_iter().map(|mut pod| {
                    if unread.contains(&pod.target) {
                        pod.reading = Some(Reading::Skipped {
                            why: "not read".into(),
                        });
                    }
                    pod
                }));
                fleet.costs.extend(inv.costs);
                fleet.wallets.extend(inv.wallets);
                let facts = p.provider_type().facts(inv.idle_costs.is_some());
                fleet.facts.insert(p.name().into(), facts);
                fleet
                    .idle_costs
                    .extend(inv.idle_costs.into_iter().flatten());
            }
            Err(e) => {
                tracing::error!(provider = p.name(), error = %e, "collection failed: no actions for this provider");
                fleet.providers.push(ProviderStatus {
                    name: p.name().into(),
                    complete: false,
                    pods: 0,
                    error: Some(e.to_string()),
                    gaps: Vec::new(),
                    activity_reads: None,
                    cost_reads: None,
                });
                fleet
                    .facts
                    .insert(p.name().into(), p.provider_type().facts(false));
                errors.push(e);
            }
        }
    }
    fleet.normalize_order();
    let unread = (0..fleet.pods.len())
        .filter(|&i| fleet.pods[i].reading.is_some())
        .collect();
    Collected {
        fleet,
        errors,
        unread,
    }
}

/// Why a pod whose read the run's deadline cut is unread.
pub const DEADLINE: &str = "cut by the run's deadline (the cheapest are read last)";

/// Reads the activity of the pods at `rows` (in that order, per provider; the providers
/// concurrently) and marks them read. Failed reads become the provider's `stats` gap and
/// count for the exit code; their rows are returned.
pub async fn read_activity(
    providers: &[Box<dyn Provider>],
    c: &mut Collected,
    rows: &[usize],
    now: DateTime<Utc>,
) -> HashSet<usize> {
    let mut failed = HashSet::new();
    let per_provider: Vec<Vec<usize>> = providers
        .iter()
        .map(|p| {
            rows.iter()
                .copied()
                .filter(|&r| c.fleet.pods[r].provider == p.name())
                .collect()
        })
        .collect();
    let fleet = &c.fleet;
    let reads = futures::future::join_all(providers.iter().zip(&per_provider).map(
        |(p, rows)| async move {
            if rows.is_empty() {
                return Vec::new();
            }
            let pods: Vec<&crate::fleet::Pod> = rows.iter().map(|&r| &fleet.pods[r]).collect();
            p.read_activity(&pods, now).await
        },
    ))
    .await;
    for ((p, rows), reads) in providers.iter().zip(&per_provider).zip(reads) {
        if let Some(gap) = ActivityRead::gap(&reads) {
            c.add_gap(p.name(), gap);
        }
        for (&row, read) in rows.iter().zip(reads) {
            let cut = matches!(read.error, Some(ProviderError::DeadlineExceeded { .. }));
            if read.error.is_some() {
                failed.insert(row);
            }
            let pod = &mut c.fleet.pods[row];
            pod.activity = read.activity;
            // A read the deadline cut never got an answer: the pod was left unread.
            pod.reading = Some(if cut {
                Reading::Skipped {
                    why: DEADLINE.into(),
                }
            } else {
                Reading::Read
            });
        }
    }
    failed
}

impl Collected {
    /// The pods of `provider` (what its cost rows take their projects from); `None` when its
    /// inventory is incomplete (no costs are read for it).
    fn complete_pods(&self, provider: &str) -> Option<Vec<crate::fleet::Pod>> {
        self.fleet.is_complete(provider).then(|| {
            self.fleet
                .pods
                .iter()
                .filter(|x| x.provider == provider)
                .cloned()
                .collect()
        })
    }

    /// Records data of `provider` that failed to load: a gap of its status, an error for the
    /// exit code, and a warning.
    pub fn add_gap(&mut self, provider: &str, gap: crate::providers::Gap) {
        warn_gap(provider, &gap);
        if let Some(status) = self.fleet.providers.iter_mut().find(|s| s.name == provider) {
            status.gaps.push(DataGap {
                data: gap.data.into(),
                detail: gap.detail.clone(),
            });
        }
        self.errors.push(gap.error);
    }
}

/// Reads each complete provider's cost rows of the window through the state file's cache
/// ([`costs`]); a failed provider read keeps the stored rows of the window and is a `costs`
/// gap. A state-file error fails the collection.
pub async fn read_costs(
    providers: &[Box<dyn Provider>],
    c: &mut Collected,
    store: &mut crate::state::store::Store,
    window: (chrono::NaiveDate, chrono::NaiveDate),
    revision_days: u32,
    now: DateTime<Utc>,
) -> Result<(), crate::state::store::StoreError> {
    for p in providers {
        let Some(pods) = c.complete_pods(p.name()) else {
            continue;
        };
        match costs::read(p.as_ref(), &pods, store, window, revision_days, now).await {
            Ok((rows, reads)) => {
                c.fleet.costs.extend(rows);
                if let Some(s) = c.fleet.providers.iter_mut().find(|s| s.name == p.name()) {
                    s.cost_reads = Some(reads);
                }
            }
            Err(costs::CostError::Provider(e)) => {
                c.fleet
                    .costs
                    .extend(store.cost_rows(p.name(), window.0, window.1)?);
                c.add_gap(p.name(), crate::providers::Gap::no_costs(e));
            }
            Err(costs::CostError::Store(e)) => return Err(e),
        }
    }
    c.fleet.normalize_order();
    Ok(())
}

/// Fills each provider's [`ProviderStatus::activity_reads`] from its pods' readings.
pub fn count_readings(fleet: &mut Fleet) {
    for status in &mut fleet.providers {
        status.activity_reads =
            ReadCounts::of(fleet.pods.iter().filter(|p| p.provider == status.name));
    }
}

fn warn_gap(provider: &str, gap: &crate::providers::Gap) {
    tracing::warn!(provider, data = gap.data, detail = %gap.detail, "data failed to load: what it affects is unknown, the run will exit non-zero");
}
