//! The spend report: built with polars as a pure function of (fleet, plan, past actions,
//! pending notices, conversion, clock), then written as Markdown, self-contained HTML with
//! inline SVG charts, CSV, Parquet, a FOCUS 1.2 export and a small per-project summary CSV
//! under `reports/YYYY-MM-DD/`.

pub mod blocks;
pub mod breakdown;
pub mod build;
pub mod charts;
pub mod currency;
pub mod focus;
pub mod html;
pub mod inputs;
pub mod markdown;
pub mod merge;
pub mod sections;
pub mod settings;
pub mod shard_file;
pub mod spend;
pub mod summary;
pub mod tables;
pub mod window;
pub mod write;

pub use build::{build, Input, Report};
pub use inputs::{PendingNotice, TakenAction};
