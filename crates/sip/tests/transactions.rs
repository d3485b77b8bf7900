//! Transcript tests of the four transaction state machines: every line is
//! `time_ms input => outputs [State]`, run against the machine on a clock
//! advanced by hand. A `timer` line also asserts that the machine's next
//! deadline is exactly that time, so each transcript pins the RFC 3261
//! timer schedule as well as the transitions.
//!
//! Inputs: `recv <status>` (client: a response; `recv req` for a server: a
//! retransmitted request; `recv ack`), `tu <status>` (server: the TU
//! responds), `timer`, `terr` (transport error), `cancel` (client INVITE:
//! a CANCEL was sent). Outputs: `send`, `resend`, `up`, `absorbed`,
//! `timeout`, `acktimeout`, `terr`; `-` for none; `idle` after the state
//! means no timer is armed.

#[path = "endpoint_support.rs"]
mod support;

use sip::message::Request;
use sip::transaction::client_invite::ClientInvite;
use sip::transaction::client_non_invite::ClientNonInvite;
use sip::transaction::server_invite::ServerInvite;
use sip::transaction::server_non_invite::ServerNonInvite;
use sip::transaction::{Action, TimerConfig};
use std::time::{Duration, Instant};
use support::*;

enum Machine {
    InviteClient(Box<ClientInvite>),
    NonInviteClient(ClientNonInvite),
    InviteServer(ServerInvite),
    NonInviteServer(ServerNonInvite),
}

fn invite() -> Request {
    let mut r = tu_request("INVITE", "tx-call", 1);
    r.headers
        .push_front("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKtx");
    r
}

impl Machine {
    fn start(kind: &str, reliable: bool, t0: Instant) -> (Machine, Action) {
        let c = TimerConfig::default();
        match kind {
            "client-invite" => {
                let (m, a) = ClientInvite::new(t0, invite(), reliable, c);
                (Machine::InviteClient(Box::new(m)), a)
            }
            "client-non-invite" => {
                let (m, a) = ClientNonInvite::new(t0, b"OPTIONS".to_vec(), reliable, c);
                (Machine::NonInviteClient(m), a)
            }
            "server-invite" => {
                let (m, a) = ServerInvite::new(b"100".to_vec(), reliable, c);
                (Machine::InviteServer(m), a)
            }
            "server-non-invite" => (
                Machine::NonInviteServer(ServerNonInvite::new(t0, reliable, c)),
                Action::Absorbed,
            ),
            other => panic!("unknown machine {other}"),
        }
    }

    fn state(&self) -> String {
        let full = match self {
            Machine::InviteClient(m) => format!("{:?}", m.state()),
            Machine::NonInviteClient(m) => format!("{:?}", m.state()),
            Machine::InviteServer(m) => format!("{:?}", m.state()),
            Machine::NonInviteServer(m) => format!("{:?}", m.state()),
        };
        full.split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_string()
    }

    fn next_deadline(&self) -> Option<Instant> {
        match self {
            Machine::InviteClient(m) => m.next_deadline(),
            Machine::NonInviteClient(m) => m.next_deadline(),
            Machine::InviteServer(m) => m.next_deadline(),
            Machine::NonInviteServer(m) => m.next_deadline(),
        }
    }

    fn input(&mut self, now: Instant, input: &str) -> Vec<Action> {
        let words: Vec<&str> = input.split_whitespace().collect();
        let status = || -> u16 {
            words
                .get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("expected a status in `{input}`"))
        };
        match (self, words[0]) {
            (Machine::InviteClient(m), "recv") => {
                m.on_response(now, &reply(m.request(), status(), "t"))
            }
            (Machine::NonInviteClient(m), "recv") => m.on_response(now, status()),
            (Machine::InviteServer(m), "recv") if words[1] == "ack" => m.on_ack(now),
            (Machine::InviteServer(m), "recv") => m.on_invite_retransmission(),
            (Machine::NonInviteServer(m), "recv") => m.on_retransmission(),
            (Machine::InviteServer(m), "tu") => m.on_tu_response(now, status(), vec![1]),
            (Machine::NonInviteServer(m), "tu") => m.on_tu_response(now, status(), vec![1]),
            (Machine::InviteClient(m), "timer") => m.on_timer(now),
            (Machine::NonInviteClient(m), "timer") => m.on_timer(now),
            (Machine::InviteServer(m), "timer") => m.on_timer(now),
            (Machine::NonInviteServer(m), "timer") => m.on_timer(now),
            (Machine::InviteClient(m), "terr") => m.on_transport_error(),
            (Machine::NonInviteClient(m), "terr") => m.on_transport_error(),
            (Machine::InviteServer(m), "terr") => m.on_transport_error(),
            (Machine::NonInviteServer(m), "terr") => m.on_transport_error(),
            (Machine::InviteClient(m), "cancel") => {
                m.on_cancel_sent(now);
                Vec::new()
            }
            (_, other) => panic!("input `{other}` does not apply to this machine"),
        }
    }
}

fn name(a: &Action) -> &'static str {
    match a {
        Action::Send(_) => "send",
        Action::Retransmit(_) => "resend",
        Action::PassUp => "up",
        Action::Absorbed => "absorbed",
        Action::Timeout => "timeout",
        Action::AckTimeout => "acktimeout",
        Action::TransportError => "terr",
    }
}

/// Runs a transcript. The first line names the machine and transport.
fn check(transcript: &str) {
    let t0 = t0();
    let mut lines = transcript
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header = lines.next().expect("a header line");
    let (kind, transport) = header.split_once(' ').expect("`machine udp|tcp`");
    let (mut m, _) = Machine::start(kind, transport == "tcp", t0);
    for line in lines {
        let (lhs, rhs) = line.split_once("=>").expect("`input => outputs State`");
        let (ms, input) = lhs.trim().split_once(' ').expect("`ms input`");
        let now = t0 + Duration::from_millis(ms.parse().expect("a time in ms"));
        if input.trim() == "timer" {
            assert_eq!(
                m.next_deadline().map(|d| (d - t0).as_millis()),
                Some(now.duration_since(t0).as_millis()),
                "{header}: `{line}`: the next deadline differs"
            );
        }
        let actions = m.input(now, input.trim());
        let mut got: Vec<String> = actions.iter().map(|a| name(a).to_string()).collect();
        if got.is_empty() {
            got.push("-".into());
        }
        got.push(m.state());
        if m.next_deadline().is_none() {
            got.push("idle".into());
        }
        let want: Vec<&str> = rhs.split_whitespace().collect();
        assert_eq!(got, want, "{header}: `{line}`");
    }
}

#[test]
fn client_non_invite_udp_paths() {
    check(
        "client-non-invite udp
        # request lost twice, Timer E doubles
        500 timer => resend Trying
        1500 timer => resend Trying
        1600 recv 100 => up Proceeding
        # in Proceeding Timer E continues at T2
        3500 timer => resend Proceeding
        7500 timer => resend Proceeding
        7600 recv 180 => up Proceeding
        7700 recv 200 => up Completed
        # the final response retransmitted: absorbed until Timer K (T4)
        7800 recv 200 => absorbed Completed
        12700 timer => - Terminated idle",
    );
    check(
        "client-non-invite udp
        100 recv 404 => up Completed
        5100 timer => - Terminated idle",
    );
    check(
        "client-non-invite udp
        500 timer => resend Trying
        600 recv 100 => up Proceeding
        # no final response: Timer F at 64*T1
        1500 timer => resend Proceeding
        5500 timer => resend Proceeding
        9500 timer => resend Proceeding
        13500 timer => resend Proceeding
        17500 timer => resend Proceeding
        21500 timer => resend Proceeding
        25500 timer => resend Proceeding
        29500 timer => resend Proceeding
        32000 timer => timeout Terminated idle",
    );
    check(
        "client-non-invite udp
        10 terr => terr Terminated idle",
    );
}

#[test]
fn client_non_invite_tcp_paths() {
    check(
        "client-non-invite tcp
        # no Timer E on TCP; Timer F still guards; Timer K is zero
        32000 timer => timeout Terminated idle",
    );
    check(
        "client-non-invite tcp
        10 recv 100 => up Proceeding
        20 recv 200 => up Terminated idle",
    );
}

#[test]
fn client_invite_udp_paths() {
    check(
        "client-invite udp
        # INVITE lost: Timer A doubles without cap
        500 timer => resend Calling
        1500 timer => resend Calling
        3500 timer => resend Calling
        3600 recv 100 => up Proceeding idle
        3700 recv 180 => up Proceeding idle
        3800 recv 486 => send up Completed
        # our ACK was lost: the retransmitted 486 gets the stored ACK
        4300 recv 486 => resend absorbed Completed
        4400 recv 180 => absorbed Completed
        35800 timer => - Terminated idle",
    );
    check(
        "client-invite udp
        # final response without provisional
        100 recv 603 => send up Completed
        32100 timer => - Terminated idle",
    );
    check(
        "client-invite udp
        100 recv 180 => up Proceeding idle
        200 recv 200 => up Accepted
        # RFC 6026: 2xx retransmissions go to the TU until Timer M
        700 recv 200 => up Accepted
        800 recv 486 => absorbed Accepted
        32200 timer => - Terminated idle",
    );
    check(
        "client-invite udp
        500 timer => resend Calling
        1500 timer => resend Calling
        3500 timer => resend Calling
        7500 timer => resend Calling
        15500 timer => resend Calling
        31500 timer => resend Calling
        32000 timer => timeout Terminated idle",
    );
    check(
        "client-invite udp
        100 recv 180 => up Proceeding idle
        # CANCEL sent, the UAS never answers: gone after 64*T1
        200 cancel => - Proceeding
        32200 timer => timeout Terminated idle",
    );
    check(
        "client-invite udp
        50 terr => terr Terminated idle",
    );
}

#[test]
fn client_invite_tcp_paths() {
    check(
        "client-invite tcp
        32000 timer => timeout Terminated idle",
    );
    check(
        "client-invite tcp
        10 recv 486 => send up Terminated idle",
    );
}

#[test]
fn server_non_invite_paths() {
    check(
        "server-non-invite udp
        # retransmissions before the TU answers are absorbed
        0 recv req => absorbed Trying
        10 tu 100 => send Proceeding
        20 recv req => resend absorbed Proceeding
        30 tu 200 => send Completed
        # our response was lost: the retransmitted request gets it again
        40 recv req => resend absorbed Completed
        50 tu 500 => - Completed
        32030 timer => - Terminated idle",
    );
    check(
        "server-non-invite tcp
        10 tu 200 => send Terminated idle",
    );
    check(
        "server-non-invite udp
        10 tu 100 => send Proceeding
        20 terr => terr Terminated idle",
    );
    check(
        "server-non-invite udp
        # the TU never sends a final response: forgotten when the client's Timer F has fired
        10 tu 100 => send Proceeding
        32000 timer => - Terminated idle",
    );
    check(
        "server-non-invite tcp
        32000 timer => - Terminated idle",
    );
}

#[test]
fn server_invite_udp_paths() {
    check(
        "server-invite udp
        # the INVITE retransmitted before the TU answers gets the 100 again
        0 recv req => resend absorbed Proceeding idle
        10 tu 180 => send Proceeding idle
        20 recv req => resend absorbed Proceeding idle
        30 tu 486 => send Completed
        # the 486 or its ACK was lost: Timer G doubles up to T2
        530 timer => resend Completed
        1530 timer => resend Completed
        1600 recv req => resend absorbed Completed
        3530 timer => resend Completed
        7530 timer => resend Completed
        11530 timer => resend Completed
        11600 recv ack => absorbed Confirmed
        # ACK retransmissions absorbed until Timer I (T4)
        11700 recv ack => absorbed Confirmed
        16600 timer => - Terminated idle",
    );
    check(
        "server-invite udp
        10 tu 404 => send Completed
        510 timer => resend Completed
        1510 timer => resend Completed
        3510 timer => resend Completed
        7510 timer => resend Completed
        11510 timer => resend Completed
        15510 timer => resend Completed
        19510 timer => resend Completed
        23510 timer => resend Completed
        27510 timer => resend Completed
        31510 timer => resend Completed
        # no ACK: Timer H at 64*T1
        32010 timer => acktimeout Terminated idle",
    );
    check(
        "server-invite udp
        10 tu 200 => send Accepted
        # RFC 6026 Accepted: INVITE copies absorbed, the 2xx resent until the ACK
        20 recv req => absorbed Accepted
        510 timer => resend Accepted
        1510 timer => resend Accepted
        1600 recv ack => up Accepted
        1700 recv ack => up Accepted
        1800 tu 200 => send Accepted
        1900 tu 486 => - Accepted
        32010 timer => - Terminated idle",
    );
    check(
        "server-invite udp
        0 recv ack => absorbed Proceeding idle
        10 tu 200 => send Accepted
        510 timer => resend Accepted
        1510 timer => resend Accepted
        3510 timer => resend Accepted
        7510 timer => resend Accepted
        11510 timer => resend Accepted
        15510 timer => resend Accepted
        19510 timer => resend Accepted
        23510 timer => resend Accepted
        27510 timer => resend Accepted
        31510 timer => resend Accepted
        32010 timer => acktimeout Terminated idle",
    );
}

#[test]
fn server_invite_tcp_paths() {
    check(
        "server-invite tcp
        10 tu 486 => send Completed
        # no Timer G on TCP; the ACK ends the transaction at once (Timer I is zero)
        20 recv ack => absorbed Terminated idle",
    );
    check(
        "server-invite tcp
        10 tu 480 => send Completed
        32010 timer => acktimeout Terminated idle",
    );
    check(
        "server-invite tcp
        10 tu 180 => send Proceeding idle
        20 terr => terr Terminated idle",
    );
}
