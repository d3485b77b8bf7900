//! The operator queue's test bench: a small dialplan where the hotel number
//! 1000 goes straight to the operator queue (with short timers, so a test
//! reads as a timeline), operators who log in by registering `0`, callers
//! who wait, and readers for the live snapshot and the queue records.

use super::{Leg, Outgoing, PhoneId, World, plan_from_str};
use media::LegId;
use pbx::{OperatorActivity, QueueOutcome, QueueRecord, QueueSnapshot};
use sip::message::Method;
use std::time::Duration;

/// The queue's settings for one test (durations in seconds).
#[derive(Debug, Clone)]
pub struct QueueOpts {
    /// `max_wait`.
    pub max_wait: u64,
    /// `max_length`.
    pub max_length: u32,
    /// `announce_position_every` (0 turns announcements off).
    pub announce_every: u64,
    /// `operator_ring_timeout`.
    pub ring_timeout: u64,
    /// `wrap_up`.
    pub wrap_up: u64,
}

impl Default for QueueOpts {
    fn default() -> Self {
        QueueOpts {
            max_wait: 600,
            max_length: 10,
            announce_every: 20,
            ring_timeout: 10,
            wrap_up: 0,
        }
    }
}

/// The dialplan of the queue tests. Extensions: 301 and 302 (English, 302
/// is VIP), 303 (Mandarin), 401 and 402 (VIP). Outside callers and 1000 go
/// to the operator queue; 2000 is a language menu (2 = Mandarin, then the
/// operator). The fallback plays `operator_unavailable goodbye`, the
/// after-max-wait actions play `no_answer goodbye`, so the two are told apart.
pub fn queue_plan_text(o: &QueueOpts) -> String {
    let announce = if o.announce_every == 0 {
        "false".to_string()
    } else {
        format!("{}s", o.announce_every)
    };
    format!(
        r#"
settings:
  realm: switchboard
  default_language: en
prompts:
  directory: ../prompts
  languages:
    en: English
    zh: 中文
extensions:
  - {{ number: 301, name: Room 301, password: secret301, language: en }}
  - {{ number: 302, name: Room 302, password: secret302, language: en, vip: true }}
  - {{ number: 303, name: Room 303, password: secret303, language: zh }}
  - {{ number: 401, name: Suite 401, password: secret401, vip: true }}
  - {{ number: 402, name: Suite 402, password: secret402, vip: true }}
operators:
  position: 0
  queue: operators
  vip_callers: ["+15550009"]
  accounts:
    - {{ user: op1, name: Operator 1, password: secretop1 }}
    - {{ user: op2, name: Operator 2, password: secretop2 }}
    - {{ user: op3, name: Operator 3, password: secretop3 }}
queues:
  operators:
    max_wait: {max_wait}s
    max_length: {max_length}
    announce_position_every: {announce}
    music_on_hold: default
    operator_ring_timeout: {ring}s
    wrap_up: {wrap}s
    fallback:
      - play: [operator_unavailable, goodbye]
      - hangup
    after_max_wait:
      - play: [no_answer, goodbye]
      - hangup
entry:
  numbers:
    1000: operator
    2000: {{ menu: language }}
  outside_callers: operator
  extensions_dial_directly: true
features:
  operator_pause: "*45"
  operator_unpause: "*46"
  operator_logout: "*47"
menus:
  language:
    greeting: [common/language_menu]
    routes:
      1: [{{ language: en }}, operator]
      2: [{{ language: zh }}, operator]
"#,
        max_wait = o.max_wait,
        max_length = o.max_length,
        ring = o.ring_timeout,
        wrap = o.wrap_up,
    )
}

/// A world running [`queue_plan_text`].
pub fn queue_world(o: &QueueOpts) -> World {
    let (plan, prompts) = plan_from_str(&queue_plan_text(o));
    World::new(plan, prompts)
}

/// A caller who reached the operator queue: answered by the PBX and waiting.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's phone.
    pub phone: PhoneId,
    /// The INVITE the caller sent.
    pub out: Outgoing,
    /// The caller's dialog with the PBX.
    pub leg: Leg,
    /// The caller's media leg in the PBX.
    pub a: LegId,
    /// The caller leg's Call-ID (the queue record's `call_id`).
    pub call_id: String,
}

/// An operator's answered call with a queued caller.
#[derive(Debug, Clone)]
pub struct OperatorCall {
    /// The operator's dialog with the PBX.
    pub leg: Leg,
}

impl World {
    /// Operator `n` (`op<n>`, password `secretop<n>`) logs in: their phone at
    /// 10.0.0.3<n> registers the operator position `0`.
    pub fn login_operator(&mut self, n: u8) -> PhoneId {
        self.login_operator_for(n, 3600)
    }

    /// Like [`World::login_operator`], registering for `expires` seconds.
    pub fn login_operator_for(&mut self, n: u8, expires: u32) -> PhoneId {
        let user = format!("op{n}");
        let p = self.add_phone(
            &user,
            "0",
            &user,
            &format!("secretop{n}"),
            &format!("10.0.0.3{n}:5060"),
            9000 + u16::from(n) * 10,
        );
        let resp = self.register_for(p, &format!("secretop{n}"), expires);
        if resp.status != 200 {
            self.fail(&format!(
                "expected 200 to {user}'s REGISTER of 0, got {}",
                resp.status
            ));
        }
        p
    }

    /// An outside caller (never registered) at 192.0.2.<host>.
    pub fn outside_caller(&mut self, number: &str, host: u8) -> PhoneId {
        self.add_guest(
            number,
            &format!("192.0.2.{host}:5060"),
            7000 + u16::from(host) * 10,
        )
    }

    /// A registered extension's phone at 10.0.1.<host> (password `secret<number>`).
    pub fn extension_phone(&mut self, number: &str, host: u8) -> PhoneId {
        let p = self.add_phone(
            number,
            number,
            number,
            &format!("secret{number}"),
            &format!("10.0.1.{host}:5060"),
            5000 + u16::from(host) * 10,
        );
        self.register(p);
        p
    }

    /// Phone `p` dials `number` (as a registered phone if it has a password,
    /// as an outside caller otherwise); the PBX answers; returns the caller.
    pub fn dial_queue(&mut self, p: PhoneId, number: &str) -> Caller {
        let registered = !self.phones[p.0].password.is_empty();
        let out = if registered {
            self.call(p, number)
        } else {
            self.invite(p, number)
        };
        let ok = self.take_final(p, out.tx);
        if ok.status != 200 {
            let label = self.phones[p.0].label.clone();
            self.fail(&format!(
                "expected the PBX to answer {label}'s call to {number} with 200, got {}",
                ok.status
            ));
        }
        let leg = self.ack(&out, &ok);
        self.settle();
        let a = self.leg_towards(self.rtp_of(p));
        let call_id = out
            .req
            .headers
            .call_id()
            .expect("our INVITE has a Call-ID")
            .to_string();
        Caller {
            phone: p,
            out,
            leg,
            a,
            call_id,
        }
    }

    /// Whether operator phone `op` has an INVITE waiting (it rings).
    pub fn rings(&mut self, op: PhoneId) -> bool {
        self.has_request(op, Method::Invite)
    }

    /// Which of `ops` ring now (their labels), without taking the INVITEs.
    pub fn ringing_among(&mut self, ops: &[PhoneId]) -> Vec<String> {
        self.settle();
        ops.iter()
            .filter(|p| {
                self.phones[p.0].inbox.iter().any(|ev| {
                    matches!(ev, sip::endpoint::Event::Request { req, .. } if req.method == Method::Invite)
                })
            })
            .map(|p| self.phones[p.0].label.clone())
            .collect()
    }

    /// Operator `op`'s phone rings with the caller whose number is `caller`; it answers.
    pub fn operator_answers(&mut self, op: PhoneId, caller: &str) -> OperatorCall {
        let inc = self.expect_invite(op);
        let from = inc
            .req
            .headers
            .from()
            .ok()
            .and_then(|f| f.uri.user_unescaped())
            .unwrap_or_default();
        if from != caller {
            let label = self.phones[op.0].label.clone();
            self.fail(&format!(
                "expected {label} to be offered caller {caller}, it was offered {from}"
            ));
        }
        let leg = self.answer(&inc);
        self.expect_ack(op);
        OperatorCall { leg }
    }

    /// The caller number of the INVITE ringing `op`, without taking it.
    pub fn offered_to(&mut self, op: PhoneId) -> Option<String> {
        self.settle();
        self.phones[op.0].inbox.iter().find_map(|ev| match ev {
            sip::endpoint::Event::Request { req, .. } if req.method == Method::Invite => {
                req.headers.from().ok().and_then(|f| f.uri.user_unescaped())
            }
            _ => None,
        })
    }

    /// The live queue view now.
    pub fn snapshot(&self) -> QueueSnapshot {
        self.pbx.queue_snapshot(self.now, self.wall_ms())
    }

    /// The waiting callers in answering order.
    pub fn waiting(&self) -> Vec<String> {
        self.snapshot()
            .waiting
            .into_iter()
            .map(|w| w.caller)
            .collect()
    }

    /// Every operator's state as `op1=idle`.
    pub fn operator_states(&self) -> Vec<String> {
        self.snapshot()
            .operators
            .into_iter()
            .map(|o| format!("{}={}", o.account, o.activity.as_str()))
            .collect()
    }

    /// The state of one operator.
    pub fn operator_state(&self, account: &str) -> OperatorActivity {
        self.snapshot()
            .operators
            .into_iter()
            .find(|o| o.account == account)
            .map(|o| o.activity)
            .unwrap_or_else(|| self.fail(&format!("expected operator {account} in the snapshot")))
    }

    /// The latest queue record of the call with `call_id`.
    pub fn record_of(&self, call_id: &str) -> QueueRecord {
        self.queue_records
            .iter()
            .rev()
            .find(|r| r.call_id == call_id)
            .cloned()
            .unwrap_or_else(|| {
                self.fail(&format!(
                    "expected a queue record of call {call_id}, records: {:?}",
                    self.queue_records
                ))
            })
    }

    /// The outcome of every queued call's latest record, in order of first appearance.
    pub fn outcomes(&self) -> Vec<(String, Option<QueueOutcome>)> {
        let mut ids: Vec<&str> = Vec::new();
        for r in &self.queue_records {
            if !ids.contains(&r.call_id.as_str()) {
                ids.push(&r.call_id);
            }
        }
        ids.into_iter()
            .map(|id| {
                let r = self.record_of(id);
                (r.caller, r.outcome)
            })
            .collect()
    }

    /// Media descriptions since the last look that are `Play` commands.
    pub fn take_plays(&mut self) -> Vec<String> {
        self.take_media()
            .into_iter()
            .filter(|m| m.starts_with("Play"))
            .collect()
    }

    /// The full paths of the prompts of every `Play` on `leg` so far.
    pub fn played_paths(&self, leg: LegId) -> Vec<Vec<String>> {
        self.media
            .iter()
            .filter_map(|c| match c {
                media::MediaCommand::Play {
                    leg: l, prompts, ..
                } if *l == leg => Some(prompts.iter().map(|p| p.name().to_string()).collect()),
                _ => None,
            })
            .collect()
    }

    /// Operator `op` dials a feature code (`*45`) and hears the confirmation;
    /// returns the prompt that confirmed it (`operator_paused`).
    pub fn operator_feature(&mut self, op: PhoneId, code: &str) -> String {
        let call = self.call(op, code);
        let ok = self.take_final(op, call.tx);
        if ok.status != 200 {
            self.fail(&format!(
                "expected {code} to be answered, got {}",
                ok.status
            ));
        }
        let mut leg = self.ack(&call, &ok);
        self.settle();
        let a = self.leg_towards(self.rtp_of(op));
        let announced = self
            .media
            .iter()
            .rev()
            .find_map(|c| match c {
                media::MediaCommand::Play { leg, prompts, .. } if *leg == a => {
                    prompts.last().map(|p| stem(p.name()))
                }
                _ => None,
            })
            .unwrap_or_default();
        self.play_out(a);
        self.expect_bye(&mut leg);
        announced
    }

    /// Runs the clock forward by `secs` seconds.
    pub fn wait_secs(&mut self, secs: u64) {
        self.advance(Duration::from_secs(secs));
    }
}

/// `operator_paused` for `/…/prompts/en/operator_paused.wav`.
fn stem(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
}
