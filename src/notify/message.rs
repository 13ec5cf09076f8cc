//! The mails podwarden sends, as content structs and as MIME messages.
//!
//! The finance summary is `multipart/mixed` ⊃ (`multipart/related` ⊃ (`multipart/alternative`
//! ⊃ text, HTML) + the chart as an inline PNG the HTML shows with `<img src="cid:…">`) +
//! attachments (`summary-by-project.csv`, within `[email] max_attachment_bytes`). Owner notices are `multipart/alternative` (text,
//! HTML). Each message gets its own `Message-ID`, kept in the outbox, so a retried send is
//! the same message.

use crate::report::html::escape as html_escape;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::notify::email_config::Recipients;

/// The finance summary's content; the report fills it (see [`crate::notify::finance_mail`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FinanceMail {
    /// The report's day: the file name and the mail's outbox key (`finance DAY`) carry it.
    pub date: chrono::NaiveDate,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// File name, MIME type, bytes (e.g. `("summary-by-project.csv", "text/csv", …)`).
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// Content-ID (without `<>`) and PNG bytes of the chart the HTML shows as `cid:<id>`.
    pub inline_png: Option<(String, Vec<u8>)>,
}

/// One pod listed in an owner notice.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticePod {
    pub provider: String,
    pub target: String,
    pub name: String,
    /// `stop`, `terminate`, …
    pub action: String,
    pub reason: String,
    /// When the action becomes due (pending notices); when it happened (stopped pods).
    pub at: DateTime<Utc>,
}

/// One mail to one owner: pods with pending notices and pods acted on in the last run.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerNotice {
    pub owner_email: String,
    pub pending: Vec<NoticePod>,
    pub acted: Vec<NoticePod>,
    /// The protection label (`key=value`) that keeps a pod out of every policy.
    pub protect_label: String,
}

/// What kind of mail a message is (outbox column, file names, logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Finance,
    OwnerNotice,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Finance => "finance",
            MailKind::OwnerNotice => "owner-notice",
        }
    }
}

/// A built message, ready to send or to write as `.eml`.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub kind: MailKind,
    pub subject: String,
    /// A name for `--email-to-dir` (without `.eml`).
    pub file_stem: String,
    /// What the mail is for, e.g. `finance 2026-11-21` (the finance mail of a report day): a
    /// newer mail with the same key replaces an older one still waiting in the outbox (see
    /// [`crate::state::outbox`]). `None`: never replaced.
    pub key: Option<String>,
    pub message: Message,
}

#[derive(Debug, thiserror::Error)]
#[error("building the {kind} mail: {message}")]
pub struct BuildError {
    pub kind: &'static str,
    pub message: String,
}

fn header(
    kind: MailKind,
    from: &Mailbox,
    to: &[Mailbox],
    cc: &[Mailbox],
    subject: &str,
) -> Result<lettre::message::MessageBuilder, BuildError> {
    if to.is_empty() {
        return Err(BuildError {
            kind: kind.as_str(),
            message: "no recipient (`to`)".into(),
        });
    }
    let domain = from.email.domain().to_string();
    let mut b = Message::builder()
        .from(from.clone())
        .subject(subject)
        .message_id(Some(format!("<{}@{domain}>", uuid::Uuid::now_v7())))
        .date_now();
    for m in to {
        b = b.to(m.clone());
    }
    for m in cc {
        b = b.cc(m.clone());
    }
    Ok(b)
}

fn mime(kind: MailKind, text: &str) -> Result<ContentType, BuildError> {
    ContentType::parse(text).map_err(|e| BuildError {
        kind: kind.as_str(),
        message: format!("MIME type {text:?}: {e}"),
    })
}

/// The finance summary to `recipients`.
pub fn finance(
    mail: &FinanceMail,
    from: &Mailbox,
    recipients: &Recipients,
    date: chrono::NaiveDate,
) -> Result<Outgoing, BuildError> {
    let kind = MailKind::Finance;
    let alternative = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
    let related = match &mail.inline_png {
        Some((cid, png)) => MultiPart::related().multipart(alternative).singlepart(
            Attachment::new_inline(cid.clone()).body(png.clone(), mime(kind, "image/png")?),
        ),
        None => MultiPart::related().multipart(alternative),
    };
    let mut mixed = MultiPart::mixed().multipart(related);
    for (name, content_type, bytes) in &mail.attachments {
        let part: SinglePart =
            Attachment::new(name.clone()).body(bytes.clone(), mime(kind, content_type)?);
        mixed = mixed.singlepart(part);
    }
    let message = header(kind, from, &recipients.to, &recipients.cc, &mail.subject)?
        .multipart(mixed)
        .map_err(|e| BuildError {
            kind: kind.as_str(),
            message: e.to_string(),
        })?;
    Ok(Outgoing {
        kind,
        subject: mail.subject.clone(),
        file_stem: format!("finance-{date}"),
        key: None,
        message,
    })
}

/// Text and HTML bodies of an owner notice.
fn notice_bodies(n: &OwnerNotice) -> (String, String) {
    let mut text = String::from("Hello,\n\n");
    let mut html = String::from("<html><body><p>Hello,</p>");
    let line = |p: &NoticePod| {
        format!(
            "{} {} ({}, {}): {}",
            p.action, p.name, p.provider, p.target, p.reason
        )
    };
    if !n.pending.is_empty() {
        text.push_str("podwarden will act on these pods of yours when their notice period ends:\n");
        html.push_str(
            "<p>podwarden will act on these pods of yours when their notice period ends:</p><ul>",
        );
        for p in &n.pending {
            let due = p.at.format("%Y-%m-%d %H:%M UTC");
            text.push_str(&format!("  - {} — due {due}\n", line(p)));
            html.push_str(&format!(
                "<li>{} — due <b>{due}</b></li>",
                html_escape(&line(p))
            ));
        }
        html.push_str("</ul>");
        text.push_str(&format!(
            "\nTo keep a pod running, give it the label {} before then.\n\n",
            n.protect_label
        ));
        html.push_str(&format!(
            "<p>To keep a pod running, give it the label <code>{}</code> before then.</p>",
            html_escape(&n.protect_label)
        ));
    }
    if !n.acted.is_empty() {
        text.push_str("In the last run podwarden acted on these pods of yours:\n");
        html.push_str("<p>In the last run podwarden acted on these pods of yours:</p><ul>");
        for p in &n.acted {
            let at = p.at.format("%Y-%m-%d %H:%M UTC");
            text.push_str(&format!("  - {} — at {at}\n", line(p)));
            html.push_str(&format!("<li>{} — at {at}</li>", html_escape(&line(p))));
        }
        html.push_str("</ul>");
    }
    text.push_str("\n-- \npodwarden, GPU cost governance\n");
    html.push_str("<p>— podwarden, GPU cost governance</p></body></html>");
    (text, html)
}

/// One owner's notice, to the owner and `recipients.cc`.
pub fn owner_notice(
    notice: &OwnerNotice,
    from: &Mailbox,
    recipients: &Recipients,
) -> Result<Outgoing, BuildError> {
    let kind = MailKind::OwnerNotice;
    let owner = notice
        .owner_email
        .parse::<Mailbox>()
        .map_err(|e| BuildError {
            kind: kind.as_str(),
            message: format!("owner {:?} is not a mail address ({e})", notice.owner_email),
        })?;
    let subject = match (notice.pending.len(), notice.acted.len()) {
        (0, n) => format!("podwarden: {n} of your pods were acted on"),
        (n, 0) => format!("podwarden: {n} of your pods will be acted on"),
        (n, m) => format!("podwarden: {n} of your pods will be acted on, {m} were"),
    };
    let (text, html) = notice_bodies(notice);
    let message = header(kind, from, &[owner], &recipients.cc, &subject)?
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| BuildError {
            kind: kind.as_str(),
            message: e.to_string(),
        })?;
    let stem: String = notice
        .owner_email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(Outgoing {
        kind,
        subject,
        file_stem: format!("owner-{stem}"),
        key: None,
        message,
    })
}
