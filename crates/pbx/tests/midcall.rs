//! Forking to several phones of one extension, hold by re-INVITE, and
//! admission control, as call transcripts.

mod support;

use pbx::sdp::{Direction, parse_audio};
use sip::message::Method;
use std::time::Duration;
use support::{PhoneId, World, plan_from_str, repo_root};

fn registered(w: &mut World, label: &str, aor: &str, addr: &str, rtp: u16) -> PhoneId {
    let pw = format!("secret{aor}");
    let p = w.add_phone(label, aor, aor, &pw, addr, rtp);
    w.register(p);
    p
}

#[test]
fn both_phones_of_202_ring_and_the_first_answer_wins() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "201", "10.0.0.21:5060", 4000);
    let desk = registered(&mut w, "202desk", "202", "10.0.0.22:5060", 6000);
    let soft = registered(&mut w, "202soft", "202", "10.0.0.23:5060", 8000);
    let wall = w.wall_ms();
    assert_eq!(w.pbx.bindings("202", wall).len(), 2);

    let call = w.call(p201, "202");
    let inc_desk = w.expect_invite(desk);
    let inc_soft = w.expect_invite(soft);
    w.respond(&inc_desk, 180);
    w.respond(&inc_soft, 180);
    assert_eq!(
        w.take_provisional(p201, call.tx),
        vec![100, 180],
        "one 180 relayed"
    );

    // The soft phone answers first; the desk phone is cancelled.
    let _b = w.answer(&inc_soft);
    let ok = w.take_final(p201, call.tx);
    assert_eq!(ok.status, 200);
    w.ack(&call, &ok);
    w.expect_ack(soft);
    w.expect_cancelled(&inc_desk);
    let media = w.take_media();
    let soft_leg = w.leg_towards(w.rtp_of(soft));
    assert!(
        media
            .iter()
            .any(|m| m.starts_with("Bridge") && m.ends_with(&format!(" {}", soft_leg.0))),
        "expected the caller bridged to the soft phone's leg, got {media:?}"
    );
    assert_eq!(w.cdr_lines(), ["Started 201->202", "Answered"]);
}

#[test]
fn a_second_answer_from_another_fork_is_acknowledged_and_hung_up() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "201", "10.0.0.21:5060", 4000);
    let desk = registered(&mut w, "202desk", "202", "10.0.0.22:5060", 6000);
    let soft = registered(&mut w, "202soft", "202", "10.0.0.23:5060", 8000);

    let call = w.call(p201, "202");
    let inc_desk = w.expect_invite(desk);
    let inc_soft = w.expect_invite(soft);
    // Both answer in the same instant (their 200s cross the PBX's CANCEL).
    let _b = w.answer(&inc_desk);
    let mut late = w.answer(&inc_soft);
    let ok = w.take_final(p201, call.tx);
    assert_eq!(ok.status, 200);
    w.ack(&call, &ok);
    w.expect_ack(desk);
    // The late phone gets its ACK and then a BYE.
    w.expect_ack(soft);
    w.expect_bye(&mut late);
    assert_eq!(w.cdr_lines(), ["Started 201->202", "Answered"]);
    assert_eq!(w.pbx.active_calls(), 1);
}

#[test]
fn hold_reinvite_is_relayed_with_the_pbx_address_and_answered_back() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "201", "10.0.0.21:5060", 4000);
    let p202 = registered(&mut w, "202", "202", "10.0.0.22:5060", 6000);
    let call = w.call(p201, "202");
    let inc = w.expect_invite(p202);
    let mut b = w.answer(&inc);
    let ok = w.take_final(p201, call.tx);
    let mut a = w.ack(&call, &ok);
    w.expect_ack(p202);
    let a_leg = w.leg_towards(w.rtp_of(p201));
    let b_leg = w.leg_towards(w.rtp_of(p202));
    let pbx_a = parse_audio(&ok.body).expect("answer").rtp.expect("addr");
    let pbx_b = parse_audio(&inc.req.body)
        .expect("offer")
        .rtp
        .expect("addr");
    w.take_media();

    // 201 puts the call on hold.
    let hold = w.reinvite(&mut a, "sendonly");
    let reinv = w.expect_reinvite(&mut b);
    let offer = parse_audio(&reinv.req.body).expect("SDP in the relayed re-INVITE");
    assert_eq!(
        offer.rtp,
        Some(pbx_b),
        "202 still sends to the PBX's B-leg port"
    );
    assert_eq!(offer.direction, Direction::SendOnly);
    assert_eq!(
        reinv.req.headers.get("Content-Type"),
        Some("application/sdp")
    );
    let contacts: Vec<&str> = reinv.req.headers.get_all_lines("Contact").collect();
    assert_eq!(
        contacts.len(),
        1,
        "a re-INVITE carries exactly one Contact (RFC 3261 §8.1.1.8), got {contacts:?}"
    );

    // 202 answers recvonly; the PBX acknowledges it and answers 201 with its own address.
    w.answer_with(&reinv, "recvonly");
    w.expect_ack(p202);
    let held = w.take_final(p201, hold.tx);
    assert_eq!(held.status, 200);
    let answer = parse_audio(&held.body).expect("SDP in the relayed answer");
    assert_eq!(answer.rtp, Some(pbx_a));
    assert_eq!(answer.direction, Direction::RecvOnly);
    w.ack(&hold, &held);

    let media = w.take_media();
    assert_eq!(
        media,
        [
            format!("UpdateRemote {} remote={}", a_leg.0, w.rtp_of(p201)),
            format!("UpdateRemote {} remote={}", b_leg.0, w.rtp_of(p202)),
        ]
    );

    // Unhold works the same way, and the call is still up.
    let unhold = w.reinvite(&mut a, "sendrecv");
    let reinv = w.expect_reinvite(&mut b);
    assert_eq!(
        parse_audio(&reinv.req.body).expect("SDP").direction,
        Direction::SendRecv
    );
    w.answer(&reinv);
    let resumed = w.take_final(p201, unhold.tx);
    assert_eq!(resumed.status, 200);
    w.ack(&unhold, &resumed);
    w.advance(Duration::from_secs(40));
    assert_eq!(
        w.pbx.active_calls(),
        1,
        "the call survives the hold and unhold"
    );
    assert!(!w.has_request(p202, Method::Bye));
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

#[test]
fn calls_beyond_the_rate_limit_get_503_with_retry_after() {
    let mut w = plan_with_rate_limit(2);
    let guests: Vec<PhoneId> = (0..3)
        .map(|i| {
            w.add_guest(
                &format!("guest{i}"),
                &format!("192.0.2.{}:5060", 10 + i),
                7000,
            )
        })
        .collect();
    let calls: Vec<_> = guests.iter().map(|g| w.invite(*g, "1000")).collect();
    w.settle();
    let statuses: Vec<u16> = guests
        .iter()
        .zip(&calls)
        .map(|(g, c)| w.take_final(*g, c.tx).status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 503],
        "the attendant answers two, the third is refused"
    );

    // A second later the window has moved on and calls are admitted again.
    w.advance(Duration::from_millis(1100));
    let again = w.invite(guests[2], "1000");
    assert_eq!(w.take_final(guests[2], again.tx).status, 200);
}

#[test]
fn the_503_carries_retry_after() {
    let mut w = plan_with_rate_limit(1);
    let g1 = w.add_guest("guest1", "192.0.2.10:5060", 7000);
    let g2 = w.add_guest("guest2", "192.0.2.11:5060", 7000);
    let c1 = w.invite(g1, "1000");
    let c2 = w.invite(g2, "1000");
    assert_eq!(w.take_final(g1, c1.tx).status, 200);
    let refused = w.take_final(g2, c2.tx);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers.get("Retry-After"), Some("5"));
}

#[test]
fn a_refused_reinvite_is_relayed_back_and_the_call_goes_on() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "201", "10.0.0.21:5060", 4000);
    let p202 = registered(&mut w, "202", "202", "10.0.0.22:5060", 6000);
    let call = w.call(p201, "202");
    let inc = w.expect_invite(p202);
    let mut b = w.answer(&inc);
    let ok = w.take_final(p201, call.tx);
    let mut a = w.ack(&call, &ok);
    w.expect_ack(p202);

    let hold = w.reinvite(&mut a, "sendonly");
    let reinv = w.expect_reinvite(&mut b);
    w.respond(&reinv, 488);
    assert_eq!(w.take_final(p201, hold.tx).status, 488);
    w.advance(Duration::from_secs(40));
    assert_eq!(w.pbx.active_calls(), 1);
    let bye = w.bye(&mut a);
    w.expect_bye(&mut b);
    assert_eq!(w.take_final(p201, bye).status, 200);
}

#[test]
fn a_reinvite_adding_video_is_relayed_as_audio_and_answered_with_video_refused() {
    let mut w = World::with_default_plan();
    let p201 = registered(&mut w, "201", "201", "10.0.0.21:5060", 4000);
    let p202 = registered(&mut w, "202", "202", "10.0.0.22:5060", 6000);
    let call = w.call(p201, "202");
    let inc = w.expect_invite(p202);
    let mut b = w.answer(&inc);
    let ok = w.take_final(p201, call.tx);
    let mut a = w.ack(&call, &ok);
    w.expect_ack(p202);

    // 201 turns its camera on: audio then video in the re-INVITE's offer.
    let mut req = a.dialog.new_request(Method::Invite);
    req.headers.push("Content-Type", "application/sdp");
    let rtp = w.rtp_of(p201);
    req.body = format!(
        "v=0\r\no=- 1 2 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 0 8\r\na=sendrecv\r\nm=video 4002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
    .into_bytes();
    let tx = w.send_from(p201, req);
    let reinv = w.expect_reinvite(&mut b);
    let relayed = String::from_utf8(reinv.req.body.clone()).unwrap();
    assert_eq!(
        relayed.matches("m=").count(),
        1,
        "202 is offered audio: {relayed}"
    );
    w.answer_with(&reinv, "sendrecv");
    w.expect_ack(p202);
    let answer = w.take_final(p201, tx);
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body.clone()).unwrap();
    let m: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m.len(), 2, "{text}");
    assert!(
        m[0].starts_with("m=audio ") && !m[0].starts_with("m=audio 0 "),
        "{text}"
    );
    assert_eq!(m[1], "m=video 0 RTP/AVP 96", "{text}");
}
