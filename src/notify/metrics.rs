//! Run metrics pushed to a Prometheus Pushgateway at the end of each run (`[metrics]`).
//!
//! One group per job (`/metrics/job/<job>[/instance/<instance>][/shard/<shard>]`), text exposition format.
//! A **successful** run (exit 0) is pushed with PUT: it replaces the whole group, including
//! `podwarden_last_success_timestamp_seconds`. Any other run is pushed with POST, which
//! replaces only the metrics it carries, and it never carries the last-success timestamp: so
//! the timestamp keeps the last good run, and a dead-man's-switch alert on its age fires when
//! the nightly run fails *or* stops happening (see `deploy/prometheus/podwarden-alerts.yml`).
//!
//! Fields a run did not measure (`rate_limited` when nothing was applied) are `None` and then
//! not pushed, rather than pushed as 0. Actions are counted by policy and result: `planned`,
//! and with `--apply` each action's outcome (`accepted`, `skipped`, `failed`, …).
//! A failed push is logged and never fails the run.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::exit::Exit;
use crate::fleet::{Activity, Fleet, PodStatus, ResourceKind};
use crate::plan::Plan;

/// `[metrics]` as written in podwarden.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsToml {
    /// Base URL of the Pushgateway, e.g. `http://127.0.0.1:9091`.
    pub pushgateway: String,
    /// The `job` grouping label (default `podwarden`).
    #[serde(default = "default_job")]
    pub job: String,
    /// An optional `instance` grouping label (e.g. the cluster), for several deployments.
    pub instance: Option<String>,
    /// Bound of one push (default 10s).
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Allow plain `http://` to a Pushgateway that is not on loopback (e.g. a cluster
    /// service); every run then warns.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

fn default_job() -> String {
    "podwarden".into()
}
fn default_timeout() -> String {
    "10s".into()
}

/// `[metrics]`, checked.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub pushgateway: String,
    pub job: String,
    pub instance: Option<String>,
    pub timeout: Duration,
    /// The shard this process is (`[[shard]]`): a `shard` grouping label of its own, so
    /// that the shards of one Indexed Job never replace each other's metrics.
    pub shard: Option<String>,
}

/// A value fit for a grouping label (and a folder name: a shard's).
pub fn grouping_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl MetricsToml {
    pub fn check(&self) -> Result<MetricsConfig, String> {
        let url = self.pushgateway.trim().trim_end_matches('/').to_string();
        if let crate::config::transport::Transport::Insecure(warning) =
            crate::config::transport::check(
                "[metrics] pushgateway",
                &url,
                self.allow_insecure_http,
            )?
        {
            tracing::warn!("{warning}");
        }
        for (key, value) in [
            ("job", Some(&self.job)),
            ("instance", self.instance.as_ref()),
        ] {
            if let Some(v) = value {
                if !grouping_ok(v) {
                    return Err(format!(
                        "[metrics] {key} {v:?}: use letters, digits, '-', '_' and '.'"
                    ));
                }
            }
        }
        let timeout = crate::duration::parse(&self.timeout)
            .and_then(|d| d.to_std().map_err(|_| "negative duration".to_string()))
            .map_err(|e| format!("[metrics] timeout: {e}"))?;
        Ok(MetricsConfig {
            pushgateway: url,
            job: self.job.clone(),
            instance: self.instance.clone(),
            timeout,
            shard: None,
        })
    }
}

/// Actions of one policy, action and result (`planned` today; the executor adds
/// `succeeded`, `failed`, `skipped`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActionCount {
    pub policy: String,
    pub action: String,
    pub result: String,
    pub count: u64,
}

/// What one run pushes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetrics {
    pub finished_at: DateTime<Utc>,
    pub duration: Duration,
    pub exit: Exit,
    pub actions: Vec<ActionCount>,
    /// Billed spend of the cost window per (provider, currency).
    pub tracked_spend: BTreeMap<(String, String), Decimal>,
    /// Daily burn of running idle pods, per currency.
    pub idle_burn_per_day: BTreeMap<String, Decimal>,
    /// Daily burn of running orphans, per currency.
    pub orphan_burn_per_day: BTreeMap<String, Decimal>,
    /// 429 answers seen per provider; `None` until the transport counts them.
    pub rate_limited: Option<BTreeMap<String, u64>>,
    /// Owner notices pending; `None` until notices exist.
    pub pending_notices: Option<u64>,
}

impl RunMetrics {
    /// A run that ended before it had a fleet and a plan (e.g. a failed collection).
    pub fn bare(started: std::time::Instant, exit: Exit) -> RunMetrics {
        RunMetrics {
            finished_at: Utc::now(),
            duration: started.elapsed(),
            exit,
            actions: vec![],
            tracked_spend: BTreeMap::new(),
            idle_burn_per_day: BTreeMap::new(),
            orphan_burn_per_day: BTreeMap::new(),
            rate_limited: None,
            pending_notices: None,
        }
    }

    /// Fills what a dry run knows: planned actions, spend, idle and orphan burn.
    pub fn of_run(
        started: std::time::Instant,
        exit: Exit,
        fleet: &Fleet,
        plan: &Plan,
    ) -> RunMetrics {
        let mut m = RunMetrics::bare(started, exit);
        let mut actions: BTreeMap<(String, String), u64> = BTreeMap::new();
        for a in &plan.actions {
            *actions
                .entry((a.policy.clone(), a.action.to_string()))
                .or_default() += 1;
        }
        m.actions = actions
            .into_iter()
            .map(|((policy, action), count)| ActionCount {
                policy,
                action,
                result: "planned".into(),
                count,
            })
            .collect();
        let pods: std::collections::HashMap<(&str, &str), &crate::fleet::Pod> = fleet
            .pods
            .iter()
            .map(|p| ((p.provider.as_str(), p.pod_id.as_str()), p))
            .collect();
        for c in fleet.costs.iter().filter(|c| {
            let pod = pods.get(&(c.provider.as_str(), c.pod_id.as_str())).copied();
            !crate::report::spend::is_orphan_spend(c, pod, fleet)
        }) {
            *m.tracked_spend
                .entry((c.provider.clone(), c.amount.currency.to_string()))
                .or_default() += c.amount.amount;
        }
        for p in fleet.pods.iter().filter(|p| p.status == PodStatus::Running) {
            let daily = p.daily_rate();
            let bucket = match (p.kind, &p.activity) {
                (ResourceKind::Orphan, _) => &mut m.orphan_burn_per_day,
                (ResourceKind::Pod, Activity::Idle { .. }) => &mut m.idle_burn_per_day,
                _ => continue,
            };
            *bucket.entry(daily.currency.to_string()).or_default() += daily.amount;
        }
        m
    }

    /// Adds what `--apply` did: each action's result by policy, and the 429s per provider.
    pub fn add_applied(&mut self, o: &crate::execute::apply::Outcome) {
        let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
        for l in &o.lines {
            let result = l.result.as_str().to_ascii_lowercase().replace(' ', "_");
            *counts
                .entry((l.action.policy.clone(), l.action.action.to_string(), result))
                .or_default() += 1;
        }
        self.actions
            .extend(
                counts
                    .into_iter()
                    .map(|((policy, action, result), count)| ActionCount {
                        policy,
                        action,
                        result,
                        count,
                    }),
            );
        self.rate_limited = Some(
            o.figures
                .iter()
                .map(|f| (f.provider.clone(), f.rate_limited))
                .collect(),
        );
    }

    /// The text exposition format (version 0.0.4).
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        let success = self.exit == Exit::Success;
        let ts = self.finished_at.timestamp_millis() as f64 / 1000.0;
        let mut gauge = |name: &str, help: &str, samples: Vec<(Vec<(&str, &str)>, String)>| {
            if samples.is_empty() {
                return;
            }
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, value) in samples {
                let labels = if labels.is_empty() {
                    String::new()
                } else {
                    let inner: Vec<String> = labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                        .collect();
                    format!("{{{}}}", inner.join(","))
                };
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        if success {
            gauge(
                "podwarden_last_success_timestamp_seconds",
                "End of the last run that exited 0 (Unix time).",
                vec![(vec![], ts.to_string())],
            );
        }
        gauge(
            "podwarden_last_run_timestamp_seconds",
            "End of the last run, whatever its outcome (Unix time).",
            vec![(vec![], ts.to_string())],
        );
        gauge(
            "podwarden_last_run_success",
            "1 when the last run exited 0, else 0.",
            vec![(vec![], u8::from(success).to_string())],
        );
        gauge(
            "podwarden_last_run_exit_code",
            "Exit code of the last run (see the exit codes in docs/commands.md).",
            vec![(vec![], self.exit.code().to_string())],
        );
        gauge(
            "podwarden_run_duration_seconds",
            "Duration of the last run.",
            vec![(vec![], self.duration.as_secs_f64().to_string())],
        );
        gauge(
            "podwarden_actions",
            "Actions of the last run by policy, action and result.",
            self.actions
                .iter()
                .map(|a| {
                    (
                        vec![
                            ("policy", a.policy.as_str()),
                            ("action", a.action.as_str()),
                            ("result", a.result.as_str()),
                        ],
                        a.count.to_string(),
                    )
                })
                .collect(),
        );
        gauge(
            "podwarden_tracked_spend",
            "Billed spend over the cost window read, orphans excluded (tracked), by provider and currency.",
            self.tracked_spend
                .iter()
                .map(|((provider, currency), v)| {
                    (
                        vec![
                            ("provider", provider.as_str()),
                            ("currency", currency.as_str()),
                        ],
                        v.normalize().to_string(),
                    )
                })
                .collect(),
        );
        for (name, help, values) in [
            (
                "podwarden_idle_burn_per_day",
                "Daily cost of running pods seen idle, by currency.",
                &self.idle_burn_per_day,
            ),
            (
                "podwarden_orphan_burn_per_day",
                "Daily cost of running orphan pods, by currency.",
                &self.orphan_burn_per_day,
            ),
        ] {
            gauge(
                name,
                help,
                values
                    .iter()
                    .map(|(c, v)| (vec![("currency", c.as_str())], v.normalize().to_string()))
                    .collect(),
            );
        }
        if let Some(seen) = &self.rate_limited {
            gauge(
                "podwarden_rate_limited_responses",
                "429 answers seen in the last run, by provider.",
                seen.iter()
                    .map(|(p, n)| (vec![("provider", p.as_str())], n.to_string()))
                    .collect(),
            );
        }
        if let Some(n) = self.pending_notices {
            gauge(
                "podwarden_pending_notices",
                "Owner notices pending (pods to be acted on after their notice period).",
                vec![(vec![], n.to_string())],
            );
        }
        out
    }
}

/// A label value in the exposition format: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Debug, thiserror::Error)]
#[error("pushing metrics to {url}: {message}")]
pub struct MetricsError {
    pub url: String,
    pub message: String,
}

/// The group's URL: `<pushgateway>/metrics/job/<job>[/instance/<instance>][/shard/<shard>]`.
pub fn group_url(config: &MetricsConfig) -> String {
    let mut url = format!("{}/metrics/job/{}", config.pushgateway, config.job);
    if let Some(instance) = &config.instance {
        url.push_str(&format!("/instance/{instance}"));
    }
    if let Some(shard) = &config.shard {
        url.push_str(&format!("/shard/{shard}"));
    }
    url
}

/// Pushes `metrics` (PUT after a success, POST otherwise; see the module doc).
pub async fn push(metrics: &RunMetrics, config: &MetricsConfig) -> Result<(), MetricsError> {
    let url = group_url(config);
    let err = |message: String| MetricsError {
        url: url.clone(),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .build()
        .map_err(|e| err(e.to_string()))?;
    let request = if metrics.exit == Exit::Success {
        client.put(&url)
    } else {
        client.post(&url)
    };
    let response = request
        .header("Content-Type", "text/plain; version=0.0.4")
        .body(metrics.exposition())
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let body = response.text().await.unwrap_or_default();
        Err(err(format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        )))
    }
}

/// The Pushgateway as a notification [`Channel`](crate::notify::channel::Channel): each nightly run's
/// metrics (a failed run's exit code too); a replay pushes none, so the last-success
/// timestamp stays the nightly run's.
pub struct PushgatewayChannel<'a> {
    config: &'a MetricsConfig,
}

impl<'a> PushgatewayChannel<'a> {
    pub fn new(config: &'a MetricsConfig) -> PushgatewayChannel<'a> {
        PushgatewayChannel { config }
    }
}

#[async_trait::async_trait]
impl crate::notify::channel::Channel for PushgatewayChannel<'_> {
    fn name(&self) -> &'static str {
        "pushgateway"
    }

    async fn deliver(
        &self,
        run: &crate::notify::channel::Finished<'_>,
    ) -> Result<crate::notify::channel::Delivery, crate::notify::channel::ChannelError> {
        if run.replay {
            return Ok(crate::notify::channel::Delivery::Skipped);
        }
        let metrics = match &run.result {
            Ok(o) => {
                let mut m = RunMetrics::of_run(run.started, o.exit, run.fleet, o.plan);
                m.pending_notices = Some(o.plan.pending.len() as u64);
                if let Some(applied) = o.applied {
                    m.add_applied(applied);
                }
                m
            }
            Err(exit) => RunMetrics::bare(run.started, *exit),
        };
        push(&metrics, self.config)
            .await
            .map_err(crate::notify::channel::ChannelError::new)?;
        tracing::info!(gateway = self.config.pushgateway, "metrics pushed");
        Ok(crate::notify::channel::Delivery::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(exit: Exit) -> RunMetrics {
        let mut m = RunMetrics::bare(std::time::Instant::now(), exit);
        m.actions.push(ActionCount {
            policy: "stop \"idle\"".into(),
            action: "stop".into(),
            result: "planned".into(),
            count: 3,
        });
        m.idle_burn_per_day
            .insert("USD".into(), Decimal::new(5976, 2));
        m
    }

    #[test]
    fn success_carries_the_last_success_timestamp_and_failure_does_not() {
        let ok = metrics(Exit::Success).exposition();
        assert!(
            ok.contains("\npodwarden_last_success_timestamp_seconds "),
            "{ok}"
        );
        assert!(ok.contains("podwarden_last_run_exit_code 0\n"), "{ok}");
        let failed = metrics(Exit::ProviderIncomplete).exposition();
        assert!(!failed.contains("last_success"), "{failed}");
        assert!(
            failed.contains("podwarden_last_run_exit_code 7\n"),
            "{failed}"
        );
        assert!(
            failed.contains("podwarden_last_run_success 0\n"),
            "{failed}"
        );
    }

    #[test]
    fn labels_are_escaped_and_unmeasured_fields_are_absent() {
        let text = metrics(Exit::Success).exposition();
        assert!(
            text.contains(
                "podwarden_actions{policy=\"stop \\\"idle\\\"\",action=\"stop\",result=\"planned\"} 3\n"
            ),
            "{text}"
        );
        assert!(text.contains("podwarden_idle_burn_per_day{currency=\"USD\"} 59.76\n"));
        assert!(!text.contains("pending_notices"));
        assert!(!text.contains("rate_limited"));
    }

    #[test]
    fn config_checks_the_url_and_grouping_labels() {
        let toml = |s: &str| toml::from_str::<MetricsToml>(s).expect("parses");
        let ok = toml("pushgateway = \"http://127.0.0.1:9091/\"\ninstance = \"prod-eu\"")
            .check()
            .expect("valid");
        assert_eq!(
            group_url(&ok),
            "http://127.0.0.1:9091/metrics/job/podwarden/instance/prod-eu"
        );
        let shard = MetricsConfig {
            shard: Some("eu".into()),
            ..ok.clone()
        };
        assert_eq!(
            group_url(&shard),
            "http://127.0.0.1:9091/metrics/job/podwarden/instance/prod-eu/shard/eu",
            "a shard's metrics are a group of their own"
        );
        assert!(toml("pushgateway = \"127.0.0.1:9091\"").check().is_err());
        assert!(toml("pushgateway = \"http://x\"\njob = \"a/b\"")
            .check()
            .is_err());
    }
}
