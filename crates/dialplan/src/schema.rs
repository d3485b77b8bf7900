//! A JSON Schema of the dialplan format, for editors' completion and inline checks.
//!
//! It is written by hand next to the decoder; a test keeps its key lists equal to the
//! decoder's. The schema cannot express cross-references (a `menu:` naming a real menu),
//! so `switchboard check` remains the authority.

use serde_json::{Value, json};

/// Returns the JSON Schema (draft-07, which yaml-language-server supports) of dialplan files.
pub fn json_schema() -> String {
    serde_json::to_string_pretty(&schema()).unwrap_or_default()
}

fn text(description: &str) -> Value {
    json!({ "type": ["string", "integer"], "description": description })
}

fn reference(name: &str, description: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{name}"), "description": description })
}

fn closed(description: &str, properties: Value) -> Value {
    json!({ "type": "object", "description": description, "additionalProperties": false, "properties": properties })
}

fn directory_entry(first_key: &str, first: Value, kind_default: &str) -> Value {
    let mut props = json!({
        "name": text("Display name; `{number}` is replaced by each number in a range."),
        "password": text("The SIP digest password (user name = the number). Change the demo passwords."),
        "ha1_md5": { "type": "string", "pattern": "^[0-9a-fA-F]{32}$", "description": "MD5(number:realm:password) in hex, instead of `password`." },
        "ha1_sha256": { "type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "SHA-256(number:realm:password) in hex, instead of `password`." },
        "language": { "type": "string", "description": "Prompt language for calls from this phone (a code under prompts.languages)." },
        "voicemail": { "type": "boolean", "description": "Reserved for the messages feature." },
        "vip": { "type": "boolean", "description": "Calls from this number go ahead of ordinary callers in the operator queue." },
        "kind": { "enum": ["staff", "room", "service"], "description": format!("What the number is used for (default {kind_default}).") },
        "record": { "type": "boolean", "description": "Record bridged calls to or from this number into the recordings directory (default false)." }
    });
    props[first_key] = first;
    let mut entry = closed("A directory entry.", props);
    entry["required"] = json!([first_key]);
    entry
}

/// A `retired:` list: numbers, or spans such as `8128-8130`.
fn retired(description: &str) -> Value {
    json!({ "type": "array", "description": description,
        "items": { "type": ["string", "integer"], "pattern": "^\\d+(-\\d+)?$" } })
}

fn feature_code(description: &str) -> Value {
    json!({ "type": ["string", "boolean"], "description": description })
}

fn schema() -> Value {
    let duration = json!({
        "description": "A duration such as `30s`, `5m`, `1h30m`, `500ms`, or a number of seconds.",
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": "^\\s*(\\d+\\s*(ms|s|sec|m|min|h)\\s*)+$" }
        ]
    });
    let prompts = json!({
        "description": "A prompt name (played in the caller's language from <directory>/<language>/<name>.wav), a path with a slash for a fixed file, or a list of them.",
        "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
    });
    let call = json!({
        "description": "Ring an extension or a group (by name or number); `0` means the operator queue.",
        "anyOf": [
            { "type": ["string", "integer"] },
            closed("A call with options.", json!({
                "to": text("The extension number, group name or group number."),
                "ring_timeout": reference("duration", "How long to ring."),
                "if_failed": reference("actions", "What to do when nobody answers (the variable `call_result` says why).")
            }))
        ]
    });
    let action = json!({
        "description": "One action: `hangup`, `operator`, `back`, `repeat`, or a mapping with exactly one key.",
        "anyOf": [
            { "enum": ["hangup", "operator", "back", "repeat"] },
            { "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": false, "properties": {
                "play": reference("prompts", "Play prompts; keys are ignored while they play."),
                "menu": { "type": "string", "description": "Go to a menu." },
                "call": call,
                "queue": { "type": "string", "description": "Wait in a queue for an operator." },
                "conference": text("Join the conference room with this number (asking for its PIN first, if it has one)."),
                "language": { "type": "string", "description": "Switch the prompt language for the rest of the call." },
                "set": { "type": "object", "description": "Set call variables.", "additionalProperties": { "type": ["string", "integer", "boolean"] } },
                "if": closed("Run `then` when a variable equals a value, otherwise `else`.", json!({
                    "variable": { "type": "string" },
                    "equals": text("The value to compare with."),
                    "then": reference("actions", "Actions when equal."),
                    "else": reference("actions", "Actions otherwise.")
                })),
                "hangup": { "type": "null" },
                "operator": { "type": "null" },
                "back": { "type": "null" },
                "repeat": { "type": "null" }
            }}
        ]
    });
    let actions = json!({
        "description": "One action or a list of actions run in order.",
        "anyOf": [{ "$ref": "#/definitions/action" }, { "type": "array", "items": { "$ref": "#/definitions/action" } }]
    });
    let menu = closed(
        "A menu: a greeting, what each key does, and what happens on mistakes.",
        json!({
            "template": { "type": "string", "description": "A menu template under `menu_templates` to start from." },
            "greeting": reference("prompts", "What the caller hears on entering the menu."),
            "interruptible": { "type": "boolean", "description": "Whether a key stops the greeting (default true)." },
            "routes": { "type": "object", "description": "Keys (digits and `*`) and their actions.",
                "propertyNames": { "pattern": "^[0-9*]+$" }, "additionalProperties": reference("actions", "What this key does.") },
            "direct_dial": { "type": "boolean", "description": "Whether callers may dial extensions and group numbers directly (default false)." },
            "connect_prompt": reference("prompts", "Played before a dialled extension rings."),
            "max_digits": { "type": "integer", "minimum": 1, "maximum": 32, "description": "Longest entry (default 4)." },
            "input_timeout": reference("duration", "Silence after the greeting that counts as no input (default 5s)."),
            "digit_timeout": reference("duration", "Pause between keys that ends an entry (default 3s)."),
            "retries": { "type": "integer", "minimum": 0, "maximum": 20, "description": "Repeats after invalid input, and separately after silence (default 3)." },
            "on_invalid": reference("actions", "After a wrong entry (default: play `invalid`), then the menu repeats."),
            "on_no_input": reference("actions", "After silence (default: play `no_input`), then the menu repeats."),
            "after_retries": reference("actions", "When retries are used up (default: play `goodbye`, hang up).")
        }),
    );
    let rule = closed(
        "In this mode on these days between these times.",
        json!({
            "mode": { "enum": ["automatic", "manual"] },
            "days": { "description": "`mon`…`sun`, `mon-fri`, `weekdays`, `weekends`, `daily`, or a list.",
                "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] },
            "from": { "type": "string", "pattern": "^\\d{1,2}:\\d{2}$", "description": "Start time `HH:MM` (quote it)." },
            "to": { "type": "string", "pattern": "^\\d{1,2}:\\d{2}$", "description": "End time `HH:MM`; earlier than `from` wraps past midnight." },
            "dates": closed("A date range: `2026-11-01` once or `11-01` every year.", json!({
                "from": { "type": "string" }, "to": { "type": "string" }
            }))
        }),
    );
    let mut music_rule = rule.clone();
    if let Some(properties) = music_rule["properties"].as_object_mut() {
        properties.remove("mode");
    }
    music_rule["description"] = json!("Music plays on these days between these times.");
    let mut extension = directory_entry("number", text("The number, such as 201."), "staff");
    extension["properties"]["hotline"] = text(
        "Every call from this phone goes here at once, whatever was dialled: an extension, a group number or the operator position.",
    );
    extension["properties"]["previous_numbers"] = json!({
        "type": "array",
        "description": "Numbers this extension had before; callers dialling one hear the new number, and phones may still log in with it (same password).",
        "items": { "anyOf": [
            { "type": ["string", "integer"], "pattern": "^\\d+$" },
            { "type": "object", "additionalProperties": false, "required": ["number"], "properties": {
                "number": text("The old number."),
                "login_until": { "type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$", "description": "The last day (hotel time zone) a phone may still log in with the old number." }
            }}
        ]}
    });
    let mut range_numbers = text("A range such as `8101-8130`.");
    range_numbers["type"] = json!("string");
    range_numbers["pattern"] = json!("^\\d+-\\d+$");
    let mut range = directory_entry("numbers", range_numbers, "room");
    range["properties"]["retired"] = retired(
        "Numbers of this range that are out of service (no extension, no login): numbers or spans such as `8128-8130`.",
    );
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://switchboard.example/dialplan.schema.json",
        "title": "Switchboard dialplan",
        "description": "See docs/dialplan.md. Validate with `switchboard check`.",
        "type": "object",
        "additionalProperties": false,
        "definitions": { "duration": duration, "prompts": prompts, "action": action, "actions": actions, "menu": menu },
        "properties": {
            "settings": closed("System-wide settings.", json!({
                "realm": { "type": "string", "description": "Digest realm (default `switchboard`)." },
                "ring_timeout": reference("duration", "How long extensions ring (default 30s)."),
                "max_concurrent_calls": { "type": "integer", "minimum": 1, "description": "Default 500." },
                "max_calls_per_second": { "type": "integer", "minimum": 1, "description": "Default 50." },
                "codecs": { "type": "array", "items": { "enum": crate::settings::CODECS }, "description": "Codec preference (default [PCMU, PCMA])." },
                "default_language": { "type": "string", "description": "Language of outside callers (default `en`)." },
                "time_zone": { "type": "string", "description": "IANA time zone such as `Europe/Berlin` (default UTC)." },
                "registration": closed("Registration limits in seconds.", json!({
                    "min_expires": { "type": "integer", "minimum": 1, "description": "Default 60." },
                    "max_expires": { "type": "integer", "minimum": 1, "description": "Default 3600." }
                })),
                "record_calls": { "type": "boolean", "description": "Record every bridged call, both directions mixed, into the recordings directory (default false)." }
            })),
            "prompts": closed("Where prompts are and which languages exist.", json!({
                "directory": { "type": "string", "description": "Relative to the dialplan file (default `prompts`)." },
                "languages": { "type": "object", "description": "Language code: display name.", "additionalProperties": { "type": "string" } }
            })),
            "extensions": { "type": "array", "items": extension },
            "ranges": { "type": "array", "items": range },
            "retired": retired("Numbers out of service: not extensions (ranges skip them), no login, callers hear `not_in_service`. Numbers or spans such as `8128-8130`."),
            "paging": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["number", "members"],
                "properties": {
                    "number": text("The number staff dial to page, such as 7100."),
                    "name": { "type": "string", "description": "The group's display name." },
                    "members": { "type": "array", "description": "Extensions that answer on their speaker.", "items": { "type": ["string", "integer"] } },
                    "call_info": { "type": "string", "description": "Parameters after `Call-Info: <sip:HOST>;` (default `answer-after=0`)." },
                    "alert_info": { "type": "string", "description": "The `Alert-Info` header (default `auto-answer`)." },
                    "background_music": closed("Music over the members' speakers, by schedule or operator override.", json!({
                        "music_on_hold": { "type": "string", "description": "A directory under <prompts>/moh/ (default `default`)." },
                        "schedule": closed("When the music plays (without one: only when an operator turns it on).", json!({
                            "time_zone": { "type": "string" },
                            "rules": { "type": "array", "items": music_rule },
                            "holidays": { "type": "array", "items": closed("A whole day without music.", json!({
                                "date": { "type": "string" }, "name": { "type": "string" }
                            })) }
                        }))
                    }))
                }
            }},
            "operators": closed("The operator position and operator accounts.", json!({
                "position": text("The number callers dial for the operator (default 0)."),
                "queue": { "type": "string", "description": "The queue callers wait in (default `operators`)." },
                "vip_callers": { "type": "array", "description": "Outside caller numbers placed ahead of ordinary callers in the queue.", "items": { "type": ["string", "integer"], "pattern": "^\\+?\\d+$" } },
                "accounts": { "type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["user"],
                    "properties": {
                        "user": { "type": "string", "description": "The operator's own SIP user name, such as `op1`." },
                        "name": { "type": "string" },
                        "password": text("The operator's password."),
                        "ha1_md5": { "type": "string", "pattern": "^[0-9a-fA-F]{32}$" },
                        "ha1_sha256": { "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }
                    }
                }}
            })),
            "groups": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["name", "members"],
                "properties": {
                    "name": { "type": "string" },
                    "number": text("A number that dials the group."),
                    "ring": { "enum": ["parallel", "in_order"] },
                    "members": { "type": "array", "items": { "type": ["string", "integer"] } },
                    "ring_timeout": reference("duration", "Per group (parallel) or per member (in order); default 20s."),
                    "fallback": reference("actions", "When nobody answers.")
                }
            }},
            "queues": { "type": "object", "description": "Operator queues by name.", "additionalProperties": closed("A queue.", json!({
                "max_wait": reference("duration", "Default 5m."),
                "max_length": { "type": "integer", "minimum": 1, "description": "Default 20." },
                "announce_position_every": { "description": "Default 30s; `false` disables.", "anyOf": [{ "$ref": "#/definitions/duration" }, { "const": false }] },
                "music_on_hold": { "type": "string", "description": "A directory under <prompts>/moh/ (default `default`)." },
                "operator_ring_timeout": reference("duration", "Default 15s."),
                "wrap_up": reference("duration", "Default 0s."),
                "fallback": reference("actions", "No operator logged in, or the queue is full."),
                "after_max_wait": reference("actions", "After `max_wait`.")
            })) },
            "entry": closed("Where calls start.", json!({
                "numbers": { "type": "object", "description": "Dialled number: actions.", "additionalProperties": { "$ref": "#/definitions/actions" } },
                "outside_callers": reference("actions", "Callers who did not authenticate, for any other number."),
                "extensions_dial_directly": { "type": "boolean", "description": "Registered phones may dial extensions (default true)." }
            })),
            "attendant": closed("Automatic or manual attendant.", json!({
                "mode": { "enum": ["automatic", "manual"], "description": "When no schedule rule applies." },
                "manual": reference("actions", "What outside calls do in manual mode (default: operator)."),
                "schedule": closed("When each mode applies.", json!({
                    "time_zone": { "type": "string" },
                    "rules": { "type": "array", "items": rule },
                    "holidays": { "type": "array", "items": closed("A whole day in one mode.", json!({
                        "date": { "type": "string" }, "mode": { "enum": ["automatic", "manual"] }, "name": { "type": "string" }
                    })) }
                }))
            })),
            "features": closed("Feature codes (FreePBX conventions); `false` disables one.", json!({
                "toggle_attendant_mode": feature_code("Default `*28` (operators only)."),
                "operator_pause": feature_code("Default `*45` (operators only)."),
                "operator_unpause": feature_code("Default `*46` (operators only)."),
                "operator_logout": feature_code("Default `*47` (operators only)."),
                "dnd_on": feature_code("Do not disturb on; default `*78` (extension phones)."),
                "dnd_off": feature_code("Do not disturb off; default `*79`."),
                "dnd_toggle": feature_code("Do not disturb on/off; default `*76`."),
                "forward_always": feature_code("Followed by a number: forward every call; default `*72`."),
                "forward_always_off": feature_code("Cancel forwarding of every call; default `*73`."),
                "forward_busy": feature_code("Followed by a number: forward when busy; default `*90`."),
                "forward_busy_off": feature_code("Cancel forwarding when busy; default `*91`."),
                "forward_no_answer": feature_code("Followed by a number: forward when not answered; default `*52`."),
                "forward_no_answer_off": feature_code("Cancel forwarding when not answered; default `*53`."),
                "dnd_override": feature_code("Followed by an extension: an operator rings it despite do not disturb; default `*80`.")
            })),
            "conferences": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["number"],
                "properties": {
                    "number": text("The number that reaches the room, such as 7000 (dialled like an extension)."),
                    "name": { "type": "string", "description": "The room's display name." },
                    "pin": { "type": ["string", "integer"], "pattern": "^[0-9]{1,12}$", "description": "Digits a caller enters (then `#`) before joining; quote it to keep leading zeros." },
                    "record": { "type": "boolean", "description": "Record the room's conversation (default false)." },
                    "max_members": { "type": "integer", "minimum": 2, "maximum": 1000, "description": "The most members at once; others hear `busy`." }
                }
            }},
            "menus": { "type": "object", "description": "Menus by name.", "additionalProperties": { "$ref": "#/definitions/menu" } },
            "menu_templates": { "type": "object", "description": "Shared menu parts by name.", "additionalProperties": { "$ref": "#/definitions/menu" } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    }

    fn sorted(list: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = list.iter().map(|s| (*s).to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn schema_keys_match_the_decoder() {
        let s = schema();
        assert_eq!(keys(&s), sorted(&crate::load::TOP_KEYS));
        assert_eq!(
            keys(&s["properties"]["settings"]),
            sorted(&crate::settings::SETTINGS_KEYS)
        );
        assert_eq!(
            keys(&s["definitions"]["menu"]),
            sorted(&crate::menu::MENU_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["extensions"]["items"]),
            sorted(&crate::decode_directory::EXTENSION_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["ranges"]["items"]),
            sorted(&crate::decode_directory::RANGE_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["queues"]["additionalProperties"]),
            sorted(&crate::decode_routing::QUEUE_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["conferences"]["items"]),
            sorted(&crate::conference::CONFERENCE_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["paging"]["items"]),
            sorted(&crate::decode_routing::PAGING_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["features"]),
            sorted(&crate::routing::FEATURE_KEYS)
        );
        assert_eq!(
            keys(&s["properties"]["paging"]["items"]["properties"]["background_music"]),
            sorted(&crate::decode_routing::BACKGROUND_MUSIC_KEYS)
        );
        assert!(json_schema().starts_with('{'));
    }
}
