//! The four transaction state machines of RFC 3261 §17, with the "Accepted"
//! states of RFC 6026, and the matching rules of §17.1.3 and §17.2.3.
//!
//! Each machine is sans-IO: it is created with the current time, fed
//! messages, TU actions and timer expiries, and answers with a list of
//! [`Action`]s (bytes to send, "pass this up", "absorbed", failures). Its
//! next deadline comes from `next_deadline()`. The [`crate::endpoint`]
//! owns the machines, matches messages to them and turns their actions into
//! transmissions and events.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip::transaction::{Action, TimerConfig, client_non_invite::ClientNonInvite};
//! # #[allow(clippy::disallowed_methods)]
//! let t0 = Instant::now();
//! let (mut tx, first) = ClientNonInvite::new(t0, b"OPTIONS ...".to_vec(), false, TimerConfig::default());
//! assert!(matches!(first, Action::Send(_)));
//! // No response: Timer E retransmits after T1.
//! let acts = tx.on_timer(t0 + Duration::from_millis(500));
//! assert!(matches!(acts[..], [Action::Retransmit(_)]));
//! ```

pub mod client_invite;
pub mod client_non_invite;
pub mod key;
pub mod server_invite;
pub mod server_non_invite;
mod timer;

pub use key::{ClientKey, ServerKey};
pub use timer::{Timer, TimerConfig, Timers};

/// What a transaction asks its owner to do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the transaction's peer for the first time.
    Send(Vec<u8>),
    /// Send these bytes again (a retransmission of a request, a response or an ACK).
    Retransmit(Vec<u8>),
    /// Pass the message just received up to the transaction user.
    PassUp,
    /// The message just received repeats an earlier one and was absorbed.
    Absorbed,
    /// No final response arrived in time (Timer B or F).
    Timeout,
    /// The ACK for a final response never arrived (Timer H for 3xx-6xx, Timer L for 2xx).
    AckTimeout,
    /// The transport reported a failure; the transaction is over.
    TransportError,
}
