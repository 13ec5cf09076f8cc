//! Human durations as policies and config write them: `90s`, `30m`, `6h`, `7d`, `2w`, `1d12h`.

use chrono::Duration;

/// Parses a duration; the error says what is wrong and shows a valid form.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. \"6h\" or \"7d\"".into());
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if c.is_whitespace() {
            return Err(format!(
                "{text:?}: durations have no spaces or words; write e.g. \"7d\" or \"6h\""
            ));
        }
        let n: i64 = digits.parse().map_err(|_| {
            format!("{text:?}: a number must come before the unit {c:?}; write e.g. \"6h\"")
        })?;
        digits.clear();
        let part = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            'w' => Duration::try_weeks(n),
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {c:?}; use s, m, h, d or w (e.g. \"6h\", \"7d\")"
                ))
            }
        };
        total += part.ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?} has no unit; write e.g. \"{digits}h\" or \"{digits}d\""
        ));
    }
    Ok(total)
}

/// Formats a duration the way it is parsed, largest units first (`1d6h`).
pub fn format(d: Duration) -> String {
    let mut secs = d.num_seconds();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse("6h"), Ok(Duration::hours(6)));
        assert_eq!(parse("7d"), Ok(Duration::days(7)));
        assert_eq!(parse("1d12h"), Ok(Duration::hours(36)));
        assert_eq!(format(Duration::hours(36)), "1d12h");
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse("6").unwrap_err().contains("no unit"));
        assert!(parse("6y").unwrap_err().contains("unknown unit"));
        assert!(parse("h").is_err());
        assert!(parse("7 days").unwrap_err().contains("no spaces"));
        assert!(parse("").is_err());
    }
}
