//! Collect: builds the providers from configuration and reads them all into one [`Fleet`].
//!
//! Providers are read concurrently. One that fails is marked incomplete (it gets no
//! actions this run) and its error is kept for the exit code; the others carry on. Data
//! that failed to load while the inventory was read (served, stats, costs, wallet) is kept
//! as the provider's gaps, and the errors behind them count for the exit code too.

use chrono::{DateTime, Utc};

use crate::config::{Config, ConfigError, ProviderType};
use crate::fleet::{DataGap, Fleet, ProviderStatus};
use crate::providers::argus::Argus;
use crate::providers::http::HttpSettings;
use crate::providers::podstack::Podstack;
use crate::providers::{Provider, ProviderError};

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

/// Reads every provider. Returns the fleet and the errors of the providers that failed and
/// of the data that failed to load.
pub async fn collect(
    providers: &[Box<dyn Provider>],
    now: DateTime<Utc>,
    cost_days: u32,
) -> (Fleet, Vec<ProviderError>) {
    let results =
        futures::future::join_all(providers.iter().map(|p| p.collect(now, cost_days))).await;
    let mut fleet = Fleet {
        taken_at: now,
        providers: Vec::new(),
        pods: Vec::new(),
        costs: Vec::new(),
        wallets: Vec::new(),
        idle_costs: Vec::new(),
        facts: Default::default(),
    };
    let mut errors = Vec::new();
    for (p, result) in providers.iter().zip(results) {
        match result {
            Ok(inv) => {
                tracing::info!(
                    provider = p.name(),
                    pods = inv.pods.len(),
                    cost_rows = inv.costs.len(),
                    "collected"
                );
                let mut gaps = Vec::new();
                for gap in inv.gaps {
                    tracing::warn!(provider = p.name(), data = gap.data, detail = %gap.detail, "data failed to load: what it affects is unknown, the run will exit non-zero");
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
                });
                fleet.pods.extend(inv.pods);
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
                });
                fleet
                    .facts
                    .insert(p.name().into(), p.provider_type().facts(false));
                errors.push(e);
            }
        }
    }
    fleet.normalize_order();
    (fleet, errors)
}
