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
    /// The credential of an authentication user name (`201`, `op1`) at wall-clock time
    /// `wall_ms` (a renumbered extension's old number logs in until its `login_until`).
    fn credential(&self, auth_user: &str, wall_ms: i64) -> Option<Credential>;
    /// Whether `auth_user` may register address-of-record `aor`.
    fn may_register(&self, auth_user: &str, aor: &str) -> bool;
    /// The caller identity of an authenticated user.
    fn identity(&self, auth_user: &str) -> Option<Identity>;
    /// The extension reached by dialling `number`.
    fn extension(&self, number: &str) -> Option<Identity>;
    /// The number in use now for an address-of-record a phone registers: a renumbered
    /// extension's phone still configured with its old number binds the new one.
    fn current_number(&self, aor: &str) -> Option<String> {
        let _ = aor;
        None
    }
}

/// The loaded dialplan as the PBX's directory: accounts and their credentials,
/// who may register which address-of-record, and the numbers callers can reach
/// (extensions, and the operator position, which rings the logged-in operators).
pub struct PlanDirectory(pub std::sync::Arc<dialplan::Plan>);

impl Directory for PlanDirectory {
    fn credential(&self, auth_user: &str, wall_ms: i64) -> Option<Credential> {
        let account = self.0.account(auth_user)?;
        if let Some(until) = account.login_until {
            let today = dialplan::jiff::Timestamp::from_millisecond(wall_ms)
                .ok()?
                .to_zoned_datetime(self.0.settings().time_zone.clone())
                .date();
            if today > until {
                return None;
            }
        }
        Some(account).map(|a| match &a.credential {
            dialplan::Credential::Plain(p) => Credential::Plain(p.clone()),
            dialplan::Credential::Ha1 { md5, sha256 } => Credential::Ha1 {
                md5: md5.clone(),
                sha256: sha256.clone(),
            },
        })
    }

    fn may_register(&self, auth_user: &str, aor: &str) -> bool {
        self.0
            .account(auth_user)
            .is_some_and(|a| a.aors.iter().any(|x| x == aor))
    }

    fn identity(&self, auth_user: &str) -> Option<Identity> {
        let account = self.0.account(auth_user)?;
        let number = account.aors.first()?.clone();
        let display = self.0.extension(&number).map(|e| e.name.clone());
        Some(Identity { number, display })
    }

    fn current_number(&self, aor: &str) -> Option<String> {
        self.0.renumbered(aor).map(|e| e.number.clone())
    }

    fn extension(&self, number: &str) -> Option<Identity> {
        if let Some(e) = self.0.extension(number) {
            return Some(Identity {
                number: e.number.clone(),
                display: Some(e.name.clone()).filter(|n| !n.is_empty()),
            });
        }
        (number == self.0.operators().position).then(|| Identity {
            number: number.to_string(),
            display: Some("Operator".into()),
        })
    }
}
