//! Progress of long work (the apply queue, a provider's utilisation reads): an indicatif bar
//! (done/total, rate, ETA) on a terminal; plain `tracing` lines (every 10 % and at the end,
//! with the rate and the time left) when stderr is not a terminal, so cron and CronJob logs
//! stay readable.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    /// What is going on, for the bar and the log lines ("acting", "podstack utilisation").
    what: String,
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    started: std::time::Instant,
}

impl Progress {
    /// Progress of `total` items (`unit`: "actions", "pods") of `what`.
    pub fn new(total: usize, what: &str, unit: &str) -> Progress {
        let total = total as u64;
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(&format!(
                "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {unit} · {{per_sec}} · ETA {{eta}} {{msg}}"
            )) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            what: what.to_string(),
            bar,
            total,
            done: 0,
            started: std::time::Instant::now(),
        }
    }

    /// One more action settled (accepted, failed or skipped).
    pub fn advance(&mut self, what: &str) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
            bar.inc(1);
            return;
        }
        let step = (self.total / 10).max(1);
        if self.done % step == 0 || self.done == self.total {
            let secs = self.started.elapsed().as_secs_f64();
            let rate = if secs > 0.0 {
                self.done as f64 / secs
            } else {
                0.0
            };
            let eta = if rate > 0.0 {
                (self.total - self.done) as f64 / rate
            } else {
                0.0
            };
            let left = chrono::Duration::seconds(eta.round() as i64);
            tracing::info!(
                done = self.done,
                total = self.total,
                per_sec = format!("{rate:.1}"),
                eta_secs = eta.round() as u64,
                "{}: {} of {} done, ~{} left",
                self.what,
                self.done,
                self.total,
                crate::duration::format(left)
            );
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
