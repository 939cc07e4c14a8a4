//! What every client of one endpoint shares in a process: its concurrency limit and its
//! circuit breaker.
//!
//! The breaker: after [`DOWN_AFTER`] transient failures in a row (429, 5xx, timeouts,
//! connection errors) the endpoint is *down*. Calls then stop going out, except one probe at
//! a time, each after the backoff of the failures so far; the first answer of any kind brings
//! the endpoint back *up* and every waiting call goes on at once. So a hundred runs on a
//! failing endpoint wait together at the cost of one request per backoff, and resume on their
//! own when it answers. [`Health`] is what observers (the run drivers, for `waiting for LLM`)
//! watch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

/// Transient failures in a row after which the endpoint counts as down.
pub const DOWN_AFTER: u32 = 3;

/// Whether an endpoint answers, as its callers see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Up,
    /// Since when, and the last failure (e.g. "HTTP 429: rate limited").
    Down {
        since: SystemTime,
        last: String,
    },
}

/// One endpoint's shared state. Clients of the same endpoint share it through [`Endpoints`].
#[derive(Debug)]
pub struct Endpoint {
    pub(crate) slots: Semaphore,
    breaker: Mutex<Breaker>,
    health: watch::Sender<Health>,
}

impl Endpoint {
    pub fn new(max_concurrency: usize) -> Self {
        Self {
            slots: Semaphore::new(max_concurrency),
            breaker: Mutex::new(Breaker::default()),
            health: watch::Sender::new(Health::Up),
        }
    }

    /// Follows the endpoint's health.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    fn breaker(&self) -> MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a call may go out: at once while the endpoint is up; while it is down,
    /// until this call's turn to probe.
    pub(crate) async fn admit(&self) -> Ticket<'_> {
        loop {
            // Subscribed before looking, so a change in between is not missed.
            let mut changed = self.health.subscribe();
            let verdict = self.breaker().admit(Instant::now());
            match verdict {
                Ok(probe) => {
                    return Ticket {
                        endpoint: self,
                        probe,
                    };
                }
                Err(at) => {
                    tokio::select! {
                        _ = changed.changed() => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
            }
        }
    }
}

/// The right to send one request; tell it how the request went. Dropped unanswered (the call
/// was cancelled), it gives its probe turn back.
pub(crate) struct Ticket<'a> {
    endpoint: &'a Endpoint,
    probe: bool,
}

impl Ticket<'_> {
    /// The endpoint answered (a completion, or a refusal: either way it is reachable).
    pub(crate) fn answered(mut self) {
        let up = self.endpoint.breaker().answered(self.probe);
        self.probe = false;
        if up {
            tracing::info!("the LLM endpoint answers again");
            self.endpoint.health.send_replace(Health::Up);
        }
    }

    /// The request failed in a way worth repeating; returns how long to wait before the next
    /// try: the server's `Retry-After` if it sent one, else `base` doubled per failure in a row,
    /// never more than `cap`.
    pub(crate) fn failed(
        mut self,
        failure: &str,
        retry_after: Option<Duration>,
        base: Duration,
        cap: Duration,
    ) -> Duration {
        let (wait, down) =
            self.endpoint
                .breaker()
                .failed(Instant::now(), self.probe, retry_after, base, cap);
        self.probe = false;
        if down {
            tracing::warn!(%failure, "the LLM endpoint is down; calls wait for it");
            self.endpoint.health.send_replace(Health::Down {
                since: SystemTime::now(),
                last: failure.to_owned(),
            });
        } else if self.endpoint.breaker().is_down() {
            // Keep the last failure current for observers, without waking them as a change.
            self.endpoint.health.send_if_modified(|h| {
                if let Health::Down { last, .. } = h {
                    *last = failure.to_owned();
                }
                false
            });
        }
        wait
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.endpoint.breaker().probing = false;
        }
    }
}

/// The breaker's state machine, free of I/O and of the clock (times are passed in).
#[derive(Debug)]
struct Breaker {
    /// Transient failures in a row.
    failures: u32,
    /// A probe is out.
    probing: bool,
    /// While down: the earliest time of the next probe.
    next_probe: Instant,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            failures: 0,
            probing: false,
            next_probe: Instant::now(),
        }
    }
}

impl Breaker {
    fn is_down(&self) -> bool {
        self.failures >= DOWN_AFTER
    }

    /// `Ok(is_probe)` when a request may go out now, else `Err(when to look again)`.
    fn admit(&mut self, now: Instant) -> Result<bool, Instant> {
        if !self.is_down() {
            return Ok(false);
        }
        if self.probing || now < self.next_probe {
            // A waiting call looks again at the next probe time, or a second later while a
            // probe is out (its end also wakes everyone through the health channel).
            return Err(match self.probing {
                true => now + Duration::from_secs(1),
                false => self.next_probe,
            });
        }
        self.probing = true;
        Ok(true)
    }

    /// Returns whether the endpoint just came back up.
    fn answered(&mut self, probe: bool) -> bool {
        let was_down = self.is_down();
        self.failures = 0;
        if probe {
            self.probing = false;
        }
        was_down
    }

    /// Returns the wait before the caller's next try, and whether the endpoint just went down.
    fn failed(
        &mut self,
        now: Instant,
        probe: bool,
        retry_after: Option<Duration>,
        base: Duration,
        cap: Duration,
    ) -> (Duration, bool) {
        let was_down = self.is_down();
        self.failures = self.failures.saturating_add(1);
        if probe {
            self.probing = false;
        }
        let doubled = base.saturating_mul(2u32.saturating_pow(self.failures - 1));
        let wait = retry_after.unwrap_or(doubled).min(cap);
        if self.is_down() {
            self.next_probe = self.next_probe.max(now + wait);
        }
        (wait, self.is_down() && !was_down)
    }
}

/// The endpoints of a process by base URL, so that every run asking one endpoint shares its
/// concurrency limit and breaker. The first client of an endpoint sets its concurrency limit.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    by_url: Arc<Mutex<HashMap<String, Arc<Endpoint>>>>,
}

impl Endpoints {
    pub fn get(&self, base_url: &str, max_concurrency: usize) -> Arc<Endpoint> {
        let mut by_url = self.by_url.lock().unwrap_or_else(|e| e.into_inner());
        by_url
            .entry(base_url.trim_end_matches('/').to_owned())
            .or_insert_with(|| Arc::new(Endpoint::new(max_concurrency)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(30);

    #[test]
    fn down_after_failures_in_a_row_then_one_probe_at_a_time() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        // Up: everyone goes, and each failure doubles the wait.
        assert_eq!(b.admit(t0), Ok(false));
        assert_eq!(b.failed(t0, false, None, BASE, CAP), (BASE, false));
        assert_eq!(b.failed(t0, false, None, BASE, CAP), (BASE * 2, false));
        assert_eq!(b.admit(t0), Ok(false));
        // The third failure in a row: down.
        assert_eq!(b.failed(t0, false, None, BASE, CAP), (BASE * 4, true));
        assert_eq!(b.admit(t0), Err(t0 + BASE * 4));
        // At the probe time, one probe; the others wait for it.
        let t1 = t0 + BASE * 4;
        assert_eq!(b.admit(t1), Ok(true));
        assert!(b.admit(t1).is_err());
        // The probe fails: the next one after a longer wait, capped.
        assert_eq!(b.failed(t1, true, None, BASE, CAP), (BASE * 8, false));
        assert_eq!(b.admit(t1), Err(t1 + BASE * 8));
        for _ in 0..10 {
            b.failed(t1, false, None, BASE, CAP);
        }
        assert_eq!(b.failed(t1, false, None, BASE, CAP).0, CAP);
        // A Retry-After is honoured, within the cap.
        let t2 = t1 + CAP;
        assert_eq!(b.admit(t2), Ok(true));
        let after = Some(Duration::from_secs(2));
        assert_eq!(
            b.failed(t2, true, after, BASE, CAP).0,
            Duration::from_secs(2)
        );
        // An answer brings it up at once, for everyone.
        let t3 = t2 + Duration::from_secs(2);
        assert_eq!(b.admit(t3), Ok(true));
        assert!(b.answered(true));
        assert_eq!(b.admit(t3), Ok(false));
        assert!(!b.answered(false));
    }

    #[test]
    fn a_success_in_between_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        b.failed(t0, false, None, BASE, CAP);
        b.failed(t0, false, None, BASE, CAP);
        assert!(!b.answered(false));
        assert_eq!(b.failed(t0, false, None, BASE, CAP), (BASE, false));
        assert_eq!(b.admit(t0), Ok(false));
    }

    #[tokio::test]
    async fn a_dropped_probe_gives_its_turn_back() {
        let endpoint = Endpoint::new(4);
        for _ in 0..DOWN_AFTER {
            let wait = endpoint
                .admit()
                .await
                .failed("HTTP 500", Some(Duration::ZERO), BASE, CAP);
            assert_eq!(wait, Duration::ZERO);
        }
        assert!(matches!(*endpoint.health().borrow(), Health::Down { .. }));
        let probe = endpoint.admit().await;
        assert!(probe.probe);
        drop(probe);
        let probe = endpoint.admit().await;
        assert!(probe.probe);
        probe.answered();
        assert_eq!(*endpoint.health().borrow(), Health::Up);
    }

    #[test]
    fn clients_of_one_url_share_it() {
        let endpoints = Endpoints::default();
        let a = endpoints.get("http://h:1/v1", 2);
        let b = endpoints.get("http://h:1/v1/", 8);
        let c = endpoints.get("http://h:2/v1", 2);
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        assert_eq!(b.slots.available_permits(), 2);
    }
}
