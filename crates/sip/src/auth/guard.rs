//! Throttling of authentication failures per source address.
//!
//! A source that fails `max_failures` times within `window` is refused for
//! `ban` (the caller decides whether "refused" means a 403 or silence). The
//! table is bounded: idle entries expire, and at capacity the least useful
//! entry (no active ban, oldest activity) makes room.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Limits of an [`AuthGuard`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Failures within `window` that trigger a ban (default 5).
    pub max_failures: usize,
    /// The sliding window failures are counted in (default 60 s).
    pub window: Duration,
    /// How long a ban lasts (default 300 s).
    pub ban: Duration,
    /// The most source addresses tracked at once (default 10 000).
    pub max_sources: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            max_failures: 5,
            window: Duration::from_secs(60),
            ban: Duration::from_secs(300),
            max_sources: 10_000,
        }
    }
}

/// What to do with a request from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardDecision {
    /// Process it normally.
    Allow,
    /// Refuse it (403 or drop, as the caller prefers) until the given time.
    Refuse {
        /// When the ban ends.
        until: Instant,
    },
}

/// A ban in force, printable for logs: `source 192.0.2.1 refused for 287 s after 5 failed authentications within 60 s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    /// The banned source.
    pub ip: IpAddr,
    /// When the ban ends.
    pub until: Instant,
    /// How much of it is left at the time of the query.
    pub remaining: Duration,
    /// The failures that triggered it.
    pub failures: usize,
    /// The window they happened in.
    pub window: Duration,
}

impl fmt::Display for Ban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "source {} refused for {} s after {} failed authentications within {} s",
            self.ip,
            self.remaining.as_secs(),
            self.failures,
            self.window.as_secs()
        )
    }
}

#[derive(Debug, Default)]
struct Source {
    /// Times of recent failures, oldest first (at most `max_failures`).
    failures: VecDeque<Instant>,
    banned_until: Option<Instant>,
}

impl Source {
    fn last_activity(&self) -> Option<Instant> {
        self.failures.back().copied()
    }

    /// Whether the entry carries no information any more at `now`.
    fn is_idle(&self, now: Instant, window: Duration) -> bool {
        let ban_over = self.banned_until.is_none_or(|u| u <= now);
        let failures_old = self
            .last_activity()
            .is_none_or(|t| now.saturating_duration_since(t) >= window);
        ban_over && failures_old
    }
}

/// Failure counters and bans per source IP address. See the module documentation.
#[derive(Debug, Default)]
pub struct AuthGuard {
    config: GuardConfig,
    sources: HashMap<IpAddr, Source>,
}

impl AuthGuard {
    /// A guard with the given limits.
    pub fn new(config: GuardConfig) -> Self {
        AuthGuard {
            config,
            sources: HashMap::new(),
        }
    }

    /// Whether requests from `ip` may be processed at `now`.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> GuardDecision {
        match self.sources.get_mut(&ip) {
            Some(s) => match s.banned_until {
                Some(until) if until > now => GuardDecision::Refuse { until },
                Some(_) => {
                    s.banned_until = None;
                    GuardDecision::Allow
                }
                None => GuardDecision::Allow,
            },
            None => GuardDecision::Allow,
        }
    }

    /// Records a failed authentication from `ip`. Returns the ban if this
    /// failure started one (so the caller logs it once).
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> Option<Ban> {
        if !self.sources.contains_key(&ip) {
            self.make_room(now);
        }
        let config = self.config;
        let source = self.sources.entry(ip).or_default();
        if source.banned_until.is_some_and(|u| u > now) {
            return None;
        }
        while source
            .failures
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= config.window)
        {
            source.failures.pop_front();
        }
        source.failures.push_back(now);
        if source.failures.len() < config.max_failures.max(1) {
            return None;
        }
        let failures = source.failures.len();
        source.failures.clear();
        let until = now + config.ban;
        source.banned_until = Some(until);
        Some(Ban {
            ip,
            until,
            remaining: config.ban,
            failures,
            window: config.window,
        })
    }

    /// Records a successful authentication from `ip`: its failure count restarts.
    /// An active ban is not lifted.
    pub fn record_success(&mut self, ip: IpAddr, now: Instant) {
        if let Some(s) = self.sources.get_mut(&ip) {
            s.failures.clear();
            if s.is_idle(now, self.config.window) {
                self.sources.remove(&ip);
            }
        }
    }

    /// The ban on `ip` in force at `now`, if any, for logs and admin views.
    pub fn banned_until(&self, ip: IpAddr, now: Instant) -> Option<Ban> {
        let until = self.sources.get(&ip)?.banned_until?;
        (until > now).then(|| Ban {
            ip,
            until,
            remaining: until - now,
            failures: self.config.max_failures,
            window: self.config.window,
        })
    }

    /// How many sources are tracked.
    pub fn tracked_sources(&self) -> usize {
        self.sources.len()
    }

    /// Makes room for one more source: drops idle entries, then if still
    /// full the entry without an active ban whose last failure is oldest,
    /// and only if every entry is banned, the ban that ends first.
    fn make_room(&mut self, now: Instant) {
        let cap = self.config.max_sources.max(1);
        if self.sources.len() < cap {
            return;
        }
        let window = self.config.window;
        self.sources.retain(|_, s| !s.is_idle(now, window));
        if self.sources.len() < cap {
            return;
        }
        let victim = self
            .sources
            .iter()
            .min_by_key(|(_, s)| {
                let banned = s.banned_until.is_some_and(|u| u > now);
                (banned, s.banned_until, s.last_activity())
            })
            .map(|(ip, _)| *ip);
        if let Some(ip) = victim {
            self.sources.remove(&ip);
        }
    }
}
