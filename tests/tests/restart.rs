//! Registrations live in the database: after a restart, a registered extension is still reachable
//! without registering again.

use switchboard_e2e::pbx::{SIPP_TIMEOUT, caller, register};
use switchboard_e2e::{Server, ServerOptions, Sipp, Transport};

#[test]
fn registrations_survive_a_restart() {
    let mut server = Server::start(ServerOptions::new()).unwrap();
    let callee = Sipp::new("uas_busy").unwrap().timeout(SIPP_TIMEOUT);
    register(&server, "202", callee.sip_port(), Transport::Udp).unwrap();

    let status = server.stop().unwrap();
    assert!(
        status.success(),
        "switchboard exited with {status} on SIGTERM; log:\n{}",
        server.log()
    );
    server.restart().unwrap();

    // 486 can only come from 202's phone: the PBX found its binding after the restart (else 480).
    let callee = callee.spawn().unwrap();
    let caller_run = caller(&server, "201", "uac_call_busy", "202", Transport::Udp)
        .unwrap()
        .run()
        .unwrap();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();
}
