//! media crate (skeleton; see ARCHITECTURE.md).
