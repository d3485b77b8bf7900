//! store crate (skeleton; see ARCHITECTURE.md).
