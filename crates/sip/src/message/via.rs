//! The Via header (RFC 3261 §20.42, §18.2.2) with rport (RFC 3581).

use super::HeaderError;
use super::params::{Params, split_outside_quotes};
use super::uri::Host;
use std::fmt;
use std::net::SocketAddr;

/// One Via entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token, upper-cased (`UDP`, `TCP`, `TLS`, …).
    pub transport: String,
    /// The sent-by host.
    pub host: Host,
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// Parameters (branch, received, rport, maddr, ttl, …).
    pub params: Params,
}

/// The magic cookie that marks RFC 3261 branch parameters.
pub const BRANCH_MAGIC: &str = "z9hG4bK";

impl Via {
    /// Builds a Via for a request we send.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        params.set("rport", None);
        Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        }
    }

    /// Parses one Via value such as `SIP/2.0/UDP host:5060;branch=z9hG4bK…`.
    pub fn parse(v: &str) -> Result<Via, HeaderError> {
        let invalid = |expected: &str| HeaderError::Invalid {
            header: "Via",
            expected: expected.to_string(),
            found: v.to_string(),
        };
        // sent-protocol: name / version / transport, LWS allowed around the slashes.
        let mut rest = v.trim();
        let mut parts = Vec::new();
        for i in 0..3 {
            rest = rest.trim_start();
            let end = if i < 2 {
                rest.find('/')
                    .ok_or_else(|| invalid("`SIP/2.0/transport`"))?
            } else {
                rest.find(|c: char| c.is_whitespace())
                    .ok_or_else(|| invalid("a space between the transport and sent-by"))?
            };
            parts.push(rest[..end].trim().to_string());
            rest = if i < 2 {
                &rest[end + 1..]
            } else {
                &rest[end..]
            };
        }
        if !parts[0].eq_ignore_ascii_case("SIP") || parts[1] != "2.0" {
            return Err(invalid("protocol `SIP/2.0`"));
        }
        if parts[2].is_empty()
            || !parts[2]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(invalid("a transport token such as UDP or TCP"));
        }
        let rest = rest.trim();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => {
                let text = &rest[i + 1..];
                // `*( SEMI via-params )`: every `;` introduces a parameter (RFC 4475 §3.1.2.1).
                if split_outside_quotes(text, ';')
                    .iter()
                    .any(|p| p.split('=').next().unwrap_or("").trim().is_empty())
                {
                    return Err(invalid("a parameter name after every `;`"));
                }
                (rest[..i].trim(), Params::parse(text))
            }
            None => (rest, Params::new()),
        };
        // A comment in parentheses may follow the parameters; strip it.
        let sent_by = sent_by.trim();
        let (host_text, port_text) = if sent_by.starts_with('[') {
            let close = sent_by
                .find(']')
                .ok_or_else(|| invalid("`]` after an IPv6 host"))?;
            let after = sent_by[close + 1..].trim();
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.trim()),
                None if after.is_empty() => None,
                None => return Err(invalid("`:port` after the IPv6 host")),
            };
            (&sent_by[..=close], port)
        } else {
            match sent_by.split_once(':') {
                Some((h, p)) => (h.trim(), Some(p.trim())),
                None => (sent_by, None),
            }
        };
        let host = Host::parse(host_text).map_err(|_| invalid("a sent-by host"))?;
        let port = match port_text {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| invalid("a sent-by port 0-65535"))?,
            ),
            None => None,
        };
        Ok(Via {
            transport: parts[2].to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// Whether the branch carries the RFC 3261 magic cookie.
    pub fn is_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(BRANCH_MAGIC))
    }

    /// `Some(None)` when `rport` is present without a value (the client asks for it).
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Records where the request really came from (RFC 3261 §18.2.1, RFC 3581 §4).
    pub fn stamp_source(&mut self, source: SocketAddr) {
        let sent_by_ip = self.host.ip();
        if sent_by_ip != Some(source.ip()) {
            self.params.set("received", Some(&source.ip().to_string()));
        }
        if self.params.contains("rport") {
            self.params.set("received", Some(&source.ip().to_string()));
            self.params.set("rport", Some(&source.port().to_string()));
        }
    }

    /// The sent-by as `host:port` text, with the transport's default port if none was written.
    pub fn sent_by(&self) -> String {
        let port = self
            .port
            .unwrap_or(if self.transport == "TLS" { 5061 } else { 5060 });
        format!("{}:{}", self.host, port)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_lws_and_ipv6() {
        let v =
            Via::parse("SIP / 2.0 / UDP [2001:db8::9:1]:5070 ; branch=z9hG4bKas3 ;rport").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.branch(), Some("z9hG4bKas3"));
        assert_eq!(v.rport(), Some(None));
    }

    #[test]
    fn stamps_received_and_rport() {
        let mut v = Via::parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport").unwrap();
        v.stamp_source("127.0.0.1:40000".parse().unwrap());
        assert_eq!(v.params.value("received"), Some("127.0.0.1"));
        assert_eq!(v.rport(), Some(Some(40000)));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Via::parse("HTTP/1.1/UDP host").is_err());
        assert!(Via::parse("SIP/2.0/UDP host:70000").is_err());
        assert!(Via::parse("SIP/2.0/UDP 192.0.2.15;;").is_err());
        assert!(Via::parse("SIP/2.0/UDP h;branch=z9hG4bK1;=x").is_err());
    }
}
