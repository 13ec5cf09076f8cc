//! Wallets: balance, run rate and runway of prepaid providers, flagged when the runway is
//! shorter than the auto-stop grace period or the balance below its threshold.

use crate::money::fixed;
use crate::report::blocks::Doc;
use crate::report::build::Report;
use crate::report::currency::grouped;

pub fn add(r: &Report, d: &mut Doc) {
    if !r.wallets.is_empty() {
        d.h(2, "Wallets".into());
        for w in r.wallets.iter().filter(|w| w.short) {
            d.warn(format!(
                "{}: the wallet's runway ({} h) is shorter than the auto-stop grace period ({} h)",
                w.provider,
                w.runway_hours.map_or("?".into(), |h| fixed(h, 1)),
                w.grace_period_hours
            ));
        }
        d.table(
            &[
                "provider",
                "balance",
                "run rate",
                "runway",
                "auto-stop grace",
                "flag",
            ],
            r.wallets
                .iter()
                .map(|w| {
                    let mut flags = Vec::new();
                    if w.short {
                        flags.push("runway shorter than the auto-stop grace period");
                    }
                    if w.below_threshold {
                        flags.push("below the low-balance threshold");
                    }
                    vec![
                        w.provider.clone(),
                        grouped(&w.balance),
                        format!("{}/h", grouped(&w.run_rate_per_hour)),
                        w.runway_hours
                            .map_or("no pods running".into(), |h| format!("{} h", fixed(h, 1))),
                        format!("{} h", w.grace_period_hours),
                        flags.join("; "),
                    ]
                })
                .collect(),
        );
    }
}
