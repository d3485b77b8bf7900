//! The queue on its own: a fake environment instead of a PBX, commands checked
//! as they come out. (The transcript tests in `tests/queue.rs` drive the whole
//! PBX.)

use super::view::{OperatorActivity, QueueOutcome};
use super::{CallerInfo, QueueCommand, QueueEnv, Queues, Settings};
use crate::CallKey;
use dialplan::QueueExit;
use media::prompt::Prompt;
use sip::registrar::{Binding, BindingSource, BindingTransport};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WALL: i64 = 1_700_000_000_000;

#[allow(clippy::disallowed_methods)] // a test's starting point; everything after is virtual
fn start() -> Instant {
    Instant::now()
}

#[derive(Default)]
struct FakeEnv {
    bindings: Vec<Binding>,
}

impl FakeEnv {
    fn login(&mut self, account: &str, contact: &str) {
        self.bindings.push(Binding {
            aor: "0".into(),
            contact: contact.into(),
            source: BindingSource {
                transport: BindingTransport::Udp,
                addr: "127.0.0.1:5062".parse().unwrap(),
                connection: None,
            },
            call_id: "reg".into(),
            cseq: 1,
            expires_at_ms: WALL + 3_600_000,
            q: None,
            user_agent: None,
            instance: None,
            user: Some(account.into()),
        });
    }
}

impl QueueEnv for FakeEnv {
    fn operator_bindings(&self, wall_ms: i64) -> Vec<&Binding> {
        self.bindings
            .iter()
            .filter(|b| b.expires_at_ms > wall_ms)
            .collect()
    }

    fn can_ring(&self, _call: CallKey, phones: &[Binding]) -> bool {
        phones.iter().any(|b| b.contact.starts_with("sip:"))
    }

    fn caller(&self, call: CallKey) -> Option<CallerInfo> {
        Some(CallerInfo {
            caller: format!("caller{}", call.0),
            name: None,
            call_id: format!("call-{}", call.0),
            language: "en".into(),
            vip: false,
        })
    }

    fn settings(&self, _call: CallKey, queue: &str) -> Settings {
        Settings::of(&dialplan::Queue::with_defaults(queue))
    }

    fn prompts(&self, _call: CallKey, _names: &[String]) -> Vec<Arc<Prompt>> {
        Vec::new()
    }

    fn operator_names(&self) -> Vec<(String, String)> {
        vec![("op1".into(), "Operator One".into())]
    }
}

fn kinds(commands: &[QueueCommand]) -> Vec<&'static str> {
    commands
        .iter()
        .map(|c| match c {
            QueueCommand::Ring { .. } => "ring",
            QueueCommand::CancelRing { .. } => "cancel_ring",
            QueueCommand::StartMoh { .. } => "start_moh",
            QueueCommand::StopMoh { .. } => "stop_moh",
            QueueCommand::StopPlay { .. } => "stop_play",
            QueueCommand::Play { .. } => "play",
            QueueCommand::Exit { .. } => "exit",
            QueueCommand::Record(_) => "record",
        })
        .collect()
}

fn activity(q: &Queues, env: &FakeEnv, now: Instant, account: &str) -> OperatorActivity {
    let snapshot = q.snapshot(env, now, WALL);
    let op = snapshot.operators.iter().find(|o| o.account == account);
    op.expect("listed").activity
}

#[test]
fn nobody_logged_in_sends_the_caller_back_with_a_record() {
    let (env, now) = (FakeEnv::default(), start());
    let mut q = Queues::default();
    let mut out = Vec::new();
    let exit = q.enter(&env, now, WALL, CallKey(1), "operators", &mut out);
    assert_eq!(exit, Some(QueueExit::NoOperator));
    assert_eq!(kinds(&out), ["record"]);
    let QueueCommand::Record(record) = &out[0] else {
        unreachable!()
    };
    assert_eq!(record.outcome, Some(QueueOutcome::NoOperator));
    assert!(!q.is_waiting(CallKey(1)));
}

#[test]
fn a_caller_rings_the_free_operator_and_is_answered() {
    let (mut env, now) = (FakeEnv::default(), start());
    env.login("op1", "sip:op1@127.0.0.1:5062");
    let mut q = Queues::default();
    let mut out = Vec::new();
    assert_eq!(
        q.enter(&env, now, WALL, CallKey(1), "operators", &mut out),
        None
    );
    assert_eq!(kinds(&out), ["record", "start_moh", "ring"]);
    let QueueCommand::Ring {
        call,
        operator,
        phones,
        ..
    } = &out[2]
    else {
        unreachable!()
    };
    assert_eq!(
        (*call, operator.as_str(), phones.len()),
        (CallKey(1), "op1", 1)
    );
    assert_eq!(activity(&q, &env, now, "op1"), OperatorActivity::Ringing);
    let later = now + Duration::from_secs(3);
    let record = q.answered(later, WALL + 3000, CallKey(1)).expect("tracked");
    assert_eq!(record.answered_by.as_deref(), Some("op1"));
    assert_eq!(record.wait_ms, Some(3000));
    assert_eq!(activity(&q, &env, later, "op1"), OperatorActivity::Talking);
}

#[test]
fn an_operator_who_cannot_be_rung_is_passed_over() {
    let (mut env, now) = (FakeEnv::default(), start());
    env.login("op1", "not a uri");
    let mut q = Queues::default();
    let mut out = Vec::new();
    assert_eq!(
        q.enter(&env, now, WALL, CallKey(1), "operators", &mut out),
        None
    );
    assert_eq!(kinds(&out), ["record", "start_moh"]);
    assert!(q.is_waiting(CallKey(1)));
}

#[test]
fn a_pause_shows_while_free_and_waits_behind_a_call() {
    let (mut env, now) = (FakeEnv::default(), start());
    env.login("op1", "sip:op1@127.0.0.1:5062");
    let mut q = Queues::default();
    let mut out = Vec::new();
    q.set_paused(&env, now, WALL, "op1", true, &mut out);
    assert_eq!(activity(&q, &env, now, "op1"), OperatorActivity::Paused);
    // Paused is the only operator: nobody can answer.
    let exit = q.enter(&env, now, WALL, CallKey(1), "operators", &mut out);
    assert_eq!(exit, Some(QueueExit::NoOperator));
    q.set_paused(&env, now, WALL, "op1", false, &mut out);
    assert_eq!(activity(&q, &env, now, "op1"), OperatorActivity::Idle);
    out.clear();
    q.enter(&env, now, WALL, CallKey(2), "operators", &mut out);
    q.answered(now, WALL, CallKey(2));
    q.set_paused(&env, now, WALL, "op1", true, &mut out);
    assert_eq!(activity(&q, &env, now, "op1"), OperatorActivity::Talking);
    q.call_ended(&env, now, WALL, CallKey(2), &mut out);
    assert_eq!(activity(&q, &env, now, "op1"), OperatorActivity::Paused);
    assert!(q.is_paused("op1"));
}
