//! The small part of SDP (RFC 4566) a media-anchoring B2BUA needs: read the
//! audio stream's address, port, payload types and direction, and write the
//! same description back with our own address and port, keeping only the
//! codecs we can relay, in the admin's order (RFC 3264 offer/answer).
//!
//! An answer keeps every m= line of the offer, in order (RFC 3264 §6): the
//! audio stream we take is answered with the offer's transport profile
//! (`RTP/AVP` or `RTP/AVPF`), every other one (video, a second audio,
//! unknown media) is refused with port 0 and its format list echoed.
//!
//! The codecs are PCMU (PT 0), PCMA (PT 8) and G.722 (PT 9, `G722/8000`: its
//! RTP clock is 8000 although its audio is 16 kHz, RFC 3551 §4.5.2), each
//! written with its static payload type.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

pub use media::CodecKind as Codec;

/// The static RTP payload type of a codec.
pub fn payload_type(c: Codec) -> u8 {
    media_codec(c).payload_type
}

/// The rtpmap encoding name.
pub fn encoding_name(c: Codec) -> &'static str {
    media_codec(c).encoding_name()
}

/// Parses an admin's codec name (case-insensitive): PCMU/G711U/ULAW,
/// PCMA/G711A/ALAW, G722/G.722. `None` for codecs the PBX cannot relay.
pub fn codec_from_name(name: &str) -> Option<Codec> {
    match name.to_ascii_uppercase().as_str() {
        "PCMU" | "G711U" | "ULAW" => Some(Codec::Pcmu),
        "PCMA" | "G711A" | "ALAW" => Some(Codec::Pcma),
        "G722" | "G.722" => Some(Codec::G722),
        _ => None,
    }
}

/// The media engine's codec value (with its static payload type) for a
/// negotiated codec.
pub fn media_codec(c: Codec) -> media::Codec {
    match c {
        Codec::Pcmu => media::Codec::pcmu(),
        Codec::Pcma => media::Codec::pcma(),
        Codec::G722 => media::Codec::g722(),
    }
}

/// A media line's direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// a=sendrecv (the default)
    SendRecv,
    /// a=sendonly
    SendOnly,
    /// a=recvonly
    RecvOnly,
    /// a=inactive
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// The audio part of a session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioOffer {
    /// Where the peer wants to receive RTP (`None` when the address is 0.0.0.0, an old-style hold).
    pub rtp: Option<SocketAddr>,
    /// Codecs the peer listed that we support, in the peer's order.
    pub codecs: Vec<Codec>,
    /// The telephone-event payload type, if offered.
    pub telephone_event: Option<u8>,
    /// The direction.
    pub direction: Direction,
    /// The ptime attribute, if present.
    pub ptime: Option<u32>,
    /// Every m= line as written, and which one is the audio stream read here.
    pub layout: Layout,
}

/// One m= line as written: media type, port, transport profile, format list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// `audio`, `video`, `application`, …
    pub media: String,
    /// The port (without a `/count`).
    pub port: u16,
    /// The transport profile, e.g. `RTP/AVP`.
    pub proto: String,
    /// The format list, space-separated, as written.
    pub formats: String,
}

/// The m= lines of a description and the index of the audio stream we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Every m= line in order.
    pub lines: Vec<MediaLine>,
    /// The index in `lines` of the audio stream we take.
    pub audio: usize,
}

/// The transport profiles we can serve: plain RTP (RFC 3551), with or
/// without the feedback profile (RFC 4585), not SRTP.
fn plain_rtp(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")
}

/// Why a session description cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpError {
    /// The text is not SDP: expected/found detail.
    Malformed(String),
    /// No audio stream, or none with a codec we support (answer 488).
    NoCommonCodec(String),
    /// The only audio is secure RTP (`RTP/SAVP`, `RTP/SAVPF`), which we do
    /// not serve (answer 488).
    SecureOnly(String),
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::Malformed(d) => write!(f, "malformed SDP: {d}"),
            SdpError::NoCommonCodec(d) => write!(f, "no common codec: {d}"),
            SdpError::SecureOnly(d) => write!(f, "SRTP only: {d}"),
        }
    }
}

impl std::error::Error for SdpError {}

/// Reads the first audio stream of an SDP body.
pub fn parse_audio(body: &[u8]) -> Result<AudioOffer, SdpError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| SdpError::Malformed("expected UTF-8 text, found binary data".into()))?;
    if !text.trim_start().starts_with("v=") {
        return Err(SdpError::Malformed(format!(
            "expected `v=0` first, found `{}`",
            text.lines().next().unwrap_or("")
        )));
    }
    let mut scan = Scan::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => scan.media(value)?,
            "c" => scan.connection(value)?,
            "a" => scan.attribute(value),
            _ => {}
        }
    }
    let Some(port) = scan.port else {
        if let Some(l) = scan.lines.iter().find(|l| l.media == "audio") {
            return Err(SdpError::SecureOnly(format!(
                "expected an RTP/AVP audio stream, found only {}",
                l.proto
            )));
        }
        return Err(SdpError::NoCommonCodec(
            "expected an m=audio line, found none".into(),
        ));
    };
    let (codecs, telephone_event) = payloads(&scan.pts, &scan.rtpmap);
    let addr = scan.media_addr.or(scan.session_addr);
    let rtp = match addr {
        Some(ip) if !ip.is_unspecified() && port != 0 => Some(SocketAddr::new(ip, port)),
        _ => None,
    };
    if codecs.is_empty() && port != 0 {
        return Err(SdpError::NoCommonCodec(format!(
            "expected PCMU, PCMA or G722 among payload types {:?}",
            scan.pts
        )));
    }
    Ok(AudioOffer {
        rtp,
        codecs,
        telephone_event,
        direction: scan.direction.unwrap_or(Direction::SendRecv),
        ptime: scan.ptime,
        layout: Layout {
            lines: scan.lines,
            audio: scan.audio_index,
        },
    })
}

/// What [`parse_audio`] has read so far: the session's and the first plain-RTP audio
/// stream's lines (other m= sections are only recorded as m= lines).
#[derive(Default)]
struct Scan {
    session_addr: Option<IpAddr>,
    media_addr: Option<IpAddr>,
    /// Inside the audio section we take.
    in_audio: bool,
    seen_audio: bool,
    /// Every m= line so far.
    lines: Vec<MediaLine>,
    /// The index of the audio stream we take in `lines`.
    audio_index: usize,
    port: Option<u16>,
    pts: Vec<u8>,
    rtpmap: Vec<(u8, String)>,
    /// The audio stream's direction (a session-level one applies until it says its own).
    direction: Option<Direction>,
    ptime: Option<u32>,
}

impl Scan {
    /// An m= line: recorded; the first plain-RTP audio stream's port and payload types kept.
    fn media(&mut self, value: &str) -> Result<(), SdpError> {
        let mut f = value.split_whitespace();
        let media = f.next().unwrap_or("").to_string();
        let p = f.next().unwrap_or("");
        let port = p.split('/').next().unwrap_or("").parse::<u16>();
        let proto = f.next().unwrap_or("").to_string();
        let formats: Vec<&str> = f.collect();
        self.in_audio = !self.seen_audio && media == "audio" && plain_rtp(&proto);
        // Only the stream we take must have a readable port; the others are refused anyway.
        let port = match port {
            Ok(port) => port,
            Err(_) if !self.in_audio => 0,
            Err(_) => {
                return Err(SdpError::Malformed(format!(
                    "expected an m= port, found `{p}`"
                )));
            }
        };
        if self.in_audio {
            self.seen_audio = true;
            self.audio_index = self.lines.len();
            self.port = Some(port);
            self.pts = formats.iter().filter_map(|t| t.parse().ok()).collect();
        }
        self.lines.push(MediaLine {
            media,
            port,
            proto,
            formats: formats.join(" "),
        });
        Ok(())
    }

    /// A c= line, at session level or in the audio stream.
    fn connection(&mut self, value: &str) -> Result<(), SdpError> {
        let addr = value.split_whitespace().nth(2).unwrap_or("");
        let addr = addr.split('/').next().unwrap_or("");
        let ip: IpAddr = addr.parse().map_err(|_| {
            SdpError::Malformed(format!("expected an IP address in c=, found `{addr}`"))
        })?;
        if self.in_audio {
            self.media_addr = Some(ip);
        } else if self.lines.is_empty() {
            self.session_addr = Some(ip);
        }
        Ok(())
    }

    /// An a= line: direction, rtpmap, ptime.
    fn attribute(&mut self, value: &str) {
        let dir = match value {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        };
        if let Some(d) = dir {
            if self.in_audio || self.lines.is_empty() {
                self.direction = Some(d);
            }
        } else if self.in_audio {
            if let Some(rest) = value.strip_prefix("rtpmap:") {
                let mut it = rest.splitn(2, ' ');
                if let (Some(pt), Some(enc)) = (it.next(), it.next())
                    && let Ok(pt) = pt.parse::<u8>()
                {
                    self.rtpmap.push((pt, enc.trim().to_string()));
                }
            } else if let Some(p) = value.strip_prefix("ptime:") {
                self.ptime = p.trim().parse().ok();
            }
        }
    }
}

/// The codecs we support among the payload types (in the peer's order, static types by
/// number, dynamic ones by rtpmap) and the telephone-event payload type.
fn payloads(pts: &[u8], rtpmap: &[(u8, String)]) -> (Vec<Codec>, Option<u8>) {
    let mut codecs = Vec::new();
    let mut telephone_event = None;
    for pt in pts {
        let enc = rtpmap
            .iter()
            .find(|(p, _)| p == pt)
            .map(|(_, e)| e.to_ascii_uppercase());
        match (pt, enc.as_deref()) {
            (0, _) => codecs.push(Codec::Pcmu),
            (8, _) => codecs.push(Codec::Pcma),
            (9, _) => codecs.push(Codec::G722),
            (_, Some(e)) if e.starts_with("PCMU/8000") => codecs.push(Codec::Pcmu),
            (_, Some(e)) if e.starts_with("PCMA/8000") => codecs.push(Codec::Pcma),
            (_, Some(e)) if e.starts_with("G722/8000") => codecs.push(Codec::G722),
            (_, Some(e)) if e.starts_with("TELEPHONE-EVENT/8000") => telephone_event = Some(*pt),
            _ => {}
        }
    }
    codecs.dedup();
    (codecs, telephone_event)
}

/// What we put into an SDP we send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDescription {
    /// Our media address (the public address).
    pub addr: IpAddr,
    /// Our RTP port for this leg.
    pub port: u16,
    /// Codecs in the order to offer (or the single answered codec).
    pub codecs: Vec<Codec>,
    /// The telephone-event payload type to offer/answer, if any.
    pub telephone_event: Option<u8>,
    /// The direction to write.
    pub direction: Direction,
    /// The SDP session id (stable per leg).
    pub session_id: u64,
    /// The SDP version (incremented on each change per RFC 3264 §8).
    pub version: u64,
    /// The ptime to request.
    pub ptime: Option<u32>,
    /// For an answer, the offer's m= lines: the answer keeps them all, in order,
    /// our audio in the offer's audio slot with its profile, the others refused
    /// with port 0 (RFC 3264 §6). `None` for an offer: one `m=audio` `RTP/AVP` line.
    pub answering: Option<Layout>,
}

impl LocalDescription {
    /// Prints the description.
    pub fn to_sdp(&self) -> Vec<u8> {
        let Some(layout) = &self.answering else {
            return self.audio_sdp("RTP/AVP").into_bytes();
        };
        let mut s = self.session_sdp();
        for (i, line) in layout.lines.iter().enumerate() {
            if i == layout.audio {
                s.push_str(&self.audio_section(&line.proto));
            } else {
                let formats = if line.formats.is_empty() {
                    "0"
                } else {
                    &line.formats
                };
                s.push_str(&format!("m={} 0 {} {formats}\r\n", line.media, line.proto));
            }
        }
        if layout.lines.is_empty() {
            s.push_str(&self.audio_section("RTP/AVP"));
        }
        s.into_bytes()
    }

    fn audio_sdp(&self, proto: &str) -> String {
        let mut s = self.session_sdp();
        s.push_str(&self.audio_section(proto));
        s
    }

    /// The session-level lines.
    fn session_sdp(&self) -> String {
        let ip_kind = if self.addr.is_ipv4() { "IP4" } else { "IP6" };
        format!(
            "v=0\r\no=switchboard {} {} IN {ip_kind} {}\r\ns=switchboard\r\nc=IN {ip_kind} {}\r\nt=0 0\r\n",
            self.session_id, self.version, self.addr, self.addr,
        )
    }

    /// Our audio stream: the m= line and its attributes.
    fn audio_section(&self, proto: &str) -> String {
        let mut pts: Vec<String> = self
            .codecs
            .iter()
            .map(|c| payload_type(*c).to_string())
            .collect();
        if let Some(te) = self.telephone_event {
            pts.push(te.to_string());
        }
        let mut s = format!("m=audio {} {proto} {}\r\n", self.port, pts.join(" "));
        for c in &self.codecs {
            s.push_str(&format!(
                "a=rtpmap:{} {}/8000\r\n",
                payload_type(*c),
                encoding_name(*c)
            ));
        }
        if let Some(te) = self.telephone_event {
            s.push_str(&format!(
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
            ));
        }
        if let Some(p) = self.ptime {
            s.push_str(&format!("a=ptime:{p}\r\n"));
        }
        s.push_str(&format!("a={}\r\n", self.direction.attr()));
        s
    }
}

/// Orders `offered` by the admin's `preference`, dropping codecs not in it.
pub fn prefer(offered: &[Codec], preference: &[Codec]) -> Vec<Codec> {
    preference
        .iter()
        .copied()
        .filter(|c| offered.contains(c))
        .collect()
}

/// The codecs to offer a callee for a caller who offered `caller`: the caller's
/// codecs in the admin's order first (so the call can be relayed untouched),
/// then the admin's other codecs, which the media engine transcodes (G.722 ↔
/// G.711, PCMU ↔ PCMA). A G.722-only caller can then reach a G.711-only phone.
pub fn callee_offer(caller: &[Codec], preference: &[Codec]) -> Vec<Codec> {
    let mut codecs = prefer(caller, preference);
    for c in preference {
        if !codecs.contains(c) {
            codecs.push(*c);
        }
    }
    codecs
}

/// The caller's codec once the callee answered `answered` (from
/// [`callee_offer`]): the same codec when the caller offered it (packets relay
/// untouched), else the caller's best codec in the admin's order (transcoded).
/// `None` only when the caller offered nothing the admin allows (488 before).
pub fn caller_codec(caller: &[Codec], preference: &[Codec], answered: Codec) -> Option<Codec> {
    if caller.contains(&answered) && preference.contains(&answered) {
        return Some(answered);
    }
    prefer(caller, preference).first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 10000 RTP/AVP 9 0 8 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n\
m=video 10002 RTP/AVP 96\r\nc=IN IP4 10.9.9.9\r\n";

    #[test]
    fn reads_audio_and_ignores_other_streams() {
        let a = parse_audio(BARESIP.as_bytes()).unwrap();
        assert_eq!(a.rtp, Some("127.0.0.1:10000".parse().unwrap()));
        assert_eq!(a.codecs, vec![Codec::G722, Codec::Pcmu, Codec::Pcma]);
        assert_eq!(a.telephone_event, Some(101));
        assert_eq!(a.ptime, Some(20));
        assert_eq!(
            prefer(&a.codecs, &[Codec::Pcma, Codec::Pcmu]),
            vec![Codec::Pcma, Codec::Pcmu]
        );
    }

    #[test]
    fn hold_forms() {
        let sendonly = BARESIP.replace("a=sendrecv", "a=sendonly");
        assert_eq!(
            parse_audio(sendonly.as_bytes()).unwrap().direction,
            Direction::SendOnly
        );
        let zero = BARESIP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        assert_eq!(parse_audio(zero.as_bytes()).unwrap().rtp, None);
    }

    #[test]
    fn no_common_codec_and_garbage() {
        let opus = BARESIP
            .replace("RTP/AVP 9 0 8 101", "RTP/AVP 96 101")
            .replace("a=rtpmap:9 G722/8000", "a=rtpmap:96 opus/48000/2");
        match parse_audio(opus.as_bytes()) {
            Err(SdpError::NoCommonCodec(d)) => {
                assert!(d.contains("PCMU, PCMA or G722"), "{d}");
                assert!(d.contains("[96, 101]"), "{d}");
            }
            other => panic!("expected no common codec for an opus-only offer, got {other:?}"),
        }
        assert!(matches!(parse_audio(b"hello"), Err(SdpError::Malformed(_))));
    }

    /// Linphone with video on: audio then video.
    const AUDIO_VIDEO: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
m=audio 7078 RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n\
m=video 9078 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\na=sendonly\r\n";

    fn answer_to(offer: &str) -> String {
        let o = parse_audio(offer.as_bytes()).unwrap();
        let d = LocalDescription {
            addr: "192.0.2.1".parse().unwrap(),
            port: 20000,
            codecs: vec![Codec::Pcmu],
            telephone_event: o.telephone_event,
            direction: Direction::SendRecv,
            session_id: 7,
            version: 1,
            ptime: None,
            answering: Some(o.layout),
        };
        String::from_utf8(d.to_sdp()).unwrap()
    }

    fn m_lines(sdp: &str) -> Vec<&str> {
        sdp.lines().filter(|l| l.starts_with("m=")).collect()
    }

    #[test]
    fn an_answer_keeps_every_offered_m_line_and_refuses_video() {
        let o = parse_audio(AUDIO_VIDEO.as_bytes()).unwrap();
        assert_eq!(o.codecs, vec![Codec::Pcmu, Codec::Pcma]);
        assert_eq!(
            o.direction,
            Direction::SendRecv,
            "video's sendonly is its own"
        );
        assert_eq!(o.layout.lines.len(), 2);
        let text = answer_to(AUDIO_VIDEO);
        assert_eq!(
            m_lines(&text),
            vec!["m=audio 20000 RTP/AVP 0 101", "m=video 0 RTP/AVP 96 97"],
            "{text}"
        );
        // Video first, a second audio and an unknown medium after ours.
        let shuffled = "v=0\r\no=- 1 2 IN IP4 10.0.0.9\r\ns=-\r\nt=0 0\r\n\
m=video 9078 RTP/AVP 96\r\nc=IN IP4 10.9.9.9\r\na=inactive\r\n\
m=audio 7078 RTP/AVPF 0\r\nc=IN IP4 10.0.0.9\r\n\
m=audio 7080 RTP/AVP 8\r\nm=x-whiteboard 5000 TCP wb\r\n";
        let o = parse_audio(shuffled.as_bytes()).unwrap();
        assert_eq!(o.rtp, Some("10.0.0.9:7078".parse().unwrap()));
        assert_eq!(o.direction, Direction::SendRecv);
        assert_eq!(o.layout.audio, 1);
        let text = answer_to(shuffled);
        assert_eq!(
            m_lines(&text),
            vec![
                "m=video 0 RTP/AVP 96",
                "m=audio 20000 RTP/AVPF 0",
                "m=audio 0 RTP/AVP 8",
                "m=x-whiteboard 0 TCP wb"
            ],
            "{text}"
        );
        assert_eq!(m_lines(&answer_to(BARESIP)).len(), 2);
        // A stream we refuse anyway may have an unreadable port; ours may not.
        let odd = AUDIO_VIDEO.replace("m=video 9078", "m=video x");
        assert_eq!(m_lines(&answer_to(&odd))[1], "m=video 0 RTP/AVP 96 97");
        let bad = AUDIO_VIDEO.replace("m=audio 7078", "m=audio x");
        assert!(matches!(
            parse_audio(bad.as_bytes()),
            Err(SdpError::Malformed(_))
        ));
    }

    #[test]
    fn srtp_only_audio_is_refused_but_plain_rtp_beside_it_is_taken() {
        let savp = AUDIO_VIDEO.replace("m=audio 7078 RTP/AVP", "m=audio 7078 RTP/SAVP");
        match parse_audio(savp.as_bytes()) {
            Err(SdpError::SecureOnly(d)) => assert!(d.contains("RTP/SAVP"), "{d}"),
            other => panic!("expected SecureOnly, got {other:?}"),
        }
        let savpf = AUDIO_VIDEO.replace("m=audio 7078 RTP/AVP", "m=audio 7078 RTP/SAVPF");
        assert!(matches!(
            parse_audio(savpf.as_bytes()),
            Err(SdpError::SecureOnly(_))
        ));
        // Best-effort SRTP: the SAVP line refused, the AVP one answered.
        let both = AUDIO_VIDEO.replace(
            "m=video",
            "m=audio 7090 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\nm=video",
        );
        let both = both.replacen("RTP/AVP 96 0 8 101", "RTP/SAVP 0", 1);
        let both = format!("{both}m=audio 7094 RTP/AVP 8\r\n");
        let o = parse_audio(both.as_bytes()).unwrap();
        assert_eq!(o.codecs, vec![Codec::Pcma]);
        assert_eq!(o.rtp, Some("10.0.0.9:7094".parse().unwrap()));
        let text = answer_to(&both);
        assert_eq!(
            m_lines(&text),
            vec![
                "m=audio 0 RTP/SAVP 0",
                "m=audio 0 RTP/SAVP 0",
                "m=video 0 RTP/AVP 96 97",
                "m=audio 20000 RTP/AVP 0"
            ],
            "{text}"
        );
    }

    #[test]
    fn writes_what_it_reads() {
        let d = LocalDescription {
            addr: "127.0.0.1".parse().unwrap(),
            port: 20000,
            codecs: vec![Codec::Pcma],
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            session_id: 7,
            version: 1,
            ptime: Some(20),
            answering: None,
        };
        let back = parse_audio(&d.to_sdp()).unwrap();
        assert_eq!(back.rtp, Some("127.0.0.1:20000".parse().unwrap()));
        assert_eq!(back.codecs, vec![Codec::Pcma]);
        assert_eq!(back.telephone_event, Some(101));
    }

    /// What the PBX answers to `offer` with the admin's `preference`: the first
    /// codec of [`prefer`], or `None` where the call setup answers 488.
    fn answer(offer: &str, preference: &[Codec]) -> Option<Codec> {
        let a = parse_audio(offer.as_bytes()).ok()?;
        prefer(&a.codecs, preference).first().copied()
    }

    #[test]
    fn g722_is_read_by_static_type_and_by_rtpmap() {
        let only = BARESIP.replace("RTP/AVP 9 0 8 101", "RTP/AVP 9 101");
        assert_eq!(
            parse_audio(only.as_bytes()).unwrap().codecs,
            vec![Codec::G722]
        );
        // A static PT 9 without rtpmap, and G.722 on a dynamic payload type.
        let bare = only.replace("a=rtpmap:9 G722/8000\r\n", "");
        assert_eq!(
            parse_audio(bare.as_bytes()).unwrap().codecs,
            vec![Codec::G722]
        );
        let dynamic = BARESIP
            .replace("RTP/AVP 9 0 8 101", "RTP/AVP 104 101")
            .replace("a=rtpmap:9 G722/8000", "a=rtpmap:104 g722/8000");
        assert_eq!(
            parse_audio(dynamic.as_bytes()).unwrap().codecs,
            vec![Codec::G722]
        );
        // On a dynamic payload type, G722/16000 is not RFC 3551's G.722.
        let wrong_rate = dynamic.replace("g722/8000", "G722/16000");
        assert!(matches!(
            parse_audio(wrong_rate.as_bytes()),
            Err(SdpError::NoCommonCodec(_))
        ));
        assert_eq!(media_codec(Codec::G722), media::Codec::g722());
        assert_eq!(
            (payload_type(Codec::G722), encoding_name(Codec::G722)),
            (9, "G722")
        );
        for name in ["G722", "g722", "G.722"] {
            assert_eq!(codec_from_name(name), Some(Codec::G722), "{name}");
        }
        assert_eq!(codec_from_name("opus"), None);
    }

    #[test]
    fn the_answer_follows_the_admins_preference() {
        let offer = BARESIP.replace("RTP/AVP 9 0 8 101", "RTP/AVP 9 0 101");
        assert_eq!(
            answer(&offer, &[Codec::G722, Codec::Pcmu]),
            Some(Codec::G722)
        );
        assert_eq!(
            answer(&offer, &[Codec::Pcmu, Codec::G722]),
            Some(Codec::Pcmu)
        );
        assert_eq!(answer(&offer, &[Codec::Pcmu]), Some(Codec::Pcmu));
        // The phone prefers PCMU but the admin prefers G.722: the admin's order wins.
        let pcmu_first = BARESIP.replace("RTP/AVP 9 0 8 101", "RTP/AVP 0 9 101");
        assert_eq!(
            answer(&pcmu_first, &[Codec::G722, Codec::Pcmu]),
            Some(Codec::G722)
        );
        // Only G.722 offered and the admin does not allow it: no common codec (488).
        let only = BARESIP.replace("RTP/AVP 9 0 8 101", "RTP/AVP 9 101");
        assert_eq!(answer(&only, &[Codec::Pcmu, Codec::Pcma]), None);
    }

    #[test]
    fn a_g722_answer_is_written_as_pt_9_with_an_8000_clock() {
        let d = LocalDescription {
            addr: "127.0.0.1".parse().unwrap(),
            port: 20000,
            codecs: vec![Codec::G722, Codec::Pcmu],
            telephone_event: Some(101),
            direction: Direction::SendRecv,
            session_id: 7,
            version: 1,
            ptime: Some(20),
            answering: None,
        };
        let text = String::from_utf8(d.to_sdp()).unwrap();
        assert!(text.contains("m=audio 20000 RTP/AVP 9 0 101\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:9 G722/8000\r\n"), "{text}");
        assert_eq!(
            parse_audio(text.as_bytes()).unwrap().codecs,
            vec![Codec::G722, Codec::Pcmu]
        );
    }

    #[test]
    fn a_callee_is_offered_the_callers_codecs_then_the_transcodable_rest() {
        use Codec::{G722, Pcma, Pcmu};
        let admin = [G722, Pcmu, Pcma];
        assert_eq!(callee_offer(&[G722], &admin), vec![G722, Pcmu, Pcma]);
        assert_eq!(callee_offer(&[Pcma, Pcmu], &admin), vec![Pcmu, Pcma, G722]);
        assert_eq!(callee_offer(&[Pcmu], &[Pcmu]), vec![Pcmu]);
        // A G.722-only caller and a PCMU-only callee: the caller stays on G.722.
        assert_eq!(caller_codec(&[G722], &admin, Pcmu), Some(G722));
        // The callee took a codec the caller offered: both legs relay untouched.
        assert_eq!(caller_codec(&[Pcmu, G722], &admin, Pcmu), Some(Pcmu));
        assert_eq!(caller_codec(&[Pcma, Pcmu], &admin, G722), Some(Pcmu));
        assert_eq!(caller_codec(&[G722], &[Pcmu], Pcmu), None);
    }
}
