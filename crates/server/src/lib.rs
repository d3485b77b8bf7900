//! server crate (skeleton; see ARCHITECTURE.md).
