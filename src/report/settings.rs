//! `[report]`: how much the report shows. Every table of pods or groups shows its first `top`
//! rows and sums the rest into one last row, so the report reads the same at 100 pods and at
//! 100 000 (the full detail is in `spend.csv` / `spend.parquet`); `projects` adds a section
//! per named project.

use serde::Deserialize;

/// Rows a table shows by default before summing the rest.
pub const DEFAULT_TOP: usize = 20;
/// The most a table may show: beyond it a report is a listing, which `spend.csv` already is.
pub const MAX_TOP: usize = 1000;

/// `[report]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportToml {
    /// Rows per table before the rest is summed (1 to 1000, default 20).
    #[serde(default)]
    pub top: Option<usize>,
    /// Projects that get a section of their own: their spend, top pods, idle pods and planned
    /// actions.
    #[serde(default)]
    pub projects: Vec<String>,
}

/// `[report]` checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    pub top: usize,
    pub projects: Vec<String>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            top: DEFAULT_TOP,
            projects: Vec::new(),
        }
    }
}

impl ReportSettings {
    pub fn from_toml(raw: &ReportToml) -> Result<ReportSettings, String> {
        let top = raw.top.unwrap_or(DEFAULT_TOP);
        if !(1..=MAX_TOP).contains(&top) {
            return Err(format!(
                "top must be 1 to {MAX_TOP} rows, not {top} (the full detail is in spend.csv)"
            ));
        }
        let mut projects: Vec<String> = Vec::new();
        for p in &raw.projects {
            let p = p.trim();
            if p.is_empty() {
                return Err("projects: a project name is empty".into());
            }
            if projects.iter().any(|q| q == p) {
                return Err(format!("projects: `{p}` is named twice"));
            }
            projects.push(p.to_string());
        }
        Ok(ReportSettings { top, projects })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_defaults_to_twenty_and_must_be_in_range() {
        let ok = ReportSettings::from_toml(&ReportToml::default()).expect("default");
        assert_eq!(ok.top, 20);
        for bad in [0, MAX_TOP + 1] {
            let raw = ReportToml {
                top: Some(bad),
                projects: vec![],
            };
            let e = ReportSettings::from_toml(&raw).expect_err("out of range");
            assert!(e.contains("1 to 1000"), "{e}");
        }
        let twice = ReportToml {
            top: None,
            projects: vec!["llm".into(), " llm".into()],
        };
        assert!(ReportSettings::from_toml(&twice)
            .expect_err("twice")
            .contains("twice"));
    }
}
