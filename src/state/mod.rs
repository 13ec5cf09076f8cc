//! The state file: the one SQLite database (`state` in podwarden.toml) in which podwarden keeps
//! what it must remember between runs. Every SQL statement on it is in this module (the apply
//! lock, [`crate::execute::lock`], is a file of its own).
//!
//! # Its tables
//! - `sightings` ([`store`]): podwarden's own observations that stand in for a start the
//!   provider does not give (first seen idle, orphaned, stopped).
//! - `notices` ([`store`]): the pending actions of policies with a notice period.
//! - `journal` and `journal_head` ([`journal`]): the hash-chained audit journal, one record per
//!   stage of every action, and the head that names the last record.
//! - `outbox` ([`outbox`]): mails whose send failed, retried by later runs until delivered.
//! - `cost_rows` and `cost_days` ([`costs`]): the daily cost rows read so far, with each
//!   day's count, checksum and last read, so that a run reads only the days it lacks.
//! - `readings` ([`evidence`]): the newest activity reading of each pod whose signal is read
//!   pod by pod (Podstack's utilisation), kept so that later runs need not read it again.
//!
//! # One migration sequence
//! Every table is defined in one place, [`schema`]: one ordered list of migration steps; a
//! file's `PRAGMA user_version` is the number of steps it has had. Each of the three modules
//! opens a connection of its own, and each opener that writes ([`store::Store::open`],
//! [`journal::Journal::open`], [`outbox::Outbox::open`]) goes through the same `open` below,
//! which brings the whole file up to date: whichever of them opens a file first, every table
//! is there afterwards. The one other opener, [`journal::Journal::open_existing`] (`podwarden
//! audit`), only reads, so it does not migrate: the journal's tables are as they were first
//! created, and a file without them holds no journal.
//!
//! Before the one sequence, the store numbered its own three steps while the journal and the
//! outbox created their tables whenever they opened the file. Files from then have
//! `user_version` 3 (or less) and any of the journal's and the outbox's tables; the steps after
//! the store's are idempotent for them (see [`schema`]).
//!
//! # Connections
//! The file runs in WAL mode: readers (an `audit` listing) do not block the one writer, nor it
//! them. Writers take turns, and every connection waits up to [`BUSY_TIMEOUT`] for another
//! process's lock instead of failing on it: two processes that open a fresh file at once (a
//! CronJob's run and an `apply` by hand, say) migrate it one after the other, the second
//! finding nothing left to do. Decision: one timeout for the whole file, the journal's 30 s,
//! where the store had SQLite's default (5 s) and the outbox 10 s: a lock on this file is held
//! for one short transaction, and waiting for it beats failing the command.

pub mod costs;
pub mod evidence;
pub mod journal;
pub mod outbox;
pub mod schema;
pub mod store;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How long a connection waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why [`open`] failed; each opener wraps it in its own error (naming the store, the journal
/// or the outbox).
enum OpenError {
    /// The file's folder could not be created.
    Folder(std::io::Error),
    Sqlite(rusqlite::Error),
}

impl OpenError {
    /// The opener's own error: made by `folder` when the folder could not be created, by
    /// `sqlite` otherwise.
    fn wrap<E>(
        self,
        folder: impl FnOnce(std::io::Error) -> E,
        sqlite: impl FnOnce(rusqlite::Error) -> E,
    ) -> E {
        match self {
            OpenError::Folder(e) => folder(e),
            OpenError::Sqlite(e) => sqlite(e),
        }
    }
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> OpenError {
        OpenError::Sqlite(e)
    }
}

/// Opens the state file at `path` for writing, creating its folder and the file as needed:
/// WAL mode, [`BUSY_TIMEOUT`], and the schema brought up to date ([`schema::migrate`]).
///
/// Openers racing on a fresh file (a run and a reader, two test threads) can be answered
/// `SQLITE_BUSY` by the switch to WAL without SQLite calling the busy handler, so a busy
/// answer is retried here until [`BUSY_TIMEOUT`], as the busy handler would.
fn open(path: &Path) -> Result<Connection, OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::owner_only::create_dir_all(dir).map_err(OpenError::Folder)?;
    }
    // Owner-only before SQLite creates it (a failure here is SQLite's to report, below).
    let _ = crate::owner_only::create_file(path);
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match open_once(path) {
            Err(OpenError::Sqlite(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn open_once(path: &Path) -> Result<Connection, OpenError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// What a state file that SQLite cannot read as a database (damaged, cut short, or another
/// file in its place) is told with: which file, and what to do. Every statement's error goes
/// through it, so it holds at open (a run opens the file before any request) and mid-run.
pub const NOT_A_DATABASE_ADVICE: &str = "podwarden stopped there. \
Keep it for inspection (mv FILE FILE.broken; `sqlite3 FILE .recover` may save its rows) and \
run again: podwarden starts a new state file (what earlier runs saw, pending notices, the cost \
cache and the audit journal start afresh; the old journal stays in the moved file)";

/// Whether `e` says the file is not a database (`SQLITE_NOTADB`, or `SQLITE_CORRUPT`).
pub fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
