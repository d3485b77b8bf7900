//! REGISTER through the PBX: the digest challenge, the 200 held until the
//! binding is durable, wrong passwords, and the ban after repeated failures.

mod support;

use support::World;

#[test]
fn register_is_challenged_then_answered_only_after_the_write() {
    let mut w = World::with_default_plan();
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);

    // REGISTER without credentials → 401 with a digest challenge; nothing is written.
    let tx = w.send_register(p201, None, 3600);
    let challenge = w.take_final(p201, tx);
    assert_eq!(challenge.status, 401);
    let offered: Vec<&str> = challenge.headers.get_all("WWW-Authenticate");
    assert!(
        offered.iter().any(|h| h.contains("realm=\"switchboard\"")),
        "expected a challenge in realm switchboard, got {offered:?}"
    );
    assert!(w.persisted.is_empty());

    // The authenticated REGISTER: the PBX asks for the write, and answers only after it.
    w.hold_persists(true);
    let header = offered[0].to_string();
    let auth = sip::auth::respond_to_challenge(
        &header,
        "REGISTER",
        "sip:10.0.0.1:5060",
        "201",
        "secret201",
        "c1",
        1,
    )
    .expect("answerable challenge");
    let tx = w.send_register(p201, Some(auth), 3600);
    w.settle();
    assert_eq!(w.held.len(), 1, "expected one Persist output");
    assert!(
        w.take_responses(p201, tx).iter().all(|r| r.status < 200),
        "no final response before the binding is written"
    );
    let change = format!("{:?}", w.held[0].changes);
    assert!(
        change.contains("Upsert"),
        "expected an upsert, got {change}"
    );

    w.release_persists();
    let ok = w.take_final(p201, tx);
    assert_eq!(ok.status, 200);
    assert!(
        ok.headers
            .get("Contact")
            .is_some_and(|c| c.contains("10.0.0.21:5060"))
    );

    let wall = w.wall_ms();
    let bindings = w.pbx.bindings("201", wall);
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].source.addr, w.addr_of(p201));
    assert_eq!(bindings[0].contact, "sip:201@10.0.0.21:5060");
}

#[test]
fn wrong_password_is_challenged_again_and_five_failures_ban_the_source() {
    let mut w = World::with_default_plan();
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);

    for attempt in 1..=5 {
        let resp = w.register_with(p201, "wrong");
        assert_eq!(
            resp.status, 401,
            "attempt {attempt} with a wrong password is challenged again"
        );
    }
    // The source is now refused outright, even with the right password.
    let tx = w.send_register(p201, None, 3600);
    assert_eq!(w.take_final(p201, tx).status, 403);
    let resp = w.register_with(p201, "secret201");
    assert_eq!(resp.status, 403);
    let wall = w.wall_ms();
    assert!(w.pbx.bindings("201", wall).is_empty());

    // Another phone from another address is not affected.
    let p202 = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 4000);
    w.register(p202);
    let wall = w.wall_ms();
    assert_eq!(w.pbx.bindings("202", wall).len(), 1);
}

#[test]
fn an_account_may_not_register_someone_elses_number() {
    let mut w = World::with_default_plan();
    // 202's credentials for address-of-record 201.
    let p = w.add_phone("thief", "201", "202", "secret202", "10.0.0.99:5060", 4000);
    let resp = w.register_with(p, "secret202");
    assert_eq!(resp.status, 403);
    let wall = w.wall_ms();
    assert!(w.pbx.bindings("201", wall).is_empty());
}

#[test]
fn operator_login_is_a_registration_of_the_position_logged_as_a_shift_event() {
    let mut w = World::with_default_plan();
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 4000);
    w.register(op);
    let wall = w.wall_ms();
    assert_eq!(w.pbx.bindings("0", wall).len(), 1);
    assert_eq!(w.operator_events, vec![("op1".to_string(), "login")]);
}
