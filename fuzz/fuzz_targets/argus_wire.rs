//! Argus's response decoders on arbitrary bytes: every answer body the client reads decodes
//! or is refused, and a decoded `/compute/served` row maps to an activity, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podwarden::providers::argus::{activity, wire};
use serde_json::Value;

fn decode<T: serde::de::DeserializeOwned>(body: &Value) -> Option<T> {
    serde_json::from_value(body.clone()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = decode::<wire::Page<wire::Worker>>(&body);
    let _ = decode::<wire::Page<wire::ProviderPod>>(&body);
    let _ = decode::<wire::Page<wire::DailyCost>>(&body);
    let _ = decode::<wire::Items<wire::IdleCost>>(&body);
    let _ = decode::<wire::Items<wire::AuditEntry>>(&body);
    let _ = decode::<wire::OpAccepted>(&body);
    if let Some(served) = decode::<wire::Items<wire::Served>>(&body) {
        let started = chrono::DateTime::from_timestamp(1_780_000_000, 0);
        for s in &served.items {
            let _ = activity(Some(s), started);
        }
    }
});
