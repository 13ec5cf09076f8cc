//! What a report is made of: headings, paragraphs, tables and chart places ([`Block`]), in
//! order ([`Doc`]). The sections (`report::sections`) write them; Markdown and HTML render
//! them, so a section is written once for every format.

use crate::report::currency::Amounts;

/// A piece of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, String),
    /// A paragraph; `loud` marks warnings.
    Para {
        text: String,
        loud: bool,
    },
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Where a chart goes (HTML only): `daily_provider`, `daily_project`, `idle_project`.
    Chart(&'static str),
}

/// Blocks in order.
#[derive(Debug, Default)]
pub struct Doc {
    pub blocks: Vec<Block>,
}

impl Doc {
    /// A heading of `level` (1 is the report's title).
    pub fn h(&mut self, level: u8, text: String) {
        self.blocks.push(Block::Heading(level, text));
    }
    /// A paragraph.
    pub fn p(&mut self, text: String) {
        self.blocks.push(Block::Para { text, loud: false });
    }
    /// A warning paragraph.
    pub fn warn(&mut self, text: String) {
        self.blocks.push(Block::Para { text, loud: true });
    }
    pub fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows,
        });
    }
    /// A table, or "None." when it has no rows.
    pub fn table_or_none(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.p("None.".into());
        } else {
            self.table(head, rows);
        }
    }
    /// A place for the chart `which` (see [`Block::Chart`]).
    pub fn chart(&mut self, which: &'static str) {
        self.blocks.push(Block::Chart(which));
    }
    /// A two-column table of amounts by `key` ("No spend." when there are none).
    pub fn amounts(&mut self, key: &str, rows: &[(String, Amounts)]) {
        if rows.is_empty() {
            self.p("No spend.".into());
            return;
        }
        self.table(
            &[key, "month to date"],
            rows.iter()
                .map(|(k, a)| vec![k.clone(), a.to_string()])
                .collect(),
        );
    }
}
