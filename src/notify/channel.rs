//! The one trait every notification channel implements, [`Channel`], and what it reads of a
//! finished run ([`Finished`]). The channels themselves are listed in
//! [`crate::notify::channels`]: today the finance mail and owner notices
//! ([`crate::notify::email::EmailChannel`], SMTP through the outbox, or `.eml` files), then
//! the run metrics ([`crate::notify::metrics::PushgatewayChannel`]).
//!
//! A new channel is one file beside this one (its type, `impl Channel`, its `[section]`)
//! plus one entry in that list. Each channel decides for itself what a run has for it
//! (a replay pushes no metrics; a failed run mails nothing), logs what it did, and returns
//! an error only for a delivery that failed: the run warns and goes on.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::exit::Exit;
use crate::fleet::Fleet;
use crate::plan::Plan;

/// One way a run tells the outside world it is done.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// A short name for logs (`email`, `pushgateway`).
    fn name(&self) -> &'static str;
    /// Delivers what `run` has for this channel. Never panics on a failed delivery: it
    /// returns the error, which the run logs as a warning.
    async fn deliver(&self, run: &Finished<'_>) -> Result<Delivery, ChannelError>;
}

/// What a channel did with a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered, or handed on (written as files, queued in the outbox); logged by the channel.
    Done,
    /// Nothing for this channel in this run (a replay, a failed run, the demo without a folder).
    Skipped,
}

/// A delivery that failed; its text is the log line.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ChannelError(Box<dyn std::error::Error + Send + Sync>);

impl ChannelError {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> ChannelError {
        ChannelError(Box::new(e))
    }
}

/// A finished run, as the channels read it.
pub struct Finished<'a> {
    /// The fleet the run evaluated.
    pub fleet: &'a Fleet,
    /// What the run produced, or the exit code it failed with after collecting.
    pub result: Result<Produced<'a>, Exit>,
    /// When the run started (the metrics' duration).
    pub started: std::time::Instant,
    /// The run's clock at the end: the mail's date.
    pub now: DateTime<Utc>,
    /// A replay of a saved fleet, not the nightly run.
    pub replay: bool,
}

/// What a run that got through its stages produced.
pub struct Produced<'a> {
    pub plan: &'a Plan,
    /// The run's printed summary and plan table.
    pub summary: &'a str,
    pub exit: Exit,
    pub report: &'a crate::report::Report,
    /// The report files written.
    pub written: &'a [PathBuf],
    /// What acting did.
    pub applied: Option<&'a crate::execute::apply::Outcome>,
}
