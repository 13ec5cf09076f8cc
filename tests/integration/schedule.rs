//! `podwarden schedule` for real: the executable on a six-field schedule against a sandbox,
//! seen firing; a slow run that makes the next fire skip; SIGTERM finishing the run.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

/// A dry-run stop of idle Podstack pods: its candidates' utilisation is read every run.
const STOP_IDLE_PODSTACK: &str = r#"
[[policy]]
name = "stop-idle-podstack"
action = "stop"
providers = ["podstack"]
[policy.match]
status = "running"
idle_for = "6h"
"#;

fn schedule_workspace(base: &str, cron: &str, grace: &str) -> tempfile::TempDir {
    schedule_workspace_with(base, cron, grace, REPORT_RUNNING)
}

fn schedule_workspace_with(
    base: &str,
    cron: &str,
    grace: &str,
    policies: &str,
) -> tempfile::TempDir {
    let dir = workspace(base, policies);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    std::fs::write(
        &path,
        format!(
            "{config}\n[schedule]\ncron = \"{cron}\"\ntimezone = \"Europe/Berlin\"\ngrace = \"{grace}\"\n"
        ),
    )
    .expect("config written");
    dir
}

fn schedule_command(dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_podwarden"));
    cmd.args(["schedule", "--config", "podwarden.toml"])
        .args(extra)
        .current_dir(dir)
        .env_remove("PODWARDEN_CONFIG")
        .env("PODWARDEN_LOG", "warn,podwarden=info")
        .env("ARGUS_TOKEN", READER)
        .env("PODSTACK_API_TOKEN", READER)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Sends SIGTERM to the child, as Kubernetes does to a pod it stops.
fn sigterm(child: &std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
}

/// Waits for the child with a hard limit (kills it past the limit and fails).
fn wait(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("podwarden schedule did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Collects a pipe's lines in the background.
fn collect(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().expect("lock").push(line);
        }
    });
    lines
}

fn count(lines: &Arc<Mutex<Vec<String>>>, needle: &str) -> usize {
    lines
        .lock()
        .expect("lock")
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn schedule_fires_on_a_six_field_schedule_and_runs_the_job() {
    let sandbox = SandboxProcess::start(&["--pods", "20"]);
    let dir = schedule_workspace(&sandbox.base, "*/2 * * * * *", "30s");
    let started = Instant::now();
    let mut child = KillOnDrop(
        schedule_command(dir.path(), &["--max-runs", "2"])
            .spawn()
            .expect("starts"),
    );
    let stdout = collect(child.stdout.take().expect("stdout"));
    let stderr = collect(child.stderr.take().expect("stderr"));
    let status = wait(&mut child, Duration::from_secs(90));
    std::thread::sleep(Duration::from_millis(200));
    let log = stderr.lock().expect("lock").join("\n");
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(
        count(&stdout, "Spend summary"),
        2,
        "two runs printed their summary"
    );
    assert!(count(&stderr, "scheduler started") == 1, "{log}");
    assert!(count(&stderr, "scheduled run started") >= 2, "{log}");
    // Due times are even seconds in Berlin time.
    assert!(log.contains("CET") || log.contains("CEST"), "{log}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it waited for its fire times"
    );
}

#[test]
fn a_fire_during_a_slow_run_is_skipped_and_sigterm_lets_the_run_finish() {
    // Each Podstack utilisation read takes 3 s longer: a run outlasts the 1 s schedule.
    let sandbox = SandboxProcess::start(&["--pods", "20", "--fault", "slow-stats"]);
    let dir = schedule_workspace_with(&sandbox.base, "* * * * * *", "60s", STOP_IDLE_PODSTACK);
    let mut child = KillOnDrop(schedule_command(dir.path(), &[]).spawn().expect("starts"));
    let stdout = collect(child.stdout.take().expect("stdout"));
    let stderr = collect(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&stderr, "skipped a scheduled run") == 0 {
        assert!(
            Instant::now() < deadline,
            "no skip seen: {}",
            stderr.lock().expect("lock").join("\n")
        );
        assert!(child.try_wait().expect("waits").is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        count(&stdout, "Spend summary"),
        0,
        "the first run is still going"
    );
    sigterm(&child);
    let status = wait(&mut child, Duration::from_secs(70));
    std::thread::sleep(Duration::from_millis(200));
    let log = stderr.lock().expect("lock").join("\n");
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("finishing the run in progress"), "{log}");
    assert_eq!(
        count(&stdout, "Spend summary"),
        1,
        "the run in progress finished, and no other started: {log}"
    );
    assert_eq!(count(&stderr, "scheduled run started"), 1, "{log}");
}

#[test]
fn observe_runs_on_their_own_cron_store_readings_and_end_at_sigterm() {
    let sandbox = SandboxProcess::start(&["--pods", "40"]);
    // The nightly run far away (1 January, 03:00); observe every second.
    let dir = schedule_workspace_with(&sandbox.base, "0 0 3 1 1 *", "5s", STOP_IDLE_PODSTACK);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    std::fs::write(&path, format!("{config}observe = \"* * * * * *\"\n")).expect("written");
    let mut child = KillOnDrop(schedule_command(dir.path(), &[]).spawn().expect("starts"));
    let stdout = collect(child.stdout.take().expect("stdout"));
    let stderr = collect(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&stdout, "utilisation of") == 0 {
        assert!(Instant::now() < deadline, "no observe run finished");
        assert!(child.try_wait().expect("waits").is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm(&child);
    let status = wait(&mut child, Duration::from_secs(20));
    let log = stderr.lock().expect("lock").join("\n");
    assert_eq!(status.code(), Some(0), "no nightly run was going: {log}");
    assert!(log.contains("observe run started"), "{log}");
    assert_eq!(count(&stderr, "scheduled run started"), 0, "{log}");
    let state = podwarden::state::store::Store::open(&dir.path().join("state/podwarden.db"))
        .expect("state file");
    assert!(
        !state.readings("podstack").expect("readings").is_empty(),
        "observe stored what it read"
    );
}
