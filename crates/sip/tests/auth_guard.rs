//! Throttling of failing sources, driven by a virtual clock.

use sip::auth::{AuthGuard, GuardConfig, GuardDecision};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// An arbitrary origin for the virtual clock; only differences from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one arbitrary Instant to count from"
)]
fn origin() -> Instant {
    Instant::now()
}

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
}

#[test]
fn five_failures_in_a_minute_ban_for_five_minutes() {
    let t0 = origin();
    let mut g = AuthGuard::new(GuardConfig::default());
    for i in 0..4 {
        assert_eq!(
            g.record_failure(ip(1), t0 + Duration::from_secs(i * 10)),
            None
        );
        assert_eq!(
            g.check(ip(1), t0 + Duration::from_secs(i * 10)),
            GuardDecision::Allow
        );
    }
    let t_ban = t0 + Duration::from_secs(50);
    let ban = g.record_failure(ip(1), t_ban).expect("fifth failure bans");
    let until = t_ban + Duration::from_secs(300);
    assert_eq!(ban.until, until);
    assert_eq!(
        ban.to_string(),
        "source 192.0.2.1 refused for 300 s after 5 failed authentications within 60 s"
    );
    assert_eq!(g.check(ip(1), t_ban), GuardDecision::Refuse { until });
    // Other sources are unaffected.
    assert_eq!(g.check(ip(2), t_ban), GuardDecision::Allow);
    // Failures during the ban neither extend it nor log a second ban.
    assert_eq!(
        g.record_failure(ip(1), t_ban + Duration::from_secs(1)),
        None
    );
    let mid = t_ban + Duration::from_secs(100);
    let described = g.banned_until(ip(1), mid).unwrap();
    assert_eq!(described.remaining, Duration::from_secs(200));
    assert!(described.to_string().contains("refused for 200 s"));
    assert_eq!(
        g.check(ip(1), until - Duration::from_millis(1)),
        GuardDecision::Refuse { until }
    );
    // The ban ends, and the count starts from zero.
    assert_eq!(g.check(ip(1), until), GuardDecision::Allow);
    assert_eq!(g.banned_until(ip(1), until), None);
    assert_eq!(g.record_failure(ip(1), until), None);
    assert_eq!(g.check(ip(1), until), GuardDecision::Allow);
}

#[test]
fn failures_spread_beyond_the_window_do_not_ban() {
    let t0 = origin();
    let mut g = AuthGuard::new(GuardConfig::default());
    for i in 0..20 {
        let t = t0 + Duration::from_secs(i * 15); // 4 per minute
        assert_eq!(g.record_failure(ip(3), t), None, "failure {i}");
        assert_eq!(g.check(ip(3), t), GuardDecision::Allow);
    }
}

#[test]
fn success_resets_the_count() {
    let t0 = origin();
    let mut g = AuthGuard::new(GuardConfig::default());
    for _ in 0..4 {
        g.record_failure(ip(4), t0);
    }
    g.record_success(ip(4), t0);
    for _ in 0..4 {
        assert_eq!(g.record_failure(ip(4), t0), None);
    }
    assert!(g.record_failure(ip(4), t0).is_some());
    // Success does not lift an active ban.
    g.record_success(ip(4), t0);
    assert!(matches!(g.check(ip(4), t0), GuardDecision::Refuse { .. }));
}

#[test]
fn memory_is_bounded_and_bans_survive_pressure() {
    let t0 = origin();
    let cfg = GuardConfig {
        max_failures: 2,
        max_sources: 4,
        ..GuardConfig::default()
    };
    let mut g = AuthGuard::new(cfg);
    // Ban one source.
    g.record_failure(ip(100), t0);
    assert!(g.record_failure(ip(100), t0).is_some());
    // A flood of single failures from many sources.
    for n in 0..50u8 {
        g.record_failure(ip(n), t0 + Duration::from_secs(u64::from(n)));
        assert!(g.tracked_sources() <= 4);
    }
    assert!(matches!(
        g.check(ip(100), t0 + Duration::from_secs(60)),
        GuardDecision::Refuse { .. }
    ));
    // Idle entries are dropped when room is needed.
    let much_later = t0 + Duration::from_secs(3600);
    g.record_failure(ip(200), much_later);
    assert_eq!(g.tracked_sources(), 1);
}
