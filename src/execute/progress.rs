//! Progress of the queue: an indicatif bar (done/total, rate, ETA) on a terminal; plain
//! `tracing` lines (every 10 % and at the end) when stderr is not a terminal, so cron and
//! CronJob logs stay readable.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    started: std::time::Instant,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        let total = total as u64;
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} acting [{bar:30}] {pos}/{len} actions · {per_sec} · ETA {eta} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
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
            tracing::info!(
                done = self.done,
                total = self.total,
                per_sec = format!("{rate:.1}"),
                eta_secs = eta.round() as u64,
                "acting"
            );
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
