//! PLACEHOLDER (replaced by the journal branch): the write-ahead audit journal's API.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("audit journal {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Planned,
    Sent,
    Accepted,
    Failed,
    Skipped,
    Verified,
    Unverified,
}

impl Stage {
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
    fn parse(s: &str) -> Stage {
        match s {
            "sent" => Stage::Sent,
            "accepted" => Stage::Accepted,
            "failed" => Stage::Failed,
            "skipped" => Stage::Skipped,
            "verified" => Stage::Verified,
            "unverified" => Stage::Unverified,
            _ => Stage::Planned,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    pub run_id: String,
    pub action_id: String,
    pub idempotency_key: String,
    pub provider: String,
    pub target: String,
    pub pod_id: String,
    pub kind: String,
    pub action: String,
    pub policy: String,
    pub reason: String,
    pub stage: Stage,
    pub http_status: Option<u16>,
    pub operation_id: Option<String>,
    pub audit_id: Option<String>,
    pub detail: Option<String>,
    pub est_savings_per_day: Option<String>,
    pub currency: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    #[serde(flatten)]
    pub new: NewRecord,
}

pub struct Journal {
    conn: Connection,
    path: String,
}

impl Journal {
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let p = path.display().to_string();
        let err = |source| JournalError::Sqlite {
            path: p.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, stage TEXT NOT NULL, body TEXT NOT NULL);",
        )
        .map_err(err)?;
        Ok(Journal { conn, path: p })
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn append(&mut self, r: NewRecord) -> Result<Record, JournalError> {
        let body = serde_json::to_string(&r).unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO journal (key, stage, body) VALUES (?1, ?2, ?3)",
                params![r.idempotency_key, r.stage.as_str(), body],
            )
            .map_err(|e| self.err(e))?;
        Ok(Record {
            seq: self.conn.last_insert_rowid(),
            prev_hash: String::new(),
            hash: String::new(),
            new: r,
        })
    }

    fn row(seq: i64, body: &str) -> Option<Record> {
        let new: NewRecord = serde_json::from_str(body).ok()?;
        Some(Record {
            seq,
            prev_hash: String::new(),
            hash: String::new(),
            new,
        })
    }

    pub fn latest(&self, idempotency_key: &str) -> Result<Option<Record>, JournalError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, body FROM journal WHERE key = ?1 ORDER BY seq DESC LIMIT 1",
                params![idempotency_key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(row.and_then(|(seq, body)| Self::row(seq, &body)))
    }

    pub fn unfinished(&self) -> Result<Vec<Record>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, body, stage FROM journal j WHERE seq = (SELECT MAX(seq) FROM journal k WHERE k.key = j.key) ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body, stage) = row.map_err(|e| self.err(e))?;
            if matches!(Stage::parse(&stage), Stage::Planned | Stage::Sent) {
                out.extend(Self::row(seq, &body));
            }
        }
        Ok(out)
    }
}
