//! The state store: what podwarden has observed between runs, in the state file.
//!
//! It holds *sightings*: podwarden's own observations that stand in for a start the provider
//! does not give. Each sighting belongs to one run of one state of one pod:
//! - `idle`: the pod was seen idle from `first_seen` to `last_seen`, in the incarnation (last
//!   start) it had then. A pod judged on a stored reading was seen when that reading was made;
//!   one whose activity was not read this run keeps its sighting unchanged. It ends — the row is deleted — when the pod is seen busy, unknown, not
//!   running, or restarted, or when the provider's own evidence shows the idle run began after
//!   `last_seen` (so the pod was busy in between, unseen by a nightly job).
//! - `orphan`: first seen as an orphan (used only when the provider's `orphaned_since` is null).
//!   It ends when the pod is no longer an orphan.
//! - `stopped`: first seen in its current stopped period (names a resume's idempotency key).
//!   It ends when the pod is seen in any other state.
//!
//! Sightings of pods that a complete provider no longer lists are deleted. Providers whose
//! inventory was incomplete are left alone.
//!
//! It also holds *notices* (`plan::notice`): the pending actions of policies with a notice
//! period, keyed by (provider, target, policy, action). They are read by every live command
//! ([`Store::notices`]) and replaced only by `podwarden run` ([`Store::record_notices`]) with
//! what its plan holds, in one transaction: a notice the plan does not carry is dropped —
//! whatever the reason, an incomplete provider included, since then the pod is not known to
//! match.
//!
//! Both tables are defined in [`super::schema`], with the rest of the state file.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Transaction};

use crate::fleet::{Activity, Fleet, Pod, PodStatus, Reading, ResourceKind, Since};
use crate::plan::notice::{Notice, NoticeKey, Notices};
use crate::plan::Plan;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("state file {path} is not an SQLite database (damaged, or another file in its place): {}", super::NOT_A_DATABASE_ADVICE.replace("FILE", .path))]
    NotADatabase { path: String },
    #[error("state store {path}: cannot create its folder: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
}

/// One stored sighting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub incarnation: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

pub struct Store {
    conn: Connection,
    path: String,
}

type Key = (String, &'static str);

impl Store {
    /// Opens (creating if needed) the state file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let conn = super::open(path).map_err(|e| {
            e.wrap(
                |source| StoreError::Folder {
                    path: shown.clone(),
                    source,
                },
                sqlite_error(shown.clone()),
            )
        })?;
        Ok(Store { conn, path: shown })
    }

    /// The state file's path, as errors show it.
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Records what this run saw at `now` and fills in the starts the providers did not give
    /// (see the module doc). Providers that were not read completely are left alone.
    pub fn observe(&mut self, fleet: &mut Fleet, now: DateTime<Utc>) -> Result<(), StoreError> {
        let complete: HashSet<String> = fleet
            .providers
            .iter()
            .filter(|p| p.complete)
            .map(|p| p.name.clone())
            .collect();
        let err = sqlite_error(self.path.clone());
        let tx = self.conn.transaction().map_err(&err)?;
        for provider in &complete {
            let mut stored = load(&tx, provider).map_err(&err)?;
            let mut keep: HashMap<Key, Sighting> = HashMap::new();
            for pod in fleet.pods.iter_mut().filter(|p| &p.provider == provider) {
                let mut take = |what: &'static str| stored.remove(&(pod.target.clone(), what));
                let (orphan, idle, stopped) = (take("orphan"), take("idle"), take("stopped"));
                let target = pod.target.clone();
                // An idle run is seen when its activity was read: a stored reading's time, not
                // now; a pod not read this run keeps its sighting as it was.
                let idle = match &pod.reading {
                    Some(Reading::Skipped { .. }) => {
                        idle.filter(|s| s.incarnation == pod.incarnation())
                    }
                    Some(Reading::Stored { at }) => merge_idle(pod, idle, *at),
                    Some(Reading::Read) | None => merge_idle(pod, idle, now),
                };
                let merged = [
                    ("orphan", merge_orphan(pod, orphan, now)),
                    ("idle", idle),
                    ("stopped", merge_stopped(pod, stopped, now)),
                ];
                for (what, s) in merged {
                    if let Some(s) = s {
                        keep.insert((target.clone(), what), s);
                    }
                }
            }
            save(&tx, provider, &keep).map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }
}

impl Store {
    /// The notices held (see the module doc). A row whose times do not parse is skipped: the
    /// next run that plans its pod starts a new notice (later, never sooner).
    pub fn notices(&self) -> Result<Notices, StoreError> {
        let err = sqlite_error(self.path.clone());
        let mut stmt = self
            .conn
            .prepare(
                "SELECT provider, target, policy, action, incarnation, first_matched, last_matched, due_at FROM notices",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| {
                let text = |i: usize| r.get::<_, String>(i);
                Ok((
                    NoticeKey {
                        provider: text(0)?,
                        target: text(1)?,
                        policy: text(2)?,
                        action: text(3)?,
                    },
                    [text(4)?, text(5)?, text(6)?, text(7)?],
                ))
            })
            .map_err(&err)?;
        let mut out = Notices::new();
        for row in rows {
            let (key, [inc, first, last, due]) = row.map_err(&err)?;
            if let (Some(incarnation), Some(first_matched), Some(last_matched), Some(due_at)) =
                (time(&inc), time(&first), time(&last), time(&due))
            {
                out.insert(
                    key,
                    Notice {
                        incarnation,
                        first_matched,
                        last_matched,
                        due_at,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Replaces the notices with those `plan` holds — its pending actions and the notices
    /// its due actions served — as matched at the plan's `evaluated_at`, in one transaction.
    /// Only `podwarden run` calls this: dry-run reviews neither start nor drop notices.
    pub fn record_notices(&mut self, plan: &Plan) -> Result<(), StoreError> {
        let err = sqlite_error(self.path.clone());
        let tx = self.conn.transaction().map_err(&err)?;
        tx.execute("DELETE FROM notices", []).map_err(&err)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO notices (provider, target, policy, action, incarnation, first_matched, last_matched, due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(&err)?;
            let now = plan.evaluated_at.to_rfc3339();
            let held = plan
                .pending
                .iter()
                .map(|p| {
                    (
                        [p.provider.as_str(), &p.target, &p.policy, p.action.as_str()],
                        p.incarnation,
                        p.first_matched,
                        p.due_at,
                    )
                })
                .chain(plan.actions.iter().filter_map(|a| {
                    a.notice.as_ref().map(|n| {
                        (
                            [a.provider.as_str(), &a.target, &a.policy, a.action.as_str()],
                            n.incarnation,
                            n.first_matched,
                            n.due_at,
                        )
                    })
                }));
            for ([provider, target, policy, action], inc, first, due) in held {
                insert
                    .execute(params![
                        provider,
                        target,
                        policy,
                        action,
                        inc.to_rfc3339(),
                        first.to_rfc3339(),
                        now,
                        due.to_rfc3339()
                    ])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }
}

/// Wraps a SQLite error with the database's path (taken by value: the connection is borrowed
/// mutably while the closure lives).
pub(super) fn sqlite_error(path: String) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| {
        if super::is_not_a_database(&source) {
            return StoreError::NotADatabase { path: path.clone() };
        }
        StoreError::Sqlite {
            path: path.clone(),
            source,
        }
    }
}

pub(super) fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn sighting(incarnation: &str, first: &str, last: &str) -> Option<Sighting> {
    Some(Sighting {
        incarnation: time(incarnation).unwrap_or(DateTime::<Utc>::MIN_UTC),
        first_seen: time(first)?,
        last_seen: time(last)?,
    })
}

fn load(tx: &Transaction<'_>, provider: &str) -> rusqlite::Result<HashMap<Key, Sighting>> {
    let mut stmt = tx.prepare_cached(
        "SELECT target, what, incarnation, first_seen, last_seen FROM sightings WHERE provider = ?1",
    )?;
    let rows = stmt.query_map(params![provider], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (target, what, inc, first, last) = row?;
        let what: &'static str = match what.as_str() {
            "idle" => "idle",
            "orphan" => "orphan",
            "stopped" => "stopped",
            _ => continue, // the table's CHECK allows no other kind
        };
        if let Some(s) = sighting(&inc, &first, &last) {
            out.insert((target, what), s);
        }
    }
    Ok(out)
}

/// Replaces the provider's sightings with `keep` (everything not kept has ended).
fn save(
    tx: &Transaction<'_>,
    provider: &str,
    keep: &HashMap<Key, Sighting>,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM sightings WHERE provider = ?1",
        params![provider],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO sightings (provider, target, what, incarnation, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for ((target, what), s) in keep {
        insert.execute(params![
            provider,
            target,
            what,
            s.incarnation.to_rfc3339(),
            s.first_seen.to_rfc3339(),
            s.last_seen.to_rfc3339()
        ])?;
    }
    Ok(())
}

/// An orphan's start: the provider's `orphaned_since`, else the first sighting as an orphan.
fn merge_orphan(pod: &mut Pod, stored: Option<Sighting>, now: DateTime<Utc>) -> Option<Sighting> {
    if pod.kind != ResourceKind::Orphan {
        return None;
    }
    let first_seen = stored.map_or(now, |s| s.first_seen);
    if pod.orphaned_since.is_none() {
        pod.orphaned_since = Some(first_seen);
        pod.orphaned_since_source = Some(Since::Observed);
    }
    Some(Sighting {
        incarnation: pod.created_at,
        first_seen,
        last_seen: now,
    })
}

/// A stopped pod's stopped period: first seen stopped in this incarnation.
fn merge_stopped(pod: &mut Pod, stored: Option<Sighting>, now: DateTime<Utc>) -> Option<Sighting> {
    if pod.kind != ResourceKind::Pod || pod.status != PodStatus::Stopped {
        return None;
    }
    let first_seen = stored
        .filter(|s| s.incarnation == pod.incarnation())
        .map_or(now, |s| s.first_seen);
    pod.stopped_since = Some(first_seen);
    Some(Sighting {
        incarnation: pod.incarnation(),
        first_seen,
        last_seen: now,
    })
}

/// A running idle pod's idle start. The provider's start wins when it shows one
/// (`start_seen`). Otherwise its `since` is a lower bound (or absent), and the stored sighting
/// of the same run may stand in — only if it is of this incarnation and the provider's evidence
/// reaches back to the last sighting (so no busy spell can hide between them). Never before
/// the pod's last start. Anything but a running idle pod ends the sighting.
fn merge_idle(pod: &mut Pod, stored: Option<Sighting>, now: DateTime<Utc>) -> Option<Sighting> {
    if pod.kind != ResourceKind::Pod || pod.status != PodStatus::Running {
        return None;
    }
    let incarnation = pod.incarnation();
    let last_start = pod.last_started_at;
    let Activity::Idle {
        since,
        source,
        start_seen,
        ..
    } = &mut pod.activity
    else {
        return None; // busy or unknown: the idle run (if any) is over
    };
    let stored = stored.filter(|s| s.incarnation == incarnation);
    let start = if *start_seen {
        *since
    } else {
        match (stored, *since) {
            (Some(s), None) => Some(s.first_seen),
            (Some(s), Some(bound)) if s.last_seen >= bound => Some(s.first_seen.min(bound)),
            (_, bound) => bound.or(Some(now)),
        }
    };
    let start = match (start, last_start) {
        (Some(t), Some(ls)) => Some(t.max(ls)),
        (t, _) => t,
    };
    if start != *since {
        *source = Some(Since::Observed);
        *since = start;
    }
    start.map(|first_seen| Sighting {
        incarnation,
        first_seen,
        last_seen: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fleet::samples::at;

    fn idle_pod(since: Option<DateTime<Utc>>, start_seen: bool) -> Pod {
        let mut pod = crate::fleet::samples::pod("t");
        pod.activity = Activity::Idle {
            since,
            source: since.map(|_| Since::Provider),
            start_seen,
            evidence: String::new(),
        };
        pod
    }

    fn since(p: &Pod) -> Option<DateTime<Utc>> {
        match p.activity {
            Activity::Idle { since, .. } => since,
            _ => None,
        }
    }

    fn fleet(pods: Vec<Pod>, at: DateTime<Utc>) -> Fleet {
        Fleet {
            taken_at: at,
            providers: vec![crate::fleet::ProviderStatus {
                activity_reads: None,
                cost_reads: None,
                name: "p".into(),
                complete: true,
                pods: pods.len(),
                error: None,
                gaps: vec![],
            }],
            pods,
            costs: vec![],
            wallets: vec![],
            idle_costs: Vec::new(),
            facts: Default::default(),
        }
    }

    fn orphan() -> Pod {
        let mut p = idle_pod(None, false);
        p.kind = ResourceKind::Orphan;
        p.activity = Activity::Unknown {
            why: "orphan".into(),
        };
        p
    }

    #[test]
    fn an_orphan_adopted_and_orphaned_again_counts_from_the_second_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("state.db")).expect("store");
        let mut night = |pods: Vec<Pod>, at: DateTime<Utc>| {
            let mut f = fleet(pods, at);
            store.observe(&mut f, at).expect("observe");
            f.pods.first().and_then(|p| p.orphaned_since)
        };
        assert_eq!(night(vec![orphan()], at(0)), Some(at(0)));
        assert_eq!(
            night(vec![orphan()], at(24)),
            Some(at(0)),
            "the same orphan spell"
        );
        // A worker row adopts the pod: the orphan spell is over.
        assert_eq!(night(vec![idle_pod(None, false)], at(48)), None);
        assert_eq!(
            night(vec![orphan()], at(240)),
            Some(at(240)),
            "orphaned again: counted from now, not from the first spell"
        );
    }

    #[test]
    fn a_start_the_provider_shows_beats_an_older_sighting() {
        let mut p = idle_pod(Some(at(23)), true);
        let old = Sighting {
            incarnation: at(-500),
            first_seen: at(2),
            last_seen: at(2),
        };
        merge_idle(&mut p, Some(old), at(26));
        assert_eq!(since(&p), Some(at(23)));
    }

    #[test]
    fn a_sighting_extends_a_lower_bound_only_when_the_evidence_reaches_it() {
        let old = Sighting {
            incarnation: at(-500),
            first_seen: at(0),
            last_seen: at(10),
        };
        let mut covered = idle_pod(Some(at(9)), false);
        merge_idle(&mut covered, Some(old.clone()), at(30));
        assert_eq!(since(&covered), Some(at(0)));
        let mut after_a_gap = idle_pod(Some(at(12)), false);
        merge_idle(&mut after_a_gap, Some(old), at(30));
        assert_eq!(since(&after_a_gap), Some(at(12)));
    }

    #[test]
    fn a_restart_ends_the_sighting_and_idle_never_predates_the_last_start() {
        let old = Sighting {
            incarnation: at(-900),
            first_seen: at(-800),
            last_seen: at(-1),
        };
        let mut p = idle_pod(None, false);
        let kept = merge_idle(&mut p, Some(old), at(0));
        assert_eq!(since(&p), Some(at(0)));
        assert_eq!(kept.map(|s| s.incarnation), Some(at(-500)));
        let mut resumed = idle_pod(Some(at(-600)), true);
        merge_idle(&mut resumed, None, at(0));
        assert_eq!(since(&resumed), Some(at(-500)));
    }

    #[test]
    fn notices_are_held_while_the_pod_matches_on_every_run_and_dropped_once_it_does_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("state.db")).expect("store");
        let toml = "[[policy]]\nname = \"stop-idle\"\naction = \"stop\"\nnotice = \"24h\"\n[policy.match]\nidle_for = \"6h\"\n";
        let set =
            crate::policy::load::load_sources(&[(std::path::PathBuf::from("p.toml"), toml.into())])
                .expect("policy");
        let run = |store: &mut Store, pod: Pod, now: DateTime<Utc>| {
            let settings = crate::plan::PlanSettings {
                notices: store.notices().expect("read"),
                ..Default::default()
            };
            let plan = crate::plan::make(&fleet(vec![pod], now), &set, &settings, now, "r", now)
                .expect("plan");
            store.record_notices(&plan).expect("recorded");
            plan
        };
        let idle = || idle_pod(Some(at(-10)), true);
        let first = run(&mut store, idle(), at(0));
        assert!(first.actions.is_empty());
        assert_eq!(
            first
                .pending
                .iter()
                .map(|p| (p.first_matched, p.due_at))
                .collect::<Vec<_>>(),
            vec![(at(0), at(24))]
        );
        let second = run(&mut store, idle(), at(12));
        assert!(second.actions.is_empty());
        assert_eq!(second.pending.first().map(|p| p.first_matched), Some(at(0)));
        let third = run(&mut store, idle(), at(25));
        assert!(third.pending.is_empty());
        assert_eq!(
            third
                .actions
                .first()
                .and_then(|a| a.notice.as_ref())
                .map(|n| n.first_matched),
            Some(at(0)),
            "due: an action that served its notice"
        );
        assert_eq!(
            store
                .notices()
                .expect("read")
                .values()
                .map(|n| n.last_matched)
                .collect::<Vec<_>>(),
            vec![at(25)],
            "a due action keeps its notice until it no longer matches"
        );
        let mut busy = idle();
        busy.activity = Activity::Busy;
        let fourth = run(&mut store, busy, at(30));
        assert!(fourth.actions.is_empty() && fourth.pending.is_empty());
        assert!(store.notices().expect("read").is_empty(), "dropped");
        let fifth = run(&mut store, idle_pod(Some(at(24)), true), at(31));
        assert_eq!(
            fifth.pending.first().map(|p| p.first_matched),
            Some(at(31)),
            "matching again starts a new notice"
        );
    }
}
