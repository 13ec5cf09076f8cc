//! Reads that survive the providers: `Retry-After` as an HTTP date on 503, a 200 whose body
//! is not JSON (read again, then named), one pause for every
//! concurrent request of a token, the run's deadline (exit 6 with what was read), overlapping
//! and inconsistent pages, and data gaps (exit 7 naming the provider and the data). All over
//! real HTTP against the sandbox; the binary for the exit codes.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use podwarden::fleet::{Activity, ResourceKind};
use podwarden::providers::argus::wire::Worker;
use podwarden::providers::{Provider, ProviderError};
use podwarden::sandbox::{Fault, SandboxConfig};
use serde_json::Value;

use crate::support::*;

// ---- Retry-After ------------------------------------------------------------------------

#[tokio::test]
async fn a_503_with_an_http_date_retry_after_is_waited_for_then_the_read_succeeds() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::RetryAfterDate],
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    let workers: Vec<Worker> = argus(&s, READER)
        .list_all("/compute/workers", &[])
        .await
        .expect("served after the pause");
    let waited = started.elapsed();
    assert_eq!(workers.len(), s.sandbox.world().argus.workers.len());
    assert_eq!(s.sandbox.retry_after_count(), 1, "one 503 was answered");
    // The date is ~2 s ahead at whole-second resolution: the pause is between 1 and 2 s.
    // Plain backoff (200 ms) would retry far sooner.
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
}

// ---- bodies that are not JSON ------------------------------------------------------------

/// A 200 with a proxy's HTML page is read again, like a 503: the read then succeeds whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_200_with_an_html_page_is_read_again_and_nothing_is_lost() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::HtmlOnce],
        ..SandboxConfig::default()
    })
    .await;
    let workers: Vec<Worker> = argus(&s, READER)
        .list_all("/compute/workers", &[])
        .await
        .expect("read again after the HTML page");
    assert_eq!(workers.len(), s.sandbox.world().argus.workers.len());
    assert_eq!(
        s.sandbox.retry_after_count(),
        1,
        "one HTML page was answered"
    );

    // Through the binary: `report` meets Podstack's page (Argus's was answered above) and
    // exits 0 with no data missing.
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, "");
    let out = podwarden_in(dir.path(), &["report", "--config", "podwarden.toml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("data missing") && !err.contains("not JSON"),
        "{err}"
    );
}

/// An answer that goes silent after its first bytes costs the read timeout (1 s here), not
/// the request's whole timeout (60 s here), and is then read again: nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_answer_costs_the_read_timeout_then_is_read_again() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::StallOnce],
        ..SandboxConfig::default()
    })
    .await;
    let mut settings = settings(s.argus_url(), READER);
    settings.timeout = Duration::from_secs(60);
    settings.read_timeout = Duration::from_secs(1);
    settings.deadline = Some(tokio::time::Instant::now() + Duration::from_secs(120));
    let client = podwarden::providers::argus::Argus::new("argus", settings).expect("client");
    let started = Instant::now();
    let workers: Vec<Worker> = client
        .list_all("/compute/workers", &[])
        .await
        .expect("read again after the stall");
    let took = started.elapsed();
    assert_eq!(workers.len(), s.sandbox.world().argus.workers.len());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(15),
        "the stall cost {took:?}"
    );
}

/// A body cut short on every answer is retried with backoff, then the data is lost with the
/// provider, the endpoint and what was wrong named.
#[tokio::test]
async fn a_body_cut_short_every_time_is_retried_then_named() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::TruncatedBodies],
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    let err = argus(&s, READER)
        .list_all::<Worker>("/compute/workers", &[])
        .await
        .expect_err("never readable");
    assert!(
        matches!(err, ProviderError::UnreadableBody { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("argus") && text.contains("/compute/workers") && text.contains("not JSON"),
        "{text}"
    );
    // Read again with backoff (200 ms, 400 ms, …), not given up at the first answer.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_that_ends_past_the_deadline_fails_at_once_with_exit_6() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::RetryAfterDate],
        ..SandboxConfig::default()
    })
    .await;
    let mut settings = settings(s.argus_url(), READER);
    settings.deadline = Some(tokio::time::Instant::now() + Duration::from_millis(500));
    let client = podwarden::providers::argus::Argus::new("argus", settings).expect("client");
    let started = Instant::now();
    let err = client
        .list_all::<Worker>("/compute/workers", &[])
        .await
        .expect_err("the pause does not fit");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "the wait was not started: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, ProviderError::DeadlineExceeded { waiting_for, .. } if waiting_for.contains("Retry-After")),
        "{err:?}"
    );
    assert_eq!(podwarden::exit::Exit::for_provider(&err).code(), 6);
}

// ---- one pause for every concurrent request ---------------------------------------------

#[tokio::test]
async fn a_429_pauses_every_concurrent_request_of_the_token() {
    const WINDOW: u64 = 2;
    let s = sandbox(SandboxConfig {
        read_limit: 4,
        read_window_secs: WINDOW,
        ..SandboxConfig::default()
    })
    .await;
    // Another process with the same token has used the window up: this client cannot know.
    let other = argus(&s, READER);
    for _ in 0..4 {
        other
            .list_all::<Value>("/compute/pods", &[])
            .await
            .expect("within the limit");
    }
    assert_eq!(s.sandbox.rate_limited_count(), 0);
    let client = argus(&s, READER);
    let started = Instant::now();
    let results = futures::future::join_all(
        (0..8).map(|_| client.list_all::<Worker>("/compute/workers", &[])),
    )
    .await;
    let elapsed = started.elapsed();
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let windows = (elapsed.as_secs_f64() / WINDOW as f64).ceil() as u64 + 1;
    let refused = s.sandbox.rate_limited_count();
    assert!(refused >= 1, "the used-up window was hit");
    assert!(
        refused <= windows,
        "{refused} 429s in {elapsed:?} ({windows} windows): the others did not wait"
    );
}

// ---- the deadline -----------------------------------------------------------------------

/// A podwarden.toml for a sandbox at `base` with the shipped policies.
fn write_config(dir: &Path, base: &str, deadline: &str) {
    let example =
        std::fs::read_to_string(repo().join("examples/sandbox.toml")).expect("example config");
    let config = example
        .replace("http://127.0.0.1:8181", base)
        .replace(
            "../policies",
            &repo().join("policies").display().to_string(),
        )
        .replace("../state", "state")
        .replace("../reports", "reports")
        .replace("deadline = \"20m\"", &format!("deadline = \"{deadline}\""));
    assert!(config.contains(&format!("deadline = \"{deadline}\"")));
    std::fs::write(dir.join("podwarden.toml"), config).expect("config written");
}

fn plan(dir: &Path, format: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args([
            "plan",
            "--config",
            "podwarden.toml",
            "--format",
            format,
            "--out",
            "plan.json",
        ])
        .current_dir(dir)
        .env("ARGUS_TOKEN", READER)
        .env("PODSTACK_API_TOKEN", READER)
        .env("PODWARDEN_LOG", "warn")
        .output()
        .expect("plan runs")
}

fn plan_file(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).expect("plan file"))
        .expect("JSON")
}

fn provider<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["providers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("provider {name} in {}", plan["providers"]))
}

fn gap_data(plan: &Value, name: &str) -> Vec<String> {
    provider(plan, name)["gaps"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|g| g["data"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn actions<'a>(plan: &'a Value, provider: &str, policy: &str) -> Vec<&'a Value> {
    plan["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|a| a["provider"] == provider && a["policy"] == policy)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn stats_reads_that_cannot_finish_before_the_deadline_exit_6_with_the_plan_printed() {
    // 10 Podstack requests per minute: the stats reads would wait ~60 s for the next window.
    let sandbox = SandboxProcess::start(&["--podstack-limit", "10"]);
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path(), &sandbox.base, "3s");
    let started = Instant::now();
    let out = plan(dir.path(), "table");
    let elapsed = started.elapsed();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(6), "{stdout}\n{stderr}");
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
    assert!(stdout.contains("podwarden plan"), "{stdout}");
    assert!(stdout.contains("DATA GAP stats"), "{stdout}");
    let plan = plan_file(dir.path());
    assert_eq!(provider(&plan, "podstack")["complete"], true);
    assert!(gap_data(&plan, "podstack").contains(&"stats".to_string()));
    let blocked: Vec<&Value> = plan["blocked"]
        .as_array()
        .expect("blocked")
        .iter()
        .filter(|b| {
            b["why"]
                .as_str()
                .is_some_and(|w| w.contains("utilisation not read before the run's deadline"))
        })
        .collect();
    assert!(!blocked.is_empty(), "unread pods are blocked as unknown");
    for b in &blocked {
        assert!(
            !plan["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .any(|a| a["target"] == b["target"]),
            "an unread pod was acted on: {b}"
        );
    }
    assert!(
        !actions(&plan, "argus", "stop-idle-argus-workers").is_empty(),
        "Argus was read in time and planned"
    );
}

#[tokio::test]
async fn a_request_cut_by_the_deadline_is_unknown_not_waited_for() {
    let s = sandbox(SandboxConfig {
        faults: vec![Fault::SlowStats],
        ..SandboxConfig::default()
    })
    .await;
    let mut settings = settings(s.podstack_url(), READER);
    settings.deadline = Some(tokio::time::Instant::now() + Duration::from_secs(2));
    let client =
        podwarden::providers::podstack::Podstack::new("podstack", settings, Default::default())
            .expect("client");
    let started = Instant::now();
    let inv = client
        .collect(s.sandbox.clock.now(), 3)
        .await
        .expect("the inventory was read in time");
    // Each stats answer takes 3 s: only a request cut at the deadline returns sooner.
    assert!(
        started.elapsed() < Duration::from_millis(2800),
        "stopped at the deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(inv.pods.len(), s.sandbox.world().podstack.pods.len());
    assert!(
        !inv.costs.is_empty() && inv.wallets.len() == 1,
        "read first"
    );
    let cut = inv
        .pods
        .iter()
        .filter(|p| matches!(&p.activity, Activity::Unknown { why } if why.contains("before the run's deadline")))
        .count();
    assert!(cut > 0);
    let gap = inv
        .gaps
        .iter()
        .find(|g| g.data == "stats")
        .expect("a stats gap");
    assert!(
        matches!(gap.error, ProviderError::DeadlineExceeded { .. }),
        "{:?}",
        gap.error
    );
    assert!(gap.detail.contains(&format!("{cut} of ")), "{}", gap.detail);
}

// ---- pagination -------------------------------------------------------------------------

#[tokio::test]
async fn overlapping_argus_pages_yield_every_worker_pod_and_cost_row_once() {
    let now = chrono::Utc::now();
    let config = |faults| SandboxConfig {
        pods: 2000,
        now: Some(now),
        faults,
        ..SandboxConfig::default()
    };
    let s = sandbox(config(vec![Fault::DuplicatePages])).await;
    let clean = sandbox(config(vec![])).await;
    let (workers, orphans) = {
        let w = s.sandbox.world();
        let orphans = w
            .argus
            .pods
            .values()
            .filter(|p| p.pod.worker_id.is_none())
            .count();
        (w.argus.workers.len(), orphans)
    };
    assert!(workers > 1000, "several pages of 500");
    let listed: Vec<Worker> = argus(&s, READER)
        .list_all("/compute/workers", &[])
        .await
        .expect("workers");
    assert_eq!(listed.len(), workers);
    let at = s.sandbox.clock.now();
    let inv = argus(&s, READER).collect(at, 3).await.expect("collect");
    assert!(inv.gaps.is_empty(), "{:?}", inv.gaps);
    let kinds = |k| inv.pods.iter().filter(|p| p.kind == k).count();
    assert_eq!(
        (kinds(ResourceKind::Pod), kinds(ResourceKind::Orphan)),
        (workers, orphans)
    );
    let rows: HashSet<_> = inv
        .costs
        .iter()
        .map(|c| (c.date, c.pod_id.clone()))
        .collect();
    assert_eq!(rows.len(), inv.costs.len(), "no cost row twice");
    let expected = argus(&clean, READER).collect(at, 3).await.expect("collect");
    assert!(expected.costs.len() > 1000, "several pages of cost rows");
    assert_eq!(inv.costs.len(), expected.costs.len());
}

#[tokio::test]
async fn overlapping_podstack_pages_are_read_on_until_total_and_each_pod_counted_once() {
    let s = sandbox(SandboxConfig {
        pods: 1200,
        faults: vec![Fault::DuplicatePages],
        ..SandboxConfig::default()
    })
    .await;
    let expected = s.sandbox.world().podstack.pods.len();
    assert!(expected > 300, "several pages of 100");
    let pods = podstack(&s, READER).list_pods().await.expect("complete");
    let ids: HashSet<_> = pods.iter().map(|p| p.id.clone()).collect();
    assert_eq!((pods.len(), ids.len()), (expected, expected));
}

fn inconsistent_podstack_list_exits_7(fault: &str, says: &str) {
    let sandbox = SandboxProcess::start(&[
        "--pods",
        "1200",
        "--podstack-limit",
        "100000",
        "--fault",
        fault,
    ]);
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path(), &sandbox.base, "60s");
    let out = plan(dir.path(), "json");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_str(&text(&out.stdout)).expect("JSON on stdout");
    let podstack = provider(&plan, "podstack");
    assert_eq!(podstack["complete"], false);
    assert!(
        podstack["error"].as_str().is_some_and(|e| e.contains(says)),
        "{podstack}"
    );
    assert!(plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .all(|a| a["provider"] != "podstack"));
    assert_eq!(provider(&plan, "argus")["complete"], true);
    // (A fleet this large trips the idle policies' breakers; the others still plan.)
    assert!(
        plan["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .any(|a| a["provider"] == "argus"),
        "the complete provider is still planned"
    );
}

#[test]
fn an_empty_podstack_page_before_total_makes_the_provider_incomplete_exit_7() {
    inconsistent_podstack_list_exits_7("empty-page", "is empty with");
}

#[test]
fn a_podstack_total_that_changes_under_the_walk_makes_the_provider_incomplete_exit_7() {
    inconsistent_podstack_list_exits_7("list-changes", "total changed");
}

// ---- data gaps --------------------------------------------------------------------------

#[test]
fn failed_stats_reads_exit_7_name_the_data_and_plan_no_podstack_stop() {
    // A small fleet: every stats read is retried before it counts as failed.
    let sandbox = SandboxProcess::start(&["--pods", "40", "--fault", "stats-down"]);
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path(), &sandbox.base, "120s");
    let out = plan(dir.path(), "json");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("data failed to load"), "{stderr}");
    let plan: Value = serde_json::from_str(&text(&out.stdout)).expect("JSON on stdout");
    assert_eq!(gap_data(&plan, "podstack"), vec!["stats"]);
    assert!(gap_data(&plan, "argus").is_empty());
    assert_eq!(provider(&plan, "podstack")["complete"], true);
    assert!(actions(&plan, "podstack", "stop-idle-podstack-pods").is_empty());
    assert!(plan["blocked"]
        .as_array()
        .expect("blocked")
        .iter()
        .any(|b| {
            b["policy"] == "stop-idle-podstack-pods"
                && b["why"]
                    .as_str()
                    .is_some_and(|w| w.contains("utilisation failed to load"))
        }));
    assert!(
        !actions(&plan, "argus", "stop-idle-argus-workers").is_empty(),
        "the other provider is still planned"
    );
}

#[test]
fn failed_served_and_cost_reads_exit_7_name_the_data_and_plan_no_argus_idle_stop() {
    let sandbox = SandboxProcess::start(&["--fault", "served-down", "--fault", "cost-down"]);
    let dir = tempfile::tempdir().expect("temp dir");
    write_config(dir.path(), &sandbox.base, "120s");
    let out = plan(dir.path(), "json");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_str(&text(&out.stdout)).expect("JSON on stdout");
    assert_eq!(gap_data(&plan, "argus"), vec!["served", "costs"]);
    assert_eq!(gap_data(&plan, "podstack"), vec!["costs"]);
    assert_eq!(provider(&plan, "argus")["complete"], true);
    assert!(actions(&plan, "argus", "stop-idle-argus-workers").is_empty());
    assert!(
        !actions(&plan, "podstack", "stop-idle-podstack-pods").is_empty(),
        "the other provider's idle stops are still planned"
    );
    // terminate-old-orphans waits a 24 h notice: on a first run its orphans are pending.
    assert!(
        plan["pending"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["policy"] == "terminate-old-orphans")),
        "what does not depend on served is still planned"
    );
}
