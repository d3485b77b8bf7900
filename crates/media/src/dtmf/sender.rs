//! The RFC 4733 sender: the packet sequence for one key press.

use super::TelephoneEvent;

/// One telephone-event packet to send, 20 ms after the previous one. All packets of an event
/// carry the RTP timestamp of the event's start; only the first has the marker bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventPacket {
    /// Whether the RTP marker bit is set (first packet of the event).
    pub marker: bool,
    /// The payload fields.
    pub event: TelephoneEvent,
}

/// The packets for an event of `duration_ms` (clamped to 40..=8000 ms): updates every 20 ms
/// with a growing duration (§2.5.1.2), then the end packet three times (§2.5.1.4).
pub fn telephone_event_packets(
    event: u8,
    duration_ms: u32,
    volume: u8,
) -> Vec<TelephoneEventPacket> {
    let total = (duration_ms.clamp(40, 8000) * 8) as u16;
    let mut packets = Vec::new();
    let mut duration: u16 = 160;
    while duration < total {
        packets.push(TelephoneEventPacket {
            marker: packets.is_empty(),
            event: TelephoneEvent {
                event,
                end: false,
                volume,
                duration,
            },
        });
        duration += 160;
    }
    for _ in 0..3 {
        packets.push(TelephoneEventPacket {
            marker: packets.is_empty(),
            event: TelephoneEvent {
                event,
                end: true,
                volume,
                duration: total,
            },
        });
    }
    packets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_100_ms_press_is_four_updates_and_three_ends() {
        let p = telephone_event_packets(5, 100, 10);
        let summary: Vec<(bool, bool, u16)> = p
            .iter()
            .map(|p| (p.marker, p.event.end, p.event.duration))
            .collect();
        assert_eq!(
            summary,
            [
                (true, false, 160),
                (false, false, 320),
                (false, false, 480),
                (false, false, 640),
                (false, true, 800),
                (false, true, 800),
                (false, true, 800),
            ]
        );
        assert!(p.iter().all(|p| p.event.event == 5 && p.event.volume == 10));
    }

    #[test]
    fn durations_are_clamped() {
        let short = telephone_event_packets(1, 0, 10);
        assert_eq!(short.len(), 4);
        assert!(short[0].marker);
        let long = telephone_event_packets(1, 1_000_000, 10);
        assert_eq!(long.last().unwrap().event.duration, 64000);
    }
}
