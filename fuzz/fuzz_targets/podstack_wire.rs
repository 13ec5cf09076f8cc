//! Podstack's response decoders on arbitrary bytes: every answer body the client reads
//! decodes or is refused, and decoded utilisation samples map to an activity, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podwarden::providers::podstack::{activity_from_samples, wire, IdleThresholds};
use serde_json::Value;

fn decode<T: serde::de::DeserializeOwned>(body: &Value) -> Option<T> {
    serde_json::from_value(body.clone()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = decode::<wire::PodPage>(&body);
    let _ = decode::<wire::Items<wire::Project>>(&body);
    let _ = decode::<wire::Wallet>(&body);
    let _ = decode::<wire::Items<wire::UsageRow>>(&body);
    let _ = decode::<wire::BulkResults>(&body);
    let _ = decode::<wire::StatsSample>(&body);
    if let Some(history) = decode::<wire::Items<wire::StatsSample>>(&body) {
        let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
        let started = history.items.first().map(|s| s.at);
        for gpus in [0, 1, 8] {
            let _ = activity_from_samples(
                &history.items,
                started,
                gpus,
                now,
                &IdleThresholds::default(),
            );
        }
    }
});
