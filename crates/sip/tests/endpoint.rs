//! The endpoint seen from the driver and the TU: bytes in, transmits and
//! events out, on a clock advanced by hand.

#[path = "endpoint_support.rs"]
mod support;

use sip::endpoint::{Event, Transport};
use sip::message::Method;
use std::time::Duration;
use support::*;

const PHONE: &str = "203.0.113.7:40123";
const VIA_RPORT: &str = "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKph1;rport";

#[test]
fn options_is_passed_up_stamped_and_answered_to_rport() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let bytes = wire_request("OPTIONS", VIA_RPORT, 1, None);
    ep.handle_bytes(t0, udp(PHONE), bytes.as_bytes());
    let evs = events(&mut ep);
    let [Event::Request { tx, req, from }] = &evs[..] else {
        panic!("expected one request event, got {evs:?}")
    };
    assert_eq!(from.addr, addr(PHONE));
    let via = req.headers.top_via().unwrap();
    assert_eq!(via.params.value("received"), Some("203.0.113.7"));
    assert_eq!(via.rport(), Some(Some(40123)));
    ep.respond(t0, *tx, reply(req, 200, "ep1"));
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].to,
        udp(PHONE),
        "rport: back to the source address and port"
    );
    let resp = response(&out[0].bytes);
    assert_eq!(resp.headers.get("Server"), Some("Switchboard"));
    assert_eq!(
        resp.headers.top_via().unwrap().params.value("received"),
        Some("203.0.113.7")
    );
    // The request is retransmitted: the stored response goes out again, no new event.
    ep.handle_bytes(t0 + ms(500), udp(PHONE), bytes.as_bytes());
    assert!(events(&mut ep).is_empty());
    let again = transmits(&mut ep);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, out[0].bytes);
    assert_eq!(ep.stats().retransmissions_absorbed, 1);
    // A second final response from the TU is refused.
    ep.respond(t0 + ms(600), *tx, reply(req, 500, "ep1"));
    assert!(transmits(&mut ep).is_empty());
    assert_eq!(ep.stats().late_responses, 1);
    // Timer J (64*T1 on UDP) ends the transaction.
    run_timers(&mut ep, t0 + Duration::from_secs(33));
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn without_rport_the_response_goes_to_the_sent_by_port() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let via = "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKnr";
    ep.handle_bytes(
        t0,
        udp(PHONE),
        wire_request("OPTIONS", via, 1, None).as_bytes(),
    );
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected a request event")
    };
    ep.respond(t0, tx, reply(&req, 200, "x"));
    assert_eq!(transmits(&mut ep)[0].to, udp("203.0.113.7:5062"));
}

#[test]
fn tcp_responses_use_the_same_connection_and_never_retransmit() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let via = "SIP/2.0/TCP 10.0.0.1:5062;branch=z9hG4bKtcp;rport";
    ep.handle_bytes(
        t0,
        tcp(PHONE, 9),
        wire_request("INVITE", via, 1, None).as_bytes(),
    );
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["SIP/2.0 100 Trying"]);
    assert_eq!(out[0].to.conn, Some(sip::endpoint::ConnId(9)));
    assert_eq!(out[0].to.transport, Transport::Tcp);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.respond(t0, tx, reply(&req, 486, "busy"));
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 486 Busy Here"]);
    // Timer G is not used on TCP; only Timer H remains.
    let (sent, evs) = run_timers(&mut ep, t0 + Duration::from_secs(40));
    assert!(sent.is_empty(), "no retransmission over TCP: {sent:?}");
    assert!(matches!(evs[..], [Event::AckTimeout { .. }]));
}

#[test]
fn invite_failure_is_retransmitted_until_the_ack_which_is_absorbed() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let invite = wire_request("INVITE", VIA_RPORT, 1, None);
    ep.handle_bytes(t0, udp(PHONE), invite.as_bytes());
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 100 Trying"]);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    assert_eq!(req.method, Method::Invite);
    // INVITE retransmitted before the TU answers: the 100 goes out again.
    ep.handle_bytes(t0 + ms(500), udp(PHONE), invite.as_bytes());
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 100 Trying"]);
    ep.respond(t0 + ms(600), tx, reply(&req, 486, "busy"));
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 486 Busy Here"]);
    // The ACK is lost: Timer G retransmits T1, 2*T1, 4*T1 after the response.
    let (sent, _) = run_timers(&mut ep, t0 + ms(4100));
    let offsets: Vec<u128> = sent.iter().map(|(at, _)| (*at - t0).as_millis()).collect();
    assert_eq!(offsets, vec![1100, 2100, 4100]);
    assert!(
        sent.iter()
            .all(|(_, t)| start_line(&t.bytes) == "SIP/2.0 486 Busy Here")
    );
    // The ACK (same branch, To tag of the 486) arrives: absorbed, nothing passed up.
    let ack = wire_request("ACK", VIA_RPORT, 1, Some("busy"));
    ep.handle_bytes(t0 + ms(4100), udp(PHONE), ack.as_bytes());
    assert!(events(&mut ep).is_empty());
    let (sent, evs) = run_timers(&mut ep, t0 + Duration::from_secs(60));
    assert!(sent.is_empty() && evs.is_empty(), "{sent:?} {evs:?}");
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn invite_2xx_is_retransmitted_until_the_ack_for_2xx_arrives() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let invite = wire_request("INVITE", VIA_RPORT, 1, None);
    ep.handle_bytes(t0, udp(PHONE), invite.as_bytes());
    transmits(&mut ep);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.respond(t0, tx, reply(&req, 200, "ok1"));
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 200 OK"]);
    // INVITE retransmissions in Accepted are absorbed.
    ep.handle_bytes(t0 + ms(100), udp(PHONE), invite.as_bytes());
    assert!(transmits(&mut ep).is_empty());
    let (sent, _) = run_timers(&mut ep, t0 + ms(1600));
    assert_eq!(
        lines(&sent.into_iter().map(|(_, t)| t).collect::<Vec<_>>()),
        vec!["SIP/2.0 200 OK"; 2]
    );
    // The ACK for a 2xx has its own branch: it comes up as Event::Ack and stops the 2xx.
    let ack_via = "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKack2xx;rport";
    let ack = wire_request("ACK", ack_via, 1, Some("ok1"));
    ep.handle_bytes(t0 + ms(1700), udp(PHONE), ack.as_bytes());
    let evs = events(&mut ep);
    let [Event::Ack { req, from }] = &evs[..] else {
        panic!("expected the ACK, got {evs:?}")
    };
    assert_eq!(req.method, Method::Ack);
    assert_eq!(from.addr, addr(PHONE));
    let (sent, evs) = run_timers(&mut ep, t0 + Duration::from_secs(60));
    assert!(sent.is_empty(), "2xx retransmission must stop at the ACK");
    assert!(evs.is_empty(), "no ack timeout after an ACK: {evs:?}");
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn an_unacknowledged_2xx_reports_ack_timeout_after_64_t1() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    ep.handle_bytes(
        t0,
        udp(PHONE),
        wire_request("INVITE", VIA_RPORT, 1, None).as_bytes(),
    );
    transmits(&mut ep);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.respond(t0, tx, reply(&req, 200, "ok1"));
    let (sent, evs) = run_timers(&mut ep, t0 + Duration::from_secs(60));
    assert_eq!(
        sent.len(),
        1 + 10,
        "the first 2xx and ten retransmissions (0.5 s .. 31.5 s)"
    );
    assert_eq!(sent.last().map(|(at, _)| *at - t0), Some(ms(31_500)));
    assert_eq!(evs, vec![Event::AckTimeout { tx }]);
    // A late ACK still comes up to the TU.
    let ack = wire_request(
        "ACK",
        "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKlate",
        1,
        Some("ok1"),
    );
    ep.handle_bytes(t0 + Duration::from_secs(61), udp(PHONE), ack.as_bytes());
    assert!(matches!(events(&mut ep)[..], [Event::Ack { .. }]));
}

#[test]
fn cancel_of_a_pending_invite_gets_200_and_an_event() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    ep.handle_bytes(
        t0,
        udp(PHONE),
        wire_request("INVITE", VIA_RPORT, 1, None).as_bytes(),
    );
    transmits(&mut ep);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.respond(t0, tx, reply(&req, 180, "ring1"));
    transmits(&mut ep);
    let cancel = wire_request("CANCEL", VIA_RPORT, 1, None);
    ep.handle_bytes(t0 + ms(10), udp(PHONE), cancel.as_bytes());
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["SIP/2.0 200 OK"]);
    let ok = response(&out[0].bytes);
    assert_eq!(ok.headers.cseq().unwrap().method, Method::Cancel);
    assert_eq!(
        ok.headers.to().unwrap().tag(),
        Some("ring1"),
        "same To tag as the 180"
    );
    let evs = events(&mut ep);
    let [Event::Cancelled { invite, cancel }] = &evs[..] else {
        panic!("expected Cancelled, got {evs:?}")
    };
    assert_eq!(*invite, tx);
    assert_eq!(cancel.method, Method::Cancel);
    // A retransmitted CANCEL gets the same 200, no second event.
    ep.handle_bytes(
        t0 + ms(20),
        udp(PHONE),
        wire_request("CANCEL", VIA_RPORT, 1, None).as_bytes(),
    );
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 200 OK"]);
    assert!(events(&mut ep).is_empty());
    ep.respond(t0 + ms(30), tx, reply(&req, 487, "ring1"));
    assert_eq!(
        lines(&transmits(&mut ep)),
        vec!["SIP/2.0 487 Request Terminated"]
    );
    // A CANCEL after the final response is answered 200 with no event.
    ep.handle_bytes(
        t0 + ms(40),
        udp(PHONE),
        wire_request("CANCEL", VIA_RPORT, 1, None).as_bytes(),
    );
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 200 OK"]);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn cancel_without_an_invite_gets_481() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    ep.handle_bytes(
        t0,
        udp(PHONE),
        wire_request("CANCEL", VIA_RPORT, 1, None).as_bytes(),
    );
    let out = transmits(&mut ep);
    assert_eq!(
        lines(&out),
        vec!["SIP/2.0 481 Call/Transaction Does Not Exist"]
    );
    assert!(
        response(&out[0].bytes)
            .headers
            .to()
            .unwrap()
            .tag()
            .is_some()
    );
    assert!(events(&mut ep).is_empty());
}

#[test]
fn rfc2543_requests_without_magic_cookie_still_match() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let via = "SIP/2.0/UDP 10.0.0.1:5062";
    let invite = wire_request("INVITE", via, 5, None);
    ep.handle_bytes(t0, udp(PHONE), invite.as_bytes());
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.handle_bytes(t0 + ms(1), udp(PHONE), invite.as_bytes());
    assert!(
        events(&mut ep).is_empty(),
        "retransmission matched by the RFC 2543 rule"
    );
    ep.respond(t0 + ms(2), tx, reply(&req, 404, "nf"));
    transmits(&mut ep);
    ep.handle_bytes(
        t0 + ms(3),
        udp(PHONE),
        wire_request("ACK", via, 5, Some("nf")).as_bytes(),
    );
    assert!(events(&mut ep).is_empty(), "the ACK of the 404 is absorbed");
    let (sent, _) = run_timers(&mut ep, t0 + Duration::from_secs(40));
    assert!(sent.is_empty(), "no Timer G after the ACK");
}

#[test]
fn unparseable_requests_get_their_status_and_garbage_is_counted() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let bad_version =
        wire_request("OPTIONS", VIA_RPORT, 1, None).replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
    ep.handle_bytes(t0, udp(PHONE), bad_version.as_bytes());
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["SIP/2.0 505 Version Not Supported"]);
    assert_eq!(out[0].to, udp(PHONE));
    let resp = response(&out[0].bytes);
    let warning = resp.headers.get("Warning").unwrap_or_default();
    assert!(warning.starts_with("399 Switchboard \""), "{warning}");
    assert!(warning.contains("SIP/7.0"), "{warning}");
    assert!(resp.headers.to().unwrap().tag().is_some());
    let bad_cseq =
        wire_request("OPTIONS", VIA_RPORT, 1, None).replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
    ep.handle_bytes(t0, udp(PHONE), bad_cseq.as_bytes());
    assert_eq!(lines(&transmits(&mut ep)), vec!["SIP/2.0 400 Bad Request"]);
    for garbage in [
        &b"\x00\x01hello"[..],
        b"SIP/2.0 200 OK\r\n\r\n",
        b"INVITE\r\n\r\n",
    ] {
        ep.handle_bytes(t0, udp(PHONE), garbage);
    }
    ep.handle_bytes(t0, udp(PHONE), b"\r\n\r\n");
    assert!(transmits(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().rejected, 2);
    assert_eq!(ep.stats().dropped, 3);
    assert_eq!(ep.stats().keepalives, 1);
    // A bad ACK is never answered.
    let bad_ack =
        wire_request("ACK", VIA_RPORT, 1, None).replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
    ep.handle_bytes(t0, udp(PHONE), bad_ack.as_bytes());
    assert!(transmits(&mut ep).is_empty());
}

#[test]
fn another_sip_version_is_answered_505_at_the_source_address() {
    // RFC 4475 §3.1.2.16: the Via says SIP/7.0 too, so it cannot route the answer.
    let badvers = "OPTIONS sip:t.watson@example.org SIP/7.0\r\n\
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n\
Max-Forwards:     70\r\n\
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n\
To:      T. Watson <sip:t.watson@example.org>\r\n\
Call-ID: badvers.31417@c.example.com\r\n\
CSeq:    1 OPTIONS\r\n\
l: 0\r\n\r\n";
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    ep.handle_bytes(t0, udp(PHONE), badvers.as_bytes());
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["SIP/2.0 505 Version Not Supported"]);
    assert_eq!(
        out[0].to,
        udp(PHONE),
        "UDP: back to the source address and port"
    );
    // Our own parser refuses the SIP/7.0 Via, so read the text.
    let text = String::from_utf8_lossy(&out[0].bytes).into_owned();
    assert!(
        text.contains("\r\nVia: SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n"),
        "the Via is echoed as received: {text}"
    );
    assert!(
        text.contains("\r\nCall-ID: badvers.31417@c.example.com\r\n"),
        "{text}"
    );

    ep.handle_bytes(t0, tcp(PHONE, 7), badvers.as_bytes());
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["SIP/2.0 505 Version Not Supported"]);
    assert_eq!(
        out[0].to,
        tcp(PHONE, 7),
        "TCP: over the connection it came on"
    );
    assert_eq!(ep.stats().rejected, 2);
}

#[test]
fn client_requests_get_our_via_and_responses_come_back() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("OPTIONS", "c-opt", 1), udp(PHONE));
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, udp(PHONE));
    let sent = request(&out[0].bytes);
    let via = sent.headers.top_via().unwrap();
    assert_eq!(via.sent_by(), "192.0.2.1:5060");
    assert_eq!(via.transport, "UDP");
    assert!(via.is_rfc3261_branch());
    assert_eq!(via.rport(), Some(None));
    assert_eq!(sent.headers.get("Max-Forwards"), Some("70"));
    assert_eq!(sent.headers.get("User-Agent"), Some("Switchboard"));
    // A response with another branch is dropped; ours is passed up.
    let mut stray = reply(&sent, 200, "x");
    stray
        .headers
        .set("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKother");
    ep.handle_bytes(t0 + ms(5), udp(PHONE), &stray.to_bytes());
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().dropped, 1);
    ep.handle_bytes(t0 + ms(10), udp(PHONE), &reply(&sent, 200, "x").to_bytes());
    let evs = events(&mut ep);
    let [Event::Response { tx: got, resp }] = &evs[..] else {
        panic!("expected the 200, got {evs:?}")
    };
    assert_eq!((*got, resp.status), (tx, 200));
    // A retransmitted 200 is absorbed (Timer K on UDP).
    ep.handle_bytes(t0 + ms(20), udp(PHONE), &reply(&sent, 200, "x").to_bytes());
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().retransmissions_absorbed, 1);
}

#[test]
fn responses_from_another_source_are_dropped() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("INVITE", "c-src", 1), udp(PHONE));
    let sent = request(&transmits(&mut ep)[0].bytes);
    // An off-path forger who knows the branch: another host, another port of
    // the phone's host, the right address over the wrong transport.
    for forged in [
        udp("198.51.100.9:40123"),
        udp("203.0.113.7:40124"),
        tcp(PHONE, 4),
    ] {
        ep.handle_bytes(t0 + ms(5), forged, &reply(&sent, 200, "evil").to_bytes());
    }
    assert!(events(&mut ep).is_empty());
    assert!(transmits(&mut ep).is_empty(), "no ACK for a forged 200");
    assert_eq!(ep.stats().wrong_source, 3);
    assert_eq!(ep.stats().dropped, 3);
    // The real answer from where the INVITE went still completes the transaction.
    ep.handle_bytes(t0 + ms(10), udp(PHONE), &reply(&sent, 180, "b").to_bytes());
    ep.handle_bytes(t0 + ms(20), udp(PHONE), &reply(&sent, 200, "b").to_bytes());
    let evs = events(&mut ep);
    let statuses: Vec<(sip::endpoint::ClientTxId, u16)> = evs
        .iter()
        .map(|e| match e {
            Event::Response { tx, resp } => (*tx, resp.status),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(statuses, vec![(tx, 180), (tx, 200)]);
    assert_eq!(ep.stats().wrong_source, 3);
}

#[test]
fn tcp_responses_come_from_the_peer_on_any_of_its_connections() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("OPTIONS", "c-tcp", 1), tcp(PHONE, 3));
    let sent = request(&transmits(&mut ep)[0].bytes);
    ep.handle_bytes(
        t0,
        tcp("198.51.100.9:5060", 3),
        &reply(&sent, 200, "x").to_bytes(),
    );
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().wrong_source, 1);
    // The driver may have reconnected: another connection from the same address passes.
    ep.handle_bytes(t0, tcp(PHONE, 5), &reply(&sent, 200, "x").to_bytes());
    assert!(matches!(&events(&mut ep)[..], [Event::Response { tx: t, .. }] if *t == tx));
}

#[test]
fn an_ipv4_mapped_source_matches_its_ipv4_destination() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("OPTIONS", "c-v6", 1), udp(PHONE));
    let sent = request(&transmits(&mut ep)[0].bytes);
    let mapped = udp("[::ffff:203.0.113.7]:40123");
    ep.handle_bytes(t0, mapped, &reply(&sent, 200, "x").to_bytes());
    assert!(matches!(&events(&mut ep)[..], [Event::Response { tx: t, .. }] if *t == tx));
}

#[test]
fn identifiers_are_long_random_and_unique() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let mut seen = std::collections::HashSet::new();
    for i in 0..500 {
        let tag = ep.new_tag();
        let call_id = ep.new_call_id();
        // 5 bits per character: tags 80 bits, Call-IDs 120 bits.
        assert_eq!(tag.len(), sip::endpoint::TAG_LEN);
        assert!(tag.len() * 5 >= 64);
        assert_eq!(call_id.len(), sip::endpoint::CALL_ID_LEN);
        assert!(call_id.len() * 5 >= 96);
        ep.send_request(t0, tu_request("OPTIONS", &call_id, i), udp(PHONE));
        let sent = request(&transmits(&mut ep)[0].bytes);
        let branch = sent
            .headers
            .top_via()
            .unwrap()
            .branch()
            .unwrap()
            .to_string();
        let rest = branch.strip_prefix("z9hG4bK").expect("the magic cookie");
        assert_eq!(rest.len(), sip::endpoint::BRANCH_LEN);
        assert!(rest.len() * 5 >= 64);
        for id in [tag, call_id, branch] {
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
            assert!(seen.insert(id.clone()), "{id} repeated");
        }
    }
    // A seeded endpoint repeats itself exactly; another seed does not.
    let mut again = endpoint("192.0.2.1:5060", 7);
    let mut other = endpoint("192.0.2.1:5060", 8);
    let first = endpoint("192.0.2.1:5060", 7).new_tag();
    assert_eq!(again.new_tag(), first);
    assert_ne!(other.new_tag(), first);
}

#[test]
fn client_non_invite_retransmits_and_times_out_with_timer_f() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("REGISTER", "c-reg", 1), udp(PHONE));
    let first = transmits(&mut ep);
    let (sent, evs) = run_timers(&mut ep, t0 + Duration::from_secs(40));
    let offsets: Vec<u128> = sent.iter().map(|(at, _)| (*at - t0).as_millis()).collect();
    assert_eq!(&offsets[..5], &[500, 1500, 3500, 7500, 11500]);
    assert!(
        sent.iter().all(|(_, t)| t.bytes == first[0].bytes),
        "same bytes, same branch"
    );
    assert_eq!(evs, vec![Event::Timeout { tx }]);
}

#[test]
fn client_invite_acks_failures_itself() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("INVITE", "c-inv", 1), udp(PHONE));
    let sent = request(&transmits(&mut ep)[0].bytes);
    ep.handle_bytes(t0 + ms(10), udp(PHONE), &reply(&sent, 486, "b").to_bytes());
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["ACK sip:202@10.0.0.2:5060 SIP/2.0"]);
    let ack = request(&out[0].bytes);
    assert_eq!(
        ack.headers.top_via().unwrap().branch(),
        sent.headers.top_via().unwrap().branch()
    );
    assert_eq!(ack.headers.to().unwrap().tag(), Some("b"));
    assert!(
        matches!(&events(&mut ep)[..], [Event::Response { tx: t, resp }] if *t == tx && resp.status == 486)
    );
    // The 486 is retransmitted (our ACK was lost): the transaction ACKs again, the TU hears nothing.
    ep.handle_bytes(t0 + ms(600), udp(PHONE), &reply(&sent, 486, "b").to_bytes());
    assert_eq!(transmits(&mut ep)[0].bytes, out[0].bytes);
    assert!(events(&mut ep).is_empty());
    assert_eq!(
        ep.cancel(t0 + ms(700), tx),
        None,
        "a completed INVITE cannot be cancelled"
    );
}

#[test]
fn cancel_is_deferred_until_a_provisional_response() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("INVITE", "c-can", 1), udp(PHONE));
    let sent = request(&transmits(&mut ep)[0].bytes);
    let cancel_tx = ep
        .cancel(t0 + ms(1), tx)
        .expect("an INVITE in Calling can be cancelled");
    assert!(
        transmits(&mut ep).is_empty(),
        "no CANCEL before a provisional response"
    );
    assert_eq!(
        ep.cancel(t0 + ms(2), tx),
        Some(cancel_tx),
        "asking twice gives the same CANCEL"
    );
    ep.handle_bytes(t0 + ms(50), udp(PHONE), &reply(&sent, 180, "r").to_bytes());
    let out = transmits(&mut ep);
    assert_eq!(lines(&out), vec!["CANCEL sip:202@10.0.0.2:5060 SIP/2.0"]);
    let cancel = request(&out[0].bytes);
    assert_eq!(cancel.headers.get_all("Via"), sent.headers.get_all("Via"));
    assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
    ep.handle_bytes(
        t0 + ms(60),
        udp(PHONE),
        &reply(&cancel, 200, "r").to_bytes(),
    );
    ep.handle_bytes(t0 + ms(61), udp(PHONE), &reply(&sent, 487, "r").to_bytes());
    assert_eq!(
        lines(&transmits(&mut ep)),
        vec!["ACK sip:202@10.0.0.2:5060 SIP/2.0"]
    );
    let statuses: Vec<(bool, u16)> = events(&mut ep)
        .into_iter()
        .filter_map(|e| match e {
            Event::Response { tx: t, resp } => Some((t == cancel_tx, resp.status)),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![(false, 180), (true, 200), (false, 487)]);
    assert_eq!(
        ep.cancel(t0 + ms(70), tx),
        Some(cancel_tx),
        "already cancelled: the same CANCEL"
    );
    assert!(transmits(&mut ep).is_empty());
}

#[test]
fn cancelled_invite_without_final_response_times_out() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("INVITE", "c-can2", 1), tcp(PHONE, 3));
    let sent = request(&transmits(&mut ep)[0].bytes);
    assert_eq!(sent.headers.top_via().unwrap().transport, "TCP");
    ep.handle_bytes(
        t0 + ms(50),
        tcp(PHONE, 3),
        &reply(&sent, 180, "r").to_bytes(),
    );
    ep.cancel(t0 + ms(100), tx).expect("cancellable");
    assert_eq!(
        lines(&transmits(&mut ep)),
        vec!["CANCEL sip:202@10.0.0.2:5060 SIP/2.0"]
    );
    events(&mut ep);
    let (sent, evs) = run_timers(&mut ep, t0 + Duration::from_secs(40));
    assert_eq!(
        lines(&sent.into_iter().map(|(_, t)| t).collect::<Vec<_>>()),
        Vec::<String>::new(),
        "no retransmission on TCP"
    );
    assert!(evs.contains(&Event::Timeout { tx }), "{evs:?}");
}

#[test]
fn a_transport_error_fails_the_client_transactions_to_that_peer() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 7);
    let tx = ep.send_request(t0, tu_request("OPTIONS", "c-te", 1), tcp(PHONE, 4));
    let other = ep.send_request(
        t0,
        tu_request("OPTIONS", "c-te2", 1),
        udp("198.51.100.1:5060"),
    );
    ep.handle_transport_error(t0 + ms(1), tcp(PHONE, 4));
    assert_eq!(events(&mut ep), vec![Event::TransportError { tx }]);
    assert_eq!(ep.transaction_count(), (0, 1));
    let _ = other;
}

#[test]
fn tags_and_call_ids_follow_the_seed() {
    let mut a = endpoint("192.0.2.1:5060", 42);
    let mut b = endpoint("192.0.2.1:5060", 42);
    assert_eq!(a.new_tag(), b.new_tag());
    assert_eq!(a.new_call_id(), b.new_call_id());
    assert_ne!(a.new_tag(), a.new_tag());
    assert!(a.new_call_id().len() >= 16);
}

#[test]
fn a_tagless_487_after_cancel_reuses_the_tag_of_the_200_to_cancel() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    ep.handle_bytes(
        t0,
        udp(PHONE),
        wire_request("INVITE", VIA_RPORT, 1, None).as_bytes(),
    );
    transmits(&mut ep);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.handle_bytes(
        t0 + ms(5),
        udp(PHONE),
        wire_request("CANCEL", VIA_RPORT, 1, None).as_bytes(),
    );
    let ok = response(&transmits(&mut ep)[0].bytes);
    let cancel_tag = ok.headers.to().unwrap().tag().map(str::to_string);
    assert!(cancel_tag.is_some());
    ep.respond(
        t0 + ms(6),
        tx,
        sip::message::Response::for_request(&req, 487),
    );
    let terminated = response(&transmits(&mut ep)[0].bytes);
    assert_eq!(terminated.status, 487);
    assert_eq!(
        terminated.headers.to().unwrap().tag().map(str::to_string),
        cancel_tag
    );
}

#[test]
fn respond_adds_a_missing_to_tag_except_to_100() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    ep.handle_bytes(
        t0,
        udp(PHONE),
        wire_request("INVITE", VIA_RPORT, 1, None).as_bytes(),
    );
    transmits(&mut ep);
    let Some(Event::Request { tx, req, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.respond(t0, tx, sip::message::Response::for_request(&req, 100));
    let trying = response(&transmits(&mut ep)[0].bytes);
    assert_eq!(trying.headers.to().unwrap().tag(), None);
    ep.respond(t0, tx, sip::message::Response::for_request(&req, 180));
    let ringing = response(&transmits(&mut ep)[0].bytes);
    let tag = ringing.headers.to().unwrap().tag().map(str::to_string);
    assert!(tag.is_some());
    ep.respond(t0, tx, sip::message::Response::for_request(&req, 486));
    let busy = response(&transmits(&mut ep)[0].bytes);
    assert_eq!(
        busy.headers.to().unwrap().tag().map(str::to_string),
        tag,
        "one tag per transaction"
    );
}

#[test]
fn forgotten_and_abandoned_requests_leave_nothing_behind() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let invite = wire_request("INVITE", VIA_RPORT, 1, None);
    ep.handle_bytes(t0, udp(PHONE), invite.as_bytes());
    let Some(Event::Request { tx, .. }) = ep.poll_event() else {
        panic!("expected the INVITE")
    };
    ep.forget(tx);
    assert_eq!(ep.transaction_count(), (0, 0));
    ep.handle_bytes(t0 + ms(500), udp(PHONE), invite.as_bytes());
    assert!(
        matches!(events(&mut ep)[..], [Event::Request { .. }]),
        "a new transaction"
    );
    let options = wire_request(
        "OPTIONS",
        "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKo",
        1,
        None,
    );
    ep.handle_bytes(t0 + ms(600), udp(PHONE), options.as_bytes());
    assert_eq!(ep.transaction_count(), (2, 0));
    // The unanswered OPTIONS goes away after 64*T1; the INVITE waits for its TU.
    run_timers(&mut ep, t0 + Duration::from_secs(40));
    assert_eq!(ep.transaction_count(), (1, 0));
}

#[test]
fn the_100_trying_echoes_the_timestamp() {
    let t0 = t0();
    let mut ep = endpoint("192.0.2.1:5060", 1);
    let invite = wire_request("INVITE", VIA_RPORT, 1, None).replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nTimestamp: 54.7 0.1\r\n",
    );
    ep.handle_bytes(t0, udp(PHONE), invite.as_bytes());
    let trying = response(&transmits(&mut ep)[0].bytes);
    assert_eq!(trying.status, 100);
    assert_eq!(trying.headers.get("Timestamp"), Some("54.7 0.1"));
    assert_eq!(trying.headers.get("Server"), Some("Switchboard"));
    assert_eq!(trying.headers.to().unwrap().tag(), None);
}
