//! The SQLite state store: what podwarden has observed between runs.
//!
//! For now it holds observations: when a pod was first seen idle (when the provider does
//! not say) and first seen orphaned (when `orphaned_since` is null). Migrations are
//! numbered by `PRAGMA user_version`.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use crate::fleet::{Activity, Fleet, ResourceKind, Since};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state store {path}: cannot create its folder: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
}

const MIGRATIONS: &[&str] = &["CREATE TABLE observations (
        provider   TEXT NOT NULL,
        target     TEXT NOT NULL,
        what       TEXT NOT NULL CHECK (what IN ('idle', 'orphan')),
        first_seen TEXT NOT NULL,
        last_seen  TEXT NOT NULL,
        PRIMARY KEY (provider, target, what)
    );"];

pub struct Store {
    conn: Connection,
    path: String,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: shown.clone(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        })?;
        let store = Store { conn, path: shown };
        store.migrate()?;
        Ok(store)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(self.err())?;
        let version: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err())?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            self.conn.execute_batch(sql).map_err(self.err())?;
            self.conn
                .pragma_update(None, "user_version", i + 1)
                .map_err(self.err())?;
        }
        Ok(())
    }

    /// Records what this run saw and fills in the "since" instants the providers did not give:
    /// an idle pod's idle start is the earlier of the provider's and the first observation;
    /// an orphan without `orphaned_since` counts from its first observation (never from creation).
    /// A busy pod's idle observation is cleared. Providers that were not read completely are left alone.
    pub fn observe(&mut self, fleet: &mut Fleet, now: DateTime<Utc>) -> Result<(), StoreError> {
        let complete: Vec<String> = fleet
            .providers
            .iter()
            .filter(|p| p.complete)
            .map(|p| p.name.clone())
            .collect();
        let path = self.path.clone();
        let err = move |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut first_seen = tx
                .prepare_cached(
                    "INSERT INTO observations (provider, target, what, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
                     ON CONFLICT (provider, target, what) DO UPDATE SET last_seen = excluded.last_seen
                     RETURNING first_seen",
                )
                .map_err(&err)?;
            let mut forget = tx
                .prepare_cached("DELETE FROM observations WHERE provider = ?1 AND target = ?2 AND what = 'idle'")
                .map_err(&err)?;
            for pod in fleet
                .pods
                .iter_mut()
                .filter(|p| complete.contains(&p.provider))
            {
                if pod.kind == ResourceKind::Orphan {
                    let seen: String = first_seen
                        .query_row(
                            params![pod.provider, pod.target, "orphan", now.to_rfc3339()],
                            |r| r.get(0),
                        )
                        .map_err(&err)?;
                    if pod.orphaned_since.is_none() {
                        pod.orphaned_since = parse_time(&seen);
                        pod.orphaned_since_source = Some(Since::Observed);
                    }
                    continue;
                }
                match &mut pod.activity {
                    Activity::Busy => {
                        forget
                            .execute(params![pod.provider, pod.target])
                            .map_err(&err)?;
                    }
                    Activity::Idle { since, source, .. } => {
                        let seen: String = first_seen
                            .query_row(
                                params![pod.provider, pod.target, "idle", now.to_rfc3339()],
                                |r| r.get(0),
                            )
                            .map_err(&err)?;
                        if let Some(observed) = parse_time(&seen) {
                            if since.is_none_or(|s| observed < s) {
                                *since = Some(observed);
                                *source = Some(Since::Observed);
                            }
                        }
                    }
                    Activity::Unknown { .. } => {}
                }
            }
        }
        tx.commit().map_err(&err)
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
