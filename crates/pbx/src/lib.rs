//! pbx crate (skeleton; see ARCHITECTURE.md).
