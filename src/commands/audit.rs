//! `podwarden audit`: list, verify and export the audit journal of the state file.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use super::setup::config_path;
use super::Error;
use crate::cli::{AuditAction, AuditArgs, AuditFilter, AuditFormat, AuditList, JournalFile};
use crate::config::Config;
use crate::exit::Exit;
use crate::state::journal::{Filter, Journal, Record, Stage, Verification};

/// Runs `podwarden audit …` to its exit code.
pub fn run(args: AuditArgs) -> Result<Exit, Error> {
    let journal = &args.journal;
    if let Some(action) = &args.action {
        if is_given(&args.list) {
            let name = match action {
                AuditAction::List(_) => "list",
                AuditAction::Verify => "verify",
                AuditAction::Export { .. } => "export",
            };
            return Err(Error::usage(format!(
                "the listing options (--run, --target, --policy, --status, --since, --until, \
                 --history, --format) go after `audit {name}`, not before it"
            )));
        }
    }
    match args.action {
        None => list(journal, &args.list),
        Some(AuditAction::List(list_args)) => list(journal, &list_args),
        Some(AuditAction::Verify) => verify(journal),
        Some(AuditAction::Export { file, filter }) => export(&file, journal, &filter),
    }
}

/// Whether any listing option was given (before a subcommand, they would be ignored).
fn is_given(l: &AuditList) -> bool {
    let f = &l.filter;
    l.history
        || l.format != AuditFormat::Table
        || f.run.is_some()
        || f.target.is_some()
        || f.policy.is_some()
        || f.status.is_some()
        || f.since.is_some()
        || f.until.is_some()
}

/// The state file: `--state`, else the `state` of the configuration (`--config`,
/// `$PODWARDEN_CONFIG`, `./podwarden.toml`). With neither there is no journal to guess at.
fn state_path(journal: &JournalFile) -> Result<PathBuf, Error> {
    if let Some(state) = &journal.state {
        return Ok(state.clone());
    }
    match config_path(journal.config.as_deref()) {
        Some(p) => Ok(Config::load(&p)?.state),
        None => Err(Error::usage(
            "which audit journal? Give --state FILE (the SQLite state file), or --config \
             podwarden.toml (also $PODWARDEN_CONFIG or ./podwarden.toml) whose `state` holds it",
        )),
    }
}

fn open(path: &Path) -> Result<Option<Journal>, Error> {
    Ok(Journal::open_existing(path)?)
}

fn no_journal(path: &Path) -> String {
    format!(
        "No audit journal in {}: no action has been applied with this state file.",
        path.display()
    )
}

/// `--since` / `--until`: RFC 3339, or a date for midnight UTC.
fn parse_time(flag: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, Error> {
    let Some(text) = text else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| {
            Error::usage(format!(
                "{flag} {text:?} is neither an RFC 3339 instant nor a date: write e.g. \
                 2026-11-21T02:00:00Z or 2026-11-21"
            ))
        })
}

fn filter(f: &AuditFilter, latest_only: bool) -> Result<Filter, Error> {
    Ok(Filter {
        run_id: f.run.clone(),
        target: f.target.clone(),
        policy: f.policy.clone(),
        stage: f.status,
        since: parse_time("--since", f.since.as_deref())?,
        until: parse_time("--until", f.until.as_deref())?,
        latest_only,
    })
}

fn list(journal: &JournalFile, args: &AuditList) -> Result<Exit, Error> {
    let path = state_path(journal)?;
    let filter = filter(&args.filter, !args.history)?;
    let jsonl = args.format == AuditFormat::Jsonl;
    let Some(journal) = open(&path)? else {
        // Messages go to stderr with JSON Lines, so that stdout stays a valid stream.
        if jsonl {
            eprintln!("{}", no_journal(&path));
        } else {
            println!("{}", no_journal(&path));
        }
        return Ok(Exit::Success);
    };
    let records = journal.query(&filter)?;
    let out = if jsonl {
        json_lines(&records)
    } else if records.is_empty() {
        empty(&journal, &filter)?
    } else {
        table(&records, args.history)
    };
    write_stdout(&out)
}

/// What an empty listing says: an empty journal, or nothing matching the filters.
fn empty(journal: &Journal, filter: &Filter) -> Result<String, Error> {
    let unfiltered = Filter {
        latest_only: filter.latest_only,
        ..Filter::default()
    };
    Ok(match journal.head()? {
        None => format!(
            "The audit journal in {} is empty: no action has been recorded yet.\n",
            journal.path()
        ),
        Some((last, _)) if *filter == unfiltered => format!(
            "No records, yet the journal's head names record {last}: run `podwarden audit verify`.\n"
        ),
        Some((last, _)) => {
            format!("No records match these filters (the journal holds {last} records).\n")
        }
    })
}

fn verify(journal: &JournalFile) -> Result<Exit, Error> {
    let path = state_path(journal)?;
    let Some(journal) = open(&path)? else {
        println!("{} Nothing to verify.", no_journal(&path));
        return Ok(Exit::Success);
    };
    let shown = path.display();
    match journal.verify()? {
        Verification::Intact { records: 0 } => {
            println!("The audit journal in {shown} is empty: nothing to verify.");
            Ok(Exit::Success)
        }
        Verification::Intact { records } => {
            let head = journal
                .head()?
                .map(|(seq, hash)| format!("; head: record {seq}, hash {hash}"))
                .unwrap_or_default();
            println!("The audit journal in {shown} is intact: {records} records{head}.");
            Ok(Exit::Success)
        }
        Verification::Broken { seq, why } => {
            println!("The audit journal in {shown} FAILED verification at record {seq}: {why}.");
            Ok(Exit::JournalBroken)
        }
    }
}

fn export(file: &Path, journal: &JournalFile, f: &AuditFilter) -> Result<Exit, Error> {
    let path = state_path(journal)?;
    let filter = filter(f, false)?;
    let records = match open(&path)? {
        Some(journal) => journal.query(&filter)?,
        None => {
            eprintln!("{}", no_journal(&path));
            vec![]
        }
    };
    let io = |source| Error::io(format!("writing {}", file.display()), source);
    let mut out = std::fs::File::create(file).map_err(io)?;
    out.write_all(json_lines(&records).as_bytes())
        .and_then(|_| out.sync_all())
        .map_err(io)?;
    eprintln!(
        "{} records written to {} (JSON Lines).",
        records.len(),
        file.display()
    );
    Ok(Exit::Success)
}

/// Writes to stdout; a reader that stopped reading (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<Exit, Error> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("writing to stdout", e))
        }
        _ => Ok(Exit::Success),
    }
}

/// One record per line, each its canonical form plus its hash (see the journal module).
fn json_lines(records: &[Record]) -> String {
    records
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|line| line + "\n")
        .collect()
}

/// A note cut to `max` characters, on one line.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// The human listing: a `run ID` line whenever the run changes, then one aligned line per
/// record, then the count per status.
fn table(records: &[Record], history: bool) -> String {
    let header = [
        "SEQ",
        "TIME",
        "STATUS",
        "ACTION",
        "PROVIDER",
        "TARGET",
        "POLICY",
        "HTTP",
        "OPERATION",
        "NOTE",
    ];
    let rows: Vec<(String, [String; 10])> = records
        .iter()
        .map(|r| {
            let n = &r.new;
            let note = n.detail.as_deref().unwrap_or(&n.reason);
            (
                n.run_id.clone(),
                [
                    r.seq.to_string(),
                    n.at.format("%Y-%m-%d %H:%M:%SZ").to_string(),
                    n.stage.to_string(),
                    n.action.clone(),
                    n.provider.clone(),
                    n.target.clone(),
                    n.policy.clone(),
                    n.http_status.map(|s| s.to_string()).unwrap_or_default(),
                    n.operation_id.clone().unwrap_or_default(),
                    one_line(note, 100),
                ],
            )
        })
        .collect();
    let mut widths = header.map(str::len);
    for (_, row) in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    let mut run: Option<&str> = None;
    for (run_id, row) in &rows {
        if run != Some(run_id.as_str()) {
            out.push_str(&format!("run {run_id}\n"));
            run = Some(run_id.as_str());
        }
        out.push_str(&line(row));
    }
    let counts: Vec<String> = Stage::ALL
        .iter()
        .filter_map(|s| {
            let n = records.iter().filter(|r| r.new.stage == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let what = if history {
        format!("{} records", records.len())
    } else {
        format!("{} actions (latest status of each)", records.len())
    };
    out.push_str(&format!("{what}: {}\n", counts.join(", ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_dates() {
        let t = parse_time("--since", Some("2026-11-21")).expect("date");
        assert_eq!(
            t.map(|t| t.to_rfc3339()),
            Some("2026-11-21T00:00:00+00:00".into())
        );
        let t = parse_time("--since", Some("2026-11-21T03:00:00+01:00")).expect("instant");
        assert_eq!(
            t.map(|t| t.to_rfc3339()),
            Some("2026-11-21T02:00:00+00:00".into())
        );
        assert!(parse_time("--until", Some("yesterday")).is_err());
        assert_eq!(parse_time("--until", None).expect("none"), None);
    }

    #[test]
    fn notes_are_one_line_and_cut() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("ééééé", 3), "éé…");
    }
}
