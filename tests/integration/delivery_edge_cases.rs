//! Delivery edge cases: inputs and sequences that made delivery do the wrong thing,
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
        let err = match podwarden::config::Config::load(Path::new(&path)) {
            Ok(_) => panic!("an unknown key is refused"),
            Err(e) => e.to_string(),
        };
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

fn notices_to(n: usize, cc: &[&str]) -> Vec<podwarden::notify::message::Outgoing> {
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
                &podwarden::notify::email_config::Recipients {
                    to: vec![],
                    cc: cc.iter().map(|c| c.parse().expect("cc")).collect(),
                },
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
    let first = podwarden::notify::email::deliver(&config, &state, &notices_to(1, &[]), now).await;
    assert_eq!(first.queued, 1);
    let started = std::time::Instant::now();
    let report = podwarden::notify::email::deliver(&config, &state, &notices_to(4, &[]), now).await;
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

/// A hand-written SMTP server on loopback that refuses RCPT for `refused` (550) and accepts
/// everything else; returns its port and the envelope recipients of each accepted message.
fn smtp_refusing(
    refused: &'static str,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut out) = conn else { continue };
            let Ok(input) = out.try_clone() else { continue };
            let mut lines = BufReader::new(input);
            let _ = out.write_all(b"220 review ESMTP\r\n");
            let mut rcpts = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let upper = line.to_ascii_uppercase();
                let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    b"250 review\r\n"
                } else if upper.starts_with("MAIL FROM") {
                    rcpts.clear();
                    b"250 ok\r\n"
                } else if upper.starts_with("RCPT TO") {
                    if line.contains(refused) {
                        b"550 5.1.1 no such user\r\n"
                    } else {
                        rcpts.push(line.trim().to_string());
                        b"250 ok\r\n"
                    }
                } else if upper.starts_with("DATA") {
                    let _ = out.write_all(b"354 go on\r\n");
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                            break;
                        }
                    }
                    log.lock().expect("log").push(std::mem::take(&mut rcpts));
                    b"250 accepted\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = out.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = out.write_all(answer);
            }
        }
    });
    (port, accepted)
}

/// A server that refuses one recipient (a departed colleague in `cc`) must not keep the mail
/// from everyone else for a week and then give it up: the others get it in this run, once,
/// and only the refused recipient stays in the outbox; later runs do not send it to the
/// others again.
#[tokio::test(flavor = "multi_thread")]
async fn one_refused_recipient_does_not_hold_back_the_others_and_nobody_gets_it_twice() {
    let (port, accepted) = smtp_refusing("gone@example.com");
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state.db");
    let config = email_config(port, "5s");
    let mail = notices_to(1, &["gone@example.com", "platform@example.com"]);
    let now = chrono::Utc::now();
    let first = podwarden::notify::email::deliver(&config, &state, &mail, now).await;
    let got: Vec<String> = accepted.lock().expect("log").concat();
    for who in ["owner0@example.com", "platform@example.com"] {
        assert_eq!(
            got.iter().filter(|r| r.contains(who)).count(),
            1,
            "{who} gets it this run, once: {got:?} {first:?}"
        );
    }
    assert_eq!(first.pending, 1, "the refused recipient waits: {first:?}");
    // The next runs retry only the refused recipient.
    for _ in 0..2 {
        podwarden::notify::email::deliver(&config, &state, &[], now).await;
    }
    let all: Vec<String> = accepted.lock().expect("log").concat();
    assert_eq!(
        all.iter()
            .filter(|r| r.contains("owner0@example.com"))
            .count(),
        1,
        "delivered to the owner more than once: {all:?}"
    );
}

/// Owners come from pod labels, which pod creators write: CR/LF in an owner, a pod name or a
/// reason must not add a header (a `Bcc:` to an outsider) to the notice.
#[test]
fn cr_lf_in_owner_name_or_reason_adds_no_header() {
    let from: lettre::message::Mailbox = "podwarden <podwarden@example.com>".parse().expect("from");
    for owner in [
        "bob@example.com\r\nBcc: eve@evil.example",
        "bob\r\nBcc: eve@evil.example",
        "bob@example.com\nBcc: eve@evil.example",
    ] {
        let notice = podwarden::notify::OwnerNotice {
            owner_email: owner.into(),
            pending: vec![podwarden::notify::NoticePod {
                provider: "argus".into(),
                target: "pod-1".into(),
                name: "train\r\nBcc: eve@evil.example".into(),
                action: "stop".into(),
                reason: "idle\r\n\r\nX-Injected: yes".into(),
                at: chrono::Utc::now(),
            }],
            acted: vec![],
            protect_label: "podwarden.io/protect=true".into(),
        };
        if let Ok(mail) = podwarden::notify::message::owner_notice(
            &notice,
            &from,
            &podwarden::notify::email_config::Recipients::default(),
        ) {
            let raw = String::from_utf8(mail.message.formatted()).expect("utf-8");
            let head = raw.split("\r\n\r\n").next().unwrap_or_default();
            assert!(!head.contains("Bcc"), "{head}");
            assert!(!raw.contains("\r\nX-Injected"), "{raw}");
            assert!(
                !mail
                    .message
                    .envelope()
                    .to()
                    .iter()
                    .any(|a| a.to_string().contains("evil")),
                "{raw}"
            );
        }
    }
}

/// Owner notices without `[email.owners] domain` reach only owners named by full address:
/// `validate --config` says so (the sandbox's owners are bare names), and is quiet once the
/// domain is set.
#[test]
fn validate_warns_when_owner_notices_cannot_reach_owners_named_without_a_domain() {
    let dir = crate::support::workspace("http://127.0.0.1:9", crate::support::apply::STOP_IDLE);
    let path = dir.path().join("podwarden.toml");
    let base = std::fs::read_to_string(&path).expect("config");
    let email = "[email]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\n\
                 from = \"podwarden <podwarden@example.com>\"\n\
                 [email.finance]\nto = [\"finance@example.com\"]\n\
                 [email.owners]\ncc = [\"platform@example.com\"]\n";
    for (extra, warns) in [("", true), ("domain = \"example.com\"\n", false)] {
        std::fs::write(&path, format!("{base}\n{email}{extra}")).expect("config");
        let out =
            crate::support::podwarden_in(dir.path(), &["validate", "--config", "podwarden.toml"]);
        let stdout = crate::support::text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "a warning, not an error: {stdout}"
        );
        assert_eq!(
            stdout.contains("warning: [email.owners] has no domain"),
            warns,
            "{stdout}"
        );
    }
}
