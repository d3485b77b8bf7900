//! The 20 ms media tick: prompts, music on hold, conference mixes, generated DTMF, recordings.
//!
//! One tick at instant `t`:
//! 1. every leg with a jitter buffer plays out one frame of what it received (and its in-band
//!    DTMF detector, if any, listens to it);
//! 2. each music-on-hold class with listeners advances its shared loop by one frame;
//! 3. each room mixes N−1 frames for its members;
//! 4. each leg sends what it should hear (DTMF > prompt > music on hold > room mix) and its
//!    recording, if any, takes one frame.

use std::sync::Arc;
use std::time::Instant;

use super::leg::{DtmfTxItem, LegId};
use super::{MediaEngine, MediaEvent, Output};
use crate::codec::{CodecKind, FRAME_SAMPLES};
use crate::mixer::{Contribution, Frame, mix_minus_one};
use crate::player::Player;
use crate::prompt::Prompt;

/// One music-on-hold class: a looping player shared by every listener, who all hear the same
/// frame index, plus the frame encoded once per G.711 law. G.722 listeners encode the frame
/// with their own leg's encoder (ADPCM state differs per listener).
#[derive(Debug)]
pub(crate) struct MohSource {
    player: Player,
    frame: Frame,
    encoded: [Option<Vec<u8>>; 2],
}

impl MohSource {
    pub fn new(prompts: Vec<Arc<Prompt>>) -> Self {
        MohSource {
            player: Player::new(prompts, true),
            frame: [0; FRAME_SAMPLES],
            encoded: [None, None],
        }
    }

    fn advance(&mut self) {
        self.player.next_frame(&mut self.frame);
        self.encoded = [None, None];
    }

    /// The shared encoded frame for a stateless codec; `None` for G.722.
    fn payload(&mut self, codec: crate::codec::Codec) -> Option<&[u8]> {
        let slot = match codec.kind {
            CodecKind::Pcmu => 0,
            CodecKind::Pcma => 1,
            CodecKind::G722 => return None,
        };
        let frame = self.frame;
        Some(self.encoded[slot].get_or_insert_with(|| {
            let mut v = Vec::with_capacity(FRAME_SAMPLES);
            codec.encode(&frame, &mut v);
            v
        }))
    }

    /// The frames the shared loop has produced so far.
    pub fn position(&self) -> u64 {
        self.player.frames_played()
    }
}

impl MediaEngine {
    pub(super) fn tick(&mut self, t: Instant) {
        for (id, leg) in &mut self.legs {
            leg.rx_frame = leg.jitter.as_mut().and_then(|jb| jb.pop_frame(t));
            leg.mix_frame = None;
            if let (Some(detector), Some(frame)) = (leg.inband.as_mut(), leg.rx_frame.as_ref()) {
                for d in detector.push(frame) {
                    self.out.push_back(Output::Event(MediaEvent::Dtmf {
                        leg: *id,
                        digit: d.digit,
                        duration_ms: d.duration_ms,
                    }));
                }
            }
        }
        let mut classes: Vec<&str> = self
            .legs
            .values()
            .filter(|l| l.dtmf_tx.is_empty() && l.player.is_none())
            .filter_map(|l| l.moh.as_deref())
            .collect();
        classes.sort_unstable();
        classes.dedup();
        for class in classes {
            if let Some(src) = self.moh.get_mut(class) {
                src.advance();
            }
        }
        self.mix_rooms();
        let ids: Vec<LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.needs_tick())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.tick_leg(id, t);
        }
    }

    fn mix_rooms(&mut self) {
        let mut outs: Vec<Frame> = Vec::new();
        let mut finished = Vec::new();
        let mut gone = Vec::new();
        for (room_id, room) in &mut self.rooms {
            let mut announcement = None;
            if let Some(p) = room.announcement.as_mut() {
                let mut f = [0; FRAME_SAMPLES];
                if p.next_frame(&mut f) {
                    announcement = Some(f);
                }
                if p.is_finished() {
                    room.announcement = None;
                    finished.push(*room_id);
                }
            }
            let frames: Vec<Option<Frame>> = room
                .members
                .iter()
                .map(|m| match m.state.fade() {
                    Some(_) => self.legs.get(&m.leg).and_then(|l| l.rx_frame),
                    None => None,
                })
                .collect();
            let contributions: Vec<Contribution<'_>> = room
                .members
                .iter()
                .zip(&frames)
                .map(|(m, f)| Contribution {
                    audio: f.as_ref(),
                    fade: m.state.fade().unwrap_or(crate::mixer::Fade::Full),
                })
                .collect();
            mix_minus_one(&contributions, announcement.as_ref(), &mut outs);
            for (m, out) in room.members.iter().zip(&outs) {
                if m.state.listens()
                    && let Some(l) = self.legs.get_mut(&m.leg)
                {
                    l.mix_frame = Some(*out);
                }
            }
            gone.extend(room.after_frame());
        }
        for leg in gone {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.fading_out = false;
            }
            self.refresh_jitter(leg);
        }
        for room in finished {
            self.out
                .push_back(Output::Event(MediaEvent::ConferencePlayFinished { room }));
        }
        self.rooms
            .retain(|_, r| !r.members.is_empty() || r.announcement.is_some());
    }

    fn tick_leg(&mut self, id: LegId, t: Instant) {
        let peer_rx = self
            .legs
            .get(&id)
            .and_then(|l| l.bridge)
            .and_then(|p| self.legs.get(&p))
            .and_then(|p| p.rx_frame);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let mut heard: Option<Frame> = None;
        let mut packet: Option<Vec<u8>> = None;
        let mut play_finished = false;
        if let Some(item) = leg.dtmf_tx.pop_front() {
            let pt = leg.telephone_event_pt.unwrap_or(101);
            match item {
                DtmfTxItem::Packet { first, packet: p } => {
                    if first {
                        leg.resume_own_stream(t);
                        leg.dtmf_event_ts = leg.tx.next_timestamp();
                    }
                    leg.last_own_send = Some(t);
                    let ts = leg.dtmf_event_ts;
                    packet = Some(leg.tx.packet_at(pt, p.marker, ts, &p.event.to_bytes()));
                }
                DtmfTxItem::Gap => leg.last_own_send = Some(t),
            }
            leg.tx.skip(FRAME_SAMPLES as u32);
        } else if let Some(player) = leg.player.as_mut() {
            let mut f = [0; FRAME_SAMPLES];
            if player.next_frame(&mut f) {
                heard = Some(f);
            }
            if player.is_finished() {
                leg.player = None;
                play_finished = true;
            }
        } else if leg.moh.is_some() {
            if let Some(src) = leg.moh.as_deref().and_then(|c| self.moh.get_mut(c)) {
                heard = Some(src.frame);
                if let Some(payload) = src.payload(leg.codec) {
                    leg.resume_own_stream(t);
                    packet = Some(leg.tx.packet(
                        leg.codec.payload_type,
                        payload,
                        FRAME_SAMPLES as u32,
                    ));
                }
            }
        } else if let Some(mix) = leg.mix_frame {
            heard = Some(mix);
        }
        if packet.is_none()
            && let Some(f) = heard
        {
            leg.resume_own_stream(t);
            let mut payload = Vec::with_capacity(FRAME_SAMPLES);
            leg.encoder.encode(&f, &mut payload);
            packet = Some(
                leg.tx
                    .packet(leg.codec.payload_type, &payload, FRAME_SAMPLES as u32),
            );
        }
        if let Some(bytes) = packet
            && let Some(to) = leg.destination_for_send(bytes.len())
        {
            self.out.push_back(Output::Transmit { leg: id, to, bytes });
        }
        let mut stop = None;
        if let Some(rec) = leg.recording.as_mut() {
            let mut frame = leg.rx_frame.unwrap_or([0; FRAME_SAMPLES]);
            if rec.both_directions
                && let Some(other) = heard.or(peer_rx)
            {
                for (s, o) in frame.iter_mut().zip(other) {
                    *s = s.saturating_add(o);
                }
            }
            stop = rec.recorder.write_frame(&frame);
        }
        if play_finished {
            self.out
                .push_back(Output::Event(MediaEvent::PlayFinished { leg: id }));
        }
        if let Some(reason) = stop {
            self.finish_recording(id, reason);
        }
    }

    /// The frame position of a music-on-hold class, if it is defined.
    pub fn moh_position(&self, class: &str) -> Option<u64> {
        self.moh.get(class).map(MohSource::position)
    }
}
