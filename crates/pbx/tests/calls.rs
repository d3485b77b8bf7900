//! Extension-to-extension calls through the B2BUA, as transcripts: 201 calls
//! 202 and the test plays both phones. Covers the answered call with media
//! anchoring, hang-up from either side, busy, no answer, unknown and
//! unregistered numbers, and the caller cancelling.

mod support;

use pbx::sdp::parse_audio;
use sip::message::Response;
use std::net::SocketAddr;
use std::time::Duration;
use support::{Incoming, Leg, Office, Outgoing, RTP_LOW, World, office};

fn sdp_rtp(body: &[u8]) -> SocketAddr {
    parse_audio(body)
        .unwrap_or_else(|e| panic!("expected SDP, got {e}: {}", String::from_utf8_lossy(body)))
        .rtp
        .expect("an RTP address in the SDP")
}

fn is_pbx_port(addr: SocketAddr) -> bool {
    addr.ip() == World::public_ip() && (RTP_LOW..RTP_LOW + 100).contains(&addr.port())
}

/// 201 calls 202; 202's phone rings and answers; both ACK. Returns the dialogs.
fn connected(o: &mut Office) -> (Outgoing, Leg, Leg) {
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond(&inc, 180);
    let ringing = w.take_provisional(o.p201, call.tx);
    assert!(
        ringing.contains(&180),
        "expected 180 relayed, got {ringing:?}"
    );
    let b = w.answer(&inc);
    let ok = w.take_final(o.p201, call.tx);
    assert_eq!(ok.status, 200);
    let a = w.ack(&call, &ok);
    w.expect_ack(o.p202);
    (call, a, b)
}

#[test]
fn extension_call_is_anchored_and_bridged() {
    let mut o = office();
    let w = &mut o.w;

    // 201 → INVITE 202: challenged first (407), then the authenticated INVITE goes on.
    let call = w.call(o.p201, "202");

    // 202's phone rings with an offer pointing at the PBX, not at 201.
    let inc: Incoming = w.expect_invite(o.p202);
    let offer_to_b = sdp_rtp(&inc.req.body);
    assert!(
        is_pbx_port(offer_to_b),
        "expected the B-leg offer at the PBX's public address, got {offer_to_b}"
    );
    assert_ne!(offer_to_b, w.rtp_of(o.p201));
    let from = inc.req.headers.from().expect("From");
    assert_eq!(from.uri.user.as_deref(), Some("201"), "caller id is 201");

    w.respond(&inc, 180);
    assert_eq!(w.take_provisional(o.p201, call.tx), vec![100, 180]);

    let mut b = w.answer(&inc);
    let ok: Response = w.take_final(o.p201, call.tx);
    assert_eq!(ok.status, 200);
    let answer_to_a = sdp_rtp(&ok.body);
    assert!(
        is_pbx_port(answer_to_a),
        "expected the A-leg answer at the PBX, got {answer_to_a}"
    );
    assert_ne!(answer_to_a, offer_to_b, "A and B legs use different ports");
    let mut a = w.ack(&call, &ok);
    w.expect_ack(o.p202);

    // The PBX opened two RTP ports and bridged the legs towards both phones.
    let a_leg = w.leg_towards(w.rtp_of(o.p201));
    let b_leg = w.leg_towards(w.rtp_of(o.p202));
    let ports: Vec<u16> = w.rtp_opened.iter().map(|(_, p)| *p).collect();
    assert!(ports.contains(&answer_to_a.port()) && ports.contains(&offer_to_b.port()));
    let media = w.take_media();
    assert!(
        media.contains(&format!("Bridge {} {}", a_leg.0, b_leg.0)),
        "expected a bridge of the two legs, got {media:?}"
    );
    assert_eq!(w.pbx.active_calls(), 1);

    // 201 hangs up: 202 gets BYE; both legs are removed.
    let bye = w.bye(&mut a);
    w.expect_bye(&mut b);
    assert_eq!(w.take_final(o.p201, bye).status, 200);
    let media = w.take_media();
    for leg in [a_leg, b_leg] {
        assert!(media.contains(&format!("RemoveLeg {}", leg.0)), "{media:?}");
        assert!(w.rtp_closed.contains(&leg));
    }
    assert_eq!(
        w.cdr_lines(),
        ["Started 201->202", "Answered", "Ended answered by caller"]
    );
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn callee_hangs_up() {
    let mut o = office();
    let (_, mut a, mut b) = connected(&mut o);
    let w = &mut o.w;
    let bye = w.bye(&mut b);
    w.expect_bye(&mut a);
    assert_eq!(w.take_final(o.p202, bye).status, 200);
    assert_eq!(
        w.cdr_lines(),
        ["Started 201->202", "Answered", "Ended answered by callee"]
    );
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn busy_callee_gives_486() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond(&inc, 486);
    assert_eq!(w.take_final(o.p201, call.tx).status, 486);
    let lines = w.cdr_lines();
    assert_eq!(lines[0], "Started 201->202");
    assert!(lines[1].starts_with("Ended busy"), "{lines:?}");
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn no_answer_within_the_ring_timeout_cancels_the_callee_and_gives_480() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond(&inc, 180);

    // Just before the 30 s ring timeout of the dialplan nothing happens …
    w.advance(Duration::from_millis(29_900));
    assert!(
        w.take_responses(o.p201, call.tx)
            .iter()
            .all(|r| r.status < 200)
    );
    w.settle();
    assert!(!w.inbox_summary(o.p202).contains("CANCEL"));

    // … and right after it the callee is cancelled and the caller gets 480.
    w.advance(Duration::from_millis(200));
    w.expect_cancelled(&inc);
    assert_eq!(w.take_final(o.p201, call.tx).status, 480);
    let lines = w.cdr_lines();
    assert!(lines[1].starts_with("Ended no_answer"), "{lines:?}");
}

#[test]
fn unknown_number_gives_404() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "9999");
    assert_eq!(w.take_final(o.p201, call.tx).status, 404);
    let lines = w.cdr_lines();
    assert!(lines[1].starts_with("Ended not_found"), "{lines:?}");
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn unregistered_extension_gives_480() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "203");
    assert_eq!(w.take_final(o.p201, call.tx).status, 480);
    let lines = w.cdr_lines();
    assert!(lines[1].starts_with("Ended unavailable"), "{lines:?}");
    // The two RTP ports of the refused call are free again.
    assert_eq!(w.rtp_opened.len(), w.rtp_closed.len());
}

#[test]
fn caller_cancel_gives_487_and_cancels_the_callee() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond(&inc, 180);
    w.settle();
    w.cancel(&call);
    w.expect_cancelled(&inc);
    assert_eq!(w.take_final(o.p201, call.tx).status, 487);
    assert_eq!(
        w.cdr_lines(),
        ["Started 201->202", "Ended cancelled by caller"]
    );
    // Let every transaction finish: the call is forgotten and its ports freed.
    w.advance(Duration::from_secs(40));
    assert_eq!(w.pbx.active_calls(), 0);
    assert_eq!(w.rtp_opened.len(), w.rtp_closed.len());
}

#[test]
fn unacknowledged_answer_hangs_up_after_timer_l() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    let mut b = w.answer(&inc);
    assert_eq!(w.take_final(o.p201, call.tx).status, 200);
    w.expect_ack(o.p202);
    // 201 never ACKs: after 64*T1 the PBX gives up and hangs up both legs.
    w.advance(Duration::from_secs(33));
    w.expect_bye(&mut b);
    let lines = w.cdr_lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Ended answered by system")
    );
}

#[test]
fn wrong_credentials_on_invite_are_challenged_and_ban_the_source() {
    let mut o = office();
    let w = &mut o.w;
    for attempt in 1..=5 {
        let first = w.invite(o.p201, "202");
        let challenge = w.take_final(o.p201, first.tx);
        assert_eq!(challenge.status, 407, "attempt {attempt}");
        let header = challenge
            .headers
            .get("Proxy-Authenticate")
            .expect("challenge")
            .to_string();
        let mut req = first.req.clone();
        let uri = req.uri.to_string();
        let auth = sip::auth::respond_to_challenge(&header, "INVITE", &uri, "201", "nope", "c", 1)
            .expect("answerable");
        req.headers.set("CSeq", "2 INVITE");
        req.headers.push("Proxy-Authorization", auth);
        let tx = w.send_from(o.p201, req);
        assert_eq!(w.take_final(o.p201, tx).status, 407, "attempt {attempt}");
    }
    let call = w.invite(o.p201, "202");
    assert_eq!(w.take_final(o.p201, call.tx).status, 403);
    assert!(!w.has_request(o.p202, sip::message::Method::Invite));
    assert!(w.cdrs.is_empty(), "refused attempts are not calls");
}

#[test]
fn invite_without_an_offer_gets_488_and_options_gets_allow() {
    let mut o = office();
    let w = &mut o.w;
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    let mut call = w.invite(guest, "1000");
    // Re-send the same INVITE without SDP as a new transaction.
    call.req.body.clear();
    call.req.headers.remove("Content-Type");
    call.req.headers.set("Call-ID", "no-sdp-1");
    let _ = w.take_responses(guest, call.tx);
    let tx = w.send_from(guest, call.req.clone());
    assert_eq!(w.take_final(guest, tx).status, 488);

    let mut options =
        sip::message::Request::new(sip::message::Method::Options, call.req.uri.clone());
    for h in ["From", "To", "Call-ID"] {
        options
            .headers
            .push(h, call.req.headers.get(h).expect("header").to_string());
    }
    options.headers.set("Call-ID", "options-1");
    options.headers.push("CSeq", "1 OPTIONS");
    let tx = w.send_from(guest, options);
    let ok = w.take_final(guest, tx);
    assert_eq!(ok.status, 200);
    assert!(
        ok.headers
            .get("Allow")
            .is_some_and(|a| a.contains("INVITE"))
    );
}

#[test]
fn bye_for_an_unknown_dialog_gets_481() {
    let mut o = office();
    let (_, mut a, _) = connected(&mut o);
    let w = &mut o.w;
    a.dialog.id.call_id = "no-such-call".into();
    let tx = w.bye(&mut a);
    assert_eq!(w.take_final(o.p201, tx).status, 481);
    assert_eq!(w.pbx.active_calls(), 1);
}
