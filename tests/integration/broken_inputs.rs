//! Broken inputs named with their fix: a state file that is not a database, a token that
//! cannot be had, a provider that is not there or speaks plain HTTP to https. Each is one
//! line of root cause, a documented exit code, and no half-done run (fixtures under
//! tests/fixtures/broken/).

use std::path::Path;

use podwarden::sandbox::SandboxConfig;

use crate::support::*;

fn corrupt_state(dir: &Path) -> std::path::PathBuf {
    let state = dir.join("state/podwarden.db");
    std::fs::create_dir_all(state.parent().expect("folder")).expect("state folder");
    std::fs::copy(
        repo().join("tests/fixtures/broken/not-a-database.db"),
        &state,
    )
    .expect("fixture copied");
    state
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_file_that_is_not_a_database_stops_the_run_before_it_reads_and_says_what_to_do() {
    let s = sandbox(SandboxConfig::default()).await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, REPORT_RUNNING);
    let state = corrupt_state(dir.path());
    let before = std::fs::read(&state).expect("fixture");

    let out = podwarden_in(dir.path(), &["run", "--config", "podwarden.toml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(
        err.contains("state/podwarden.db")
            && err.contains("is not an SQLite database")
            && err.contains("podwarden.db.broken"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !dir.path().join("reports").exists(),
        "no report of a half-done run"
    );
    assert_eq!(
        std::fs::read(&state).expect("still there"),
        before,
        "the broken file is left as it was, for inspection"
    );

    // `audit verify` names the same file and exits 8: the journal cannot be read.
    let audit = podwarden_in(
        dir.path(),
        &["audit", "verify", "--config", "podwarden.toml"],
    );
    let err = text(&audit.stderr);
    assert_eq!(audit.status.code(), Some(8), "{err}{}", text(&audit.stdout));
    assert!(err.contains("is not an SQLite database"), "{err}");
    s.stop().await;
}

#[test]
fn a_token_variable_that_is_not_set_is_named_with_exit_2() {
    let dir = workspace("http://127.0.0.1:9", REPORT_RUNNING);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["plan", "--config", "podwarden.toml"])
        .current_dir(dir.path())
        .env_remove("PODWARDEN_CONFIG")
        .env_remove("ARGUS_TOKEN")
        .env("PODSTACK_API_TOKEN", READER)
        .output()
        .expect("runs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ARGUS_TOKEN"), "{err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one line of root cause: {err}"
    );
}

#[test]
fn a_token_file_that_cannot_be_read_is_named_with_exit_2() {
    let dir = workspace("http://127.0.0.1:9", REPORT_RUNNING);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    // A folder where the token file should be: unreadable as a file, whoever runs the test.
    std::fs::create_dir(dir.path().join("argus-token")).expect("folder");
    std::fs::write(
        &path,
        config.replacen(
            "token_env = \"ARGUS_TOKEN\"",
            "token_file = \"argus-token\"",
            1,
        ),
    )
    .expect("written");
    let out = podwarden_in(dir.path(), &["plan", "--config", "podwarden.toml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("argus-token"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `report` against `base` with a 3 s deadline (backoff that would pass it is not started).
fn report_against(base: &str) -> (Option<i32>, String) {
    let dir = workspace(base, REPORT_RUNNING);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    std::fs::write(
        &path,
        config.replacen("deadline = \"20m\"", "deadline = \"3s\"", 1),
    )
    .expect("written");
    let out = podwarden_in(dir.path(), &["report", "--config", "podwarden.toml"]);
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_provider_that_refuses_the_connection_is_named_with_what_to_check() {
    // Port 9 (discard) on loopback: nothing listens there.
    let (code, err) = report_against("http://127.0.0.1:9");
    assert_eq!(code, Some(7), "{err}");
    assert!(
        err.contains("refused") && err.contains("check base_url's host and port"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn https_to_a_plain_http_server_says_so() {
    let sandbox = SandboxProcess::start(&["--pods", "4"]);
    let (code, err) = report_against(&sandbox.base.replace("http://", "https://"));
    assert_eq!(code, Some(7), "{err}");
    assert!(
        err.contains("https:// to a server that speaks plain HTTP"),
        "{err}"
    );
}

#[test]
fn a_host_name_that_does_not_resolve_is_named_with_what_to_check() {
    // `.invalid` never resolves (RFC 6761).
    let (code, err) = report_against("https://podwarden-test.invalid");
    assert_eq!(code, Some(7), "{err}");
    assert!(err.contains("the host name does not resolve"), "{err}");
}
