//! Secrets (API tokens, SMTP passwords) that cannot leak through `Debug`, `Display` or serde.

use std::fmt;

/// A secret string. Its `Debug` and `Display` print `***`; it has no `Serialize`.
/// Use [`Secret::expose`] only where the value leaves the process (an HTTP header).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_prints_its_value() {
        let s = super::Secret::new("pw-admin");
        assert!(!format!("{s:?} {s}").contains("pw-admin"));
        assert_eq!(s.expose(), "pw-admin");
    }
}
