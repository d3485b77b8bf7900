//! Codec choice across the two legs of a call: the callee is offered the
//! caller's codecs first (relayed untouched) and then the admin's others
//! (transcoded by the media engine), so a wideband-only softphone reaches a
//! G.711-only desk phone.

mod support;

use pbx::sdp::{Codec, parse_audio};
use support::{World, plan_from_str, repo_root};

fn world_preferring(codecs: &str) -> World {
    let text = std::fs::read_to_string(repo_root().join("dialplan/default.yaml")).unwrap();
    let text = text.replace("  codecs: [PCMU, PCMA]", &format!("  codecs: [{codecs}]"));
    assert!(text.contains(codecs), "the demo plan names its codecs");
    let (plan, prompts) = plan_from_str(&text);
    World::new(plan, prompts)
}

fn g722_only(rtp: std::net::SocketAddr) -> Vec<u8> {
    format!(
        "v=0\r\no=soft 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
    .into_bytes()
}

#[test]
fn a_g722_only_caller_reaches_a_g711_phone_through_transcoding() {
    let mut w = world_preferring("G722, PCMU, PCMA");
    let soft = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(soft);
    let desk = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(desk);
    let rtp = w.rtp_of(soft);
    w.set_offer(soft, g722_only(rtp));
    let call = w.call(soft, "202");
    let inc = w.expect_invite(desk);
    let offered = parse_audio(&inc.req.body).expect("SDP offer to 202");
    assert_eq!(
        offered.codecs,
        [Codec::G722, Codec::Pcmu, Codec::Pcma],
        "the caller's codec first, then the admin's others"
    );
    // The desk phone only speaks G.711: its answer (PCMU first) is accepted.
    w.answer(&inc);
    w.expect_ack(desk);
    let ok = w.take_final(soft, call.tx);
    assert_eq!(ok.status, 200);
    let answer = parse_audio(&ok.body).expect("SDP answer to 201");
    assert_eq!(
        answer.codecs,
        [Codec::G722],
        "the caller keeps its wideband codec"
    );
    w.ack(&call, &ok);
}

#[test]
fn a_codec_both_sides_share_is_kept_so_packets_relay_untouched() {
    let mut w = world_preferring("PCMA, PCMU");
    let a = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(a);
    let b = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(b);
    let call = w.call(a, "202");
    let inc = w.expect_invite(b);
    let offered = parse_audio(&inc.req.body).unwrap();
    assert_eq!(offered.codecs, [Codec::Pcma, Codec::Pcmu]);
    w.answer(&inc);
    let ok = w.take_final(a, call.tx);
    // 202 answered with PCMU (its first codec), which 201 also offered: 201 gets PCMU too.
    assert_eq!(parse_audio(&ok.body).unwrap().codecs, [Codec::Pcmu]);
}

fn audio_and_video(rtp: std::net::SocketAddr, audio_profile: &str) -> Vec<u8> {
    format!(
        "v=0\r\no=linphone 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} {audio_profile} 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
m=video {video} RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\n",
        ip = rtp.ip(),
        port = rtp.port(),
        video = rtp.port() + 2,
    )
    .into_bytes()
}

#[test]
fn a_caller_with_video_gets_audio_and_a_refused_video_line_in_order() {
    let mut w = world_preferring("PCMU, PCMA");
    let a = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(a);
    let b = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(b);
    let rtp = w.rtp_of(a);
    w.set_offer(a, audio_and_video(rtp, "RTP/AVP"));
    let call = w.call(a, "202");
    let inc = w.expect_invite(b);
    let offered = String::from_utf8(inc.req.body.clone()).unwrap();
    assert_eq!(
        offered.matches("\r\nm=").count(),
        1,
        "the callee is offered audio only"
    );
    w.answer(&inc);
    let ok = w.take_final(a, call.tx);
    assert_eq!(ok.status, 200);
    let body = String::from_utf8(ok.body.clone()).unwrap();
    let m: Vec<&str> = body.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(m.len(), 2, "{body}");
    assert!(
        m[0].starts_with("m=audio ") && m[0].contains(" RTP/AVP 0"),
        "{body}"
    );
    assert!(!m[0].starts_with("m=audio 0 "), "{body}");
    assert_eq!(m[1], "m=video 0 RTP/AVP 96 97", "{body}");
    assert_eq!(parse_audio(&ok.body).unwrap().codecs, [Codec::Pcmu]);
}

#[test]
fn a_caller_offering_only_srtp_audio_gets_488_saying_so() {
    let mut w = world_preferring("PCMU, PCMA");
    let a = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(a);
    let b = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(b);
    let rtp = w.rtp_of(a);
    w.set_offer(a, audio_and_video(rtp, "RTP/SAVP"));
    let call = w.call(a, "202");
    let refusal = w.take_final(a, call.tx);
    assert_eq!(refusal.status, 488);
    assert!(refusal.reason.contains("SRTP"), "{}", refusal.reason);
}
