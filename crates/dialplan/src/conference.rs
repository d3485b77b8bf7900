//! Conference rooms: numbers callers dial to talk with everyone else in the room.

use crate::decode::Ctx;
use crate::decode_directory::is_number;
use crate::node::{Node, Pos};
use std::collections::BTreeMap;

/// A conference room from the `conferences:` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conference {
    /// The number that reaches the room, for example `7000`; it identifies the room.
    pub number: String,
    /// The display name, for example `Staff meeting`.
    pub name: String,
    /// The digits a caller must enter (followed by `#`, or simply all of them) before joining.
    pub pin: Option<String>,
    /// Whether the room's conversation is recorded into the recordings directory.
    pub record: bool,
    /// The most members at once; a caller beyond it hears `busy` and is hung up.
    pub max_members: Option<u32>,
}

/// The keys of one entry under `conferences:`.
pub(crate) const CONFERENCE_KEYS: [&str; 5] = ["number", "name", "pin", "record", "max_members"];

/// The longest PIN accepted.
pub(crate) const MAX_PIN_DIGITS: usize = 12;

/// Numbers already taken when conferences are decoded, each with what holds it.
pub(crate) struct TakenNumbers<'a> {
    /// Extension numbers with the place they were defined.
    pub extensions: &'a BTreeMap<String, Pos>,
    /// The operator position.
    pub operator_position: &'a str,
    /// Ring-group numbers.
    pub groups: Vec<&'a str>,
}

/// Decodes the `conferences:` list; problems are reported and the faulty room is left out.
pub(crate) fn decode(ctx: &mut Ctx, node: &Node, taken: &TakenNumbers) -> Vec<Conference> {
    let mut rooms: Vec<Conference> = Vec::new();
    let mut positions: BTreeMap<String, Pos> = BTreeMap::new();
    for item in ctx.list(node, "`conferences`") {
        let Some(f) = ctx.fields(item, "a conference", &CONFERENCE_KEYS) else {
            continue;
        };
        let Some(number_node) = f.require(ctx, "number", "a conference") else {
            continue;
        };
        let Some(number) = ctx.text(number_node, "`number`") else {
            continue;
        };
        if !is_number(&number) {
            ctx.report(
                number_node.pos,
                format!("invalid conference number `{number}`"),
                Some("digits only, such as `7000`".into()),
                None,
                None,
            );
            continue;
        }
        if let Some(at) = taken.extensions.get(&number) {
            ctx.error(
                number_node.pos,
                format!(
                    "conference number `{number}` is also an extension (line {})",
                    at.line
                ),
            );
            continue;
        }
        if number == taken.operator_position || taken.groups.contains(&number.as_str()) {
            ctx.error(
                number_node.pos,
                format!(
                    "conference number `{number}` is also the operator position or a group number"
                ),
            );
            continue;
        }
        if let Some(at) = positions.get(&number) {
            ctx.error(
                number_node.pos,
                format!(
                    "duplicate conference `{number}` (first defined at line {})",
                    at.line
                ),
            );
            continue;
        }
        let name = f
            .get("name")
            .and_then(|n| ctx.text(n, "`name`"))
            .unwrap_or_else(|| number.clone());
        let mut pin = None;
        let mut valid = true;
        if let Some(n) = f.get("pin")
            && let Some(text) = ctx.text(n, "`pin`")
        {
            let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            if digits_only && text.len() <= MAX_PIN_DIGITS {
                pin = Some(text);
            } else {
                ctx.report(
                    n.pos,
                    format!("invalid conference PIN `{text}`"),
                    Some(format!(
                        "1 to {MAX_PIN_DIGITS} digits, quoted to keep leading zeros, such as \"4711\""
                    )),
                    Some(format!("{} characters", text.chars().count())),
                    None,
                );
                valid = false;
            }
        }
        let record = f
            .get("record")
            .and_then(|n| ctx.boolean(n, "`record`"))
            .unwrap_or(false);
        let max_members = f
            .get("max_members")
            .and_then(|n| ctx.number(n, "`max_members`", 2, 1000))
            .and_then(|v| u32::try_from(v).ok());
        positions.insert(number.clone(), number_node.pos);
        if valid {
            rooms.push(Conference {
                number,
                name,
                pin,
                record,
                max_members,
            });
        }
    }
    rooms
}
