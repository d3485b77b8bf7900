//! dialplan crate (skeleton; see ARCHITECTURE.md).
