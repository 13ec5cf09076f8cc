//! The rate budget one provider connection (one provider and token) shares among all its
//! concurrent requests.
//!
//! The provider tells its budget in `X-RateLimit-Remaining` / `X-RateLimit-Reset`; every
//! request takes one unit before it is sent, so concurrent requests never overdraw a window
//! the client knows about. While the budget is not known (the first request, after a window
//! reset, after a pause) a single request goes first as a probe and the others wait for its
//! answer. A 429, or a 503 with `Retry-After`, pauses every request of the connection until
//! the time the provider asked for, not only the one that got it. A provider that sends no
//! rate-limit headers at all is not metered (only its pauses are honoured).
//!
//! A budget may also start from a configured [`RateLimit`] (the provider's documented one, or
//! the config's `ops_rate`): then the first requests go at once, up to the limit per window,
//! instead of probing one at a time, and a provider that sends no headers is still paced.
//! Headers, when present, refine it; `X-RateLimit-Reset` is whole seconds rounded up, so each
//! answer only bounds the window's end from above and the earliest such bound is kept.
//!
//! Every wait is bounded by the run's deadline: a wait that would end past it is not started
//! and the caller gets the reason instead. A wait for a window or a pause is logged once (at
//! info, by the first request that meets it, not by every request queued behind it) with its
//! length and the requests sent so far, so that a long read at fleet size says where its time
//! goes: the rate limit, not the CPU.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// What the client knows about the provider's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowance {
    /// Not known: one probe at a time.
    Unknown,
    /// This many more requests fit before `reset_at` (already less the ones sent since).
    Known(u64),
    /// The provider sends no rate-limit headers.
    Unmetered,
}

#[derive(Debug)]
struct State {
    allowance: Allowance,
    reset_at: Option<Instant>,
    paused_until: Option<Instant>,
    in_flight: usize,
    /// Requests let go so far.
    sent: u64,
    /// The end of the last wait logged, so that each wait is logged once.
    announced: Option<Instant>,
}

/// `calls` per `window`, as a provider documents it or the config sets it (`"20/60s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub calls: u32,
    pub window: Duration,
}

impl RateLimit {
    /// Reads `"CALLS/DURATION"`, e.g. `"20/60s"`, `"120/1m"`.
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let (calls, window) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not CALLS/WINDOW, e.g. \"20/60s\""))?;
        let calls: u32 = calls
            .trim()
            .parse()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| format!("{text:?}: the number of calls must be a positive integer"))?;
        let window = crate::duration::parse(window.trim())
            .ok()
            .and_then(|d| d.to_std().ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("{text:?}: the window must be a positive duration, e.g. 60s"))?;
        Ok(RateLimit { calls, window })
    }

    /// The estimate for `requests` requests with `left` until the deadline.
    pub fn estimate(&self, requests: usize, left: Option<Duration>) -> ReadEstimate {
        let calls = self.calls as usize;
        let windows = requests.div_ceil(calls).saturating_sub(1);
        let at_least = self.window * u32::try_from(windows).unwrap_or(u32::MAX);
        let fit = left.map_or(requests, |left| {
            let whole = (left.as_secs_f64() / self.window.as_secs_f64()).floor() as usize;
            calls.saturating_mul(whole + 1)
        });
        ReadEstimate {
            at_least,
            left_unread: requests.saturating_sub(fit),
        }
    }
}

/// What `requests` more requests cost at `limit`, said before they are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadEstimate {
    /// The least time they take: every full window they wait for (the first window's calls go
    /// at once). Other requests on the same token only add to it.
    pub at_least: Duration,
    /// How many of them the time `left` (to the deadline) leaves unsent; 0 without a deadline.
    pub left_unread: usize,
}

/// A margin past a configured window's end before its calls are spent again: the provider
/// starts its window when the first request arrives, a little after it was sent.
fn margin(window: Duration) -> Duration {
    (window / 100).max(Duration::from_millis(50))
}

/// The shared budget of one provider connection.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
    changed: Notify,
    limit: Option<RateLimit>,
    /// Whose budget it is, for the log ("argus").
    name: String,
}

/// What a request must do before it may be sent.
enum Turn {
    Go,
    /// Wait until then, for this reason; `Some(sent)` when this request is the first to meet
    /// this wait (it logs it, with the requests sent so far).
    WaitUntil(Instant, String, Option<u64>),
    WaitForProbe,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            state: Mutex::new(State {
                allowance: Allowance::Unknown,
                reset_at: None,
                paused_until: None,
                in_flight: 0,
                sent: 0,
                announced: None,
            }),
            changed: Notify::new(),
            limit: None,
            name: String::new(),
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl Budget {
    /// A budget that starts from `limit` (none: learnt from the provider's headers).
    pub fn with_limit(limit: Option<RateLimit>) -> Self {
        Budget {
            limit,
            ..Budget::default()
        }
    }

    /// Calls that fit in one window: the configured limit, else what is known to be left
    /// now, else 1.
    pub fn batch(&self) -> usize {
        if let Some(l) = self.limit {
            return l.calls as usize;
        }
        match self.lock().allowance {
            Allowance::Known(n) => (n as usize).max(1),
            Allowance::Unmetered => 50,
            Allowance::Unknown => 1,
        }
    }

    /// Names the budget for its log lines (the provider's configured name).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn turn(&self, now: Instant) -> Turn {
        let mut s = self.lock();
        let turn = Self::turn_in(&mut s, self.limit, now);
        match turn {
            Turn::Go => {
                s.sent += 1;
                Turn::Go
            }
            Turn::WaitUntil(until, why, _) if s.announced != Some(until) => {
                s.announced = Some(until);
                Turn::WaitUntil(until, why, Some(s.sent))
            }
            other => other,
        }
    }

    fn turn_in(s: &mut State, limit: Option<RateLimit>, now: Instant) -> Turn {
        if let Some(until) = s.paused_until {
            if until > now {
                return Turn::WaitUntil(
                    until,
                    format!(
                        "waiting for the provider's Retry-After pause to end (in {})",
                        secs(until - now)
                    ),
                    None,
                );
            }
            s.paused_until = None;
        }
        if s.reset_at.is_some_and(|r| r <= now) {
            s.reset_at = None;
            if matches!(s.allowance, Allowance::Known(_)) {
                s.allowance = Allowance::Unknown;
            }
        }
        match s.allowance {
            Allowance::Unmetered => {
                s.in_flight += 1;
                Turn::Go
            }
            Allowance::Known(n) if n > 0 => {
                s.allowance = Allowance::Known(n - 1);
                s.in_flight += 1;
                Turn::Go
            }
            Allowance::Known(_) => match s.reset_at {
                Some(r) => Turn::WaitUntil(
                    r,
                    format!(
                        "waiting for the rate-limit window to reset (in {})",
                        secs(r - now)
                    ),
                    None,
                ),
                None => {
                    // Used up with no reset time given: find out again with a probe.
                    s.allowance = Allowance::Unknown;
                    Self::probe(s)
                }
            },
            Allowance::Unknown => match limit {
                Some(l) => {
                    s.allowance = Allowance::Known(u64::from(l.calls) - 1);
                    s.reset_at = Some(now + l.window + margin(l.window));
                    s.in_flight += 1;
                    Turn::Go
                }
                None => Self::probe(s),
            },
        }
    }

    fn probe(s: &mut State) -> Turn {
        if s.in_flight == 0 {
            s.in_flight += 1;
            Turn::Go
        } else {
            Turn::WaitForProbe
        }
    }

    /// Waits until a request may be sent. `Err` says what it would have waited for when that
    /// wait would end past `deadline` (the wait is then not started).
    pub async fn acquire(&self, deadline: Option<Instant>) -> Result<Permit<'_>, String> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the state is read, so an answer in between is not missed.
            notified.as_mut().enable();
            let now = Instant::now();
            match self.turn(now) {
                Turn::Go => return Ok(Permit { budget: self }),
                Turn::WaitUntil(until, why, first) => {
                    if deadline.is_some_and(|d| until > d) {
                        return Err(why);
                    }
                    match first {
                        Some(sent) => tracing::info!(
                            provider = %self.name,
                            wait_s = (until - now).as_secs(),
                            sent,
                            "{why}; {sent} requests sent so far"
                        ),
                        None => {
                            tracing::debug!(wait_ms = (until - now).as_millis() as u64, "{why}")
                        }
                    }
                    tokio::time::sleep_until(until).await;
                }
                Turn::WaitForProbe => match deadline {
                    Some(d) => {
                        if tokio::time::timeout_at(d, notified).await.is_err() {
                            return Err(
                                "waiting for another request's answer to learn the rate limit"
                                    .into(),
                            );
                        }
                    }
                    None => notified.await,
                },
            }
        }
    }
}

/// One request's unit of the budget; dropping it (answered, failed or cancelled) lets the
/// waiting requests look again.
#[derive(Debug)]
pub struct Permit<'a> {
    budget: &'a Budget,
}

impl Permit<'_> {
    /// Learns the budget from an answer's `X-RateLimit-Remaining` / `X-RateLimit-Reset`
    /// (`reset` in seconds). Other requests still in flight may not be counted in
    /// `remaining` yet, so they are taken off it; within a window the estimate only shrinks.
    pub fn observe(&self, remaining: Option<u64>, reset: Option<u64>) {
        let mut s = self.budget.lock();
        match remaining {
            Some(rem) => {
                let others = s.in_flight.saturating_sub(1) as u64;
                let estimate = rem.saturating_sub(others);
                s.allowance = match s.allowance {
                    Allowance::Known(n) => Allowance::Known(n.min(estimate)),
                    _ => Allowance::Known(estimate),
                };
                if let Some(reset) = reset {
                    // Rounded up to whole seconds: an upper bound of the window's end. The
                    // earliest bound still ahead is the closest; a passed one is stale.
                    let now = Instant::now();
                    let at = now + Duration::from_secs(reset);
                    s.reset_at = Some(match s.reset_at {
                        Some(r) if r > now => r.min(at),
                        _ => at,
                    });
                }
            }
            None => {
                if s.allowance == Allowance::Unknown {
                    s.allowance = Allowance::Unmetered;
                }
            }
        }
    }

    /// The provider asked every request to wait `pause` (429, or 503 with `Retry-After`).
    pub fn pause(&self, pause: Duration) {
        let mut s = self.budget.lock();
        let until = Instant::now() + pause;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        // After the pause the window is not known any more: probe first.
        if s.allowance != Allowance::Unmetered {
            s.allowance = Allowance::Unknown;
            s.reset_at = None;
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        {
            let mut s = self.budget.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.budget.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_one_probe_while_the_budget_is_unknown() {
        let b = Budget::default();
        let first = b.acquire(None).await.expect("probe");
        let deadline = Some(Instant::now() + Duration::from_millis(50));
        assert!(b.acquire(deadline).await.is_err(), "a second waits");
        first.observe(Some(2), Some(60));
        drop(first);
        let (x, y) = (b.acquire(None).await, b.acquire(None).await);
        assert!(x.is_ok() && y.is_ok(), "two units known");
        let deadline = Some(Instant::now() + Duration::from_millis(50));
        let third = b.acquire(deadline).await.expect_err("used up");
        assert!(third.contains("window to reset"), "{third}");
    }

    #[tokio::test]
    async fn a_pause_past_the_deadline_is_not_started() {
        let b = Budget::default();
        b.acquire(None)
            .await
            .expect("probe")
            .pause(Duration::from_secs(30));
        let why = b
            .acquire(Some(Instant::now() + Duration::from_secs(1)))
            .await
            .expect_err("past the deadline");
        assert!(why.contains("Retry-After"), "{why}");
    }

    #[test]
    fn an_estimate_counts_the_windows_a_read_waits_for() {
        let podstack = RateLimit::parse("120/60s").expect("limit");
        // 2,700 reads at 120 a minute: 23 windows, 22 of them waited for.
        let e = podstack.estimate(2_700, None);
        assert_eq!(e.at_least, Duration::from_secs(22 * 60));
        assert_eq!(e.left_unread, 0, "no deadline: nothing is cut");
        // 19 minutes left: 20 windows (the first at once) = 2,400 reads; 300 left unread.
        let cut = podstack.estimate(2_700, Some(Duration::from_secs(19 * 60)));
        assert_eq!(cut.left_unread, 300);
        assert_eq!(podstack.estimate(120, Some(Duration::ZERO)).left_unread, 0);
        assert_eq!(podstack.estimate(0, None).at_least, Duration::ZERO);
    }

    #[test]
    fn a_wait_is_logged_once_by_the_first_request_that_meets_it() {
        let b = Budget::with_limit(Some(RateLimit::parse("2/60s").expect("limit")));
        let now = Instant::now();
        assert!(matches!(b.turn(now), Turn::Go));
        assert!(matches!(b.turn(now), Turn::Go));
        let first = b.turn(now);
        assert!(
            matches!(first, Turn::WaitUntil(_, _, Some(2))),
            "the first waiter logs, 2 sent"
        );
        assert!(
            matches!(b.turn(now), Turn::WaitUntil(_, _, None)),
            "the others do not"
        );
    }

    #[tokio::test]
    async fn a_configured_limit_is_spent_at_once_then_waits_for_the_window() {
        let limit = RateLimit::parse("3/2s").expect("limit");
        let b = Budget::with_limit(Some(limit));
        let held: Vec<_> = futures::future::join_all((0..3).map(|_| b.acquire(None))).await;
        assert!(held.iter().all(Result::is_ok), "three at once, no probe");
        drop(held);
        let deadline = Some(Instant::now() + Duration::from_millis(100));
        let why = b.acquire(deadline).await.expect_err("the fourth waits");
        assert!(why.contains("window to reset"), "{why}");
    }

    #[tokio::test]
    async fn the_earliest_reset_bound_wins() {
        let b = Budget::default();
        let p = b.acquire(None).await.expect("probe");
        p.observe(Some(0), Some(1));
        p.observe(Some(0), Some(30));
        drop(p);
        let start = Instant::now();
        let again = b.acquire(Some(start + Duration::from_secs(5))).await;
        assert!(again.is_ok(), "the 1 s bound, not the 30 s one");
    }

    #[test]
    fn rate_limits_read_calls_per_window() {
        assert_eq!(
            RateLimit::parse("20/60s"),
            Ok(RateLimit {
                calls: 20,
                window: Duration::from_secs(60)
            })
        );
        assert!(RateLimit::parse("0/60s").is_err());
        assert!(RateLimit::parse("20").is_err());
        assert!(RateLimit::parse("20/0s").is_err());
    }

    #[tokio::test]
    async fn a_provider_without_headers_is_not_metered() {
        let b = Budget::default();
        b.acquire(None).await.expect("probe").observe(None, None);
        let held: Vec<_> = futures::future::join_all((0..5).map(|_| b.acquire(None))).await;
        assert!(held.iter().all(Result::is_ok));
    }
}
