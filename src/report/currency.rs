//! Currency conversion with configured rates only, and amounts that keep unconverted
//! currencies apart.
//!
//! A rate converts one unit of a currency into the report currency (`rates = { INR =
//! "0.01198" }`: 1 INR = 0.01198 USD). Conversion multiplies exact decimals; totals are summed
//! per currency first and converted once, so a converted total equals the sum of its rows
//! converted exactly. A currency without a rate is never converted (never 1:1): it stays in
//! its own column and the report names the missing rate.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use serde::Deserialize;

use crate::money::{fixed, Currency, Money};

/// `[currency]` as written: `report = "USD"`, `rates = { INR = "0.01198" }` (one unit of
/// INR in the report currency, a string decimal), `rates_set = "2026-11-01"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrencyToml {
    pub report: Option<String>,
    #[serde(default)]
    pub rates: BTreeMap<String, String>,
    pub rates_set: Option<String>,
}

/// The report currency and the configured rates into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub report: Currency,
    pub rates: BTreeMap<Currency, Decimal>,
    /// When the rates were set (shown next to every converted figure's footnote).
    pub rates_set: Option<NaiveDate>,
}

impl Default for Conversion {
    fn default() -> Self {
        Conversion {
            report: Currency::usd(),
            rates: BTreeMap::new(),
            rates_set: None,
        }
    }
}

impl Conversion {
    /// Checks `[currency]`: a three-letter report currency, positive decimal rates, an ISO date.
    pub fn from_toml(raw: &CurrencyToml) -> Result<Conversion, String> {
        let code = |c: &str| -> Result<Currency, String> {
            let cur = Currency::new(c);
            if cur.as_str().len() == 3 && cur.as_str().chars().all(|c| c.is_ascii_uppercase()) {
                Ok(cur)
            } else {
                Err(format!("{c:?} is not a three-letter currency code"))
            }
        };
        let report = match &raw.report {
            Some(r) => code(r)?,
            None => Currency::usd(),
        };
        let mut rates = BTreeMap::new();
        for (c, r) in &raw.rates {
            let rate: Decimal = r.trim().parse().map_err(|_| {
                format!(
                    "rates.{c} = {r:?} is not a decimal; write it as a string, e.g. \"0.01198\""
                )
            })?;
            if rate <= Decimal::ZERO {
                return Err(format!("rates.{c} = {r:?} must be greater than zero"));
            }
            rates.insert(code(c)?, rate);
        }
        let rates_set = raw
            .rates_set
            .as_deref()
            .map(|d| {
                d.parse::<NaiveDate>()
                    .map_err(|_| format!("rates_set = {d:?} is not a date (YYYY-MM-DD)"))
            })
            .transpose()?;
        Ok(Conversion {
            report,
            rates,
            rates_set,
        })
    }

    /// The rate of `c` into the report currency: 1 for the report currency itself, `None`
    /// when no rate is configured.
    pub fn rate(&self, c: &Currency) -> Option<Decimal> {
        if *c == self.report {
            Some(Decimal::ONE)
        } else {
            self.rates.get(c).copied()
        }
    }

    /// Converts per-currency sums into [`Amounts`].
    pub fn amounts(&self, sums: &BTreeMap<Currency, Decimal>) -> Amounts {
        let mut out = Amounts::zero(self.report.clone());
        for (c, a) in sums {
            out.add(self, c, *a);
        }
        out
    }
}

/// An amount in the report currency plus what could not be converted, per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amounts {
    pub currency: Currency,
    /// Converted: the report currency and every currency with a rate.
    pub converted: Decimal,
    /// Currencies without a rate, in their own units.
    pub unconverted: BTreeMap<Currency, Decimal>,
}

impl Amounts {
    pub fn zero(currency: Currency) -> Self {
        Amounts {
            currency,
            converted: Decimal::ZERO,
            unconverted: BTreeMap::new(),
        }
    }

    /// Adds `amount` of `c`, converted when a rate exists.
    pub fn add(&mut self, conv: &Conversion, c: &Currency, amount: Decimal) {
        match conv.rate(c) {
            Some(rate) => self.converted += amount * rate,
            None => *self.unconverted.entry(c.clone()).or_default() += amount,
        }
    }

    /// The sum of `amounts`, each in its own currency.
    pub fn of<'a>(conv: &Conversion, amounts: impl IntoIterator<Item = &'a Money>) -> Amounts {
        let mut out = Amounts::zero(conv.report.clone());
        for m in amounts {
            out.add(conv, &m.currency, m.amount);
        }
        out
    }

    /// Adds another set of amounts (same report currency).
    pub fn merge(&mut self, other: &Amounts) {
        self.converted += other.converted;
        for (c, a) in &other.unconverted {
            *self.unconverted.entry(c.clone()).or_default() += *a;
        }
    }

    /// Multiplies every amount by `f`.
    pub fn times(&self, f: Decimal) -> Amounts {
        Amounts {
            currency: self.currency.clone(),
            converted: self.converted * f,
            unconverted: self
                .unconverted
                .iter()
                .map(|(c, a)| (c.clone(), *a * f))
                .collect(),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.converted.is_zero() && self.unconverted.values().all(Decimal::is_zero)
    }

    /// The converted part rounded to cents, as finance reads it.
    pub fn cents(&self) -> String {
        fixed(self.converted, 2)
    }
}

impl fmt::Display for Amounts {
    /// `$1,234.50`, and `+ ₹2,400.00 (no INR rate)` for each unconverted currency.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            grouped(&Money::new(self.converted, self.currency.clone()))
        )?;
        for (c, a) in self.unconverted.iter().filter(|(_, a)| !a.is_zero()) {
            write!(
                f,
                " + {} (no {c} rate)",
                grouped(&Money::new(*a, c.clone()))
            )?;
        }
        Ok(())
    }
}

/// `n` with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Money with thousands separators: `$12,345.60`, `₹2,400.00`, `1,000.00 EUR`.
pub fn grouped(m: &Money) -> String {
    let text = fixed(m.amount, 2);
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    match m.currency.as_str() {
        "USD" => format!("{sign}${out}.{frac}"),
        "INR" => format!("{sign}₹{out}.{frac}"),
        other => format!("{sign}{out}.{frac} {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(rates: &[(&str, &str)]) -> Conversion {
        Conversion::from_toml(&CurrencyToml {
            report: Some("USD".into()),
            rates: rates
                .iter()
                .map(|(c, r)| (c.to_string(), r.to_string()))
                .collect(),
            rates_set: Some("2026-11-01".into()),
        })
        .expect("valid")
    }

    #[test]
    fn converts_with_a_rate_and_keeps_apart_without() {
        let inr = Currency::new("INR");
        let mut a = Amounts::zero(Currency::usd());
        a.add(&conv(&[("INR", "0.01198")]), &inr, Decimal::new(100000, 2));
        assert_eq!(a.cents(), "11.98");
        assert!(a.unconverted.is_empty());
        let mut b = Amounts::zero(Currency::usd());
        b.add(&conv(&[]), &inr, Decimal::new(100000, 2));
        b.add(&conv(&[]), &Currency::usd(), Decimal::new(5, 0));
        assert_eq!(b.to_string(), "$5.00 + ₹1,000.00 (no INR rate)");
    }

    #[test]
    fn bad_rates_are_refused() {
        let bad = |r: &str| {
            Conversion::from_toml(&CurrencyToml {
                report: None,
                rates: [("INR".to_string(), r.to_string())].into(),
                rates_set: None,
            })
        };
        assert!(bad("0").is_err());
        assert!(bad("abc").is_err());
        assert!(bad("0.5").is_ok());
    }

    #[test]
    fn grouping_and_sign() {
        assert_eq!(
            grouped(&Money::new(Decimal::new(-123456789, 2), Currency::usd())),
            "-$1,234,567.89"
        );
        assert_eq!(
            grouped(&Money::new(Decimal::new(100, 0), Currency::new("EUR"))),
            "100.00 EUR"
        );
    }
}
