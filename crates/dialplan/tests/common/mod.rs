//! A transcript driver: events in as text lines, actions out as text lines, on a virtual clock.

#![allow(dead_code)]

use dialplan::{
    Action, CallState, Event, FailReason, FeatureResult, ForwardKind, Mode, Plan, PromptChecker,
    QueueExit, Refusal, Screening, Target,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Accepts every prompt, for inline test plans without audio files.
pub struct AnyPrompt;

impl PromptChecker for AnyPrompt {
    fn check(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
    fn check_directory(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
}

/// Loads the shipped demo hotel with real prompt files.
pub fn default_plan() -> Plan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/default.yaml");
    dialplan::load(&path, &dialplan::FileExists).unwrap_or_else(|d| panic!("{d}"))
}

/// Loads an inline plan; prompts are not checked.
pub fn inline_plan(yaml: &str) -> Plan {
    dialplan::load_str(yaml, "inline.yaml", Path::new("/p"), &AnyPrompt)
        .unwrap_or_else(|d| panic!("{d}"))
}

/// Parses an RFC 3339 instant such as `2026-03-29T06:00:00Z`.
pub fn at(text: &str) -> jiff::Timestamp {
    text.parse()
        .unwrap_or_else(|e| panic!("bad timestamp {text}: {e}"))
}

fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// One call driven by text commands.
pub struct Transcript<'p> {
    plan: &'p Plan,
    call: CallState,
    start: Instant,
    now: Instant,
    wall: jiff::Timestamp,
    log: String,
}

impl<'p> Transcript<'p> {
    /// Starts a call at wall-clock `wall` with an optional mode override.
    pub fn new(plan: &'p Plan, wall: jiff::Timestamp, mode_override: Option<Mode>) -> Self {
        // The only clock read: it anchors the virtual clock, which then moves by script alone.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Transcript {
            plan,
            call: CallState::new(mode_override),
            start,
            now: start,
            wall,
            log: String::new(),
        }
    }

    /// Runs a script (one command per line, `#` comments allowed) and returns the transcript.
    pub fn run(mut self, script: &str) -> String {
        for line in script
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            self.command(line);
        }
        self.log
    }

    fn command(&mut self, line: &str) {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "dtmf" => {
                for key in rest.split_whitespace() {
                    let key = key
                        .chars()
                        .next()
                        .unwrap_or_else(|| panic!("empty key in {line}"));
                    self.send(&format!("dtmf {key}"), Event::Dtmf(key));
                }
            }
            "wait" => {
                let d = parse_secs(rest);
                let target = self.now + d;
                while let Some(deadline) = self.call.next_deadline().filter(|d| *d <= target) {
                    self.now = deadline;
                    let label = format!("timeout at +{}", fmt_duration(deadline - self.start));
                    self.send(&label, Event::Timeout);
                }
                self.now = target;
            }
            "offered" => {
                // `offered FROM->TO [as USER] [lang LANGUAGE]`
                let (rest, caller_language) = match rest.split_once(" lang ") {
                    Some((r, l)) => (r, Some(l.to_string())),
                    None => (rest, None),
                };
                let (numbers, auth) = match rest.split_once(" as ") {
                    Some((n, a)) => (n, Some(a.to_string())),
                    None => (rest, None),
                };
                let (from, to) = numbers
                    .split_once("->")
                    .unwrap_or_else(|| panic!("offered FROM->TO: {line}"));
                let event = Event::Offered {
                    from: from.into(),
                    to: to.into(),
                    authenticated_extension: auth,
                    caller_language,
                };
                self.send(line, event);
            }
            "answered" => self.send(line, Event::Answered),
            "played" => self.send(line, Event::PlayFinished),
            "hangup" => self.send(line, Event::Hangup),
            "conference-full" => self.send(line, Event::ConferenceFull),
            "goto-menu" => self.send(line, Event::GotoMenu { menu: rest.into() }),
            "bridge-failed" => {
                let reason = match rest {
                    "busy" => FailReason::Busy,
                    "no-answer" => FailReason::NoAnswer,
                    "unavailable" => FailReason::Unavailable,
                    "do-not-disturb" => FailReason::DoNotDisturb,
                    "restricted" => FailReason::Restricted,
                    "gone" => FailReason::Gone,
                    _ => FailReason::NotFound,
                };
                self.send(line, Event::BridgeFailed { reason });
            }
            "queue-exited" => {
                let reason = match rest {
                    "no-operator" => QueueExit::NoOperator,
                    "full" => QueueExit::Full,
                    _ => QueueExit::MaxWait,
                };
                self.send(line, Event::QueueExited { reason });
            }
            "feature-done" => {
                let result = match rest {
                    "automatic" => FeatureResult::Mode(Mode::Automatic),
                    "manual" => FeatureResult::Mode(Mode::Manual),
                    "paused" => FeatureResult::Paused,
                    "available" => FeatureResult::Available,
                    "dnd-on" => FeatureResult::DndOn,
                    "dnd-off" => FeatureResult::DndOff,
                    "forward-on" => FeatureResult::ForwardOn(ForwardKind::Always),
                    "forward-off" => FeatureResult::ForwardOff(ForwardKind::Busy),
                    "not-available" => FeatureResult::Refused(Refusal::NotAvailable),
                    "bad-target" => FeatureResult::Refused(Refusal::BadTarget),
                    _ => FeatureResult::LoggedOut,
                };
                self.send(line, Event::FeatureDone(result));
            }
            _ => panic!("unknown transcript command: {line}"),
        }
    }

    fn send(&mut self, label: &str, event: Event) {
        let before = self.call.next_deadline();
        let actions = dialplan::step(self.plan, &mut self.call, self.now, self.wall, event);
        self.log.push_str(&format!("> {label}\n"));
        for action in &actions {
            self.log.push_str(&format!("  {}\n", self.describe(action)));
        }
        let after = self.call.next_deadline();
        if after != before
            && let Some(deadline) = after
            && !actions
                .iter()
                .any(|a| matches!(a, Action::CollectDigits { .. }))
        {
            self.log.push_str(&format!(
                "  (deadline +{})\n",
                fmt_duration(deadline - self.start)
            ));
        }
    }

    fn describe(&self, action: &Action) -> String {
        match action {
            Action::Answer => "answer".into(),
            Action::Progress => "progress".into(),
            Action::Play {
                prompts,
                interruptible,
            } => {
                let names: Vec<String> = prompts
                    .iter()
                    .map(|p| {
                        let rel = p.strip_prefix(self.plan.prompt_dir()).unwrap_or(p);
                        rel.with_extension("").display().to_string()
                    })
                    .collect();
                format!(
                    "play {}{}",
                    names.join(" "),
                    if *interruptible {
                        " (interruptible)"
                    } else {
                        ""
                    }
                )
            }
            Action::StopPlay => "stop".into(),
            Action::CollectDigits { max_digits, until } => {
                format!(
                    "collect max={max_digits} until=+{}",
                    fmt_duration(*until - self.start)
                )
            }
            Action::Bridge {
                target: Target::Extension(n),
                ring_timeout,
                screening,
            } => {
                format!(
                    "bridge {n} ring={}{}",
                    fmt_duration(*ring_timeout),
                    overriding(*screening)
                )
            }
            Action::Bridge {
                target: Target::Group { name, members },
                ring_timeout,
                screening,
            } => {
                format!(
                    "bridge group {name} [{}] ring={}{}",
                    members.join(","),
                    fmt_duration(*ring_timeout),
                    overriding(*screening)
                )
            }
            Action::Page { group } => format!("page {group}"),
            Action::OperatorQueue { queue } => format!("queue {queue}"),
            Action::Feature(f) => format!("feature {f:?}"),
            Action::Conference { room } => format!("conference {room}"),
            Action::SetLanguage(l) => format!("language {l}"),
            Action::Reject(r) => format!("reject {}", r.name()),
            Action::Hangup => "hangup".into(),
        }
    }
}

/// Bridges with [`Screening::Override`] are marked; normal ones print as before.
fn overriding(screening: Screening) -> &'static str {
    match screening {
        Screening::Normal => "",
        Screening::Override => " (override)",
    }
}

fn parse_secs(text: &str) -> Duration {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return Duration::from_millis(ms.parse().unwrap_or_else(|_| panic!("bad duration {text}")));
    }
    let s = text.strip_suffix('s').unwrap_or(text);
    Duration::from_secs_f64(s.parse().unwrap_or_else(|_| panic!("bad duration {text}")))
}

/// Compares transcripts line by line, ignoring common indentation in the expectation.
pub fn assert_transcript(got: &str, expected: &str) {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
        .collect();
    let got_lines: Vec<&str> = got.lines().map(str::trim_start).collect();
    if got_lines != expected {
        panic!(
            "transcript differs.\n--- got ---\n{got}\n--- expected ---\n{}\n",
            expected.join("\n")
        );
    }
}
