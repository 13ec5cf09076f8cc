//! Schedule windows (`[policy.schedule]`): when a policy may act, in its time zone's local
//! wall-clock time.
//!
//! Decisions (docs/policies.md, "Schedules", says the same):
//! - `from == to` is refused by `validate` (P018): an empty window. To act at any time, omit
//!   `[policy.schedule]`; to act all day on some days, write `from = "00:00"`, `to = "24:00"`.
//!   `"24:00"` (the end of the day) is allowed as `to` only.
//! - A window with `to <= from` wraps past midnight. It belongs to the day it **opens**: with
//!   `days = ["fri"]`, `19:00`–`07:00` is open from Friday 19:00 to Saturday 07:00, so Saturday
//!   03:00 is inside and Friday 03:00 (Thursday's window) is not.
//! - Each edge is resolved to one instant of real time: the local time itself when the clock
//!   shows it once; the **first** of the two when the clock is set back and shows it twice
//!   (fall-back); the moment of the **jump** when the clock skips it (spring-forward). The window
//!   is open from its opening instant (inclusive) to its closing instant (exclusive). So on the
//!   spring-forward day a window that opens inside the missing hour (e.g. 02:30 in
//!   Europe/Berlin) opens at the jump (03:00 CEST), one that closes inside it closes at the
//!   jump, and one lying wholly inside it does not open that day. On the fall-back day a
//!   repeated hour inside a window is inside it both times (the window is an hour longer); a
//!   window that opens in the repeated hour opens the first time and stays open; one that
//!   closes in the repeated hour closes the first time and does not open again when the clock
//!   shows that hour a second time. A policy therefore never acts at a wall-clock time outside
//!   its window, and a window never has a hole in it.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// A time of day on the local wall clock, as minutes since midnight: `00:00` to `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClockTime(u16);

impl ClockTime {
    /// `24:00`: the end of the day (allowed as a window's `to` only).
    pub const END_OF_DAY: ClockTime = ClockTime(24 * 60);

    /// Parses `HH:MM` (`00:00` to `23:59`, and `24:00`).
    pub fn parse(s: &str) -> Option<ClockTime> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        match (h, m) {
            (24, 0) => Some(ClockTime::END_OF_DAY),
            (0..=23, 0..=59) => Some(ClockTime(h * 60 + m)),
            _ => None,
        }
    }

    /// The time on `day`; `24:00` is midnight of the next day.
    fn on(self, day: NaiveDate) -> Option<chrono::NaiveDateTime> {
        let midnight = day.and_time(NaiveTime::MIN);
        midnight.checked_add_signed(Duration::minutes(i64::from(self.0)))
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// A schedule window: the policy acts only between `from` and `to` local time, in windows
/// that open on one of `days`. Validation guarantees `from != to` and `from != 24:00`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub days: Vec<Weekday>,
    pub from: ClockTime,
    pub to: ClockTime,
    pub timezone: chrono_tz::Tz,
}

/// Longest stretch of local time a clock change can skip that [`instant`] steps over
/// (zones have skipped a whole day when moving across the date line).
const MAX_GAP_MINUTES: i64 = 25 * 60;

impl Schedule {
    /// Whether the window wraps past midnight (it then closes on the next day).
    pub fn wraps(&self) -> bool {
        self.to <= self.from
    }

    /// The window that opens on `day` (local date), as instants: `[open, close)`. `None` only
    /// when an edge cannot be placed in time (then the window is treated as closed).
    fn window(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let close_day = if self.wraps() { day.succ_opt()? } else { day };
        Some((
            instant(self.timezone, day, self.from)?,
            instant(self.timezone, close_day, self.to)?,
        ))
    }

    /// Whether `now` falls in a window that opened on one of `days`. A window lasts less
    /// than a day of local time, so only the windows of today and yesterday can hold `now`.
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        let today = now.with_timezone(&self.timezone).date_naive();
        [today.pred_opt(), Some(today)]
            .into_iter()
            .flatten()
            .filter(|day| self.days.contains(&day.weekday()))
            .filter_map(|day| self.window(day))
            .any(|(open, close)| open <= now && now < close)
    }
}

impl Schedule {
    /// The first instant at or after `t` inside a window: `t` itself when a window holds it,
    /// else the next opening (within the next eight local days). When a policy with a notice
    /// can first really act.
    pub fn first_open_from(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.contains(t) {
            return Some(t);
        }
        let today = t.with_timezone(&self.timezone).date_naive();
        (0..=8)
            .filter_map(|i| today.checked_add_days(chrono::Days::new(i)))
            .filter(|day| self.days.contains(&day.weekday()))
            .filter_map(|day| self.window(day))
            .filter(|(open, close)| open < close && *open >= t)
            .map(|(open, _)| open)
            .min()
    }
}

impl fmt::Display for Schedule {
    /// e.g. `Mon,Tue 19:00–07:00 Europe/Berlin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<String> = self.days.iter().map(|d| d.to_string()).collect();
        write!(
            f,
            "{} {}–{} {}",
            days.join(","),
            self.from,
            self.to,
            self.timezone
        )
    }
}

/// Whether `now` falls in the schedule's window (see the module's rules).
pub fn in_schedule(s: &Schedule, now: DateTime<Utc>) -> bool {
    s.contains(now)
}

/// The instant `tz`'s clock shows `time` on `day`: the earlier one when it shows it twice,
/// the moment of the jump when it skips it.
fn instant(tz: chrono_tz::Tz, day: NaiveDate, time: ClockTime) -> Option<DateTime<Utc>> {
    let mut local = time.on(day)?;
    for _ in 0..=MAX_GAP_MINUTES {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return Some(t.with_timezone(&Utc));
        }
        // Skipped by a clock change: the first minute the clock does show is the jump.
        local = local.checked_add_signed(Duration::minutes(1))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(days: &[Weekday], from: &str, to: &str, tz: &str) -> Schedule {
        Schedule {
            days: days.to_vec(),
            from: ClockTime::parse(from).expect("from"),
            to: ClockTime::parse(to).expect("to"),
            timezone: tz.parse().expect("zone"),
        }
    }

    fn at(utc: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(utc)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn clock_times_parse_from_00_00_to_24_00() {
        assert_eq!(ClockTime::parse("00:00"), Some(ClockTime(0)));
        assert_eq!(ClockTime::parse("07:05"), Some(ClockTime(425)));
        assert_eq!(ClockTime::parse("24:00"), Some(ClockTime::END_OF_DAY));
        for bad in ["24:01", "25:00", "7:00", "07:60", "0700", "07:00:00", ""] {
            assert_eq!(ClockTime::parse(bad), None, "{bad}");
        }
        assert_eq!(ClockTime::END_OF_DAY.to_string(), "24:00");
    }

    #[test]
    fn from_00_00_to_24_00_is_the_whole_listed_day_and_no_more() {
        // 2026-11-21 is a Saturday.
        let s = schedule(&[Weekday::Sat], "00:00", "24:00", "UTC");
        assert!(s.contains(at("2026-11-21T00:00:00Z")));
        assert!(s.contains(at("2026-11-21T23:59:59Z")));
        assert!(!s.contains(at("2026-11-22T00:00:00Z")), "Sunday");
        assert!(!s.contains(at("2026-11-20T23:59:59Z")), "Friday");
        let evening = schedule(&[Weekday::Sat], "18:00", "24:00", "UTC");
        assert!(evening.contains(at("2026-11-21T23:30:00Z")));
        assert!(!evening.contains(at("2026-11-21T17:59:00Z")));
        assert!(!evening.contains(at("2026-11-22T00:00:00Z")));
    }

    #[test]
    fn a_wrapped_window_belongs_to_the_day_it_opens() {
        // Friday 19:00 – Saturday 07:00 only (2026-11-20 is a Friday).
        let s = schedule(&[Weekday::Fri], "19:00", "07:00", "UTC");
        assert!(s.contains(at("2026-11-21T03:00:00Z")), "Saturday 03:00");
        assert!(!s.contains(at("2026-11-20T03:00:00Z")), "Friday 03:00");
        assert!(s.contains(at("2026-11-20T19:00:00Z")), "Friday 19:00");
        assert!(!s.contains(at("2026-11-21T07:00:00Z")), "Saturday 07:00");
        assert!(!s.contains(at("2026-11-21T19:30:00Z")), "Saturday 19:30");
    }

    // Europe/Berlin, 2026-03-29 (Sunday): at 01:00 UTC the clock jumps from 02:00 CET to
    // 03:00 CEST; 02:00–02:59 local does not exist.

    #[test]
    fn spring_forward_a_window_opening_in_the_missing_hour_opens_at_the_jump() {
        let s = schedule(&[Weekday::Sun], "02:30", "06:00", "Europe/Berlin");
        assert!(!s.contains(at("2026-03-29T00:59:00Z")), "01:59 CET");
        assert!(s.contains(at("2026-03-29T01:00:00Z")), "03:00 CEST");
        assert!(s.contains(at("2026-03-29T03:59:00Z")), "05:59 CEST");
        assert!(!s.contains(at("2026-03-29T04:00:00Z")), "06:00 CEST");
    }

    #[test]
    fn spring_forward_a_window_closing_in_the_missing_hour_closes_at_the_jump() {
        let s = schedule(&[Weekday::Sat], "22:00", "02:30", "Europe/Berlin");
        assert!(s.contains(at("2026-03-28T21:00:00Z")), "Saturday 22:00 CET");
        assert!(s.contains(at("2026-03-29T00:59:00Z")), "01:59 CET");
        assert!(!s.contains(at("2026-03-29T01:00:00Z")), "03:00 CEST");
        assert!(!s.contains(at("2026-03-29T01:15:00Z")), "03:15 CEST");
    }

    #[test]
    fn spring_forward_a_window_inside_the_missing_hour_does_not_open_that_day() {
        let s = schedule(&[Weekday::Sun], "02:10", "02:50", "Europe/Berlin");
        for t in [
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:20:00Z",
        ] {
            assert!(!s.contains(at(t)), "{t}");
        }
        // A week later the clock shows 02:30 again (00:30 UTC in CEST).
        assert!(s.contains(at("2026-04-05T00:30:00Z")));
    }

    // Europe/Berlin, 2026-10-25 (Sunday): at 01:00 UTC the clock goes back from 03:00 CEST
    // to 02:00 CET; 02:00–02:59 local happens twice (00:00–01:00 and 01:00–02:00 UTC).

    #[test]
    fn fall_back_a_repeated_hour_inside_the_window_is_inside_both_times() {
        let s = schedule(&[Weekday::Sun], "01:00", "04:00", "Europe/Berlin");
        assert!(!s.contains(at("2026-10-24T22:59:00Z")), "00:59 CEST");
        assert!(s.contains(at("2026-10-24T23:00:00Z")), "01:00 CEST");
        assert!(s.contains(at("2026-10-25T00:30:00Z")), "02:30 CEST");
        assert!(s.contains(at("2026-10-25T01:30:00Z")), "02:30 CET");
        assert!(s.contains(at("2026-10-25T02:59:00Z")), "03:59 CET");
        assert!(!s.contains(at("2026-10-25T03:00:00Z")), "04:00 CET");
    }

    #[test]
    fn fall_back_a_window_opening_in_the_repeated_hour_opens_the_first_time_without_a_hole() {
        let s = schedule(&[Weekday::Sun], "02:30", "06:00", "Europe/Berlin");
        assert!(!s.contains(at("2026-10-25T00:29:00Z")), "02:29 CEST");
        assert!(s.contains(at("2026-10-25T00:30:00Z")), "02:30 CEST");
        // The clock shows 02:15 again (CET): the window, already open, stays open.
        assert!(s.contains(at("2026-10-25T01:15:00Z")), "02:15 CET");
        assert!(s.contains(at("2026-10-25T04:59:00Z")), "05:59 CET");
        assert!(!s.contains(at("2026-10-25T05:00:00Z")), "06:00 CET");
    }

    #[test]
    fn fall_back_a_window_closing_in_the_repeated_hour_closes_the_first_time_for_good() {
        let s = schedule(&[Weekday::Sat], "22:00", "02:30", "Europe/Berlin");
        assert!(s.contains(at("2026-10-25T00:15:00Z")), "02:15 CEST");
        assert!(!s.contains(at("2026-10-25T00:30:00Z")), "02:30 CEST");
        // The clock shows 02:15 a second time (CET): the window does not open again.
        assert!(!s.contains(at("2026-10-25T01:15:00Z")), "02:15 CET");
    }

    #[test]
    fn a_window_is_described_for_the_plan() {
        let s = schedule(
            &[Weekday::Mon, Weekday::Fri],
            "19:00",
            "24:00",
            "Europe/Berlin",
        );
        assert_eq!(s.to_string(), "Mon,Fri 19:00–24:00 Europe/Berlin");
    }
}
