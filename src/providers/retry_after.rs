//! `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP date, as a pause from now.

use std::time::{Duration, SystemTime};

/// The pause a `Retry-After` value asks for, measured from `now` (the wall clock: an HTTP
/// date is wall-clock time). A date in the past asks for no pause; a value that is neither
/// a number of seconds nor an HTTP date is `None` (the caller falls back to its own rule).
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn seconds() {
        assert_eq!(parse(" 42 ", at(0)), Some(Duration::from_secs(42)));
        assert_eq!(parse("0", at(0)), Some(Duration::ZERO));
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        // 1994-11-06 08:49:37 UTC = 784111777
        let now = at(784_111_777 - 30);
        for v in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse(v, now), Some(Duration::from_secs(30)), "{v}");
        }
    }

    #[test]
    fn a_date_in_the_past_means_now() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT", at(784_111_777 + 5)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(parse("soon", at(0)), None);
        assert_eq!(parse("-3", at(0)), None);
        assert_eq!(parse("", at(0)), None);
    }
}
