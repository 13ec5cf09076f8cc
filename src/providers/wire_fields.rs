//! Field decoders for the provider wire contract (docs/provider-api.md): what a
//! response may legally send, and the messages that name what it sent instead.
//!
//! Both providers' wire types use these through `#[serde(deserialize_with = "…")]`; the
//! sandbox encodes with the same types, and serialising is unchanged. The rules:
//!
//! - **Money** is a string decimal (`"2.4900"`, `"1.1"`, `"210"`, `"-3.5"`): an optional
//!   minus, digits, and optionally a point followed by digits. A JSON number, an empty
//!   string, exponents, separators (`"2,49"`, `"1_000"`), signs other than a leading minus
//!   and surrounding spaces are refused: the contract says money is never a float, and a
//!   server that breaks that is not trusted with amounts.
//! - **Instants** are RFC 3339 with any offset (`Z`, `+00:00`, `+05:30`) and any number
//!   of fractional digits, converted to UTC. The contract says "in UTC", but an offset is
//!   exact, so converting is lossless; a timestamp without an offset, or a number, is refused.
//! - **Dates** are `YYYY-MM-DD`.
//! - **Counts** (GPUs, cameras, replicas, pages) are whole, non-negative numbers; JSON has
//!   one number type, so `2.0` is accepted as 2, while `2.5`, `-1` and `"2"` are refused.
//! - **Measurements** (hours, percentages, gigabytes, cores) are any non-negative number,
//!   whole or fractional. Those kept whole (cumulative byte counters, the wallet's grace
//!   hours) are rounded down. Negative ones and strings are refused.
//! - **Collections the contract leaves open** (`labels`, `nfs_volumes`): `null` or absent
//!   is empty; label values may be strings, numbers or booleans (kept as their JSON text,
//!   so `true` still reads as the protection label's `"true"`); nested values are refused.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;

use super::error::ProviderError;
use crate::money::{Currency, Money};

/// A short description of a JSON value for "found …" messages (strings quoted, so that an
/// empty or padded string is visible, and cut at 60 characters).
fn found(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) if s.chars().count() > 60 => {
            format!("{:?}…", s.chars().take(60).collect::<String>())
        }
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// True when `s` is a plain decimal: `-?[0-9]+(\.[0-9]+)?`.
fn is_plain_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && frac.is_none_or(all_digits)
}

/// Parses a contract string decimal; `None` when it is not one (or does not fit a decimal).
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    if !is_plain_decimal(s) {
        return None;
    }
    s.parse::<Decimal>().ok()
}

/// A money field: a JSON string holding a plain decimal, kept as the string sent.
pub fn decimal_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::String(s) if parse_decimal(&s).is_some() => Ok(s),
        other => Err(de::Error::custom(format!(
            "expected a string decimal, found {}",
            found(&other)
        ))),
    }
}

fn instant_from(v: Value) -> Result<DateTime<Utc>, String> {
    match &v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("expected an RFC 3339 timestamp, found {} ({e})", found(&v))),
        _ => Err(format!(
            "expected an RFC 3339 timestamp, found {}",
            found(&v)
        )),
    }
}

/// A required instant: RFC 3339 with any offset, converted to UTC.
pub fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    instant_from(Value::deserialize(d)?).map_err(de::Error::custom)
}

/// An optional instant: `null` or absent (with `#[serde(default)]`) is `None`.
pub fn optional_instant<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => instant_from(v).map(Some).map_err(de::Error::custom),
    }
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        _ => None,
    }
    .ok_or_else(|| de::Error::custom(format!("expected a date YYYY-MM-DD, found {}", found(&v))))
}

/// A non-negative whole number from any JSON number (`2` or `2.0`), else `None`.
fn whole(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64).then_some(f as u64)
}

fn count_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    whole(&v).ok_or_else(|| {
        de::Error::custom(format!(
            "expected a non-negative whole number, found {}",
            found(&v)
        ))
    })
}

/// A count (`gpu_count`, `cameras`, `page`, …) as `u32`: whole and non-negative.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = count_u64(d)?;
    u32::try_from(n).map_err(|_| {
        de::Error::custom(format!(
            "expected a whole number below 2^32, found a number ({n})"
        ))
    })
}

/// A count as `u64` (`total`).
pub fn count64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    count_u64(d)
}

/// A measurement (hours, percentages, gigabytes, cores): any non-negative number, whole or
/// fractional.
pub fn measure<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = Value::deserialize(d)?;
    v.as_f64()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "expected a non-negative number, found {}",
                found(&v)
            ))
        })
}

fn floored(v: &Value) -> Option<f64> {
    v.as_f64()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(f64::floor)
}

/// A non-negative measurement rounded down to a whole `u64` (cumulative byte counters).
pub fn floor_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    floored(&v)
        .filter(|f| *f <= u64::MAX as f64)
        .map(|f| f as u64)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "expected a non-negative number, found {}",
                found(&v)
            ))
        })
}

/// A non-negative measurement rounded down to a whole `u32` (`grace_period_hours`: a
/// fractional grace shortens to whole hours, so a runway warning comes early, never late).
pub fn floor_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = Value::deserialize(d)?;
    floored(&v)
        .filter(|f| *f <= f64::from(u32::MAX))
        .map(|f| f as u32)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "expected a non-negative number, found {}",
                found(&v)
            ))
        })
}

/// Labels: an object of scalar values; `null` (or absent, with `#[serde(default)]`) is empty.
/// Numbers and booleans are kept as their JSON text.
pub fn labels<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(n) => Ok((k, n.to_string())),
                Value::Bool(b) => Ok((k, b.to_string())),
                other => Err(de::Error::custom(format!(
                    "label {k:?}: expected a string, number or boolean, found {}",
                    found(&other)
                ))),
            })
            .collect(),
        other => Err(de::Error::custom(format!(
            "expected an object of labels, found {}",
            found(&other)
        ))),
    }
}

/// A list whose items the contract leaves open (`nfs_volumes`): `null` is empty; a string
/// item is kept, any other item as its compact JSON text.
pub fn open_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect()),
        other => Err(de::Error::custom(format!(
            "expected an array, found {}",
            found(&other)
        ))),
    }
}

/// Money from a decoded field, for the clients' mapping; the error names provider,
/// endpoint and field (e.g. `items[id=wkr_1].hourly_rate_usd`).
pub fn money(
    provider: &str,
    endpoint: &str,
    field: &str,
    amount: &str,
    currency: Currency,
) -> Result<Money, ProviderError> {
    parse_decimal(amount)
        .map(|amount| Money::new(amount, currency))
        .ok_or_else(|| ProviderError::Decode {
            provider: provider.into(),
            endpoint: endpoint.into(),
            detail: format!("{field}: expected a string decimal, found {amount:?}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "decimal_string")]
        money: String,
        #[serde(default, deserialize_with = "optional_instant")]
        at: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "count")]
        n: u32,
        #[serde(default, deserialize_with = "floor_u64")]
        bytes: u64,
    }

    fn probe(v: Value) -> Result<Probe, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn string_decimals_are_plain_decimals_only() {
        for ok in ["2.4900", "1.1", "210", "0", "-3.5"] {
            assert_eq!(probe(json!({ "money": ok })).expect(ok).money, ok);
        }
        for bad in [
            "", " 1.1", "1.1 ", "1e3", "1_000", "2,49", ".5", "5.", "+1", "$2", "NaN",
        ] {
            let e = probe(json!({ "money": bad })).expect_err(bad);
            assert!(e.contains("expected a string decimal"), "{bad:?}: {e}");
        }
        let e = probe(json!({ "money": 2.49 })).expect_err("number");
        assert!(e.contains("found a number (2.49)"), "{e}");
    }

    #[test]
    fn instants_accept_any_offset_and_fraction_and_convert_to_utc() {
        let at = |s: &str| probe(json!({ "at": s })).map(|p| p.at);
        let utc = |s: &str| Some(s.parse::<DateTime<Utc>>().expect("utc"));
        assert_eq!(
            at("2026-11-21T07:30:00+05:30").expect("offset"),
            utc("2026-11-21T02:00:00Z")
        );
        assert_eq!(
            at("2026-11-21T02:00:00+00:00").expect("+00:00"),
            utc("2026-11-21T02:00:00Z")
        );
        let frac = at("2026-11-21T01:59:59.123456Z").expect("fraction");
        assert_eq!(
            frac.map(|t| t.timestamp_micros() % 1_000_000),
            Some(123_456)
        );
        assert_eq!(probe(json!({ "at": null })).expect("null").at, None);
        assert_eq!(probe(json!({})).expect("absent").at, None);
        for bad in [
            json!("2026-11-21 02:00:00"),
            json!("21/11/2026"),
            json!(1795226400),
        ] {
            let e = probe(json!({ "at": bad })).expect_err("bad instant");
            assert!(e.contains("expected an RFC 3339 timestamp"), "{e}");
        }
    }

    #[test]
    fn counts_are_whole_and_measurements_floor() {
        assert_eq!(probe(json!({ "n": 2 })).expect("int").n, 2);
        assert_eq!(probe(json!({ "n": 2.0 })).expect("2.0").n, 2);
        for bad in [
            json!(2.5),
            json!(-1),
            json!("2"),
            json!(null),
            json!(5_000_000_000u64),
        ] {
            assert!(probe(json!({ "n": bad })).is_err(), "{bad}");
        }
        assert_eq!(
            probe(json!({ "bytes": 1234.9 })).expect("float").bytes,
            1234
        );
        assert!(probe(json!({ "bytes": -1 })).is_err());
    }

    #[test]
    fn money_helper_names_the_field() {
        let m = money("argus", "/x", "f", "1.1", Currency::usd()).expect("decimal");
        assert_eq!(m.amount, Decimal::new(11, 1));
        let e = money(
            "argus",
            "/compute/workers",
            "items[id=w1].hourly_rate_usd",
            "1_0",
            Currency::usd(),
        )
        .expect_err("not a decimal");
        let text = e.to_string();
        assert!(
            text.starts_with("argus: /compute/workers:")
                && text.contains("items[id=w1].hourly_rate_usd: expected a string decimal"),
            "{text}"
        );
    }
}
