//! When a cron schedule fires, in local wall-clock time of a time zone, across DST changes.
//!
//! The fire times are computed here rather than by tokio-cron-scheduler's `*_tz` jobs: those
//! fix the zone's UTC offset when the job is created, so after a DST change they run an hour
//! off (the crate's issues #87 and #107). Here the cron fields are matched against *local*
//! wall-clock times, and each matching local time is then mapped to an instant:
//!
//! - a local time that exists once is that instant;
//! - a local time that is repeated (the autumn fold) is its **first** occurrence, so it runs
//!   once, and the repeated hour fires nothing a second time;
//! - a local time that does not exist (the spring gap) is the instant the gap ends (03:00
//!   CEST for 02:30 in Europe/Berlin), so it runs once, right after the gap; several matching
//!   times inside one gap still make one run.
//!
//! That mapping never goes backwards, so "the first matching local time whose instant is
//! after `t`" is the next fire after `t`.
//!
//! Expressions: the usual five fields (minute hour day-of-month month day-of-week) or the
//! six-field form of tokio-cron-scheduler (seconds first). Both are read by croner, the
//! parser the scheduler crate uses. Decision: when both day fields are restricted, a day
//! matches when **either** does (Vixie cron's rule), not both (the scheduler crate's
//! `dom_and_dow` setting), because a cron line reads that way everywhere else.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// Bounds the search for the next fire (e.g. `* * * * * *` inside a one-hour fold): more
/// candidates than this mean the expression never fires again (`0 0 30 2 *`).
const MAX_CANDIDATES: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error(
        "cron {expr:?}: {fields} fields; write five (minute hour day month weekday, e.g. \"0 2 * * *\") \
         or six with seconds first (e.g. \"0 0 2 * * *\")"
    )]
    Fields { expr: String, fields: usize },
    #[error("cron {expr:?}: {message}")]
    Parse { expr: String, message: String },
    #[error("timezone {0:?} is not an IANA time zone name (e.g. \"Europe/Berlin\", \"UTC\")")]
    TimeZone(String),
}

/// A cron expression evaluated in a time zone's wall-clock time.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    tz: Tz,
    expr: String,
}

impl CronSchedule {
    /// Reads a five- or six-field expression and an IANA time zone name.
    pub fn parse(expr: &str, timezone: &str) -> Result<CronSchedule, CronError> {
        let tz: Tz = timezone
            .trim()
            .parse()
            .map_err(|_| CronError::TimeZone(timezone.to_string()))?;
        let fields = expr.split_whitespace().count();
        let six = match fields {
            5 => format!("0 {}", expr.trim()),
            6 => expr.trim().to_string(),
            _ => {
                return Err(CronError::Fields {
                    expr: expr.to_string(),
                    fields,
                })
            }
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Disallowed)
            .build()
            .parse(&six)
            .map_err(|e| CronError::Parse {
                expr: expr.to_string(),
                message: e.to_string(),
            })?;
        Ok(CronSchedule {
            cron,
            tz,
            expr: expr.trim().to_string(),
        })
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The first fire strictly after `after`; `None` when the expression never fires again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Local wall-clock times, carried in a UTC value only so that croner steps through
        // them without any zone of its own.
        let mut candidate = Utc.from_utc_datetime(&after.with_timezone(&self.tz).naive_local());
        for _ in 0..MAX_CANDIDATES {
            candidate = self.cron.find_next_occurrence(&candidate, false).ok()?;
            let fire = self.instant_of(candidate.naive_utc())?;
            if fire > after {
                return Some(fire);
            }
        }
        None
    }

    /// The next `n` fires after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    /// The instant a local wall-clock time stands for (see the module doc).
    fn instant_of(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                // Inside a gap: the first whole minute after it that exists is where it ends.
                let minute = local.with_second(0)?.with_nanosecond(0)?;
                (1..=24 * 60).find_map(|m| {
                    match self
                        .tz
                        .from_local_datetime(&(minute + Duration::minutes(m)))
                    {
                        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                            Some(t.with_timezone(&Utc))
                        }
                        LocalResult::None => None,
                    }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` as Europe/Berlin wall-clock times with their offset (hand-written).
    fn berlin(expected: &[&str]) -> Vec<DateTime<Utc>> {
        expected
            .iter()
            .map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .expect("RFC 3339")
                    .with_timezone(&Utc)
            })
            .collect()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("RFC 3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn five_field_nightly_across_the_march_change_runs_after_the_gap_once() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
        let s = CronSchedule::parse("30 2 * * *", "Europe/Berlin").expect("parses");
        assert_eq!(
            s.upcoming(at("2026-03-27T12:00:00Z"), 4),
            berlin(&[
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00", // right after the gap
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:30:00+02:00",
            ])
        );
    }

    #[test]
    fn five_field_nightly_across_the_october_change_runs_once_in_the_repeated_hour() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let s = CronSchedule::parse("30 2 * * *", "Europe/Berlin").expect("parses");
        assert_eq!(
            s.upcoming(at("2026-10-23T12:00:00Z"), 3),
            berlin(&[
                "2026-10-24T02:30:00+02:00",
                "2026-10-25T02:30:00+02:00", // the first 02:30 only
                "2026-10-26T02:30:00+01:00",
            ])
        );
        // Asked from inside the repeated hour (the second 02:15), the second 02:30 is skipped.
        assert_eq!(
            s.next_after(at("2026-10-25T02:15:00+01:00")),
            Some(at("2026-10-26T02:30:00+01:00"))
        );
    }

    #[test]
    fn six_field_keeps_local_time_on_both_changes() {
        // 01:15:00 every day exists on both change days: always 01:15 local, whatever the offset.
        let s = CronSchedule::parse("0 15 1 * * *", "Europe/Berlin").expect("parses");
        assert_eq!(
            s.upcoming(at("2026-03-28T00:00:00Z"), 3),
            berlin(&[
                "2026-03-28T01:15:00+01:00",
                "2026-03-29T01:15:00+01:00",
                "2026-03-30T01:15:00+02:00",
            ])
        );
        assert_eq!(
            s.upcoming(at("2026-10-23T22:00:00Z"), 3),
            berlin(&[
                "2026-10-24T01:15:00+02:00",
                "2026-10-25T01:15:00+02:00",
                "2026-10-26T01:15:00+01:00",
            ])
        );
    }

    #[test]
    fn six_field_half_hourly_through_the_gap_and_the_fold() {
        let s = CronSchedule::parse("0 */30 * * * *", "Europe/Berlin").expect("parses");
        // 02:00 and 02:30 do not exist: one run at 03:00 CEST, then on as usual.
        assert_eq!(
            s.upcoming(at("2026-03-29T01:00:00+01:00"), 4),
            berlin(&[
                "2026-03-29T01:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:30:00+02:00",
                "2026-03-29T04:00:00+02:00",
            ])
        );
        // 02:00 and 02:30 happen twice: each runs once (the first time).
        assert_eq!(
            s.upcoming(at("2026-10-25T01:45:00+02:00"), 4),
            berlin(&[
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T03:00:00+01:00",
                "2026-10-25T03:30:00+01:00",
            ])
        );
    }

    #[test]
    fn rejects_other_field_counts_and_unknown_zones() {
        assert!(matches!(
            CronSchedule::parse("0 2 * *", "UTC"),
            Err(CronError::Fields { fields: 4, .. })
        ));
        assert!(matches!(
            CronSchedule::parse("0 0 2 * * * 2026", "UTC"),
            Err(CronError::Fields { fields: 7, .. })
        ));
        assert!(matches!(
            CronSchedule::parse("0 2 * * *", "Europe/Berlln"),
            Err(CronError::TimeZone(_))
        ));
        assert!(matches!(
            CronSchedule::parse("0 25 * * *", "UTC"),
            Err(CronError::Parse { .. })
        ));
    }

    #[test]
    fn five_fields_mean_minute_first_and_weekdays_count_from_sunday() {
        // Sundays at 02:00 (0 = Sunday, as in crontab).
        let s = CronSchedule::parse("0 2 * * 0", "UTC").expect("parses");
        assert_eq!(
            s.next_after(at("2026-11-19T00:00:00Z")),
            Some(at("2026-11-22T02:00:00Z"))
        );
    }
}

#[cfg(test)]
mod review_tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("RFC 3339")
            .with_timezone(&Utc)
    }

    fn next(expr: &str, tz: &str, after: &str) -> Vec<DateTime<Utc>> {
        CronSchedule::parse(expr, tz)
            .expect("parses")
            .upcoming(at(after), 3)
    }

    #[test]
    fn five_field_day_fields_sunday_seven_and_midnight() {
        // A restricted day-of-month with a `*` weekday is that day only (not every day).
        assert_eq!(
            next("0 2 1 * *", "UTC", "2026-11-19T00:00:00Z"),
            vec![
                at("2026-12-01T02:00:00Z"),
                at("2027-01-01T02:00:00Z"),
                at("2027-02-01T02:00:00Z")
            ]
        );
        // A restricted weekday with a `*` day is that weekday only.
        assert_eq!(
            next("0 2 * * 1", "UTC", "2026-11-19T00:00:00Z"),
            vec![
                at("2026-11-23T02:00:00Z"),
                at("2026-11-30T02:00:00Z"),
                at("2026-12-07T02:00:00Z")
            ]
        );
        // Both restricted: either (Vixie cron), as the module doc decides.
        assert_eq!(
            next("0 2 1 * 1", "UTC", "2026-11-19T00:00:00Z"),
            vec![
                at("2026-11-23T02:00:00Z"),
                at("2026-11-30T02:00:00Z"),
                at("2026-12-01T02:00:00Z")
            ]
        );
        // 7 is Sunday too, as in crontab.
        assert_eq!(
            next("0 2 * * 7", "UTC", "2026-11-19T00:00:00Z")[0],
            at("2026-11-22T02:00:00Z")
        );
        // 23:59 then midnight, local, across a day and a month boundary.
        assert_eq!(
            next("59 23,0 * * *", "Europe/Berlin", "2026-11-30T22:00:00Z"),
            vec![
                at("2026-11-30T23:59:00+01:00"),
                at("2026-12-01T00:59:00+01:00"),
                at("2026-12-01T23:59:00+01:00")
            ]
        );
        assert_eq!(
            next("0 0 * * *", "Europe/Berlin", "2026-11-30T22:59:59Z"),
            vec![
                at("2026-12-01T00:00:00+01:00"),
                at("2026-12-02T00:00:00+01:00"),
                at("2026-12-03T00:00:00+01:00")
            ]
        );
    }

    #[test]
    fn a_zone_whose_dst_gap_is_at_midnight_runs_once_after_it() {
        // America/Santiago 2026-09-06: 00:00 -04 jumps to 01:00 -03; midnight does not exist.
        assert_eq!(
            next("0 0 * * *", "America/Santiago", "2026-09-04T12:00:00Z"),
            vec![
                at("2026-09-05T00:00:00-04:00"),
                at("2026-09-06T01:00:00-03:00"),
                at("2026-09-07T00:00:00-03:00")
            ]
        );
    }
}
