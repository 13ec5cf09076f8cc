//! The email outbox: mails whose send failed, kept in the SQLite state file and retried by
//! later runs until delivered.
//!
//! Its table, `outbox`, is defined in [`super::schema`] with the rest of the state file; the
//! outbox reads and writes it on a connection of its own. Each row keeps the formatted
//! message (with its `Message-ID`) and the envelope, so a retry sends exactly the mail that
//! failed.
//!
//! Exactly once: a run **claims** the pending rows in one `IMMEDIATE` transaction before it
//! sends them (another process finds them claimed and leaves them), and marks each one
//! delivered as soon as the server accepted it. A crash between acceptance and the mark
//! would resend once after the claim goes stale (1 h); the same `Message-ID` lets mail
//! systems drop the duplicate. Decision: a mail is retried by each following run, and given
//! up (logged as an error, kept in the table) after [`MAX_ATTEMPTS`] sends in all — a week
//! of nightly runs.
//!
//! One mail per key: a run's own mails enter the outbox before they are sent ([`Outbox::
//! enqueue`], claimed by that run), each with a key that names what it is for — the finance
//! mail of a report day, an owner's notice of a day. In the same transaction an older mail
//! with the same key that is still waiting (not delivered, not given up, not claimed by a run
//! sending it now) is removed: while the server is down, the day's finance mail waits once,
//! in its newest version, instead of once per run. A copy split off for one refused recipient
//! keeps its mail's key plus the recipient (`KEY\tADDRESS`) and is replaced with it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use lettre::address::Envelope;
use lettre::Address;
use rusqlite::{params, Connection, TransactionBehavior};

/// Sends of one mail in all (the first one included) before it is given up.
pub const MAX_ATTEMPTS: u32 = 7;
/// A claim older than this belongs to a run that died: the row is pending again.
const STALE_CLAIM_MINUTES: i64 = 60;

#[derive(Debug, thiserror::Error)]
#[error("email outbox in {path}: {message}")]
pub struct OutboxError {
    pub path: PathBuf,
    pub message: String,
}

/// One mail waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub envelope: Envelope,
    pub message: Vec<u8>,
    pub attempts: u32,
    /// What the mail is for (see the module doc); `None`: never replaced.
    pub key: Option<String>,
}

/// A run's own mail, entering the outbox before it is sent.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub kind: &'a str,
    pub subject: &'a str,
    pub key: Option<&'a str>,
    pub envelope: &'a Envelope,
    pub message: &'a [u8],
}

/// The outbox table of one state file.
pub struct Outbox {
    conn: Connection,
    path: PathBuf,
}

impl Outbox {
    /// Opens the state file (creating it and its folder if needed) and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let conn =
            super::open(path).map_err(|e| e.wrap(|e| self_err(path, e), |e| self_err(path, e)))?;
        Ok(Outbox {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, e: impl ToString) -> OutboxError {
        OutboxError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Queues a mail whose first send failed with `error`.
    pub fn add(
        &self,
        kind: &str,
        subject: &str,
        envelope: &Envelope,
        message: &[u8],
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, OutboxError> {
        self.insert(kind, subject, None, envelope, message, error, 1, now)
    }

    /// Queues a mail that has been sent `attempts` times (a recipient split off a mail the
    /// others got keeps the count of its mail), under `key` (not replacing anything: see
    /// [`Outbox::enqueue`]).
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &self,
        kind: &str,
        subject: &str,
        key: Option<&str>,
        envelope: &Envelope,
        message: &[u8],
        error: &str,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<i64, OutboxError> {
        insert_row(
            &self.conn, kind, subject, key, envelope, message, error, attempts, None, now,
        )
        .map_err(|e| self.err(e))
    }

    /// Puts a run's own mails into the outbox, claimed by this run (it sends them next), in
    /// one `IMMEDIATE` transaction that also removes each one's older waiting versions: rows
    /// with the same key, or split off it for one recipient (`KEY\tADDRESS`), that are neither
    /// delivered nor given up nor claimed by a run sending them now. Returns the new rows
    /// (attempts 0), in order, and how many older versions were removed.
    pub fn enqueue(
        &mut self,
        mails: &[NewMail<'_>],
        now: DateTime<Utc>,
    ) -> Result<(Vec<Pending>, usize), OutboxError> {
        let stale = (now - Duration::minutes(STALE_CLAIM_MINUTES)).to_rfc3339();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self_err(&path, e))?;
        let mut out = Vec::new();
        let mut replaced = 0;
        for m in mails {
            if let Some(key) = m.key {
                replaced += tx
                    .execute(
                        "DELETE FROM outbox
                         WHERE (dedupe_key = ?1
                                OR substr(dedupe_key, 1, length(?1) + 1) = ?1 || char(9))
                           AND delivered_at IS NULL AND abandoned_at IS NULL
                           AND (claimed_at IS NULL OR claimed_at < ?2)",
                        params![key, stale],
                    )
                    .map_err(|e| self_err(&path, e))?;
            }
            let id = insert_row(
                &tx,
                m.kind,
                m.subject,
                m.key,
                m.envelope,
                m.message,
                "",
                0,
                Some(now),
                now,
            )
            .map_err(|e| self_err(&path, e))?;
            out.push(Pending {
                id,
                kind: m.kind.to_string(),
                subject: m.subject.to_string(),
                envelope: m.envelope.clone(),
                message: m.message.to_vec(),
                attempts: 0,
                key: m.key.map(str::to_string),
            });
        }
        tx.commit().map_err(|e| self_err(&path, e))?;
        Ok((out, replaced))
    }

    /// Claims every pending mail for this run (one transaction): nobody else sends them.
    pub fn claim(&mut self, now: DateTime<Utc>) -> Result<Vec<Pending>, OutboxError> {
        let stale = (now - Duration::minutes(STALE_CLAIM_MINUTES)).to_rfc3339();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| OutboxError {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        // A waiting row with a newer version of its key (written while a run was sending it,
        // so not removed then) is that version's past: it is not sent any more — whether the
        // newer one still waits or was delivered already.
        tx.execute(
            "DELETE FROM outbox
             WHERE dedupe_key IS NOT NULL AND delivered_at IS NULL AND abandoned_at IS NULL
               AND (claimed_at IS NULL OR claimed_at < ?1)
               AND EXISTS (SELECT 1 FROM outbox AS newer
                           WHERE newer.id > outbox.id AND newer.dedupe_key IS NOT NULL
                             AND newer.abandoned_at IS NULL
                             AND (outbox.dedupe_key = newer.dedupe_key
                                  OR substr(outbox.dedupe_key, 1, length(newer.dedupe_key) + 1)
                                     = newer.dedupe_key || char(9)))",
            params![stale],
        )
        .map_err(|e| self_err(&self.path, e))?;
        let rows = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, kind, subject, env_from, env_to, message, attempts, dedupe_key
                     FROM outbox
                     WHERE delivered_at IS NULL AND abandoned_at IS NULL
                       AND (claimed_at IS NULL OR claimed_at < ?1)
                     ORDER BY id",
                )
                .map_err(|e| self_err(&self.path, e))?;
            let rows = stmt
                .query_map(params![stale], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Vec<u8>>(5)?,
                        r.get::<_, u32>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                })
                .map_err(|e| self_err(&self.path, e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| self_err(&self.path, e))?
        };
        let mut out = Vec::new();
        for (id, kind, subject, from, to, message, attempts, key) in rows {
            tx.execute(
                "UPDATE outbox SET claimed_at = ?1 WHERE id = ?2",
                params![now.to_rfc3339(), id],
            )
            .map_err(|e| self_err(&self.path, e))?;
            let envelope = envelope(from.as_deref(), &to)
                .map_err(|m| self_err(&self.path, format!("mail {id}: {m}")))?;
            out.push(Pending {
                id,
                kind,
                subject,
                envelope,
                message,
                attempts,
                key,
            });
        }
        tx.commit().map_err(|e| self_err(&self.path, e))?;
        Ok(out)
    }

    /// Marks a claimed mail delivered (it is never sent again).
    pub fn delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), OutboxError> {
        self.conn
            .execute(
                "UPDATE outbox SET delivered_at = ?1, claimed_at = NULL
                 WHERE id = ?2 AND delivered_at IS NULL",
                params![now.to_rfc3339(), id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Gives a claimed mail back untried (no attempt counted), noting `why`: the next run
    /// sends it.
    pub fn release(&self, id: i64, why: &str) -> Result<(), OutboxError> {
        self.conn
            .execute(
                "UPDATE outbox SET claimed_at = NULL, last_error = ?2
                 WHERE id = ?1 AND delivered_at IS NULL",
                params![id, why],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a failed retry; returns whether the mail was given up.
    pub fn failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<bool, OutboxError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, claimed_at = NULL,
                        abandoned_at = CASE WHEN attempts + 1 >= ?2 THEN ?3 END
                 WHERE id = ?4",
                params![error, MAX_ATTEMPTS, now.to_rfc3339(), id],
            )
            .map_err(|e| self.err(e))?;
        let abandoned: Option<String> = self
            .conn
            .query_row(
                "SELECT abandoned_at FROM outbox WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(abandoned.is_some())
    }

    /// Mails still waiting (neither delivered nor given up).
    pub fn pending(&self) -> Result<u64, OutboxError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND abandoned_at IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }
}

/// Inserts one row (claimed at `claimed`, when given) and returns its id.
#[allow(clippy::too_many_arguments)]
fn insert_row(
    conn: &Connection,
    kind: &str,
    subject: &str,
    key: Option<&str>,
    envelope: &Envelope,
    message: &[u8],
    error: &str,
    attempts: u32,
    claimed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> rusqlite::Result<i64> {
    let to: Vec<String> = envelope.to().iter().map(ToString::to_string).collect();
    conn.execute(
        "INSERT INTO outbox (kind, subject, env_from, env_to, message, created_at,
                             attempts, last_error, claimed_at, dedupe_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            kind,
            subject,
            envelope.from().map(ToString::to_string),
            to.join("\n"),
            message,
            now.to_rfc3339(),
            attempts,
            error,
            claimed.map(|c| c.to_rfc3339()),
            key
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn self_err(path: &Path, e: impl ToString) -> OutboxError {
    OutboxError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn envelope(from: Option<&str>, to: &str) -> Result<Envelope, String> {
    let from = from
        .map(|f| f.parse::<Address>().map_err(|e| e.to_string()))
        .transpose()?;
    let to = to
        .lines()
        .map(|t| t.parse::<Address>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope::new(
            Some("pw@example.com".parse().expect("address")),
            vec!["finance@example.com".parse().expect("address")],
        )
        .expect("envelope")
    }

    #[test]
    fn a_claimed_mail_is_not_claimed_twice_and_delivered_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("state/podwarden.db");
        let now = Utc::now();
        let mut a = Outbox::open(&path).expect("opens");
        a.add(
            "finance",
            "s",
            &envelope(),
            b"Subject: s\r\n\r\nx",
            "refused",
            now,
        )
        .expect("adds");
        let mut b = Outbox::open(&path).expect("opens again");
        let claimed = a.claim(now).expect("claims");
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].envelope.to().len(), 1);
        assert!(
            b.claim(now).expect("second claim").is_empty(),
            "claimed twice"
        );
        a.delivered(claimed[0].id, now).expect("marks");
        // Even once the claim would be stale, a delivered mail stays delivered.
        assert!(b.claim(now + Duration::hours(2)).expect("later").is_empty());
        assert_eq!(b.pending().expect("count"), 0);
    }

    #[test]
    fn a_newer_mail_with_the_same_key_replaces_the_waiting_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.db");
        let mut o = Outbox::open(&path).expect("opens");
        let now = Utc::now();
        let env = envelope();
        let mail = |key: &'static str, body: &'static [u8]| NewMail {
            kind: "finance",
            subject: "s",
            key: Some(key),
            envelope: &env,
            message: body,
        };
        let day = "finance 2026-11-21";
        // Three runs while the server is down: each run's version replaces the waiting one.
        for (n, body) in [&b"v1"[..], b"v2", b"v3"].into_iter().enumerate() {
            let (rows, replaced) = o.enqueue(&[mail(day, body)], now).expect("enqueues");
            assert_eq!((rows.len(), replaced), (1, usize::from(n > 0)));
            assert!(
                o.claim(now).expect("claims").is_empty(),
                "claimed by the run"
            );
            o.failed(rows[0].id, "down", now).expect("records");
            assert_eq!(o.pending().expect("count"), 1, "run {}", n + 1);
        }
        // Another day, and a copy split off for one refused recipient of the same day.
        let (other, _) = o
            .enqueue(&[mail("finance 2026-11-20", b"old day")], now)
            .expect("enqueues");
        o.failed(other[0].id, "down", now).expect("records");
        o.insert(
            "finance",
            "s",
            Some("finance 2026-11-21\tcfo@example.com"),
            &env,
            b"v3 for cfo",
            "550",
            1,
            now,
        )
        .expect("inserts");
        assert_eq!(o.pending().expect("count"), 3);
        // A version claimed by a run sending it now is that run's: left alone. Once it is
        // given back, the next claim sends only the newest version.
        let mut other_run = Outbox::open(&path).expect("opens");
        let inflight = other_run.claim(now).expect("claims");
        assert_eq!(inflight.len(), 3);
        let (v4, replaced) = o.enqueue(&[mail(day, b"v4")], now).expect("enqueues");
        assert_eq!(replaced, 0, "in-flight rows are not removed");
        o.failed(v4[0].id, "down", now).expect("records");
        for p in &inflight {
            other_run.release(p.id, "down").expect("releases");
        }
        let claimed = o.claim(now).expect("claims");
        let bodies: Vec<&[u8]> = claimed.iter().map(|p| p.message.as_slice()).collect();
        assert_eq!(bodies, [&b"old day"[..], b"v4"]);
        assert_eq!(claimed[1].key.as_deref(), Some(day));
    }

    /// Review finding: run A was still sending v1 when run B delivered v2 of the same day;
    /// A's send then failed and v1 waited, to be delivered after v2 by a later run.
    #[test]
    fn an_older_version_is_not_sent_after_a_newer_one_was_delivered() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.db");
        let now = Utc::now();
        let env = envelope();
        let mail = |body: &'static [u8]| NewMail {
            kind: "finance",
            subject: "s",
            key: Some("finance 2026-12-01"),
            envelope: &env,
            message: body,
        };
        let mut run_a = Outbox::open(&path).expect("opens");
        let (v1, _) = run_a.enqueue(&[mail(b"v1")], now).expect("enqueues");
        let mut run_b = Outbox::open(&path).expect("opens");
        let (v2, replaced) = run_b.enqueue(&[mail(b"v2")], now).expect("enqueues");
        assert_eq!(replaced, 0, "v1 is being sent by run A");
        run_b.delivered(v2[0].id, now).expect("delivered");
        run_a.failed(v1[0].id, "timeout", now).expect("records");
        let mut later = Outbox::open(&path).expect("opens");
        assert!(
            later.claim(now).expect("claims").is_empty(),
            "v1 is v2's past: never sent after it"
        );
        assert_eq!(later.pending().expect("count"), 0);
    }

    #[test]
    fn a_mail_is_given_up_after_max_attempts_and_stale_claims_come_back() {
        let dir = tempfile::tempdir().expect("dir");
        let mut o = Outbox::open(&dir.path().join("s.db")).expect("opens");
        let now = Utc::now();
        let id = o
            .add("finance", "s", &envelope(), b"x", "down", now)
            .expect("adds");
        // A run that claimed and died: an hour later the mail is pending again.
        assert_eq!(o.claim(now).expect("claims").len(), 1);
        assert!(o
            .claim(now + Duration::minutes(30))
            .expect("fresh claim")
            .is_empty());
        assert_eq!(
            o.claim(now + Duration::minutes(61)).expect("stale").len(),
            1
        );
        let mut gave_up = false;
        for attempt in 2..=MAX_ATTEMPTS {
            gave_up = o.failed(id, "down", now).expect("records");
            assert_eq!(gave_up, attempt == MAX_ATTEMPTS, "attempt {attempt}");
        }
        assert!(gave_up);
        assert!(o.claim(now + Duration::days(1)).expect("claims").is_empty());
    }
}
