//! The directory: extensions, number ranges, accounts and operators.

use std::collections::BTreeMap;

/// How a phone proves who it is: a plain password or precomputed digest hashes.
///
/// HA1 is `H(user:realm:password)` as in RFC 7616, in lowercase hex; MD5 gives 32
/// characters and SHA-256 gives 64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The password itself, as written in the dialplan.
    Plain(String),
    /// Precomputed HA1 values; at least one is present.
    Ha1 {
        /// `MD5(user:realm:password)` in lowercase hex.
        md5: Option<String>,
        /// `SHA-256(user:realm:password)` in lowercase hex.
        sha256: Option<String>,
    },
}

/// What an extension is used for. In routing, `Room` phones may not dial paging groups, and
/// the pbx treats a room by whether a guest stays in it (class of service, the caller's name
/// shown to staff, the guest's language; see docs/hotel.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionKind {
    /// A staff phone (the default for entries under `extensions:`).
    Staff,
    /// A guest room (the default for entries under `ranges:`).
    Room,
    /// A service point such as the kitchen or a lobby phone.
    Service,
}

impl ExtensionKind {
    pub(crate) const NAMES: [&'static str; 3] = ["staff", "room", "service"];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "staff" => Some(Self::Staff),
            "room" => Some(Self::Room),
            "service" => Some(Self::Service),
            _ => None,
        }
    }
}

/// One dialable phone number in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The number callers dial, for example `201` or `8105`.
    pub number: String,
    /// The display name, for example `Front Desk` or `Room 8105`.
    pub name: String,
    /// How the phone at this number authenticates; None means it cannot register.
    pub credential: Option<Credential>,
    /// The language of prompts for calls from this extension.
    pub language: String,
    /// Whether callers who reach no one may leave a message (reserved for the messages feature).
    pub voicemail: bool,
    /// Whether calls from this number are placed ahead of ordinary callers in the operator queue.
    pub vip: bool,
    /// What the extension is used for.
    pub kind: ExtensionKind,
    /// Whether bridged calls to or from this extension are recorded (as with `settings.record_calls`).
    pub record: bool,
    /// Where every call from this phone goes at once, whatever was dialled: an extension,
    /// a ring group's number or the operator position (a lobby or lift phone).
    pub hotline: Option<String>,
    /// Numbers this extension had before it was renumbered, in file order. Callers who
    /// dial one hear the new number (see [`crate::Plan::renumbered`]).
    pub previous_numbers: Vec<String>,
}

/// An authentication user name with its credential and the addresses-of-record it may register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The digest user name (an extension's number, or an operator's name such as `op1`).
    pub user: String,
    /// The credential to check the digest response against.
    pub credential: Credential,
    /// The addresses-of-record (user parts) this account may bind, for example `["201"]` or `["0"]`.
    pub aors: Vec<String>,
    /// True for operator accounts, whose binding to the operator position is their login.
    pub operator: bool,
    /// The last day this account may authenticate, for the old number of a renumbered
    /// extension given with `login_until`; None for every other account. The pbx compares
    /// it with today's date in the hotel's time zone (`settings.time_zone`).
    pub login_until: Option<jiff::civil::Date>,
}

/// One human operator who logs in by registering to the operator position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// The authentication user name, for example `op1`.
    pub user: String,
    /// The operator's display name.
    pub name: String,
    /// The operator's own credential.
    pub credential: Credential,
}

/// The operator position and the people who may log in to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operators {
    /// The number of the operator position, `0` unless configured otherwise.
    pub position: String,
    /// The name of the queue callers wait in for an operator.
    pub queue: String,
    /// The operators, in the order the dialplan lists them.
    pub accounts: Vec<Operator>,
    /// Outside caller numbers placed ahead of ordinary callers in the queue, like VIP
    /// extensions (digits, optionally with a leading `+`).
    pub vip_callers: Vec<String>,
}

/// A block of consecutive numbers generated from one template (for example rooms 8101-8130).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NumberRange {
    pub first: u64,
    pub last: u64,
    pub width: usize,
    /// The extension for the first number; `{number}` in name and password is replaced per number.
    pub template: Extension,
}

impl NumberRange {
    /// Formats `n` with this range's width.
    pub fn format(&self, n: u64) -> String {
        format!("{n:0width$}", width = self.width)
    }

    /// Builds the extension for `n`, replacing `{number}` in the name and password.
    pub fn expand(&self, n: u64) -> Extension {
        let number = self.format(n);
        let mut ext = self.template.clone();
        ext.name = ext.name.replace("{number}", &number);
        if let Some(Credential::Plain(p)) = &ext.credential {
            ext.credential = Some(Credential::Plain(p.replace("{number}", &number)));
        }
        ext.number = number;
        ext
    }
}

/// The passwords shipped in the demo dialplan; accounts still using them are reported as weak.
pub(crate) const DEMO_PASSWORDS: [&str; 5] = [
    "secret201",
    "secret202",
    "secret203",
    "secretop1",
    "secretop2",
];

/// The room password template shipped in the demo dialplan.
pub(crate) const DEMO_ROOM_PASSWORD: &str = "room{number}";

/// The directory as loaded: every extension (ranges expanded) and the operators.
#[derive(Clone, Debug, Default)]
pub(crate) struct Directory {
    pub extensions: BTreeMap<String, Extension>,
    pub operators: Option<Operators>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms() -> NumberRange {
        NumberRange {
            first: 8101,
            last: 8130,
            width: 4,
            template: Extension {
                number: "8101".into(),
                name: "Room {number}".into(),
                credential: Some(Credential::Plain("room{number}".into())),
                language: "en".into(),
                voicemail: false,
                vip: false,
                kind: ExtensionKind::Room,
                record: false,
                hotline: None,
                previous_numbers: Vec::new(),
            },
        }
    }

    #[test]
    fn range_expansion_fills_the_template() {
        let r = rooms();
        let e = r.expand(8105);
        assert_eq!(e.name, "Room 8105");
        assert_eq!(e.credential, Some(Credential::Plain("room8105".into())));
    }
}
