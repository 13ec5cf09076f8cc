//! Policy diagnostics: every problem found in a policy directory, each with a stable code,
//! a file:line:column location and a hint. Findings are data; `validate` prints them all.

use std::fmt;
use std::path::PathBuf;

/// Stable diagnostic codes (documented in docs/policies.md, "Diagnostic codes"; never renumbered).
pub mod code {
    pub const SYNTAX: &str = "P001";
    pub const UNKNOWN_KEY: &str = "P002";
    pub const WRONG_TYPE: &str = "P003";
    pub const MISSING_KEY: &str = "P004";
    pub const BAD_DURATION: &str = "P005";
    pub const BAD_VALUE: &str = "P006";
    pub const TERMINATE_NOT_ALLOWED: &str = "P007";
    pub const DUPLICATE_NAME: &str = "P008";
    pub const UNKNOWN_PLACEHOLDER: &str = "P009";
    pub const BAD_WHERE: &str = "P010";
    pub const ORPHAN_ACTION: &str = "P011";
    pub const BAD_SCHEDULE: &str = "P012";
    pub const BAD_LIMIT: &str = "P013";
    pub const BAD_REASON: &str = "P014";
    pub const NO_POLICIES: &str = "P015";
    pub const UNREADABLE: &str = "P016";
    pub const MONEY_WITHOUT_CURRENCY: &str = "P020";
    pub const LEASE_OVERRIDE: &str = "P021";
    /// The reason template's shortest possible rendering is under 3 characters.
    pub const REASON_TOO_SHORT: &str = "P017";
    /// `from == to` in `[policy.schedule]`.
    pub const EMPTY_WINDOW: &str = "P018";
    /// `ttl_hours` on a resume policy that can apply to a provider without resume TTLs.
    pub const NO_RESUME_TTL: &str = "P019";
    /// A `notice` period that is not positive, or on a report-only policy.
    pub const BAD_NOTICE: &str = "P022";
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at byte `span` of `text`, the contents of `file`.
    pub fn at(
        file: &std::path::Path,
        text: &str,
        span: std::ops::Range<usize>,
        code: &'static str,
        message: String,
        hint: Option<String>,
    ) -> Diagnostic {
        let (line, column) = line_col(text, span.start);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            code,
            message,
            hint,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error[{}]: {}",
            self.file.display(),
            self.line,
            self.column,
            self.code,
            self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Line and column (1-based, columns in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// "did you mean" for a misspelt name, from the names allowed there.
pub fn did_you_mean(word: &str, allowed: &[&str]) -> Option<String> {
    allowed
        .iter()
        .map(|a| (strsim::jaro_winkler(word, a), *a))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, a)| format!("did you mean `{a}`?"))
}

/// The "did you mean" hint, else the whole list of what is allowed, under `label`.
pub fn did_you_mean_or(word: &str, allowed: &[&str], label: &str) -> String {
    did_you_mean(word, allowed).unwrap_or_else(|| format!("{label}: {}", allowed.join(", ")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(super::line_col(t, 0), (1, 1));
        assert_eq!(super::line_col(t, 6), (2, 1));
        assert_eq!(super::line_col(t, 11), (2, 6));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            super::did_you_mean("idel_for", &["idle_for", "status"]).as_deref(),
            Some("did you mean `idle_for`?")
        );
        assert_eq!(super::did_you_mean("zzz", &["idle_for"]), None);
    }
}
