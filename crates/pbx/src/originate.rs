//! Calls the PBX places itself (`originate`): what to call, what the call is
//! for, and why the PBX could not place it.
//!
//! A placed call has one SIP leg, our INVITE to every registered phone of the
//! target (the first to answer wins), and one media leg that the media engine
//! terminates: prompts play into it and the phone's digits come out of it. The
//! call's purpose names the feature that runs it once it is answered
//! ([`Purpose::Announcement`]: play prompts, collect digits, hang up; wake-up
//! calls and callbacks come next).

use std::time::Duration;

pub use records::{CallOrigin, PurposeKind};

/// A call for the PBX to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originate {
    /// The extension number to call (every registered phone of it rings).
    pub target: String,
    /// The display name the phone shows as the caller (default "Switchboard").
    pub display: Option<String>,
    /// What the call is for, and so which feature runs it once answered.
    pub purpose: Purpose,
}

/// What a placed call is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Play prompts, collect up to `max_digits` digits, hang up.
    Announcement(Announcement),
}

impl Purpose {
    /// The kind of purpose, as recorded.
    pub fn kind(&self) -> PurposeKind {
        match self {
            Purpose::Announcement(_) => PurposeKind::Announcement,
        }
    }
}

/// An announcement: prompts played to whoever answers, then the digits they press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Prompt names of the plan (`welcome`, `digit_3`), played in order.
    pub prompts: Vec<String>,
    /// The language of the prompts (default: the plan's first language).
    pub language: Option<String>,
    /// How many digits to collect (0: just play, then hang up). A digit pressed while
    /// the prompts play stops them.
    pub max_digits: usize,
    /// How long to wait for (more) digits after the prompts ended.
    pub digit_timeout: Duration,
}

/// Why the PBX could not place a call. Nothing was sent and nothing recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginateError {
    /// No dialplan is installed (prompts and numbers come from it).
    NoDialplan,
    /// The target is not a number of the plan.
    UnknownTarget(String),
    /// The target exists but no phone of it is registered.
    NotRegistered(String),
    /// A prompt name has no loaded prompt in the language asked for.
    UnknownPrompt(String),
    /// No RTP port is free.
    NoMediaPorts,
    /// The concurrent-call limit is reached.
    TooManyCalls,
}

impl std::fmt::Display for OriginateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OriginateError::NoDialplan => write!(f, "no dialplan is loaded"),
            OriginateError::UnknownTarget(t) => write!(f, "{t} is not a number of the dialplan"),
            OriginateError::NotRegistered(t) => write!(f, "no phone of {t} is registered"),
            OriginateError::UnknownPrompt(p) => write!(f, "no prompt {p} is loaded"),
            OriginateError::NoMediaPorts => write!(f, "no free RTP port"),
            OriginateError::TooManyCalls => write!(f, "the concurrent-call limit is reached"),
        }
    }
}

impl std::error::Error for OriginateError {}
