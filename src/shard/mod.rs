//! Shards: one fleet split by provider account across the completions of a Kubernetes
//! Indexed Job, when one token's rate budget cannot read it all in a night.
//!
//! `[[shard]]` in podwarden.toml lists the shards in order; the environment picks the one a
//! process is: `PODWARDEN_SHARD` (a name or an index) else `JOB_COMPLETION_INDEX` (which an
//! Indexed Job sets, 0-based). A shard is an ordinary podwarden run over its own providers,
//! with its own state file and report folder, so that it is correct alone: its plan, its
//! breakers, its journal and its owner notices cover its pods only. It leaves its report's
//! inputs beside its report ([`crate::report::shard_file`]); `podwarden report --merge`
//! combines them into the one finance report and sends the one finance mail. Kubernetes
//! runs the shards; there is no coordinator.
//!
//! Decisions: every provider is in exactly one shard (a provider in none would never be
//! read); a command that uses state (`run`, `plan`, `apply`, `observe`, `report`, `audit`,
//! `schedule`) refuses a sharded configuration without a shard picked, so that nobody acts
//! from a state file that is not the shard's. A shard's state file and reports folder are
//! `<state's folder>/shards/<name>/<state's file name>` and `<reports>/shards/<name>` unless
//! the shard names its own.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The variable that picks a shard by name or index (for people and other schedulers).
pub const SHARD_ENV: &str = "PODWARDEN_SHARD";
/// The variable a Kubernetes Indexed Job sets in each of its pods (0-based).
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// `[[shard]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardToml {
    /// Names the shard in paths, logs, metrics and the merged report.
    pub name: String,
    /// The `[providers.NAME]` entries this shard reads and acts on.
    pub providers: Vec<String>,
    /// Its state file (default: `<state's folder>/shards/<name>/<state's file name>`).
    pub state: Option<PathBuf>,
    /// Its reports folder (default: `<reports>/shards/<name>`).
    pub reports: Option<PathBuf>,
}

/// A shard, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    /// Its position in the file: the `JOB_COMPLETION_INDEX` that picks it.
    pub index: usize,
    pub name: String,
    pub providers: Vec<String>,
    pub state: PathBuf,
    pub reports: PathBuf,
}

/// Every problem of `raw` against the configured provider names, each with the index of the
/// `[[shard]]` it is in (`None`: of the list as a whole).
pub fn problems(raw: &[ShardToml], providers: &[String]) -> Vec<(Option<usize>, String)> {
    let mut problems = Vec::new();
    let mut owner: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut names = std::collections::BTreeSet::new();
    for (i, s) in raw.iter().enumerate() {
        let mut problem = |text: String| {
            problems.push((Some(i), format!("[[shard]] #{i} ({:?}): {text}", s.name)))
        };
        if !crate::notify::metrics::grouping_ok(&s.name)
            || s.name.starts_with('.')
            || s.name.chars().all(|c| c.is_ascii_digit())
        {
            problem(
                "name must be letters, digits, '-', '_' or '.', not start with '.' and not be a \
                 number (it names a folder and a metrics label; a number would read as an index)"
                    .into(),
            );
        }
        if !names.insert(s.name.as_str()) {
            problem("another shard has this name".into());
        }
        if s.providers.is_empty() {
            problem("providers is empty: name at least one".into());
        }
        for p in &s.providers {
            if !providers.contains(p) {
                problem(format!(
                    "provider `{p}` is not configured (known: {})",
                    providers.join(", ")
                ));
            } else if let Some(other) = owner.insert(p, &s.name) {
                problem(format!(
                    "provider `{p}` is already in shard {other:?}: each provider is in one shard"
                ));
            }
        }
    }
    if !raw.is_empty() {
        for p in providers {
            if !owner.contains_key(p.as_str()) {
                problems.push((
                    None,
                    format!(
                        "provider `{p}` is in no [[shard]]: a sharded fleet would never read it; add it to one"
                    ),
                ));
            }
        }
    }
    problems
}

/// Checks `raw` ([`problems`], joined) and derives each shard's paths: `state` and `reports`
/// are the configuration's (resolved), `resolve` resolves a shard's own.
pub fn check(
    raw: &[ShardToml],
    providers: &[String],
    state: &Path,
    reports: &Path,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<Vec<Shard>, String> {
    let problems = problems(raw, providers);
    if !problems.is_empty() {
        let texts: Vec<String> = problems.into_iter().map(|(_, t)| t).collect();
        return Err(texts.join("; "));
    }
    let file_name = state
        .file_name()
        .map_or_else(|| "podwarden.db".into(), |n| n.to_os_string());
    let state_dir = state.parent().unwrap_or(Path::new("."));
    let shards: Vec<Shard> = raw
        .iter()
        .enumerate()
        .map(|(index, s)| Shard {
            index,
            name: s.name.clone(),
            providers: s.providers.clone(),
            state: s.state.as_deref().map_or_else(
                || state_dir.join("shards").join(&s.name).join(&file_name),
                resolve,
            ),
            reports: s
                .reports
                .as_deref()
                .map_or_else(|| reports.join("shards").join(&s.name), resolve),
        })
        .collect();
    distinct_paths(&shards, state, reports)?;
    Ok(shards)
}

/// Each shard's state file and reports folder are its own: none is another's, the whole
/// fleet's (the merge's outbox and report), or inside another's reports folder.
fn distinct_paths(shards: &[Shard], state: &Path, reports: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    for (i, a) in shards.iter().enumerate() {
        if a.state == state {
            problems.push(format!(
                "[[shard]] {:?}: state is the whole fleet's state file",
                a.name
            ));
        }
        if a.reports == reports || reports.starts_with(&a.reports) {
            problems.push(format!(
                "[[shard]] {:?}: reports holds the merged report's folder {}",
                a.name,
                reports.display()
            ));
        }
        for b in &shards[i + 1..] {
            if a.state == b.state {
                problems.push(format!(
                    "[[shard]] {:?} and {:?} share a state file: each shard's journal is its own",
                    a.name, b.name
                ));
            }
            if a.reports.starts_with(&b.reports) || b.reports.starts_with(&a.reports) {
                problems.push(format!(
                    "[[shard]] {:?} and {:?}: one's reports folder holds the other's",
                    a.name, b.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The shards as the messages name them: `0 eu, 1 us` (index and name).
pub fn listed(shards: &[Shard]) -> String {
    shards
        .iter()
        .map(|s| format!("{} {}", s.index, s.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shard the environment picks (`env` looks variables up): `PODWARDEN_SHARD` by name or
/// index, else `JOB_COMPLETION_INDEX`; `None` when neither is set. Without shards,
/// `JOB_COMPLETION_INDEX` is ignored (an Indexed Job that does not shard) and
/// `PODWARDEN_SHARD` is an error.
pub fn picked<'s>(
    shards: &'s [Shard],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<&'s Shard>, String> {
    let named = env(SHARD_ENV).filter(|v| !v.trim().is_empty());
    if let Some(v) = named {
        let v = v.trim();
        if shards.is_empty() {
            return Err(format!(
                "{SHARD_ENV}={v} but the configuration declares no [[shard]]: unset it, or add the shards"
            ));
        }
        let shard = shards
            .iter()
            .find(|s| s.name == v || v.parse::<usize>().ok() == Some(s.index))
            .ok_or_else(|| {
                format!(
                    "{SHARD_ENV}={v} names no shard; the shards are {}",
                    listed(shards)
                )
            })?;
        // Left in an Indexed Job's pod template it would make every index the same shard.
        if let Some(index) = env(INDEX_ENV).filter(|i| !i.trim().is_empty()) {
            if index.trim().parse::<usize>().ok() != Some(shard.index) {
                return Err(format!(
                    "{SHARD_ENV}={v} (index {}) and {INDEX_ENV}={} disagree: set one of them",
                    shard.index,
                    index.trim()
                ));
            }
        }
        return Ok(Some(shard));
    }
    if shards.is_empty() {
        return Ok(None);
    }
    match env(INDEX_ENV).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(i) if i < shards.len() => Ok(Some(&shards[i])),
            _ => Err(format!(
                "{INDEX_ENV}={} but the configuration declares {} shard(s) ({}): set the Job's \
                 completions to {}",
                v.trim(),
                shards.len(),
                listed(shards),
                shards.len()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, providers: &[&str]) -> ShardToml {
        ShardToml {
            name: name.into(),
            providers: providers.iter().map(|p| p.to_string()).collect(),
            state: None,
            reports: None,
        }
    }

    fn names() -> Vec<String> {
        vec!["argus".into(), "podstack".into()]
    }

    fn shards() -> Vec<Shard> {
        check(
            &[raw("a", &["argus"]), raw("p", &["podstack"])],
            &names(),
            Path::new("/data/state/podwarden.db"),
            Path::new("/data/reports"),
            &|p| p.to_path_buf(),
        )
        .expect("valid shards")
    }

    #[test]
    fn each_shard_gets_its_own_state_file_and_reports_folder() {
        let s = shards();
        assert_eq!(
            s[1].state,
            PathBuf::from("/data/state/shards/p/podwarden.db")
        );
        assert_eq!(s[1].reports, PathBuf::from("/data/reports/shards/p"));
        assert_eq!(s[1].index, 1);
    }

    #[test]
    fn shard_paths_are_their_own_and_names_are_not_dots_or_numbers() {
        let check_paths = |shards: &[ShardToml]| {
            check(
                shards,
                &names(),
                Path::new("/data/state/podwarden.db"),
                Path::new("/data/reports"),
                &|p| p.to_path_buf(),
            )
        };
        for name in ["..", ".hidden", "0"] {
            let err = check_paths(&[raw(name, &["argus", "podstack"])]).unwrap_err();
            assert!(err.contains("not start with '.'"), "{name}: {err}");
        }
        let mut eu = raw("eu", &["argus"]);
        eu.state = Some("/data/state/podwarden.db".into());
        let mut us = raw("us", &["podstack"]);
        us.reports = Some("/data".into());
        let err = check_paths(&[eu, us]).unwrap_err();
        assert!(
            err.contains("\"eu\": state is the whole fleet's state file"),
            "{err}"
        );
        assert!(
            err.contains("\"us\": reports holds the merged report's folder"),
            "{err}"
        );
        let mut eu = raw("eu", &["argus"]);
        eu.state = Some("/x/one.db".into());
        let mut us = raw("us", &["podstack"]);
        us.state = Some("/x/one.db".into());
        let err = check_paths(&[eu, us]).unwrap_err();
        assert!(err.contains("share a state file"), "{err}");
    }

    #[test]
    fn every_provider_in_exactly_one_shard() {
        let err = check(
            &[
                raw("a", &["argus", "nope"]),
                raw("b", &["argus"]),
                raw("b", &[]),
            ],
            &names(),
            Path::new("s.db"),
            Path::new("r"),
            &|p| p.to_path_buf(),
        )
        .unwrap_err();
        for part in [
            "provider `nope` is not configured",
            "provider `argus` is already in shard \"a\"",
            "another shard has this name",
            "providers is empty",
            "provider `podstack` is in no [[shard]]",
        ] {
            assert!(err.contains(part), "{part} missing from: {err}");
        }
    }

    #[test]
    fn the_environment_picks_by_name_index_or_job_completion_index() {
        let s = shards();
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let pick = |vars| picked(&s, &env(vars)).map(|o| o.map(|s| s.name.clone()));
        assert_eq!(pick(&[]), Ok(None));
        assert_eq!(pick(&[(INDEX_ENV, "1")]), Ok(Some("p".into())));
        assert_eq!(
            pick(&[(SHARD_ENV, "p"), (INDEX_ENV, "1")]),
            Ok(Some("p".into()))
        );
        assert!(pick(&[(SHARD_ENV, "a"), (INDEX_ENV, "1")])
            .unwrap_err()
            .contains("disagree"));
        assert_eq!(pick(&[(SHARD_ENV, "1")]), Ok(Some("p".into())));
        let err = pick(&[(INDEX_ENV, "2")]).unwrap_err();
        assert!(err.contains("completions to 2"), "{err}");
        assert!(pick(&[(SHARD_ENV, "x")]).unwrap_err().contains("0 a, 1 p"));
        assert_eq!(picked(&[], &env(&[(INDEX_ENV, "3")])), Ok(None));
        assert!(picked(&[], &env(&[(SHARD_ENV, "a")])).is_err());
    }
}
