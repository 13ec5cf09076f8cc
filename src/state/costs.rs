//! Daily cost rows kept between runs, so that a run reads from the provider only the days it
//! does not hold yet and the days the provider may still revise ([`crate::collect::costs`]
//! decides which). Per provider and day it keeps the rows, their count and a checksum (so a
//! provider that rewrites a stored day is caught when the day is read again) and when the day
//! was last read.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;
use sha2::{Digest, Sha256};

use super::store::{sqlite_error, Store, StoreError};
use crate::fleet::{CostRow, ResourceBreakdown};
use crate::money::{Currency, Money};

/// What is stored of one provider's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDay {
    pub rows: u64,
    pub checksum: String,
    pub read_at: DateTime<Utc>,
}

/// The count and checksum of one day's rows, whatever their order: SHA-256 over the fields
/// each row has from the provider, rows sorted. The project is left out: podwarden fills it
/// in from the inventory (a terminated pod's rows lose it), so it would report a revision the
/// provider never made.
pub fn summary(rows: &[&CostRow]) -> (u64, String) {
    let mut lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                r.pod_id,
                r.worker_id.as_deref().unwrap_or(""),
                r.amount.amount.normalize(),
                r.amount.currency.as_str(),
                r.hours
                    .map(|h| h.normalize().to_string())
                    .unwrap_or_default(),
                r.by_resource
                    .as_ref()
                    .and_then(|b| serde_json::to_string(b).ok())
                    .unwrap_or_default()
            )
        })
        .collect();
    lines.sort_unstable();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    (lines.len() as u64, hex::encode(h.finalize()))
}

impl Store {
    /// The days stored for `provider`.
    pub fn cost_days(&self, provider: &str) -> Result<BTreeMap<NaiveDate, StoredDay>, StoreError> {
        let err = sqlite_error(self.path().to_string());
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT date, rows, checksum, read_at FROM cost_days WHERE provider = ?1",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![provider], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(&err)?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (date, n, checksum, at) = row.map_err(&err)?;
            // A row that does not parse is as good as absent: the day is read again.
            if let (Ok(date), Some(read_at)) = (date.parse(), super::store::time(&at)) {
                out.insert(
                    date,
                    StoredDay {
                        rows: u64::try_from(n).unwrap_or(0),
                        checksum,
                        read_at,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The stored rows of `provider` from `from` to `to` (inclusive), by date then pod.
    pub fn cost_rows(
        &self,
        provider: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CostRow>, StoreError> {
        let err = sqlite_error(self.path().to_string());
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT date, pod_id, worker_id, project, amount, currency, hours, by_resource
                 FROM cost_rows WHERE provider = ?1 AND date >= ?2 AND date <= ?3
                 ORDER BY date, pod_id",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![provider, from.to_string(), to.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (date, pod_id, worker_id, project, amount, currency, hours, by_resource) =
                row.map_err(&err)?;
            let (Ok(date), Some(amount)) = (
                date.parse(),
                Money::parse(&amount, Currency::new(&currency)),
            ) else {
                continue; // written by this module: never happens short of a hand edit
            };
            out.push(CostRow {
                provider: provider.to_string(),
                date,
                pod_id,
                worker_id,
                project,
                amount,
                hours: hours.and_then(|h| h.parse().ok()),
                by_resource: by_resource
                    .and_then(|b| serde_json::from_str::<ResourceBreakdown>(&b).ok()),
            });
        }
        Ok(out)
    }

    /// Replaces `provider`'s days `from` to `to` (inclusive) with `rows` (all of them within
    /// those days), read at `read_at`: every day of the range gets its count and checksum, a
    /// day without rows too. One transaction.
    pub fn replace_cost_days(
        &mut self,
        provider: &str,
        from: NaiveDate,
        to: NaiveDate,
        rows: &[CostRow],
        read_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let err = sqlite_error(self.path().to_string());
        let mut by_day: BTreeMap<NaiveDate, Vec<&CostRow>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.date >= from && r.date <= to) {
            by_day.entry(r.date).or_default().push(r);
        }
        let tx = self.conn_mut().transaction().map_err(&err)?;
        {
            let (f, t) = (from.to_string(), to.to_string());
            tx.execute(
                "DELETE FROM cost_rows WHERE provider = ?1 AND date >= ?2 AND date <= ?3",
                params![provider, f, t],
            )
            .map_err(&err)?;
            tx.execute(
                "DELETE FROM cost_days WHERE provider = ?1 AND date >= ?2 AND date <= ?3",
                params![provider, f, t],
            )
            .map_err(&err)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO cost_rows (provider, date, pod_id, worker_id, project, amount,
                     currency, hours, by_resource) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(&err)?;
            for r in by_day.values().flatten() {
                insert
                    .execute(params![
                        provider,
                        r.date.to_string(),
                        r.pod_id,
                        r.worker_id,
                        r.project,
                        r.amount.amount.to_string(),
                        r.amount.currency.as_str(),
                        r.hours.map(|h| h.to_string()),
                        r.by_resource
                            .as_ref()
                            .and_then(|b| serde_json::to_string(b).ok()),
                    ])
                    .map_err(&err)?;
            }
            let mut day = tx
                .prepare_cached(
                    "INSERT INTO cost_days (provider, date, rows, checksum, read_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(&err)?;
            for date in from.iter_days().take_while(|d| *d <= to) {
                let (n, checksum) = summary(by_day.get(&date).map_or(&[][..], Vec::as_slice));
                day.execute(params![
                    provider,
                    date.to_string(),
                    i64::try_from(n).unwrap_or(i64::MAX),
                    checksum,
                    read_at.to_rfc3339()
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }
}
