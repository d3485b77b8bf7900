//! The loaded dialplan as the PBX's [`pbx::Directory`], and the PBX
//! settings derived from it.

use dialplan::Plan;
use pbx::{Directory, Identity, PbxConfig};
use sip::auth::Credential;
use sip::endpoint::Transport;
use sip::registrar::RegistrarPolicy;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A loaded plan shared with the PBX.
pub struct PlanDirectory(pub Arc<Plan>);

fn credential(c: &dialplan::Credential) -> Credential {
    match c {
        dialplan::Credential::Plain(p) => Credential::Plain(p.clone()),
        dialplan::Credential::Ha1 { md5, sha256 } => Credential::Ha1 {
            md5: md5.clone(),
            sha256: sha256.clone(),
        },
    }
}

impl Directory for PlanDirectory {
    fn credential(&self, auth_user: &str) -> Option<Credential> {
        self.0.account(auth_user).map(|a| credential(&a.credential))
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

/// The PBX settings from the plan and the command line.
pub fn pbx_config(plan: &Plan, public_ip: IpAddr, sip_addrs: &[SocketAddr]) -> PbxConfig {
    let s = plan.settings();
    let mut contacts = Vec::new();
    if let Some(first) = sip_addrs.first() {
        let advertised = SocketAddr::new(public_ip, first.port());
        contacts.push((Transport::Udp, advertised));
        contacts.push((Transport::Tcp, advertised));
    }
    PbxConfig {
        public_ip,
        contacts,
        codecs: s
            .codecs
            .iter()
            .filter_map(|c| pbx::sdp::codec_from_name(c))
            .collect(),
        ring_timeout: s.ring_timeout,
        max_concurrent_calls: s.max_concurrent_calls as usize,
        max_calls_per_second: s.max_calls_per_second,
        registrar: RegistrarPolicy {
            min_expires: s.min_expires,
            max_expires: s.max_expires,
            default_expires: s.max_expires.min(3600),
            ..RegistrarPolicy::default()
        },
        retry_after_secs: 5,
    }
}
