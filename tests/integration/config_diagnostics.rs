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

/// `[[shard]]` mistakes, each at the shard it is in; a provider in no shard at the list.
#[test]
fn shard_mistakes_are_reported_at_their_shard() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("podwarden.toml");
    std::fs::write(
        &path,
        "[providers.argus]\ntype = \"argus\"\nbase_url = \"https://ops.example.com\"\n\
         token_env = \"T\"\n\
         [providers.podstack]\ntype = \"podstack\"\nbase_url = \"https://ps.example.com\"\n\
         token_env = \"U\"\n\
         [[shard]]\nname = \"eu\"\nproviders = [\"argus\"]\n\
         [[shard]]\nname = \"eu\"\nproviders = [\"argus\", \"gone\"]\n",
    )
    .expect("config");
    let err = podwarden::config::Config::load_whole(&path)
        .expect_err("refused")
        .to_string();
    for (line, what) in [
        (12, "[[shard]] #1 (\"eu\"): another shard has this name"),
        (12, "provider `argus` is already in shard \"eu\""),
        (
            12,
            "provider `gone` is not configured (known: argus, podstack)",
        ),
        (9, "provider `podstack` is in no [[shard]]"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!(":{line}:")) && l.contains(what)),
            "line {line}: {what}: {err}"
        );
    }
}

/// One account configured under two names would be read and acted on twice.
#[test]
fn one_account_under_two_names_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("podwarden.toml");
    let entry = |name: &str| {
        format!(
            "[providers.{name}]\ntype = \"podstack\"\nbase_url = \"https://ps.example.com/v1/\"\n\
             token_file = \"/run/ps-token\"\n"
        )
    };
    std::fs::write(&path, entry("podstack") + &entry("podstack2")).expect("config");
    let err = podwarden::config::Config::load_whole(&path)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("providers.podstack and providers.podstack2 are one account"),
        "{err}"
    );
}

/// A provider or Pushgateway URL is checked where it stands, by every command: no scheme is a
/// config error (exit 2, not a "builder error" at the first request), plain http to a host
/// that is not loopback is refused unless `allow_insecure_http = true`, which then warns.
#[test]
fn urls_need_a_scheme_and_plain_http_only_to_loopback_unless_allowed() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("podwarden.toml");
    let write = |base_url: &str, extra: &str| {
        std::fs::write(
            &path,
            format!(
                "[providers.argus]\ntype = \"argus\"\nbase_url = \"{base_url}\"\n\
                 token_env = \"T\"\n{extra}"
            ),
        )
        .expect("config");
    };
    let shipped = repo().join("policies");
    let policies = shipped.to_str().expect("utf-8 path");
    let plan = |dir: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_podwarden"))
            .args(["plan", "--config", "podwarden.toml"])
            .current_dir(dir)
            .env_remove("PODWARDEN_CONFIG")
            .env("T", "tok")
            .output()
            .expect("runs")
    };
    for (url, says) in [
        ("ops.example.com/argus/v1", "must start with https://"),
        (
            "http://ops.example.com/argus/v1",
            "allow_insecure_http = true",
        ),
    ] {
        write(url, "");
        let out = plan(dir.path());
        assert_eq!(out.status.code(), Some(2), "{url}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.contains("podwarden.toml:3:") && err.contains("base_url") && err.contains(says),
            "{url}: {err}"
        );
        let out = podwarden(
            dir.path(),
            &["validate", "--config", "podwarden.toml", policies],
        );
        assert_eq!(out.status.code(), Some(2), "validate {url}");
        assert!(text(&out.stderr).contains("base_url"), "validate {url}");
    }
    // Allowed for the provider and the Pushgateway: the config loads and says so.
    write(
        "http://ops.example.com/argus/v1",
        "allow_insecure_http = true\n[metrics]\npushgateway = \"http://gw.example.com:9091\"\n",
    );
    assert!(podwarden::config::Config::load(&path)
        .expect_err("the pushgateway is not allowed")
        .to_string()
        .contains("[metrics] pushgateway"),);
    write(
        "http://ops.example.com/argus/v1",
        "allow_insecure_http = true\n[metrics]\npushgateway = \"http://gw.example.com:9091\"\n\
         allow_insecure_http = true\n",
    );
    let out = podwarden(
        dir.path(),
        &["validate", "--config", "podwarden.toml", policies],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for warned in [
        "providers.argus.base_url is plain http://",
        "[metrics] pushgateway is plain http://",
    ] {
        assert!(err.contains(warned), "{warned}: {err}");
    }
}
