//! `POST /api/originate`: the JSON body and its limits, the request the core
//! loop turns into a `pbx::Originate`, and the answers (the call's number, or
//! an error with the status the PBX's reason maps to).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A call for the PBX to place, as `POST /api/originate` accepted it (every field checked
/// against the limits in [`OriginateBody`]); the core loop turns it into a `pbx::Originate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateRequest {
    /// The extension number to call.
    pub target: String,
    /// The From display name; `None`: the PBX's default ("Switchboard").
    pub display: Option<String>,
    /// Prompt names of the dialplan to play, in order (at least one).
    pub prompts: Vec<String>,
    /// The prompts' language; `None`: the dialplan's default language.
    pub language: Option<String>,
    /// How many digits to collect (0: just play the prompts).
    pub max_digits: usize,
    /// How long to wait for digits after the prompts ended.
    pub digit_timeout: Duration,
}

/// Why a call was not placed: the HTTP status to answer and a message for the `error` field.
///
/// The statuses `POST /api/originate` documents: 404 the target is no extension of the plan,
/// 409 it has no registered phone, 422 a prompt is not in the plan (in that language), 503 no
/// dialplan, no free media ports or too many calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateFailure {
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for people.
    pub message: String,
}

impl OriginateFailure {
    /// A failure answered with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        OriginateFailure {
            status,
            message: message.into(),
        }
    }
}

impl From<OriginateRequest> for pbx::Originate {
    fn from(r: OriginateRequest) -> Self {
        pbx::Originate {
            target: r.target,
            display: r.display,
            purpose: pbx::Purpose::Announcement(pbx::Announcement {
                prompts: r.prompts,
                language: r.language,
                max_digits: r.max_digits,
                digit_timeout: r.digit_timeout,
            }),
        }
    }
}

impl From<&pbx::OriginateError> for OriginateFailure {
    fn from(e: &pbx::OriginateError) -> Self {
        use pbx::OriginateError as E;
        let status = match e {
            E::UnknownTarget(_) => 404,
            E::NotRegistered(_) => 409,
            E::UnknownPrompt(_) => 422,
            E::NoDialplan | E::NoMediaPorts | E::TooManyCalls => 503,
        };
        OriginateFailure::new(status, e.to_string())
    }
}

/// The most digits a placed call may collect.
pub const MAX_ORIGINATE_DIGITS: usize = 20;
/// The digit timeout a placed call gets when the request names none, seconds.
pub const DEFAULT_DIGIT_TIMEOUT_S: u64 = 10;
/// The longest digit timeout a request may ask for, seconds.
pub const MAX_DIGIT_TIMEOUT_S: u64 = 120;
/// The most prompts one placed call may play.
pub const MAX_ORIGINATE_PROMPTS: usize = 32;
/// The longest target, prompt name, language or display name accepted, in characters.
const MAX_ORIGINATE_TEXT: usize = 64;
/// The largest `POST /api/originate` body accepted, bytes.
pub const ORIGINATE_BODY_LIMIT: usize = 16 * 1024;

/// The JSON body of `POST /api/originate` (what `switchboard originate` sends). Unknown fields are
/// refused, so a misspelt option is an error rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateBody {
    /// The extension number to call.
    pub target: String,
    /// Prompt names of the dialplan, at least one.
    pub prompts: Vec<String>,
    /// The prompts' language (default: the dialplan's default language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How many digits to collect, 0 to [`MAX_ORIGINATE_DIGITS`] (default 0: just play).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_digits: Option<usize>,
    /// Seconds to wait for digits after the prompts, 1 to [`MAX_DIGIT_TIMEOUT_S`] (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit_timeout_s: Option<u64>,
    /// The display name the called phone shows (default "Switchboard").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl OriginateBody {
    /// Reads a request body: a JSON object with these fields (serde would also take an array of
    /// the values in order, which this refuses), checked with [`OriginateBody::validate`].
    pub fn parse(body: &[u8]) -> Result<OriginateRequest, String> {
        let expected = r#"expected a JSON object such as {"target":"201","prompts":["welcome"]}"#;
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("{expected}: {e}"))?;
        if !value.is_object() {
            return Err(format!("{expected}, found {}", json_type(&value)));
        }
        serde_json::from_value::<OriginateBody>(value)
            .map_err(|e| format!("{expected}: {e}"))?
            .validate()
    }

    /// Checks the limits and fills in the defaults; the error says which field is wrong.
    pub fn validate(self) -> Result<OriginateRequest, String> {
        text_field("target", &self.target)?;
        if self.prompts.is_empty() {
            return Err("`prompts` must name at least one prompt".into());
        }
        if self.prompts.len() > MAX_ORIGINATE_PROMPTS {
            return Err(format!(
                "`prompts` may name at most {MAX_ORIGINATE_PROMPTS} prompts, found {}",
                self.prompts.len()
            ));
        }
        for p in &self.prompts {
            text_field("prompts", p)?;
        }
        if let Some(l) = &self.language {
            text_field("language", l)?;
        }
        if let Some(d) = &self.display {
            text_field("display", d)?;
        }
        let max_digits = self.max_digits.unwrap_or(0);
        if max_digits > MAX_ORIGINATE_DIGITS {
            return Err(format!(
                "`max_digits` must be 0 to {MAX_ORIGINATE_DIGITS}, found {max_digits}"
            ));
        }
        let timeout = self.digit_timeout_s.unwrap_or(DEFAULT_DIGIT_TIMEOUT_S);
        if !(1..=MAX_DIGIT_TIMEOUT_S).contains(&timeout) {
            return Err(format!(
                "`digit_timeout_s` must be 1 to {MAX_DIGIT_TIMEOUT_S} seconds, found {timeout}"
            ));
        }
        Ok(OriginateRequest {
            target: self.target,
            display: self.display,
            prompts: self.prompts,
            language: self.language,
            max_digits,
            digit_timeout: Duration::from_secs(timeout),
        })
    }
}

/// The JSON type of `value`, for messages.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Refuses empty text, control characters (they could end a SIP header line) and text longer than
/// [`MAX_ORIGINATE_TEXT`] characters in field `name`.
fn text_field(name: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("`{name}` must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("`{name}` must not contain control characters"));
    }
    let length = value.chars().count();
    if length > MAX_ORIGINATE_TEXT {
        return Err(format!(
            "`{name}` may have at most {MAX_ORIGINATE_TEXT} characters, found {length}"
        ));
    }
    Ok(())
}

/// The answer to a successful `POST /api/originate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginateAccepted {
    /// The placed call's number (the PBX's `CallKey`, as in the server's log).
    pub call: u64,
}

/// The body of an error answer of `POST /api/originate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<OriginateRequest, String> {
        OriginateBody::parse(json.as_bytes())
    }

    #[test]
    fn originate_body_defaults_and_limits() {
        assert_eq!(
            body(r#"{"target":"201","prompts":["welcome"]}"#),
            Ok(OriginateRequest {
                target: "201".into(),
                display: None,
                prompts: vec!["welcome".into()],
                language: None,
                max_digits: 0,
                digit_timeout: Duration::from_secs(10),
            })
        );
        assert_eq!(
            body(
                r#"{"target":"201","prompts":["welcome","goodbye"],"language":"en","max_digits":1,"digit_timeout_s":10,"display":"Front desk"}"#
            ),
            Ok(OriginateRequest {
                target: "201".into(),
                display: Some("Front desk".into()),
                prompts: vec!["welcome".into(), "goodbye".into()],
                language: Some("en".into()),
                max_digits: 1,
                digit_timeout: Duration::from_secs(10),
            })
        );
        let refused = [
            (r#"{"target":"201","prompts":[]}"#, "at least one prompt"),
            (r#"{"target":"201"}"#, "missing field `prompts`"),
            (r#"{"prompts":["welcome"]}"#, "missing field `target`"),
            (
                r#"{"target":"","prompts":["welcome"]}"#,
                "`target` must not be empty",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"max_digits":21}"#,
                "`max_digits` must be 0 to 20",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"max_digits":-1}"#,
                "invalid value",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"digit_timeout_s":0}"#,
                "1 to 120 seconds, found 0",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"digit_timeout_s":121}"#,
                "found 121",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"digits":1}"#,
                "unknown field `digits`",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"display":"a\r\nX-Evil: 1"}"#,
                "control characters",
            ),
            (
                r#"{"target":"201","prompts":[""]}"#,
                "`prompts` must not be empty",
            ),
            (
                r#"["201",["welcome"],null,null,null,null]"#,
                "found an array",
            ),
            ("{", "EOF while parsing"),
        ];
        for (json, expected) in refused {
            let err = body(json).expect_err(json);
            assert!(
                err.contains(expected),
                "{json}: expected `{expected}` in `{err}`"
            );
        }
        let long = "x".repeat(65);
        let err = body(&format!(
            r#"{{"target":"201","prompts":["welcome"],"display":"{long}"}}"#
        ))
        .unwrap_err();
        assert!(err.contains("at most 64 characters, found 65"), "{err}");
    }

    #[test]
    fn originate_errors_map_to_the_documented_statuses() {
        use pbx::OriginateError as E;
        let cases = [
            (E::UnknownTarget("999".into()), 404),
            (E::NotRegistered("202".into()), 409),
            (E::UnknownPrompt("nope (en)".into()), 422),
            (E::NoDialplan, 503),
            (E::NoMediaPorts, 503),
            (E::TooManyCalls, 503),
        ];
        for (error, status) in cases {
            let failure = OriginateFailure::from(&error);
            assert_eq!(failure.status, status, "{error:?}");
            assert_eq!(failure.message, error.to_string());
        }
    }

    #[test]
    fn originate_body_serializes_only_what_was_given() {
        let body = OriginateBody {
            target: "201".into(),
            prompts: vec!["welcome".into()],
            language: None,
            max_digits: Some(1),
            digit_timeout_s: None,
            display: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"target":"201","prompts":["welcome"],"max_digits":1}"#
        );
    }
}
