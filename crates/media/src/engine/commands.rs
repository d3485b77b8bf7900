//! Carrying out call control's commands.

use std::time::Duration;

use super::leg::{DtmfTxItem, Leg, LegId, Recording};
use super::room::MemberState;
use super::tick::MohSource;
use super::{MediaCommand, MediaEngine, MediaEvent};
use crate::dtmf::{InbandDetector, event_code, telephone_event_packets};
use crate::jitter::JitterBuffer;
use crate::player::Player;
use crate::recorder::{RecordStop, Recorder};
use crate::rtp::{self, RtpStream};

/// Silent ticks between two sent digits (60 ms).
const DTMF_GAP_TICKS: usize = 3;

impl MediaEngine {
    pub(super) fn handle_command(&mut self, cmd: MediaCommand) {
        match cmd {
            MediaCommand::AddLeg {
                leg,
                remote,
                codec,
                telephone_event_pt,
            } => {
                if self.legs.contains_key(&leg) {
                    self.reject(leg, format!("AddLeg: {leg} exists already"));
                    return;
                }
                let mut seed = self.config.seed ^ leg.0.wrapping_mul(0xA24B_AED4_963E_E407);
                let tx = RtpStream::from_seed(rtp::splitmix64(&mut seed));
                // Spread the legs' RTCP reports over the interval.
                let interval = self.config.rtcp_interval.max(Duration::from_secs(1));
                let offset = Duration::from_millis(
                    rtp::splitmix64(&mut seed) % interval.as_millis().max(1) as u64,
                );
                let first_report = self.now + interval / 2 + offset / 2;
                let mut l = Leg::new(codec, telephone_event_pt, remote, tx, first_report);
                if telephone_event_pt.is_none() && self.config.inband_dtmf {
                    l.inband = Some(InbandDetector::new());
                }
                self.legs.insert(leg, l);
                self.refresh_jitter(leg);
            }
            MediaCommand::UpdateRemote { leg, remote } => {
                if let Some(l) = self.leg_mut_or_reject(leg, "UpdateRemote") {
                    l.update_remote(remote);
                    l.last_rx = None;
                    l.timeout_reported = false;
                }
            }
            MediaCommand::UpdateCodec {
                leg,
                codec,
                telephone_event_pt,
            } => {
                let inband = self.config.inband_dtmf;
                if let Some(l) = self.leg_mut_or_reject(leg, "UpdateCodec") {
                    l.set_codec(codec);
                    l.telephone_event_pt = telephone_event_pt;
                    if telephone_event_pt.is_none() {
                        l.dtmf_tx.clear();
                    }
                    l.inband = (telephone_event_pt.is_none() && inband).then(InbandDetector::new);
                    if l.jitter.is_some() {
                        l.jitter = Some(JitterBuffer::new(codec));
                    }
                    self.refresh_jitter(leg);
                }
            }
            MediaCommand::Bridge(a, b) => self.bridge(a, b),
            MediaCommand::Unbridge(a) => self.unbridge(a),
            MediaCommand::RemoveLeg(leg) => self.remove_leg(leg),
            MediaCommand::Play {
                leg,
                prompts,
                loop_,
            } => {
                if let Some(l) = self.leg_mut_or_reject(leg, "Play") {
                    l.player = Some(Player::new(prompts, loop_));
                }
            }
            MediaCommand::StopPlay(leg) => {
                if let Some(l) = self.leg_mut_or_reject(leg, "StopPlay") {
                    l.player = None;
                }
            }
            MediaCommand::SendDtmf {
                leg,
                digits,
                duration_ms,
            } => self.send_dtmf(leg, &digits, duration_ms),
            MediaCommand::Record {
                leg,
                path,
                max_length,
                silence,
                both_directions,
            } => {
                let Some(l) = self.leg_mut_or_reject(leg, "Record") else {
                    return;
                };
                if l.recording.is_some() {
                    self.reject(leg, format!("Record: {leg} is recording already"));
                    return;
                }
                match Recorder::create(&path, max_length, silence) {
                    Ok(recorder) => {
                        l.recording = Some(Recording {
                            recorder,
                            both_directions,
                        });
                        self.refresh_jitter(leg);
                    }
                    Err(e) => self.emit(MediaEvent::RecordingFinished {
                        leg,
                        path,
                        duration: Duration::ZERO,
                        reason: RecordStop::Error(e),
                    }),
                }
            }
            MediaCommand::StopRecord(leg) => {
                if self.leg_mut_or_reject(leg, "StopRecord").is_some() {
                    self.finish_recording(leg, RecordStop::Stopped);
                }
            }
            MediaCommand::JoinConference { leg, room, muted } => {
                if self.leg_mut_or_reject(leg, "JoinConference").is_none() {
                    return;
                }
                self.unbridge(leg);
                self.leave_room(leg);
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.room = Some(room);
                    l.fading_out = false;
                }
                let state = if muted {
                    MemberState::Muted
                } else {
                    MemberState::Joining
                };
                self.rooms.entry(room).or_default().join(leg, state);
                self.refresh_jitter(leg);
            }
            MediaCommand::LeaveConference(leg) => {
                if self.leg_mut_or_reject(leg, "LeaveConference").is_some() {
                    self.leave_room(leg);
                }
            }
            MediaCommand::Mute { leg, muted } => {
                let room = self.legs.get(&leg).and_then(|l| l.room);
                match room.and_then(|r| self.rooms.get_mut(&r)) {
                    Some(r) => r.set_muted(leg, muted),
                    None => self.reject(leg, format!("Mute: {leg} is in no conference")),
                }
            }
            MediaCommand::PlayToConference {
                room,
                prompts,
                loop_,
            } => {
                self.rooms.entry(room).or_default().announcement =
                    Some(Player::new(prompts, loop_));
            }
            MediaCommand::DefineMoh { class, prompts } => {
                self.moh.insert(class, MohSource::new(prompts));
            }
            MediaCommand::StartMoh { leg, class } => {
                if !self.moh.contains_key(&class) {
                    self.reject(
                        leg,
                        format!("StartMoh: music-on-hold class {class:?} is not defined"),
                    );
                    return;
                }
                if let Some(l) = self.leg_mut_or_reject(leg, "StartMoh") {
                    l.moh = Some(class);
                }
            }
            MediaCommand::StopMoh(leg) => {
                if let Some(l) = self.leg_mut_or_reject(leg, "StopMoh") {
                    l.moh = None;
                }
            }
            MediaCommand::QueryQuality(leg) => match self.quality(leg) {
                Some(report) => self.emit(MediaEvent::Quality { leg, report }),
                None => self.reject(leg, format!("QueryQuality: no {leg}")),
            },
        }
    }

    fn leg_mut_or_reject(&mut self, leg: LegId, command: &str) -> Option<&mut Leg> {
        if !self.legs.contains_key(&leg) {
            self.reject(leg, format!("{command}: no {leg}"));
            return None;
        }
        self.legs.get_mut(&leg)
    }

    fn bridge(&mut self, a: LegId, b: LegId) {
        for id in [a, b] {
            if !self.legs.contains_key(&id) {
                self.reject(id, format!("Bridge({a}, {b}): no {id}"));
                return;
            }
        }
        if a == b {
            self.reject(
                a,
                format!("Bridge({a}, {b}): a leg cannot be bridged to itself"),
            );
            return;
        }
        for id in [a, b] {
            self.unbridge(id);
            self.leave_room(id);
        }
        if let Some(l) = self.legs.get_mut(&a) {
            l.bridge = Some(b);
        }
        if let Some(l) = self.legs.get_mut(&b) {
            l.bridge = Some(a);
        }
        self.refresh_jitter(a);
        self.refresh_jitter(b);
    }

    pub(super) fn unbridge(&mut self, a: LegId) {
        let peer = self.legs.get_mut(&a).and_then(|l| l.bridge.take());
        if let Some(p) = peer {
            if let Some(l) = self.legs.get_mut(&p)
                && l.bridge == Some(a)
            {
                l.bridge = None;
            }
            self.refresh_jitter(a);
            self.refresh_jitter(p);
        }
    }

    fn leave_room(&mut self, leg: LegId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let room = l.room.take();
        if let Some(r) = room.and_then(|r| self.rooms.get_mut(&r)) {
            // The leg keeps its jitter buffer until its voice has faded out of the mix.
            l.fading_out = r.leave(leg);
        }
        self.refresh_jitter(leg);
    }

    fn remove_leg(&mut self, leg: LegId) {
        if !self.legs.contains_key(&leg) {
            self.reject(leg, format!("RemoveLeg: no {leg}"));
            return;
        }
        self.finish_recording(leg, RecordStop::LegRemoved);
        self.unbridge(leg);
        let room = self.legs.get(&leg).and_then(|l| l.room);
        if let Some(r) = room.and_then(|r| self.rooms.get_mut(&r)) {
            r.remove_now(leg);
        }
        self.dtmf_open.remove(&leg);
        if let Some(l) = self.legs.remove(&leg) {
            let report = super::rtcp_io::quality_report(&l);
            self.emit(MediaEvent::Quality { leg, report });
        }
    }

    fn send_dtmf(&mut self, leg: LegId, digits: &str, duration_ms: u32) {
        let Some(l) = self.leg_mut_or_reject(leg, "SendDtmf") else {
            return;
        };
        if l.telephone_event_pt.is_none() {
            self.reject(
                leg,
                format!("SendDtmf: {leg} negotiated no telephone-event payload type"),
            );
            return;
        }
        let mut codes = Vec::new();
        for d in digits.chars() {
            match event_code(d) {
                Some(c) => codes.push(c),
                None => {
                    self.reject(
                        leg,
                        format!("SendDtmf: expected digits 0-9 * # A-D, found {d:?} in {digits:?}"),
                    );
                    return;
                }
            }
        }
        if let Some(l) = self.legs.get_mut(&leg) {
            for code in codes {
                for (i, packet) in telephone_event_packets(code, duration_ms, 10)
                    .into_iter()
                    .enumerate()
                {
                    l.dtmf_tx.push_back(DtmfTxItem::Packet {
                        first: i == 0,
                        packet,
                    });
                }
                l.dtmf_tx
                    .extend(std::iter::repeat_n(DtmfTxItem::Gap, DTMF_GAP_TICKS));
            }
        }
    }

    /// Ends a leg's recording, if it has one, and reports it.
    pub(super) fn finish_recording(&mut self, leg: LegId, reason: RecordStop) {
        let Some(rec) = self.legs.get_mut(&leg).and_then(|l| l.recording.take()) else {
            return;
        };
        let path = rec.recorder.path().to_path_buf();
        let (duration, reason) = match rec.recorder.finish() {
            Ok(d) => (d, reason),
            Err(e) => (Duration::ZERO, RecordStop::Error(e)),
        };
        self.emit(MediaEvent::RecordingFinished {
            leg,
            path,
            duration,
            reason,
        });
        self.refresh_jitter(leg);
    }

    /// Gives `leg` and its bridge peer a jitter buffer exactly when their decoded audio is
    /// consumed: by a room (also while fading out of it), by their own recording, by the
    /// peer's recording of both directions, or by in-band DTMF detection.
    pub(super) fn refresh_jitter(&mut self, leg: LegId) {
        let peer = self.legs.get(&leg).and_then(|l| l.bridge);
        for id in std::iter::once(leg).chain(peer) {
            let needed = self.needs_jitter(id);
            if let Some(l) = self.legs.get_mut(&id) {
                match (needed, l.jitter.is_some()) {
                    (true, false) => l.jitter = Some(JitterBuffer::new(l.codec)),
                    (false, true) => l.jitter = None,
                    _ => {}
                }
            }
        }
    }

    fn needs_jitter(&self, id: LegId) -> bool {
        let Some(l) = self.legs.get(&id) else {
            return false;
        };
        let peer_records_both = l
            .bridge
            .and_then(|p| self.legs.get(&p))
            .and_then(|p| p.recording.as_ref())
            .is_some_and(|r| r.both_directions);
        l.room.is_some()
            || l.fading_out
            || l.recording.is_some()
            || l.inband.is_some()
            || peer_records_both
    }
}
