//! Hotel features as transcripts: do-not-disturb and forwarding codes, the operator's
//! override, refused bridges heard as early media, renumbered and retired numbers,
//! paging groups, hotlines and the guest's language.

mod common;

use common::{AnyPrompt, Transcript, assert_transcript, at, default_plan, inline_plan};
use dialplan::{Credential, Diagnostic, ExtensionKind, Feature, ForwardKind, PagingGroup};
use std::path::Path;

const NOON: &str = "2026-06-15T10:00:00Z";

const HOTEL: &str = "
settings:
  ring_timeout: 20s
prompts:
  languages: { en: English, zh: 中文 }
extensions:
  - { number: 201, name: Desk, password: a }
  - { number: 202, name: Kitchen, password: b, kind: service }
  - number: 204
    name: Housekeeping
    password: c
    language: zh
    previous_numbers: [203, { number: 209, login_until: 2027-01-31 }]
  - { number: 205, name: Lobby, password: d, hotline: 0 }
  - { number: 206, name: Lift, password: e, hotline: 600 }
  - { number: 207, name: Secure, ha1_md5: 0123456789abcdef0123456789abcdef, previous_numbers: [208] }
ranges:
  - numbers: 8101-8110
    password: room{number}
    retired: [8109-8110]
retired: [8105]
groups:
  - { name: desk, number: 600, members: [201, 202] }
paging:
  - { number: 7100, name: Staff paging, members: [201, 202, 204] }
operators:
  accounts:
    - { user: op1, password: x }
menus:
  main:
    direct_dial: true
    greeting: welcome
    max_digits: 4
    input_timeout: 4s
    routes:
      9: { play: hotel_information }
entry:
  numbers: { 1000: { menu: main } }
  outside_callers: { menu: main }
";

fn run(script: &str) -> String {
    let plan = inline_plan(HOTEL);
    Transcript::new(&plan, at(NOON), None).run(script)
}

fn problems(yaml: &str) -> Vec<String> {
    match dialplan::load_str(yaml, "t.yaml", Path::new("/p"), &AnyPrompt) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

/// The outside caller's way into the menu of [`HOTEL`], up to collecting keys.
const INTO_MENU: &str = "offered 5551234->1000\nanswered\nplayed\n";
const MENU_LOG: &str = "> offered 5551234->1000
   answer
 > answered
   play en/welcome (interruptible)
 > played
   collect max=4 until=+4s";

#[test]
fn the_plan_answers_questions_about_hotel_numbers() {
    let plan = inline_plan(HOTEL);
    assert_eq!(
        plan.renumbered("203").map(|e| e.number.as_str()),
        Some("204")
    );
    assert_eq!(
        plan.renumbered("209").map(|e| e.number.as_str()),
        Some("204")
    );
    assert!(plan.renumbered("204").is_none());
    assert_eq!(
        plan.extension("204").map(|e| e.previous_numbers.clone()),
        Some(vec!["203".to_string(), "209".to_string()])
    );
    let alias = plan.account("203").expect("the old number logs in");
    assert_eq!(alias.user, "203");
    assert_eq!(alias.aors, ["204", "203"]);
    assert_eq!(alias.credential, Credential::Plain("c".into()));
    assert!(!alias.operator);
    assert_eq!(alias.login_until, None);
    let until = plan.account("209").and_then(|a| a.login_until);
    assert_eq!(until, Some(dialplan::jiff::civil::date(2027, 1, 31)));
    assert_eq!(plan.account("204").and_then(|a| a.login_until), None);

    // HA1 is bound to the user name: no alias, and a warning with the position.
    assert!(plan.account("208").is_none());
    assert_eq!(
        plan.renumbered("208").map(|e| e.number.as_str()),
        Some("207")
    );
    let warnings: Vec<String> = plan.warnings().iter().map(Diagnostic::to_string).collect();
    assert_eq!(
        warnings,
        [
            "inline.yaml:16:96: previous number `208` of `207` cannot log in: its HA1 credential is bound to the user name `207`; expected `password` instead of `ha1_md5`/`ha1_sha256` on `207` if phones still register as `208`"
        ]
    );

    for retired in ["8105", "8109", "8110"] {
        assert!(plan.is_retired(retired), "{retired}");
        assert!(plan.extension(retired).is_none(), "{retired}");
        assert!(plan.account(retired).is_none(), "{retired}");
    }
    assert!(!plan.is_retired("8108"));
    assert_eq!(
        plan.extension("8108").map(|e| e.kind),
        Some(ExtensionKind::Room)
    );
    assert_eq!(plan.extensions().count(), 6 + 7);

    assert_eq!(
        plan.paging_group("7100"),
        Some(&PagingGroup {
            number: "7100".into(),
            name: "Staff paging".into(),
            members: vec!["201".into(), "202".into(), "204".into()],
            call_info: "answer-after=0".into(),
            alert_info: "auto-answer".into(),
            background_music: None,
        })
    );
    assert_eq!(plan.paging_groups().len(), 1);
    assert_eq!(
        plan.extension("205").and_then(|e| e.hotline.clone()),
        Some("0".into())
    );
    assert_eq!(plan.extension("201").and_then(|e| e.hotline.clone()), None);
}

#[test]
fn the_demo_hotel_pages_its_staff() {
    let plan = default_plan();
    let group = plan.paging_group("7100").expect("staff paging");
    assert_eq!(group.name, "Staff paging");
    assert_eq!(group.members, ["201", "202", "203"]);
    assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
    let features = plan.features();
    assert_eq!(features.dnd_on.as_deref(), Some("*78"));
    assert_eq!(features.dnd_override.as_deref(), Some("*80"));
    let got = Transcript::new(&plan, at(NOON), None).run("offered 201->7100 as 201");
    assert_transcript(&got, "> offered 201->7100 as 201\n page 7100");
}

#[test]
fn an_extension_switches_do_not_disturb() {
    let got = run("offered 201->*78 as 201\nanswered\nfeature-done dnd-on\nplayed");
    assert_transcript(
        &got,
        "> offered 201->*78 as 201
           answer
         > answered
           feature Dnd(On)
         > feature-done dnd-on
           play en/dnd_on
         > played
           hangup",
    );
    let got = run("offered 8101->*76 as 8101\nanswered\nfeature-done dnd-off\nplayed");
    assert_transcript(
        &got,
        "> offered 8101->*76 as 8101
           answer
         > answered
           feature Dnd(Toggle)
         > feature-done dnd-off
           play en/dnd_off
         > played
           hangup",
    );
}

#[test]
fn an_extension_sets_and_clears_forwarding() {
    let got = run("offered 201->*72204 as 201\nanswered\nfeature-done forward-on\nplayed");
    assert_transcript(
        &got,
        r#"> offered 201->*72204 as 201
           answer
         > answered
           feature ForwardSet { kind: Always, target: "204" }
         > feature-done forward-on
           play en/forward_on
         > played
           hangup"#,
    );
    let got = run("offered 201->*9099 as 201\nanswered\nfeature-done bad-target\nplayed");
    assert_transcript(
        &got,
        r#"> offered 201->*9099 as 201
           answer
         > answered
           feature ForwardSet { kind: Busy, target: "99" }
         > feature-done bad-target
           play en/forward_refused
         > played
           hangup"#,
    );
    let got = run("offered 201->*53 as 201\nanswered\nfeature-done forward-off\nplayed");
    assert_transcript(
        &got,
        "> offered 201->*53 as 201
           answer
         > answered
           feature ForwardClear(NoAnswer)
         > feature-done forward-off
           play en/forward_off
         > played
           hangup",
    );
    let got = run("offered 201->*78 as 201\nanswered\nfeature-done not-available\nplayed");
    assert!(got.contains("play en/feature_refused"), "{got}");
}

#[test]
fn a_forwarding_code_without_a_number_is_invalid() {
    let got = run("offered 201->*72 as 201\nanswered\nplayed");
    assert_transcript(
        &got,
        "> offered 201->*72 as 201\n answer\n> answered\n play en/invalid\n> played\n hangup",
    );
    let got = run("offered 201->*72*1 as 201\nanswered");
    assert!(got.contains("play en/invalid"), "{got}");
    let got = run("offered op1->*80 as op1\nanswered");
    assert!(got.contains("play en/invalid"), "{got}");
    let got = run("offered 5551234->*72");
    assert_transcript(&got, "> offered 5551234->*72\n reject not_found");
}

#[test]
fn who_may_dial_the_extension_codes() {
    // Operators hear that the feature is not for them.
    let got = run("offered op1->*78 as op1\nanswered\nplayed");
    assert_transcript(
        &got,
        "> offered op1->*78 as op1\n answer\n> answered\n play en/feature_refused\n> played\n hangup",
    );
    let got = run("offered 0->*72201 as 0\nanswered");
    assert!(got.contains("play en/feature_refused"), "{got}");
    // Outside callers do not learn that the code exists.
    assert_transcript(
        &run("offered 5551234->*78"),
        "> offered 5551234->*78\n reject not_found",
    );
    // The operator codes stay operator-only; an old number logs in as its extension.
    let got = run("offered 201->*45 as 201\nanswered");
    assert!(got.contains("play en/invalid"), "{got}");
    let got = run("offered 203->*79 as 203\nanswered");
    assert!(got.contains("feature Dnd(Off)"), "{got}");
}

#[test]
fn an_operator_overrides_do_not_disturb() {
    let got = run("offered op1->*808101 as op1");
    assert_transcript(
        &got,
        "> offered op1->*808101 as op1\n bridge 8101 ring=20s (override)",
    );
    let got = run("offered 0->*80201 as 0");
    assert_transcript(
        &got,
        "> offered 0->*80201 as 0\n bridge 201 ring=20s (override)",
    );
    // Not an extension, or not an operator: invalid.
    let got = run("offered op1->*809999 as op1\nanswered");
    assert!(got.contains("play en/invalid"), "{got}");
    let got = run("offered 201->*808101 as 201\nanswered\nplayed");
    assert_transcript(
        &got,
        "> offered 201->*808101 as 201\n answer\n> answered\n play en/invalid\n> played\n hangup",
    );
    assert_transcript(
        &run("offered 5551234->*808101"),
        "> offered 5551234->*808101\n reject not_found",
    );
    // Ordinary bridges are screened.
    assert_transcript(
        &run("offered 201->8101 as 201"),
        "> offered 201->8101 as 201\n bridge 8101 ring=20s",
    );
}

#[test]
fn a_guest_with_do_not_disturb_offers_the_operator() {
    let got =
        run("offered 201->8101 as 201\nbridge-failed do-not-disturb\nanswered\nplayed\ndtmf 0");
    assert_transcript(
        &got,
        "> offered 201->8101 as 201
           bridge 8101 ring=20s
         > bridge-failed do-not-disturb
           answer
         > answered
           play en/guest_dnd en/press_0_operator (interruptible)
         > played
           collect max=1 until=+5s
         > dtmf 0
           queue operators",
    );
    // Silence says goodbye.
    let got = run(
        "offered 201->8101 as 201\nbridge-failed do-not-disturb\nanswered\nplayed\nwait 5s\nplayed",
    );
    assert_transcript(
        &got,
        "> offered 201->8101 as 201
           bridge 8101 ring=20s
         > bridge-failed do-not-disturb
           answer
         > answered
           play en/guest_dnd en/press_0_operator (interruptible)
         > played
           collect max=1 until=+5s
         > timeout at +5s
           play en/goodbye
         > played
           hangup",
    );
    // A key during the prompt answers the offer at once; anything but 0 declines.
    let got = run("offered 201->8101 as 201\nbridge-failed do-not-disturb\nanswered\ndtmf 5");
    assert_transcript(
        &got,
        "> offered 201->8101 as 201
           bridge 8101 ring=20s
         > bridge-failed do-not-disturb
           answer
         > answered
           play en/guest_dnd en/press_0_operator (interruptible)
         > dtmf 5
           stop
           play en/goodbye",
    );
    let got = run("offered 201->8101 as 201\nbridge-failed do-not-disturb\nanswered\ndtmf 0");
    assert!(
        got.ends_with("> dtmf 0\n  stop\n  queue operators\n"),
        "{got}"
    );
}

#[test]
fn do_not_disturb_in_a_menu_returns_to_the_menu() {
    let got = run(&format!(
        "{INTO_MENU}dtmf 8 1 0 1\nbridge-failed do-not-disturb\nplayed\ndtmf 7"
    ));
    assert_transcript(
        &got,
        &format!(
            "{MENU_LOG}
             > dtmf 8
               (deadline +3s)
             > dtmf 1
             > dtmf 0
             > dtmf 1
               bridge 8101 ring=20s
             > bridge-failed do-not-disturb
               play en/guest_dnd en/press_0_operator (interruptible)
             > played
               collect max=1 until=+4s
             > dtmf 7
               play en/welcome (interruptible)"
        ),
    );
    // A fallback still decides, with `call_result` set.
    let plan = inline_plan(&HOTEL.replace(
        "      9: { play: hotel_information }",
        "      9: { play: hotel_information }\n      5: { call: { to: 8101, if_failed: { play: sorry } } }",
    ));
    let got = Transcript::new(&plan, at(NOON), None)
        .run(&format!("{INTO_MENU}dtmf 5\nbridge-failed do-not-disturb"));
    assert!(
        got.ends_with("> bridge-failed do-not-disturb\n  play en/sorry\n"),
        "{got}"
    );
}

#[test]
fn a_restricted_call_is_explained_before_it_is_refused() {
    let got = run("offered 8101->8102 as 8101\nbridge-failed restricted\nplayed");
    assert_transcript(
        &got,
        "> offered 8101->8102 as 8101
           bridge 8102 ring=20s
         > bridge-failed restricted
           progress
           play en/restricted
         > played
           reject restricted",
    );
    let got = run("offered 8101->8102 as 8101\nbridge-failed gone\nplayed");
    assert_transcript(
        &got,
        "> offered 8101->8102 as 8101
           bridge 8102 ring=20s
         > bridge-failed gone
           progress
           play en/not_in_service
         > played
           reject gone",
    );
    // In a menu the caller hears why and dials again.
    let got = run(&format!(
        "{INTO_MENU}dtmf 8 1 0 2\nbridge-failed restricted\nplayed"
    ));
    assert!(
        got.ends_with(
            "> bridge-failed restricted\n  play en/restricted\n> played\n  play en/welcome (interruptible)\n"
        ),
        "{got}"
    );
}

#[test]
fn an_old_number_announces_the_new_one() {
    let got = run("offered 201->203 as 201\nplayed\nbridge-failed busy");
    assert_transcript(
        &got,
        "> offered 201->203 as 201
           progress
           play en/number_changed en/digit_2 en/digit_0 en/digit_4
         > played
           bridge 204 ring=20s
         > bridge-failed busy
           reject busy",
    );
    // From the menu: announced, then the caller dials again (not connected).
    let got = run(&format!("{INTO_MENU}dtmf 2 0 3\nplayed\ndtmf 2 0 4"));
    assert_transcript(
        &got,
        &format!(
            "{MENU_LOG}
             > dtmf 2
               (deadline +3s)
             > dtmf 0
             > dtmf 3
               play en/number_changed en/digit_2 en/digit_0 en/digit_4
             > played
               collect max=4 until=+4s
             > dtmf 2
               (deadline +3s)
             > dtmf 0
             > dtmf 4
               bridge 204 ring=20s"
        ),
    );
}

#[test]
fn a_retired_number_is_not_in_service() {
    for number in ["8105", "8110"] {
        let got = run(&format!("offered 201->{number} as 201\nplayed"));
        assert_transcript(
            &got,
            &format!(
                "> offered 201->{number} as 201
                   progress
                   play en/not_in_service
                 > played
                   reject gone"
            ),
        );
    }
    let got = run(&format!("{INTO_MENU}dtmf 8 1 0 5\nplayed"));
    assert!(
        got.ends_with("> dtmf 5\n  play en/not_in_service\n> played\n  collect max=4 until=+4s\n"),
        "{got}"
    );
    // Outside the directory for outside callers too: no extension, no account.
    assert_transcript(
        &run("offered 8105->201 as 8105"),
        "> offered 8105->201 as 8105\n bridge 201 ring=20s",
    );
}

#[test]
fn staff_and_operators_page_rooms_may_not() {
    for (caller, auth) in [
        ("201", "201"),
        ("202", "202"),
        ("op1", "op1"),
        ("203", "203"),
    ] {
        let got = run(&format!("offered {caller}->7100 as {auth}"));
        assert_transcript(
            &got,
            &format!("> offered {caller}->7100 as {auth}\n page 7100"),
        );
    }
    let got = run("offered 8101->7100 as 8101\nplayed");
    assert_transcript(
        &got,
        "> offered 8101->7100 as 8101
           progress
           play en/restricted
         > played
           reject restricted",
    );
    // Nobody could be paged.
    let got = run("offered 201->7100 as 201\nbridge-failed unavailable\nhangup");
    assert_transcript(
        &got,
        "> offered 201->7100 as 201\n page 7100\n> bridge-failed unavailable\n reject unavailable\n> hangup",
    );
    assert_transcript(
        &run("offered 201->7100 as 201\nhangup"),
        "> offered 201->7100 as 201\n page 7100\n> hangup",
    );
    // Outside callers never page: they meet the menu.
    let got = run("offered 5551234->7100");
    assert!(got.contains("answer"), "{got}");
}

#[test]
fn menu_direct_dial_never_reaches_paging_groups_or_feature_codes() {
    for keys in ["7 1 0 0", "* 7 8", "* 8 0 2 0"] {
        let got = run(&format!("{INTO_MENU}dtmf {keys}"));
        assert!(!got.contains("page"), "{got}");
        assert!(!got.contains("feature"), "{got}");
        assert!(!got.contains("bridge"), "{got}");
        assert!(got.contains("play en/invalid"), "{keys}: {got}");
    }
}

#[test]
fn a_hotline_goes_there_whatever_was_dialled() {
    let got = run("offered 205->8101 as 205\nanswered");
    assert_transcript(
        &got,
        "> offered 205->8101 as 205\n answer\n> answered\n queue operators",
    );
    let got = run("offered 206->*78 as 206");
    assert_transcript(
        &got,
        "> offered 206->*78 as 206\n bridge group desk [201,202] ring=20s",
    );
    // Only the phone itself: the number dialled from elsewhere rings as usual.
    assert_transcript(
        &run("offered 201->205 as 201"),
        "> offered 201->205 as 201\n bridge 205 ring=20s",
    );
}

#[test]
fn the_guests_language_replaces_the_rooms() {
    let got = run("offered 8101->*72 as 8101 lang zh\nanswered");
    assert!(got.contains("play zh/invalid"), "{got}");
    // Not a language of the plan: the extension's language stays.
    let got = run("offered 8101->*72 as 8101 lang fr\nanswered");
    assert!(got.contains("play en/invalid"), "{got}");
    // An old number speaks its extension's language.
    let got = run("offered 203->*72 as 203\nanswered");
    assert!(got.contains("play zh/invalid"), "{got}");
    let got = run("offered 5551234->1000 lang zh\nanswered");
    assert!(got.contains("play zh/welcome"), "{got}");
}

#[test]
fn feature_lookup() {
    let f = inline_plan(HOTEL).features().clone();
    assert_eq!(
        f.lookup("*90123"),
        Some(Feature::ForwardSet {
            kind: ForwardKind::Busy,
            target: "123".into()
        })
    );
    assert_eq!(f.lookup("*90"), None);
    assert_eq!(
        f.lookup("*91"),
        Some(Feature::ForwardClear(ForwardKind::Busy))
    );
    assert_eq!(f.lookup("*80201"), None);
    assert_eq!(f.override_target("*80201"), Some("201"));
    assert_eq!(f.override_target("*80"), None);
    assert_eq!(f.override_target("*80#"), None);
    assert_eq!(ForwardKind::NoAnswer.name(), "no_answer");
    assert!(Feature::OperatorLogout.is_operator_feature());
    assert!(!Feature::ForwardClear(ForwardKind::Always).is_operator_feature());
}

#[test]
fn codes_can_be_moved_and_disabled() {
    let plan = inline_plan(
        "
extensions:
  - { number: 201, password: a }
features:
  dnd_on: \"*11\"
  forward_always: \"*12\"
  dnd_override: false
",
    );
    let f = plan.features();
    assert_eq!(f.lookup("*11"), Some(Feature::Dnd(dialplan::DndSwitch::On)));
    assert!(f.lookup("*12201").is_some());
    assert_eq!(f.lookup("*72201"), None);
    assert_eq!(f.override_target("*80201"), None);
}

#[test]
fn mistakes_in_hotel_numbers_are_reported_with_positions() {
    let yaml = "
extensions:
  - { number: 201, password: a, previous_numbers: [202, 600, 7000, 1000, 0, 7100, 55, 8101] }
  - { number: 202, password: b, previous_numbers: [203, { number: 204, login_until: soon }] }
  - { number: 205, password: c, previous_numbers: [203, x1], hotline: 999 }
  - { number: 206, password: d, hotline: 7000 }
  - { number: 207, password: e, hotline: 207 }
  - { number: 8130, password: e }
ranges:
  - { numbers: 8101-8110, retired: [8120, 8101-8102, abc] }
retired: [8130, 8111-8112, 1-22]
groups:
  - { name: desk, number: 600, members: [201] }
conferences:
  - { number: 7000 }
paging:
  - { number: 7100, members: [201, 299, 201] }
  - { number: 201, members: [201] }
  - { number: 600, members: [201] }
  - { number: 7000, members: [201] }
  - { number: 7101, members: [201], call_info: \"\" }
features:
  dnd_on: \"55\"
  dnd_off: \"*7\"
entry:
  numbers: { 1000: hangup }
";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:3:52: previous number `202` of `201` is also an extension",
            "t.yaml:3:57: previous number `600` of `201` is also the number of group `desk`",
            "t.yaml:3:62: previous number `7000` of `201` is also a conference room",
            "t.yaml:3:68: previous number `1000` of `201` is also an entry number",
            "t.yaml:3:74: previous number `0` of `201` is also the operator position",
            "t.yaml:3:77: previous number `7100` of `201` is also a paging group",
            "t.yaml:3:83: previous number `55` of `201` is also a feature code",
            "t.yaml:3:87: previous number `8101` of `201` is also retired",
            "t.yaml:4:85: invalid date `soon` for `login_until`; expected a date such as `2027-01-31`",
            "t.yaml:5:52: previous number `203` is already a previous number of `202` (line 4)",
            "t.yaml:5:57: invalid previous number `x1`; expected digits only, such as `203`",
            "t.yaml:5:71: hotline `999` of `205` is not an extension, a group number or the operator position",
            "t.yaml:6:42: hotline `7000` of `206` is not an extension, a group number or the operator position",
            "t.yaml:7:42: the hotline of `207` is the extension itself",
            "t.yaml:10:37: retired number `8120` is not in this range `8101-8110`",
            "t.yaml:10:54: invalid retired number `abc`; expected a number such as `8130`, or a span such as `8128-8130` of at most 10000 numbers",
            "t.yaml:11:11: retired number `8130` is also an extension (line 8)",
            "t.yaml:11:28: invalid retired number `1-22`; expected a number such as `8130`, or a span such as `8128-8130` of at most 10000 numbers",
            "t.yaml:17:36: paging member `299` is not an extension",
            "t.yaml:17:41: paging member `201` is listed twice",
            "t.yaml:18:15: duplicate extension `201`: the paging number is also an extension (line 3)",
            "t.yaml:19:15: duplicate extension `600`: the paging number is also the number of group `desk`",
            "t.yaml:20:15: duplicate extension `7000`: the paging number is also a conference room",
            "t.yaml:21:48: invalid `call_info` ``; expected one line of header text, such as `answer-after=0`",
            "t.yaml:24:12: feature code `*7` of `dnd_off` and `*76` of `dnd_toggle` begin alike, so dialling one is ambiguous; expected codes of which none begins another, such as `*78` and `*72`",
        ]
    );
}

#[test]
fn prefix_codes_may_not_swallow_numbers() {
    let yaml = "
extensions:
  - { number: 72201, password: a }
features:
  forward_always: \"72\"
  dnd_on: \"*72\"
";
    assert_eq!(
        problems(yaml),
        [
            "t.yaml:5:19: feature code `72` is followed by a number when dialled, so `72201` would be read as this code and `201`",
            "t.yaml:6:11: feature code `*72` is already used by `forward_always`",
        ]
    );
}
