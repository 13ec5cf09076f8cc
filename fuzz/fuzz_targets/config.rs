//! `podwarden.toml` on arbitrary text: diagnostics and the checked config, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("/nonexistent/podwarden-fuzz/podwarden.toml");
        let _ = podwarden::config::Config::parse(path, text);
    }
});
