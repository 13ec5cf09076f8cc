//! What a report is made of: headings, paragraphs, tables and chart places ([`Block`]), in
//! order ([`Doc`]). The sections (`report::sections`) write them; Markdown and HTML render
//! them, so a section is written once for every format.

use crate::report::currency::Amounts;

/// The first cell of a table's last row, for the `n` rows it sums: `… 1,234 more pods`
/// (`plural` names them).
pub fn more(n: usize, plural: &str) -> String {
    format!(
        "… {} more {plural}",
        crate::report::currency::thousands(n as u64)
    )
}

/// A table's last row for the rows it sums: `first` (see [`more`]) in the first of `columns`
/// cells, `last` in the last ones, the cells between empty.
pub fn rest_row(columns: usize, first: String, last: Vec<String>) -> Vec<String> {
    let blanks = columns.saturating_sub(1 + last.len());
    std::iter::once(first)
        .chain(std::iter::repeat_n(String::new(), blanks))
        .chain(last)
        .collect()
}

/// The sum of `amounts`, as a cell.
pub fn sum<'a>(amounts: impl Iterator<Item = &'a Amounts>) -> String {
    let mut total: Option<Amounts> = None;
    for a in amounts {
        match total.as_mut() {
            Some(t) => t.merge(a),
            None => total = Some(a.clone()),
        }
    }
    total.map_or_else(String::new, |t| t.to_string())
}

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
    /// The first `top` of `items` (in their order) as a table and, when there are more, one
    /// last row for the rest, written by `rest` from the items left out (its first cell
    /// names how many, see [`more`]); "None." when there are no items. The report reads
    /// the same at any fleet size: the full detail is in `spend.csv`.
    pub fn top_table<T>(
        &mut self,
        head: &[&str],
        items: &[T],
        top: usize,
        row: impl Fn(&T) -> Vec<String>,
        rest: impl FnOnce(&[T]) -> Vec<String>,
    ) {
        if items.is_empty() {
            self.p("None.".into());
            return;
        }
        // One row over the limit is shown rather than summed into a row of its own.
        let shown = if items.len() == top + 1 { top + 1 } else { top };
        let mut rows: Vec<Vec<String>> = items.iter().take(shown).map(row).collect();
        if items.len() > shown {
            rows.push(rest(&items[shown..]));
        }
        self.table(head, rows);
    }
    /// A two-column table of amounts by `key`, the first `top` rows and the rest summed
    /// ("No spend." when there are none).
    pub fn amounts(&mut self, key: &str, rows: &[(String, Amounts)], top: usize) {
        if rows.is_empty() {
            self.p("No spend.".into());
            return;
        }
        self.top_table(
            &[key, "month to date"],
            rows,
            top,
            |(k, a)| vec![k.clone(), a.to_string()],
            |rest| {
                vec![
                    more(rest.len(), &format!("{key}s")),
                    sum(rest.iter().map(|(_, a)| a)),
                ]
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(d: &Doc) -> Vec<Vec<String>> {
        match d.blocks.last() {
            Some(Block::Table { rows, .. }) => rows.clone(),
            other => panic!("not a table: {other:?}"),
        }
    }

    #[test]
    fn a_table_shows_its_top_rows_and_one_row_for_the_rest() {
        let items: Vec<u32> = (1..=10).collect();
        let table = |n: usize| {
            let mut d = Doc::default();
            d.top_table(
                &["n"],
                &items[..n],
                3,
                |i| vec![i.to_string()],
                |rest| {
                    vec![format!(
                        "{} more, sum {}",
                        rest.len(),
                        rest.iter().sum::<u32>()
                    )]
                },
            );
            rows(&d)
        };
        assert_eq!(table(10).len(), 4);
        assert_eq!(table(10)[3], ["7 more, sum 49"]);
        // One over the limit is shown, not summed into a row of its own.
        assert_eq!(table(4), [["1"], ["2"], ["3"], ["4"]]);
        assert_eq!(table(3).len(), 3);
        assert_eq!(more(1234, "pods"), "… 1,234 more pods");
        assert_eq!(
            rest_row(4, "x".into(), vec!["a".into()]),
            ["x", "", "", "a"]
        );
    }
}
