//! Cost rows read once: each run reads from a provider only the days of the report's window
//! that the state file does not hold yet and the last `[collect] cost_revision_days` days
//! (which a provider may still revise; today's row grows all day), and takes the others from
//! the state file ([`crate::state::costs`]).
//!
//! A provider may also rewrite an older day. Each run therefore reads one stored day again as a
//! spot check — the one read longest ago — and compares its count and checksum with the stored
//! ones: a mismatch is logged and reported ([`CostReads::revised`]), and every stored day of the
//! window is read again in the same run. So a revision is caught within as many runs as the
//! window has days (one day's extra read per run: 1/61 of a first run's cost reads).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::fleet::{CostReads, CostRow, Pod};
use crate::providers::{Provider, ProviderError};
use crate::state::costs::{summary, StoredDay};
use crate::state::store::{Store, StoreError};

/// Which days to read of the window `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostPlan {
    /// Read from here to `to`: the first day not stored, else the first revisable day.
    pub read_from: NaiveDate,
    /// The stored day before `read_from` read longest ago (ties: the earliest day).
    pub spot: Option<NaiveDate>,
}

/// The plan for a window given what is stored. Pure. A stored day counts as held only when it
/// was read after it was over and once it had left the revisable days (read on or after
/// `day + revision_days - 1`): a day stored while it was still today, or still revisable, and
/// not read since, is read again.
pub fn plan(
    from: NaiveDate,
    to: NaiveDate,
    stored: &BTreeMap<NaiveDate, StoredDay>,
    revision_days: u32,
) -> CostPlan {
    let back = Duration::days(i64::from(revision_days.max(1)) - 1);
    let revisable = (to - back).max(from);
    // Read after the day was over, and once it had left the revisable days.
    let settled = |d: &NaiveDate| {
        stored.get(d).is_some_and(|s| {
            let read = s.read_at.date_naive();
            read > *d && read >= *d + back
        })
    };
    let first_missing = from
        .iter_days()
        .take_while(|d| *d < revisable)
        .find(|d| !settled(d));
    let read_from = first_missing.unwrap_or(revisable);
    let spot = stored
        .iter()
        .filter(|(d, _)| **d >= from && **d < read_from)
        .min_by_key(|(d, s)| (s.read_at, **d))
        .map(|(d, _)| *d);
    CostPlan { read_from, spot }
}

/// Why the cost rows could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads `provider`'s cost rows of `from..=to` as the module doc says, stores what it read and
/// returns the window's rows from the state file.
pub async fn read(
    provider: &dyn Provider,
    pods: &[Pod],
    store: &mut Store,
    (from, to): (NaiveDate, NaiveDate),
    revision_days: u32,
    now: DateTime<Utc>,
) -> Result<(Vec<CostRow>, CostReads), CostError> {
    let name = provider.name().to_string();
    let stored = store.cost_days(&name)?;
    let p = plan(from, to, &stored, revision_days);
    let mut reads = CostReads {
        read: Some((p.read_from, to)),
        spot_checked: p.spot,
        ..CostReads::default()
    };
    // The fresh days first: whatever happens to the spot check, they are kept.
    let fresh = provider.costs(p.read_from, to, pods).await?;
    store.replace_cost_days(&name, p.read_from, to, &fresh, now)?;
    if let Some(day) = p.spot {
        match provider.costs(day, day, pods).await {
            Ok(rows) => {
                let now_held: Vec<&CostRow> = rows.iter().filter(|r| r.date == day).collect();
                let (n, checksum) = summary(&now_held);
                let before = &stored[&day];
                if n == before.rows && checksum == before.checksum {
                    store.replace_cost_days(&name, day, day, &rows, now)?;
                } else {
                    tracing::warn!(
                        provider = %name,
                        %day,
                        rows_before = before.rows,
                        rows_now = n,
                        "the provider revised a stored cost day: reading the whole window again"
                    );
                    reads.revised.push(day);
                    if p.read_from > from {
                        let before = p.read_from - Duration::days(1);
                        let rows = provider.costs(from, before, pods).await?;
                        store.replace_cost_days(&name, from, before, &rows, now)?;
                    }
                    reads.read = Some((from, to));
                }
            }
            // A check that could not be made is only a check missed: the next run makes one.
            Err(e) => {
                tracing::warn!(provider = %name, %day, "cost spot check not made: {e}");
                reads.spot_checked = None;
            }
        }
    }
    let (read_from, _) = reads.read.unwrap_or((p.read_from, to));
    reads.stored_days = usize::try_from((read_from - from).num_days()).unwrap_or(0);
    tracing::info!(provider = %name, "cost rows: {}", reads.describe());
    Ok((store.cost_rows(&name, from, to)?, reads))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default()
    }

    fn stored(days: &[(u32, i64)]) -> BTreeMap<NaiveDate, StoredDay> {
        days.iter()
            .map(|&(day, read_hour)| {
                (
                    d(day),
                    StoredDay {
                        rows: 1,
                        checksum: "x".into(),
                        // Read the day after: settled.
                        read_at: (d(day) + Duration::days(1))
                            .and_time(chrono::NaiveTime::MIN)
                            .and_utc()
                            + Duration::hours(read_hour),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_first_run_reads_the_window_then_only_the_revisable_days_and_one_spot_check() {
        assert_eq!(
            plan(d(1), d(10), &BTreeMap::new(), 2),
            CostPlan {
                read_from: d(1),
                spot: None
            }
        );
        let all: Vec<(u32, i64)> = (1..=10).map(|day| (day, i64::from(day))).collect();
        // Days 1-8 held (read at hours 1..8): read 9-10, check day 1 (read longest ago).
        assert_eq!(
            plan(d(1), d(10), &stored(&all), 2),
            CostPlan {
                read_from: d(9),
                spot: Some(d(1))
            }
        );
        // A hole at day 4: read from there.
        let holed: Vec<(u32, i64)> = all.iter().copied().filter(|(day, _)| *day != 4).collect();
        assert_eq!(
            plan(d(1), d(10), &stored(&holed), 2),
            CostPlan {
                read_from: d(4),
                spot: Some(d(1))
            }
        );
        // With one revisable day, a day read while it was today is still read again.
        let mut today = stored(&all);
        if let Some(s) = today.get_mut(&d(9)) {
            s.read_at = d(9).and_time(chrono::NaiveTime::MIN).and_utc();
        }
        assert_eq!(plan(d(1), d(10), &today, 1).read_from, d(9));
        // A window shorter than the revision days: all of it.
        assert_eq!(plan(d(10), d(10), &stored(&all), 2).read_from, d(10));
        // Day 3 was stored while it was today and not read since: read again from there.
        let mut early = stored(&all);
        if let Some(s) = early.get_mut(&d(3)) {
            s.read_at = d(3).and_time(chrono::NaiveTime::MIN).and_utc();
        }
        assert_eq!(plan(d(1), d(10), &early, 2).read_from, d(3));
    }
}
