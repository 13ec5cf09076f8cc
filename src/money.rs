//! Exact money: a decimal amount with its currency, and integer micro-units for data frames.
//!
//! Providers send money as string decimals ("2.4900"). podwarden never turns them into
//! floats: amounts are `rust_decimal::Decimal`, and tables carry integer micro-units
//! (1 USD = 1_000_000 micros) so that sums over many rows stay exact.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code as a provider sent it, upper-cased ("USD", "INR").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn new(code: &str) -> Self {
        Currency(code.trim().to_ascii_uppercase())
    }
    pub fn usd() -> Self {
        Currency("USD".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_usd(&self) -> bool {
        self.0 == "USD"
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// An amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Currency,
}

/// Micro-units per unit of currency.
pub const MICROS: i64 = 1_000_000;

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Parses a provider's string decimal; `None` when it is not a number.
    pub fn parse(amount: &str, currency: Currency) -> Option<Self> {
        amount
            .trim()
            .parse::<Decimal>()
            .ok()
            .map(|amount| Money { amount, currency })
    }

    /// The amount in integer micro-units, rounded half away from zero.
    pub fn micros(&self) -> i64 {
        decimal_to_micros(self.amount)
    }

    /// This amount multiplied by `factor` (e.g. an hourly rate times 24 for a day).
    pub fn times(&self, factor: Decimal) -> Money {
        Money::new(self.amount * factor, self.currency.clone())
    }
}

/// Converts a decimal amount to micro-units (saturating at i64's range).
pub fn decimal_to_micros(amount: Decimal) -> i64 {
    // Fast and exact when the amount has at most 6 decimals (money from the providers does):
    // mantissa × 10^(6 − scale), no rounding. Otherwise (or on overflow) the general path.
    let scale = amount.scale();
    if scale <= 6 {
        let exact = amount
            .mantissa()
            .checked_mul(10i128.pow(6 - scale))
            .and_then(|v| i64::try_from(v).ok());
        if let Some(v) = exact {
            return v;
        }
    }
    let saturated = if amount.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    };
    amount
        .checked_mul(Decimal::from(MICROS))
        .and_then(|m| m.round().to_i64())
        .unwrap_or(saturated)
}

/// Converts micro-units back to a decimal amount.
pub fn micros_to_decimal(micros: i64) -> Decimal {
    Decimal::new(micros, 6)
}

/// Formats an amount with exactly `places` decimals, rounding half away from zero
/// (the rounding finance expects, unlike banker's rounding).
pub fn fixed(amount: Decimal, places: u32) -> String {
    let rounded =
        amount.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    format!("{:.*}", places as usize, rounded)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.currency.as_str() {
            "USD" => write!(f, "${}", fixed(self.amount, 2)),
            "INR" => write!(f, "₹{}", fixed(self.amount, 2)),
            other => write!(f, "{} {}", fixed(self.amount, 2), other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_are_exact_rounded_past_six_places_and_saturated() {
        for (text, micros) in [
            ("0", 0),
            ("2.49", 2_490_000),
            ("2.4900", 2_490_000),
            ("-3.5", -3_500_000),
            ("0.000001", 1),
            ("123456789.123456", 123_456_789_123_456),
            ("1.23456789", 1_234_568),
            ("0.0000015", 2),
            ("-0.0000015", -2),
            ("9223372036854.775807", i64::MAX),
            ("9223372036854.775808", i64::MAX),
            ("-9223372036854.775809", i64::MIN),
            ("79228162514264337593543950335", i64::MAX),
            ("-79228162514264337593543950335", i64::MIN),
        ] {
            let d: Decimal = text.parse().expect("decimal");
            assert_eq!(decimal_to_micros(d), micros, "{text}");
        }
    }

    #[test]
    fn micros_round_trip_is_exact() {
        let m = Money::parse("2.4900", Currency::usd()).expect("decimal");
        assert_eq!(m.micros(), 2_490_000);
        assert_eq!(micros_to_decimal(m.micros()), Decimal::new(249, 2));
    }

    #[test]
    fn fixed_rounds_half_away_from_zero() {
        assert_eq!(fixed(Decimal::new(2345, 3), 2), "2.35");
        assert_eq!(fixed(Decimal::new(2355, 3), 2), "2.36");
        assert_eq!(fixed(Decimal::new(5976, 2), 2), "59.76");
    }

    #[test]
    fn display_names_the_currency() {
        let inr = Money::parse("210", Currency::new("inr")).expect("decimal");
        assert_eq!(inr.to_string(), "₹210.00");
        assert!(Money::parse("abc", Currency::usd()).is_none());
    }
}
