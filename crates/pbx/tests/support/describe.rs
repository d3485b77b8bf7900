//! One-line descriptions of datagrams and media commands, for transcripts
//! and failure messages.

use media::MediaCommand;
use sip::message::Message;
use std::net::SocketAddr;
use std::path::Path;

/// The start line of a datagram, or a note that it does not parse.
pub fn first_line(bytes: &[u8]) -> String {
    match Message::parse(bytes) {
        Ok(Message::Request(r)) => format!("{} {}", r.method, r.uri),
        Ok(Message::Response(r)) => {
            let method = r
                .headers
                .cseq()
                .map(|c| c.method.to_string())
                .unwrap_or_default();
            format!("{} {method}", r.status)
        }
        Err(e) => format!("<unparseable: {e}>"),
    }
}

/// A media command in one line: `AddLeg 1 remote=10.0.0.21:4000`, `Bridge 1 2`,
/// `Play 1 [welcome language_menu]`.
pub fn describe_media(cmd: &MediaCommand) -> String {
    let remote = |r: &Option<SocketAddr>| r.map_or("none".to_string(), |a| a.to_string());
    match cmd {
        MediaCommand::AddLeg { leg, remote: r, .. } => {
            format!("AddLeg {} remote={}", leg.0, remote(r))
        }
        MediaCommand::UpdateRemote { leg, remote: r } => {
            format!("UpdateRemote {} remote={}", leg.0, remote(r))
        }
        MediaCommand::Bridge(a, b) => format!("Bridge {} {}", a.0, b.0),
        MediaCommand::Unbridge(a) => format!("Unbridge {}", a.0),
        MediaCommand::RemoveLeg(a) => format!("RemoveLeg {}", a.0),
        MediaCommand::Play { leg, prompts, .. } => format!(
            "Play {} [{}]",
            leg.0,
            prompts
                .iter()
                .map(|p| prompt_stem(p.name()))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        MediaCommand::StopPlay(a) => format!("StopPlay {}", a.0),
        MediaCommand::StartMoh { leg, class } => format!("StartMoh {} {class}", leg.0),
        MediaCommand::StopMoh(a) => format!("StopMoh {}", a.0),
        MediaCommand::PlayToConference {
            room,
            prompts,
            loop_,
        } => format!(
            "PlayToConference {} [{}] loop={loop_}",
            room.0,
            prompts
                .iter()
                .map(|p| prompt_stem(p.name()))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => format!("{other:?}"),
    }
}

/// `welcome` for `/…/prompts/en/welcome.wav`.
fn prompt_stem(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned())
}
