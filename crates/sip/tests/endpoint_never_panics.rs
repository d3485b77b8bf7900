//! Property tests: whatever bytes arrive and whatever the TU does, in any
//! order and at any time, the endpoint does not panic and keeps its
//! invariants (deadlines never in the past after `handle_timeout`, finished
//! transactions forgotten).

#[path = "endpoint_support.rs"]
mod support;

use proptest::prelude::*;
use sip::endpoint::{Endpoint, Event, ServerTxId};
use sip::message::Response;
use std::time::Duration;
use support::*;

/// Valid messages to start mutating from.
fn seeds() -> Vec<Vec<u8>> {
    let via = "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKfz;rport";
    let mut out: Vec<Vec<u8>> = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"]
        .iter()
        .map(|m| wire_request(m, via, 1, None).into_bytes())
        .collect();
    out.push(wire_request("ACK", via, 1, Some("t")).into_bytes());
    out.push(wire_request("INVITE", "SIP/2.0/UDP 10.0.0.1:5062", 2, None).into_bytes());
    let invite = request(&out[0]);
    for status in [100, 180, 200, 486] {
        out.push(reply(&invite, status, "t").to_bytes());
    }
    out
}

/// One mutation: overwrite, insert or delete a byte, or truncate.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (
            any::<usize>(),
            prop::sample::select(b": ;,<>\r\n\"=@0".to_vec())
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match *e {
            Edit::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Edit::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

/// A step of a random session.
#[derive(Debug, Clone)]
enum Step {
    Bytes(usize, Vec<Edit>, bool),
    Respond(u16),
    Timeout(u16),
    SendInvite,
    Cancel,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<usize>(), prop::collection::vec(edit(), 0..6), any::<bool>())
            .prop_map(|(s, e, tcp)| Step::Bytes(s, e, tcp)),
        2 => (100u16..700).prop_map(Step::Respond),
        2 => any::<u16>().prop_map(Step::Timeout),
        1 => Just(Step::SendInvite),
        1 => Just(Step::Cancel),
    ]
}

fn run(steps: &[Step]) {
    let seeds = seeds();
    let t0 = t0();
    let mut now = t0;
    let mut ep: Endpoint = endpoint("192.0.2.1:5060", 3);
    let mut server_txs: Vec<(ServerTxId, sip::message::Request)> = Vec::new();
    let mut client_txs = Vec::new();
    for s in steps {
        match s {
            Step::Bytes(i, edits, tcp) => {
                let bytes = apply(seeds[i % seeds.len()].clone(), edits);
                let from = if *tcp {
                    support::tcp("10.0.0.1:40000", 1)
                } else {
                    udp("10.0.0.1:40000")
                };
                ep.handle_bytes(now, from, &bytes);
            }
            Step::Respond(status) => {
                if let Some((tx, req)) = server_txs.last() {
                    let resp: Response = reply(req, *status, "x");
                    ep.respond(now, *tx, resp);
                }
            }
            Step::Timeout(ms) => {
                now += Duration::from_millis(u64::from(*ms) * 10);
                ep.handle_timeout(now);
                if let Some(next) = ep.poll_timeout() {
                    assert!(
                        next > now,
                        "a deadline at or before now survived handle_timeout"
                    );
                }
            }
            Step::SendInvite => {
                let req = tu_request("INVITE", "fz-call", 1);
                client_txs.push(ep.send_request(now, req, udp("10.0.0.1:5062")));
            }
            Step::Cancel => {
                if let Some(tx) = client_txs.last() {
                    let _ = ep.cancel(now, *tx);
                }
            }
        }
        while ep.poll_transmit().is_some() {}
        while let Some(ev) = ep.poll_event() {
            if let Event::Request { tx, req, .. } = ev {
                server_txs.push((tx, req));
            }
        }
    }
    // Given enough time every client transaction ends (Timer B/F, D, K, M),
    // and so does every timer: server INVITE transactions still waiting for
    // the TU's final response have none.
    now += Duration::from_secs(3600);
    ep.handle_timeout(now);
    assert_eq!(
        ep.transaction_count().1,
        0,
        "client transactions outlived an hour"
    );
    assert_eq!(ep.poll_timeout(), None, "timers outlived an hour");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_sessions_never_panic(steps in prop::collection::vec(step(), 1..40)) {
        run(&steps);
    }
}

#[test]
fn every_prefix_of_every_seed_is_handled() {
    let t0 = t0();
    for seed in seeds() {
        let mut ep = endpoint("192.0.2.1:5060", 1);
        for len in 0..=seed.len() {
            ep.handle_bytes(t0, udp("10.0.0.1:40000"), &seed[..len]);
        }
    }
}
