//! End-to-end test harness (skeleton).
