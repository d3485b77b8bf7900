//! The data the registrar works on: where a REGISTER came from, the
//! bindings of an address-of-record, and the changes to store.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// The transport a REGISTER arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindingTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket.
    Wss,
}

impl BindingTransport {
    /// The lower-case name, as stored in a database.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingTransport::Udp => "udp",
            BindingTransport::Tcp => "tcp",
            BindingTransport::Tls => "tls",
            BindingTransport::Ws => "ws",
            BindingTransport::Wss => "wss",
        }
    }
}

impl FromStr for BindingTransport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            BindingTransport::Udp,
            BindingTransport::Tcp,
            BindingTransport::Tls,
            BindingTransport::Ws,
            BindingTransport::Wss,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("expected udp, tcp, tls, ws or wss, found `{s}`"))
    }
}

impl fmt::Display for BindingTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a REGISTER came from, as plain data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BindingSource {
    /// The transport.
    pub transport: BindingTransport,
    /// The source address and port of the packet or connection.
    pub addr: SocketAddr,
    /// The server's id of the connection for connection-oriented transports.
    pub connection: Option<u64>,
}

/// One registered contact of an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The address-of-record, e.g. `sip:201@pbx.example`.
    pub aor: String,
    /// The contact URI as text (URI parameters kept, header parameters not).
    pub contact: String,
    /// Where the REGISTER came from.
    pub source: BindingSource,
    /// The Call-ID of the REGISTER that made or last refreshed the binding.
    pub call_id: String,
    /// Its CSeq number.
    pub cseq: u32,
    /// When the binding expires, in Unix milliseconds.
    pub expires_at_ms: i64,
    /// The `q` preference times 1000 (0 to 1000), if given.
    pub q: Option<u16>,
    /// The User-Agent header of the REGISTER.
    pub user_agent: Option<String>,
    /// The `+sip.instance` value (RFC 5626), unquoted, e.g. `<urn:uuid:…>`.
    pub instance: Option<String>,
    /// The digest user name that authenticated the REGISTER (for example `op1` binding the
    /// operator position `0`); `None` for bindings stored before it was recorded.
    pub user: Option<String>,
}

impl Binding {
    /// Whether the binding is still in force at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expires_at_ms > now_ms
    }

    /// Seconds left at `now_ms`, rounded up (0 once expired).
    pub fn remaining_secs(&self, now_ms: i64) -> u64 {
        let ms = self.expires_at_ms.saturating_sub(now_ms).max(0);
        u64::try_from(ms).unwrap_or(0).div_ceil(1000)
    }

    /// The Contact header value listing this binding in a 200 response.
    pub fn contact_header(&self, now_ms: i64) -> String {
        let mut out = format!("<{}>;expires={}", self.contact, self.remaining_secs(now_ms));
        if let Some(q) = self.q {
            out.push_str(&format!(";q={}", format_q(q)));
        }
        if let Some(i) = &self.instance {
            out.push_str(&format!(";+sip.instance=\"{i}\""));
        }
        out
    }
}

/// A change to apply to the binding store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Insert or replace the binding with this AOR and contact text.
    Upsert(Binding),
    /// Delete the binding with this AOR and contact text.
    Remove {
        /// The address-of-record.
        aor: String,
        /// The contact text as stored.
        contact: String,
    },
    /// Delete every binding of the AOR.
    RemoveAll {
        /// The address-of-record.
        aor: String,
    },
}

/// A qvalue (`0`, `0.5`, `1.000`) as thousandths.
pub(super) fn parse_q(text: &str) -> Option<u16> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn format_q(q: u16) -> String {
    if q >= 1000 {
        "1".into()
    } else if q == 0 {
        "0".into()
    } else {
        let s = format!("0.{q:03}");
        s.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues() {
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        for bad in ["1.5", "2", "0.1234", "", "-0", "0.a", ".5"] {
            assert_eq!(parse_q(bad), None, "{bad}");
        }
        assert_eq!(format_q(500), "0.5");
        assert_eq!(format_q(125), "0.125");
        assert_eq!(format_q(1000), "1");
        assert_eq!(format_q(0), "0");
    }
}
