//! The loaded dialplan as the PBX's directory: the same rules as the
//! server's `PlanDirectory` (which lives in the binary crate).

use dialplan::Plan;
use pbx::{Directory, Identity};
use sip::auth::Credential;
use std::sync::Arc;

/// A loaded plan shared with the PBX.
pub struct PlanDirectory(pub Arc<Plan>);

impl Directory for PlanDirectory {
    fn credential(&self, auth_user: &str) -> Option<Credential> {
        self.0.account(auth_user).map(|a| match &a.credential {
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

    fn extension(&self, number: &str) -> Option<Identity> {
        if let Some(e) = self.0.extension(number) {
            return Some(Identity {
                number: e.number.clone(),
                display: Some(e.name.clone()).filter(|n| !n.is_empty()),
            });
        }
        // The operator position rings every logged-in operator.
        if number == "0" {
            return Some(Identity {
                number: "0".into(),
                display: Some("Operator".into()),
            });
        }
        None
    }
}
