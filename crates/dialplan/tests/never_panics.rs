//! Property tests: loading arbitrary YAML never panics, and no event sequence panics the interpreter.

mod common;

use dialplan::{
    CallState, Event, FailReason, Feature, FeatureResult, Features, Mode, QueueExit, Refusal,
};
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

static PLAN: OnceLock<dialplan::Plan> = OnceLock::new();

const WORDS: &[&str] = &[
    "settings",
    "prompts",
    "extensions",
    "ranges",
    "operators",
    "groups",
    "queues",
    "entry",
    "attendant",
    "features",
    "menus",
    "menu_templates",
    "number",
    "numbers",
    "name",
    "password",
    "routes",
    "greeting",
    "template",
    "menu",
    "call",
    "play",
    "if",
    "set",
    "then",
    "else",
    "variable",
    "equals",
    "schedule",
    "rules",
    "days",
    "from",
    "to",
    "dates",
    "mode",
    "manual",
    "automatic",
    "hangup",
    "operator",
    "back",
    "repeat",
    "main",
    "1000",
    "201",
    "8101-8130",
    "0",
    "*28",
    "30s",
    "-1",
    "1e999",
    "~",
    "null",
    "[",
    "]",
    "{",
    "}",
    "&a",
    "*a",
    "<<",
    "!!str",
    "|",
    ">",
    "'",
    "\"",
    "#",
    "?",
    "-",
    ":",
    "08:00",
    "12-25",
    "mon-fri",
    "zh",
];

fn yamlish() -> impl Strategy<Value = String> {
    let token = prop::sample::select(WORDS).prop_map(str::to_string);
    let line = (
        0usize..6,
        prop::collection::vec(token, 0..4),
        prop::bool::ANY,
    )
        .prop_map(|(indent, words, colon)| {
            let mut s = " ".repeat(indent * 2);
            if let Some((first, rest)) = words.split_first() {
                s.push_str(first);
                if colon {
                    s.push_str(": ");
                } else {
                    s.push(' ');
                }
                s.push_str(&rest.join(" "));
            }
            s
        });
    prop::collection::vec(line, 0..25).prop_map(|lines| lines.join("\n"))
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        prop::sample::select(vec![
            "1000", "201", "0", "*28", "8105", "9999", "600", "*78", "*72201", "*72", "*80201",
            "*808105", "7100", "7000"
        ])
        .prop_flat_map(|to| {
            (
                prop::option::of(prop::sample::select(vec![
                    "201", "op1", "8105", "nobody", "0",
                ])),
                prop::option::of(prop::sample::select(vec!["zh", "en", "fr"])),
            )
                .prop_map(move |(auth, language)| Event::Offered {
                    from: "5551234".into(),
                    to: to.into(),
                    authenticated_extension: auth.map(str::to_string),
                    caller_language: language.map(str::to_string),
                })
        }),
        Just(Event::Answered),
        prop::sample::select(vec!['0', '1', '2', '5', '8', '9', '*', '#', 'A'])
            .prop_map(Event::Dtmf),
        Just(Event::PlayFinished),
        Just(Event::Timeout),
        Just(Event::Hangup),
        prop::sample::select(vec!["main", "reception", "nowhere"])
            .prop_map(|m| Event::GotoMenu { menu: m.into() }),
        Just(Event::BridgeFailed {
            reason: FailReason::Busy
        }),
        Just(Event::BridgeFailed {
            reason: FailReason::NoAnswer
        }),
        prop::sample::select(vec![
            FailReason::DoNotDisturb,
            FailReason::Restricted,
            FailReason::Gone
        ])
        .prop_map(|reason| Event::BridgeFailed { reason }),
        prop::sample::select(vec![
            FeatureResult::DndOn,
            FeatureResult::Refused(Refusal::BadTarget)
        ])
        .prop_map(Event::FeatureDone),
        Just(Event::QueueExited {
            reason: QueueExit::NoOperator
        }),
        Just(Event::QueueExited {
            reason: QueueExit::MaxWait
        }),
        Just(Event::FeatureDone(FeatureResult::Mode(Mode::Manual))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn feature_lookup_reads_any_number(number in "[0-9*#]{0,12}") {
        let features = Features::default();
        if let Some(Feature::ForwardSet { target, .. }) = features.lookup(&number) {
            prop_assert!(!target.is_empty() && target.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(number.ends_with(&target));
        }
        if let Some(target) = features.override_target(&number) {
            prop_assert_eq!(format!("*80{target}"), number.clone());
            prop_assert!(features.lookup(&number).is_none(), "a number is one thing only");
        }
    }

    #[test]
    fn a_forwarding_code_and_digits_forward_to_the_digits(target in "[0-9]{1,12}") {
        let features = Features::default();
        for (code, kind) in [("*72", "Always"), ("*90", "Busy"), ("*52", "NoAnswer")] {
            let found = features.lookup(&format!("{code}{target}"));
            let Some(Feature::ForwardSet { kind: k, target: t }) = found else {
                return Err(TestCaseError::fail(format!("{code}{target}: {found:?}")));
            };
            prop_assert_eq!(format!("{k:?}"), kind);
            prop_assert_eq!(&t, &target);
        }
    }

    #[test]
    fn loading_yamlish_text_never_panics(text in yamlish()) {
        let _ = dialplan::load_str(&text, "p.yaml", Path::new("/p"), &common::AnyPrompt);
    }

    #[test]
    fn loading_any_text_never_panics(text in "\\PC{0,200}") {
        let _ = dialplan::load_str(&text, "p.yaml", Path::new("/p"), &common::AnyPrompt);
    }

    #[test]
    fn any_event_sequence_is_handled(events in prop::collection::vec((event(), 0u64..8000), 1..40)) {
        let plan = PLAN.get_or_init(common::default_plan);
        let mut call = CallState::new(None);
        #[allow(clippy::disallowed_methods)]
        let mut now = std::time::Instant::now();
        let wall = common::at("2026-06-15T10:00:00Z");
        for (event, advance_ms) in events {
            now += Duration::from_millis(advance_ms);
            let done_before = call.is_done();
            let deadline_before = call.next_deadline();
            let is_timeout = event == Event::Timeout;
            let actions = dialplan::step(plan, &mut call, now, wall, event);
            if done_before {
                prop_assert!(actions.is_empty(), "a finished call acted: {actions:?}");
            }
            let deadline_after = call.next_deadline();
            if deadline_after != deadline_before
                && let Some(deadline) = deadline_after
            {
                prop_assert!(deadline >= now, "a new deadline lies in the past");
            }
            // A due timeout is consumed, so a driver that delivers it cannot spin.
            if is_timeout && deadline_before.is_some_and(|d| d <= now) {
                prop_assert!(deadline_after.is_none_or(|d| d > now), "a due timeout stayed due");
            }
        }
    }
}
