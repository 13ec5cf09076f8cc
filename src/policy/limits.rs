//! Circuit-breaker limits as written — a policy's `[policy.limits]` and podwarden.toml's
//! global `[limits]` — with the one check both go through, so both accept exactly the same
//! values: `max_actions` at least 1, `max_fleet_share` more than 0 % and at most 100 %,
//! `max_per_day` amounts positive decimals written as strings, keyed by 3-letter currency
//! codes (upper-cased).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::Limits;

/// The keys of a limits table.
pub const KEYS: &[&str] = &["max_actions", "max_fleet_share", "max_per_day"];

/// A limits table as written (the policy loader fills it from its spanned tree, the config
/// deserializes it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsToml {
    pub max_actions: Option<i64>,
    /// e.g. "10%".
    pub max_fleet_share: Option<String>,
    /// e.g. { USD = "2000.00", INR = "150000" }.
    #[serde(default)]
    pub max_per_day: BTreeMap<String, String>,
}

/// One refused limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitError {
    /// The key at fault: `max_actions`, `max_fleet_share` or `max_per_day.CODE` (as written).
    pub key: String,
    /// Whether the fault is the key itself (a currency code) rather than its value.
    pub in_key: bool,
    /// Names the key; the same text whichever file the limit is in.
    pub message: String,
    pub hint: Option<String>,
}

impl LimitsToml {
    /// Checks every key; all problems at once.
    pub fn check(&self) -> Result<Limits, Vec<LimitError>> {
        let mut errors = Vec::new();
        let mut fail = |key: &str, in_key: bool, message: String, hint: &str| {
            errors.push(LimitError {
                key: key.into(),
                in_key,
                message,
                hint: Some(hint.into()),
            })
        };
        let mut limits = Limits::default();
        if let Some(n) = self.max_actions {
            match usize::try_from(n) {
                Ok(n) if n >= 1 => limits.max_actions = Some(n),
                _ => fail(
                    "max_actions",
                    false,
                    format!("`max_actions` must be at least 1, found {n}"),
                    "to stop a policy acting, remove it or use action = \"report\"",
                ),
            }
        }
        if let Some(s) = &self.max_fleet_share {
            match parse_percent(s) {
                Ok(p) => limits.max_fleet_share_pct = Some(p),
                Err(e) => fail(
                    "max_fleet_share",
                    false,
                    format!("`max_fleet_share`: {e}"),
                    "write a percentage of the pods in scope, e.g. \"25%\"",
                ),
            }
        }
        for (cur, amount) in &self.max_per_day {
            let key = format!("max_per_day.{cur}");
            if cur.len() != 3 || !cur.chars().all(|c| c.is_ascii_alphabetic()) {
                fail(
                    &key,
                    true,
                    format!("`max_per_day`: {cur:?} is not a currency code"),
                    "use 3-letter ISO 4217 codes such as USD or INR",
                );
                continue;
            }
            let code = cur.to_ascii_uppercase();
            match amount.trim().parse::<Decimal>() {
                Ok(d) if d > Decimal::ZERO => {
                    if limits.max_per_day.insert(code.clone(), d).is_some() {
                        fail(
                            &key,
                            true,
                            format!("`max_per_day` names {code} twice"),
                            "currency codes are not case-sensitive: keep one",
                        );
                    }
                }
                _ => fail(
                    &key,
                    false,
                    format!("`{key}`: {amount:?} must be a positive decimal amount"),
                    "write amounts as strings: USD = \"500.00\"",
                ),
            }
        }
        if errors.is_empty() {
            Ok(limits)
        } else {
            Err(errors)
        }
    }
}

/// Parses "10%" (or "10") into percent: more than 0 and at most 100.
pub fn parse_percent(s: &str) -> Result<Decimal, String> {
    let d: Decimal = s
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage"))?;
    if d <= Decimal::ZERO || d > Decimal::from(100) {
        return Err(format!("{s:?} must be more than 0% and at most 100%"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(toml: &str) -> LimitsToml {
        toml::from_str(toml).expect("limits table")
    }

    #[test]
    fn good_limits_are_read_and_currency_codes_upper_cased() {
        let l = raw("max_actions = 5\nmax_fleet_share = \"25%\"\nmax_per_day = { usd = \"10.50\", INR = \"900\" }")
            .check()
            .expect("valid");
        assert_eq!(l.max_actions, Some(5));
        assert_eq!(l.max_fleet_share_pct, Some(Decimal::from(25)));
        assert_eq!(l.max_per_day.keys().collect::<Vec<_>>(), vec!["INR", "USD"]);
    }

    #[test]
    fn every_bad_limit_is_refused_naming_its_key() {
        let errors = raw("max_actions = 0\nmax_fleet_share = \"0%\"\nmax_per_day = { US = \"5\", EUR = \"-1\", INR = \"0\", GBP = \"lots\" }")
            .check()
            .expect_err("invalid");
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "max_actions",
                "max_fleet_share",
                "max_per_day.EUR",
                "max_per_day.GBP",
                "max_per_day.INR",
                "max_per_day.US"
            ]
        );
        assert_eq!(
            errors[0].message,
            "`max_actions` must be at least 1, found 0"
        );
        assert!(errors[5].in_key && !errors[2].in_key);
        let twice = raw("max_per_day = { usd = \"5\", USD = \"6\" }").check();
        assert!(twice.is_err_and(|e| e[0].message.contains("names USD twice")));
    }
}
