//! The real `podwarden` executable: the demo, a plan against a separately started
//! sandbox, the plan-file contract, validation and exit codes.

use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn reason_ok(reason: &str) -> bool {
    (3..=500).contains(&reason.chars().count())
}

#[test]
fn demo_run_plans_an_idle_stop_an_orphan_terminate_and_an_expired_ttl_stop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = podwarden(dir.path(), &["run", "--out", "plan.json"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("Spend summary"), "{stdout}");
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("plan.json")).expect("plan file"),
    )
    .expect("JSON");
    let actions = plan["actions"].as_array().expect("actions");
    let find = |policy: &str, action: &str| {
        actions
            .iter()
            .find(|a| a["policy"] == policy && a["action"] == action)
            .unwrap_or_else(|| panic!("no {action} by {policy}"))
    };
    let idle = find("stop-idle-argus-workers", "stop");
    let r = idle["reason"].as_str().expect("reason");
    assert!(
        reason_ok(r)
            && r.contains("stop-idle-argus-workers")
            && r.contains("idle ")
            && r.contains("/day"),
        "{r}"
    );
    // terminate-old-orphans has a 24 h notice: the demo's first run lists it as pending.
    let orphan = plan["pending"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["policy"] == "terminate-old-orphans"))
        .expect("a pending orphan terminate");
    assert_eq!(orphan["action"], "terminate");
    assert!(
        stdout.contains("Pending: waiting for their notice period"),
        "{stdout}"
    );
    let r = orphan["reason"].as_str().expect("reason");
    assert!(
        reason_ok(r)
            && r.contains("orphan for")
            && r.contains("terminate-old-orphans")
            && r.contains('$'),
        "{r}"
    );
    assert_eq!(orphan["kind"], "orphan");
    let ttl = find("stop-expired-ttl", "stop");
    let r = ttl["reason"].as_str().expect("reason");
    assert!(
        reason_ok(r) && r.contains("TTL expired at") && r.contains("stop-expired-ttl"),
        "{r}"
    );
    assert!(actions
        .iter()
        .all(|a| reason_ok(a["reason"].as_str().unwrap_or(""))));
}

#[test]
fn plan_against_a_separate_sandbox_writes_a_plan_file_that_follows_the_contract() {
    let sandbox = SandboxProcess::start(&["--seed", "7"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(repo().join("examples/sandbox.toml")).expect("example config");
    let config = example
        .replace("http://127.0.0.1:8181", &sandbox.base)
        .replace(
            "../policies",
            &repo().join("policies").display().to_string(),
        )
        .replace("../state", "state")
        .replace("../reports", "reports");
    std::fs::write(dir.path().join("podwarden.toml"), config).expect("config written");
    let out = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args([
            "plan",
            "--config",
            "podwarden.toml",
            "--format",
            "json",
            "--out",
            "plan.json",
        ])
        .current_dir(dir.path())
        .env("ARGUS_TOKEN", ADMIN)
        .env("PODSTACK_API_TOKEN", ADMIN)
        .output()
        .expect("plan runs");
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("plan.json")).expect("plan file"),
    )
    .expect("JSON");
    assert_eq!(
        plan,
        serde_json::from_str::<Value>(&stdout).expect("stdout is the same JSON")
    );
    assert_eq!(plan["version"], 1);
    for key in ["run_id", "generated_at", "policies_sha256"] {
        assert!(plan[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    assert_eq!(plan["policies_sha256"].as_str().map(str::len), Some(64));
    assert!(
        chrono::DateTime::parse_from_rfc3339(plan["generated_at"].as_str().unwrap_or("")).is_ok()
    );
    let actions = plan["actions"].as_array().expect("actions");
    assert!(!actions.is_empty());
    for a in actions {
        for key in [
            "id",
            "provider",
            "target",
            "pod_id",
            "action",
            "policy",
            "reason",
            "est_savings_per_day",
            "idempotency_key",
        ] {
            assert!(
                a[key].as_str().is_some_and(|s| !s.is_empty()),
                "action.{key} in {a}"
            );
        }
        assert!(a["preconditions"].is_object());
        assert!(a["idempotency_key"].as_str().is_some_and(|k| k.len() <= 64));
        if a["currency"] == "USD" {
            assert!(
                a["hourly_rate_usd"].as_str().is_some()
                    && a["est_savings_usd_per_day"].as_str().is_some(),
                "{a}"
            );
        } else {
            assert!(
                a["hourly_rate_usd"].is_null(),
                "never a USD figure for another currency: {a}"
            );
        }
    }
    for b in plan["blocked"].as_array().expect("blocked") {
        for key in ["policy", "target", "why"] {
            assert!(b[key].as_str().is_some(), "blocked.{key}");
        }
    }
    let text = serde_json::to_string(&plan).expect("json");
    assert!(!text.contains(ADMIN), "the token never appears in a plan");
}

#[test]
fn a_missing_token_variable_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example =
        std::fs::read_to_string(repo().join("examples/sandbox.toml")).expect("example config");
    std::fs::write(dir.path().join("podwarden.toml"), example).expect("written");
    let out = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["plan", "--config", "podwarden.toml"])
        .current_dir(dir.path())
        .env_remove("ARGUS_TOKEN")
        .env_remove("PODSTACK_API_TOKEN")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("ARGUS_TOKEN") && err.contains("podwarden.toml"),
        "{err}"
    );
}

#[test]
fn unreachable_provider_exits_7() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = r#"
policies = "POLICIES"
deadline = "3s"
[providers.argus]
type = "argus"
base_url = "http://127.0.0.1:9/argus/v1"
token_env = "ARGUS_TOKEN"
timeout = "1s"
"#
    .replace("POLICIES", &repo().join("policies").display().to_string());
    std::fs::write(dir.path().join("podwarden.toml"), config).expect("written");
    let out = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["plan", "--config", "podwarden.toml"])
        .current_dir(dir.path())
        .env("ARGUS_TOKEN", "secret-token-value")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains("INCOMPLETE"), "{all}");
    assert!(!all.contains("secret-token-value"));
}
