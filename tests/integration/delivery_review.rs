//! Review of issue 9 (delivery): inputs and sequences that made delivery do the wrong thing,
//! each pinned by a test.

use std::path::Path;

/// A password typed under a wrong key (`smtp_password`, or `password` in `[email.finance]`)
/// is an unknown field: the config error must name the key and line, never echo the value.
#[test]
fn a_mistyped_password_key_is_not_echoed_in_the_config_error() {
    let dir = tempfile::tempdir().expect("dir");
    for text in [
        "[email]\nhost = \"smtp.example.com\"\nfrom = \"pw@example.com\"\nsmtp_password = \"hunter2-secret\"\n",
        "[email]\nhost = \"smtp.example.com\"\nfrom = \"pw@example.com\"\n[email.finance]\nto = [\"f@example.com\"]\npassword = \"hunter2-secret\"\n",
    ] {
        let path = dir.path().join("podwarden.toml");
        std::fs::write(&path, text).expect("written");
        let err = podwarden::config::Config::load(Path::new(&path))
            .err()
            .expect("an unknown key is refused")
            .to_string();
        assert!(!err.contains("hunter2"), "the secret is in the error: {err}");
        assert!(err.contains("password"), "the key is named: {err}");
    }
}

fn email_config(port: u16, timeout: &str) -> podwarden::notify::email_config::EmailConfig {
    toml::from_str::<podwarden::notify::email_config::EmailToml>(&format!(
        "host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         from = \"podwarden <podwarden@example.com>\"\ntimeout = \"{timeout}\"\n\
         [finance]\nto = [\"finance@example.com\"]\n"
    ))
    .expect("parses")
    .check(&|p| p.to_path_buf())
    .expect("valid")
}

fn notices(n: usize) -> Vec<podwarden::notify::message::Outgoing> {
    let from: lettre::message::Mailbox = "podwarden <podwarden@example.com>".parse().expect("from");
    (0..n)
        .map(|i| {
            let notice = podwarden::notify::OwnerNotice {
                owner_email: format!("owner{i}@example.com"),
                pending: vec![podwarden::notify::NoticePod {
                    provider: "argus".into(),
                    target: format!("pod-{i}"),
                    name: format!("train-{i}"),
                    action: "stop".into(),
                    reason: "idle 7h".into(),
                    at: chrono::Utc::now(),
                }],
                acted: vec![],
                protect_label: "podwarden.io/protect=true".into(),
            };
            podwarden::notify::message::owner_notice(
                &notice,
                &from,
                &podwarden::notify::email_config::Recipients::default(),
            )
            .expect("builds")
        })
        .collect()
}

/// An SMTP server that accepts connections and never answers (a black hole) bounds each send
/// by the timeout; a run with many owner notices must not wait that timeout once per mail
/// (50 notices × 60 s is most of an hour): after the first send that times out, the rest go
/// to the outbox untried, and the outbox claims they took are released for the next run.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_smtp_server_costs_one_timeout_not_one_per_mail() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("addr").port();
    // Accept and hold every connection without a greeting.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state.db");
    let config = email_config(port, "1s");
    // An earlier run's mail in the outbox, then this run's four notices.
    let now = chrono::Utc::now();
    let first = podwarden::notify::email::deliver(&config, &state, &notices(1), now).await;
    assert_eq!(first.queued, 1);
    let started = std::time::Instant::now();
    let report = podwarden::notify::email::deliver(&config, &state, &notices(4), now).await;
    let took = started.elapsed();
    assert_eq!(report.sent + report.retried, 0);
    assert_eq!(report.queued, 4, "{report:?}");
    assert_eq!(
        report.pending, 5,
        "every mail waits in the outbox: {report:?}"
    );
    assert!(
        took < std::time::Duration::from_millis(2500),
        "delivery took {took:?}: one timeout per mail"
    );
    // The outbox mail not tried is not left claimed (no stale-claim hour to wait): the next
    // run takes all five again.
    let third = podwarden::notify::email::deliver(&config, &state, &[], now).await;
    assert_eq!(third.retry_failed, 5, "{third:?}");
    assert_eq!(third.pending, 5, "{third:?}");
}
