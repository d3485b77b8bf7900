//! The pure call interpreter: `(plan, call state, now, wall clock, event) → actions`.
//!
//! ```text
//!            Offered
//!   Idle ───────────────► (run instructions) ──► Done (Hangup / Reject)
//!                              │   ▲
//!      Answer ◄── needs audio ─┤   │ Answered / PlayFinished / failures
//!                              ▼   │
//!   AwaitAnswer · Playing · Collecting · Bridging · Queued · FeatureWait · OperatorOffer
//! ```
//!
//! A call that is refused with an explanation (a restricted or retired number, a number
//! that changed) hears it as early media: [`Action::Progress`], then the prompt, then
//! the [`Action::Reject`] or [`Action::Bridge`], all without being answered.
//!
//! Instructions run one after another until one has to wait for the outside world
//! (an answer, the end of a prompt, keys, a bridge or the queue). When a menu's route
//! runs out of instructions without leaving the menu, the menu is presented again.

mod offer;
mod refusal;

use crate::call::{
    Action, Event, FailReason, FeatureResult, QueueExit, Refusal, Screening, Target,
};
use crate::menu::Menu;
use crate::plan::Plan;
use crate::program::{CallTarget, Instr, PromptRef};
use crate::routing::{Feature, Ringing};
use crate::schedule::Mode;
use refusal::{number_changed, refusal_prompt};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a caller has to enter a conference PIN before it counts as a wrong one.
pub(crate) const PIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Wrong (or missing) PIN entries after which the caller is hung up.
pub(crate) const PIN_ATTEMPTS: u32 = 3;

/// How long a caller who reached an extension with do-not-disturb has to press `0` for
/// the operator, outside a menu (in a menu, the menu's `input_timeout` applies).
pub(crate) const OPERATOR_OFFER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the call is waiting for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Before [`Event::Offered`].
    Idle,
    /// Instructions are being run (never observed between events).
    Running,
    /// [`Action::Answer`] was sent; audio instructions wait for [`Event::Answered`].
    AwaitAnswer,
    /// A menu greeting plays; keys may interrupt it.
    Greeting { interruptible: bool },
    /// A prompt from an action plays; keys are ignored.
    Playing,
    /// Keys are being collected for the current menu.
    Collecting { digits: String },
    /// A bridge was requested; `next` holds the remaining members of an in-order group.
    Bridging {
        next: VecDeque<String>,
        ring_timeout: Duration,
        fallback: Option<Vec<Instr>>,
    },
    /// In an operator queue.
    Queued { queue: usize },
    /// A feature code was handed to the pbx.
    FeatureWait,
    /// The called extension does not disturb: `guest_dnd, press_0_operator` plays
    /// (`playing`), then one key is collected; `0` reaches the operator.
    OperatorOffer { playing: bool },
    /// Keys are collected for the PIN of a conference room.
    ConferencePin { room: usize, digits: String },
    /// In a conference room until the caller hangs up.
    InConference,
    /// The call is over.
    Done,
}

/// The state of one call, owned by the pbx and passed to every [`step`].
#[derive(Clone, Debug)]
pub struct CallState {
    /// The plan the call started on; 0 before the first event.
    plan_id: u64,
    mode_override: Option<Mode>,
    mode: Option<Mode>,
    language: String,
    variables: BTreeMap<String, String>,
    phase: Phase,
    pending: VecDeque<Instr>,
    menu: Option<usize>,
    history: Vec<usize>,
    invalid_count: u32,
    no_input_count: u32,
    exhausted: bool,
    answered: bool,
    /// [`Action::Progress`] was sent: prompts play as early media.
    early_media: bool,
    announced: bool,
    feature: Option<Feature>,
    pin_failures: u32,
    deadline: Option<Instant>,
}

impl CallState {
    /// Creates the state for a new call. `mode_override` is the operator's override in force
    /// when the call arrives (None follows the schedule); the call keeps its mode to the end.
    pub fn new(mode_override: Option<Mode>) -> CallState {
        CallState {
            plan_id: 0,
            mode_override,
            mode: None,
            language: String::new(),
            variables: BTreeMap::new(),
            phase: Phase::Idle,
            pending: VecDeque::new(),
            menu: None,
            history: Vec::new(),
            invalid_count: 0,
            no_input_count: 0,
            exhausted: false,
            answered: false,
            early_media: false,
            announced: false,
            feature: None,
            pin_failures: 0,
            deadline: None,
        }
    }

    /// Returns when [`Event::Timeout`] is due, if the call waits for keys.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Returns the attendant mode fixed when the call was offered.
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// Returns the caller's current prompt language.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Returns a call variable (`caller`, `dialled`, `language`, `mode`, `call_result` or one set by `set:`).
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }

    /// Returns true once the call is over (hung up, rejected or bridged and then hung up).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    fn set_language(&mut self, language: &str) {
        self.language = language.to_string();
        self.variables
            .insert("language".into(), language.to_string());
    }
}

/// Advances a call by one event and returns what the pbx should do, in order.
///
/// `now` drives key timeouts; `wall` is the wall-clock time used to pick the attendant
/// mode from the schedule when the call is offered. The function does no I/O.
///
/// A call must be stepped with the plan it started on (keep that plan alive for the
/// call, as a reload swaps in a new one for new calls). A call stepped with another
/// plan hangs up instead of following references into the wrong plan.
pub fn step(
    plan: &Plan,
    call: &mut CallState,
    now: Instant,
    wall: jiff::Timestamp,
    event: Event,
) -> Vec<Action> {
    if call.plan_id == 0 {
        call.plan_id = plan.id;
    } else if call.plan_id != plan.id {
        if call.phase == Phase::Done || event == Event::Hangup {
            call.phase = Phase::Done;
            return Vec::new();
        }
        call.phase = Phase::Done;
        call.deadline = None;
        call.pending.clear();
        return vec![Action::Hangup];
    }
    let mut run = Run {
        plan,
        call,
        now,
        out: Vec::new(),
    };
    run.event(wall, event);
    run.out
}

struct Run<'a> {
    plan: &'a Plan,
    call: &'a mut CallState,
    now: Instant,
    out: Vec<Action>,
}

impl Run<'_> {
    fn event(&mut self, wall: jiff::Timestamp, event: Event) {
        match event {
            Event::Offered {
                from,
                to,
                authenticated_extension,
                caller_language,
            } => {
                if self.call.phase == Phase::Idle {
                    self.offered(wall, from, to, authenticated_extension, caller_language);
                }
            }
            Event::Answered => {
                self.call.answered = true;
                if self.call.phase == Phase::AwaitAnswer {
                    self.call.phase = Phase::Running;
                    self.run();
                }
            }
            Event::PlayFinished => match self.call.phase {
                Phase::Greeting { .. } => self.collect(String::new()),
                Phase::Playing => {
                    self.call.phase = Phase::Running;
                    self.run();
                }
                Phase::OperatorOffer { playing: true } => self.await_offer_key(),
                _ => {}
            },
            Event::Dtmf(key) => self.key(key),
            Event::Timeout => self.timeout(),
            Event::BridgeFailed { reason } => self.bridge_failed(reason),
            Event::QueueExited { reason } => {
                if let Phase::Queued { queue } = self.call.phase {
                    let q = &self.plan.queues[queue];
                    let actions = match reason {
                        QueueExit::NoOperator | QueueExit::Full => &q.fallback,
                        QueueExit::MaxWait => &q.after_max_wait,
                    };
                    // Fallback actions that do not leave return the caller to their menu, if any.
                    self.call.pending = actions.iter().cloned().collect();
                    self.call.phase = Phase::Running;
                    self.run();
                }
            }
            Event::FeatureDone(result) => {
                if self.call.phase == Phase::FeatureWait {
                    let prompt = match result {
                        FeatureResult::Mode(Mode::Automatic) => "mode_automatic",
                        FeatureResult::Mode(Mode::Manual) => "mode_manual",
                        FeatureResult::Paused => "operator_paused",
                        FeatureResult::Available => "operator_available",
                        FeatureResult::LoggedOut => "operator_logged_out",
                        FeatureResult::DndOn => "dnd_on",
                        FeatureResult::DndOff => "dnd_off",
                        FeatureResult::ForwardOn(_) => "forward_on",
                        FeatureResult::ForwardOff(_) => "forward_off",
                        FeatureResult::Refused(Refusal::NotAvailable) => "feature_refused",
                        FeatureResult::Refused(Refusal::BadTarget) => "forward_refused",
                    };
                    self.finish_with(prompt);
                }
            }
            Event::ConferenceFull => {
                if self.call.phase == Phase::InConference {
                    self.finish_with("busy");
                }
            }
            Event::GotoMenu { menu } => self.goto_menu(&menu),
            Event::Hangup => {
                self.call.phase = Phase::Done;
                self.call.deadline = None;
                self.call.pending.clear();
            }
        }
    }

    fn goto_menu(&mut self, name: &str) {
        if self.call.phase == Phase::Done {
            return;
        }
        if self.call.language.is_empty() {
            let language = self.plan.settings.default_language.clone();
            self.call.set_language(&language);
        }
        let found = self.plan.menus.iter().position(|m| m.name == name);
        self.call.deadline = None;
        self.call.pending.clear();
        self.call.answered = true;
        match found {
            Some(menu) => {
                self.call.phase = Phase::Running;
                self.call.history.clear();
                self.call.menu = None;
                self.enter(menu);
            }
            None => self.reject(FailReason::NotFound),
        }
    }

    fn operator_queue(&self) -> usize {
        let name = &self.plan.operators().queue;
        self.plan
            .queues
            .iter()
            .position(|q| &q.name == name)
            .unwrap_or(0)
    }

    /// The instruction that dials `number` directly: the operator, a group's number or an extension.
    fn direct_target(&self, number: &str) -> Option<Instr> {
        let plan = self.plan;
        if number == plan.operators().position {
            return Some(Instr::Queue(self.operator_queue()));
        }
        if let Some(i) = plan
            .groups
            .iter()
            .position(|g| g.number.as_deref() == Some(number))
        {
            return Some(Instr::Call {
                target: CallTarget::Group(i),
                ring_timeout: None,
                if_failed: None,
            });
        }
        if let Some(i) = plan.conferences.iter().position(|c| c.number == number) {
            return Some(Instr::Conference(i));
        }
        plan.extension(number).map(|e| Instr::Call {
            target: CallTarget::Extension(e.number.clone()),
            ring_timeout: None,
            if_failed: None,
        })
    }

    /// What a menu does with a number that is no longer in use: an old number of a renumbered
    /// extension announces the new one, a retired number `not_in_service`; then the menu
    /// collects again. Outside callers are never connected to the new number.
    fn moved_number(&self, number: &str) -> Option<Vec<Instr>> {
        let prompts = if let Some(ext) = self.plan.renumbered(number) {
            number_changed(&ext.number)
        } else if self.plan.is_retired(number) {
            vec![PromptRef::Named(refusal_prompt(FailReason::Gone).into())]
        } else {
            return None;
        };
        Some(vec![Instr::Play(prompts), Instr::Collect])
    }

    /// True when some dialable number or route key is longer than `digits` and starts with them.
    fn longer_possible(&self, menu: &Menu, digits: &str) -> bool {
        let plan = self.plan;
        let longer = |s: &str| s.len() > digits.len() && s.starts_with(digits);
        if menu.routes.iter().any(|(k, _)| longer(k)) {
            return true;
        }
        menu.direct_dial
            && (longer(&plan.operators().position)
                || plan
                    .groups
                    .iter()
                    .filter_map(|g| g.number.as_deref())
                    .any(longer)
                || plan.conferences.iter().any(|c| longer(&c.number))
                || plan
                    .renumbered
                    .range(digits.to_string()..)
                    .take_while(|(k, _)| k.starts_with(digits))
                    .any(|(k, _)| k.len() > digits.len())
                || plan
                    .retired
                    .range(digits.to_string()..)
                    .take_while(|k| k.starts_with(digits))
                    .any(|k| k.len() > digits.len())
                || plan
                    .directory
                    .extensions
                    .range(digits.to_string()..)
                    .take_while(|(k, _)| k.starts_with(digits))
                    .any(|(k, _)| k.len() > digits.len()))
    }

    fn finish_with(&mut self, prompt: &str) {
        self.call.pending = vec![
            Instr::Play(vec![PromptRef::Named(prompt.into())]),
            Instr::Hangup,
        ]
        .into();
        self.call.phase = Phase::Running;
        self.run();
    }

    fn reject(&mut self, reason: FailReason) {
        self.out.push(Action::Reject(reason));
        self.call.phase = Phase::Done;
        self.call.pending.clear();
    }

    fn hangup(&mut self) {
        self.out.push(Action::Hangup);
        self.call.phase = Phase::Done;
        self.call.deadline = None;
        self.call.pending.clear();
    }

    /// Makes sure the call is answered before audio; returns false when it must wait.
    fn ensure_answered(&mut self, instr: Instr) -> bool {
        if self.call.answered {
            return true;
        }
        self.call.pending.push_front(instr);
        self.out.push(Action::Answer);
        self.call.phase = Phase::AwaitAnswer;
        false
    }

    fn play(&mut self, prompts: &[PromptRef], interruptible: bool) {
        let language = self.call.language.clone();
        let paths = prompts
            .iter()
            .map(|p| self.plan.prompt_path(&language, p))
            .collect();
        self.out.push(Action::Play {
            prompts: paths,
            interruptible,
        });
    }

    /// Runs instructions until one waits for the outside world.
    fn run(&mut self) {
        while self.call.phase == Phase::Running {
            if self.call.feature.is_some() {
                if !self.ensure_answered(Instr::Repeat) {
                    self.call.pending.clear();
                    return;
                }
                let Some(feature) = self.call.feature.take() else {
                    return;
                };
                self.out.push(Action::Feature(feature));
                self.call.phase = Phase::FeatureWait;
                return;
            }
            let Some(instr) = self.call.pending.pop_front() else {
                match self.call.menu {
                    Some(_) if !self.call.exhausted => self.present(),
                    _ => self.hangup(),
                }
                continue;
            };
            self.execute(instr);
        }
    }

    fn execute(&mut self, instr: Instr) {
        match instr {
            Instr::Play(prompts) => {
                if self.ensure_answered(Instr::Play(prompts.clone())) {
                    self.play(&prompts, false);
                    self.call.phase = Phase::Playing;
                }
            }
            Instr::Menu { menu, pos } => {
                if self.ensure_answered(Instr::Menu { menu, pos }) {
                    if let Some(current) = self.call.menu.filter(|c| *c != menu) {
                        self.call.history.push(current);
                    }
                    self.enter(menu);
                }
            }
            Instr::Back => {
                let previous = self.call.history.pop();
                match previous.or(self.call.menu) {
                    Some(menu) => self.enter(menu),
                    None => self.hangup(),
                }
            }
            Instr::Repeat => {
                self.call.pending.clear();
                if self.call.menu.is_none() {
                    self.hangup();
                }
            }
            Instr::Call {
                target,
                ring_timeout,
                if_failed,
            } => self.call_target(target, ring_timeout, if_failed),
            Instr::Queue(queue) => {
                // Waiting callers hear music and their position: they are answered first.
                if !self.ensure_answered(Instr::Queue(queue)) {
                    return;
                }
                self.call.pending.clear();
                self.out.push(Action::OperatorQueue {
                    queue: self.plan.queues[queue].name.clone(),
                });
                self.call.phase = Phase::Queued { queue };
            }
            Instr::Conference(room) => {
                if self.ensure_answered(Instr::Conference(room)) {
                    self.conference(room);
                }
            }
            Instr::Hangup => self.hangup(),
            Instr::Language(language) => {
                self.call.set_language(&language);
                self.out.push(Action::SetLanguage(language));
            }
            Instr::Set(vars) => self.call.variables.extend(vars),
            Instr::Override(number) => {
                self.call.pending.clear();
                let ring_timeout = self.plan.settings.ring_timeout;
                self.out.push(Action::Bridge {
                    target: Target::Extension(number),
                    ring_timeout,
                    screening: Screening::Override,
                });
                self.call.phase = Phase::Bridging {
                    next: VecDeque::new(),
                    ring_timeout,
                    fallback: None,
                };
            }
            Instr::Page(group) => {
                self.call.pending.clear();
                self.out.push(Action::Page {
                    group: self.plan.paging[group].number.clone(),
                });
                // Like a bridged call: a failure comes back as `BridgeFailed`.
                self.call.phase = Phase::Bridging {
                    next: VecDeque::new(),
                    ring_timeout: self.plan.settings.ring_timeout,
                    fallback: None,
                };
            }
            Instr::Reject(reason) => self.reject(reason),
            Instr::OfferOperator => {
                if self.ensure_answered(Instr::OfferOperator) {
                    self.call.pending.clear();
                    let prompts =
                        ["guest_dnd", "press_0_operator"].map(|p| PromptRef::Named(p.into()));
                    self.play(&prompts, true);
                    self.call.phase = Phase::OperatorOffer { playing: true };
                }
            }
            Instr::Collect => {
                self.call.pending.clear();
                self.collect(String::new());
            }
            Instr::If {
                variable,
                equals,
                then,
                otherwise,
            } => {
                let branch = if self.call.variable(&variable) == Some(equals.as_str()) {
                    then
                } else {
                    otherwise
                };
                for instr in branch.into_iter().rev() {
                    self.call.pending.push_front(instr);
                }
            }
        }
    }

    /// Enters a menu afresh: counters reset, the greeting plays.
    fn enter(&mut self, menu: usize) {
        self.call.menu = Some(menu);
        self.call.invalid_count = 0;
        self.call.no_input_count = 0;
        self.call.exhausted = false;
        self.call.pending.clear();
        self.present();
    }

    /// Plays the current menu's greeting, or starts collecting keys when it has none.
    fn present(&mut self) {
        let Some(m) = self.call.menu else {
            return self.hangup();
        };
        let menu = &self.plan.menus[m];
        self.call.pending.clear();
        if menu.greeting.is_empty() {
            self.collect(String::new());
        } else {
            self.play(&menu.greeting, menu.interruptible);
            self.call.phase = Phase::Greeting {
                interruptible: menu.interruptible,
            };
        }
    }

    fn collect(&mut self, digits: String) {
        let Some(m) = self.call.menu else {
            return self.hangup();
        };
        let menu = &self.plan.menus[m];
        let until = self.now + menu.input_timeout;
        if digits.is_empty() {
            self.out.push(Action::CollectDigits {
                max_digits: menu.max_digits,
                until,
            });
            self.call.deadline = Some(until);
        }
        self.call.phase = Phase::Collecting { digits };
    }

    fn key(&mut self, key: char) {
        if !matches!(key, '0'..='9' | '*' | '#') {
            return;
        }
        match &self.call.phase {
            Phase::Greeting {
                interruptible: true,
            } => {
                // Barge-in: the key is the first of the entry, so the digit timeout applies at once.
                self.out.push(Action::StopPlay);
                self.call.phase = Phase::Collecting {
                    digits: String::new(),
                };
                self.key(key);
            }
            Phase::OperatorOffer { playing } => {
                if *playing {
                    self.out.push(Action::StopPlay);
                }
                self.operator_offer_answered(key == '0');
            }
            Phase::ConferencePin { room, digits } => {
                let (room, mut digits) = (*room, digits.clone());
                let pin_len = self.plan.conferences[room]
                    .pin
                    .as_ref()
                    .map_or(0, String::len);
                if key == '#' {
                    return self.check_pin(room, &digits);
                }
                if key == '*' {
                    return;
                }
                digits.push(key);
                if digits.len() >= pin_len {
                    self.check_pin(room, &digits);
                } else {
                    self.call.phase = Phase::ConferencePin { room, digits };
                }
            }
            Phase::Collecting { digits } => {
                let mut digits = digits.clone();
                let Some(m) = self.call.menu else { return };
                let menu = &self.plan.menus[m];
                if key == '#' {
                    return self.evaluate(&digits);
                }
                digits.push(key);
                let exact = menu.routes.iter().any(|(k, _)| *k == digits)
                    || (menu.direct_dial
                        && (self.direct_target(&digits).is_some()
                            || self.moved_number(&digits).is_some()));
                if digits.len() >= menu.max_digits || !self.longer_possible(menu, &digits) {
                    if exact || digits.len() >= menu.max_digits {
                        self.evaluate(&digits);
                    } else {
                        self.invalid();
                    }
                } else {
                    self.call.deadline = Some(self.now + menu.digit_timeout);
                    self.call.phase = Phase::Collecting { digits };
                }
            }
            _ => {}
        }
    }

    fn timeout(&mut self) {
        if self.call.deadline.is_none_or(|d| self.now < d) {
            return;
        }
        self.call.deadline = None;
        if let Phase::ConferencePin { room, digits } = &self.call.phase {
            let (room, digits) = (*room, digits.clone());
            return self.check_pin(room, &digits);
        }
        if self.call.phase == (Phase::OperatorOffer { playing: false }) {
            return self.operator_offer_answered(false);
        }
        if let Phase::Collecting { digits } = &self.call.phase {
            if digits.is_empty() {
                self.no_input();
            } else {
                let digits = digits.clone();
                self.evaluate(&digits);
            }
        }
    }

    /// Acts on a complete entry: a route, a dialled number, or invalid input.
    fn evaluate(&mut self, digits: &str) {
        self.call.deadline = None;
        let Some(m) = self.call.menu else { return };
        let menu = &self.plan.menus[m];
        let program = if let Some((_, actions)) = menu.routes.iter().find(|(k, _)| k == digits) {
            Some(actions.clone())
        } else if menu.direct_dial {
            // Never paging groups or feature codes: only what `direct_target` dials.
            self.direct_target(digits)
                .map(|i| vec![i])
                .or_else(|| self.moved_number(digits))
        } else {
            None
        };
        match program {
            Some(program) => {
                self.call.pending = program.into();
                self.call.phase = Phase::Running;
                self.run();
            }
            None => self.invalid(),
        }
    }

    fn invalid(&mut self) {
        let Some(m) = self.call.menu else { return };
        let menu = &self.plan.menus[m];
        self.call.invalid_count += 1;
        let exhausted = self.call.invalid_count > menu.retries;
        self.retry(
            if exhausted {
                &menu.after_retries
            } else {
                &menu.on_invalid
            },
            exhausted,
        );
    }

    fn no_input(&mut self) {
        let Some(m) = self.call.menu else { return };
        let menu = &self.plan.menus[m];
        self.call.no_input_count += 1;
        let exhausted = self.call.no_input_count > menu.retries;
        self.retry(
            if exhausted {
                &menu.after_retries
            } else {
                &menu.on_no_input
            },
            exhausted,
        );
    }

    fn retry(&mut self, actions: &[Instr], exhausted: bool) {
        self.call.deadline = None;
        self.call.exhausted = exhausted;
        self.call.pending = actions.iter().cloned().collect();
        self.call.phase = Phase::Running;
        self.run();
    }

    /// Joins a conference room, asking for its PIN first when it has one.
    fn conference(&mut self, room: usize) {
        let conference = &self.plan.conferences[room];
        self.call.pending.clear();
        match &conference.pin {
            Some(pin) => {
                let until = self.now + PIN_TIMEOUT;
                self.out.push(Action::CollectDigits {
                    max_digits: pin.len(),
                    until,
                });
                self.call.deadline = Some(until);
                self.call.phase = Phase::ConferencePin {
                    room,
                    digits: String::new(),
                };
            }
            None => self.join(room),
        }
    }

    fn join(&mut self, room: usize) {
        self.call.deadline = None;
        self.call.phase = Phase::InConference;
        self.out.push(Action::Conference {
            room: self.plan.conferences[room].number.clone(),
        });
    }

    /// Compares an entered PIN: right joins the room; wrong (or nothing) plays `invalid` (or
    /// `no_input`) and asks again, up to [`PIN_ATTEMPTS`] times, then says goodbye.
    fn check_pin(&mut self, room: usize, digits: &str) {
        self.call.deadline = None;
        let expected = self.plan.conferences[room].pin.as_deref().unwrap_or("");
        if digits == expected {
            self.call.pin_failures = 0;
            return self.join(room);
        }
        self.call.pin_failures += 1;
        let complaint = if digits.is_empty() {
            "no_input"
        } else {
            "invalid"
        };
        let mut next = vec![Instr::Play(vec![PromptRef::Named(complaint.into())])];
        if self.call.pin_failures >= PIN_ATTEMPTS {
            next.push(Instr::Play(vec![PromptRef::Named("goodbye".into())]));
            next.push(Instr::Hangup);
        } else {
            next.push(Instr::Conference(room));
        }
        self.call.pending = next.into();
        self.call.phase = Phase::Running;
        self.run();
    }

    fn call_target(
        &mut self,
        target: CallTarget,
        ring_timeout: Option<Duration>,
        if_failed: Option<Vec<Instr>>,
    ) {
        let plan = self.plan;
        if let Some(menu) = self.call.menu.map(|m| &plan.menus[m])
            && !menu.connect_prompt.is_empty()
            && self.call.answered
            && !self.call.announced
        {
            self.call.announced = true;
            self.call.pending.push_front(Instr::Call {
                target,
                ring_timeout,
                if_failed,
            });
            self.call
                .pending
                .push_front(Instr::Play(menu.connect_prompt.clone()));
            return;
        }
        self.call.announced = false;
        self.call.pending.clear();
        match target {
            CallTarget::Extension(number) => {
                let ring_timeout = ring_timeout.unwrap_or(plan.settings.ring_timeout);
                self.out.push(Action::Bridge {
                    target: Target::Extension(number),
                    ring_timeout,
                    screening: Screening::Normal,
                });
                self.call.phase = Phase::Bridging {
                    next: VecDeque::new(),
                    ring_timeout,
                    fallback: if_failed,
                };
            }
            CallTarget::Group(g) => {
                let group = &plan.groups[g];
                let ring_timeout = ring_timeout.unwrap_or(group.ring_timeout);
                let fallback = if_failed.or_else(|| group.fallback.clone());
                match group.ringing {
                    Ringing::Parallel => {
                        self.out.push(Action::Bridge {
                            target: Target::Group {
                                name: group.name.clone(),
                                members: group.members.clone(),
                            },
                            ring_timeout,
                            screening: Screening::Normal,
                        });
                        self.call.phase = Phase::Bridging {
                            next: VecDeque::new(),
                            ring_timeout,
                            fallback,
                        };
                    }
                    Ringing::InOrder => {
                        let mut next: VecDeque<String> = group.members.iter().cloned().collect();
                        self.call.phase = Phase::Bridging {
                            next: VecDeque::new(),
                            ring_timeout,
                            fallback,
                        };
                        match next.pop_front() {
                            Some(first) => {
                                self.out.push(Action::Bridge {
                                    target: Target::Extension(first),
                                    ring_timeout,
                                    screening: Screening::Normal,
                                });
                                if let Phase::Bridging { next: rest, .. } = &mut self.call.phase {
                                    *rest = next;
                                }
                            }
                            None => self.bridge_failed(FailReason::Unavailable),
                        }
                    }
                }
            }
        }
    }
}
