//! Groups, variables, branches, templates and queue fallbacks as transcripts.

mod common;

use common::{Transcript, assert_transcript, at, inline_plan};

const PLAN: &str = r#"
extensions:
  - { number: 201, name: Desk, password: a }
  - { number: 202, name: Bar, password: b }
  - { number: 203, name: Kitchen, password: c }
groups:
  - name: staff
    number: 600
    ring: in_order
    members: [201, 202]
    ring_timeout: 10s
    fallback: [{ play: busy }, hangup]
  - name: everyone
    members: [201, 202, 203]
queues:
  operators:
    fallback: { menu: sorry }
  bar:
    fallback: { play: operator_unavailable }
menu_templates:
  base:
    input_timeout: 4s
    retries: 1
    routes:
      0: operator
      5: { call: staff }
      7: { queue: bar }
menus:
  main:
    template: base
    direct_dial: true
    greeting: [welcome]
    routes:
      1: [{ set: { vip: "yes" } }, { menu: vip }]
      2: { call: { to: everyone, ring_timeout: 15s, if_failed: { menu: sorry } } }
  vip:
    greeting: [vip_welcome]
    on_no_input: [{ if: { variable: vip, equals: "yes", then: { call: 203 }, else: hangup } }]
  sorry:
    greeting: [sorry]
    retries: 0
    after_retries: hangup
entry:
  outside_callers: { menu: main }
"#;

fn run(script: &str) -> String {
    let plan = inline_plan(PLAN);
    Transcript::new(&plan, at("2026-06-15T10:00:00Z"), None).run(script)
}

#[test]
fn in_order_group_rings_members_one_after_another_then_falls_back() {
    let got = run(
        "offered x->1000\nanswered\nplayed\ndtmf 5\nbridge-failed no-answer\nbridge-failed busy\nplayed",
    );
    assert_transcript(
        &got,
        "> offered x->1000
           answer
         > answered
           play en/welcome (interruptible)
         > played
           collect max=4 until=+4s
         > dtmf 5
           bridge 201 ring=10s
         > bridge-failed no-answer
           bridge 202 ring=10s
         > bridge-failed busy
           play en/busy
         > played
           hangup",
    );
}

#[test]
fn group_number_dials_the_group_directly() {
    let got = run("offered x->1000\nanswered\nplayed\ndtmf 6 0 0");
    assert!(got.ends_with("> dtmf 0\n  bridge 201 ring=10s\n"), "{got}");
}

#[test]
fn parallel_group_with_if_failed() {
    // `2` could start 201-203, so the group is called when the digit timeout passes.
    let got = run("offered x->1000\nanswered\nplayed\ndtmf 2\nwait 3s\nbridge-failed unavailable");
    assert!(
        got.ends_with("> timeout at +3s\n  bridge group everyone [201,202,203] ring=15s\n> bridge-failed unavailable\n  play en/sorry (interruptible)\n"),
        "{got}"
    );
}

#[test]
fn variables_and_branches() {
    let got = run("offered x->1000\nanswered\nplayed\ndtmf 1\nplayed\nwait 5s");
    assert!(
        got.ends_with("> timeout at +5s\n  bridge 203 ring=30s\n"),
        "{got}"
    );
}

#[test]
fn queue_fallback_goes_to_a_menu_and_retries_end_the_call() {
    let got = run("offered x->1000\nanswered\nplayed\ndtmf 0\nqueue-exited full\nplayed\nwait 5s");
    assert_transcript(
        &got,
        "> offered x->1000
           answer
         > answered
           play en/welcome (interruptible)
         > played
           collect max=4 until=+4s
         > dtmf 0
           queue operators
         > queue-exited full
           play en/sorry (interruptible)
         > played
           collect max=4 until=+5s
         > timeout at +5s
           hangup",
    );
}

#[test]
fn queue_fallback_without_leaving_returns_to_the_menu() {
    let got = run("offered x->1000\nanswered\nplayed\ndtmf 7\nqueue-exited no-operator\nplayed");
    assert!(
        got.ends_with("> dtmf 7\n  queue bar\n> queue-exited no-operator\n  play en/operator_unavailable\n> played\n  play en/welcome (interruptible)\n"),
        "{got}"
    );
}

#[test]
fn a_call_stepped_with_another_plan_hangs_up_instead_of_misrouting() {
    use dialplan::{Action, CallState, Event};
    let old = inline_plan(PLAN);
    let new = inline_plan(PLAN);
    let mut call = CallState::new(None);
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let wall = at("2026-06-15T10:00:00Z");
    let offered = Event::Offered {
        from: "x".into(),
        to: "1000".into(),
        authenticated_extension: None,
        caller_language: None,
    };
    assert_eq!(
        dialplan::step(&old, &mut call, now, wall, offered),
        [Action::Answer]
    );
    let same = old.clone();
    assert!(!dialplan::step(&same, &mut call, now, wall, Event::Answered).is_empty());
    assert_eq!(
        dialplan::step(&new, &mut call, now, wall, Event::PlayFinished),
        [Action::Hangup]
    );
    assert!(call.is_done());
    assert!(dialplan::step(&new, &mut call, now, wall, Event::Dtmf('1')).is_empty());
}
