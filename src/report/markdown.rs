//! The report as Markdown, `summary.md`: for the terminal, a review comment or a mail body.
//! It renders the blocks of the report's sections ([`crate::report::sections`]);
//! `report.html` renders the same blocks ([`crate::report::html`]).

use std::fmt::Write;

use crate::report::blocks::{Block, Doc};
use crate::report::build::Report;
use crate::report::sections::{self, doc, doc_for_mail};

/// The headline as Markdown list items.
pub fn headline(r: &Report) -> String {
    let mut out = String::new();
    for (line, loud) in sections::headline::lines(r) {
        if loud {
            let _ = writeln!(out, "- ⚠️ **{line}**");
        } else {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

/// `summary.md`.
pub fn render(r: &Report) -> String {
    render_doc(&doc(r))
}

/// The report as Markdown for a mail's text body: tables cut (see [`doc_for_mail`]).
pub fn for_mail(r: &Report) -> String {
    render_doc(&doc_for_mail(r))
}

/// Blocks as Markdown.
pub fn render_doc(d: &Doc) -> String {
    let mut out = String::new();
    for b in d.blocks.iter().cloned() {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(level)));
            }
            Block::Para { text, loud: false } => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::Para { text, loud: true } => {
                let _ = writeln!(out, "⚠️ **{text}**\n");
            }
            Block::Table { head, rows } => {
                let _ = writeln!(out, "| {} |", head.join(" | "));
                let _ = writeln!(out, "|{}|", vec!["---"; head.len()].join("|"));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
                out.push('\n');
            }
            Block::Chart(_) => {}
        }
    }
    out
}
