//! Review of issue 9 (delivery): inputs and sequences that made delivery do the wrong thing,
//! each pinned by a test.

use std::path::Path;

/// A password typed under a wrong key (`smtp_password`, or `password` in `[email.finance]`)
/// is an unknown field: the config error must name the key and line, never echo the value.
#[test]
fn a_mistyped_password_key_is_not_echoed_in_the_config_error() {
    let dir = tempfile::tempdir().expect("dir");
    for text in [
        "[email]\nhost = \"smtp.example.com\"\nfrom = \"pw@example.com\"\nsmtp_password = \"hunter2-secret\"\n",
        "[email]\nhost = \"smtp.example.com\"\nfrom = \"pw@example.com\"\n[email.finance]\nto = [\"f@example.com\"]\npassword = \"hunter2-secret\"\n",
    ] {
        let path = dir.path().join("podwarden.toml");
        std::fs::write(&path, text).expect("written");
        let err = podwarden::config::Config::load(Path::new(&path))
            .err()
            .expect("an unknown key is refused")
            .to_string();
        assert!(!err.contains("hunter2"), "the secret is in the error: {err}");
        assert!(err.contains("password"), "the key is named: {err}");
    }
}
