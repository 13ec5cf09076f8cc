//! The report's sections, one file each, and the one list that orders them: Markdown
//! (`summary.md`, a mail's text body) and HTML (`report.html`, a mail's HTML body) render
//! the blocks this list writes. A new section is one file here and one entry in [`SECTIONS`].

pub mod actions;
pub mod daily_spend;
pub mod headline;
pub mod health;
pub mod idle;
pub mod idle_cross_check;
pub mod orphans;
pub mod projects;
pub mod top_pods;
pub mod tracked_spend;
pub mod wallets;

use crate::report::blocks::{Block, Doc};
use crate::report::build::Report;

/// A section: writes its blocks (usually a heading first) for report `r` into the doc.
/// Sections read only the [`Report`], whose figures `report::build` computes.
pub type Section = fn(r: &Report, d: &mut Doc);

/// Every section, in the order the report shows them.
pub const SECTIONS: &[Section] = &[
    headline::add,
    daily_spend::add,
    idle::add,
    idle_cross_check::add,
    orphans::add,
    tracked_spend::add,
    top_pods::add,
    health::add,
    actions::add,
    wallets::add,
    projects::add,
];

/// The report's blocks, in order.
pub fn doc(r: &Report) -> Doc {
    let mut d = Doc::default();
    for add in SECTIONS {
        add(r, &mut d);
    }
    d
}

/// Rows a table keeps in a mail body; the full tables are in `summary.md` and `report.html`.
pub const MAIL_TABLE_ROWS: usize = 25;

/// The report's blocks for a mail body: each table cut to [`MAIL_TABLE_ROWS`] rows and
/// followed by a note of how many more the full report holds, so that the mail stays small at
/// any fleet size (thousands of idle pods are thousands of rows).
pub fn doc_for_mail(r: &Report) -> Doc {
    let mut d = Doc::default();
    for b in doc(r).blocks {
        match b {
            Block::Table { head, mut rows } if rows.len() > MAIL_TABLE_ROWS => {
                let more = rows.len() - MAIL_TABLE_ROWS;
                rows.truncate(MAIL_TABLE_ROWS);
                d.blocks.push(Block::Table { head, rows });
                d.p(format!(
                    "… and {more} more rows in the full report (summary.md, report.html)."
                ));
            }
            b => d.blocks.push(b),
        }
    }
    d
}
