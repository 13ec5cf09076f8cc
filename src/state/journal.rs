//! The audit journal: an append-only, hash-chained record of every stage of every action.
//!
//! # Storage
//! The journal lives in the SQLite state file (`Config.state`, see [`crate::state`]) next to
//! the store's tables, in two tables defined in [`super::schema`]:
//! - `journal`: one row per stage of an action (`planned`, `sent`, `accepted`, `failed`,
//!   `skipped`, `verified`, `unverified`), `seq INTEGER PRIMARY KEY`, never updated or deleted.
//! - `journal_head`: one row holding the last `seq` and its `hash`, updated in the same
//!   transaction as each append, so that deleting the last record is detected too.
//!
//! The journal's connection runs in WAL mode with `synchronous = FULL`: when [`Journal::append`]
//! returns, the record is on disk (apply writes `sent` before the request leaves). Appends take
//! the write lock up front (`BEGIN IMMEDIATE`), and a busy timeout of
//! [`BUSY_TIMEOUT`] lets two processes (a killed run's restart and an `audit` reader, say) wait
//! for each other instead of failing on a lock.
//!
//! # A journal, or none
//! `podwarden audit` tells a state file with no journal ("No audit journal in …": no action
//! was ever applied with it) from a journal with no records yet ("… is empty"). Every state
//! file has the journal's tables (one schema), so the tables cannot tell. Decision: a journal
//! exists once it was opened for writing: [`Journal::open`] writes the **genesis head** (`seq`
//! 0, [`GENESIS_HASH`]: the head of a chain with no records, and the `prev_hash` the first
//! record links to) when the journal has neither a head nor records, and
//! [`Journal::open_existing`] finds no journal where there is neither. The genesis head is
//! written in one statement, so two processes opening the file at once write it once. It
//! never replaces a head that is missing from a journal with records (that is a break, and
//! appends stay refused), and [`Journal::head`] leaves it out (it names no record); to
//! [`Journal::verify`], a genesis head and no records are an intact, empty journal, while a
//! head naming a later record with its records gone is a break, as always. A state file from
//! before the one schema whose journal was opened but never written reads as no journal until
//! an apply opens it again: both say that no action was recorded.
//!
//! # The hash chain
//! Each record's `hash` is the lowercase hex SHA-256 of its **canonical form**: the UTF-8
//! bytes of the compact JSON object (no whitespace) with exactly these keys in this order:
//!
//! `seq`, `prev_hash`, `run_id`, `action_id`, `idempotency_key`, `provider`, `target`, `pod_id`,
//! `kind`, `action`, `policy`, `reason`, `stage`, `http_status`, `operation_id`, `audit_id`,
//! `detail`, `est_savings_per_day`, `currency`, `at`
//!
//! `seq` and `http_status` are JSON integers, absent optional values `null`, `at` the string
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds; times are truncated to microseconds when
//! appended), every other value a JSON string escaped as RFC 8259 requires and nothing more
//! (`"` `\` and control characters; `\b \t \n \f \r` short, others `\u00xx`; non-ASCII as raw
//! UTF-8). `prev_hash` is the previous record's `hash`; the first record's is 64 zeros.
//! A line of the JSON Lines export is exactly the canonical form with `,"hash":"…"` added
//! before the closing brace, so an export can be checked with no podwarden at hand (in Python:
//! `json.dumps(obj_without_hash, separators=(",", ":"), ensure_ascii=False)`).
//!
//! [`Journal::verify`] walks the chain and reports the first break: an edited record (its
//! content no longer matches its hash), a deleted one (a gap in `seq`), a record inserted after
//! the head or linked to a predecessor that is not there (`prev_hash` mismatch: an inserted,
//! replaced or re-hashed record), a deleted last record (the head names a later `seq`), and a
//! missing head. The chain is tamper-*evident* against edits made without podwarden, not a
//! signature: someone who rewrites every hash after an edit and the head can forge it, so keep
//! the head hash that `podwarden audit verify` prints (or an export) somewhere else to anchor it.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BUSY_TIMEOUT;

/// The `prev_hash` of the first record, and the hash of the genesis head (see the module doc).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("audit journal {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state file {path} (the audit journal's) is not an SQLite database (damaged, or another file in its place): {}", super::NOT_A_DATABASE_ADVICE.replace("FILE", .path))]
    NotADatabase { path: String },
    #[error("audit journal {path}: cannot create its folder: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "audit journal {path}: record {seq} cannot be read ({why}); run `podwarden audit verify`"
    )]
    Corrupt { path: String, seq: i64, why: String },
    #[error(
        "audit journal {path}: it holds records but its head row is missing (the file was edited \
         outside podwarden); nothing is appended until this is resolved: run `podwarden audit verify`"
    )]
    HeadMissing { path: String },
}

/// The stage an action reached; each stage is a new record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Planned to be sent (in the queue).
    Planned,
    /// About to be sent: written before the request leaves.
    Sent,
    /// The provider accepted it (operation and audit ids recorded).
    Accepted,
    /// The provider refused it or it could not be sent (`detail` says why).
    Failed,
    /// Not sent: a precondition no longer held, no `--yes`, … (`detail` says why).
    Skipped,
    /// The target was re-read after the queue drained and reached the expected state.
    Verified,
    /// The target did not reach the expected state (`detail` says what was seen).
    Unverified,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Planned,
        Stage::Sent,
        Stage::Accepted,
        Stage::Failed,
        Stage::Skipped,
        Stage::Verified,
        Stage::Unverified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Sent => "sent",
            Stage::Accepted => "accepted",
            Stage::Failed => "failed",
            Stage::Skipped => "skipped",
            Stage::Verified => "verified",
            Stage::Unverified => "unverified",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage name that is not one of [`Stage::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown status {0:?}: expected one of planned, sent, accepted, failed, skipped, verified, unverified")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Stage, UnknownStage> {
        let lower = s.trim().to_ascii_lowercase();
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == lower)
            .ok_or_else(|| UnknownStage(s.to_string()))
    }
}

/// What the caller appends: one stage of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecord {
    pub run_id: String,
    pub action_id: String,
    pub idempotency_key: String,
    pub provider: String,
    pub target: String,
    pub pod_id: String,
    /// `pod` or `orphan`.
    pub kind: String,
    /// `stop`, `resume` or `terminate`.
    pub action: String,
    pub policy: String,
    pub reason: String,
    pub stage: Stage,
    pub http_status: Option<u16>,
    pub operation_id: Option<String>,
    pub audit_id: Option<String>,
    /// Why skipped or failed; the verification outcome.
    pub detail: Option<String>,
    pub est_savings_per_day: Option<String>,
    pub currency: Option<String>,
    /// When the stage happened (truncated to microseconds when appended).
    #[serde(with = "at_format")]
    pub at: DateTime<Utc>,
}

/// A stored record. Serialized (one per line, JSON Lines) as its canonical form plus `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: i64,
    pub prev_hash: String,
    #[serde(flatten)]
    pub new: NewRecord,
    pub hash: String,
}

/// Which records [`Journal::query`] returns.
///
/// `run_id`, `target` (matches the target or the pod id), `policy`, `since` (inclusive) and
/// `until` (exclusive) select records. With `latest_only`, the last selected record of each
/// action (idempotency key) is kept and `stage` then filters on that latest status (“actions
/// whose status is failed”); without it `stage` filters every record. Results are in `seq`
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub run_id: Option<String>,
    pub target: Option<String>,
    pub policy: Option<String>,
    pub stage: Option<Stage>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub latest_only: bool,
}

/// The outcome of [`Journal::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every record links to the one before and matches its hash; the head names the last.
    Intact { records: i64 },
    /// The first break found: the record it is at, and what is wrong (naming run and target
    /// of the records involved where they still exist).
    Broken { seq: i64, why: String },
}

/// The audit journal on one SQLite connection.
pub struct Journal {
    conn: Connection,
    path: String,
}

const COLUMNS: &str = "seq, prev_hash, run_id, action_id, idempotency_key, provider, target, \
    pod_id, kind, action, policy, reason, stage, http_status, operation_id, audit_id, detail, \
    est_savings_per_day, currency, at, hash";

/// The conditions that select records (`?1`..`?5`, see [`Filter`]).
const SELECTS: &str = "(?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR target = ?2 OR pod_id = ?2) \
    AND (?3 IS NULL OR policy = ?3) AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)";

impl Journal {
    /// Opens the journal in the state file at `path` for writing, creating the folder and the
    /// file as needed and bringing the schema up to date; writes the genesis head of a journal
    /// that has neither a head nor records (see the module doc).
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let shown = path.display().to_string();
        let conn = super::open(path).map_err(|e| {
            e.wrap(
                |source| JournalError::Folder {
                    path: shown.clone(),
                    source,
                },
                sqlite_error(&shown),
            )
        })?;
        let err = sqlite_error(&shown);
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&err)?;
        // The schema made both tables; a head table dropped since (outside podwarden) is a
        // missing head, never recreated: a new head would hide what was deleted with it.
        let head_table: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal_head'",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        if head_table == 0 {
            return Err(JournalError::HeadMissing { path: shown });
        }
        conn.execute(
            "INSERT INTO journal_head (id, seq, hash) SELECT 1, 0, ?1 \
             WHERE NOT EXISTS (SELECT 1 FROM journal_head) AND NOT EXISTS (SELECT 1 FROM journal)",
            params![GENESIS_HASH],
        )
        .map_err(&err)?;
        Ok(Journal { conn, path: shown })
    }

    /// Opens an existing journal for reading (`podwarden audit`): `None` when the file does
    /// not exist or holds no journal yet (no journal tables, or neither a head nor records:
    /// see the module doc). Creates and changes nothing, so it does not migrate either (the
    /// journal's tables are as they were first created).
    pub fn open_existing(path: &Path) -> Result<Option<Journal>, JournalError> {
        let shown = path.display().to_string();
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_error(&shown))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sqlite_error(&shown))?;
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('journal', 'journal_head')",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error(&shown))?;
        if tables == 0 {
            return Ok(None);
        }
        let opened: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM journal_head) OR EXISTS (SELECT 1 FROM journal)",
                [],
                |r| r.get(0),
            )
            .map_err(sqlite_error(&shown))?;
        Ok(opened.then_some(Journal { conn, path: shown }))
    }

    /// The state file this journal is in (for messages).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends one record after the head; it is on disk when this returns. Refuses
    /// ([`JournalError::HeadMissing`]) to append to a journal whose head row was removed, so
    /// that a new head never hides a deleted last record.
    pub fn append(&mut self, r: NewRecord) -> Result<Record, JournalError> {
        let err = sqlite_error(&self.path);
        let mut new = r;
        new.at = new.at.trunc_subsecs(6);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let head: Option<(i64, String)> = tx
            .query_row("SELECT seq, hash FROM journal_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(&err)?;
        let (last_seq, prev_hash) = match head {
            Some(h) => h,
            None => {
                let any: Option<i64> = tx
                    .query_row("SELECT seq FROM journal LIMIT 1", [], |r| r.get(0))
                    .optional()
                    .map_err(&err)?;
                if any.is_some() {
                    return Err(JournalError::HeadMissing {
                        path: self.path.clone(),
                    });
                }
                (0, GENESIS_HASH.to_string())
            }
        };
        let seq = last_seq + 1;
        let row = Row::of(seq, prev_hash, &new);
        let hash = row.compute_hash();
        insert(&tx, &row, &hash).map_err(&err)?;
        tx.execute(
            "INSERT INTO journal_head (id, seq, hash) VALUES (1, ?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![seq, hash],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(Record {
            seq,
            prev_hash: row.prev_hash,
            new,
            hash,
        })
    }

    /// The last record of an action (by idempotency key), if any.
    pub fn latest(&self, idempotency_key: &str) -> Result<Option<Record>, JournalError> {
        let rows = self.rows(
            &format!(
                "SELECT {COLUMNS} FROM journal WHERE idempotency_key = ?1 ORDER BY seq DESC LIMIT 1"
            ),
            params![idempotency_key],
        )?;
        rows.into_iter().next().map(|r| self.record(r)).transpose()
    }

    /// Every record of an action (by idempotency key), in `seq` order: what apply reads to
    /// tell a failure whose request may have arrived from one that never left.
    pub fn history(&self, idempotency_key: &str) -> Result<Vec<Record>, JournalError> {
        let rows = self.rows(
            &format!("SELECT {COLUMNS} FROM journal WHERE idempotency_key = ?1 ORDER BY seq"),
            params![idempotency_key],
        )?;
        rows.into_iter().map(|r| self.record(r)).collect()
    }

    /// The latest record of every action whose latest stage is `accepted`: operations the
    /// provider took that no run has verified yet (a run killed before verifying).
    pub fn accepted_unverified(&self) -> Result<Vec<Record>, JournalError> {
        let rows = self.rows(
            &format!(
                "SELECT {COLUMNS} FROM journal WHERE seq IN \
                 (SELECT MAX(seq) FROM journal GROUP BY idempotency_key) \
                 AND stage = 'accepted' ORDER BY seq"
            ),
            [],
        )?;
        rows.into_iter().map(|r| self.record(r)).collect()
    }

    /// The latest record of every action whose last stage is `planned` or `sent`: the work a
    /// killed run left (a `sent` one may or may not have reached the provider).
    pub fn unfinished(&self) -> Result<Vec<Record>, JournalError> {
        let rows = self.rows(
            &format!(
                "SELECT {COLUMNS} FROM journal WHERE seq IN \
                 (SELECT MAX(seq) FROM journal GROUP BY idempotency_key) \
                 AND stage IN ('planned', 'sent') ORDER BY seq"
            ),
            [],
        )?;
        rows.into_iter().map(|r| self.record(r)).collect()
    }

    /// The latest record of every action whose last stage is a failure that leaves open
    /// whether its request arrived (no HTTP answer, a 5xx or a 429) after it had been sent:
    /// like a `sent` one, it may have taken effect.
    pub fn sent_then_inconclusive(&self) -> Result<Vec<Record>, JournalError> {
        let rows = self.rows(
            &format!(
                "SELECT {COLUMNS} FROM journal WHERE seq IN \
                 (SELECT MAX(seq) FROM journal GROUP BY idempotency_key) \
                 AND stage = 'failed' \
                 AND (http_status IS NULL OR http_status >= 500 OR http_status = 429) \
                 AND idempotency_key IN (SELECT idempotency_key FROM journal WHERE stage = 'sent') \
                 ORDER BY seq"
            ),
            [],
        )?;
        rows.into_iter().map(|r| self.record(r)).collect()
    }

    /// Records matching `filter` (see [`Filter`]), in `seq` order.
    pub fn query(&self, filter: &Filter) -> Result<Vec<Record>, JournalError> {
        let sql = if filter.latest_only {
            format!(
                "SELECT {COLUMNS} FROM journal WHERE seq IN \
                 (SELECT MAX(seq) FROM journal WHERE {SELECTS} GROUP BY idempotency_key) \
                 AND (?6 IS NULL OR stage = ?6) ORDER BY seq"
            )
        } else {
            format!(
                "SELECT {COLUMNS} FROM journal WHERE {SELECTS} AND (?6 IS NULL OR stage = ?6) ORDER BY seq"
            )
        };
        let rows = self.rows(
            &sql,
            params![
                filter.run_id,
                filter.target,
                filter.policy,
                filter.since.map(at_text),
                filter.until.map(at_text),
                filter.stage.map(Stage::as_str),
            ],
        )?;
        rows.into_iter().map(|r| self.record(r)).collect()
    }

    /// The head: the last record's `seq` and `hash` (none for an empty journal, whose head
    /// is the genesis head or missing). Keep it elsewhere to anchor the chain.
    pub fn head(&self) -> Result<Option<(i64, String)>, JournalError> {
        Ok(self.head_row()?.filter(|(seq, _)| *seq > 0))
    }

    /// The head row as stored: the genesis head too.
    fn head_row(&self) -> Result<Option<(i64, String)>, JournalError> {
        self.conn
            .query_row("SELECT seq, hash FROM journal_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(sqlite_error(&self.path))
    }

    /// Walks the whole chain and reports the first break (see the module doc).
    pub fn verify(&self) -> Result<Verification, JournalError> {
        let err = sqlite_error(&self.path);
        // One read transaction: the head and the rows come from the same snapshot, so an
        // append by another process in between is not mistaken for an insertion.
        let snapshot = self.conn.unchecked_transaction().map_err(&err)?;
        let head = self.head_row()?;
        let mut stmt = snapshot
            .prepare(&format!("SELECT {COLUMNS} FROM journal ORDER BY seq"))
            .map_err(&err)?;
        let mut rows = stmt.query([]).map_err(&err)?;
        // The last record checked: seq, hash, and how to name it.
        let mut prev: Option<(i64, String, String)> = None;
        let mut records = 0i64;
        while let Some(r) = rows.next().map_err(&err)? {
            let row = Row::read(r).map_err(&err)?;
            let expected_seq = prev.as_ref().map_or(1, |p| p.0 + 1);
            let expected_prev = prev.as_ref().map_or(GENESIS_HASH, |p| p.1.as_str());
            let after = prev
                .as_ref()
                .map_or_else(|| "the start of the journal".to_string(), |p| p.2.clone());
            match &head {
                None => {
                    return Ok(broken(
                        row.seq,
                        format!(
                            "the journal's head row is missing, yet it holds records from {} on: \
                             the head was deleted, or the records were inserted outside podwarden",
                            row.name()
                        ),
                    ))
                }
                Some((head_seq, _)) if row.seq > *head_seq => {
                    return Ok(broken(
                        row.seq,
                        format!(
                        "{} comes after the journal's head (record {head_seq}): it was inserted \
                             outside podwarden",
                        row.name()
                    ),
                    ))
                }
                _ => {}
            }
            if row.seq != expected_seq {
                let missing = if row.seq - expected_seq == 1 {
                    format!("record {expected_seq} is missing")
                } else {
                    format!("records {expected_seq} to {} are missing", row.seq - 1)
                };
                return Ok(broken(
                    expected_seq,
                    format!("{missing} (deleted): {} follows {after}", row.name()),
                ));
            }
            if row.compute_hash() != row.hash {
                return Ok(broken(
                    row.seq,
                    format!(
                        "{} was edited: its content no longer matches its hash",
                        row.name()
                    ),
                ));
            }
            if row.prev_hash != expected_prev {
                return Ok(broken(
                    row.seq,
                    format!(
                        "{} does not link to {after}: its prev_hash is not that record's hash \
                         (a record was inserted, replaced, or edited and re-hashed)",
                        row.name()
                    ),
                ));
            }
            records += 1;
            prev = Some((row.seq, row.hash.clone(), row.name()));
        }
        match (head, prev) {
            (None, None) => Ok(Verification::Intact { records: 0 }),
            // The genesis head of a journal with no records yet (see the module doc).
            (Some((0, hash)), None) if hash == GENESIS_HASH => {
                Ok(Verification::Intact { records: 0 })
            }
            (Some((0, _)), None) => Ok(broken(
                1,
                "the journal is empty, but its head row does not hold the genesis hash: it was \
                 edited outside podwarden"
                    .to_string(),
            )),
            (None, Some((seq, _, name))) => Ok(broken(
                seq,
                format!("the journal's head row is missing (the last record is {name})"),
            )),
            (Some((head_seq, _)), None) => Ok(broken(
                1,
                format!("records 1 to {head_seq} are missing (deleted): the journal is empty but its head names record {head_seq}"),
            )),
            (Some((head_seq, head_hash)), Some((seq, hash, name))) => {
                if head_seq > seq {
                    let missing = if head_seq == seq + 1 {
                        format!("record {head_seq} is missing")
                    } else {
                        format!("records {} to {head_seq} are missing", seq + 1)
                    };
                    Ok(broken(
                        seq + 1,
                        format!("{missing} (deleted at the end): the last record is {name}, but the head names record {head_seq}"),
                    ))
                } else if head_hash != hash {
                    Ok(broken(
                        seq,
                        format!("{name} is not the record the head recorded: it was replaced, or edited and re-hashed"),
                    ))
                } else {
                    Ok(Verification::Intact { records })
                }
            }
        }
    }

    fn rows<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<Row>, JournalError> {
        let err = sqlite_error(&self.path);
        let mut stmt = self.conn.prepare(sql).map_err(&err)?;
        let rows = stmt.query_map(p, Row::read).map_err(&err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    fn record(&self, row: Row) -> Result<Record, JournalError> {
        row.into_record().map_err(|why| JournalError::Corrupt {
            path: self.path.clone(),
            seq: why.0,
            why: why.1,
        })
    }
}

fn broken(seq: i64, why: String) -> Verification {
    Verification::Broken { seq, why }
}

fn sqlite_error(path: &str) -> impl Fn(rusqlite::Error) -> JournalError {
    let path = path.to_string();
    move |source| {
        if super::is_not_a_database(&source) {
            return JournalError::NotADatabase { path: path.clone() };
        }
        JournalError::Sqlite {
            path: path.clone(),
            source,
        }
    }
}

/// The stored text of a time: fixed width, so that text order is time order.
fn at_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Inserts `row` with `hash` (the journal table's one INSERT).
fn insert(conn: &Connection, row: &Row, hash: &str) -> rusqlite::Result<usize> {
    conn.execute(
        &format!(
            "INSERT INTO journal ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
        ),
        params![
            row.seq,
            row.prev_hash,
            row.run_id,
            row.action_id,
            row.idempotency_key,
            row.provider,
            row.target,
            row.pod_id,
            row.kind,
            row.action,
            row.policy,
            row.reason,
            row.stage,
            row.http_status,
            row.operation_id,
            row.audit_id,
            row.detail,
            row.est_savings_per_day,
            row.currency,
            row.at,
            hash,
        ],
    )
}

/// A row as stored (text as it is, so that a hash is checked against exactly what is on disk).
/// Field order is the canonical order (see the module doc).
#[derive(Debug, Serialize)]
struct Row {
    seq: i64,
    prev_hash: String,
    run_id: String,
    action_id: String,
    idempotency_key: String,
    provider: String,
    target: String,
    pod_id: String,
    kind: String,
    action: String,
    policy: String,
    reason: String,
    stage: String,
    http_status: Option<i64>,
    operation_id: Option<String>,
    audit_id: Option<String>,
    detail: Option<String>,
    est_savings_per_day: Option<String>,
    currency: Option<String>,
    at: String,
    #[serde(skip)]
    hash: String,
}

impl Row {
    fn of(seq: i64, prev_hash: String, r: &NewRecord) -> Row {
        Row {
            seq,
            prev_hash,
            run_id: r.run_id.clone(),
            action_id: r.action_id.clone(),
            idempotency_key: r.idempotency_key.clone(),
            provider: r.provider.clone(),
            target: r.target.clone(),
            pod_id: r.pod_id.clone(),
            kind: r.kind.clone(),
            action: r.action.clone(),
            policy: r.policy.clone(),
            reason: r.reason.clone(),
            stage: r.stage.as_str().to_string(),
            http_status: r.http_status.map(i64::from),
            operation_id: r.operation_id.clone(),
            audit_id: r.audit_id.clone(),
            detail: r.detail.clone(),
            est_savings_per_day: r.est_savings_per_day.clone(),
            currency: r.currency.clone(),
            at: at_text(r.at),
            hash: String::new(),
        }
    }

    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            seq: r.get(0)?,
            prev_hash: r.get(1)?,
            run_id: r.get(2)?,
            action_id: r.get(3)?,
            idempotency_key: r.get(4)?,
            provider: r.get(5)?,
            target: r.get(6)?,
            pod_id: r.get(7)?,
            kind: r.get(8)?,
            action: r.get(9)?,
            policy: r.get(10)?,
            reason: r.get(11)?,
            stage: r.get(12)?,
            http_status: r.get(13)?,
            operation_id: r.get(14)?,
            audit_id: r.get(15)?,
            detail: r.get(16)?,
            est_savings_per_day: r.get(17)?,
            currency: r.get(18)?,
            at: r.get(19)?,
            hash: r.get(20)?,
        })
    }

    /// The canonical form (the module doc): compact JSON in field order, `hash` left out.
    fn canonical(&self) -> Vec<u8> {
        // Serializing strings, integers and nulls into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical()))
    }

    /// How a message names this record.
    fn name(&self) -> String {
        format!(
            "record {} (run {}, {} {} of {} {})",
            self.seq, self.run_id, self.stage, self.action, self.provider, self.target
        )
    }

    fn into_record(self) -> Result<Record, (i64, String)> {
        let seq = self.seq;
        let stage = Stage::from_str(&self.stage).map_err(|e| (seq, e.to_string()))?;
        let at = DateTime::parse_from_rfc3339(&self.at)
            .map_err(|e| (seq, format!("time {:?}: {e}", self.at)))?
            .with_timezone(&Utc);
        let http_status = self
            .http_status
            .map(u16::try_from)
            .transpose()
            .map_err(|_| {
                (
                    seq,
                    format!("HTTP status {:?} out of range", self.http_status),
                )
            })?;
        Ok(Record {
            seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
            new: NewRecord {
                run_id: self.run_id,
                action_id: self.action_id,
                idempotency_key: self.idempotency_key,
                provider: self.provider,
                target: self.target,
                pod_id: self.pod_id,
                kind: self.kind,
                action: self.action,
                policy: self.policy,
                reason: self.reason,
                stage,
                http_status,
                operation_id: self.operation_id,
                audit_id: self.audit_id,
                detail: self.detail,
                est_savings_per_day: self.est_savings_per_day,
                currency: self.currency,
                at,
            },
        })
    }
}

/// `at` as the journal stores it: RFC 3339, UTC, microseconds, `Z`.
mod at_format {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::at_text(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, h, 0, 0)
            .single()
            .expect("valid time")
    }

    fn rec(key: &str, target: &str, stage: Stage, h: u32) -> NewRecord {
        NewRecord {
            run_id: "run-1".into(),
            action_id: format!("act-{key}"),
            idempotency_key: key.into(),
            provider: "argus".into(),
            target: target.into(),
            pod_id: format!("pod_{target}"),
            kind: "pod".into(),
            action: "stop".into(),
            policy: "stop-idle".into(),
            reason: format!("idle 9h \"quoted\"\nnewline é {target}"),
            stage,
            http_status: (stage == Stage::Accepted).then_some(202),
            operation_id: (stage == Stage::Accepted).then(|| format!("op_{key}")),
            audit_id: None,
            detail: None,
            est_savings_per_day: Some("59.76".into()),
            currency: Some("USD".into()),
            at: at(h),
        }
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = Journal::open(&dir.path().join("state/podwarden.db")).expect("journal opens");
        (dir, j)
    }

    /// Three actions: k1 planned→sent→accepted, k2 planned→sent, k3 planned→skipped.
    fn filled() -> (tempfile::TempDir, Journal) {
        let (dir, mut j) = journal();
        for (key, target, stage, h) in [
            ("k1", "wkr_1", Stage::Planned, 1),
            ("k2", "wkr_2", Stage::Planned, 1),
            ("k3", "wkr_3", Stage::Planned, 1),
            ("k1", "wkr_1", Stage::Sent, 2),
            ("k1", "wkr_1", Stage::Accepted, 3),
            ("k2", "wkr_2", Stage::Sent, 4),
            ("k3", "wkr_3", Stage::Skipped, 5),
        ] {
            j.append(rec(key, target, stage, h)).expect("append");
        }
        (dir, j)
    }

    fn raw(j: &Journal, sql: &str) {
        j.conn.execute_batch(sql).expect("raw edit");
    }

    #[test]
    fn append_numbers_and_chains_records() {
        let (_dir, mut j) = journal();
        let a = j.append(rec("k1", "wkr_1", Stage::Planned, 1)).expect("a");
        let b = j.append(rec("k1", "wkr_1", Stage::Sent, 2)).expect("b");
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_eq!(a.prev_hash, GENESIS_HASH);
        assert_eq!(b.prev_hash, a.hash);
        assert_eq!(j.head().expect("head"), Some((2, b.hash.clone())));
        assert_eq!(j.latest("k1").expect("latest"), Some(b));
    }

    #[test]
    fn append_truncates_time_to_microseconds_and_reads_back_equal() {
        let (_dir, mut j) = journal();
        let mut r = rec("k1", "wkr_1", Stage::Planned, 1);
        r.at += chrono::Duration::nanoseconds(1_234_567);
        let stored = j.append(r).expect("append");
        assert_eq!(stored.new.at.timestamp_subsec_nanos(), 1_234_000);
        assert_eq!(j.latest("k1").expect("latest"), Some(stored));
    }

    #[test]
    fn a_json_line_is_the_canonical_form_plus_the_hash() {
        let (_dir, mut j) = journal();
        j.append(rec("k0", "wkr_0", Stage::Planned, 1)).expect("a");
        let r = j.append(rec("k1", "wkr_1", Stage::Accepted, 2)).expect("b");
        let line = serde_json::to_string(&r).expect("json");
        let hash_field = format!(",\"hash\":\"{}\"}}", r.hash);
        let canonical = line
            .strip_suffix(&hash_field)
            .expect("hash is last")
            .to_string()
            + "}";
        assert_eq!(hex::encode(Sha256::digest(canonical.as_bytes())), r.hash);
        assert!(
            canonical.starts_with("{\"seq\":2,\"prev_hash\":\""),
            "{canonical}"
        );
        let back: Record = serde_json::from_str(&line).expect("parses back");
        assert_eq!(back, r);
    }

    #[test]
    fn latest_is_the_last_record_of_the_key() {
        let (_dir, j) = filled();
        let k1 = j.latest("k1").expect("q").expect("k1");
        assert_eq!((k1.seq, k1.new.stage), (5, Stage::Accepted));
        assert_eq!(j.latest("nope").expect("q"), None);
    }

    #[test]
    fn unfinished_lists_actions_whose_last_stage_is_planned_or_sent() {
        let (_dir, mut j) = filled();
        let keys = |j: &Journal| -> Vec<(String, Stage)> {
            j.unfinished()
                .expect("q")
                .into_iter()
                .map(|r| (r.new.idempotency_key, r.new.stage))
                .collect()
        };
        assert_eq!(keys(&j), vec![("k2".to_string(), Stage::Sent)]);
        j.append(rec("k4", "wkr_4", Stage::Planned, 6)).expect("k4");
        assert_eq!(
            keys(&j),
            vec![
                ("k2".to_string(), Stage::Sent),
                ("k4".to_string(), Stage::Planned)
            ]
        );
        j.append(rec("k2", "wkr_2", Stage::Failed, 7))
            .expect("k2 failed");
        assert_eq!(keys(&j), vec![("k4".to_string(), Stage::Planned)]);
    }

    #[test]
    fn query_filters_records_and_latest_statuses() {
        let (_dir, j) = filled();
        let seqs = |f: Filter| -> Vec<i64> {
            j.query(&f).expect("q").into_iter().map(|r| r.seq).collect()
        };
        assert_eq!(seqs(Filter::default()), vec![1, 2, 3, 4, 5, 6, 7]);
        let latest = Filter {
            latest_only: true,
            ..Filter::default()
        };
        assert_eq!(seqs(latest.clone()), vec![5, 6, 7]);
        assert_eq!(
            seqs(Filter {
                stage: Some(Stage::Sent),
                ..latest.clone()
            }),
            vec![6],
            "latest status sent: k2 only (k1 went on to accepted)"
        );
        assert_eq!(
            seqs(Filter {
                stage: Some(Stage::Sent),
                ..Filter::default()
            }),
            vec![4, 6]
        );
        assert_eq!(
            seqs(Filter {
                target: Some("pod_wkr_1".into()),
                ..Filter::default()
            }),
            vec![1, 4, 5],
            "a target filter matches the pod id too"
        );
        assert_eq!(
            seqs(Filter {
                since: Some(at(2)),
                until: Some(at(4)),
                ..Filter::default()
            }),
            vec![4, 5],
            "since inclusive, until exclusive"
        );
        assert_eq!(
            seqs(Filter {
                until: Some(at(3)),
                ..latest.clone()
            }),
            vec![2, 3, 4],
            "latest status as of the window"
        );
        assert_eq!(
            seqs(Filter {
                run_id: Some("other".into()),
                ..Filter::default()
            }),
            Vec::<i64>::new()
        );
        assert_eq!(
            seqs(Filter {
                policy: Some("stop-idle".into()),
                ..latest
            }),
            vec![5, 6, 7]
        );
    }

    #[test]
    fn verify_passes_on_an_untouched_journal_and_an_empty_one() {
        let (_dir, j) = journal();
        assert_eq!(j.verify().expect("v"), Verification::Intact { records: 0 });
        let (_dir, j) = filled();
        assert_eq!(j.verify().expect("v"), Verification::Intact { records: 7 });
    }

    fn broken_at(j: &Journal) -> (i64, String) {
        match j.verify().expect("verify runs") {
            Verification::Broken { seq, why } => (seq, why),
            other => panic!("expected a break, got {other:?}"),
        }
    }

    #[test]
    fn verify_names_an_edited_record() {
        let (_dir, j) = filled();
        raw(&j, "UPDATE journal SET reason = 'edited' WHERE seq = 4");
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 4);
        assert!(
            why.contains("record 4 (run run-1, sent stop of argus wkr_1) was edited"),
            "{why}"
        );
    }

    #[test]
    fn verify_names_an_edited_time_or_status() {
        let (_dir, j) = filled();
        raw(&j, "UPDATE journal SET http_status = 200 WHERE seq = 5");
        assert_eq!(broken_at(&j).0, 5);
        let (_dir, j) = filled();
        raw(
            &j,
            "UPDATE journal SET at = '2026-11-21T03:00:00Z' WHERE seq = 5",
        );
        assert_eq!(
            broken_at(&j).0,
            5,
            "same instant, other text: still an edit"
        );
    }

    #[test]
    fn verify_names_a_deleted_middle_record() {
        let (_dir, j) = filled();
        raw(&j, "DELETE FROM journal WHERE seq = 3");
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 3);
        assert!(why.contains("record 3 is missing (deleted)"), "{why}");
        assert!(why.contains("record 4 (run run-1"), "{why}");
    }

    #[test]
    fn verify_names_a_deleted_first_record() {
        let (_dir, j) = filled();
        raw(&j, "DELETE FROM journal WHERE seq = 1");
        assert_eq!(broken_at(&j).0, 1);
    }

    #[test]
    fn verify_detects_a_deleted_last_record() {
        let (_dir, j) = filled();
        raw(&j, "DELETE FROM journal WHERE seq = 7");
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 7);
        assert!(
            why.contains("record 7 is missing (deleted at the end)"),
            "{why}"
        );
    }

    #[test]
    fn verify_detects_every_record_deleted() {
        let (_dir, j) = filled();
        raw(&j, "DELETE FROM journal");
        assert_eq!(broken_at(&j).0, 1);
    }

    #[test]
    fn verify_detects_a_deleted_last_record_with_its_head_rewound() {
        // Deleting the last record and pointing the head at the one before still leaves the
        // head naming a record; re-pointing it consistently is the forgery the module doc
        // warns about. Here the head keeps seq 6 but not its hash: caught.
        let (_dir, j) = filled();
        raw(
            &j,
            "DELETE FROM journal WHERE seq = 7; UPDATE journal_head SET seq = 6",
        );
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 6);
        assert!(why.contains("not the record the head recorded"), "{why}");
    }

    #[test]
    fn verify_detects_a_record_inserted_after_the_head() {
        let (_dir, j) = filled();
        raw(
            &j,
            "INSERT INTO journal SELECT 8, hash, run_id, action_id, idempotency_key, provider, target, \
             pod_id, kind, action, policy, reason, 'accepted', 202, operation_id, audit_id, detail, \
             est_savings_per_day, currency, at, hash FROM journal WHERE seq = 7",
        );
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 8);
        assert!(why.contains("inserted"), "{why}");
    }

    /// Replaces record `seq` with `row` (hashing it first when `rehash`).
    fn overwrite(j: &Journal, mut row: Row, rehash: bool) {
        if rehash {
            row.hash = row.compute_hash();
        }
        j.conn
            .execute("DELETE FROM journal WHERE seq = ?1", params![row.seq])
            .expect("delete");
        insert(&j.conn, &row, &row.hash).expect("insert");
    }

    fn stored(j: &Journal, seq: i64) -> Row {
        j.rows(
            &format!("SELECT {COLUMNS} FROM journal WHERE seq = ?1"),
            params![seq],
        )
        .expect("read")
        .remove(0)
    }

    #[test]
    fn verify_detects_an_edited_and_rehashed_record_at_its_successor() {
        let (_dir, mut j) = filled();
        let mut row = stored(&j, 4);
        row.reason = "edited, and the hash recomputed".into();
        overwrite(&j, row, true);
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 5);
        assert!(
            why.contains("record 5 (run run-1, accepted stop of argus wkr_1) does not link to record 4 (run run-1, sent stop of argus wkr_1)"),
            "{why}"
        );
        // Appending continues from the head: the break stays visible.
        j.append(rec("k9", "wkr_9", Stage::Planned, 9))
            .expect("append");
        assert_eq!(broken_at(&j).0, 5);
    }

    #[test]
    fn verify_detects_a_record_inserted_in_the_middle_by_renumbering() {
        // Records 4.. move up by one and a new, correctly linked and hashed record takes 4;
        // the head is moved along. The moved records' seq is part of their hash.
        let (_dir, j) = filled();
        raw(
            &j,
            "UPDATE journal SET seq = seq + 100 WHERE seq >= 4; \
             UPDATE journal SET seq = seq - 99 WHERE seq >= 100; UPDATE journal_head SET seq = 8",
        );
        let forged = Row::of(4, stored(&j, 3).hash, &rec("kx", "wkr_x", Stage::Sent, 2));
        overwrite(&j, forged, true);
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 5);
        assert!(
            why.contains("record 5 (run run-1, sent stop of argus wkr_1) was edited"),
            "{why}"
        );
    }

    #[test]
    fn a_missing_head_is_a_break_and_blocks_appends() {
        let (_dir, mut j) = filled();
        raw(&j, "DELETE FROM journal_head");
        assert_eq!(broken_at(&j).0, 1);
        let refused = j.append(rec("k9", "wkr_9", Stage::Planned, 9));
        assert!(
            matches!(refused, Err(JournalError::HeadMissing { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn appends_after_a_deleted_last_record_keep_the_gap_visible() {
        let (_dir, mut j) = filled();
        raw(&j, "DELETE FROM journal WHERE seq = 7");
        let next = j
            .append(rec("k9", "wkr_9", Stage::Planned, 9))
            .expect("append");
        assert_eq!(
            next.seq, 8,
            "numbered after the head, not after the last row"
        );
        assert_eq!(broken_at(&j).0, 7);
    }

    #[test]
    fn a_second_connection_sees_appends_and_opening_twice_keeps_the_chain() {
        let (dir, mut j) = filled();
        let path = dir.path().join("state/podwarden.db");
        let mut other = Journal::open(&path).expect("second open");
        other
            .append(rec("k5", "wkr_5", Stage::Planned, 8))
            .expect("append");
        j.append(rec("k6", "wkr_6", Stage::Planned, 9))
            .expect("append");
        let reader = Journal::open_existing(&path)
            .expect("open")
            .expect("exists");
        assert_eq!(
            reader.verify().expect("v"),
            Verification::Intact { records: 9 }
        );
    }

    #[test]
    fn two_connections_appending_at_once_keep_one_unbroken_chain() {
        let (dir, _j) = journal();
        let path = dir.path().join("state/podwarden.db");
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut j = Journal::open(&path).expect("open");
                    for i in 0..40 {
                        j.append(rec(&format!("w{w}-{i}"), "wkr_1", Stage::Planned, 1))
                            .expect("append waits for the other writer");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        let j = Journal::open(&path).expect("open");
        assert_eq!(j.verify().expect("v"), Verification::Intact { records: 80 });
    }

    #[test]
    fn open_existing_creates_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing.db");
        assert!(Journal::open_existing(&path).expect("ok").is_none());
        assert!(!path.exists());
        // An SQLite file without the journal's tables.
        drop(Connection::open(&path).expect("create"));
        assert!(Journal::open_existing(&path).expect("ok").is_none());
    }

    #[test]
    fn the_tables_alone_are_no_journal_until_it_is_opened_for_writing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        // A state file the store made: it has the journal's tables (one schema), no head.
        crate::state::store::Store::open(&path).expect("store");
        assert!(Journal::open_existing(&path).expect("ok").is_none());
        let j = Journal::open(&path).expect("opens for writing");
        assert_eq!(
            j.head_row().expect("head row"),
            Some((0, GENESIS_HASH.to_string())),
            "the genesis head"
        );
        assert_eq!(j.head().expect("head"), None, "it names no record");
        let reader = Journal::open_existing(&path)
            .expect("ok")
            .expect("a journal now");
        assert_eq!(
            reader.verify().expect("v"),
            Verification::Intact { records: 0 }
        );
    }

    #[test]
    fn an_edited_genesis_head_is_a_break() {
        let (_dir, j) = journal();
        raw(&j, "UPDATE journal_head SET hash = 'forged'");
        let (seq, why) = broken_at(&j);
        assert_eq!(seq, 1);
        assert!(why.contains("genesis hash"), "{why}");
    }

    #[test]
    fn a_missing_head_stays_missing_when_the_journal_is_opened_again() {
        let (dir, j) = filled();
        raw(&j, "DELETE FROM journal_head");
        drop(j);
        let mut j = Journal::open(&dir.path().join("state/podwarden.db")).expect("opens");
        assert_eq!(
            j.head_row().expect("head row"),
            None,
            "no genesis head over records"
        );
        let refused = j.append(rec("k9", "wkr_9", Stage::Planned, 9));
        assert!(
            matches!(refused, Err(JournalError::HeadMissing { .. })),
            "{refused:?}"
        );
        assert_eq!(broken_at(&j).0, 1);
    }

    #[test]
    fn the_connection_is_wal_and_synchronous_full() {
        let (_dir, j) = journal();
        let mode: String = j
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        let sync: i64 = j
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("sync");
        assert_eq!((mode.as_str(), sync), ("wal", 2));
    }

    #[test]
    fn stages_parse_and_print() {
        for s in Stage::ALL {
            assert_eq!(s.as_str().parse::<Stage>().expect("parses"), s);
            assert_eq!(
                serde_json::to_string(&s).expect("json"),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!("Failed".parse::<Stage>().expect("any case"), Stage::Failed);
        assert!("done".parse::<Stage>().is_err());
    }
}
