//! Policy test cases (`podwarden test`): TOML files under `DIR/tests/` that give a small
//! fleet, a fixed clock and the expected plan. A failing case prints what is missing and
//! what is unexpected.
//!
//! ```toml
//! [[case]]
//! name = "an idle worker past 6h is stopped"
//! now = "2026-11-21T02:00:00Z"
//! policies = ["stop-idle-argus-workers"]        # optional: default every policy in DIR
//!
//! [[case.pod]]
//! target = "wkr_idle"                           # provider: the first built-in name by default; kind = "pod", status = "running"
//! idle_for = "9h"                               # or activity = "busy" | "unknown"
//!
//! [[case.expect]]                               # exactly these actions
//! target = "wkr_idle"
//! action = "stop"
//! policy = "stop-idle-argus-workers"
//!
//! [[case.expect_blocked]]                        # each must be among the plan's blocked entries
//! target = "wkr_x"
//! why_contains = "unknown"
//!
//! [[case.notice]]                                # a notice held from earlier runs (policies with `notice`)
//! target = "wkr_idle"
//! policy = "stop-idle-argus-workers"
//! since = "30h"                                 # first matched this long before `now`
//!                                                # started = "40d": made in an earlier incarnation
//!
//! [[case.expect_pending]]                        # exactly these pending actions
//! target = "wkr_idle"
//! policy = "stop-idle-argus-workers"
//! due_in = "18h"                                # optional
//! ```
//!
//! A case's notices are the state store's for that run (of the pod's current incarnation);
//! without any, a notice policy's matches are pending from `now`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::fleet::{Activity, Fleet, Pod, PodStatus, ProviderStatus, ResourceKind, Since};
use crate::money::{Currency, Money};
use crate::plan::notice::{self, Notice, NoticeKey};
use crate::plan::{make, Notices, PlanSettings};
use crate::policy::{evaluate, PolicySet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    now: String,
    policies: Option<Vec<String>>,
    #[serde(default)]
    pod: Vec<PodFixture>,
    #[serde(default)]
    expect: Vec<Expected>,
    #[serde(default)]
    expect_blocked: Vec<ExpectedBlocked>,
    #[serde(default)]
    notice: Vec<HeldNotice>,
    #[serde(default)]
    expect_pending: Vec<ExpectedPending>,
}

/// A notice held from earlier runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldNotice {
    target: String,
    policy: String,
    /// First matched this long before the case's `now`.
    since: String,
    /// Made when the pod had last started this long before `now` (default: the pod's
    /// current incarnation), to express a pod restarted since.
    started: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedPending {
    target: String,
    policy: String,
    /// Due this long after the case's `now` (unchecked when absent).
    due_in: Option<String>,
}

/// A pod described relative to the case's `now`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodFixture {
    target: String,
    #[serde(default = "default_provider")]
    provider: String,
    #[serde(default = "default_kind")]
    kind: String,
    #[serde(default = "default_status")]
    status: String,
    #[serde(default = "default_rate")]
    hourly_rate: String,
    #[serde(default = "default_currency")]
    currency: String,
    /// Time since creation.
    #[serde(default = "default_age")]
    age: String,
    /// busy | idle | unknown (default: idle when `idle_for` is given, else busy).
    activity: Option<String>,
    /// Idle since this long ago.
    idle_for: Option<String>,
    /// An orphan since this long ago (orphans only; absent: unknown).
    orphaned_for: Option<String>,
    /// Last started this long ago.
    started: Option<String>,
    /// The resume TTL expired this long ago…
    ttl_expired: Option<String>,
    /// …or expires in this long.
    ttl_remaining: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    project: Option<String>,
    owner: Option<String>,
    gpu_type: Option<String>,
    #[serde(default = "default_gpus")]
    gpu_count: u32,
}

/// The first registered provider's built-in name.
fn default_provider() -> String {
    crate::providers::registry::ProviderType::ALL[0]
        .builtin_name()
        .into()
}
fn default_kind() -> String {
    "pod".into()
}
fn default_status() -> String {
    "running".into()
}
fn default_rate() -> String {
    "2.49".into()
}
fn default_currency() -> String {
    "USD".into()
}
fn default_age() -> String {
    "30d".into()
}
fn default_gpus() -> u32 {
    1
}

#[derive(Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
struct Expected {
    target: String,
    action: String,
    policy: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedBlocked {
    target: String,
    policy: Option<String>,
    why_contains: String,
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub file: PathBuf,
    pub name: String,
    /// Empty when the case passed; otherwise what differs, one line each.
    pub differences: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error(transparent)]
    Eval(#[from] evaluate::EvalError),
}

fn ago(now: DateTime<Utc>, text: &str, what: &str) -> Result<DateTime<Utc>, String> {
    crate::duration::parse(text)
        .map(|d| now - d)
        .map_err(|e| format!("{what}: {e}"))
}

impl PodFixture {
    fn pod(&self, now: DateTime<Utc>) -> Result<Pod, String> {
        let t = &self.target;
        let kind = match self.kind.as_str() {
            "pod" => ResourceKind::Pod,
            "orphan" => ResourceKind::Orphan,
            other => return Err(format!("pod {t}: kind {other:?} must be pod or orphan")),
        };
        let activity = match (self.activity.as_deref(), &self.idle_for) {
            (None | Some("idle"), Some(d)) => Activity::Idle {
                since: Some(ago(now, d, &format!("pod {t}: idle_for"))?),
                source: Some(Since::Provider),
                start_seen: true,
                evidence: "test fixture".into(),
            },
            (Some("idle"), None) => Activity::Idle {
                since: None,
                source: None,
                start_seen: false,
                evidence: "test fixture, start unknown".into(),
            },
            (None | Some("busy"), None) => Activity::Busy,
            (Some("unknown"), None) => Activity::Unknown {
                why: "test fixture: no signal".into(),
            },
            (Some(a), _) => {
                return Err(format!(
                "pod {t}: activity {a:?} must be busy, idle or unknown (idle_for only with idle)"
            ))
            }
        };
        let ttl_expires_at = match (&self.ttl_expired, &self.ttl_remaining) {
            (Some(d), None) => Some(ago(now, d, &format!("pod {t}: ttl_expired"))?),
            (None, Some(d)) => Some(
                now + crate::duration::parse(d)
                    .map_err(|e| format!("pod {t}: ttl_remaining: {e}"))?,
            ),
            (None, None) => None,
            _ => {
                return Err(format!(
                    "pod {t}: give ttl_expired or ttl_remaining, not both"
                ))
            }
        };
        let orphaned_since = self
            .orphaned_for
            .as_deref()
            .map(|d| ago(now, d, &format!("pod {t}: orphaned_for")))
            .transpose()?;
        Ok(Pod {
            provider: self.provider.clone(),
            kind,
            target: t.clone(),
            pod_id: t.clone(),
            name: t.clone(),
            status: PodStatus::parse(&self.status),
            project: self.project.clone(),
            owner: self.owner.clone(),
            gpu_type: self.gpu_type.clone(),
            gpu_count: self.gpu_count,
            region: None,
            labels: self.labels.clone(),
            hourly_rate: Money::parse(&self.hourly_rate, Currency::new(&self.currency))
                .ok_or_else(|| {
                    format!(
                        "pod {t}: hourly_rate {:?} is not a decimal",
                        self.hourly_rate
                    )
                })?,
            created_at: ago(now, &self.age, &format!("pod {t}: age"))?,
            last_started_at: self
                .started
                .as_deref()
                .map(|d| ago(now, d, &format!("pod {t}: started")))
                .transpose()?,
            ttl_expires_at,
            orphaned_since,
            orphaned_since_source: orphaned_since.map(|_| Since::Provider),
            stopped_since: None,
            reading: None,
            health: None,
            activity,
        })
    }
}

/// Runs every case in `DIR/tests/*.toml` against the policies of `set`.
pub fn run_dir(dir: &Path, set: &PolicySet) -> Result<Vec<CaseResult>, CaseError> {
    let tests = dir.join("tests");
    let invalid = |file: &Path, message: String| CaseError::Invalid {
        file: file.display().to_string(),
        message,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)
        .map_err(|e| {
            invalid(
                &tests,
                format!(
                    "cannot read the test folder: {e}; put cases in {}/*.toml",
                    tests.display()
                ),
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut results = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| invalid(&file, e.to_string()))?;
        let cases: CaseFile = toml::from_str(&text).map_err(|e| invalid(&file, e.to_string()))?;
        for case in cases.case {
            let differences = run_case(&case, set).map_err(|fault| match fault {
                CaseFault::Invalid(message) => {
                    invalid(&file, format!("case {:?}: {message}", case.name))
                }
                CaseFault::Eval(e) => CaseError::Eval(e),
            })?;
            results.push(CaseResult {
                file: file.clone(),
                name: case.name,
                differences,
            });
        }
    }
    Ok(results)
}

/// Why a case could not be run (as opposed to a case that ran and failed).
enum CaseFault {
    /// The case itself is wrong: a bad `now`, an unknown policy, a bad pod.
    Invalid(String),
    Eval(evaluate::EvalError),
}

impl From<evaluate::EvalError> for CaseFault {
    fn from(e: evaluate::EvalError) -> Self {
        CaseFault::Eval(e)
    }
}

fn run_case(case: &Case, all: &PolicySet) -> Result<Vec<String>, CaseFault> {
    let now = DateTime::parse_from_rfc3339(&case.now)
        .map_err(|e| CaseFault::Invalid(format!("now {:?}: {e}", case.now)))?
        .with_timezone(&Utc);
    let mut set = all.clone();
    if let Some(names) = &case.policies {
        for n in names {
            if !all.policies.iter().any(|p| &p.name == n) {
                return Err(CaseFault::Invalid(format!("no policy named {n:?}")));
            }
        }
        set.policies.retain(|p| names.contains(&p.name));
    }
    let pods = case
        .pod
        .iter()
        .map(|p| p.pod(now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CaseFault::Invalid)?;
    let providers: BTreeSet<String> = pods.iter().map(|p| p.provider.clone()).collect();
    let mut fleet = Fleet {
        taken_at: now,
        providers: providers
            .into_iter()
            .map(|name| ProviderStatus {
                activity_reads: None,
                cost_reads: None,
                pods: pods.iter().filter(|p| p.provider == name).count(),
                name,
                complete: true,
                error: None,
                gaps: vec![],
            })
            .collect(),
        pods,
        costs: vec![],
        wallets: vec![],
        idle_costs: Vec::new(),
        facts: Default::default(),
    };
    fleet.normalize_order();
    let settings = PlanSettings {
        notices: held_notices(case, &set, &fleet, now).map_err(CaseFault::Invalid)?,
        ..PlanSettings::default()
    };
    let plan = make(&fleet, &set, &settings, now, "test", now)?;

    let actual: BTreeSet<(String, String, String)> = plan
        .actions
        .iter()
        .map(|a| (a.target.clone(), a.action.to_string(), a.policy.clone()))
        .collect();
    let expected: BTreeSet<(String, String, String)> = case
        .expect
        .iter()
        .map(|e| (e.target.clone(), e.action.clone(), e.policy.clone()))
        .collect();
    let mut diff = Vec::new();
    for (t, a, p) in expected.difference(&actual) {
        diff.push(format!(
            "- expected {a} {t} by {p}, but it is not in the plan"
        ));
        for b in plan
            .blocked
            .iter()
            .filter(|b| &b.target == t || (b.target == "*" && (&b.policy == p || b.policy == "*")))
        {
            diff.push(format!("    because {}: {}", b.policy, b.why));
        }
    }
    for (t, a, p) in actual.difference(&expected) {
        let why = plan
            .actions
            .iter()
            .find(|x| &x.target == t)
            .map(|x| x.reason.clone())
            .unwrap_or_default();
        diff.push(format!("+ unexpected {a} {t} by {p} ({why})"));
    }
    for b in &case.expect_blocked {
        let found = plan.blocked.iter().any(|x| {
            x.target == b.target
                && b.policy.as_ref().is_none_or(|p| &x.policy == p)
                && x.why.contains(&b.why_contains)
        });
        if !found {
            let seen: Vec<String> = plan
                .blocked
                .iter()
                .filter(|x| x.target == b.target)
                .map(|x| format!("{}: {}", x.policy, x.why))
                .collect();
            diff.push(format!(
                "- expected {} blocked with {:?}; blocked entries for it: {}",
                b.target,
                b.why_contains,
                if seen.is_empty() {
                    "none".into()
                } else {
                    seen.join("; ")
                }
            ));
        }
    }
    diff.extend(pending_differences(case, &plan, now).map_err(CaseFault::Invalid)?);
    Ok(diff)
}

/// The case's `[[case.notice]]` entries as the state store would hold them: of the pod's
/// current incarnation, due after the policy's notice.
fn held_notices(
    case: &Case,
    set: &PolicySet,
    fleet: &Fleet,
    now: DateTime<Utc>,
) -> Result<Notices, String> {
    let mut out = Notices::new();
    for n in &case.notice {
        let policy = set
            .policies
            .iter()
            .find(|p| p.name == n.policy)
            .ok_or_else(|| format!("notice: no policy named {:?} in the case", n.policy))?;
        let notice = policy
            .notice
            .ok_or_else(|| format!("notice: policy {:?} has no `notice` period", n.policy))?;
        let pod = fleet
            .pods
            .iter()
            .find(|p| p.target == n.target)
            .ok_or_else(|| format!("notice: no pod {:?} in the case", n.target))?;
        let first_matched = ago(now, &n.since, &format!("notice {}: since", n.target))?;
        out.insert(
            NoticeKey {
                provider: pod.provider.clone(),
                target: pod.target.clone(),
                policy: policy.name.clone(),
                action: policy.action.as_str().into(),
            },
            Notice {
                incarnation: match &n.started {
                    Some(d) => ago(now, d, &format!("notice {}: started", n.target))?,
                    None => notice::incarnation(pod, policy.action),
                },
                first_matched,
                last_matched: first_matched,
                due_at: first_matched + notice,
            },
        );
    }
    Ok(out)
}

/// Missing and unexpected pending actions (and wrong due times).
fn pending_differences(
    case: &Case,
    plan: &crate::plan::Plan,
    now: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let mut diff = Vec::new();
    for e in &case.expect_pending {
        let found = plan
            .pending
            .iter()
            .find(|p| p.target == e.target && p.policy == e.policy);
        let due = e
            .due_in
            .as_deref()
            .map(|d| {
                crate::duration::parse(d)
                    .map(|d| now + d)
                    .map_err(|err| format!("expect_pending {}: due_in: {err}", e.target))
            })
            .transpose()?;
        match (found, due) {
            (None, _) => diff.push(format!(
                "- expected {} pending by {}, but it is not pending",
                e.target, e.policy
            )),
            (Some(p), Some(due)) if p.due_at != due => diff.push(format!(
                "- expected {} pending by {} due at {}, but it is due at {}",
                e.target,
                e.policy,
                due.to_rfc3339(),
                p.due_at.to_rfc3339()
            )),
            _ => {}
        }
    }
    for p in &plan.pending {
        if !case
            .expect_pending
            .iter()
            .any(|e| e.target == p.target && e.policy == p.policy)
        {
            diff.push(format!(
                "+ unexpected pending {} {} by {} (due {})",
                p.action,
                p.target,
                p.policy,
                p.due_at.to_rfc3339()
            ));
        }
    }
    Ok(diff)
}

/// The results for a terminal, ending with "N passed, M failed".
pub fn render(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        let _ = writeln!(
            out,
            "{} {}: {}",
            if r.passed() { "ok  " } else { "FAIL" },
            r.file.display(),
            r.name
        );
        for d in &r.differences {
            let _ = writeln!(out, "       {d}");
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    let _ = writeln!(
        out,
        "policy cases: {} passed, {failed} failed",
        results.len() - failed
    );
    out
}
