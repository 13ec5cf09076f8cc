//! Instants in a scenario file: relative to the sandbox clock at start (`"-5d"`, `"-30m"`,
//! `"+2h"`, `"now"`) or absolute (RFC 3339).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, possibly relative to the sandbox clock at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// This long after (negative: before) the clock at start.
    Relative(Duration),
    At(DateTime<Utc>),
}

impl When {
    /// Shorthand for a relative instant.
    pub fn ago(d: Duration) -> Self {
        When::Relative(-d)
    }

    /// The instant, given the sandbox clock at start.
    pub fn at(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            When::Relative(d) => start + d,
            When::At(t) => t,
        }
    }
}

impl FromStr for When {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "now" {
            return Ok(When::Relative(Duration::zero()));
        }
        if let Some(rest) = s.strip_prefix('-') {
            return crate::duration::parse(rest).map(|d| When::Relative(-d));
        }
        if let Some(rest) = s.strip_prefix('+') {
            return crate::duration::parse(rest).map(When::Relative);
        }
        DateTime::parse_from_rfc3339(s)
            .map(|t| When::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                format!("{s:?}: write a time relative to the sandbox clock (\"-5d\", \"-30m\", \"+2h\", \"now\") or RFC 3339")
            })
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Relative(d) if d.is_zero() => f.write_str("now"),
            When::Relative(d) if *d < Duration::zero() => {
                write!(f, "-{}", crate::duration::format(-*d))
            }
            When::Relative(d) => write!(f, "+{}", crate::duration::format(*d)),
            When::At(t) => f.write_str(&t.to_rfc3339()),
        }
    }
}

impl Serialize for When {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_instants() {
        let start = DateTime::parse_from_rfc3339("2026-11-21T02:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let at = |s: &str| s.parse::<When>().expect(s).at(start);
        assert_eq!(at("-5d"), start - Duration::days(5));
        assert_eq!(at("-1d12h"), start - Duration::hours(36));
        assert_eq!(at("+2h"), start + Duration::hours(2));
        assert_eq!(at("now"), start);
        assert_eq!(
            at("2026-11-01T00:00:00Z").to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!("5d".parse::<When>().is_err());
        assert!("-5x".parse::<When>().is_err());
        assert_eq!("-1d6h".parse::<When>().expect("w").to_string(), "-1d6h");
    }
}
