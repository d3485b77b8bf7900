//! The PBX settings derived from the loaded dialplan and the command line
//! (the directory itself is [`pbx::PlanDirectory`]).

use dialplan::Plan;
use pbx::PbxConfig;
use sip::endpoint::Transport;
use sip::registrar::RegistrarPolicy;
use std::net::{IpAddr, SocketAddr};

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
