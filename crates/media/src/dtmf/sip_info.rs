//! DTMF carried in SIP INFO bodies, the fallback for phones without RFC 4733.
//!
//! * `application/dtmf-relay`: lines of `Signal=5` and `Duration=160` (milliseconds).
//! * `application/dtmf`: the digit alone, e.g. `5`.
//!
//! Both also appear with `10`/`11` for `*`/`#`; keys and values are trimmed and keys are
//! case-insensitive.

use std::fmt;

use super::{digit_of, event_code};

/// A digit received in a SIP INFO body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipInfoDtmf {
    /// The digit (`0-9 * # A-D`).
    pub digit: char,
    /// The duration in milliseconds, if the body gave one.
    pub duration_ms: Option<u32>,
}

/// Why a SIP INFO body carried no usable digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipInfoError {
    /// The content type is not one of the two DTMF types.
    ContentType(String),
    /// No `Signal=` line in an `application/dtmf-relay` body.
    NoSignal,
    /// The signal was not a DTMF digit.
    Signal(String),
    /// The duration was not a number of milliseconds.
    Duration(String),
}

impl fmt::Display for SipInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SipInfoError::ContentType(t) => write!(
                f,
                "expected Content-Type application/dtmf-relay or application/dtmf, found {t:?}"
            ),
            SipInfoError::NoSignal => write!(f, "expected a Signal= line in the dtmf-relay body"),
            SipInfoError::Signal(s) => {
                write!(
                    f,
                    "expected a DTMF digit (0-9 * # A-D or 10/11), found {s:?}"
                )
            }
            SipInfoError::Duration(s) => {
                write!(f, "expected Duration in milliseconds, found {s:?}")
            }
        }
    }
}

impl std::error::Error for SipInfoError {}

/// Parses the body of a SIP INFO request given its Content-Type (parameters are ignored).
pub fn parse_sip_info(content_type: &str, body: &str) -> Result<SipInfoDtmf, SipInfoError> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/dtmf-relay" => parse_relay(body),
        "application/dtmf" => Ok(SipInfoDtmf {
            digit: parse_signal(body)?,
            duration_ms: None,
        }),
        _ => Err(SipInfoError::ContentType(content_type.to_string())),
    }
}

fn parse_relay(body: &str) -> Result<SipInfoDtmf, SipInfoError> {
    let mut digit = None;
    let mut duration_ms = None;
    for line in body.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "signal" => digit = Some(parse_signal(value)?),
            "duration" => {
                let v = value.trim();
                duration_ms = Some(
                    v.parse::<u32>()
                        .map_err(|_| SipInfoError::Duration(v.to_string()))?,
                );
            }
            _ => {}
        }
    }
    Ok(SipInfoDtmf {
        digit: digit.ok_or(SipInfoError::NoSignal)?,
        duration_ms,
    })
}

fn parse_signal(value: &str) -> Result<char, SipInfoError> {
    let v = value.trim();
    let mut chars = v.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && let Some(code) = event_code(c)
    {
        return digit_of(code).ok_or_else(|| SipInfoError::Signal(v.to_string()));
    }
    match v.parse::<u8>().ok().and_then(|n| (n <= 15).then_some(n)) {
        Some(code) => digit_of(code).ok_or_else(|| SipInfoError::Signal(v.to_string())),
        None => Err(SipInfoError::Signal(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content_type: &str, body: &str, expect: Result<(char, Option<u32>), &str>) {
        let got = parse_sip_info(content_type, body)
            .map(|d| (d.digit, d.duration_ms))
            .map_err(|e| e.to_string());
        match expect {
            Ok(v) => assert_eq!(got, Ok(v), "{body:?}"),
            Err(fragment) => {
                let e = got.expect_err(body);
                assert!(e.contains(fragment), "{e:?} lacks {fragment:?}");
            }
        }
    }

    #[test]
    fn bodies() {
        check(
            "application/dtmf-relay",
            "Signal=5\r\nDuration=160\r\n",
            Ok(('5', Some(160))),
        );
        check(
            "Application/DTMF-Relay; x=y",
            "signal= #\nduration = 250",
            Ok(('#', Some(250))),
        );
        check(
            "application/dtmf-relay",
            "Signal=11\r\nDuration=100",
            Ok(('#', Some(100))),
        );
        check("application/dtmf-relay", "Signal=*", Ok(('*', None)));
        check("application/dtmf-relay", "Signal=d", Ok(('D', None)));
        check("application/dtmf", "5", Ok(('5', None)));
        check("application/dtmf", " 10\r\n", Ok(('*', None)));
        check("application/dtmf-relay", "Duration=160", Err("Signal="));
        check("application/dtmf-relay", "Signal=16", Err("found \"16\""));
        check("application/dtmf-relay", "Signal=x", Err("found \"x\""));
        check(
            "application/dtmf-relay",
            "Signal=1\nDuration=abc",
            Err("found \"abc\""),
        );
        check("application/sdp", "v=0", Err("found \"application/sdp\""));
        check("application/dtmf", "", Err("found \"\""));
    }
}
