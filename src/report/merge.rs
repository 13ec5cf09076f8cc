//! `podwarden report --merge`: the shards' report inputs ([`crate::report::shard_file`])
//! combined into one fleet, one plan and one history, from which the one finance report is
//! built as if a single run had read every provider.
//!
//! A pure function of the files ([`merge`]) and a lookup of each shard's newest day
//! ([`locate`]). Refused rather than guessed: two shards holding the same provider (the
//! fleet would count it twice), and shards of different days (one shard's run did not
//! finish: its newest report is an older day's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use crate::fleet::Fleet;
use crate::plan::{Plan, PolicyTally, Summary};
use crate::report::inputs::{PendingNotice, TakenAction};
use crate::report::shard_file::{ShardReport, FILE};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("--merge: no shard folders given, and the configuration declares no [[shard]]")]
    Nothing,
    #[error(
        "{dir}: no {FILE} in it nor in a YYYY-MM-DD folder under it: give a shard's reports \
         folder (`<reports>/shards/NAME`) or one of its day folders, after the shard has run"
    )]
    NotFound { dir: PathBuf },
    #[error("{dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "provider `{provider}` is in shard {first:?} and in shard {second:?}: a provider belongs \
         to one shard (the merged fleet would count it twice)"
    )]
    SameProvider {
        provider: String,
        first: String,
        second: String,
    },
    #[error(
        "the shards are of different days ({days}): a shard whose newest report is older did \
         not finish tonight; see its logs, run it again, then merge"
    )]
    DifferentDays { days: String },
    #[error(
        "the shards' newest reports are of {day}, not of today ({today}): tonight's shard runs \
         did not finish; to merge {day} after all, name its day folders \
         (--merge <reports>/shards/NAME/{day} …)"
    )]
    NotToday { day: NaiveDate, today: NaiveDate },
    #[error("{file}: {what}: the file is not what its shard wrote; run the shard again")]
    Inconsistent { file: PathBuf, what: String },
    #[error(
        "{file}: shard {shard:?} {what}; the configuration's shards are {configured}: merge \
         the folders of this configuration's shards"
    )]
    NotConfigured {
        file: PathBuf,
        shard: String,
        what: String,
        configured: String,
    },
    #[error(
        "pod {pod} is in shard {first:?} and in shard {second:?}: one provider account is \
         configured twice (under two names, or with two of its tokens); keep one entry"
    )]
    SamePod {
        pod: String,
        first: String,
        second: String,
    },
    #[error("shard {shard:?} is given twice ({first} and {second})")]
    Twice {
        shard: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "no report of shard(s) {missing} to merge: the fleet's total would leave out their \
         providers; give every shard's folder (or none, for all configured)"
    )]
    Missing { missing: String },
}

/// A shard's file, whether its folder was named (a day folder) or found (the newest day), and
/// the day its folder's name says (`None`: a folder not named YYYY-MM-DD).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub file: PathBuf,
    pub named: bool,
    pub day: Option<NaiveDate>,
}

/// The file of `dir`: `dir/shard.json` (a day folder, named), else the one of its newest
/// `YYYY-MM-DD` folder.
pub fn locate(dir: &Path) -> Result<Located, MergeError> {
    let direct = dir.join(FILE);
    if direct.is_file() {
        return Ok(Located {
            file: direct,
            named: true,
            day: crate::report::shard_file::day_of(dir),
        });
    }
    let days = crate::report::shard_file::days(dir).map_err(|source| MergeError::Io {
        dir: dir.to_path_buf(),
        source,
    })?;
    let newest = days.into_iter().next_back();
    newest
        .map(|(day, file)| Located {
            file,
            named: false,
            day: Some(day),
        })
        .ok_or(MergeError::NotFound {
            dir: dir.to_path_buf(),
        })
}

/// A shard's file is checked as input, not trusted: its instant is of the day its folder
/// names, and every pod, cost row, wallet, idle row, pending notice and planned action is of a
/// provider the file lists.
pub fn check_file(part: &ShardReport, found: &Located) -> Result<(), MergeError> {
    let wrong = |what: String| MergeError::Inconsistent {
        file: found.file.clone(),
        what,
    };
    if let Some(day) = found.day {
        if part.now.date_naive() != day {
            return Err(wrong(format!(
                "its instant {} is not of its folder's day {day}",
                part.now
            )));
        }
    }
    let listed: std::collections::BTreeSet<&str> = part
        .fleet
        .providers
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let f = &part.fleet;
    let named = f
        .pods
        .iter()
        .map(|p| &p.provider)
        .chain(f.costs.iter().map(|c| &c.provider))
        .chain(f.wallets.iter().map(|w| &w.provider))
        .chain(f.idle_costs.iter().map(|i| &i.provider))
        .chain(part.pending.iter().map(|n| &n.provider));
    let planned = part.plan.iter().flat_map(|plan| {
        plan.actions
            .iter()
            .map(|a| &a.provider)
            .chain(plan.pending.iter().map(|n| &n.provider))
            .chain(plan.reported.iter().map(|r| &r.provider))
            .chain(plan.providers.iter().map(|p| &p.name))
    });
    for provider in named.chain(planned) {
        if !listed.contains(provider.as_str()) {
            return Err(wrong(format!(
                "it holds data of provider `{provider}`, which it does not list"
            )));
        }
    }
    Ok(())
}

/// The files against the configuration's `[[shard]]` list: each file is of a configured
/// shard and holds exactly that shard's providers, and every configured shard is there.
pub fn check_shards(
    parts: &[(PathBuf, ShardReport)],
    shards: &[crate::shard::Shard],
) -> Result<(), MergeError> {
    let configured = || {
        shards
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (i, (file, part)) in parts.iter().enumerate() {
        if let Some((first, _)) = parts[..i].iter().find(|(_, p)| p.shard == part.shard) {
            return Err(MergeError::Twice {
                shard: part.shard.clone(),
                first: first.clone(),
                second: file.clone(),
            });
        }
        let not = |what: String| MergeError::NotConfigured {
            file: file.clone(),
            shard: part.shard.clone(),
            what,
            configured: configured(),
        };
        let Some(shard) = shards.iter().find(|s| s.name == part.shard) else {
            return Err(not("is not configured".into()));
        };
        if let Some(p) = part
            .fleet
            .providers
            .iter()
            .find(|p| !shard.providers.contains(&p.name))
        {
            return Err(not(format!(
                "holds provider `{}`, not one of its own",
                p.name
            )));
        }
        if let Some(p) = shard
            .providers
            .iter()
            .find(|p| !part.fleet.providers.iter().any(|s| &s.name == *p))
        {
            return Err(not(format!("lacks its provider `{p}`")));
        }
    }
    let missing: Vec<&str> = shards
        .iter()
        .filter(|s| !parts.iter().any(|(_, p)| p.shard == s.name))
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
        });
    }
    Ok(())
}

/// The shards combined.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The shards' names, in the order given.
    pub shards: Vec<String>,
    /// The latest of the shards' report instants: the merged report's.
    pub now: DateTime<Utc>,
    pub fleet: Fleet,
    /// The shards' plans as one (`None` when no shard planned).
    pub plan: Option<Plan>,
    pub taken: Vec<TakenAction>,
    pub pending: Vec<PendingNotice>,
    /// What the merge noticed and the reader should know (shards on different policies).
    pub notes: Vec<String>,
}

/// Combines `parts` (at least one) into one fleet, plan and history.
pub fn merge(parts: Vec<ShardReport>) -> Result<Merged, MergeError> {
    let days: std::collections::BTreeSet<NaiveDate> =
        parts.iter().map(|p| p.now.date_naive()).collect();
    if days.len() > 1 {
        return Err(MergeError::DifferentDays {
            days: parts
                .iter()
                .map(|p| format!("{} {}", p.shard, p.now.date_naive()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for p in &parts {
        for status in &p.fleet.providers {
            if let Some(first) = owner.insert(status.name.clone(), p.shard.clone()) {
                return Err(MergeError::SameProvider {
                    provider: status.name.clone(),
                    first,
                    second: p.shard.clone(),
                });
            }
        }
    }
    let mut pods: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for p in &parts {
        for pod in &p.fleet.pods {
            match pods.insert(&pod.pod_id, &p.shard) {
                Some(first) if first != p.shard => {
                    return Err(MergeError::SamePod {
                        pod: pod.pod_id.clone(),
                        first: first.to_string(),
                        second: p.shard.clone(),
                    })
                }
                _ => {}
            }
        }
    }
    let now = parts
        .iter()
        .map(|p| p.now)
        .max()
        .ok_or(MergeError::Nothing)?;
    let mut merged = Merged {
        shards: parts.iter().map(|p| p.shard.clone()).collect(),
        now,
        fleet: Fleet::empty(now),
        plan: None,
        taken: Vec::new(),
        pending: Vec::new(),
        notes: Vec::new(),
    };
    let unplanned: Vec<String> = parts
        .iter()
        .filter(|p| p.plan.is_none())
        .map(|p| p.shard.clone())
        .collect();
    if !unplanned.is_empty() && unplanned.len() < parts.len() {
        merged.notes.push(format!(
            "shard(s) {} left a report without a plan: the merged plan holds the other shards' \
             actions only",
            unplanned.join(", ")
        ));
    }
    let mut plans = Vec::new();
    for p in parts {
        let f = p.fleet;
        merged.fleet.taken_at = merged.fleet.taken_at.min(f.taken_at);
        merged.fleet.providers.extend(f.providers);
        merged.fleet.pods.extend(f.pods);
        merged.fleet.costs.extend(f.costs);
        merged.fleet.wallets.extend(f.wallets);
        merged.fleet.idle_costs.extend(f.idle_costs);
        merged.fleet.facts.extend(f.facts);
        merged.taken.extend(p.taken);
        merged.pending.extend(p.pending);
        plans.extend(p.plan.map(|plan| (p.shard, plan)));
    }
    merged.fleet.normalize_order();
    merged
        .taken
        .sort_by(|a, b| (a.at, &a.target).cmp(&(b.at, &b.target)));
    merged.plan = merge_plans(plans, &mut merged.notes);
    Ok(merged)
}

/// The shards' plans as one: every list joined, the tallies of a policy summed.
fn merge_plans(plans: Vec<(String, Plan)>, notes: &mut Vec<String>) -> Option<Plan> {
    let mut iter = plans.into_iter();
    let (first_shard, mut plan) = iter.next()?;
    let mut run_ids = vec![plan.run_id.clone()];
    for (shard, p) in iter {
        if p.policies_sha256 != plan.policies_sha256 {
            notes.push(format!(
                "shards {first_shard:?} and {shard:?} planned with different policies \
                 (sha256 {} and {}): the merged plan joins both",
                short(&plan.policies_sha256),
                short(&p.policies_sha256)
            ));
        }
        run_ids.push(p.run_id);
        plan.generated_at = plan.generated_at.max(p.generated_at);
        plan.evaluated_at = plan.evaluated_at.max(p.evaluated_at);
        plan.actions.extend(p.actions);
        plan.blocked.extend(p.blocked);
        plan.pending.extend(p.pending);
        plan.reported.extend(p.reported);
        plan.providers.extend(p.providers);
        plan.unfinished.extend(p.unfinished);
        plan.policies = sum_tallies(std::mem::take(&mut plan.policies), p.policies);
        plan.summary = sum_summaries(&plan.summary, &p.summary);
    }
    plan.run_id = run_ids.join("+");
    plan.providers.sort_by(|a, b| a.name.cmp(&b.name));
    Some(plan)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Tallies of the same policy and action added up; the others kept, in first-seen order.
fn sum_tallies(mut into: Vec<PolicyTally>, more: Vec<PolicyTally>) -> Vec<PolicyTally> {
    for t in more {
        match into
            .iter_mut()
            .find(|i| i.policy == t.policy && i.action == t.action)
        {
            Some(i) => {
                i.matched += t.matched;
                i.unknown += t.unknown;
                i.guarded += t.guarded;
                i.counted += t.counted;
                i.planned += t.planned;
                i.pending += t.pending;
                i.refused |= t.refused;
            }
            None => into.push(t),
        }
    }
    into
}

fn sum_summaries(a: &Summary, b: &Summary) -> Summary {
    let mut s = a.clone();
    for (kind, n) in &b.actions_by_kind {
        *s.actions_by_kind.entry(kind.clone()).or_default() += n;
    }
    for (currency, amount) in &b.est_savings_per_day {
        *s.est_savings_per_day.entry(currency.clone()).or_default() += amount;
    }
    s.breaker_tripped |= b.breaker_tripped;
    s.pods += b.pods;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::samples::{at, pod};
    use crate::fleet::ProviderStatus;
    use crate::plan::{sample_action, sample_plan};

    fn part(shard: &str, provider: &str, hours: i64, stops: &[&str]) -> ShardReport {
        let mut p = pod(&format!("{provider}-pod"));
        p.provider = provider.into();
        let mut plan = sample_plan();
        plan.run_id = format!("run_{shard}");
        plan.actions = stops.iter().map(|t| sample_action(t)).collect();
        plan.policies = vec![PolicyTally {
            policy: "stop-idle".into(),
            action: "stop".into(),
            matched: stops.len(),
            planned: stops.len(),
            ..Default::default()
        }];
        plan.summary
            .actions_by_kind
            .insert("stop".into(), stops.len());
        plan.summary.pods = 1;
        ShardReport {
            format: crate::report::shard_file::FORMAT.into(),
            version: crate::report::shard_file::VERSION,
            shard: shard.into(),
            now: at(hours),
            fleet: Fleet {
                taken_at: at(hours),
                providers: vec![ProviderStatus {
                    name: provider.into(),
                    complete: true,
                    pods: 1,
                    error: None,
                    gaps: Vec::new(),
                    activity_reads: None,
                    cost_reads: None,
                }],
                pods: vec![p],
                costs: Vec::new(),
                wallets: Vec::new(),
                idle_costs: Vec::new(),
                facts: BTreeMap::new(),
            },
            plan: Some(plan),
            taken: Vec::new(),
            pending: Vec::new(),
        }
    }

    #[test]
    fn shards_join_into_one_fleet_and_one_plan_with_summed_tallies() {
        let merged = merge(vec![
            part("eu", "argus", 2, &["a", "b"]),
            part("us", "podstack", 3, &["c"]),
        ])
        .expect("merges");
        assert_eq!(merged.shards, ["eu", "us"]);
        assert_eq!(merged.now, at(3), "the latest shard's instant");
        assert_eq!(merged.fleet.taken_at, at(2), "the earliest collection");
        assert_eq!(merged.fleet.pods.len(), 2);
        let plan = merged.plan.expect("a plan");
        assert_eq!(plan.actions.len(), 3);
        assert_eq!(plan.run_id, "run_eu+run_us");
        assert_eq!(plan.policies.len(), 1);
        assert_eq!((plan.policies[0].matched, plan.policies[0].planned), (3, 3));
        assert_eq!(plan.summary.actions_by_kind["stop"], 3);
        assert_eq!(plan.summary.pods, 2);
        assert!(merged.notes.is_empty());
    }

    #[test]
    fn a_provider_in_two_shards_or_shards_of_two_days_are_refused() {
        let twice = merge(vec![
            part("eu", "argus", 2, &[]),
            part("us", "argus", 2, &[]),
        ]);
        assert!(
            matches!(&twice, Err(MergeError::SameProvider { provider, .. }) if provider == "argus"),
            "{twice:?}"
        );
        let mut again = part("us", "argus-2", 2, &[]);
        again.fleet.pods[0].pod_id = "argus-pod".into();
        let same_account = merge(vec![part("eu", "argus", 2, &[]), again]);
        assert!(
            matches!(&same_account, Err(MergeError::SamePod { pod, .. }) if pod == "argus-pod"),
            "{same_account:?}"
        );
        let stale = merge(vec![
            part("eu", "argus", 26, &[]),
            part("us", "podstack", 2, &[]),
        ])
        .expect_err("different days");
        let text = stale.to_string();
        assert!(text.contains("eu 2026-11-02, us 2026-11-01"), "{text}");
    }

    #[test]
    fn a_file_is_checked_against_its_folder_and_itself() {
        let found = |day: &str| Located {
            file: PathBuf::from(format!("r/{day}/shard.json")),
            named: false,
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok(),
        };
        let eu = part("eu", "argus", 2, &[]);
        assert!(check_file(&eu, &found("2026-11-01")).is_ok());
        let moved = check_file(&eu, &found("2026-11-02")).expect_err("another day");
        assert!(
            moved.to_string().contains("not of its folder's day"),
            "{moved}"
        );
        let mut foreign = part("eu", "argus", 2, &[]);
        foreign.fleet.pods[0].provider = "podstack".into();
        let err = check_file(&foreign, &found("2026-11-01")).expect_err("unlisted provider");
        assert!(err.to_string().contains("provider `podstack`"), "{err}");
    }

    #[test]
    fn a_shard_without_a_plan_is_noted() {
        let mut us = part("us", "podstack", 2, &[]);
        us.plan = None;
        let merged = merge(vec![part("eu", "argus", 2, &["a"]), us]).expect("merges");
        assert_eq!(merged.plan.map(|p| p.actions.len()), Some(1));
        assert!(merged.notes[0].contains("us left a report without a plan"));
    }

    #[test]
    fn shards_on_different_policies_are_merged_with_a_note() {
        let mut us = part("us", "podstack", 2, &[]);
        if let Some(p) = &mut us.plan {
            p.policies_sha256 = "1".repeat(64);
        }
        let merged = merge(vec![part("eu", "argus", 2, &[]), us]).expect("merges");
        assert_eq!(merged.notes.len(), 1, "{:?}", merged.notes);
        assert!(merged.notes[0].contains("different policies"));
    }
}
