//! Daily busy hours: a pod busy between two UTC wall-clock times every day, idle otherwise.
//!
//! Written `"08:00-23:00"` (busy from 08:00 up to, not including, 23:00). A window may wrap
//! past midnight (`"22:00-06:00"`); from and to must differ. Every day has exactly one end
//! of a busy period, at `to`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Busy from `from` to `to` (UTC) every day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyHours {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl DailyHours {
    /// Whether `at` falls inside the day's busy hours.
    pub fn is_busy(&self, at: DateTime<Utc>) -> bool {
        let t = at.time();
        if self.from < self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }

    /// The end of the latest busy period at or before `at`.
    pub fn latest_end(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let today = at.date_naive().and_time(self.to).and_utc();
        if today <= at {
            today
        } else {
            today - Duration::days(1)
        }
    }

    /// The busy time inside `[a, b)`.
    pub fn busy_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        // A period opening the day before `a` may still be running at `a` (wrapping windows).
        let mut day = a.date_naive() - Duration::days(1);
        while day <= b.date_naive() {
            let start = day.and_time(self.from).and_utc();
            let end = if self.from < self.to {
                day.and_time(self.to).and_utc()
            } else {
                (day + Duration::days(1)).and_time(self.to).and_utc()
            };
            let (s, e) = (start.max(a), end.min(b));
            if s < e {
                total += e - s;
            }
            day += Duration::days(1);
        }
        total
    }
}

impl fmt::Display for DailyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.from.format("%H:%M"),
            self.to.format("%H:%M")
        )
    }
}

impl FromStr for DailyHours {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hint = || format!("{s:?}: daily hours are written \"08:00-23:00\" (UTC)");
        let (from, to) = s.split_once('-').ok_or_else(hint)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| hint());
        let hours = DailyHours {
            from: time(from)?,
            to: time(to)?,
        };
        if hours.from == hours.to {
            return Err(format!("{s:?}: from and to must differ"));
        }
        Ok(hours)
    }
}

impl Serialize for DailyHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DailyHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn busy_hours_and_their_latest_end() {
        let h: DailyHours = "08:00-23:00".parse().expect("hours");
        assert!(!h.is_busy(at("2026-11-21T02:00:00Z")));
        assert!(h.is_busy(at("2026-11-21T08:00:00Z")));
        assert!(!h.is_busy(at("2026-11-21T23:00:00Z")));
        assert_eq!(
            h.latest_end(at("2026-11-21T02:00:00Z")),
            at("2026-11-20T23:00:00Z")
        );
        assert_eq!(
            h.latest_end(at("2026-11-21T23:30:00Z")),
            at("2026-11-21T23:00:00Z")
        );
        assert_eq!(
            h.busy_between(at("2026-11-20T00:00:00Z"), at("2026-11-22T00:00:00Z")),
            Duration::hours(30)
        );
    }

    #[test]
    fn a_window_may_wrap_past_midnight() {
        let h: DailyHours = "22:00-06:00".parse().expect("hours");
        assert!(h.is_busy(at("2026-11-21T02:00:00Z")));
        assert!(!h.is_busy(at("2026-11-21T12:00:00Z")));
        assert_eq!(
            h.busy_between(at("2026-11-21T00:00:00Z"), at("2026-11-21T12:00:00Z")),
            Duration::hours(6)
        );
        assert!("08:00-08:00".parse::<DailyHours>().is_err());
        assert!("8-23".parse::<DailyHours>().is_err());
    }
}
