//! The one loop that moves work between the SIP endpoint, the PBX and the
//! outside world, shared by the server and the PBX's test world: endpoint
//! events into the PBX, the PBX's outputs and the media engine's events to
//! and from the driver, the endpoint's datagrams onto the network, until
//! nothing moves. What differs between the two is behind [`Driver`]: where
//! the time comes from (the clock, or a virtual one) and where outputs and
//! datagrams go (tasks and sockets, or recorders and a simulated network).

use crate::{Output, Pbx};
use media::MediaEvent;
use sip::endpoint::{Endpoint, Transmit};
use std::time::Instant;

/// What a driver of the PBX provides.
pub trait Driver {
    /// The PBX and its SIP endpoint.
    fn parts(&mut self) -> (&mut Pbx, &mut Endpoint);
    /// The current instant and wall-clock time (unix ms), read for each event.
    fn now(&mut self) -> (Instant, i64);
    /// Carries out one output of the PBX.
    fn output(&mut self, output: Output);
    /// Sends one of the endpoint's datagrams.
    fn transmit(&mut self, transmit: Transmit);
    /// A media-engine event the driver holds and has not handed to the PBX yet.
    fn media_event(&mut self) -> Option<MediaEvent>;
}

/// Moves everything pending until nothing moves (see the module doc).
pub fn drain(driver: &mut impl Driver) {
    loop {
        let mut progressed = false;
        while let Some(event) = driver.parts().1.poll_event() {
            progressed = true;
            let (now, wall_ms) = driver.now();
            let (pbx, ep) = driver.parts();
            pbx.handle_sip(now, wall_ms, ep, event);
        }
        while let Some(output) = driver.parts().0.poll_output() {
            progressed = true;
            driver.output(output);
        }
        while let Some(event) = driver.media_event() {
            progressed = true;
            let (now, wall_ms) = driver.now();
            let (pbx, ep) = driver.parts();
            pbx.handle_media(now, wall_ms, ep, event);
        }
        while let Some(transmit) = driver.parts().1.poll_transmit() {
            progressed = true;
            driver.transmit(transmit);
        }
        if !progressed {
            break;
        }
    }
}
