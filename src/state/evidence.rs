//! Activity readings kept between runs: the newest reading of each pod whose signal is read pod
//! by pod (a Podstack pod's utilisation), so that a run can judge a pod on what an earlier run
//! or `podwarden observe` read instead of spending a request of the rate budget on it again.
//!
//! A row holds the pod's [`Activity`] as the read found it (JSON), when it was read and the
//! incarnation (last start) it belongs to. Which stored reading may stand for a pod now is
//! decided in [`crate::collect::readings`]; this module only keeps them:
//! - a read that was answered replaces the pod's row, also when it proved nothing (stale
//!   samples, a GPU not read: the pod is unknown, and a run soon after does not spend a
//!   request to learn that again; how long such a reading stands is `collect::readings`');
//! - a read that failed (a 5xx, the deadline) leaves the row as it was;
//! - rows of pods a complete provider no longer lists are deleted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::store::{sqlite_error, Store, StoreError};
use crate::fleet::Activity;

/// One stored reading.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReading {
    pub incarnation: DateTime<Utc>,
    pub read_at: DateTime<Utc>,
    pub activity: Activity,
}

/// What one run read of one pod, for [`Store::record_readings`].
#[derive(Debug, Clone)]
pub struct NewReading {
    pub target: String,
    pub incarnation: DateTime<Utc>,
    pub activity: Activity,
    /// The read failed (no answer): the stored row is kept.
    pub failed: bool,
}

impl Store {
    /// The stored readings of `provider`, by target. A row that does not parse is skipped (the
    /// pod is read again).
    pub fn readings(&self, provider: &str) -> Result<HashMap<String, StoredReading>, StoreError> {
        let err = sqlite_error(self.path().to_string());
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT target, incarnation, read_at, activity FROM readings WHERE provider = ?1",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![provider], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(&err)?;
        let mut out = HashMap::new();
        for row in rows {
            let (target, inc, at, activity) = row.map_err(&err)?;
            let parsed = (|| {
                Some(StoredReading {
                    incarnation: super::store::time(&inc)?,
                    read_at: super::store::time(&at)?,
                    activity: serde_json::from_str(&activity).ok()?,
                })
            })();
            if let Some(r) = parsed {
                out.insert(target, r);
            }
        }
        Ok(out)
    }

    /// Records what this run read of `provider`'s pods at `read_at` (see the module doc) and,
    /// when `listed` is given (a complete inventory), forgets the pods it does not hold. One
    /// transaction.
    pub fn record_readings(
        &mut self,
        provider: &str,
        reads: &[NewReading],
        read_at: DateTime<Utc>,
        listed: Option<&HashSet<String>>,
    ) -> Result<(), StoreError> {
        let err = sqlite_error(self.path().to_string());
        let tx = self.conn_mut().transaction().map_err(&err)?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO readings (provider, target, incarnation, read_at, activity)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (provider, target) DO UPDATE SET incarnation = excluded.incarnation,
                       read_at = excluded.read_at, activity = excluded.activity",
                )
                .map_err(&err)?;
            let mut delete = tx
                .prepare_cached("DELETE FROM readings WHERE provider = ?1 AND target = ?2")
                .map_err(&err)?;
            for r in reads.iter().filter(|r| !r.failed) {
                let activity = serde_json::to_string(&r.activity).unwrap_or_default();
                upsert
                    .execute(params![
                        provider,
                        r.target,
                        r.incarnation.to_rfc3339(),
                        read_at.to_rfc3339(),
                        activity
                    ])
                    .map_err(&err)?;
            }
            if let Some(listed) = listed {
                let mut stmt = tx
                    .prepare_cached("SELECT target FROM readings WHERE provider = ?1")
                    .map_err(&err)?;
                let stored: Vec<String> = stmt
                    .query_map(params![provider], |r| r.get::<_, String>(0))
                    .map_err(&err)?
                    .collect::<Result<_, _>>()
                    .map_err(&err)?;
                for gone in stored.iter().filter(|t| !listed.contains(*t)) {
                    delete.execute(params![provider, gone]).map_err(&err)?;
                }
            }
        }
        tx.commit().map_err(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fleet::samples::at;

    fn read(target: &str, activity: Activity, failed: bool) -> NewReading {
        NewReading {
            target: target.into(),
            incarnation: at(-10),
            activity,
            failed,
        }
    }

    #[test]
    fn a_failed_read_keeps_the_row_an_answer_replaces_it_an_unlisted_pod_drops_it() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("open");
        let idle = Activity::Idle {
            since: Some(at(-5)),
            source: None,
            start_seen: true,
            evidence: "GPU 0%".into(),
        };
        store
            .record_readings(
                "ps",
                &[
                    read("a", idle.clone(), false),
                    read("b", Activity::Busy, false),
                    read("c", Activity::Busy, false),
                ],
                at(0),
                None,
            )
            .expect("record");
        let unknown = Activity::Unknown { why: "x".into() };
        store
            .record_readings(
                "ps",
                &[read("a", unknown.clone(), true), read("b", unknown, false)],
                at(1),
                Some(&["a".to_string(), "b".to_string()].into()),
            )
            .expect("record");
        let stored = store.readings("ps").expect("readings");
        assert_eq!(stored.len(), 2, "{stored:?}");
        assert_eq!(stored["a"].activity, idle, "a failed read keeps the row");
        assert_eq!(stored["a"].read_at, at(0));
        assert!(
            matches!(stored["b"].activity, Activity::Unknown { .. })
                && stored["b"].read_at == at(1),
            "an answer that proved nothing replaces it"
        );
        assert!(store.readings("other").expect("readings").is_empty());
    }
}
