//! Forwarding one RTP packet across a bridge, without decoding when the codecs match.
//!
//! | packet              | peer negotiated            | forwarded as                          |
//! |---------------------|----------------------------|---------------------------------------|
//! | audio               | same codec and PT          | the same bytes                        |
//! | audio               | same codec, other PT       | the same bytes, PT rewritten          |
//! | audio               | the other G.711 law        | payload transcoded byte by byte       |
//! | audio               | G.722 ↔ G.711              | decoded, resampled, re-encoded        |
//! | telephone-event     | telephone-event            | the same bytes, PT rewritten if needed|
//! | telephone-event     | no telephone-event         | dropped                               |
//! | other (CN, …)       | same codec and PT          | the same bytes                        |
//! | other (CN, …)       | anything else              | dropped                               |
//!
//! Every codec runs an 8000 Hz RTP clock (G.722 included) with one timestamp tick per payload
//! byte, so a transcoded payload has as many bytes and ticks as the original. The receiving
//! leg then puts the packet into its own outgoing stream (`Leg::continue_own_stream`): a leg
//! that has only ever relayed one source passes its SSRC, sequence numbers and timestamps on
//! unchanged; after a prompt, music or a change of party (a transfer) the numbering continues
//! the leg's stream, so the phone sees one SSRC with no jump in sequence numbers. Transcoding through PCM
//! uses the source leg's relay decoder (by the caller, see [`needs_pcm`]) and the peer's
//! encoder, both stateful, so packets must cross in arrival order.

use super::leg::Leg;
use crate::codec::{self, Codec, CodecKind};
use crate::rtp::{self, RtpHeader, RtpPacket};

/// What the forwarding decision needs to know about the receiving leg.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    pub codec: Codec,
    pub telephone_event_pt: Option<u8>,
}

/// Whether an audio packet from a leg speaking `from` must be decoded to PCM to reach a leg
/// speaking `to` (G.722 on one side only).
pub(crate) fn needs_pcm(from: CodecKind, to: CodecKind) -> bool {
    from != to && !(from.is_g711() && to.is_g711())
}

/// Builds the datagram to send to `peer`, or `None` when the packet must not cross. `pcm` is
/// the packet's audio decoded by the source leg's relay decoder, required exactly when
/// [`needs_pcm`] says so for an audio packet.
pub(crate) fn forward(
    source: &Source,
    peer: &mut Leg,
    packet: &RtpPacket<'_>,
    bytes: &[u8],
    pcm: Option<&[i16]>,
) -> Option<Vec<u8>> {
    let pt = packet.header.payload_type;
    if pt == source.codec.payload_type {
        if peer.codec == source.codec {
            return Some(bytes.to_vec());
        }
        if peer.codec.kind == source.codec.kind {
            return with_payload_type(bytes, peer.codec.payload_type);
        }
        let header = RtpHeader {
            payload_type: peer.codec.payload_type,
            ..packet.header
        };
        let mut out = Vec::with_capacity(12 + packet.payload.len());
        rtp::build_into(&header, &[], &mut out).ok()?;
        if !codec::transcode(source.codec.kind, peer.codec.kind, packet.payload, &mut out) {
            peer.encoder.encode(pcm?, &mut out);
        }
        return Some(out);
    }
    if Some(pt) == source.telephone_event_pt {
        let peer_pt = peer.telephone_event_pt?;
        if peer_pt == pt {
            return Some(bytes.to_vec());
        }
        return with_payload_type(bytes, peer_pt);
    }
    if peer.codec == source.codec {
        return Some(bytes.to_vec());
    }
    None
}

fn with_payload_type(bytes: &[u8], pt: u8) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    rtp::set_payload_type(&mut out, pt).ok()?;
    Some(out)
}
