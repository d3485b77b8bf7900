//! The PBX settings derived from the loaded dialplan and the command line
//! (the directory itself is [`pbx::PlanDirectory`]).

use dialplan::Plan;
use pbx::PbxConfig;
use sip::endpoint::Transport;
use sip::registrar::RegistrarPolicy;
use std::net::{IpAddr, SocketAddr};

/// The PBX's codec preference from the dialplan's `settings.codecs` (PCMU,
/// PCMA, G722), in the admin's order. A name the dialplan accepts but the media
/// engine does not speak (`opus`) is left out with a warning.
pub fn pbx_codecs(names: &[String]) -> Vec<pbx::sdp::Codec> {
    let mut codecs = Vec::new();
    for name in names {
        match pbx::sdp::codec_from_name(name) {
            Some(c) => codecs.push(c),
            None => tracing::warn!(
                codec = %name,
                "codec in settings.codecs is not supported by the media engine (PCMU, PCMA, G722); ignored"
            ),
        }
    }
    if codecs.is_empty() {
        tracing::error!(
            listed = ?names,
            "settings.codecs names no supported codec: every call will be refused with 488"
        );
    }
    codecs
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
        codecs: pbx_codecs(&s.codecs),
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

#[cfg(test)]
mod tests {
    use super::*;
    use pbx::sdp::Codec;

    #[test]
    fn dialplan_codec_names_map_in_order_and_g722_takes_effect() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            pbx_codecs(&names(&["G722", "PCMU", "PCMA"])),
            vec![Codec::G722, Codec::Pcmu, Codec::Pcma]
        );
        assert_eq!(
            pbx_codecs(&names(&["PCMA", "opus", "G722"])),
            vec![Codec::Pcma, Codec::G722]
        );
        assert_eq!(pbx_codecs(&names(&["opus"])), vec![]);
    }
}
