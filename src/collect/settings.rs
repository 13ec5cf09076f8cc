//! `[collect]` in podwarden.toml: how long a stored activity reading may stand for a pod, and
//! what share of each provider's rate budget `podwarden observe` spends.

use serde::Deserialize;

/// `[collect]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectToml {
    /// A stored reading older than this is not used: the pod is read again or unknown.
    #[serde(default = "default_max_evidence_age")]
    pub max_evidence_age: String,
    /// The share of each provider's rate limit `podwarden observe` spends (`"50%"`), leaving
    /// the rest to people and tools using the same token.
    #[serde(default = "default_observe_budget")]
    pub observe_budget: String,
    /// How long one `podwarden observe` run spreads its reads over: a little less than its
    /// cron's interval (default 50m for an hourly cron), so that runs never overlap.
    #[serde(default = "default_observe_span")]
    pub observe_span: String,
    /// The last this many days of cost rows are read again every run (a provider may still
    /// revise them; today's grows all day); older days come from the state file.
    #[serde(default = "default_cost_revision_days")]
    pub cost_revision_days: u32,
}

fn default_cost_revision_days() -> u32 {
    2
}

fn default_max_evidence_age() -> String {
    "12h".into()
}
fn default_observe_budget() -> String {
    "50%".into()
}
fn default_observe_span() -> String {
    "50m".into()
}

impl Default for CollectToml {
    fn default() -> Self {
        CollectToml {
            max_evidence_age: default_max_evidence_age(),
            observe_budget: default_observe_budget(),
            observe_span: default_observe_span(),
            cost_revision_days: default_cost_revision_days(),
        }
    }
}

/// `[collect]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectSettings {
    pub max_evidence_age: chrono::Duration,
    /// In (0, 1].
    pub observe_budget: f64,
    pub observe_span: std::time::Duration,
    /// At least 1.
    pub cost_revision_days: u32,
}

impl Default for CollectSettings {
    fn default() -> Self {
        CollectSettings {
            max_evidence_age: chrono::Duration::hours(12),
            observe_budget: 0.5,
            observe_span: std::time::Duration::from_secs(50 * 60),
            cost_revision_days: 2,
        }
    }
}

impl CollectToml {
    /// Checks the durations and the share; the message names the key.
    pub fn check(&self) -> Result<CollectSettings, String> {
        let max_evidence_age = crate::duration::parse(&self.max_evidence_age)
            .map_err(|e| format!("[collect] max_evidence_age: {e}"))?;
        let observe_span = crate::duration::parse(&self.observe_span)
            .and_then(|d| d.to_std().map_err(|_| "negative duration".to_string()))
            .map_err(|e| format!("[collect] observe_span: {e}"))?;
        Ok(CollectSettings {
            max_evidence_age,
            observe_budget: share(&self.observe_budget)
                .map_err(|e| format!("[collect] observe_budget: {e}"))?,
            observe_span,
            cost_revision_days: self.cost_revision_days.clamp(1, 90),
        })
    }
}

/// `"50%"` as 0.5: a percentage above 0 and at most 100, checked as the breakers' shares are
/// ([`crate::policy::limits::parse_percent`]). Decision: the `%` is required here, so that
/// `"0.5"` (meant as half) is refused rather than read as 0.5 %.
fn share(text: &str) -> Result<f64, String> {
    if !text.trim().ends_with('%') {
        return Err(format!("{text:?} is not a percentage, e.g. \"50%\""));
    }
    let pct = crate::policy::limits::parse_percent(text)?;
    Ok(rust_decimal::prelude::ToPrimitive::to_f64(&pct).unwrap_or(0.0) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_a_percentage_within_the_budget() {
        assert_eq!(share("50%"), Ok(0.5));
        assert_eq!(share(" 100 %"), Ok(1.0));
        for bad in ["0%", "150%", "0.5", "half"] {
            assert!(share(bad).is_err(), "{bad}");
        }
        let checked = CollectToml::default().check().expect("defaults check");
        assert_eq!(checked, CollectSettings::default());
    }
}
