//! The plan file: reading and writing the JSON contract of docs/design.md.
//!
//! Inside the program a plan is typed ([`super::PlannedAction`] holds an [`OpKind`], a
//! [`ResourceKind`], a [`Currency`] and `Decimal` amounts); in the file, as other tools read it,
//! actions and kinds are lower-case words and money is a string decimal with a fixed number of
//! places: hourly rates with 4 (`"2.4900"`), daily amounts with 2 (`"59.76"`). The `serde`
//! helpers below are that format, used by the plan's field attributes, so the file written
//! today is byte for byte the one written when these fields were strings.
//!
//! A plan file is input that a person may have edited, so [`read`] reports the problems of
//! every entry at once (the first of each action and pending entry, by key, and the first of
//! the rest of the file), each with its place in the file (`actions[3].kind: …`);
//! what the actions mean (providers, keys, targets) is checked afterwards by
//! `execute::plan_check`, also all at once.
//!
//! [`OpKind`]: crate::providers::OpKind
//! [`ResourceKind`]: crate::fleet::ResourceKind
//! [`Currency`]: crate::money::Currency

use std::path::{Path, PathBuf};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Pending, Plan, PlannedAction, VERSION};

/// Places of an hourly rate in the file.
const RATE_PLACES: u32 = 4;
/// Places of a daily amount in the file.
const DAILY_PLACES: u32 = 2;

/// A plan file that cannot be read as a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("reading the plan file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the plan file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: not a podwarden plan file: {message}; write one with \
         `podwarden plan --out {path}`"
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: plan file version {found} is not supported (this podwarden reads version {VERSION})")]
    Version { path: PathBuf, found: u64 },
    #[error(
        "{path}: not a podwarden plan file: {} problem(s):\n{}\nwrite one with `podwarden plan --out {path}`",
        .problems.len(),
        .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// An hourly rate as the file writes it: rounded half away from zero to 4 places, with
/// exactly 4 (so that `Display` shows what the file holds).
pub fn rate(amount: Decimal) -> Decimal {
    places(amount, RATE_PLACES)
}

/// A daily amount as the file writes it: 2 places.
pub fn daily(amount: Decimal) -> Decimal {
    places(amount, DAILY_PLACES)
}

fn places(amount: Decimal, n: u32) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(n, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(n);
    rounded
}

/// Reads the plan file at `path`: every problem at once, or the typed plan.
pub fn read(path: &Path) -> Result<Plan, PlanFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// [`read`] of text already in memory; `path` names it in messages.
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanFileError> {
    let Strict(mut value) = serde_json::from_str(text).map_err(|e| PlanFileError::Syntax {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    // The version first: a file of another version may be another shape altogether.
    if let Some(found) = value.get("version").and_then(Value::as_u64) {
        if found != u64::from(VERSION) {
            return Err(PlanFileError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
    }
    // Each action and pending entry on its own, so that one bad entry does not hide the next;
    // then the rest of the file with those lists set aside.
    let mut problems = Vec::new();
    let actions: Vec<PlannedAction> = entries(&mut value, "actions", &mut problems);
    let pending: Vec<Pending> = entries(&mut value, "pending", &mut problems);
    let rest = serde_path_to_error::deserialize::<_, Plan>(value);
    match rest {
        Ok(plan) if problems.is_empty() => Ok(Plan {
            actions,
            pending,
            ..plan
        }),
        Ok(_) => Err(PlanFileError::Invalid {
            path: path.to_path_buf(),
            problems,
        }),
        Err(e) => {
            problems.insert(0, located(&e.path().to_string(), e.inner()));
            Err(PlanFileError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }
}

/// Takes the list `field` out of `value` (leaving an empty one) and reads each entry,
/// recording a problem per entry that is not one.
fn entries<T: DeserializeOwned>(
    value: &mut Value,
    field: &str,
    problems: &mut Vec<String>,
) -> Vec<T> {
    let Some(slot) = value.get_mut(field) else {
        return Vec::new();
    };
    let Value::Array(items) = std::mem::replace(slot, Value::Array(Vec::new())) else {
        problems.push(format!("{field}: expected a list"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match serde_path_to_error::deserialize::<_, T>(item) {
            Ok(entry) => out.push(entry),
            Err(e) => {
                let inner = e.path().to_string();
                let place = if inner == "." {
                    format!("{field}[{i}]")
                } else {
                    format!("{field}[{i}].{inner}")
                };
                problems.push(located(&place, e.inner()));
            }
        }
    }
    out
}

fn located(place: &str, e: &serde_json::Error) -> String {
    if place == "." {
        e.to_string()
    } else {
        format!("{place}: {e}")
    }
}

/// A JSON value read with every object's keys unique. `serde_json::Value` keeps the last of
/// two equal keys, so a file whose second `"actions"` (or an action's second `"action"`) is
/// not what a reviewer read first would be applied as the second says; such a file is refused
/// instead, at the line of the repeat.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Writes the plan as pretty JSON, via a temporary file so a crash never leaves half a plan.
pub fn write(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let failed = |source| PlanFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_string_pretty(plan)
        .map_err(std::io::Error::other)
        .map_err(failed)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json + "\n").map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}

/// `serde` for an hourly rate: a string decimal with 4 places.
pub mod rate_text {
    use rust_decimal::Decimal;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(amount: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rate(*amount).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        super::decimal(d).map(super::rate)
    }
}

/// `serde` for a daily amount: a string decimal with 2 places.
pub mod daily_text {
    use rust_decimal::Decimal;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(amount: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::daily(*amount).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        super::decimal(d).map(super::daily)
    }
}

/// `serde` for an optional hourly rate (`null` when absent).
pub mod rate_text_or_null {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(amount: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match amount {
            Some(a) => super::rate_text::serialize(a, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::decimal_of(&t).map(super::rate))
            .transpose()
    }
}

/// `serde` for an optional daily amount (`null` when absent).
pub mod daily_text_or_null {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(amount: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match amount {
            Some(a) => super::daily_text::serialize(a, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::decimal_of(&t).map(super::daily))
            .transpose()
    }
}

/// `serde` for daily amounts per currency (`{"USD": "59.76"}`).
pub mod daily_per_currency {
    use std::collections::BTreeMap;

    use rust_decimal::Decimal;
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::money::Currency;

    pub fn serialize<S: Serializer>(
        amounts: &BTreeMap<Currency, Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(amounts.len()))?;
        for (currency, amount) in amounts {
            map.serialize_entry(currency, &super::daily(*amount).to_string())?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Currency, Decimal>, D::Error> {
        BTreeMap::<Currency, String>::deserialize(d)?
            .into_iter()
            .map(|(c, t)| Ok((c, super::daily(super::decimal_of(&t)?))))
            .collect()
    }
}

fn decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    decimal_of(&text)
}

/// A string decimal as podwarden writes it: digits with an optional sign and fraction,
/// blanks around it ignored. Anything else (a number, `"1e3"`, `"1_000"`, `"12,50"`,
/// `"about 120"`) is refused by name rather than read as some amount or as 0: an amount in a
/// plan file is never guessed.
fn decimal_of<E: serde::de::Error>(text: &str) -> Result<Decimal, E> {
    let refuse = || {
        E::custom(format!(
            "{text:?} is not a decimal amount (write e.g. \"59.76\")"
        ))
    };
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !plain(whole) || !plain(fraction) {
        return Err(refuse());
    }
    trimmed.parse::<Decimal>().map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_text() -> String {
        let plan = Plan {
            actions: vec![
                super::super::sample_action("wkr_a"),
                super::super::sample_action("wkr_b"),
            ],
            ..super::super::sample_plan()
        };
        serde_json::to_string_pretty(&plan).expect("serialises")
    }

    #[test]
    fn amounts_are_written_with_fixed_places_and_read_back_the_same() {
        let text = plan_text();
        assert!(text.contains("\"hourly_rate\": \"2.4900\""), "{text}");
        assert!(
            text.contains("\"est_savings_per_day\": \"59.76\""),
            "{text}"
        );
        let back = parse(&text, Path::new("plan.json")).expect("reads");
        assert_eq!(serde_json::to_string_pretty(&back).expect("json"), text);
        assert_eq!(rate(Decimal::new(249_005, 5)).to_string(), "2.4901");
        assert_eq!(daily(Decimal::new(-5, 3)).to_string(), "-0.01");
    }

    #[test]
    fn every_bad_entry_is_named_at_once() {
        let mut value: Value = serde_json::from_str(&plan_text()).expect("json");
        value["actions"][0]["kind"] = "vm".into();
        value["actions"][1]["est_savings_per_day"] = "lots".into();
        value["policies_sha256"] = 7.into();
        let err = parse(&value.to_string(), Path::new("p.json")).expect_err("refused");
        let PlanFileError::Invalid { problems, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 3, "{err}");
        assert!(problems[0].starts_with("policies_sha256:"), "{err}");
        assert!(
            problems[1].starts_with("actions[0].kind: unknown variant `vm`"),
            "{err}"
        );
        assert!(
            problems[2].starts_with("actions[1].est_savings_per_day: \"lots\" is not a decimal"),
            "{err}"
        );
    }

    #[test]
    fn amounts_are_plain_decimals_and_keys_are_unique() {
        let text = plan_text();
        let with = |from: &str, to: &str| parse(&text.replacen(from, to, 1), Path::new("p.json"));
        let padded = with("\"59.76\"", "\" 59.76 \"").expect("blanks around an amount");
        assert_eq!(padded.actions[0].est_savings_per_day.to_string(), "59.76");
        for bad in [
            "\"1e3\"",
            "\"1_000\"",
            "\"12,50\"",
            "\"about 120\"",
            "\".5\"",
            "\"-\"",
        ] {
            let err = with("\"59.76\"", bad).expect_err(bad);
            assert!(
                err.to_string().contains("is not a decimal amount"),
                "{bad}: {err}"
            );
        }
        let twice = with(
            "\"action\": \"stop\",",
            "\"action\": \"stop\", \"action\": \"terminate\",",
        );
        let err = twice.expect_err("a key twice");
        assert!(
            matches!(&err, PlanFileError::Syntax { message, .. } if message.contains("\"action\" appears twice")),
            "{err}"
        );
    }

    #[test]
    fn another_version_is_refused_before_its_shape() {
        let err = parse(r#"{"version": 2, "actions": 5}"#, Path::new("p.json")).expect_err("v2");
        assert!(
            matches!(err, PlanFileError::Version { found: 2, .. }),
            "{err}"
        );
    }
}
