//! Every problem of a `podwarden.toml` at once, each a [`Diagnostic`] with `file:line:column`,
//! a stable code (`C001`…, listed in [`code`]) and a hint — as `podwarden validate` reports the
//! policies, and with the same TOML walk: the file is parsed with spans, each section is
//! deserialized on its own into the type its module owns (an unknown or mistyped key is
//! reported and left out, and the section read again, so one mistake never hides the next),
//! the values that read as text but mean more (durations, time zones, URLs, ranges) are
//! checked where they stand, and once the structure holds the sections' own checks run.
//!
//! An unknown or mistyped key is named, never its value: a secret typed under a wrong key
//! must not reach a log. (Durations and time zones that do not parse are quoted: they are
//! not secrets, and the quote shows what was read.)

use std::path::Path;

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::policy::diagnostic::{did_you_mean_or, Diagnostic};

/// Stable codes of configuration problems (documented in docs/configuration.md; never renumbered).
pub mod code {
    pub const SYNTAX: &str = "C001";
    pub const UNKNOWN_KEY: &str = "C002";
    pub const WRONG_TYPE: &str = "C003";
    pub const MISSING_KEY: &str = "C004";
    pub const BAD_DURATION: &str = "C005";
    pub const UNKNOWN_TIME_ZONE: &str = "C006";
    /// A token or password written inline.
    pub const INLINE_SECRET: &str = "C007";
    pub const OUT_OF_RANGE: &str = "C008";
    /// A URL without `http://` or `https://`.
    pub const BAD_URL: &str = "C009";
    /// Anything else a section's own check refuses.
    pub const BAD_VALUE: &str = "C010";
}

type Node<'i> = Spanned<DeValue<'i>>;

/// The top-level keys, in the order docs/configuration.md documents them.
const TOP: &[&str] = &[
    "shard",
    "state",
    "reports",
    "policies",
    "cost_days",
    "currency",
    "report",
    "deadline",
    "protection",
    "limits",
    "apply",
    "collect",
    "providers",
    "schedule",
    "metrics",
    "email",
];

/// The most days of cost rows a run reads (the providers keep 90).
pub const MAX_COST_DAYS: i64 = 90;

/// Every problem of `text` (the file at `path`); empty when it is a valid configuration.
pub fn diagnose(path: &Path, text: &str) -> Vec<Diagnostic> {
    let mut walk = Walk {
        path,
        text,
        diags: Vec::new(),
    };
    walk.file();
    if walk.diags.is_empty() {
        // The structure holds: what the sections' own checks say (limits, rates, labels, …).
        let checked = toml::from_str::<super::ConfigToml>(text)
            .map_err(|e| e.message().to_string())
            .and_then(|raw| {
                let base = path.parent().unwrap_or(Path::new("."));
                super::Config::from_toml(raw, Some(path), base)
                    .map(|_| ())
                    .map_err(|e| match e {
                        super::ConfigError::Invalid { message, .. }
                        | super::ConfigError::Token { message, .. } => message,
                        other => other.to_string(),
                    })
            });
        if let Err(message) = checked {
            let span = walk.span_named_by(&message);
            walk.push(span, code::BAD_VALUE, message, None);
        }
    }
    walk.diags.sort_by_key(|d| (d.line, d.column));
    walk.diags
}

struct Walk<'a> {
    path: &'a Path,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Walk<'_> {
    fn push(
        &mut self,
        span: std::ops::Range<usize>,
        code: &'static str,
        message: String,
        hint: Option<String>,
    ) {
        self.diags.push(Diagnostic::at(
            self.path, self.text, span, code, message, hint,
        ));
    }

    fn file(&mut self) {
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
                return;
            }
        };
        let root = root.into_inner();
        for (key, node) in root.iter() {
            let name = key.get_ref().as_ref();
            match name {
                "state" | "reports" | "policies" => {
                    self.read::<std::path::PathBuf>(node, name);
                }
                "cost_days" => self.cost_days(node),
                "deadline" => self.duration(node, "deadline"),
                "currency" => {
                    if let Some(c) =
                        self.read::<crate::report::currency::CurrencyToml>(node, "[currency]")
                    {
                        if let Err(e) = crate::report::currency::Conversion::from_toml(&c) {
                            self.push(
                                node.span(),
                                code::BAD_VALUE,
                                format!("[currency]: {e}"),
                                None,
                            );
                        }
                    }
                }
                "report" if !matches!(node.get_ref(), DeValue::Table(_)) => {
                    self.push(
                        node.span(),
                        code::WRONG_TYPE,
                        "`report` is a table: [report] top = 20, projects = [...]".into(),
                        Some("did you mean `reports` (the reports folder)?".into()),
                    );
                }
                "report" => {
                    if let Some(r) =
                        self.read::<crate::report::settings::ReportToml>(node, "[report]")
                    {
                        if let Err(e) = crate::report::settings::ReportSettings::from_toml(&r) {
                            self.push(node.span(), code::BAD_VALUE, format!("[report] {e}"), None);
                        }
                    }
                }
                "protection" => {
                    if self
                        .read::<super::Protection>(node, "[protection]")
                        .is_some()
                    {
                        self.duration_at(node, "new_pod_grace", "[protection] new_pod_grace");
                    }
                }
                "limits" => {
                    if let Some(limits) = self.read::<crate::policy::LimitsToml>(node, "[limits]") {
                        // The breakers' own check, every refused limit at its key.
                        for e in limits.check().err().unwrap_or_default() {
                            let first = e.key.split('.').next().unwrap_or(&e.key);
                            let span = field(node, first).map_or_else(|| node.span(), |v| v.span());
                            self.push(
                                span,
                                code::BAD_VALUE,
                                format!("[limits]: {}", e.message),
                                e.hint,
                            );
                        }
                    }
                }
                "apply" => {
                    if self.read::<super::ApplyToml>(node, "[apply]").is_some() {
                        self.duration_at(node, "max_plan_age", "[apply] max_plan_age");
                        self.duration_at(node, "verify_timeout", "[apply] verify_timeout");
                    }
                }
                "collect" => {
                    if let Some(c) =
                        self.read::<crate::collect::settings::CollectToml>(node, "[collect]")
                    {
                        self.duration_at(node, "max_evidence_age", "[collect] max_evidence_age");
                        self.duration_at(node, "observe_span", "[collect] observe_span");
                        if let Err(e) = c.check() {
                            if e.contains("observe_budget") {
                                let span = field(node, "observe_budget")
                                    .map_or_else(|| node.span(), |v| v.span());
                                self.push(
                                    span,
                                    code::BAD_VALUE,
                                    e,
                                    Some("a share such as \"50%\"".into()),
                                );
                            }
                        }
                    }
                }
                "providers" => self.providers(node),
                "schedule" => self.schedule(node),
                "metrics" => {
                    if self
                        .read::<crate::notify::metrics::MetricsToml>(node, "[metrics]")
                        .is_some()
                    {
                        self.url_at(node, "pushgateway", "[metrics] pushgateway");
                        self.duration_at(node, "timeout", "[metrics] timeout");
                    }
                }
                "email" => self.email(node),
                "shard" => self.shards(node, root.get("providers")),
                _ => self.push(
                    key.span(),
                    code::UNKNOWN_KEY,
                    format!("unknown key `{name}` in podwarden.toml"),
                    Some(did_you_mean_or(name, TOP, "top-level keys")),
                ),
            }
        }
        if root.get("providers").is_none() {
            self.push(
                0..0,
                code::MISSING_KEY,
                "no [providers.NAME] table: add at least one provider".into(),
                Some("e.g. [providers.argus] with type = \"argus\", base_url and token_env".into()),
            );
        }
    }

    fn providers(&mut self, node: &Node<'_>) {
        let Some(table) = node.get_ref().as_table() else {
            self.wrong_type(node, "[providers]", "a table of [providers.NAME] tables");
            return;
        };
        for (name, p) in table.iter() {
            let section = format!("[providers.{}]", name.get_ref());
            let mut node = p.clone();
            // A token written inline is its own mistake, whatever else the table holds.
            if let DeValue::Table(t) = node.get_mut() {
                if let Some((key, _)) = t.remove_entry("token") {
                    self.push(
                        key.span(),
                        code::INLINE_SECRET,
                        format!("{section} token: tokens are never inline"),
                        Some(
                            "use token_env = \"VAR\" or token_file = \"path\" (a mounted secret)"
                                .into(),
                        ),
                    );
                }
            }
            if self.read::<super::ProviderToml>(&node, &section).is_some() {
                self.url_at(&node, "base_url", &format!("{section} base_url"));
                for key in ["timeout", "connect_timeout", "read_timeout"] {
                    self.duration_at(&node, key, &format!("{section} {key}"));
                }
            }
        }
    }

    /// `[[shard]]`: each problem at the shard it is in.
    fn shards(&mut self, node: &Node<'_>, providers: Option<&Node<'_>>) {
        let Some(raw) = self.read::<Vec<crate::shard::ShardToml>>(node, "[[shard]]") else {
            return;
        };
        let names: Vec<String> = providers
            .and_then(|p| p.get_ref().as_table())
            .map(|t| t.iter().map(|(k, _)| k.get_ref().to_string()).collect())
            .unwrap_or_default();
        let elements = node.get_ref().as_array();
        for (index, message) in crate::shard::problems(&raw, &names) {
            let span = index
                .and_then(|i| elements.and_then(|a| a.get(i)))
                .map_or_else(|| node.span(), |e| e.span());
            self.push(span, code::BAD_VALUE, message, None);
        }
    }

    fn schedule(&mut self, node: &Node<'_>) {
        if self
            .read::<crate::schedule::ScheduleToml>(node, "[schedule]")
            .is_none()
        {
            return;
        }
        self.duration_at(node, "grace", "[schedule] grace");
        if let Some(tz) = field(node, "timezone") {
            if let Some(name) = tz.get_ref().as_str() {
                if name.parse::<chrono_tz::Tz>().is_err() {
                    self.push(
                        tz.span(),
                        code::UNKNOWN_TIME_ZONE,
                        format!("[schedule] timezone: {name:?} is not an IANA time zone"),
                        Some("e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\"".into()),
                    );
                }
            }
        }
    }

    fn email(&mut self, node: &Node<'_>) {
        if let Some(key) = key_of(node, "password") {
            self.push(
                key,
                code::INLINE_SECRET,
                "[email] password: never write the SMTP password inline".into(),
                Some(
                    "use password_env = \"VAR\" or password_file = \"path\" (a mounted secret)"
                        .into(),
                ),
            );
        }
        if self
            .read::<crate::notify::email_config::EmailToml>(node, "[email]")
            .is_some()
        {
            self.duration_at(node, "timeout", "[email] timeout");
        }
    }

    fn cost_days(&mut self, node: &Node<'_>) {
        let Some(days) = self.read::<i64>(node, "cost_days") else {
            return;
        };
        if !(1..=MAX_COST_DAYS).contains(&days) {
            self.push(
                node.span(),
                code::OUT_OF_RANGE,
                format!("cost_days must be 1 to {MAX_COST_DAYS}, not {days}"),
                Some("leave it out to read the report's window (month to date and the previous month)".into()),
            );
        }
    }

    /// Reads `node` as `T`. Each unknown or mistyped key is reported and left out, and the
    /// rest read again, so that every mistake of a section is found in one run. `None` when
    /// the section did not read (its value checks are then skipped).
    fn read<T: DeserializeOwned>(&mut self, node: &Node<'_>, what: &str) -> Option<T> {
        let mut node = node.clone();
        let mut clean = true;
        for _ in 0..64 {
            let e = match T::deserialize(node.clone().into_deserializer()) {
                Ok(v) => return clean.then_some(v),
                Err(e) => e,
            };
            clean = false;
            let message = e.message().to_string();
            let span = e.span().unwrap_or_else(|| node.span());
            if let Some(key) = quoted_after(&message, "unknown field ") {
                let allowed = expected_list(&message);
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                let key_span = key_of(&node, &key).unwrap_or(span);
                self.push(
                    key_span,
                    code::UNKNOWN_KEY,
                    format!("unknown key `{key}` in {what}"),
                    Some(did_you_mean_or(&key, &allowed, "allowed keys")),
                );
                if !remove(&mut node, &key) {
                    return None;
                }
                continue;
            }
            if let Some(key) = quoted_after(&message, "missing field ") {
                self.push(
                    node.span(),
                    code::MISSING_KEY,
                    format!("{what} needs `{key}`"),
                    None,
                );
                return None;
            }
            // A value of the wrong type or not among the allowed ones: say which key and what
            // it must be, never the value itself.
            let key = key_at(&node, &span);
            let subject = match &key {
                Some(k) => format!("{what} {k}"),
                None => what.to_string(),
            };
            let expected = message
                .split_once("expected ")
                .map(|(_, e)| e.trim_end_matches('.').to_string());
            let (code, text) = if message.starts_with("invalid type") {
                (
                    code::WRONG_TYPE,
                    format!(
                        "{subject} must be {}",
                        expected.as_deref().unwrap_or("of another type")
                    ),
                )
            } else {
                (
                    code::BAD_VALUE,
                    match expected {
                        Some(e) => format!("{subject} must be {e}"),
                        None => format!("{subject}: {}", first_clause(&message)),
                    },
                )
            };
            self.push(span, code, text, None);
            match key {
                Some(k) if remove(&mut node, &k) => continue,
                _ => return None,
            }
        }
        None
    }

    fn wrong_type(&mut self, node: &Node<'_>, what: &str, expected: &str) {
        self.push(
            node.span(),
            code::WRONG_TYPE,
            format!(
                "{what} must be {expected}, found {}",
                node.get_ref().type_str()
            ),
            None,
        );
    }

    fn duration(&mut self, node: &Node<'_>, what: &str) {
        let Some(text) = node.get_ref().as_str() else {
            self.wrong_type(node, what, "a duration such as \"20m\"");
            return;
        };
        if let Err(e) = crate::duration::parse(text) {
            self.push(
                node.span(),
                code::BAD_DURATION,
                format!("{what}: {e}"),
                Some("durations read like 90s, 30m, 6h, 7d, 2w, 1d12h".into()),
            );
        }
    }

    fn duration_at(&mut self, table: &Node<'_>, key: &str, what: &str) {
        if let Some(node) = field(table, key) {
            self.duration(node, what);
        }
    }

    fn url_at(&mut self, table: &Node<'_>, key: &str, what: &str) {
        let Some(node) = field(table, key) else {
            return;
        };
        let Some(url) = node.get_ref().as_str() else {
            return;
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.push(
                node.span(),
                code::BAD_URL,
                format!("{what} must start with https:// (or http:// on loopback)"),
                Some("e.g. https://ops.example.com/api/v1".into()),
            );
        }
    }

    /// Where a section's own check message points: the key it names (`[apply]
    /// max_plan_age: …`, `providers.argus.ops_rate: …`), else the file's start.
    fn span_named_by(&self, message: &str) -> std::ops::Range<usize> {
        let head = message.split(':').next().unwrap_or("");
        let words: Vec<&str> = head
            .split(['.', ' ', '[', ']'])
            .filter(|w| !w.is_empty())
            .collect();
        let Ok(root) = DeTable::parse(self.text) else {
            return 0..0;
        };
        let mut span = 0..0;
        let mut table = root.get_ref();
        for w in words {
            let Some((k, v)) = table.get_key_value(w) else {
                break;
            };
            span = k.span();
            match v.get_ref().as_table() {
                Some(t) => table = t,
                None => {
                    span = v.span();
                    break;
                }
            }
        }
        span
    }
}

fn field<'n, 'i>(table: &'n Node<'i>, key: &str) -> Option<&'n Node<'i>> {
    table.get_ref().as_table().and_then(|t| t.get(key))
}

fn key_of(table: &Node<'_>, key: &str) -> Option<std::ops::Range<usize>> {
    table
        .get_ref()
        .as_table()
        .and_then(|t| t.get_key_value(key))
        .map(|(k, _)| k.span())
}

/// The key of `table` whose value (or key) holds `span`.
fn key_at(table: &Node<'_>, span: &std::ops::Range<usize>) -> Option<String> {
    table.get_ref().as_table().and_then(|t| {
        t.iter()
            .find(|(k, v)| {
                let vs = v.span();
                let ks = k.span();
                (vs.start <= span.start && span.start < vs.end.max(vs.start + 1))
                    || (ks.start <= span.start && span.start < ks.end)
            })
            .map(|(k, _)| k.get_ref().to_string())
    })
}

fn remove(table: &mut Node<'_>, key: &str) -> bool {
    match table.get_mut() {
        DeValue::Table(t) => t.remove(key).is_some(),
        _ => false,
    }
}

/// The first `` `quoted` `` word after `prefix` in serde's message.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split_once(prefix)?.1;
    let rest = rest.strip_prefix('`')?;
    Some(rest.split('`').next()?.to_string())
}

/// The `` `a`, `b` `` list after "expected one of" (or "expected") in serde's message.
fn expected_list(message: &str) -> Vec<String> {
    let Some((_, list)) = message.split_once("expected") else {
        return Vec::new();
    };
    list.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, w)| w.to_string())
        .collect()
}

fn first_clause(message: &str) -> &str {
    message.split([',', '\n']).next().unwrap_or(message).trim()
}
