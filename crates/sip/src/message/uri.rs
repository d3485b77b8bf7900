//! SIP, SIPS and TEL URIs (RFC 3261 §19.1, RFC 3966), parsed leniently
//! enough for the RFC 4475 torture messages and printed canonically.

use super::params::Params;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The scheme of a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
    /// Any other scheme, kept as written (lower-cased).
    Other(String),
}

impl Scheme {
    fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

/// The host part of a SIP URI or Via header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A domain name, as written.
    Domain(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets).
    V6(Ipv6Addr),
    /// No host: TEL URIs and other schemes.
    None,
}

impl Host {
    /// Parses a host: `[v6]`, dotted IPv4, or a domain name.
    pub fn parse(text: &str) -> Result<Host, String> {
        let t = text.trim();
        if let Some(inner) = t.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| format!("expected `]` closing the IPv6 host, found `{t}`"))?;
            return Ipv6Addr::from_str(inner)
                .map(Host::V6)
                .map_err(|_| format!("expected an IPv6 address, found `{inner}`"));
        }
        if t.is_empty() {
            return Err("expected a host, found nothing".into());
        }
        if let Ok(v4) = Ipv4Addr::from_str(t) {
            return Ok(Host::V4(v4));
        }
        if t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            Ok(Host::Domain(t.to_string()))
        } else {
            Err(format!("expected a host name or IP address, found `{t}`"))
        }
    }

    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a) => Some(IpAddr::V6(*a)),
            _ => None,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
            Host::None => Ok(()),
        }
    }
}

/// A URI. For SIP and SIPS every field is meaningful; for TEL the number
/// is in `user` and `host` is [`Host::None`]; for other schemes the whole
/// scheme-specific part is in `user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part (still %-escaped as written).
    pub user: Option<String>,
    /// The password part, if any (deprecated but legal).
    pub password: Option<String>,
    /// The host.
    pub host: Host,
    /// The port, if written.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// URI headers after `?`, unparsed.
    pub headers: Option<String>,
}

impl Uri {
    /// Builds `sip:user@host:port`.
    pub fn sip(user: Option<&str>, host: Host, port: Option<u16>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_string),
            password: None,
            host,
            port,
            params: Params::new(),
            headers: None,
        }
    }

    /// Parses a URI, reporting what was expected where it fails.
    pub fn parse(text: &str) -> Result<Uri, String> {
        let t = text.trim();
        let (scheme, rest) = t
            .split_once(':')
            .ok_or_else(|| format!("expected `scheme:` at the start of a URI, found `{t}`"))?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("expected a URI scheme, found `{scheme}`"));
        }
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            other => Scheme::Other(other.to_string()),
        };
        match scheme {
            Scheme::Sip | Scheme::Sips => Self::parse_sip(scheme, rest),
            Scheme::Tel => {
                let (num, params) = match rest.split_once(';') {
                    Some((n, p)) => (n, Params::parse(p)),
                    None => (rest, Params::new()),
                };
                if num.is_empty() {
                    return Err("expected a telephone number after `tel:`".into());
                }
                Ok(Uri {
                    scheme,
                    user: Some(num.to_string()),
                    password: None,
                    host: Host::None,
                    port: None,
                    params,
                    headers: None,
                })
            }
            Scheme::Other(_) => Ok(Uri {
                scheme,
                user: Some(rest.to_string()),
                password: None,
                host: Host::None,
                port: None,
                params: Params::new(),
                headers: None,
            }),
        }
    }

    fn parse_sip(scheme: Scheme, rest: &str) -> Result<Uri, String> {
        if rest
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(format!(
                "expected no spaces or angle brackets in a SIP URI, found `{rest}`"
            ));
        }
        // `@` cannot appear unescaped in a user, password, parameter or header
        // (RFC 3261 §25.1), so the first one ends the userinfo; the user part
        // itself may hold `?`, `;` and `,` (RFC 4475 §3.1.1.2, §3.1.1.9).
        let (userinfo, after_user) = match rest.find('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (hostpart, headers) = match after_user.split_once('?') {
            Some((a, h)) => (a, Some(h.to_string())),
            None => (after_user, None),
        };
        let (user, password) = match userinfo {
            Some(ui) => {
                if ui.is_empty() {
                    return Err("expected a user before `@`, found nothing".into());
                }
                match ui.split_once(':') {
                    Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                    None => (Some(ui.to_string()), None),
                }
            }
            None => (None, None),
        };
        let (hostport, params) = match hostpart.find(';') {
            Some(i) => (&hostpart[..i], Params::parse(&hostpart[i..])),
            None => (hostpart, Params::new()),
        };
        let (host_text, port_text) = if hostport.starts_with('[') {
            match hostport.find(']') {
                Some(i) => {
                    let after = &hostport[i + 1..];
                    let port = match after.strip_prefix(':') {
                        Some(p) => Some(p),
                        None if after.is_empty() => None,
                        None => return Err(format!("expected `:port` after `]`, found `{after}`")),
                    };
                    (&hostport[..=i], port)
                }
                None => return Err(format!("expected `]` in IPv6 host `{hostport}`")),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        let host = Host::parse(host_text)?;
        let port = match port_text {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("expected a port number 0-65535, found `{p}`"))?,
            ),
            None => None,
        };
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// The user part with %-escapes decoded (lossy for invalid UTF-8).
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_deref().map(percent_decode)
    }

    /// Whether this is a `sip:` or `sips:` URI.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// The `transport` URI parameter, lower-cased.
    pub fn transport(&self) -> Option<String> {
        self.params
            .value("transport")
            .map(|t| t.to_ascii_lowercase())
    }
}

/// Decodes `%HH` escapes. Invalid escapes are kept as written.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl FromStr for Uri {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        match self.scheme {
            Scheme::Sip | Scheme::Sips => {
                if let Some(u) = &self.user {
                    f.write_str(u)?;
                    if let Some(p) = &self.password {
                        write!(f, ":{p}")?;
                    }
                    f.write_str("@")?;
                }
                write!(f, "{}", self.host)?;
                if let Some(p) = self.port {
                    write!(f, ":{p}")?;
                }
                write!(f, "{}", self.params)?;
                if let Some(h) = &self.headers {
                    write!(f, "?{h}")?;
                }
                Ok(())
            }
            Scheme::Tel => write!(f, "{}{}", self.user.as_deref().unwrap_or(""), self.params),
            Scheme::Other(_) => f.write_str(self.user.as_deref().unwrap_or("")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let u = Uri::parse("sip:201@127.0.0.1:5060;transport=tcp").unwrap();
        assert_eq!(u.user.as_deref(), Some("201"));
        assert_eq!(u.host, Host::V4(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(u.port, Some(5060));
        assert_eq!(u.transport().as_deref(), Some("tcp"));
        assert_eq!(u.to_string(), "sip:201@127.0.0.1:5060;transport=tcp");
        let v6 = Uri::parse("sip:[2001:db8::10]:5070").unwrap();
        assert_eq!(v6.port, Some(5070));
        assert_eq!(v6.to_string(), "sip:[2001:db8::10]:5070");
        let esc =
            Uri::parse("sip:sip%3Auser%40example.com@example.com;other-param=summit").unwrap();
        assert_eq!(
            esc.user_unescaped().as_deref(),
            Some("sip:user@example.com")
        );
        let user_params = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(
            user_params.user.as_deref(),
            Some("user;par=u%40example.net")
        );
        let odd = Uri::parse(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        )
        .unwrap();
        assert_eq!(
            odd.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            odd.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(odd.headers, None);
        let hdrs = Uri::parse("sip:user@example.com?Route=%3Csip:example.com%3E").unwrap();
        assert_eq!(hdrs.host, Host::Domain("example.com".into()));
        assert_eq!(hdrs.headers.as_deref(), Some("Route=%3Csip:example.com%3E"));
        let tel = Uri::parse("tel:+1-201-555-0123;phone-context=x").unwrap();
        assert_eq!(tel.to_string(), "tel:+1-201-555-0123;phone-context=x");
    }

    #[test]
    fn rejects_bad_ports_and_hosts() {
        assert!(Uri::parse("sip:a@host:99999").unwrap_err().contains("port"));
        assert!(Uri::parse("sip:a@[::1").is_err());
        assert!(Uri::parse("nocolon").is_err());
    }
}
