//! REGISTER with digest authentication against the real server, over UDP and TCP.

use switchboard_e2e::pbx::{demo_password, registration};
use switchboard_e2e::{Server, ServerOptions, Sipp, Transport, free_port};

fn register_outcome(
    server: &Server,
    ext: &str,
    password: &str,
    transport: Transport,
    scenario: &str,
    expires: u32,
) -> switchboard_e2e::SippRun {
    let base = registration(
        server,
        ext,
        password,
        free_port().unwrap(),
        transport,
        expires,
    )
    .unwrap();
    // Same settings, possibly another scenario (the rejected variant expects a second 401/403).
    let sipp = if scenario == "register" {
        base
    } else {
        Sipp::new(scenario)
            .unwrap()
            .remote(server.sip_addr())
            .transport(transport)
            .local_port(base.sip_port())
            .key("user", ext)
            .key("expires", expires)
            .auth(ext, password)
    };
    sipp.run().unwrap()
}

fn right_and_wrong_passwords(transport: Transport) {
    let server = Server::start(ServerOptions::new()).unwrap();
    register_outcome(
        &server,
        "201",
        &demo_password("201"),
        transport,
        "register",
        300,
    )
    .expect_success()
    .unwrap();
    register_outcome(
        &server,
        "202",
        "not-the-password",
        transport,
        "register_rejected",
        300,
    )
    .expect_success()
    .unwrap();
    // The plain scenario must fail with a wrong password (a second 401 is unexpected there).
    let wrong = register_outcome(&server, "203", "wrong", transport, "register", 300);
    assert!(
        !wrong.succeeded(),
        "a wrong password was accepted: {}",
        wrong.describe()
    );
    // Removing a binding (Expires: 0) is authenticated like adding one.
    register_outcome(
        &server,
        "201",
        &demo_password("201"),
        transport,
        "register",
        0,
    )
    .expect_success()
    .unwrap();
    assert!(
        server.log().contains("listening"),
        "server log lacks the `listening` line:\n{}",
        server.log()
    );
}

#[test]
fn register_over_udp_accepts_the_right_password_and_rejects_a_wrong_one() {
    right_and_wrong_passwords(Transport::Udp);
}

#[test]
fn register_over_tcp_accepts_the_right_password_and_rejects_a_wrong_one() {
    right_and_wrong_passwords(Transport::Tcp);
}

#[test]
fn unknown_user_is_challenged_like_a_known_one_and_rejected() {
    let server = Server::start(ServerOptions::new()).unwrap();
    // 999 does not exist: it must get the same 401 challenge and then a rejection, not a 404.
    register_outcome(
        &server,
        "999",
        "secret999",
        Transport::Udp,
        "register_rejected",
        300,
    )
    .expect_success()
    .unwrap();
}

#[test]
fn repeated_failures_from_one_address_are_refused_even_with_the_right_password() {
    let server = Server::start(ServerOptions::new()).unwrap();
    // Each rejected run answers one challenge wrongly; the server's guard bans after five.
    for attempt in 0..5 {
        let run = register_outcome(
            &server,
            "203",
            &format!("guess{attempt}"),
            Transport::Udp,
            "register_rejected",
            300,
        );
        assert!(
            !run.messages.contains("SIP/2.0 200"),
            "a guessed password was accepted: {}",
            run.describe()
        );
    }
    let after = registration(
        &server,
        "201",
        &demo_password("201"),
        free_port().unwrap(),
        Transport::Udp,
        300,
    )
    .unwrap()
    .timeout(std::time::Duration::from_secs(5))
    .run()
    .unwrap();
    assert!(
        !after.succeeded(),
        "after five failed attempts from 127.0.0.1, a registration from there was still accepted: {}",
        after.describe()
    );
    assert!(
        server.log().contains("127.0.0.1"),
        "expected the refused source address in the server log"
    );
}

#[test]
fn too_short_expiry_gets_423_with_min_expires() {
    let server = Server::start(ServerOptions::new()).unwrap();
    register_outcome(
        &server,
        "201",
        &demo_password("201"),
        Transport::Udp,
        "register_too_brief",
        10,
    )
    .expect_success()
    .unwrap();
}
