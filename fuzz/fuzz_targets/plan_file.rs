//! The plan file reader on arbitrary text (a plan is a file a person can edit): a typed plan
//! or every problem at once, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = podwarden::plan::file::parse(text, std::path::Path::new("plan.json"));
    }
});
