//! sip crate (skeleton; see ARCHITECTURE.md).
