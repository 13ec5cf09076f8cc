//! The state file's schema: every table, as one ordered list of migration steps.
//!
//! A file's `PRAGMA user_version` is the number of steps it has had; `migrate` runs the
//! ones it lacks, in order, and sets it. A step, once released, is never edited or removed (a
//! file that had it must keep meaning the same): a change to a table is a new step at the end.
//!
//! Steps 1 to 3 are the store's own numbered migrations from before the one sequence, as
//! they were. The journal and the outbox created their tables themselves then, with `CREATE
//! TABLE IF NOT EXISTS`, whenever they opened the file, so a file at any step up to 3 (at 0
//! if only they ever opened it) may hold them already, and an outbox from before mail keys
//! lacks its `dedupe_key` column: steps 4 to 6 are idempotent for such files (tables only if
//! absent, the column only if missing), and keep their rows.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// One step of the schema's history.
enum Step {
    /// Statements run as they are.
    Sql(&'static str),
    /// What plain SQL cannot do conditionally (SQLite has no `ADD COLUMN IF NOT EXISTS`).
    Code(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

/// The schema's history, oldest first (step `n` is `STEPS[n - 1]`).
const STEPS: &[Step] = &[
    // 1. The first sightings.
    Step::Sql(
        "CREATE TABLE observations (
        provider   TEXT NOT NULL,
        target     TEXT NOT NULL,
        what       TEXT NOT NULL CHECK (what IN ('idle', 'orphan')),
        first_seen TEXT NOT NULL,
        last_seen  TEXT NOT NULL,
        PRIMARY KEY (provider, target, what)
    );",
    ),
    // 2. Sightings belong to one incarnation of a pod (its last start), and stopped periods are
    // sighted too. Old idle sightings cannot be tied to an incarnation: they are dropped (the
    // next run starts them afresh, erring towards "not idle long enough").
    Step::Sql(
        "CREATE TABLE sightings (
        provider    TEXT NOT NULL,
        target      TEXT NOT NULL,
        what        TEXT NOT NULL CHECK (what IN ('idle', 'orphan', 'stopped')),
        incarnation TEXT NOT NULL,
        first_seen  TEXT NOT NULL,
        last_seen   TEXT NOT NULL,
        PRIMARY KEY (provider, target, what)
    );
    INSERT INTO sightings (provider, target, what, incarnation, first_seen, last_seen)
        SELECT provider, target, what, '', first_seen, last_seen FROM observations WHERE what = 'orphan';
    DROP TABLE observations;",
    ),
    // 3. Notice periods: one row per pending (or due) action of a policy with `notice`.
    Step::Sql(
        "CREATE TABLE notices (
        provider      TEXT NOT NULL,
        target        TEXT NOT NULL,
        policy        TEXT NOT NULL,
        action        TEXT NOT NULL,
        incarnation   TEXT NOT NULL,
        first_matched TEXT NOT NULL,
        last_matched  TEXT NOT NULL,
        due_at        TEXT NOT NULL,
        PRIMARY KEY (provider, target, policy, action)
    );",
    ),
    // 4. The audit journal: one row per stage of an action, never updated or deleted, and the
    // one-row head naming the last record (see `journal`).
    Step::Sql(
        "CREATE TABLE IF NOT EXISTS journal (
        seq                 INTEGER PRIMARY KEY,
        prev_hash           TEXT NOT NULL,
        run_id              TEXT NOT NULL,
        action_id           TEXT NOT NULL,
        idempotency_key     TEXT NOT NULL,
        provider            TEXT NOT NULL,
        target              TEXT NOT NULL,
        pod_id              TEXT NOT NULL,
        kind                TEXT NOT NULL,
        action              TEXT NOT NULL,
        policy              TEXT NOT NULL,
        reason              TEXT NOT NULL,
        stage               TEXT NOT NULL,
        http_status         INTEGER,
        operation_id        TEXT,
        audit_id            TEXT,
        detail              TEXT,
        est_savings_per_day TEXT,
        currency            TEXT,
        at                  TEXT NOT NULL,
        hash                TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS journal_by_key ON journal (idempotency_key, seq);
    CREATE INDEX IF NOT EXISTS journal_by_run ON journal (run_id);
    CREATE TABLE IF NOT EXISTS journal_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash TEXT NOT NULL
    );",
    ),
    // 5. The email outbox: a mail waiting to be (re)sent, with its envelope and message.
    Step::Sql(
        "CREATE TABLE IF NOT EXISTS outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        kind         TEXT NOT NULL,
        subject      TEXT NOT NULL,
        env_from     TEXT,
        env_to       TEXT NOT NULL,
        message      BLOB NOT NULL,
        created_at   TEXT NOT NULL,
        attempts     INTEGER NOT NULL,
        last_error   TEXT NOT NULL,
        claimed_at   TEXT,
        delivered_at TEXT,
        abandoned_at TEXT,
        dedupe_key   TEXT
    );",
    ),
    // 6. An outbox from before mail keys gets the key column (its rows keep no key).
    Step::Code(outbox_dedupe_key),
    // 7. Activity readings kept between runs (see `evidence`): the newest reading of each pod
    // whose signal is read pod by pod, with the incarnation it belongs to and when it was read.
    Step::Sql(
        "CREATE TABLE readings (
        provider    TEXT NOT NULL,
        target      TEXT NOT NULL,
        incarnation TEXT NOT NULL,
        read_at     TEXT NOT NULL,
        activity    TEXT NOT NULL,
        PRIMARY KEY (provider, target)
    );",
    ),
    // 8. Daily cost rows kept between runs (see `costs`): the rows, and per provider and day
    // how many there were, their checksum and when the day was last read.
    Step::Sql(
        "CREATE TABLE cost_rows (
        provider     TEXT NOT NULL,
        date         TEXT NOT NULL,
        pod_id       TEXT NOT NULL,
        worker_id    TEXT,
        project      TEXT,
        amount       TEXT NOT NULL,
        currency     TEXT NOT NULL,
        hours        TEXT,
        by_resource  TEXT
    );
    CREATE INDEX cost_rows_by_day ON cost_rows (provider, date);
    CREATE TABLE cost_days (
        provider TEXT NOT NULL,
        date     TEXT NOT NULL,
        rows     INTEGER NOT NULL,
        checksum TEXT NOT NULL,
        read_at  TEXT NOT NULL,
        PRIMARY KEY (provider, date)
    );",
    ),
];

/// Runs the steps the file lacks, all in one transaction that takes the write lock first
/// (`BEGIN IMMEDIATE`), and sets `user_version`. A file with every step takes no lock (the
/// common case: every open checks). A file from a newer podwarden (more steps than these) is
/// left as it is.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    if version(conn)? >= STEPS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the lock: another process may have migrated the file meanwhile.
    let done = version(&tx)?;
    for step in STEPS.iter().skip(done) {
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::Code(run) => run(&tx)?,
        }
    }
    if done < STEPS.len() {
        tx.pragma_update(None, "user_version", STEPS.len())?;
    }
    tx.commit()
}

fn version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn outbox_dedupe_key(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let has_key: i64 = tx.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('outbox') WHERE name = 'dedupe_key'",
        [],
        |r| r.get(0),
    )?;
    if has_key == 0 {
        tx.execute_batch("ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::{Arc, Barrier};

    use chrono::Utc;
    use rusqlite::Connection;

    use super::STEPS;
    use crate::state::journal::{Journal, NewRecord, Stage, Verification};
    use crate::state::outbox::Outbox;
    use crate::state::store::Store;

    /// Today's tables, as the code before the one migration sequence created them: the store's
    /// three numbered steps (their result), the journal's and the outbox's own `CREATE TABLE`.
    const STORE_TABLES: &str = "
        CREATE TABLE sightings (
            provider TEXT NOT NULL, target TEXT NOT NULL,
            what TEXT NOT NULL CHECK (what IN ('idle', 'orphan', 'stopped')),
            incarnation TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
            PRIMARY KEY (provider, target, what));
        CREATE TABLE notices (
            provider TEXT NOT NULL, target TEXT NOT NULL, policy TEXT NOT NULL,
            action TEXT NOT NULL, incarnation TEXT NOT NULL, first_matched TEXT NOT NULL,
            last_matched TEXT NOT NULL, due_at TEXT NOT NULL,
            PRIMARY KEY (provider, target, policy, action));
        PRAGMA user_version = 3;
        INSERT INTO sightings VALUES ('argus', 'wkr_1', 'idle', '2026-11-01T00:00:00+00:00',
            '2026-11-20T02:00:00+00:00', '2026-11-21T02:00:00+00:00');
        INSERT INTO notices VALUES ('argus', 'wkr_1', 'stop-idle', 'stop',
            '2026-11-01T00:00:00+00:00', '2026-11-20T02:00:00+00:00',
            '2026-11-21T02:00:00+00:00', '2026-11-22T02:00:00+00:00');";
    const JOURNAL_TABLES: &str = "
        CREATE TABLE IF NOT EXISTS journal (
            seq INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, run_id TEXT NOT NULL,
            action_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, provider TEXT NOT NULL,
            target TEXT NOT NULL, pod_id TEXT NOT NULL, kind TEXT NOT NULL,
            action TEXT NOT NULL, policy TEXT NOT NULL, reason TEXT NOT NULL,
            stage TEXT NOT NULL, http_status INTEGER, operation_id TEXT, audit_id TEXT,
            detail TEXT, est_savings_per_day TEXT, currency TEXT, at TEXT NOT NULL,
            hash TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS journal_by_key ON journal (idempotency_key, seq);
        CREATE INDEX IF NOT EXISTS journal_by_run ON journal (run_id);
        CREATE TABLE IF NOT EXISTS journal_head (
            id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);";
    /// The outbox from before mail keys (no `dedupe_key`), with one waiting mail.
    const OUTBOX_TABLE: &str = "
        CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
            subject TEXT NOT NULL, env_from TEXT, env_to TEXT NOT NULL, message BLOB NOT NULL,
            created_at TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL,
            claimed_at TEXT, delivered_at TEXT, abandoned_at TEXT);
        INSERT INTO outbox (kind, subject, env_from, env_to, message, created_at, attempts,
            last_error) VALUES ('finance', 's', 'pw@example.com', 'finance@example.com', X'78',
            '2026-11-20T02:00:00Z', 1, 'down');";

    fn record() -> NewRecord {
        NewRecord {
            run_id: "run-1".into(),
            action_id: "act-1".into(),
            idempotency_key: "k1".into(),
            provider: "argus".into(),
            target: "wkr_1".into(),
            pod_id: "pod_wkr_1".into(),
            kind: "pod".into(),
            action: "stop".into(),
            policy: "stop-idle".into(),
            reason: "idle 9h".into(),
            stage: Stage::Planned,
            http_status: None,
            operation_id: None,
            audit_id: None,
            detail: None,
            est_savings_per_day: None,
            currency: None,
            at: Utc::now(),
        }
    }

    /// A state file as today's code leaves it: the store's tables with a sighting and a
    /// notice (unless `store` is false: only the journal or the outbox ever opened it), and
    /// when asked a journal holding one record (copied from a journal made elsewhere, so that
    /// its hash is right) and an outbox from before keys. Returns the journal's head.
    fn old_file(path: &Path, store: bool, journal: bool, outbox: bool) -> Option<(i64, String)> {
        let conn = Connection::open(path).expect("old file");
        if store {
            conn.execute_batch(STORE_TABLES).expect("store tables");
        }
        if outbox {
            conn.execute_batch(OUTBOX_TABLE).expect("outbox table");
        }
        if !journal {
            return None;
        }
        conn.execute_batch(JOURNAL_TABLES).expect("journal tables");
        let elsewhere = path.with_extension("elsewhere.db");
        let mut source = Journal::open(&elsewhere).expect("journal elsewhere");
        source.append(record()).expect("append");
        let head = source.head().expect("head");
        conn.execute(
            "ATTACH DATABASE ?1 AS elsewhere",
            [elsewhere.to_str().expect("utf-8 path")],
        )
        .expect("attach");
        conn.execute_batch(
            "INSERT INTO journal SELECT * FROM elsewhere.journal;
             INSERT INTO journal_head SELECT * FROM elsewhere.journal_head;
             DETACH DATABASE elsewhere;",
        )
        .expect("copy the record");
        head
    }

    fn version(path: &Path) -> usize {
        let conn = Connection::open(path).expect("opens");
        super::version(&conn).expect("user_version")
    }

    fn count(path: &Path, table: &str) -> i64 {
        let conn = Connection::open(path).expect("opens");
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn a_state_file_from_before_the_one_schema_migrates_and_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (n, (store, journal, outbox)) in [
            (true, false, false),
            (true, true, false),
            (true, false, true),
            (true, true, true),
            (false, true, true),
        ]
        .into_iter()
        .enumerate()
        {
            let case = format!("store {store}, journal {journal}, outbox {outbox}");
            let path = dir.path().join(format!("old-{n}.db"));
            let head = old_file(&path, store, journal, outbox);
            Store::open(&path).expect("the store opens an old file");
            assert_eq!(version(&path), STEPS.len(), "{case}");
            let notices = Store::open(&path)
                .expect("opens")
                .notices()
                .expect("notices");
            assert_eq!(notices.len(), usize::from(store), "{case}");
            assert_eq!(count(&path, "sightings"), i64::from(store), "{case}");
            match Journal::open_existing(&path).expect("reads") {
                Some(j) => {
                    assert!(journal, "{case}: a journal only where there was one");
                    assert_eq!(
                        j.verify().expect("verify"),
                        Verification::Intact { records: 1 }
                    );
                    assert_eq!(j.head().expect("head"), head, "{case}");
                }
                None => assert!(!journal, "{case}: the journal is kept"),
            }
            let mut o = Outbox::open(&path).expect("the outbox opens");
            let claimed = o.claim(Utc::now()).expect("claims");
            assert_eq!(claimed.len(), usize::from(outbox), "{case}");
            assert!(claimed.iter().all(|p| p.key.is_none()), "{case}: no key");
            // The journal's appends carry on from the old head.
            let mut j = Journal::open(&path).expect("the journal opens");
            let next = j.append(record()).expect("appends");
            assert_eq!(next.seq, if journal { 2 } else { 1 }, "{case}");
            assert_eq!(
                j.verify().expect("verify"),
                Verification::Intact { records: next.seq }
            );
        }
    }

    #[test]
    fn openers_racing_on_a_fresh_file_migrate_it_once() {
        for round in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("state/podwarden.db");
            let start = Arc::new(Barrier::new(6));
            let openers: Vec<_> = (0..6)
                .map(|i| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        match i % 3 {
                            0 => Store::open(&path).map(drop).map_err(|e| e.to_string()),
                            1 => Journal::open(&path).map(drop).map_err(|e| e.to_string()),
                            _ => Outbox::open(&path).map(drop).map_err(|e| e.to_string()),
                        }
                    })
                })
                .collect();
            for o in openers {
                o.join().expect("opener").expect("opens while others do");
            }
            assert_eq!(version(&path), STEPS.len(), "round {round}");
            assert_eq!(count(&path, "journal_head"), 1, "one genesis head");
        }
    }
}
