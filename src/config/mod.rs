//! `podwarden.toml`: providers, where state and reports live, protection and global limits.
//!
//! Relative paths are resolved against the config file's folder (as Cargo does), so a
//! CronJob can mount the file anywhere. Tokens are never written inline: each provider
//! names an environment variable (`token_env`) or a file (`token_file`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::policy::Limits;
use crate::providers::podstack::IdleThresholds;
use crate::secret::Secret;

pub mod diagnose;
pub mod transport;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Every problem of the file, each at its line and column (`diagnose`).
    #[error("{} problem(s) in {}:\n{}", .diagnostics.len(), .path.display(), .diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Diagnostics {
        path: PathBuf,
        diagnostics: Vec<crate::policy::Diagnostic>,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: provider `{provider}`: {message}")]
    Token {
        path: PathBuf,
        provider: String,
        message: String,
    },
}

pub use crate::providers::registry::{ProviderType, ProviderTypes};

impl Config {
    /// The provider names and types the file declares (what policies are checked against):
    /// a shard's too, whose policies may name the other shards' providers (they match no pod
    /// of its fleet).
    pub fn provider_types(&self) -> ProviderTypes {
        ProviderTypes {
            names: self.declared.clone(),
            source: self.source.clone(),
        }
    }
}

/// `[providers.NAME]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderToml {
    #[serde(rename = "type")]
    pub kind: ProviderType,
    pub base_url: String,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    /// The longest one request may take, from sending it to its answer's last byte.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// The longest wait for a connection to be set up (DNS, TCP, TLS).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    /// The longest silence while an answer is read: a stalled server costs this (then the
    /// read is retried like a 503), not the whole `timeout`.
    #[serde(default = "default_read_timeout")]
    pub read_timeout: String,
    /// Allow plain `http://` to a host that is not loopback (refused otherwise: the token
    /// would cross the network unencrypted); every run then warns.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Podstack: a GPU below this utilisation (percent) counts as idle.
    pub idle_gpu_util_pct: Option<f64>,
    /// Podstack: network throughput below this (bytes/s) counts as idle.
    pub idle_net_bytes_per_sec: Option<f64>,
    /// Podstack: utilisation history window to read (1h, 6h, 24h, 7d).
    pub stats_window: Option<String>,
    /// The write rate limit the queue paces itself by, `"CALLS/WINDOW"` (default: the
    /// documented one), or `"learn"` to learn it from the provider's `X-RateLimit-*` headers.
    /// Argus: its operations' own budget; Podstack: shared by every request.
    pub ops_rate: Option<String>,
}

fn default_timeout() -> String {
    "30s".into()
}

fn default_connect_timeout() -> String {
    "10s".into()
}

fn default_read_timeout() -> String {
    "10s".into()
}

/// `[protection]`: what exempts a pod from every policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protection {
    /// `key=value`: a pod with this label is never acted on.
    #[serde(default = "default_protect_label")]
    pub label: String,
    /// Pods younger than this are never acted on.
    #[serde(default = "default_grace")]
    pub new_pod_grace: String,
}

fn default_protect_label() -> String {
    "podwarden/protect=true".into()
}
fn default_grace() -> String {
    "2h".into()
}

impl Default for Protection {
    fn default() -> Self {
        Protection {
            label: default_protect_label(),
            new_pod_grace: default_grace(),
        }
    }
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigToml {
    #[serde(default = "default_state")]
    pub state: PathBuf,
    #[serde(default = "default_reports")]
    pub reports: PathBuf,
    #[serde(default = "default_policies")]
    pub policies: PathBuf,
    /// Days of daily cost rows to read, ending today. Unset (the default): the report's
    /// window, month to date plus the previous full month, derived from the clock.
    #[serde(default)]
    pub cost_days: Option<u32>,
    /// The report currency and the rates that convert other currencies into it.
    #[serde(default)]
    pub currency: crate::report::currency::CurrencyToml,
    /// `[report]`: rows per table, projects with a section of their own.
    #[serde(default)]
    pub report: crate::report::settings::ReportToml,
    /// The whole run must finish within this; rate-limit waits past it fail with exit 6.
    #[serde(default = "default_deadline")]
    pub deadline: String,
    #[serde(default)]
    pub protection: Protection,
    /// Global circuit breaker over the whole plan.
    #[serde(default)]
    pub limits: Option<crate::policy::LimitsToml>,
    #[serde(default)]
    pub apply: ApplyToml,
    /// Readings kept between runs and `podwarden observe`'s share of the rate budget.
    #[serde(default)]
    pub collect: crate::collect::settings::CollectToml,
    pub providers: BTreeMap<String, ProviderToml>,
    /// `podwarden schedule`: cron, time zone, SIGTERM grace.
    #[serde(default)]
    pub schedule: Option<crate::schedule::ScheduleToml>,
    /// Pushgateway for run metrics.
    #[serde(default)]
    pub metrics: Option<crate::notify::metrics::MetricsToml>,
    /// SMTP and recipients of the finance mail and owner notices.
    #[serde(default)]
    pub email: Option<crate::notify::email_config::EmailToml>,
    /// `[[shard]]`: the fleet split by provider account across an Indexed Job's completions.
    #[serde(default, rename = "shard")]
    pub shards: Vec<crate::shard::ShardToml>,
}

fn default_state() -> PathBuf {
    "state/podwarden.db".into()
}
fn default_reports() -> PathBuf {
    "reports".into()
}
fn default_policies() -> PathBuf {
    "policies".into()
}
fn default_deadline() -> String {
    "20m".into()
}

/// Where a provider's token comes from. It is read only when the provider is used, so
/// offline commands (`plan --snapshot`, `diff`, `validate`) need no tokens.
#[derive(Debug, Clone)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
    Value(Secret),
}

/// A provider, checked.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderType,
    pub base_url: String,
    pub token: TokenSource,
    pub timeout: std::time::Duration,
    pub connect_timeout: std::time::Duration,
    pub read_timeout: std::time::Duration,
    pub idle: IdleThresholds,
    /// The write rate limit to start from; `None`: learnt from the provider's headers.
    pub ops_rate: Option<crate::providers::budget::RateLimit>,
}

/// `[apply]` as written: how `run --apply` and `apply PLAN.json` act.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyToml {
    /// A plan file older than this is refused (unless `--allow-stale`).
    #[serde(default = "default_max_plan_age")]
    pub max_plan_age: String,
    /// How long verification waits for the targets to reach their expected state.
    #[serde(default = "default_verify_timeout")]
    pub verify_timeout: String,
}

fn default_max_plan_age() -> String {
    "24h".into()
}
fn default_verify_timeout() -> String {
    "2m".into()
}

impl Default for ApplyToml {
    fn default() -> Self {
        ApplyToml {
            max_plan_age: default_max_plan_age(),
            verify_timeout: default_verify_timeout(),
        }
    }
}

/// `[apply]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplySettings {
    pub max_plan_age: chrono::Duration,
    pub verify_timeout: std::time::Duration,
}

impl Default for ApplySettings {
    fn default() -> Self {
        ApplySettings {
            max_plan_age: chrono::Duration::hours(24),
            verify_timeout: std::time::Duration::from_secs(120),
        }
    }
}

/// The checked configuration every command works from.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: Option<PathBuf>,
    pub state: PathBuf,
    pub reports: PathBuf,
    pub policies: PathBuf,
    /// `None`: the report's window (month to date plus the previous full month).
    pub cost_days: Option<u32>,
    pub currency: crate::report::currency::Conversion,
    pub report: crate::report::settings::ReportSettings,
    pub deadline: std::time::Duration,
    pub protect_label: (String, String),
    pub new_pod_grace: chrono::Duration,
    pub limits: Limits,
    pub apply: ApplySettings,
    pub collect: crate::collect::settings::CollectSettings,
    pub providers: Vec<ProviderConfig>,
    /// Every provider the file declares, by name (a shard's `providers` are some of them).
    pub declared: BTreeMap<String, ProviderType>,
    pub schedule: Option<crate::schedule::ScheduleConfig>,
    pub metrics: Option<crate::notify::metrics::MetricsConfig>,
    pub email: Option<crate::notify::email_config::EmailConfig>,
    /// Every `[[shard]]` of the file (empty: not sharded), whichever this process is.
    pub shards: Vec<crate::shard::Shard>,
    /// The shard this process is ([`Config::load`] picks it from the environment): the
    /// providers, state and reports above are then the shard's.
    pub shard: Option<String>,
}

/// A TOML error as `line L, column C: message`, without the snippet of the offending line
/// that toml's own `Display` prints: that line may hold a secret typed under a wrong key
/// (`smtp_password = "…"`), and config errors end up in logs.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            format!(
                "TOML error at line {line}, column {column}: {}",
                e.message()
            )
        }
        None => format!("TOML error: {}", e.message()),
    }
}

impl Config {
    /// Reads and checks `path`, every shard included (tokens are read when a provider is
    /// used): what `validate` and `report --merge` work from.
    pub fn load_whole(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// [`Config::load_whole`] of `text`, the contents of `path` (relative paths in it are
    /// relative to `path`'s folder; no file is read but a token file when a provider is used).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let diagnostics = diagnose::diagnose(path, text);
        if !diagnostics.is_empty() {
            return Err(ConfigError::Diagnostics {
                path: path.into(),
                diagnostics,
            });
        }
        let raw: ConfigToml = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.into(),
            message: toml_error(text, &e),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml(raw, Some(path), base)
    }

    /// [`Config::load_whole`], then the shard the environment picks ([`crate::shard::picked`]);
    /// a sharded file without one picked is refused ([`Config::require_shard`]). What every
    /// command that collects, acts or keeps state works from.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config = Config::load_for_review(path)?;
        config.require_shard()?;
        Ok(config)
    }

    /// [`Config::load_whole`] narrowed to the shard the environment picks, if it picks one:
    /// what a review of a saved fleet works from (it acts only with a shard picked).
    pub fn load_for_review(path: &Path) -> Result<Config, ConfigError> {
        let whole = Config::load_whole(path)?;
        let picked = crate::shard::picked(&whole.shards, &|v| std::env::var(v).ok())
            .map_err(|message| ConfigError::Invalid {
                path: path.into(),
                message,
            })?
            .cloned();
        Ok(match picked {
            Some(shard) => whole.narrowed_to(&shard),
            None => whole,
        })
    }

    /// This configuration as `shard` sees it: its providers only, its state file and reports
    /// folder, its metrics grouped under `shard="NAME"`.
    pub fn narrowed_to(mut self, shard: &crate::shard::Shard) -> Config {
        self.providers.retain(|p| shard.providers.contains(&p.name));
        self.state = shard.state.clone();
        self.reports = shard.reports.clone();
        if let Some(m) = &mut self.metrics {
            m.shard = Some(shard.name.clone());
        }
        self.shard = Some(shard.name.clone());
        self
    }

    /// Refuses a sharded configuration without a shard picked, for a command that collects,
    /// acts or keeps state: each shard's state is its own, and the whole fleet has none.
    pub fn require_shard(&self) -> Result<(), ConfigError> {
        if self.shards.is_empty() || self.shard.is_some() {
            return Ok(());
        }
        Err(ConfigError::Invalid {
            path: self.source.clone().unwrap_or_else(|| "<built-in>".into()),
            message: format!(
                "the configuration declares {} shards ({}): pick one with {}=NAME or INDEX (a \
                 Kubernetes Indexed Job sets {}); `podwarden report --merge` combines their reports",
                self.shards.len(),
                crate::shard::listed(&self.shards),
                crate::shard::SHARD_ENV,
                crate::shard::INDEX_ENV,
            ),
        })
    }

    /// Checks a parsed file (tokens are read later, when a provider is used); relative
    /// paths are resolved against `base`.
    pub fn from_toml(
        raw: ConfigToml,
        source: Option<&Path>,
        base: &Path,
    ) -> Result<Config, ConfigError> {
        let path = source
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "<built-in>".into());
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message,
        };
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let std_duration = |what: &str, text: &str| -> Result<std::time::Duration, ConfigError> {
            crate::duration::parse(text)
                .and_then(|d| d.to_std().map_err(|_| "negative duration".to_string()))
                .map_err(|e| invalid(format!("{what}: {e}")))
        };
        let (key, value) = raw.protection.label.split_once('=').ok_or_else(|| {
            invalid(format!(
                "protection.label {:?} must be key=value",
                raw.protection.label
            ))
        })?;
        let mut providers = Vec::new();
        for (name, p) in &raw.providers {
            let token = match (&p.token_env, &p.token_file) {
                (Some(var), None) => TokenSource::Env(var.clone()),
                (None, Some(file)) => TokenSource::File(resolve(file)),
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "providers.{name}: set token_env or token_file, not both"
                    )))
                }
                (None, None) => {
                    return Err(invalid(format!(
                    "providers.{name}: no token: set token_env = \"VAR\" or token_file = \"path\""
                )))
                }
            };
            let mut idle = IdleThresholds::default();
            if let Some(v) = p.idle_gpu_util_pct {
                idle.gpu_util_pct = v;
            }
            if let Some(v) = p.idle_net_bytes_per_sec {
                idle.net_bytes_per_sec = v;
            }
            if let Some(w) = &p.stats_window {
                if !matches!(w.as_str(), "1h" | "6h" | "24h" | "7d") {
                    return Err(invalid(format!(
                        "providers.{name}.stats_window must be 1h, 6h, 24h or 7d"
                    )));
                }
                idle.window = w.clone();
            }
            let ops_rate = match p.ops_rate.as_deref() {
                Some("learn") => None,
                other => Some(
                    crate::providers::budget::RateLimit::parse(
                        other.unwrap_or(p.kind.documented_ops_rate()),
                    )
                    .map_err(|e| {
                        invalid(format!(
                            "providers.{name}.ops_rate: {e}; or \"learn\" to learn it from the provider's headers"
                        ))
                    })?,
                ),
            };
            if let transport::Transport::Insecure(warning) = transport::check(
                &format!("providers.{name}.base_url"),
                &p.base_url,
                p.allow_insecure_http,
            )
            .map_err(invalid)?
            {
                tracing::warn!("{warning}");
            }
            providers.push(ProviderConfig {
                name: name.clone(),
                kind: p.kind,
                base_url: p.base_url.clone(),
                token,
                timeout: std_duration(&format!("providers.{name}.timeout"), &p.timeout)?,
                connect_timeout: std_duration(
                    &format!("providers.{name}.connect_timeout"),
                    &p.connect_timeout,
                )?,
                read_timeout: std_duration(
                    &format!("providers.{name}.read_timeout"),
                    &p.read_timeout,
                )?,
                idle,
                ops_rate,
            });
        }
        if providers.is_empty() {
            return Err(invalid(
                "no [providers.NAME] table: add at least one provider".into(),
            ));
        }
        same_account(&providers).map_err(&invalid)?;
        let names: Vec<String> = providers.iter().map(|p| p.name.clone()).collect();
        let (state, reports) = (resolve(&raw.state), resolve(&raw.reports));
        let shards = crate::shard::check(&raw.shards, &names, &state, &reports, &resolve)
            .map_err(&invalid)?;
        let limits = match &raw.limits {
            None => Limits::default(),
            Some(l) => l.check().map_err(|errors| {
                let all: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                invalid(format!("[limits]: {}", all.join("; ")))
            })?,
        };
        Ok(Config {
            source: source.map(Path::to_path_buf),
            state,
            reports,
            policies: resolve(&raw.policies),
            cost_days: raw.cost_days.map(|d| d.clamp(1, 90)),
            currency: crate::report::currency::Conversion::from_toml(&raw.currency)
                .map_err(|e| invalid(format!("[currency]: {e}")))?,
            report: crate::report::settings::ReportSettings::from_toml(&raw.report)
                .map_err(|e| invalid(format!("[report] {e}")))?,
            deadline: std_duration("deadline", &raw.deadline)?,
            protect_label: (key.trim().to_string(), value.trim().to_string()),
            new_pod_grace: crate::duration::parse(&raw.protection.new_pod_grace)
                .map_err(|e| invalid(format!("protection.new_pod_grace: {e}")))?,
            limits,
            apply: ApplySettings {
                max_plan_age: crate::duration::parse(&raw.apply.max_plan_age)
                    .map_err(|e| invalid(format!("apply.max_plan_age: {e}")))?,
                verify_timeout: std_duration("apply.verify_timeout", &raw.apply.verify_timeout)?,
            },
            collect: raw.collect.check().map_err(&invalid)?,
            declared: providers.iter().map(|p| (p.name.clone(), p.kind)).collect(),
            providers,
            schedule: raw
                .schedule
                .as_ref()
                .map(|s| s.check())
                .transpose()
                .map_err(&invalid)?,
            metrics: raw
                .metrics
                .as_ref()
                .map(|m| m.check())
                .transpose()
                .map_err(&invalid)?,
            email: raw
                .email
                .as_ref()
                .map(|e| e.check(&resolve))
                .transpose()
                .map_err(&invalid)?,
            shards,
            shard: None,
        })
    }
}

/// Two entries of one type at the same URL with the same token are one account under two
/// names: its pods would be read, billed and acted on twice (in two shards, at once).
fn same_account(providers: &[ProviderConfig]) -> Result<(), String> {
    let token = |t: &TokenSource| match t {
        TokenSource::Env(v) => format!("env {v}"),
        TokenSource::File(f) => format!("file {}", f.display()),
        TokenSource::Value(_) => String::new(),
    };
    for (i, a) in providers.iter().enumerate() {
        for b in &providers[i + 1..] {
            let url = |p: &ProviderConfig| p.base_url.trim_end_matches('/').to_ascii_lowercase();
            if a.kind == b.kind
                && url(a) == url(b)
                && !token(&a.token).is_empty()
                && token(&a.token) == token(&b.token)
            {
                return Err(format!(
                    "providers.{} and providers.{} are one account (same type, base_url and \
                     token): its pods would be read and acted on twice; keep one",
                    a.name, b.name
                ));
            }
        }
    }
    Ok(())
}

impl Config {
    /// Days of cost rows to read at `now`: the configured `cost_days`, else the report's
    /// window (month to date plus the previous full month).
    pub fn cost_days_at(&self, now: chrono::DateTime<chrono::Utc>) -> u32 {
        self.cost_days
            .unwrap_or_else(|| crate::report::window::Window::at(now.date_naive()).days())
    }

    /// Checks that every provider's token can be read (from the process environment), before
    /// anything else of a live run is loaded: a missing token is the first thing to fix.
    pub fn check_tokens(&self) -> Result<(), ConfigError> {
        for p in &self.providers {
            self.token(p, &|var| std::env::var(var).ok())?;
        }
        Ok(())
    }

    /// Reads a provider's token from its environment variable or file; `env` looks up
    /// environment variables (injected by tests).
    pub fn token(
        &self,
        p: &ProviderConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, ConfigError> {
        let path = self.source.clone().unwrap_or_else(|| "<built-in>".into());
        let err = |message: String| ConfigError::Token {
            path: path.clone(),
            provider: p.name.clone(),
            message,
        };
        match &p.token {
            TokenSource::Value(s) => Ok(s.clone()),
            TokenSource::Env(var) => env(var)
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim()))
                .ok_or_else(|| {
                    err(format!(
                        "the environment variable {var} is not set; export it with the {} token",
                        p.name
                    ))
                }),
            TokenSource::File(file) => std::fs::read_to_string(file)
                .map(|t| Secret::new(t.trim()))
                .map_err(|e| err(format!("cannot read token_file {}: {e}", file.display()))),
        }
    }
}
