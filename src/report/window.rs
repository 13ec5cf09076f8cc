//! The report's time window: the previous full month and this month up to today (UTC days).
//!
//! Derived from the clock, so the window always holds the comparison the headline needs
//! ("same period last month"); `cost_days` in the config can still override how many days
//! are read, and the report then says how far its rows reach.

use chrono::{Datelike, Duration, NaiveDate};

/// The dates a report covers, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day of the previous month.
    pub from: NaiveDate,
    /// Today (the clock's UTC date).
    pub today: NaiveDate,
    /// The first day of this month.
    pub month_start: NaiveDate,
}

/// The first day of the month of `d`.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The number of days in the month of `d`.
pub fn days_in_month(d: NaiveDate) -> u32 {
    let first = month_start(d);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first + Duration::days(31));
    (next - first).num_days() as u32
}

impl Window {
    /// The window at `today`.
    pub fn at(today: NaiveDate) -> Window {
        let month_start = month_start(today);
        let from = month_start
            .checked_sub_months(chrono::Months::new(1))
            .unwrap_or(month_start - Duration::days(31));
        Window {
            from,
            today,
            month_start,
        }
    }

    /// Days from `from` to `today`, both included (what the providers are asked for).
    pub fn days(&self) -> u32 {
        ((self.today - self.from).num_days() + 1).max(1) as u32
    }

    /// Whether `d` is inside the window: from its first day up to today (the day of the
    /// report's instant, a partial day), both included.
    pub fn holds(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.today
    }

    /// Whether `d` is in this month up to today.
    pub fn is_mtd(&self, d: NaiveDate) -> bool {
        self.month_start <= d && d <= self.today
    }

    /// The same period last month: its first day up to today's day of the month (cut at the
    /// end of a shorter month: on March 31 it is February 1 to 28).
    pub fn last_month_same_period(&self) -> (NaiveDate, NaiveDate) {
        let day = self.today.day().min(days_in_month(self.from));
        (self.from, self.from + Duration::days(i64::from(day) - 1))
    }

    /// Days of this month after today (what the forecast adds at today's burn rate).
    pub fn days_left(&self) -> u32 {
        days_in_month(self.today) - self.today.day()
    }

    /// Every date of the window, in order.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.from
            .iter_days()
            .take_while(|d| *d <= self.today)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn window_spans_the_previous_month_and_this_month_to_date() {
        let w = Window::at(d("2026-11-21"));
        assert_eq!(w.from, d("2026-10-01"));
        assert_eq!(w.month_start, d("2026-11-01"));
        assert_eq!(w.days(), 31 + 21);
        assert_eq!(w.days_left(), 9);
        assert_eq!(
            w.last_month_same_period(),
            (d("2026-10-01"), d("2026-10-21"))
        );
    }

    #[test]
    fn same_period_is_cut_at_the_end_of_a_shorter_month() {
        let w = Window::at(d("2026-03-31"));
        assert_eq!(
            w.last_month_same_period(),
            (d("2026-02-01"), d("2026-02-28"))
        );
        let jan = Window::at(d("2026-01-05"));
        assert_eq!(jan.from, d("2025-12-01"));
    }
}
