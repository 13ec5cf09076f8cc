//! Helpers shared by the integration tests: the one support module (sandboxes, workspaces,
//! the real executable, SMTP and Pushgateway servers); `apply` holds the acting tests' own.

pub mod apply;
pub mod smtp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use podwarden::providers::argus::Argus;
use podwarden::providers::http::HttpSettings;
use podwarden::providers::podstack::{IdleThresholds, Podstack};
use podwarden::sandbox::{RunningSandbox, SandboxConfig};
use podwarden::secret::Secret;

pub const ADMIN: &str = "pw-admin";

/// A policy that only reports the running pods: a workspace that acts on nothing.
pub const REPORT_RUNNING: &str = r#"
[[policy]]
name = "report-running"
action = "report"
[policy.match]
status = ["running"]
"#;
pub const READER: &str = "pw-readonly";

/// A sandbox on a free loopback port.
pub async fn sandbox(config: SandboxConfig) -> RunningSandbox {
    podwarden::sandbox::spawn(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox starts")
}

pub fn settings(base_url: String, token: &str) -> HttpSettings {
    HttpSettings {
        base_url,
        token: Secret::new(token),
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(10),
        deadline: Some(tokio::time::Instant::now() + Duration::from_secs(20)),
        rate: None,
    }
}

pub fn argus(s: &RunningSandbox, token: &str) -> Argus {
    Argus::new("argus", settings(s.argus_url(), token)).expect("client")
}

pub fn podstack(s: &RunningSandbox, token: &str) -> Podstack {
    Podstack::new(
        "podstack",
        settings(s.podstack_url(), token),
        IdleThresholds::default(),
    )
    .expect("client")
}

/// The real executable, run in `dir`, with no inherited podwarden configuration.
pub fn podwarden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(args)
        .current_dir(dir)
        .env_remove("PODWARDEN_CONFIG")
        .env("PODWARDEN_LOG", "warn")
        .output()
        .expect("podwarden runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository root (for shipped policies and examples).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A folder holding a podwarden.toml for a sandbox at `base` (http://127.0.0.1:PORT) and a
/// `policies/` folder with `policies` as its one file; state goes to `state/podwarden.db`.
pub fn workspace(base: &str, policies: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(repo().join("examples/sandbox.toml")).expect("example config");
    let config = example
        .replace("http://127.0.0.1:8181", base)
        .replace("../policies", "policies")
        .replace("../state", "state")
        .replace("../reports", "reports");
    std::fs::write(dir.path().join("podwarden.toml"), config).expect("config written");
    std::fs::create_dir(dir.path().join("policies")).expect("policies folder");
    std::fs::write(dir.path().join("policies/p.toml"), policies).expect("policy written");
    dir
}

/// The real executable in a [`workspace`], with the sandbox's read-only token.
pub fn podwarden_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(args)
        .current_dir(dir)
        .env_remove("PODWARDEN_CONFIG")
        .env("PODWARDEN_LOG", "warn")
        .env("ARGUS_TOKEN", READER)
        .env("PODSTACK_API_TOKEN", READER)
        .output()
        .expect("podwarden runs")
}

/// `snapshot save fleet.json` with the workspace's config in `dir`.
pub fn save_snapshot(dir: &Path) {
    let saved = podwarden_in(
        dir,
        &[
            "snapshot",
            "save",
            "fleet.json",
            "--config",
            "podwarden.toml",
        ],
    );
    assert!(saved.status.success(), "snapshot: {}", text(&saved.stderr));
}

/// `snapshot save` over HTTP, then `plan --snapshot --format json` of the workspace's policies:
/// the plan, and the fleet it was made from (to check each action against the pod's facts).
pub fn snapshot_and_plan(dir: &Path) -> (serde_json::Value, serde_json::Value) {
    save_snapshot(dir);
    let out = podwarden_in(
        dir,
        &[
            "plan",
            "--config",
            "podwarden.toml",
            "--snapshot",
            "fleet.json",
            "--format",
            "json",
        ],
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(4)),
        "plan: {}",
        text(&out.stderr)
    );
    let plan = serde_json::from_slice(&out.stdout).expect("plan JSON");
    let fleet: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fleet.json")).expect("fleet"))
            .expect("fleet JSON");
    (plan, fleet["fleet"].clone())
}

/// The fleet's pod whose target is `target`.
pub fn pod_of<'a>(fleet: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    fleet["pods"]
        .as_array()
        .and_then(|pods| pods.iter().find(|p| p["target"] == target))
        .unwrap_or_else(|| panic!("no pod {target} in the fleet"))
}

/// An in-process sandbox with only the pods of `scenario` (TOML), its clock at `start` and
/// instant state changes.
pub async fn scenario_sandbox(
    start: chrono::DateTime<chrono::Utc>,
    scenario: &str,
) -> RunningSandbox {
    sandbox(SandboxConfig {
        pods: 0,
        now: Some(start),
        transition_secs: 0,
        scenario: Some(podwarden::sandbox::Scenario::parse(scenario).expect("scenario")),
        ..SandboxConfig::default()
    })
    .await
}

/// The [`workspace`]'s config for sandbox `s`, with the sandbox's admin token.
pub fn admin_config(dir: &Path) -> podwarden::config::Config {
    let mut cfg =
        podwarden::config::Config::load(&dir.join("podwarden.toml")).expect("config loads");
    for p in &mut cfg.providers {
        p.token = podwarden::config::TokenSource::Value(Secret::new(ADMIN));
    }
    cfg
}

/// One nightly run through the same code as `podwarden plan`: collect over HTTP, record and
/// read sightings in the config's SQLite file, evaluate its policies, build the plan.
pub async fn plan_night(
    cfg: &podwarden::config::Config,
    now: chrono::DateTime<chrono::Utc>,
) -> (podwarden::fleet::Fleet, podwarden::plan::Plan) {
    let set = podwarden::policy::load_dir(&cfg.policies).expect("policies");
    let reads = podwarden::pipeline::inputs::Reads::Candidates(&set);
    let (fleet, errors) = podwarden::pipeline::inputs::collect(cfg, now, reads)
        .await
        .expect("collects");
    assert!(errors.is_empty(), "{errors:?}");
    let plan = podwarden::plan::make(&fleet, &set, &Default::default(), now, "night", now)
        .expect("evaluates");
    (fleet, plan)
}

/// `podwarden sandbox` as its own process on a free port; killed on drop.
pub struct SandboxProcess {
    child: Child,
    pub base: String,
}

impl SandboxProcess {
    pub fn start(extra: &[&str]) -> SandboxProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_podwarden"))
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("sandbox starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut base = String::new();
        for line in lines.by_ref() {
            let line = line.expect("a line");
            if let Some(url) = line.trim().strip_prefix("Argus:") {
                base = url.trim().trim_end_matches("/argus/v1").to_string();
                break;
            }
        }
        // Keep reading, so the sandbox never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "sandbox printed its address"
        );
        SandboxProcess { child, base }
    }
}

/// A child process that is killed when the test ends, passing or failing: a long-lived
/// command (`schedule`) left behind by a failed assertion would run on after the tests.
pub struct KillOnDrop(pub Child);

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
