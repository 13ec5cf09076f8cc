//! The built-in demo: a configuration pointing at an in-process sandbox, read-only token,
//! state in a temporary folder, the repository's `policies/` when present (else the
//! shipped policies compiled into the binary).

use std::path::Path;

use crate::config::{Config, ConfigError, ConfigToml, ProviderToml, ProviderType, TokenSource};
use crate::sandbox::RunningSandbox;
use crate::secret::Secret;

pub fn config(sandbox: &RunningSandbox, state_dir: &Path) -> Result<Config, ConfigError> {
    let provider = |kind, base_url: String| ProviderToml {
        kind,
        base_url,
        // A placeholder so the file checks; replaced by the sandbox's read-only token below.
        token_env: Some("DEMO_TOKEN".into()),
        token_file: None,
        timeout: "30s".into(),
        connect_timeout: "10s".into(),
        read_timeout: "10s".into(),
        allow_insecure_http: false,
        idle_gpu_util_pct: None,
        idle_net_bytes_per_sec: None,
        stats_window: None,
        ops_rate: None,
    };
    let raw = ConfigToml {
        state: state_dir.join("podwarden.db"),
        reports: "reports".into(),
        policies: "policies".into(),
        cost_days: None,
        currency: Default::default(),
        report: Default::default(),
        deadline: "5m".into(),
        protection: Default::default(),
        limits: None,
        apply: Default::default(),
        collect: Default::default(),
        schedule: None,
        metrics: None,
        shards: Vec::new(),
        // Example recipients, so `podwarden run --email-to-dir mail` shows the mails; the
        // demo sends nothing over SMTP.
        email: Some(crate::notify::email_config::EmailToml {
            host: "localhost".into(),
            port: None,
            tls: crate::notify::email_config::TlsMode::None,
            username: None,
            password_env: None,
            password_file: None,
            password: None,
            from: "podwarden demo <podwarden@example.com>".into(),
            timeout: "30s".into(),
            max_attachment_bytes: None,
            finance: crate::notify::email_config::RecipientsToml {
                to: vec!["finance@example.com".into()],
                cc: vec!["platform-team@example.com".into()],
                domain: None,
            },
            owners: crate::notify::email_config::RecipientsToml {
                to: vec![],
                cc: vec!["platform-team@example.com".into()],
                domain: Some("example.com".into()),
            },
        }),
        providers: ProviderType::ALL
            .iter()
            .map(|t| {
                (
                    t.builtin_name().to_string(),
                    provider(*t, sandbox.url_for(*t)),
                )
            })
            .collect(),
    };
    let mut config = Config::from_toml(raw, None, Path::new("."))?;
    for p in &mut config.providers {
        p.token = TokenSource::Value(Secret::new(&sandbox.sandbox.config.read_token));
    }
    Ok(config)
}

/// The demo's configuration with the sandbox's admin token, for `podwarden run --apply`.
pub fn acting(config: &Config, sandbox: &RunningSandbox) -> Config {
    let mut config = config.clone();
    for p in &mut config.providers {
        p.token = TokenSource::Value(Secret::new(&sandbox.sandbox.config.admin_token));
    }
    config
}
