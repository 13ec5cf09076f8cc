//! One apply at a time per state file: two `apply` processes on one journal would both read
//! an action as not yet sent, both journal it as sent and accepted (the provider replays the
//! second with the first answer), and spend one rate budget twice.
//!
//! The lock is an exclusive SQLite transaction held open on a lock file next to the state
//! file (`<state>.apply-lock`), for as long as the returned [`ApplyLock`] lives. SQLite's
//! file locks are the operating system's: a killed process (SIGKILL) releases its lock, so a
//! crash never leaves a stale lock behind. A second apply does not wait: it is refused at once
//! (a CronJob's next run overlapping a slow one should not queue up behind it).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another podwarden apply is acting on {state} (it holds {lock}): let it finish, then run again"
    )]
    Held { state: String, lock: String },
    #[error("could not lock {lock}: {source}")]
    Sqlite {
        lock: String,
        source: rusqlite::Error,
    },
}

/// Held while applying; dropping it releases the lock.
pub struct ApplyLock {
    _conn: Connection,
}

/// The lock file of `state`.
pub fn path_of(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".apply-lock");
    PathBuf::from(name)
}

/// Takes the apply lock of `state`, or says who holds it.
pub fn acquire(state: &Path) -> Result<ApplyLock, LockError> {
    let lock = path_of(state);
    let shown = lock.display().to_string();
    let err = |source| LockError::Sqlite {
        lock: shown.clone(),
        source,
    };
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = crate::owner_only::create_dir_all(dir);
    }
    let _ = crate::owner_only::create_file(&lock);
    let conn = Connection::open(&lock).map_err(err)?;
    conn.busy_timeout(std::time::Duration::ZERO).map_err(err)?;
    match conn.execute_batch("BEGIN EXCLUSIVE") {
        Ok(()) => Ok(ApplyLock { _conn: conn }),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => Err(LockError::Held {
            state: state.display().to_string(),
            lock: shown,
        }),
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("dir");
        let state = dir.path().join("state/podwarden.db");
        let first = acquire(&state).expect("first");
        let second = acquire(&state);
        assert!(
            matches!(second, Err(LockError::Held { .. })),
            "{:?}",
            second.err()
        );
        drop(first);
        acquire(&state).expect("free again");
    }
}
