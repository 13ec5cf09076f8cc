//! Sending mail: over SMTP with lettre (async, rustls), or as `.eml` files for a dry-run
//! review (`--email-to-dir DIR`).
//!
//! Each send is bounded as a whole by `[email] timeout` (lettre's own timeout covers only
//! the connection). A failed send never fails the run: a run's mails enter the
//! [outbox](crate::state::outbox) before they are sent (replacing an older waiting version of
//! the same mail), the run sends earlier runs' waiting mail first, then its own, and what
//! fails waits for the next run.
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
use crate::state::outbox::{NewMail, Outbox};

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
    crate::owner_only::create_dir_all(dir)?;
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

/// One mail this run tries to send: an earlier run's from the outbox, or its own (which,
/// with an outbox, is in it already; `id` is its row).
struct Job {
    id: Option<i64>,
    own: bool,
    kind: String,
    subject: String,
    key: Option<String>,
    envelope: Envelope,
    message: Vec<u8>,
    attempts: u32,
}

/// Puts this run's `mails` into the outbox (replacing older waiting versions with the same
/// key: see [`crate::state::outbox`]), then sends what the outbox holds, earlier runs' mail
/// first; what fails waits there for the next run. Without a usable outbox the run's mails
/// are sent once and a failure is lost (logged). Problems are logged, never returned: mail
/// never fails the run.
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
    let formatted: Vec<(Envelope, Vec<u8>)> = mails
        .iter()
        .map(|m| (m.message.envelope().clone(), m.message.formatted()))
        .collect();
    let own_job = |m: &Outgoing, (envelope, message): &(Envelope, Vec<u8>), id| Job {
        id,
        own: true,
        kind: m.kind.as_str().to_string(),
        subject: m.subject.clone(),
        key: m.key.clone(),
        envelope: envelope.clone(),
        message: message.clone(),
        attempts: 0,
    };
    // This run's mails enter the outbox first (claimed by this run), so that an older waiting
    // version of the same mail is replaced, not sent as well.
    let own: Vec<Job> = match outbox.as_mut().map(|o| {
        let new: Vec<NewMail<'_>> = mails
            .iter()
            .zip(&formatted)
            .map(|(m, (envelope, message))| NewMail {
                kind: m.kind.as_str(),
                subject: &m.subject,
                key: m.key.as_deref(),
                envelope,
                message,
            })
            .collect();
        o.enqueue(&new, now)
    }) {
        Some(Ok((rows, replaced))) => {
            if replaced > 0 {
                tracing::info!(
                    replaced,
                    "older waiting versions of this run's mails replaced in the outbox"
                );
            }
            mails
                .iter()
                .zip(&formatted)
                .zip(rows)
                .map(|((m, f), row)| own_job(m, f, Some(row.id)))
                .collect()
        }
        other => {
            if let Some(Err(e)) = other {
                tracing::error!("{e}; this run's mail is sent without a retry");
            }
            mails
                .iter()
                .zip(&formatted)
                .map(|(m, f)| own_job(m, f, None))
                .collect()
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
    let jobs = claimed
        .into_iter()
        .map(|p| Job {
            id: Some(p.id),
            own: false,
            kind: p.kind,
            subject: p.subject,
            key: p.key,
            envelope: p.envelope,
            message: p.message,
            attempts: p.attempts,
        })
        .chain(own);
    // Set by the first send that found the server unreachable: the rest are not tried.
    let mut unreachable: Option<String> = None;
    for job in jobs {
        if let Some(reason) = &unreachable {
            let row = row_of(&outbox, job.id);
            if job.own {
                report.queued += 1;
            } else {
                report.retry_failed += 1;
            }
            match row {
                Some((o, id)) => {
                    tracing::warn!(
                        kind = job.kind,
                        subject = job.subject,
                        "mail not tried, kept in the outbox for the next run: {reason}"
                    );
                    if let Err(e) = o.release(id, reason) {
                        tracing::error!("{e}");
                    }
                }
                None => tracing::error!(
                    kind = job.kind,
                    subject = job.subject,
                    "mail not sent and lost (no outbox): {reason}"
                ),
            }
            continue;
        }
        let result = match &mailer {
            Some(m) => m.send_split(&job.envelope, &job.message).await,
            None => Err(SendFailure::no_transport()),
        };
        let row = row_of(&outbox, job.id);
        match result {
            Ok(sent) => {
                if job.own {
                    report.sent += 1;
                    tracing::info!(kind = job.kind, subject = job.subject, "mail sent");
                } else {
                    report.retried += 1;
                    tracing::info!(
                        kind = job.kind,
                        subject = job.subject,
                        "outbox mail delivered"
                    );
                }
                if let Some((o, id)) = row {
                    if let Err(e) = o.delivered(id, Utc::now()) {
                        tracing::error!("{e}");
                    }
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
                        keep_for(outbox.as_ref(), &job, &envelope, &err, now);
                    }
                }
            }
            Err(f) => {
                if f.unreachable {
                    unreachable = Some(unreachable_reason(&f.message));
                }
                let err = f.message;
                if job.own {
                    report.queued += 1;
                } else {
                    report.retry_failed += 1;
                }
                let Some((o, id)) = row else {
                    tracing::error!(
                        kind = job.kind,
                        subject = job.subject,
                        "mail not sent and lost (no outbox): {err}"
                    );
                    continue;
                };
                match o.failed(id, &err, Utc::now()) {
                    Ok(true) => tracing::error!(
                        kind = job.kind,
                        subject = job.subject,
                        "outbox mail given up after {} attempts: {err}",
                        crate::state::outbox::MAX_ATTEMPTS
                    ),
                    Ok(false) if job.own => tracing::warn!(
                        kind = job.kind,
                        subject = job.subject,
                        "mail not sent, kept in the outbox for the next run: {err}"
                    ),
                    Ok(false) => tracing::warn!(
                        kind = job.kind,
                        subject = job.subject,
                        "outbox mail failed again (retried next run): {err}"
                    ),
                    Err(e) => tracing::error!("{e}"),
                }
            }
        }
    }
    report.pending = outbox.as_ref().and_then(|o| o.pending().ok()).unwrap_or(0);
    report
}

/// The outbox row of a job, looked up where it is used (an `&Outbox` is not `Send` and must
/// not be held across a send's `.await`).
fn row_of(outbox: &Option<Outbox>, id: Option<i64>) -> Option<(&Outbox, i64)> {
    id.and_then(|id| outbox.as_ref().map(|o| (o, id)))
}

fn unreachable_reason(message: &str) -> String {
    format!("server unreachable earlier in this run: {message}")
}

/// Keeps the copy of `job` for the one recipient of `envelope` the server refused, in the
/// outbox, under the job's key plus that recipient (replaced with the job's next version).
fn keep_for(
    outbox: Option<&Outbox>,
    job: &Job,
    envelope: &Envelope,
    err: &str,
    now: DateTime<Utc>,
) {
    let to: Vec<String> = envelope.to().iter().map(ToString::to_string).collect();
    let Some(outbox) = outbox else {
        tracing::error!(
            kind = job.kind,
            subject = job.subject,
            to = to.join(", "),
            "mail refused for one recipient and lost (no outbox): {err}"
        );
        return;
    };
    tracing::warn!(
        kind = job.kind,
        subject = job.subject,
        to = to.join(", "),
        "mail refused for one recipient, kept in the outbox for the next run: {err}"
    );
    let key = job.key.as_ref().map(|k| format!("{k}\t{}", to.join(",")));
    if let Err(e) = outbox.insert(
        &job.kind,
        &job.subject,
        key.as_deref(),
        envelope,
        &job.message,
        err,
        job.attempts + 1,
        now,
    ) {
        tracing::error!("{e}: the mail to {} is lost", to.join(", "));
    }
}

/// The finance mail and the owner notices as a notification
/// [`Channel`](crate::notify::channel::Channel): over SMTP (outbox first), or as `.eml` files into
/// `--email-to-dir`. A failed run mails nothing; a replay and the built-in demo write their
/// mails only into that folder. Problems are logged, never returned: the outbox keeps what
/// could not be sent for the next run.
pub struct EmailChannel<'a> {
    config: &'a EmailConfig,
    state: &'a Path,
    protect_label: &'a (String, String),
    to_dir: Option<&'a Path>,
    demo: bool,
    shard: Option<&'a str>,
}

impl<'a> EmailChannel<'a> {
    pub fn new(
        config: &'a EmailConfig,
        settings: &crate::notify::ChannelSettings<'a>,
    ) -> EmailChannel<'a> {
        EmailChannel {
            config,
            state: settings.state,
            protect_label: settings.protect_label,
            to_dir: settings.email_to_dir,
            demo: settings.demo,
            shard: settings.shard,
        }
    }
}

#[async_trait::async_trait]
impl crate::notify::channel::Channel for EmailChannel<'_> {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn deliver(
        &self,
        run: &crate::notify::channel::Finished<'_>,
    ) -> Result<crate::notify::channel::Delivery, crate::notify::channel::ChannelError> {
        let Ok(o) = &run.result else {
            return Ok(crate::notify::channel::Delivery::Skipped);
        };
        if run.replay && self.to_dir.is_none() {
            return Ok(crate::notify::channel::Delivery::Skipped);
        }
        if self.demo && self.to_dir.is_none() {
            eprintln!("Demo: no mail sent; `--email-to-dir DIR` writes the example mails.");
            return Ok(crate::notify::channel::Delivery::Skipped);
        }
        let report = crate::notify::report_input(
            o.report,
            o.summary,
            o.written,
            self.config.max_attachment_bytes,
        );
        let acted =
            crate::execute::history::acted_in(self.state, &o.plan.run_id).unwrap_or_default();
        let notices = crate::notify::owner_notices(
            run.fleet,
            o.plan,
            &acted,
            self.config.owner_domain.as_deref(),
            self.protect_label,
        );
        let finance = crate::notify::finance_mail(&report);
        // A shard's spend is part of the fleet's: the one finance mail is `report --merge`'s.
        if let Some(shard) = self.shard {
            tracing::info!(
                shard,
                "no finance mail from a shard: `podwarden report --merge` sends the fleet's"
            );
        }
        let delivery = crate::notify::send_run_mail(
            self.config,
            self.state,
            self.to_dir,
            self.shard.is_none().then_some(&finance),
            &notices,
            run.now,
        )
        .await;
        for path in &delivery.written {
            eprintln!("Mail written to {}", path.display());
        }
        Ok(crate::notify::channel::Delivery::Done)
    }
}
