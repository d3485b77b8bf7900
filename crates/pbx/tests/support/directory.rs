//! The directory the tests give the PBX: the crate's own `PlanDirectory`,
//! the same one the server uses.

pub use pbx::PlanDirectory;
