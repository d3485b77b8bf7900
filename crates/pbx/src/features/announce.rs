//! Announcements: a call the PBX placed plays its prompts to whoever answers,
//! collects up to `max_digits` digits (a digit pressed during the prompts stops
//! them), and hangs up when enough digits came, when no digit came within the
//! timeout after the prompts, or at once after the prompts when no digit is
//! wanted. The digits go into the call record.
//!
//! ```text
//!  started ── answered ──▶ Playing ── prompts end ──▶ Waiting ── timeout ──▶ hang up
//!     │                      │ digit: stop prompts ──────▶│ digit (enough: hang up)
//!     └── ended (never answered) ─────────────────────────┴── ended: forgotten
//! ```

use crate::control::Core;
use crate::control::placed::{Dial, PlacedEvent};
use crate::ctx::ring_target;
use crate::{CallKey, CdrEvent, Output};
use crate::{Originate, OriginateError, Purpose};
use media::prompt::Prompt;
use sip::endpoint::Endpoint;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the announcement app asks of call control.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Play these prompts to the call.
    Play(CallKey, Vec<Arc<Prompt>>),
    /// Stop the prompts playing to the call.
    StopPlay(CallKey),
    /// Record the digits the callee pressed.
    Digits(CallKey, String),
    /// Hang the call up.
    Hangup(CallKey),
}

/// Where one announcement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The phone has not answered yet.
    Ringing,
    /// The prompts play.
    Playing,
    /// The prompts ended (or a digit stopped them); digits are awaited until then.
    Waiting { until: Instant },
    /// Hung up by us; waiting for the end to be reported.
    Finished,
}

#[derive(Debug)]
struct Announcing {
    prompts: Vec<Arc<Prompt>>,
    max_digits: usize,
    digit_timeout: Duration,
    digits: String,
    step: Step,
}

/// Every announcement in progress.
#[derive(Debug, Default)]
pub(crate) struct Announcements {
    calls: HashMap<CallKey, Announcing>,
}

impl Announcements {
    /// A placed call that will be an announcement once answered.
    pub fn start(
        &mut self,
        key: CallKey,
        prompts: Vec<Arc<Prompt>>,
        max_digits: usize,
        digit_timeout: Duration,
    ) {
        self.calls.insert(
            key,
            Announcing {
                prompts,
                max_digits,
                digit_timeout,
                digits: String::new(),
                step: Step::Ringing,
            },
        );
    }

    /// The next instant [`Announcements::handle_timeout`] must run.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|a| match a.step {
                Step::Waiting { until } => Some(until),
                _ => None,
            })
            .min()
    }

    /// Reacts to what happened to a placed call (events of other calls are ignored).
    pub fn on_event(&mut self, now: Instant, event: PlacedEvent, out: &mut Vec<Command>) {
        let key = match event {
            PlacedEvent::Answered(k)
            | PlacedEvent::Digit(k, _)
            | PlacedEvent::PromptFinished(k)
            | PlacedEvent::Ended(k) => k,
        };
        if let PlacedEvent::Ended(_) = event {
            self.calls.remove(&key);
            return;
        }
        let Some(a) = self.calls.get_mut(&key) else {
            return;
        };
        match (event, a.step) {
            (PlacedEvent::Answered(_), Step::Ringing) => {
                a.step = Step::Playing;
                out.push(Command::Play(key, a.prompts.clone()));
            }
            (PlacedEvent::PromptFinished(_), Step::Playing) => {
                if a.max_digits == 0 {
                    finish(key, a, out);
                } else {
                    a.step = Step::Waiting {
                        until: now + a.digit_timeout,
                    };
                }
            }
            (PlacedEvent::Digit(_, digit), Step::Playing | Step::Waiting { .. })
                if a.max_digits > 0 =>
            {
                if a.step == Step::Playing {
                    out.push(Command::StopPlay(key));
                }
                a.digits.push(digit);
                if a.digits.len() >= a.max_digits {
                    finish(key, a, out);
                } else {
                    a.step = Step::Waiting {
                        until: now + a.digit_timeout,
                    };
                }
            }
            _ => {}
        }
    }

    /// Announcements whose digit timeout passed end now.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Command>) {
        for (key, a) in self.calls.iter_mut() {
            if matches!(a.step, Step::Waiting { until } if until <= now) {
                finish(*key, a, out);
            }
        }
    }
}

/// Places a call whose purpose is an announcement (see [`crate::Originate`]): checks the
/// prompts and the target, then rings every registered phone of the target.
pub(crate) fn originate(
    apps: &mut super::Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    request: Originate,
) -> Result<CallKey, OriginateError> {
    let attendant = apps.attendant.clone().ok_or(OriginateError::NoDialplan)?;
    let plan = &attendant.plan;
    let Purpose::Announcement(announcement) = &request.purpose;
    let language = announcement
        .language
        .clone()
        .or_else(|| plan.languages().first().map(|(code, _)| code.clone()))
        .unwrap_or_else(|| "en".into());
    let prompts = announcement
        .prompts
        .iter()
        .map(|name| {
            attendant
                .prompts
                .get(plan.prompt(&language, name))
                .ok_or_else(|| OriginateError::UnknownPrompt(format!("{name} ({language})")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ext = core
        .directory
        .extension(&request.target)
        .ok_or_else(|| OriginateError::UnknownTarget(request.target.clone()))?;
    let targets: Vec<_> = core
        .bindings(&ext.number, wall_ms)
        .into_iter()
        .filter_map(|b| ring_target(b, &ext))
        .collect();
    if targets.is_empty() {
        return Err(OriginateError::NotRegistered(request.target));
    }
    if core.active_calls() >= core.config.max_concurrent_calls {
        return Err(OriginateError::TooManyCalls);
    }
    let port = core.ports.allocate().ok_or(OriginateError::NoMediaPorts)?;
    let key = core.calls.next_key();
    let dial = Dial {
        key,
        targets,
        callee: ext.number.clone(),
        from_user: core.operator_position(),
        display: request.display.unwrap_or_else(|| "Switchboard".into()),
        purpose: request.purpose.kind(),
        ring_for: core.config.ring_timeout,
        headers: Vec::new(),
    };
    apps.announcements.start(
        key,
        prompts,
        announcement.max_digits,
        announcement.digit_timeout,
    );
    let (mut ctx, placed) = core.split();
    placed.dial(&mut ctx, ep, now, wall_ms, dial, port);
    Ok(key)
}

/// Carries out the announcement commands through call control.
pub(crate) fn carry_out(
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    commands: Vec<Command>,
) {
    for command in commands {
        let (mut ctx, placed) = core.split();
        match command {
            Command::Play(key, prompts) => placed.play(&mut ctx, key, prompts),
            Command::StopPlay(key) => placed.stop_play(&mut ctx, key),
            Command::Digits(call, digits) => {
                ctx.outputs
                    .push_back(Output::call(CdrEvent::Digits { call, digits }));
            }
            Command::Hangup(key) => placed.hangup(&mut ctx, ep, now, wall_ms, key),
        }
    }
}

/// Records the digits (if any) and hangs up.
fn finish(key: CallKey, a: &mut Announcing, out: &mut Vec<Command>) {
    a.step = Step::Finished;
    if !a.digits.is_empty() {
        out.push(Command::Digits(key, a.digits.clone()));
    }
    out.push(Command::Hangup(key));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    fn prompt() -> Arc<Prompt> {
        Arc::new(Prompt::from_samples("test", &[0; 80], 8000))
    }

    #[test]
    fn plays_on_answer_and_hangs_up_after_the_wanted_digits() {
        let (mut apps, now, key) = (Announcements::default(), t0(), CallKey(1));
        apps.start(key, vec![prompt()], 2, Duration::from_secs(5));
        let mut out = Vec::new();
        apps.on_event(now, PlacedEvent::Digit(key, '9'), &mut out);
        assert!(out.is_empty(), "a digit before the answer is ignored");
        apps.on_event(now, PlacedEvent::Answered(key), &mut out);
        assert!(matches!(out.as_slice(), [Command::Play(k, p)] if *k == key && p.len() == 1));
        out.clear();
        apps.on_event(now, PlacedEvent::Digit(key, '4'), &mut out);
        assert_eq!(out, vec![Command::StopPlay(key)]);
        out.clear();
        apps.on_event(now, PlacedEvent::Digit(key, '2'), &mut out);
        assert_eq!(
            out,
            vec![Command::Digits(key, "42".into()), Command::Hangup(key)]
        );
    }

    #[test]
    fn waits_for_digits_after_the_prompts_then_gives_up() {
        let (mut apps, now, key) = (Announcements::default(), t0(), CallKey(2));
        apps.start(key, vec![prompt()], 1, Duration::from_secs(5));
        let mut out = Vec::new();
        apps.on_event(now, PlacedEvent::Answered(key), &mut out);
        apps.on_event(now, PlacedEvent::PromptFinished(key), &mut out);
        out.clear();
        assert_eq!(apps.next_deadline(), Some(now + Duration::from_secs(5)));
        apps.handle_timeout(now + Duration::from_secs(4), &mut out);
        assert!(out.is_empty());
        apps.handle_timeout(now + Duration::from_secs(5), &mut out);
        assert_eq!(out, vec![Command::Hangup(key)]);
        apps.on_event(now, PlacedEvent::Ended(key), &mut out);
        assert_eq!(apps.next_deadline(), None);
    }

    #[test]
    fn without_digits_wanted_it_hangs_up_when_the_prompts_end() {
        let (mut apps, now, key) = (Announcements::default(), t0(), CallKey(3));
        apps.start(key, vec![prompt()], 0, Duration::from_secs(5));
        let mut out = Vec::new();
        apps.on_event(now, PlacedEvent::Answered(key), &mut out);
        apps.on_event(now, PlacedEvent::Digit(key, '1'), &mut out);
        out.clear();
        apps.on_event(now, PlacedEvent::PromptFinished(key), &mut out);
        assert_eq!(out, vec![Command::Hangup(key)]);
    }
}
