//! Policy conditions (`[policy.match]`), each in one home: its key, how it is read from TOML,
//! its polars expression over the fleet frame, the columns it reads, when its input counts as
//! unknown, and how `explain` spells it. A new condition is a new [`Filter`] variant plus one
//! arm in each `match` below — the compiler lists every place.
//!
//! Unknown inputs: a condition that reads a signal (`activity`, `idle`, `orphaned`) whose
//! value is unknown for a pod neither holds nor fails there. The plan's guard blocks such pods
//! as "unknown" whatever the condition says (`activity != "busy"` does not match an unknown
//! pod), so that no policy can treat unknown data as idle.

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use toml::de::DeValue;

use super::diagnostic::{code, did_you_mean_or};
use super::load::{Cx, Node};
use crate::fleet::frame::{self, label_column};
use crate::fleet::PodStatus;

/// One condition of a policy's `[policy.match]` table. All must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Filter {
    Status(Vec<String>),
    /// Idle, with a known start, for at least this long. Unknown activity never matches.
    IdleFor(chrono::Duration),
    OlderThan(chrono::Duration),
    YoungerThan(chrono::Duration),
    /// An orphan for at least this long (provider's `orphaned_since`, else first observed).
    OrphanedFor(chrono::Duration),
    Ttl(Vec<String>),
    LabelPresent(String),
    LabelAbsent(String),
    LabelEquals(String, String),
    Project(Vec<String>),
    Owner(Vec<String>),
    GpuType(Vec<String>),
    Where {
        field: String,
        op: Op,
        value: Value,
    },
}

/// The keys of `[policy.match]`.
pub const MATCH_KEYS: &[&str] = &[
    "status",
    "idle_for",
    "older_than",
    "younger_than",
    "orphaned_for",
    "ttl",
    "labels",
    "labels_present",
    "labels_absent",
    "project",
    "owner",
    "gpu_type",
    "where",
];
const WHERE_KEYS: &[&str] = &["field", "op", "value"];
const TTL_STATES: &[&str] = &["none", "active", "expired"];

/// A comparison operator of a `where` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Glob,
}

impl Op {
    pub const NAMES: &'static [&'static str] =
        &["==", "!=", "<", "<=", ">", ">=", "in", "not in", "glob"];

    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "in" => Op::In,
            "not in" => Op::NotIn,
            "glob" => Op::Glob,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        Op::NAMES[self as usize]
    }
}

/// A value on the right of a `where` condition, already converted to the column's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Text(String),
    Texts(Vec<String>),
    /// Integers: counts, seconds (durations).
    Int(i64),
    Ints(Vec<i64>),
    /// An amount in micro-units with its currency: amounts of different currencies never compare.
    Money {
        micros: i64,
        currency: String,
    },
}

/// How a `where` field's values are written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Count,
    /// Written as a duration, compared in seconds.
    Seconds,
    /// Written as an amount with its currency ("2.00 USD"), compared in micro-units within
    /// that currency only.
    Money,
}

pub fn field_kind(field: &str) -> Option<FieldKind> {
    if field.strip_prefix("label.").is_some_and(|k| !k.is_empty()) {
        return Some(FieldKind::Text);
    }
    Some(match field {
        "gpu_count" => FieldKind::Count,
        "age" | "idle" | "orphaned" | "ttl_expired" => FieldKind::Seconds,
        "hourly_rate" => FieldKind::Money,
        f if frame::FIELDS.iter().any(|(n, _)| *n == f) => FieldKind::Text,
        _ => return None,
    })
}

impl Filter {
    /// The expression selecting the pods this condition matches. Comparisons with a null
    /// (unknown) value are null, and a null never selects a row.
    pub fn expr(&self) -> Expr {
        match self {
            Filter::Status(s) => any_of("status", s),
            Filter::IdleFor(d) => col("activity")
                .eq(lit("idle"))
                .and(col("idle").gt_eq(lit(d.num_seconds()))),
            Filter::OlderThan(d) => col("age").gt_eq(lit(d.num_seconds())),
            Filter::YoungerThan(d) => col("age").lt(lit(d.num_seconds())),
            Filter::OrphanedFor(d) => col("kind")
                .eq(lit("orphan"))
                .and(col("orphaned").gt_eq(lit(d.num_seconds()))),
            Filter::Ttl(states) => any_of("ttl_state", states),
            Filter::LabelPresent(k) => col(label_column(k)).is_not_null(),
            Filter::LabelAbsent(k) => col(label_column(k)).is_null(),
            Filter::LabelEquals(k, v) => col(label_column(k)).eq(lit(v.clone())),
            Filter::Project(v) => any_of("project", v),
            Filter::Owner(v) => any_of("owner", v),
            Filter::GpuType(v) => any_of("gpu_type", v),
            Filter::Where { field, op, value } => where_expr(field, *op, value),
        }
    }

    /// The columns it reads (for `explain`).
    pub fn columns(&self) -> Vec<String> {
        match self {
            Filter::Status(_) => vec!["status".into()],
            Filter::IdleFor(_) => vec!["activity".into(), "idle".into()],
            Filter::OlderThan(_) | Filter::YoungerThan(_) => vec!["age".into()],
            Filter::OrphanedFor(_) => vec!["kind".into(), "orphaned".into()],
            Filter::Ttl(_) => vec!["ttl_state".into()],
            Filter::LabelPresent(k) | Filter::LabelAbsent(k) | Filter::LabelEquals(k, _) => {
                vec![label_column(k)]
            }
            Filter::Project(_) => vec!["project".into()],
            Filter::Owner(_) => vec!["owner".into()],
            Filter::GpuType(_) => vec!["gpu_type".into()],
            Filter::Where { field, value, .. } => match value {
                Value::Money { .. } => vec![field.clone(), "currency".into()],
                _ => vec![field.clone()],
            },
        }
    }

    /// True where this condition's input is unknown for a pod; `None` when it reads no signal.
    pub fn unknown(&self) -> Option<Expr> {
        self.columns()
            .iter()
            .filter_map(|c| unknown_column(c))
            .reduce(|a, b| a.or(b))
    }

    /// The condition as a policy file spells it.
    pub fn describe(&self) -> String {
        let list = |v: &[String]| format!("[{}]", v.join(", "));
        let d = |d: &chrono::Duration| crate::duration::format(*d);
        match self {
            Filter::Status(v) => format!("status in {}", list(v)),
            Filter::IdleFor(x) => format!("idle_for {} (known idle, with a known start)", d(x)),
            Filter::OlderThan(x) => format!("older_than {}", d(x)),
            Filter::YoungerThan(x) => format!("younger_than {}", d(x)),
            Filter::OrphanedFor(x) => format!("orphaned_for {}", d(x)),
            Filter::Ttl(v) => format!("ttl in {}", list(v)),
            Filter::LabelPresent(k) => format!("label {k} present"),
            Filter::LabelAbsent(k) => format!("label {k} absent"),
            Filter::LabelEquals(k, v) => format!("label {k} = {v:?}"),
            Filter::Project(v) => format!("project in {}", list(v)),
            Filter::Owner(v) => format!("owner in {}", list(v)),
            Filter::GpuType(v) => format!("gpu_type in {}", list(v)),
            Filter::Where { field, op, value } => {
                let shown = match value {
                    Value::Money { micros, currency } => format!(
                        "\"{} {currency}\"",
                        crate::money::micros_to_decimal(*micros).normalize()
                    ),
                    Value::Text(s) => format!("{s:?}"),
                    Value::Texts(v) => format!("{v:?}"),
                    Value::Int(i) => i.to_string(),
                    Value::Ints(v) => format!("{v:?}"),
                };
                format!("where {field} {} {shown}", op.as_str())
            }
        }
    }
}

/// When a signal column's value is unknown: unknown activity; an idle pod whose start is not
/// known; an orphan whose orphan age is not known.
fn unknown_column(column: &str) -> Option<Expr> {
    let activity_unknown = || col("activity").eq(lit("unknown"));
    match column {
        "activity" => Some(activity_unknown()),
        "idle" => {
            Some(activity_unknown().or(col("activity").eq(lit("idle")).and(col("idle").is_null())))
        }
        "orphaned" => Some(col("kind").eq(lit("orphan")).and(col("orphaned").is_null())),
        _ => None,
    }
}

fn strings(values: &[String]) -> Expr {
    lit(Series::new("values".into(), values.to_vec()))
}

fn any_of(column: &str, values: &[String]) -> Expr {
    col(column).is_in(strings(values).implode(false), false)
}

fn where_expr(field: &str, op: Op, value: &Value) -> Expr {
    let c = col(field);
    if let Value::Money { micros, currency } = value {
        // Amounts compare only within their currency; "not equal" holds for other currencies.
        let same = col("currency").eq(lit(currency.clone()));
        let amount = lit(*micros);
        return match op {
            Op::Ne => same.not().or(c.neq(amount)),
            Op::Eq => same.and(c.eq(amount)),
            Op::Lt => same.and(c.lt(amount)),
            Op::Le => same.and(c.lt_eq(amount)),
            Op::Gt => same.and(c.gt(amount)),
            Op::Ge => same.and(c.gt_eq(amount)),
            // Refused when the policy is loaded.
            Op::In | Op::NotIn | Op::Glob => lit(false),
        };
    }
    let text = matches!(value, Value::Text(_) | Value::Texts(_));
    let scalar = match value {
        Value::Text(s) => lit(s.clone()),
        Value::Int(i) => lit(*i),
        Value::Texts(v) => strings(v).implode(false),
        Value::Ints(v) => lit(Series::new("values".into(), v.clone())).implode(false),
        Value::Money { micros, .. } => lit(*micros),
    };
    match op {
        Op::Eq => c.eq(scalar),
        // For text, "not equal" holds for a missing value too (a pod without a project is not
        // in "x"). A missing number or duration is not a value at all: a busy pod has no idle
        // time, so `idle != "0s"` must not select it.
        Op::Ne if text => c.neq_missing(scalar),
        Op::Ne => c.neq(scalar),
        Op::Lt => c.lt(scalar),
        Op::Le => c.lt_eq(scalar),
        Op::Gt => c.gt(scalar),
        Op::Ge => c.gt_eq(scalar),
        Op::In => c.is_in(scalar, false),
        Op::NotIn if text => c.is_in(scalar, false).fill_null(lit(false)).not(),
        Op::NotIn => c.is_in(scalar, false).not(),
        Op::Glob => {
            let pattern = match value {
                Value::Text(s) => s.as_str(),
                _ => "",
            };
            c.str().contains(lit(glob_regex(pattern)), true)
        }
    }
}

/// A glob as a regular expression polars accepts. globset writes byte-oriented regexes
/// (`(?-u)`); polars matches UTF-8 text, so the flag is dropped. Patterns were checked when
/// the policy was loaded; an invalid one here matches nothing.
pub fn glob_regex(pattern: &str) -> String {
    match globset::Glob::new(pattern) {
        Ok(g) => g.regex().trim_start_matches("(?-u)").to_string(),
        Err(_) => "^\\b\\B$".into(),
    }
}

/// Reading `[policy.match]` from TOML, every problem a diagnostic.
impl Cx<'_> {
    pub(super) fn filters(&mut self, node: &Node<'_>) -> Option<Vec<Filter>> {
        let t = self.table(node, "[policy.match]")?;
        self.unknown_keys(t, MATCH_KEYS, "[policy.match]");
        let before = self.diags.len();
        let mut out = Vec::new();
        let names = |v: Vec<(String, std::ops::Range<usize>)>| -> Vec<String> {
            v.into_iter().map(|(s, _)| s).collect()
        };
        for (key, value) in t.iter() {
            let key = key.get_ref().as_ref();
            let f = match key {
                "status" => self
                    .list_of(value, key, &PodStatus::ALL)
                    .map(Filter::Status),
                "idle_for" => self.duration(value, key).map(Filter::IdleFor),
                "older_than" => self.duration(value, key).map(Filter::OlderThan),
                "younger_than" => self.duration(value, key).map(Filter::YoungerThan),
                "orphaned_for" => self.duration(value, key).map(Filter::OrphanedFor),
                "ttl" => self.list_of(value, key, TTL_STATES).map(Filter::Ttl),
                "project" => self.strings(value, key).map(names).map(Filter::Project),
                "owner" => self.strings(value, key).map(names).map(Filter::Owner),
                "gpu_type" => self.strings(value, key).map(names).map(Filter::GpuType),
                "labels_present" | "labels_absent" => {
                    for k in self.strings(value, key).map(names).unwrap_or_default() {
                        out.push(if key == "labels_present" {
                            Filter::LabelPresent(k)
                        } else {
                            Filter::LabelAbsent(k)
                        });
                    }
                    continue;
                }
                "labels" => {
                    if let Some(lt) = self.table(value, "`labels`") {
                        for (k, v) in lt.iter() {
                            if let Some(v) = self.string(v, &format!("labels.{}", k.get_ref())) {
                                out.push(Filter::LabelEquals(k.get_ref().to_string(), v));
                            }
                        }
                    }
                    continue;
                }
                "where" => {
                    match value.get_ref().as_array() {
                        Some(items) => {
                            for item in items.iter() {
                                if let Some(f) = self.where_clause(item) {
                                    out.push(f);
                                }
                            }
                        }
                        None => self.push(
                            value.span(),
                            code::WRONG_TYPE,
                            "`where` must be an array of { field, op, value } tables".into(),
                            None,
                        ),
                    }
                    continue;
                }
                _ => continue,
            };
            if let Some(f) = f {
                out.push(f);
            }
        }
        if out.is_empty() && self.diags.len() == before {
            self.push(
                node.span(),
                code::MISSING_KEY,
                "[policy.match] is empty: it would select every pod".into(),
                Some("add at least one condition, e.g. status = \"running\"".into()),
            );
        }
        (self.diags.len() == before).then_some(out)
    }

    fn where_clause(&mut self, node: &Node<'_>) -> Option<Filter> {
        let t = self.table(node, "each `where` entry")?;
        self.unknown_keys(t, WHERE_KEYS, "a `where` entry");
        let get = |k: &str| t.get(k);
        let (Some(field_n), Some(op_n), Some(value_n)) = (get("field"), get("op"), get("value"))
        else {
            self.push(
                node.span(),
                code::MISSING_KEY,
                "a `where` entry needs field, op and value".into(),
                Some("e.g. { field = \"gpu_count\", op = \">=\", value = 2 }".into()),
            );
            return None;
        };
        let field = self.string(field_n, "field")?;
        let op = Op::parse(&self.one_of(op_n, "op", Op::NAMES)?)?;
        let Some(kind) = field_kind(&field) else {
            let mut names: Vec<&str> = frame::FIELDS.iter().map(|(n, _)| *n).collect();
            names.push("label.KEY");
            self.push(
                field_n.span(),
                code::BAD_WHERE,
                format!("unknown field `{field}`"),
                Some(did_you_mean_or(&field, &names, "fields")),
            );
            return None;
        };
        let value = self.where_value(value_n, &field, kind, op)?;
        Some(Filter::Where { field, op, value })
    }

    fn where_value(
        &mut self,
        node: &Node<'_>,
        field: &str,
        kind: FieldKind,
        op: Op,
    ) -> Option<Value> {
        let list = matches!(op, Op::In | Op::NotIn);
        let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        let refuse = |cx: &mut Self, message: String, hint: Option<&str>| {
            cx.push(
                node.span(),
                code::BAD_WHERE,
                message,
                hint.map(str::to_string),
            );
            None
        };
        if kind == FieldKind::Text && ordered {
            return refuse(
                self,
                format!("`{field}` is text: `{}` does not apply", op.as_str()),
                Some("use ==, !=, in, not in or glob"),
            );
        }
        if kind != FieldKind::Text && op == Op::Glob {
            return refuse(
                self,
                format!("`{field}` is not text: glob does not apply"),
                None,
            );
        }
        if kind == FieldKind::Money && list {
            return refuse(
                self,
                format!("`{field}` is an amount: `{}` does not apply", op.as_str()),
                Some(
                    "compare with ==, !=, <, <=, > or >= and one amount, e.g. value = \"2.00 USD\"",
                ),
            );
        }
        if kind == FieldKind::Money {
            return self.money(node, field);
        }
        let items: Vec<&Node<'_>> = match (node.get_ref(), list) {
            (DeValue::Array(a), true) => a.iter().collect(),
            (_, true) => {
                return refuse(
                    self,
                    format!("`{}` needs an array value", op.as_str()),
                    Some("e.g. value = [\"a\", \"b\"]"),
                )
            }
            (DeValue::Array(_), false) => {
                return refuse(
                    self,
                    format!("`{}` needs a single value, not an array", op.as_str()),
                    None,
                )
            }
            _ => vec![node],
        };
        if op == Op::Glob {
            if let Some(Err(e)) = node.get_ref().as_str().map(globset::Glob::new) {
                return refuse(
                    self,
                    format!("invalid glob: {e}"),
                    Some("globs use *, ?, [abc] and {a,b}"),
                );
            }
        }
        let mut texts = Vec::new();
        let mut ints = Vec::new();
        for item in items {
            match kind {
                FieldKind::Text => texts.push(self.string(item, "value")?),
                FieldKind::Count => ints.push(self.integer(item, "value")?),
                FieldKind::Seconds => ints.push(self.duration(item, "value")?.num_seconds()),
                FieldKind::Money => return None,
            }
        }
        Some(match (kind, list) {
            (FieldKind::Text, true) => Value::Texts(texts),
            (FieldKind::Text, false) => Value::Text(texts.pop()?),
            (_, true) => Value::Ints(ints),
            (_, false) => Value::Int(ints.pop()?),
        })
    }

    /// An amount with its currency: "2.00 USD". A bare amount is refused (P020): a pod's
    /// rate is in its own currency, and 2.00 INR is not 2.00 USD.
    fn money(&mut self, node: &Node<'_>, field: &str) -> Option<Value> {
        let hint = "name the currency, e.g. value = \"2.00 USD\"; rates are compared only with pods billed in that currency".to_string();
        let text = match node.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) => i.as_str().to_string(),
            DeValue::Float(f) => f.as_str().to_string(),
            _ => String::new(),
        };
        let mut parts = text.split_whitespace();
        let (amount, currency) = (parts.next(), parts.next());
        let amount = amount.and_then(|a| a.parse::<rust_decimal::Decimal>().ok());
        let currency =
            currency.filter(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()));
        match (amount, currency, parts.next()) {
            (Some(a), Some(c), None) => Some(Value::Money {
                micros: crate::money::decimal_to_micros(a),
                currency: c.to_ascii_uppercase(),
            }),
            (Some(_), None, None) => {
                self.push(
                    node.span(),
                    code::MONEY_WITHOUT_CURRENCY,
                    format!("`{field}` compares an amount without its currency: {text:?}"),
                    Some(hint),
                );
                None
            }
            _ => {
                self.push(
                    node.span(),
                    code::BAD_WHERE,
                    format!("`{field}` compares with an amount and its currency, found {text:?}"),
                    Some(hint),
                );
                None
            }
        }
    }
}
