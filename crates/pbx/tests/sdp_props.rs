//! Property tests of the SDP reader and writer: no offer makes the reader
//! panic, and an answer to any offer we accept keeps every offered m= line,
//! in order, with its media type and transport profile, only our audio stream
//! with a port and the others refused with port 0 (RFC 3264 §6).

use pbx::sdp::{Codec, Direction, LocalDescription, parse_audio};
use proptest::prelude::*;

/// One offered m= line: media type, port, profile, formats.
fn m_line() -> impl Strategy<Value = (String, u16, String, Vec<u8>)> {
    (
        prop::sample::select(vec!["audio", "video", "application", "text", "x-foo"]),
        1u16..65535,
        prop::sample::select(vec![
            "RTP/AVP",
            "RTP/AVPF",
            "RTP/SAVP",
            "RTP/SAVPF",
            "UDP/TLS/RTP/SAVPF",
            "TCP",
        ]),
        prop::collection::vec(
            prop::sample::select(vec![0u8, 8, 9, 18, 96, 101, 110]),
            1..5,
        ),
    )
        .prop_map(|(m, p, proto, f)| (m.to_string(), p, proto.to_string(), f))
}

fn offer(lines: &[(String, u16, String, Vec<u8>)]) -> String {
    let mut s =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n".to_string();
    for (media, port, proto, formats) in lines {
        let formats: Vec<String> = formats.iter().map(u8::to_string).collect();
        s.push_str(&format!(
            "m={media} {port} {proto} {}\r\n",
            formats.join(" ")
        ));
        s.push_str("a=rtpmap:101 telephone-event/8000\r\n");
    }
    s
}

fn m_lines(sdp: &str) -> Vec<Vec<String>> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("m="))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

proptest! {
    #[test]
    fn the_answer_has_as_many_m_lines_as_the_offer(
        lines in prop::collection::vec(m_line(), 1..6),
    ) {
        let text = offer(&lines);
        let Ok(o) = parse_audio(text.as_bytes()) else {
            // Refused (488): the first plain-RTP audio stream, if any, has no codec we relay.
            let first_plain_audio = lines
                .iter()
                .find(|(m, _, p, _)| m == "audio" && (p == "RTP/AVP" || p == "RTP/AVPF"));
            prop_assert!(
                first_plain_audio.is_none_or(|(_, _, _, f)| !f.iter().any(|pt| [0, 8, 9].contains(pt))),
                "refused {}",
                text
            );
            return Ok(());
        };
        let answer = LocalDescription {
            addr: "192.0.2.1".parse().unwrap(),
            port: 20000,
            codecs: vec![o.codecs.first().copied().unwrap_or(Codec::Pcmu)],
            telephone_event: o.telephone_event,
            direction: Direction::SendRecv,
            session_id: 1,
            version: 1,
            ptime: None,
            answering: Some(o.layout.clone()),
        };
        let answer = String::from_utf8(answer.to_sdp()).unwrap();
        let answered = m_lines(&answer);
        let offered = m_lines(&text);
        prop_assert_eq!(answered.len(), offered.len(), "{}", answer);
        for (i, (a, off)) in answered.iter().zip(&offered).enumerate() {
            prop_assert_eq!(&a[0], &off[0], "media type of line {}", i);
            prop_assert_eq!(&a[2], &off[2], "profile of line {}", i);
            if i == o.layout.audio {
                prop_assert_eq!(a[1].as_str(), "20000");
                prop_assert_eq!(a[0].as_str(), "audio");
                prop_assert!(a[2] == "RTP/AVP" || a[2] == "RTP/AVPF");
            } else {
                prop_assert_eq!(a[1].as_str(), "0", "line {} refused", i);
                prop_assert_eq!(&a[3..], &off[3..], "formats of line {} echoed", i);
            }
        }
        // Our answer reads back as the same audio stream.
        let back = parse_audio(answer.as_bytes()).unwrap();
        prop_assert_eq!(back.layout.audio, o.layout.audio);
        prop_assert_eq!(back.rtp, Some("192.0.2.1:20000".parse().unwrap()));
    }

    #[test]
    fn the_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut text = b"v=0\r\n".to_vec();
        text.extend_from_slice(&bytes);
        let _ = parse_audio(&text);
    }
}
