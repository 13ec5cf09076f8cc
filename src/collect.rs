//! Collect: builds the providers from configuration and reads them all into one [`Fleet`].
//!
//! Providers are read concurrently. One that fails is marked incomplete (it gets no
//! actions this run) and its error is kept for the exit code; the others carry on.

use chrono::{DateTime, Utc};

use crate::config::{Config, ProviderType};
use crate::fleet::{Fleet, ProviderStatus};
use crate::providers::argus::Argus;
use crate::providers::http::HttpSettings;
use crate::providers::podstack::Podstack;
use crate::providers::{Provider, ProviderError};

/// Builds one client per configured provider; reads retry until `deadline`.
pub fn providers(
    cfg: &Config,
    deadline: tokio::time::Instant,
) -> Result<Vec<Box<dyn Provider>>, ProviderError> {
    cfg.providers
        .iter()
        .map(|p| {
            let settings = HttpSettings {
                base_url: p.base_url.clone(),
                token: p.token.clone(),
                timeout: p.timeout,
                deadline: Some(deadline),
            };
            Ok(match p.kind {
                ProviderType::Argus => {
                    Box::new(Argus::new(&p.name, settings)?) as Box<dyn Provider>
                }
                ProviderType::Podstack => {
                    Box::new(Podstack::new(&p.name, settings, p.idle.clone())?)
                }
            })
        })
        .collect()
}

/// Reads every provider. Returns the fleet and the errors of the providers that failed.
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
                fleet.providers.push(ProviderStatus {
                    name: p.name().into(),
                    complete: true,
                    pods: inv.pods.len(),
                    error: None,
                });
                fleet.pods.extend(inv.pods);
                fleet.costs.extend(inv.costs);
                fleet.wallets.extend(inv.wallets);
            }
            Err(e) => {
                tracing::error!(provider = p.name(), error = %e, "collection failed: no actions for this provider");
                fleet.providers.push(ProviderStatus {
                    name: p.name().into(),
                    complete: false,
                    pods: 0,
                    error: Some(e.to_string()),
                });
                errors.push(e);
            }
        }
    }
    fleet.normalize_order();
    (fleet, errors)
}
