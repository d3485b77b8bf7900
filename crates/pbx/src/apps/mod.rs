//! Features that run calls through the call-control verbs and react to what
//! happens to them. An app keeps its own state, takes events and the time,
//! and answers with typed commands that the PBX carries out; it never holds
//! the PBX and no app calls another.
//!
//! - `announce`: calls the PBX placed to play prompts and collect digits.

pub(crate) mod announce;
