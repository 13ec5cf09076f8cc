//! The policy loader and validator on arbitrary text: every input is either a policy set or
//! diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let sources = [(
            std::path::PathBuf::from("policies/fuzz.toml"),
            text.to_string(),
        )];
        let _ = podwarden::policy::load_sources(&sources);
    }
});
