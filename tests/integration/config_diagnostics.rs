//! `podwarden.toml` problems are reported like the policies' (`src/config/diagnose.rs`): every
//! one at once, each at its line and column with a stable code and a hint, and no value of a
//! mistyped or unknown key echoed (a secret may have been typed there).

use crate::support::*;

#[test]
fn validate_config_reports_eight_different_mistakes_at_once() {
    let config = "tests/fixtures/config/eight-mistakes.toml";
    let out = podwarden(&repo(), &["validate", "--config", config, "policies"]);
    assert_eq!(out.status.code(), Some(2));
    let report = text(&out.stderr);
    let codes: std::collections::BTreeSet<&str> = report
        .lines()
        .filter_map(|l| l.split("error[").nth(1))
        .filter_map(|l| l.split(']').next())
        .collect();
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        ["C002", "C003", "C005", "C006", "C007", "C008", "C009"],
        "{report}"
    );
    insta::assert_snapshot!("validate_config_eight_mistakes", report);
}

/// The secret under a wrong key, or inline where a token belongs, is never printed.
#[test]
fn a_secret_in_the_wrong_place_is_named_by_its_key_not_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("podwarden.toml");
    std::fs::write(
        &path,
        "[providers.argus]\ntype = \"argus\"\nbase_url = \"https://ops.example.com\"\n\
         token = \"pat-s3cret-0001\"\ntoken_env = 7\n\
         [email]\nhost = \"smtp.example.com\"\nfrom = \"pw@example.com\"\n\
         smtp_password = \"pat-s3cret-0002\"\n",
    )
    .expect("config");
    let err = podwarden::config::Config::load(&path)
        .expect_err("refused")
        .to_string();
    assert!(!err.contains("s3cret"), "{err}");
    for named in [
        "token: tokens are never inline",
        "token_env",
        "smtp_password",
    ] {
        assert!(err.contains(named), "{named}: {err}");
    }
}
