//! Helpers of the acting tests (`apply`, `apply_edge_cases`, `plan_edits`, `plan_file`): sandboxes serving scenario
//! fleets, workspaces whose breakers allow every action, the real executable with a token, and
//! readers of the sandbox's audit and of the journal.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use chrono::Utc;
use podwarden::providers::Provider;
use podwarden::sandbox::{RunningSandbox, SandboxConfig};
use podwarden::state::journal::{Filter, Journal, Stage};

use crate::support::*;

pub const STOP_IDLE: &str = "[[policy]]\nname = \"stop-idle\"\naction = \"stop\"\n\
    reason = \"idle {idle_hours}h (policy {policy})\"\n[policy.match]\nstatus = \"running\"\nidle_for = \"1h\"\n";

/// `n` Argus workers idle for 9 hours, `wkr_0000` … .
pub fn idle_workers(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[worker]]\nid = \"wkr_{i:04}\"\nlast_started = \"-20d\"\nactivity = {{ idle_since = \"-9h\" }}\n"
            )
        })
        .collect()
}

/// A sandbox serving `scenario` only, its clock at the real time, with an Argus operations
/// window of `ops_window_secs` and state changes taking `transition_secs`.
pub async fn sandbox_with(
    scenario: &str,
    ops_window_secs: u64,
    transition_secs: u64,
) -> RunningSandbox {
    sandbox(SandboxConfig {
        pods: 0,
        now: Some(Utc::now()),
        ops_window_secs,
        transition_secs,
        scenario: Some(podwarden::sandbox::Scenario::parse(scenario).expect("scenario")),
        ..SandboxConfig::default()
    })
    .await
}

/// A workspace for `s` with `policies`; `config_edits` are (from, to) replacements of the
/// example config (ops rates, deadline, …). Its breakers allow every action.
pub fn apply_workspace(
    s: &RunningSandbox,
    policies: &str,
    config_edits: &[(&str, &str)],
) -> tempfile::TempDir {
    let dir = workspace(&format!("http://{}", s.addr), policies);
    let path = dir.path().join("podwarden.toml");
    let mut config = std::fs::read_to_string(&path).expect("config");
    config = config
        .replace("max_actions = 200", "max_actions = 1000")
        .replace("max_fleet_share = \"50%\"", "max_fleet_share = \"100%\"");
    for (from, to) in config_edits {
        assert!(config.contains(from), "{from} in the example config");
        config = config.replace(from, to);
    }
    std::fs::write(&path, config).expect("config written");
    dir
}

/// The real executable in `dir` with `token` for both providers.
pub fn podwarden_as(dir: &Path, token: &str, args: &[&str]) -> Output {
    command_as(dir, token, args)
        .output()
        .expect("podwarden runs")
}

pub fn command_as(dir: &Path, token: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_podwarden"));
    c.args(args)
        .current_dir(dir)
        .env_remove("PODWARDEN_CONFIG")
        .env("PODWARDEN_LOG", "warn")
        .env("ARGUS_TOKEN", token)
        .env("PODSTACK_API_TOKEN", token);
    c
}

/// The line of `stdout` (an apply's outcome table) that names `target`; fails the test
/// without one.
pub fn line_of(stdout: &str, target: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains(target))
        .unwrap_or_else(|| panic!("{target} in:\n{stdout}"))
        .to_string()
}

/// `plan --out plan.json` with the read-only token; the plan as JSON.
pub fn plan_file(dir: &Path) -> serde_json::Value {
    let out = podwarden_as(
        dir,
        READER,
        &["plan", "--config", "podwarden.toml", "--out", "plan.json"],
    );
    assert!(
        out.status.success(),
        "plan: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).expect("plan file"))
        .expect("plan JSON")
}

pub fn apply(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["apply", "plan.json", "--config", "podwarden.toml"];
    args.extend_from_slice(extra);
    podwarden_as(dir, ADMIN, &args)
}

/// The sandbox's Argus audit: accepted operations per target.
pub async fn audit_by_target(
    s: &RunningSandbox,
) -> BTreeMap<String, Vec<podwarden::providers::AuditEntry>> {
    let entries = argus(s, ADMIN)
        .audit(Utc::now() - chrono::Duration::days(2))
        .await
        .expect("audit reads")
        .expect("Argus keeps an audit");
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for e in entries {
        out.entry(e.target.clone()).or_default().push(e);
    }
    out
}

pub fn journal(dir: &Path) -> Option<Journal> {
    Journal::open_existing(&dir.join("state/podwarden.db")).expect("journal opens")
}

pub fn latest_stages(dir: &Path) -> BTreeMap<String, Stage> {
    let Some(j) = journal(dir) else {
        return BTreeMap::new();
    };
    j.query(&Filter {
        latest_only: true,
        ..Filter::default()
    })
    .expect("journal reads")
    .into_iter()
    .map(|r| (r.new.target.clone(), r.new.stage))
    .collect()
}

pub const TERMINATE_ORPHANS: &str =
    "[[policy]]\nname = \"terminate-orphans\"\naction = \"terminate\"\n\
    resource = \"orphan\"\nallow_terminate = true\n[policy.match]\norphaned_for = \"3d\"\n";

/// The example config's Argus token line, which [`ops_rate`] extends.
pub const ARGUS_TOKEN_LINE: &str = "token_env = \"ARGUS_TOKEN\" ";

/// An [`apply_workspace`] edit giving the Argus provider `ops_rate = RATE` (`"20/2s"`, `"learn"`).
pub fn ops_rate(rate: &str) -> String {
    format!("token_env = \"ARGUS_TOKEN\"\nops_rate = \"{rate}\" ")
}
