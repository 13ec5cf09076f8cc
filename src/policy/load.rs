//! Reading policy files: TOML with source spans → checked [`Policy`] values.
//!
//! Like cargo-deny, the raw TOML tree (with spans) is walked by hand so that *every*
//! problem is reported at once, each as a [`Diagnostic`] at its file:line:column.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{code, did_you_mean_or, line_col, Diagnostic};
use super::limits::{self, LimitsToml};
use super::reason;
use super::schedule::ClockTime;
use super::{Action, Limits, Policy, Schedule};
use crate::fleet::ResourceKind;
use crate::providers::registry::ProviderTypes;

/// All policies of a directory, in file order, with a hash of their source.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    pub policies: Vec<Policy>,
    /// SHA-256 over every file's name and content, for the plan's `policies_sha256`.
    pub sha256: String,
    pub files: Vec<PathBuf>,
}

const POLICY_KEYS: &[&str] = &[
    "name",
    "description",
    "providers",
    "resource",
    "action",
    "allow_terminate",
    "priority",
    "reason",
    "ttl_hours",
    "override_ttl_lease",
    "notice",
    "match",
    "limits",
    "schedule",
];
const SCHEDULE_KEYS: &[&str] = &["days", "from", "to", "timezone"];
const RESOURCES: &[&str] = &["pod", "orphan"];

/// Loads every `*.toml` file directly in `dir` (sorted by name), checked against the
/// built-in provider names ([`ProviderTypes::builtin`]). Errors: all diagnostics.
pub fn load_dir(dir: &Path) -> Result<PolicySet, Vec<Diagnostic>> {
    load_dir_for(dir, &ProviderTypes::builtin())
}

/// Loads every `*.toml` file directly in `dir` (sorted by name), checked against
/// `providers` (the configured names and types). Errors: all diagnostics.
pub fn load_dir_for(dir: &Path, providers: &ProviderTypes) -> Result<PolicySet, Vec<Diagnostic>> {
    let unreadable = |message: String| {
        vec![Diagnostic {
            file: dir.into(),
            line: 1,
            column: 1,
            code: code::UNREADABLE,
            message,
            hint: None,
        }]
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| unreadable(format!("cannot read policy directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut sources = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| unreadable(format!("cannot read {}: {e}", f.display())))?;
        sources.push((f.clone(), text));
    }
    let set = load_sources_for(&sources, providers)?;
    if set.policies.is_empty() {
        return Err(vec![Diagnostic {
            file: dir.into(),
            line: 1,
            column: 1,
            code: code::NO_POLICIES,
            message: "no policies found".into(),
            hint: Some("add a *.toml file with a [[policy]] table (see policies/ in the podwarden repository)".into()),
        }]);
    }
    Ok(set)
}

/// Checks policies given as (file name, text) pairs against the built-in provider names;
/// every problem is collected.
pub fn load_sources(sources: &[(PathBuf, String)]) -> Result<PolicySet, Vec<Diagnostic>> {
    load_sources_for(sources, &ProviderTypes::builtin())
}

/// Checks policies given as (file name, text) pairs against `providers`; every problem is
/// collected.
pub fn load_sources_for(
    sources: &[(PathBuf, String)],
    providers: &ProviderTypes,
) -> Result<PolicySet, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut policies = Vec::new();
    let mut hasher = Sha256::new();
    let mut names: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for (file, text) in sources {
        hasher.update(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
        let mut cx = Cx {
            file,
            text,
            providers,
            diags: Vec::new(),
            names: Vec::new(),
        };
        policies.extend(cx.file_policies());
        // Names are checked even for policies with other problems: every problem at once.
        for (name, span, line) in std::mem::take(&mut cx.names) {
            match names.get(&name) {
                Some((first_file, first_line)) => cx.push(
                    span,
                    code::DUPLICATE_NAME,
                    format!("policy name `{name}` is already used"),
                    Some(format!(
                        "first defined at {}:{}; names must be unique across the directory",
                        first_file.display(),
                        first_line
                    )),
                ),
                None => {
                    names.insert(name, (file.clone(), line));
                }
            }
        }
        diags.extend(cx.diags);
    }
    if diags.is_empty() {
        Ok(PolicySet {
            policies,
            sha256: hex::encode(hasher.finalize()),
            files: sources.iter().map(|(f, _)| f.clone()).collect(),
        })
    } else {
        diags.sort();
        Err(diags)
    }
}

pub(super) type Node<'i> = Spanned<DeValue<'i>>;

/// The walk over one file, collecting diagnostics.
pub(super) struct Cx<'a> {
    file: &'a Path,
    text: &'a str,
    /// What the policies' provider names stand for.
    providers: &'a ProviderTypes,
    pub(super) diags: Vec<Diagnostic>,
    /// Every policy name read, with where: for the duplicate check across files.
    names: Vec<(String, Range<usize>, usize)>,
}

impl Cx<'_> {
    pub(super) fn push(
        &mut self,
        span: Range<usize>,
        code: &'static str,
        message: String,
        hint: Option<String>,
    ) {
        self.diags.push(Diagnostic::at(
            self.file, self.text, span, code, message, hint,
        ));
    }

    fn file_policies(&mut self) -> Vec<Policy> {
        let root = match DeTable::parse(self.text) {
            Ok(t) => t,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                self.push(
                    span,
                    code::SYNTAX,
                    format!("TOML syntax: {}", e.message().trim()),
                    None,
                );
                return Vec::new();
            }
        };
        let root = root.get_ref();
        self.unknown_keys(root, &["policy"], "the file");
        let Some(list) = root.get("policy") else {
            self.push(
                0..0,
                code::MISSING_KEY,
                "no [[policy]] table in this file".into(),
                Some("start each policy with [[policy]]".into()),
            );
            return Vec::new();
        };
        let Some(items) = list.get_ref().as_array() else {
            self.push(
                list.span(),
                code::WRONG_TYPE,
                "`policy` must be an array of tables".into(),
                Some("write [[policy]], with two brackets".into()),
            );
            return Vec::new();
        };
        items.iter().filter_map(|item| self.policy(item)).collect()
    }

    pub(super) fn unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], section: &str) {
        for (key, _) in table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                self.push(
                    key.span(),
                    code::UNKNOWN_KEY,
                    format!("unknown key `{}` in {section}", key.get_ref()),
                    Some(did_you_mean_or(key.get_ref(), allowed, "allowed keys")),
                );
            }
        }
    }

    pub(super) fn table<'t, 'i>(
        &mut self,
        node: &'t Node<'i>,
        what: &str,
    ) -> Option<&'t DeTable<'i>> {
        let t = node.get_ref().as_table();
        if t.is_none() {
            self.push(
                node.span(),
                code::WRONG_TYPE,
                format!(
                    "{what} must be a table, found {}",
                    node.get_ref().type_str()
                ),
                None,
            );
        }
        t
    }

    pub(super) fn string(&mut self, node: &Node<'_>, key: &str) -> Option<String> {
        match node.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.push(
                    node.span(),
                    code::WRONG_TYPE,
                    format!(
                        "`{key}` must be a string, found {}",
                        node.get_ref().type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn integer(&mut self, node: &Node<'_>, key: &str) -> Option<i64> {
        let parsed = node
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        if parsed.is_none() {
            self.push(
                node.span(),
                code::WRONG_TYPE,
                format!(
                    "`{key}` must be an integer, found {}",
                    node.get_ref().type_str()
                ),
                None,
            );
        }
        parsed
    }

    pub(super) fn bool(&mut self, node: &Node<'_>, key: &str) -> Option<bool> {
        let b = node.get_ref().as_bool();
        if b.is_none() {
            self.push(
                node.span(),
                code::WRONG_TYPE,
                format!(
                    "`{key}` must be true or false, found {}",
                    node.get_ref().type_str()
                ),
                None,
            );
        }
        b
    }

    /// A string or an array of strings.
    pub(super) fn strings(
        &mut self,
        node: &Node<'_>,
        key: &str,
    ) -> Option<Vec<(String, Range<usize>)>> {
        match node.get_ref() {
            DeValue::String(s) => Some(vec![(s.to_string(), node.span())]),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    out.push((self.string(item, key)?, item.span()));
                }
                Some(out)
            }
            other => {
                self.push(
                    node.span(),
                    code::WRONG_TYPE,
                    format!(
                        "`{key}` must be a string or an array of strings, found {}",
                        other.type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    /// Whether `value` is one of `allowed`; if not, a P006 at `span` ("`key` cannot `verb` …").
    pub(super) fn allowed(
        &mut self,
        value: &str,
        span: Range<usize>,
        key: &str,
        verb: &str,
        allowed: &[&str],
    ) -> bool {
        let ok = allowed.contains(&value);
        if !ok {
            self.push(
                span,
                code::BAD_VALUE,
                format!("`{key}` cannot {verb} {value:?}"),
                Some(did_you_mean_or(value, allowed, "use one of")),
            );
        }
        ok
    }

    pub(super) fn one_of(
        &mut self,
        node: &Node<'_>,
        key: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let s = self.string(node, key)?;
        self.allowed(&s, node.span(), key, "be", allowed)
            .then_some(s)
    }

    pub(super) fn list_of(
        &mut self,
        node: &Node<'_>,
        key: &str,
        allowed: &[&str],
    ) -> Option<Vec<String>> {
        let items = self.strings(node, key)?;
        let mut ok = true;
        for (s, span) in &items {
            ok &= self.allowed(s, span.clone(), key, "contain", allowed);
        }
        ok.then(|| items.into_iter().map(|(s, _)| s).collect())
    }

    pub(super) fn duration(&mut self, node: &Node<'_>, key: &str) -> Option<chrono::Duration> {
        let s = self.string(node, key)?;
        match crate::duration::parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(
                    node.span(),
                    code::BAD_DURATION,
                    format!("`{key}`: {e}"),
                    Some("durations look like \"90m\", \"6h\", \"7d\", \"1d12h\"".into()),
                );
                None
            }
        }
    }

    fn policy(&mut self, node: &Node<'_>) -> Option<Policy> {
        let t = self.table(node, "each [[policy]]")?;
        self.unknown_keys(t, POLICY_KEYS, "[[policy]]");
        let (line, _) = line_col(self.text, node.span().start);
        let before = self.diags.len();

        let name = match t.get("name") {
            Some(n) => self.string(n, "name").map(|s| (s, n.span())),
            None => {
                self.push(
                    node.span(),
                    code::MISSING_KEY,
                    "a policy needs a `name`".into(),
                    Some("add name = \"stop-idle-workers\"".into()),
                );
                None
            }
        };
        if let Some((n, span)) = &name {
            self.names.push((n.clone(), span.clone(), line));
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.push(
                    span.clone(),
                    code::BAD_VALUE,
                    format!("policy name {n:?} must be letters, digits, - and _"),
                    None,
                );
            }
        }
        let description = t
            .get("description")
            .and_then(|n| self.string(n, "description"))
            .unwrap_or_default();
        let providers = match t.get("providers") {
            Some(n) => self.strings(n, "providers"),
            None => Some(Vec::new()),
        };
        let resource = match t.get("resource") {
            Some(n) => self.one_of(n, "resource", RESOURCES),
            None => Some("pod".into()),
        };
        let resource = if resource.as_deref() == Some("orphan") {
            ResourceKind::Orphan
        } else {
            ResourceKind::Pod
        };
        let action = match t.get("action") {
            Some(n) => self
                .one_of(n, "action", Action::NAMES)
                .and_then(|s| Action::parse(&s))
                .map(|a| (a, n.span())),
            None => {
                self.push(
                    node.span(),
                    code::MISSING_KEY,
                    "a policy needs an `action`".into(),
                    Some("add action = \"stop\" (or resume, terminate, report)".into()),
                );
                None
            }
        };
        let allow_terminate = t
            .get("allow_terminate")
            .and_then(|n| self.bool(n, "allow_terminate"))
            .unwrap_or(false);
        if let Some((action, span)) = &action {
            if *action == Action::Terminate && !allow_terminate {
                self.push(span.clone(), code::TERMINATE_NOT_ALLOWED, "action = \"terminate\" needs allow_terminate = true in the same policy".into(), Some("terminate destroys the pod and its disk: say so explicitly with allow_terminate = true".into()));
            }
            if resource == ResourceKind::Orphan
                && !matches!(action, Action::Terminate | Action::Report)
            {
                self.push(
                    span.clone(),
                    code::ORPHAN_ACTION,
                    format!(
                        "orphans can only be terminated or reported, not {}",
                        action.as_str()
                    ),
                    Some(
                        "use action = \"terminate\" (with allow_terminate = true) or \"report\""
                            .into(),
                    ),
                );
            }
        }
        let priority = t
            .get("priority")
            .and_then(|n| self.integer(n, "priority"))
            .unwrap_or(0);
        let ttl_hours = match t.get_key_value("ttl_hours") {
            Some((key, n)) => match self.integer(n, "ttl_hours") {
                Some(h) if (1..=168).contains(&h) => Some((h as u32, key.span())),
                Some(_) => {
                    self.push(
                        n.span(),
                        code::BAD_VALUE,
                        "`ttl_hours` must be 1 to 168".into(),
                        None,
                    );
                    None
                }
                None => None,
            },
            None => None,
        };
        let override_ttl_lease = match t.get("override_ttl_lease") {
            Some(n) => {
                let value = self.bool(n, "override_ttl_lease").unwrap_or(false);
                let acts = action
                    .as_ref()
                    .is_some_and(|(a, _)| matches!(a, Action::Stop | Action::Terminate));
                if value && !acts && action.is_some() {
                    self.push(
                        n.span(),
                        code::LEASE_OVERRIDE,
                        "`override_ttl_lease` applies only to stop and terminate policies".into(),
                        Some("remove it: a lease only holds off stops and terminates".into()),
                    );
                }
                value
            }
            None => false,
        };
        let notice = t
            .get("notice")
            .and_then(|n| self.notice(n, action.as_ref().map(|(a, _)| *a)));
        if let (Some((_, key)), Some((action, _)), Some(providers)) =
            (&ttl_hours, &action, &providers)
        {
            let names: Vec<&str> = providers.iter().map(|(p, _)| p.as_str()).collect();
            self.ttl_applies(key.clone(), *action, &names);
        }
        let ttl_hours = ttl_hours.map(|(h, _)| h);
        let reason = match t.get("reason") {
            Some(n) => {
                let named = name.as_ref().map(|(n, _)| n.as_str());
                self.reason(n, named.zip(action.as_ref().map(|(a, _)| *a)))
            }
            None => Some(reason::DEFAULT.to_string()),
        };
        let filters = match t.get("match") {
            Some(n) => self.filters(n),
            None => {
                self.push(
                    node.span(),
                    code::MISSING_KEY,
                    "a policy needs a [policy.match] table".into(),
                    Some(
                        "an empty match would select every pod; add e.g. status = \"running\""
                            .into(),
                    ),
                );
                None
            }
        };
        let limits = t
            .get("limits")
            .and_then(|n| self.limits(n))
            .unwrap_or_default();
        let schedule = t.get("schedule").and_then(|n| self.schedule(n));

        if self.diags.len() > before {
            return None;
        }
        let (name, _) = name?;
        Some(Policy {
            name,
            description,
            file: self.file.to_path_buf(),
            line,
            providers: providers?.into_iter().map(|(p, _)| p).collect(),
            resource,
            action: action?.0,
            allow_terminate,
            priority,
            reason: reason?,
            ttl_hours,
            override_ttl_lease,
            notice,
            filters: filters?,
            limits,
            schedule,
        })
    }

    /// `notice = "24h"`: a positive duration, on a policy that acts (a report-only policy
    /// never acts, so a notice there would promise owners something that never comes: P022).
    fn notice(&mut self, node: &Node<'_>, action: Option<Action>) -> Option<chrono::Duration> {
        let d = self.duration(node, "notice")?;
        if d <= chrono::Duration::zero() {
            self.push(
                node.span(),
                code::BAD_NOTICE,
                format!(
                    "`notice` must be positive, found {:?}",
                    crate::duration::format(d)
                ),
                Some(
                    "omit `notice` to act on the first run that matches, or write e.g. \"24h\""
                        .into(),
                ),
            );
            return None;
        }
        if action == Some(Action::Report) {
            self.push(
                node.span(),
                code::BAD_NOTICE,
                "`notice` applies to policies that act; a report-only policy never acts".into(),
                Some(
                    "remove `notice`, or give the policy an action (stop, resume, terminate)"
                        .into(),
                ),
            );
            return None;
        }
        Some(d)
    }

    /// `ttl_hours` must not be dropped silently: it belongs to resume policies, and only to
    /// those that can apply only to providers that enforce a resume TTL (P019, at the key).
    /// `names` are the policy's `providers` (empty: every known provider).
    fn ttl_applies(&mut self, key: Range<usize>, action: Action, names: &[&str]) {
        if action != Action::Resume {
            self.push(
                key,
                code::BAD_VALUE,
                format!(
                    "`ttl_hours` applies to resume policies only, not {}",
                    action.as_str()
                ),
                Some("remove ttl_hours, or use action = \"resume\"".into()),
            );
            return;
        }
        let known = &self.providers.names;
        let scope: Vec<&str> = if names.is_empty() {
            known.keys().map(String::as_str).collect()
        } else {
            names.to_vec()
        };
        // (name, why it cannot keep a lease)
        let lacking: Vec<(&str, String)> = scope
            .iter()
            .filter_map(|name| match known.get(*name) {
                Some(t) if t.supports_resume_ttl() => None,
                Some(t) => Some((*name, format!("{} has no resume TTL", t.title()))),
                None => Some((
                    *name,
                    format!(
                        "`{name}` is not a provider {} knows, so podwarden cannot promise a lease",
                        match &self.providers.source {
                            Some(p) => p.display().to_string(),
                            None => format!(
                                "podwarden (no config; built-in names: {})",
                                crate::providers::registry::builtin_names()
                            ),
                        }
                    ),
                )),
            })
            .collect();
        let Some((_, why)) = lacking.first() else {
            return;
        };
        let mut with_ttl: Vec<&str> = scope
            .iter()
            .copied()
            .filter(|n| known.get(*n).is_some_and(|t| t.supports_resume_ttl()))
            .collect();
        if with_ttl.is_empty() {
            with_ttl = known
                .iter()
                .filter(|(_, t)| t.supports_resume_ttl())
                .map(|(n, _)| n.as_str())
                .collect();
        }
        let hint = if with_ttl.is_empty() {
            format!("{why}: remove ttl_hours (no configured provider has resume TTLs)")
        } else {
            let list: Vec<String> = with_ttl.iter().map(|n| format!("{n:?}")).collect();
            format!(
                "{why}: remove ttl_hours, or restrict the policy with providers = [{}]",
                list.join(", ")
            )
        };
        let offenders: Vec<String> = lacking.iter().map(|(n, _)| format!("`{n}`")).collect();
        self.push(
            key,
            code::NO_RESUME_TTL,
            format!(
                "ttl_hours on a resume policy that applies to a provider without resume TTLs ({}): the resume would be permanent",
                offenders.join(", ")
            ),
            Some(hint),
        );
    }

    /// Checks a reason template: known placeholders, 3–400 characters written, and a
    /// shortest rendering the providers accept (P017, when the policy's name and action are
    /// known: they are part of the rendering).
    fn reason(&mut self, node: &Node<'_>, policy: Option<(&str, Action)>) -> Option<String> {
        let text = self.string(node, "reason")?;
        let mut ok = true;
        for name in reason::placeholders(&text) {
            if !reason::PLACEHOLDERS.iter().any(|p| p.name == name) {
                self.push(
                    node.span(),
                    code::UNKNOWN_PLACEHOLDER,
                    format!("unknown placeholder {{{name}}} in reason"),
                    Some(did_you_mean_or(&name, &reason::names(), "placeholders")),
                );
                ok = false;
            }
        }
        let len = text.chars().count();
        if !(3..=400).contains(&len) {
            self.push(node.span(), code::BAD_REASON, format!("reason template is {len} characters; keep it 3 to 400 (rendered reasons must fit the providers' 500)"), None);
            ok = false;
        }
        if let (true, Some((name, action))) = (ok, policy) {
            let shortest = reason::shortest_rendering(&text, name, action);
            let n = shortest.chars().count();
            if n < reason::MIN_LEN {
                self.push(
                    node.span(),
                    code::REASON_TOO_SHORT,
                    format!(
                        "reason template can render shorter than {} characters",
                        reason::MIN_LEN
                    ),
                    Some(format!(
                        "its shortest rendering is {shortest:?} ({n} character{}) and the providers refuse reasons under {}: add words, e.g. \"idle {{idle_hours}}h (policy {{policy}})\"",
                        if n == 1 { "" } else { "s" },
                        reason::MIN_LEN
                    )),
                );
                ok = false;
            }
        }
        ok.then_some(text)
    }

    /// Reads `[policy.limits]` into the raw form and checks it with the same function as
    /// podwarden.toml's `[limits]`; each refusal is a P013 at its key or value.
    fn limits(&mut self, node: &Node<'_>) -> Option<Limits> {
        let t = self.table(node, "[policy.limits]")?;
        self.unknown_keys(t, limits::KEYS, "[policy.limits]");
        let mut raw = LimitsToml::default();
        // key → (span of the key, span of the value)
        let mut spans: BTreeMap<String, (Range<usize>, Range<usize>)> = BTreeMap::new();
        if let Some((k, n)) = t.get_key_value("max_actions") {
            spans.insert("max_actions".into(), (k.span(), n.span()));
            raw.max_actions = self.integer(n, "max_actions");
        }
        if let Some((k, n)) = t.get_key_value("max_fleet_share") {
            spans.insert("max_fleet_share".into(), (k.span(), n.span()));
            raw.max_fleet_share = self.string(n, "max_fleet_share");
        }
        if let Some(n) = t.get("max_per_day") {
            if let Some(per) = self.table(n, "`max_per_day`") {
                for (cur, amount) in per.iter() {
                    let cur_text = cur.get_ref().to_string();
                    spans.insert(
                        format!("max_per_day.{cur_text}"),
                        (cur.span(), amount.span()),
                    );
                    if let Some(text) = self.string(amount, "max_per_day") {
                        raw.max_per_day.insert(cur_text, text);
                    }
                }
            }
        }
        match raw.check() {
            Ok(l) => Some(l),
            Err(errors) => {
                for e in errors {
                    let span = spans
                        .get(&e.key)
                        .map(|(k, v)| if e.in_key { k.clone() } else { v.clone() })
                        .unwrap_or_else(|| node.span());
                    self.push(span, code::BAD_LIMIT, e.message, e.hint);
                }
                None
            }
        }
    }

    fn schedule(&mut self, node: &Node<'_>) -> Option<Schedule> {
        let t = self.table(node, "[policy.schedule]")?;
        self.unknown_keys(t, SCHEDULE_KEYS, "[policy.schedule]");
        const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days = match t.get("days") {
            Some(n) => self
                .list_of(n, "days", DAYS)?
                .iter()
                .filter_map(|d| d.parse::<chrono::Weekday>().ok())
                .collect(),
            None => DAYS
                .iter()
                .filter_map(|d| d.parse::<chrono::Weekday>().ok())
                .collect(),
        };
        let mut time = |key: &str| -> Option<(ClockTime, Range<usize>)> {
            let n = t.get(key)?;
            let s = self.string(n, key)?;
            let parsed =
                ClockTime::parse(&s).filter(|c| key == "to" || *c != ClockTime::END_OF_DAY);
            if parsed.is_none() {
                let range = if key == "to" {
                    "00:00 to 24:00"
                } else {
                    "00:00 to 23:59"
                };
                self.push(
                    n.span(),
                    code::BAD_SCHEDULE,
                    format!("`{key}` must be a time HH:MM from {range}, found {s:?}"),
                    Some("\"24:00\" (the end of the day) is allowed as `to` only".into()),
                );
            }
            parsed.map(|c| (c, n.span()))
        };
        let (from, to) = (time("from"), time("to"));
        let timezone = match t.get("timezone") {
            Some(n) => {
                let s = self.string(n, "timezone")?;
                match s.parse::<chrono_tz::Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        self.push(
                            n.span(),
                            code::BAD_SCHEDULE,
                            format!("unknown time zone {s:?}"),
                            Some("use an IANA name such as \"Europe/Berlin\" or \"UTC\"".into()),
                        );
                        None
                    }
                }
            }
            None => Some(chrono_tz::UTC),
        };
        match (from, to) {
            (Some((from, _)), Some((to, span))) if from == to => {
                self.push(
                    span,
                    code::EMPTY_WINDOW,
                    format!("the schedule window is empty: `from` and `to` are both {from}"),
                    Some("omit [policy.schedule] to act at any time; to act all day on some days, write from = \"00:00\", to = \"24:00\"".into()),
                );
                None
            }
            (Some((from, _)), Some((to, _))) => Some(Schedule {
                days,
                from,
                to,
                timezone: timezone?,
            }),
            (None, _) | (_, None) if t.contains_key("from") && t.contains_key("to") => None,
            _ => {
                self.push(
                    node.span(),
                    code::BAD_SCHEDULE,
                    "[policy.schedule] needs `from` and `to` (HH:MM)".into(),
                    None,
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &str, action: &str) -> Result<PolicySet, Vec<Diagnostic>> {
        let toml = format!(
            "[[policy]]\nname = \"p\"\naction = \"{action}\"\n{extra}\n[policy.match]\nstatus = \"running\"\n"
        );
        load_sources(&[(PathBuf::from("p.toml"), toml)])
    }

    fn codes(r: Result<PolicySet, Vec<Diagnostic>>) -> Vec<(&'static str, usize)> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(|d| (d.code, d.line))
            .collect()
    }

    #[test]
    fn a_notice_is_read_as_a_duration() {
        let set = load("notice = \"1d12h\"", "stop").expect("valid");
        assert_eq!(set.policies[0].notice, Some(chrono::Duration::hours(36)));
        let set = load("", "stop").expect("valid");
        assert_eq!(set.policies[0].notice, None, "no notice by default");
    }

    #[test]
    fn a_notice_must_be_a_positive_duration_on_a_policy_that_acts() {
        assert_eq!(
            codes(load("notice = \"0h\"", "stop")),
            vec![(code::BAD_NOTICE, 4)]
        );
        assert_eq!(
            codes(load("notice = \"24h\"", "report")),
            vec![(code::BAD_NOTICE, 4)]
        );
        assert_eq!(
            codes(load("notice = \"soon\"", "stop")),
            vec![(code::BAD_DURATION, 4)]
        );
        assert_eq!(
            codes(load("notice = 24", "stop")),
            vec![(code::WRONG_TYPE, 4)]
        );
    }
}
