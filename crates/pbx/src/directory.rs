//! Who exists: the PBX asks the directory (the loaded dialplan) for
//! credentials, registration rights and extensions, through a trait so
//! that call logic can be tested with a small in-memory directory.

use sip::auth::Credential;

/// A party the PBX can name: an extension number and its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The extension number (`201`, `0`).
    pub number: String,
    /// The display name, if any.
    pub display: Option<String>,
}

/// The PBX's view of the dialplan's directory.
pub trait Directory: Send + Sync {
    /// The credential of an authentication user name (`201`, `op1`).
    fn credential(&self, auth_user: &str) -> Option<Credential>;
    /// Whether `auth_user` may register address-of-record `aor`.
    fn may_register(&self, auth_user: &str, aor: &str) -> bool;
    /// The caller identity of an authenticated user.
    fn identity(&self, auth_user: &str) -> Option<Identity>;
    /// The extension reached by dialling `number`.
    fn extension(&self, number: &str) -> Option<Identity>;
}
