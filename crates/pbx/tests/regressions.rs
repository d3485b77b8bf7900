//! Regression tests for bugs found by the in-memory call tests, kept so they
//! stay fixed:
//!
//! - A registered phone's INVITE challenged with 407 was counted by the
//!   calls-per-second admission control, so its authenticated retry could be
//!   refused with 503 (the rate is now counted after authentication in
//!   `call/setup.rs::handle_invite`).
//! - A re-INVITE without SDP was relayed, but the PBX acknowledged the other
//!   side's 2xx (which then carries an offer) at once with an empty ACK, so that
//!   offer was never answered (the ACK now waits for the originator's answer:
//!   `call/midcall.rs::on_ack`).

mod support;

use sip::message::Method;
use support::{PhoneId, World, plan_from_str, repo_root};

fn registered(w: &mut World, aor: &str, addr: &str, rtp: u16) -> PhoneId {
    let pw = format!("secret{aor}");
    let p = w.add_phone(aor, aor, aor, &pw, addr, rtp);
    w.register(p);
    p
}

fn plan_with_rate_limit(per_second: u32) -> World {
    let text = std::fs::read_to_string(repo_root().join("dialplan/default.yaml"))
        .expect("default dialplan");
    let text = text.replace(
        "max_calls_per_second: 50",
        &format!("max_calls_per_second: {per_second}"),
    );
    assert!(text.contains(&format!("max_calls_per_second: {per_second}")));
    let (plan, prompts) = plan_from_str(&text);
    World::new(plan, prompts)
}

/// A registered phone's call is two INVITEs: the one challenged with 407 and
/// the authenticated one. Only the call should count against the limit.
#[test]
fn a_challenged_invite_does_not_use_up_the_call_rate() {
    let mut w = plan_with_rate_limit(1);
    let p201 = registered(&mut w, "201", "10.0.0.21:5060", 4000);
    let p202 = registered(&mut w, "202", "10.0.0.22:5060", 6000);
    // `call` sends the INVITE, gets 407, and retries with credentials at once.
    let call = w.call(p201, "202");
    let rang = w.has_request(p202, Method::Invite);
    let caller_got: Vec<u16> = w
        .take_responses(p201, call.tx)
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(
        rang,
        "expected 202 to ring for the only call of this second; the caller got {caller_got:?}"
    );
}

/// A re-INVITE without SDP asks the other side for an offer in its 2xx; the
/// answer then travels in the ACK (RFC 3264 §5, RFC 3261 §13.2.2.4). The PBX
/// acknowledges the callee's 2xx at once with an empty ACK, before the
/// caller has answered, so the callee's offer is never answered.
#[test]
fn a_reinvite_without_sdp_gets_its_answer_in_the_ack() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "10.0.0.21:5060", 4000);
    let p202 = registered(&mut w, "202", "10.0.0.22:5060", 6000);
    let call = w.call(p201, "202");
    let inc = w.expect_invite(p202);
    let mut b = w.answer(&inc);
    let ok = w.take_final(p201, call.tx);
    let mut a = w.ack(&call, &ok);
    w.expect_ack(p202);

    // 201 sends a re-INVITE without a body (delayed offer).
    let req = a.dialog.new_request(Method::Invite);
    let tx = w.send_from(p201, req.clone());
    let reinv = w.expect_reinvite(&mut b);
    assert!(
        reinv.req.body.is_empty(),
        "the relayed re-INVITE has no offer either"
    );
    // 202 makes an offer in its 200; 201 gets it (rewritten) and answers in its ACK.
    w.answer(&reinv);
    let offer = w.take_final(p201, tx);
    assert_eq!(offer.status, 200);
    assert!(
        !offer.body.is_empty(),
        "the 200 relayed to 201 carries the offer"
    );
    let out = support::Outgoing {
        phone: p201,
        tx,
        req,
    };
    w.ack_with_answer(&out, &offer, &a.dialog);
    let ack = w.expect_ack(p202);
    assert!(
        !ack.body.is_empty(),
        "expected 202's ACK to carry the SDP answer, got an empty ACK"
    );
}

/// The same delayed offer, with 202 offering audio and video in its 200: the
/// answer the PBX puts in its ACK to 202 keeps both m= lines, video refused.
#[test]
fn the_answer_in_the_ack_keeps_the_m_lines_of_the_offer_in_the_2xx() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "10.0.0.21:5060", 4000);
    let p202 = registered(&mut w, "202", "10.0.0.22:5060", 6000);
    let call = w.call(p201, "202");
    let inc = w.expect_invite(p202);
    let mut b = w.answer(&inc);
    let ok = w.take_final(p201, call.tx);
    let mut a = w.ack(&call, &ok);
    w.expect_ack(p202);

    let req = a.dialog.new_request(Method::Invite);
    let tx = w.send_from(p201, req.clone());
    let reinv = w.expect_reinvite(&mut b);
    let rtp = w.rtp_of(p202);
    let offer_with_video = format!(
        "v=0\r\no=phone 1 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 0 8\r\nm=video 6002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    );
    w.answer_with_body(&reinv, offer_with_video.into_bytes());
    let offer = w.take_final(p201, tx);
    assert_eq!(offer.status, 200);
    let out = support::Outgoing {
        phone: p201,
        tx,
        req,
    };
    w.ack_with_answer(&out, &offer, &a.dialog);
    let ack = w.expect_ack(p202);
    let text = String::from_utf8(ack.body.clone()).unwrap();
    let m: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m.len(), 2, "{text}");
    assert!(
        m[0].starts_with("m=audio ") && !m[0].starts_with("m=audio 0 "),
        "{text}"
    );
    assert_eq!(m[1], "m=video 0 RTP/AVP 96", "{text}");
}
