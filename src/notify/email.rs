//! Sending mail: over SMTP with lettre (async, rustls), or as `.eml` files for a dry-run
//! review (`--email-to-dir DIR`).
//!
//! Each send is bounded as a whole by `[email] timeout` (lettre's own timeout covers only
//! the connection). A failed send never fails the run: the mail goes to the
//! [outbox](crate::notify::outbox), and the next run retries it before sending its own mail.
//! Once a send finds the server unreachable (timeout, connection or TLS failure), the run's
//! remaining mails are not tried: they go to the outbox at once, so a silent server costs a
//! run one timeout, not one per mail.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::notify::email_config::{EmailConfig, TlsMode};
use crate::notify::message::Outgoing;
use crate::notify::outbox::Outbox;

/// An SMTP connection setup, built once per run.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: std::time::Duration,
}

impl Mailer {
    /// Builds the transport (reads the password; its value never appears in an error).
    pub fn new(config: &EmailConfig) -> Result<Mailer, String> {
        let builder = match config.tls {
            TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| format!("SMTP {}: {e}", config.host))?,
            TlsMode::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| format!("SMTP {}: {e}", config.host))?,
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, config.password()?) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            timeout: config.timeout,
        })
    }

    /// Sends formatted bytes to the envelope's recipients, bounded by the timeout.
    pub async fn send_raw(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendFailure> {
        match tokio::time::timeout(self.timeout, self.transport.send_raw(envelope, message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SendFailure {
                message: e.to_string(),
                // Not an answer of the server about this mail: timeouts, connection and TLS
                // failures, which every other mail of the run would meet as well.
                unreachable: e.is_timeout()
                    || !(e.is_transient() || e.is_permanent() || e.is_response() || e.is_client()),
            }),
            Err(_) => Err(SendFailure {
                message: format!(
                    "no answer within {}",
                    crate::duration::format(
                        chrono::Duration::from_std(self.timeout).unwrap_or_default()
                    )
                ),
                unreachable: true,
            }),
        }
    }
}

/// What became of a send that reached at least one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Every recipient.
    All,
    /// The server refused the mail for some recipients; each one left over is listed with an
    /// envelope of its own and the error. `unreachable`: the server stopped answering while
    /// the recipients were tried one by one.
    Partly {
        failed: Vec<(Envelope, String)>,
        unreachable: bool,
    },
}

impl Mailer {
    /// Sends to every recipient at once; when the server refuses the mail (an answer, e.g.
    /// `550` for one address) and there are several recipients, tries each one alone, so one
    /// refused address does not hold the mail back from the others. A refusal comes before
    /// the server accepts the message (RCPT or DATA), so nobody got the first attempt and
    /// nobody gets it twice. `Err`: nobody got it.
    pub async fn send_split(
        &self,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<Sent, SendFailure> {
        let first = match self.send_raw(envelope, message).await {
            Ok(()) => return Ok(Sent::All),
            Err(f) => f,
        };
        if first.unreachable || envelope.to().len() < 2 {
            return Err(first);
        }
        let mut failed = Vec::new();
        let mut delivered = 0;
        let mut unreachable: Option<String> = None;
        for to in envelope.to() {
            let single = match Envelope::new(envelope.from().cloned(), vec![to.clone()]) {
                Ok(e) => e,
                Err(e) => {
                    return Err(SendFailure {
                        message: e.to_string(),
                        unreachable: false,
                    })
                }
            };
            if let Some(reason) = &unreachable {
                failed.push((single, reason.clone()));
                continue;
            }
            match self.send_raw(&single, message).await {
                Ok(()) => delivered += 1,
                Err(f) => {
                    if f.unreachable {
                        unreachable = Some(f.message.clone());
                    }
                    failed.push((single, f.message));
                }
            }
        }
        if delivered == 0 {
            return Err(SendFailure {
                message: first.message,
                unreachable: unreachable.is_some(),
            });
        }
        Ok(Sent::Partly {
            failed,
            unreachable: unreachable.is_some(),
        })
    }
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub message: String,
    /// The server was not reached or did not answer in time (rather than refusing this mail).
    /// Decision: the run then tries none of its other mails, which would each wait as long
    /// (a silent server and 50 owner notices would hold the run for 50 timeouts); they go to
    /// (or stay in) the outbox for the next run.
    pub unreachable: bool,
}

impl SendFailure {
    fn no_transport() -> SendFailure {
        SendFailure {
            message: "no SMTP transport".into(),
            unreachable: true,
        }
    }
}

/// What became of a run's mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// This run's mails accepted by the server.
    pub sent: usize,
    /// This run's mails that failed and went to the outbox.
    pub queued: usize,
    /// Outbox mails of earlier runs delivered now.
    pub retried: usize,
    /// Outbox mails that failed again (still pending or given up).
    pub retry_failed: usize,
    /// `.eml` files written (`--email-to-dir`).
    pub written: Vec<PathBuf>,
    /// Mails still pending in the outbox after this run.
    pub pending: u64,
}

/// Writes each mail as `DIR/<stem>.eml` (a counter keeps names apart); nothing is sent.
pub fn write_dir(dir: &Path, mails: &[Outgoing]) -> Result<Vec<PathBuf>, std::io::Error> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for mail in mails {
        let mut path = dir.join(format!("{}.eml", mail.file_stem));
        let mut n = 2;
        while path.exists() || written.contains(&path) {
            path = dir.join(format!("{}-{n}.eml", mail.file_stem));
            n += 1;
        }
        std::fs::write(&path, mail.message.formatted())?;
        written.push(path);
    }
    Ok(written)
}

/// Retries the outbox, then sends `mails`; failures go to the outbox of `state`.
/// Problems are logged, never returned: mail never fails the run.
pub async fn deliver(
    config: &EmailConfig,
    state: &Path,
    mails: &[Outgoing],
    now: DateTime<Utc>,
) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let mut outbox = match Outbox::open(state) {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::error!("{e}; failed mail cannot be kept for a retry");
            None
        }
    };
    let mailer = match Mailer::new(config) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::error!("email: {e}");
            None
        }
    };
    // Earlier runs' mail first: it is older.
    let claimed = match outbox.as_mut().map(|o| o.claim(now)) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            tracing::error!("{e}");
            vec![]
        }
        None => vec![],
    };
    // Set by the first send that found the server unreachable: the rest are not tried.
    let mut unreachable: Option<String> = None;
    for mail in claimed {
        if outbox.is_none() {
            break;
        }
        if let (Some(reason), Some(o)) = (&unreachable, outbox.as_ref()) {
            report.retry_failed += 1;
            tracing::warn!(
                kind = mail.kind,
                subject = mail.subject,
                "outbox mail not tried (retried next run): {reason}"
            );
            if let Err(e) = o.release(mail.id) {
                tracing::error!("{e}");
            }
            continue;
        }
        let result = match &mailer {
            Some(m) => m.send_split(&mail.envelope, &mail.message).await,
            None => Err(SendFailure::no_transport()),
        };
        let result = result.map_err(|f| {
            if f.unreachable {
                unreachable = Some(unreachable_reason(&f.message));
            }
            f.message
        });
        let Some(o) = outbox.as_ref() else { break };
        match result {
            Ok(sent) => {
                report.retried += 1;
                tracing::info!(
                    kind = mail.kind,
                    subject = mail.subject,
                    "outbox mail delivered"
                );
                if let Err(e) = o.delivered(mail.id, Utc::now()) {
                    tracing::error!("{e}");
                }
                if let Sent::Partly {
                    failed,
                    unreachable: u,
                } = sent
                {
                    if u && unreachable.is_none() {
                        unreachable = Some(unreachable_reason("while sending to each recipient"));
                    }
                    for (envelope, err) in failed {
                        keep_for(
                            o,
                            &mail.kind,
                            &mail.subject,
                            &envelope,
                            &mail.message,
                            &err,
                            mail.attempts + 1,
                            now,
                        );
                    }
                }
            }
            Err(err) => {
                report.retry_failed += 1;
                match o.failed(mail.id, &err, Utc::now()) {
                    Ok(true) => tracing::error!(
                        kind = mail.kind,
                        subject = mail.subject,
                        "outbox mail given up after {} attempts: {err}",
                        crate::notify::outbox::MAX_ATTEMPTS
                    ),
                    Ok(false) => tracing::warn!(
                        kind = mail.kind,
                        subject = mail.subject,
                        "outbox mail failed again (retried next run): {err}"
                    ),
                    Err(e) => tracing::error!("{e}"),
                }
            }
        }
    }
    for mail in mails {
        let envelope = mail.message.envelope().clone();
        let bytes = mail.message.formatted();
        let result = match (&unreachable, &mailer) {
            (Some(reason), _) => Err(reason.clone()),
            (None, Some(m)) => m.send_split(&envelope, &bytes).await.map_err(|f| {
                if f.unreachable {
                    unreachable = Some(unreachable_reason(&f.message));
                }
                f.message
            }),
            (None, None) => Err(SendFailure::no_transport().message),
        };
        match result {
            Ok(sent) => {
                report.sent += 1;
                tracing::info!(
                    kind = mail.kind.as_str(),
                    subject = mail.subject,
                    "mail sent"
                );
                if let Sent::Partly {
                    failed,
                    unreachable: u,
                } = sent
                {
                    if u && unreachable.is_none() {
                        unreachable = Some(unreachable_reason("while sending to each recipient"));
                    }
                    if let Some(o) = &outbox {
                        for (envelope, err) in failed {
                            keep_for(
                                o,
                                mail.kind.as_str(),
                                &mail.subject,
                                &envelope,
                                &bytes,
                                &err,
                                1,
                                now,
                            );
                        }
                    }
                }
            }
            Err(err) => {
                report.queued += 1;
                tracing::warn!(
                    kind = mail.kind.as_str(),
                    subject = mail.subject,
                    "mail not sent, kept in the outbox for the next run: {err}"
                );
                if let Some(o) = &outbox {
                    if let Err(e) = o.add(
                        mail.kind.as_str(),
                        &mail.subject,
                        &envelope,
                        &bytes,
                        &err,
                        now,
                    ) {
                        tracing::error!("{e}: the mail is lost");
                    }
                }
            }
        }
    }
    report.pending = outbox.as_ref().and_then(|o| o.pending().ok()).unwrap_or(0);
    report
}

fn unreachable_reason(message: &str) -> String {
    format!("server unreachable earlier in this run: {message}")
}

/// Keeps the mail for the recipient of `envelope` the server refused, in the outbox.
#[allow(clippy::too_many_arguments)]
fn keep_for(
    outbox: &Outbox,
    kind: &str,
    subject: &str,
    envelope: &Envelope,
    message: &[u8],
    err: &str,
    attempts: u32,
    now: DateTime<Utc>,
) {
    let to: Vec<String> = envelope.to().iter().map(ToString::to_string).collect();
    tracing::warn!(
        kind,
        subject,
        to = to.join(", "),
        "mail refused for one recipient, kept in the outbox for the next run: {err}"
    );
    if let Err(e) = outbox.insert(kind, subject, envelope, message, err, attempts, now) {
        tracing::error!("{e}: the mail to {} is lost", to.join(", "));
    }
}
