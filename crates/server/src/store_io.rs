//! The store task: carries out the PBX's database writes in order, and
//! sends back the responses that were waiting for a write to be durable.

use pbx::CallKey;
use sip::endpoint::ServerTxId;
use sip::message::Response;
use sip::registrar::{Binding, BindingChange, BindingSource};
use std::collections::HashMap;
use store::{NewCall, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A write for the store task.
#[derive(Debug)]
pub enum StoreRequest {
    /// Registration changes, then a response to release.
    Persist {
        /// The changes.
        changes: Vec<BindingChange>,
        /// The response to send once they are durable.
        then: Option<(ServerTxId, Response)>,
        /// Wall-clock time of the change, unix ms.
        now_ms: i64,
    },
    /// A log book entry of the server's own (a reload that changed the numbering).
    Log {
        /// Who made the change.
        actor: String,
        /// What kind of change.
        kind: store::LogKind,
        /// The number concerned.
        subject: String,
        /// What happened.
        detail: String,
        /// When, unix ms.
        at_ms: i64,
    },
    /// Something that happened in the PBX that the database keeps.
    Event {
        /// What happened.
        event: pbx::PbxEvent,
        /// Wall-clock time it was handed over, unix ms.
        now_ms: i64,
    },
}

/// What the store task reports back.
#[derive(Debug)]
pub struct Persisted {
    /// The response to send now.
    pub then: Option<(ServerTxId, Response)>,
}

/// Converts a registrar binding to its stored form.
pub fn to_stored(b: &Binding, now_ms: i64) -> store::Binding {
    store::Binding {
        aor: b.aor.clone(),
        contact: b.contact.clone(),
        source: b.source.addr.to_string(),
        transport: b.source.transport.as_str().to_string(),
        call_id: b.call_id.clone(),
        cseq: b.cseq,
        expires_at_ms: b.expires_at_ms,
        q: b.q.map(|q| q as f32 / 1000.0),
        user_agent: b.user_agent.clone(),
        instance: b.instance.clone(),
        updated_at_ms: now_ms,
        user: b.user.clone(),
    }
}

/// Converts a stored binding back (at start-up). TCP connection ids do not
/// survive a restart: the phone is reached by a new connection to its address.
pub fn from_stored(b: store::Binding) -> Option<Binding> {
    Some(Binding {
        aor: b.aor,
        contact: b.contact,
        source: BindingSource {
            transport: b.transport.parse().ok()?,
            addr: b.source.parse().ok()?,
            connection: None,
        },
        call_id: b.call_id,
        cseq: b.cseq,
        expires_at_ms: b.expires_at_ms,
        q: b.q.map(|q| (q * 1000.0).round() as u16),
        user_agent: b.user_agent,
        instance: b.instance,
        user: b.user,
    })
}

fn stored_change(c: &BindingChange, now_ms: i64) -> store::BindingChange {
    match c {
        BindingChange::Upsert(b) => store::BindingChange::Upsert(to_stored(b, now_ms)),
        BindingChange::Remove { aor, contact } => store::BindingChange::Remove {
            aor: aor.clone(),
            contact: contact.clone(),
        },
        BindingChange::RemoveAll { aor } => store::BindingChange::RemoveAll { aor: aor.clone() },
    }
}

/// Starts the store task.
pub fn start(
    store: Store,
    done: mpsc::UnboundedSender<Persisted>,
) -> (mpsc::UnboundedSender<StoreRequest>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<StoreRequest>();
    let handle = tokio::spawn(async move {
        let mut rows = Rows::default();
        while let Some(req) = rx.recv().await {
            match req {
                StoreRequest::Persist {
                    changes,
                    then,
                    now_ms,
                } => {
                    let stored: Vec<_> = changes.iter().map(|c| stored_change(c, now_ms)).collect();
                    match store.apply_binding_changes(&stored).await {
                        Ok(()) => {
                            let _ = done.send(Persisted { then });
                        }
                        Err(e) => {
                            // Not durable: the phone must not be told it is registered.
                            tracing::error!(error = %e, "registration could not be stored; answering 500");
                            let then = then.map(|(tx, resp)| {
                                let mut r = resp;
                                r.status = 500;
                                r.reason = "Server Internal Error (registration not stored)".into();
                                r.headers.remove("Contact");
                                (tx, r)
                            });
                            let _ = done.send(Persisted { then });
                        }
                    }
                }
                StoreRequest::Event { event, now_ms } => {
                    event_write(&store, &mut rows, event, now_ms).await
                }
                StoreRequest::Log {
                    actor,
                    kind,
                    subject,
                    detail,
                    at_ms,
                } => {
                    if let Err(e) = store.log(&actor, kind, &subject, &detail, at_ms).await {
                        tracing::error!(error = %e, %detail, "log book entry could not be stored");
                    }
                }
            }
        }
    });
    (tx, handle)
}

/// Database row ids of calls, kept a while after a call ends for its late
/// quality reports, with the quality parts received so far.
#[derive(Default)]
struct Rows {
    ids: HashMap<CallKey, i64>,
    /// Queue-call row ids of calls still going (removed when the record says the call ended).
    queue_ids: HashMap<CallKey, i64>,
    quality: HashMap<CallKey, serde_json::Map<String, serde_json::Value>>,
    ended: std::collections::VecDeque<CallKey>,
}

/// How many ended calls keep their row id for late quality reports.
const ENDED_KEPT: usize = 4096;

impl Rows {
    fn ended(&mut self, call: CallKey) {
        self.ended.push_back(call);
        while self.ended.len() > ENDED_KEPT {
            if let Some(old) = self.ended.pop_front() {
                self.ids.remove(&old);
                self.quality.remove(&old);
            }
        }
    }
}

/// Writes what the database keeps of one PBX event.
async fn event_write(store: &Store, rows: &mut Rows, event: pbx::PbxEvent, now_ms: i64) {
    use pbx::PbxEvent;
    match event {
        PbxEvent::Call(ev) => cdr(store, rows, ev).await,
        PbxEvent::Queue(record) => queue_call(store, rows, record).await,
        PbxEvent::Operator(change) => {
            if let Err(e) = store
                .log_operator_event(&change.operator, change.kind, &change.source, change.at_ms)
                .await
            {
                tracing::error!(error = %e, "operator shift record could not be stored");
            }
        }
        PbxEvent::Mode(change) => {
            let key = pbx::MODE_OVERRIDE_KEY;
            let r = match change.mode {
                Some(mode) => {
                    store
                        .set_setting(key, pbx::Pbx::mode_name(mode), now_ms)
                        .await
                }
                None => store.delete_setting(key).await.map(|_| ()),
            };
            if let Err(e) = r {
                tracing::error!(key, error = %e, "setting could not be stored");
            }
        }
        PbxEvent::Line(change) => line_change(store, change).await,
        PbxEvent::Music(change) => music_change(store, change).await,
    }
}

/// A paging group's background-music override: the setting (deleted for the schedule), so
/// that it survives a restart, then its log book entry.
async fn music_change(store: &Store, change: pbx::MusicChange) {
    let key = pbx::music_override_key(&change.group);
    let stored = match change.on {
        Some(_) => {
            store
                .set_setting(&key, change.mode_name(), change.at_ms)
                .await
        }
        None => store.delete_setting(&key).await.map(|_| ()),
    };
    if let Err(e) = stored {
        tracing::error!(key, error = %e, "setting could not be stored");
    }
    let detail = match change.on {
        Some(true) => "background music on".to_string(),
        Some(false) => "background music off".to_string(),
        None => "background music follows its schedule".to_string(),
    };
    let logged = store
        .log(
            &change.by,
            store::LogKind::Music,
            &change.group,
            &detail,
            change.at_ms,
        )
        .await;
    if let Err(e) = logged {
        tracing::error!(group = %change.group, error = %e, "log book entry could not be stored");
    }
}

/// A phone's do-not-disturb or forwarding change: onto the stay (a room) or the extension,
/// with its log book entry, in one transaction.
async fn line_change(store: &Store, change: pbx::LineChange) {
    let line = if change.room {
        store::Line::Room(&change.number)
    } else {
        store::Line::Extension(&change.number)
    };
    let result = match &change.change {
        pbx::LineChangeKind::Dnd(on) => store.set_dnd(line, *on, &change.by, change.at_ms).await,
        pbx::LineChangeKind::Forward { reason, target } => {
            store
                .set_forward(line, *reason, target.as_deref(), &change.by, change.at_ms)
                .await
        }
    };
    if let Err(e) = result {
        tracing::error!(line = %change.number, error = %e, "a phone's do-not-disturb or forwarding change could not be stored");
    }
}

/// A leg's media quality as the call record keeps it (JSON under the leg's name).
#[derive(serde::Serialize)]
struct LegQuality {
    packets_in: u64,
    packets_out: u64,
    expected: u64,
    lost: i64,
    jitter_us: u32,
    rtt_us: Option<u32>,
    remote_lost: Option<u32>,
    remote_jitter_us: Option<u32>,
    dropped_foreign: u64,
}

impl From<&media::QualityReport> for LegQuality {
    fn from(r: &media::QualityReport) -> Self {
        LegQuality {
            packets_in: r.counters.packets_in,
            packets_out: r.counters.packets_out,
            expected: r.expected,
            lost: r.lost,
            jitter_us: r.jitter_us,
            rtt_us: r.rtt_us,
            remote_lost: r.remote_lost,
            remote_jitter_us: r.remote_jitter_us,
            dropped_foreign: r.counters.dropped_foreign,
        }
    }
}

async fn cdr(store: &Store, rows: &mut Rows, ev: pbx::CdrEvent) {
    use pbx::CdrEvent;
    let result = match ev {
        CdrEvent::Started {
            call,
            call_id,
            caller,
            callee,
            at_ms,
            origin,
        } => {
            let new = NewCall {
                call_id,
                caller,
                callee,
                kind: origin.kind(),
                purpose: origin.purpose(),
                started_at_ms: at_ms,
            };
            store.insert_call(&new).await.map(|id| {
                rows.ids.insert(call, id);
            })
        }
        CdrEvent::Answered { call, at_ms } => match rows.ids.get(&call) {
            Some(id) => store.update_call_answered(*id, at_ms).await,
            None => Ok(()),
        },
        CdrEvent::Ended {
            call,
            at_ms,
            outcome,
            hangup_by,
        } => match rows.ids.get(&call).copied() {
            Some(id) => {
                rows.ended(call);
                store.finish_call(id, at_ms, outcome, hangup_by, None).await
            }
            None => Ok(()),
        },
        CdrEvent::Quality { call, leg, report } => match rows.ids.get(&call).copied() {
            Some(id) => {
                let parts = rows.quality.entry(call).or_default();
                let value = serde_json::to_value(LegQuality::from(&report))
                    .unwrap_or(serde_json::Value::Null);
                parts.insert(leg.as_str().to_string(), value);
                let merged = serde_json::to_string(&*parts).unwrap_or_default();
                store.set_call_quality(id, &merged).await
            }
            None => Ok(()),
        },
        CdrEvent::Digits { call, digits } => match rows.ids.get(&call).copied() {
            Some(id) => store.set_call_digits(id, &digits).await,
            None => Ok(()),
        },
        CdrEvent::CallerNamed { call, name } => match rows.ids.get(&call).copied() {
            Some(id) => store.set_call_caller_name(id, &name).await,
            None => Ok(()),
        },
        CdrEvent::Forwarded {
            call, to, reason, ..
        } => match rows.ids.get(&call).copied() {
            Some(id) => store.set_call_forwarded(id, &to, reason).await,
            None => Ok(()),
        },
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "call record write failed");
    }
}

/// Inserts a queued call's record the first time it is seen, then keeps it up to date.
async fn queue_call(store: &Store, rows: &mut Rows, r: pbx::QueueRecord) {
    let id = match rows.queue_ids.get(&r.call) {
        Some(id) => *id,
        None => {
            let new = store::NewQueueCall {
                call_id: r.call_id.clone(),
                caller: r.caller.clone(),
                vip: r.vip,
                entered_at_ms: r.entered_ms,
                position_on_entry: r.position_on_entry,
            };
            match store.insert_queue_call(&new).await {
                Ok(id) => {
                    rows.queue_ids.insert(r.call, id);
                    id
                }
                Err(e) => {
                    tracing::error!(error = %e, "queue call record could not be stored");
                    return;
                }
            }
        }
    };
    let update = store::QueueCallUpdate {
        wait_ms: r.wait_ms,
        answered_by: r.answered_by.clone(),
        answered_at_ms: r.answered_ms,
        talk_ms: r.talk_ms,
        transfers: transfers_json(&r.transfers),
        outcome: r.outcome,
        ended_at_ms: r.ended_ms,
    };
    if r.ended_ms.is_some() {
        rows.queue_ids.remove(&r.call);
    }
    if let Err(e) = store.update_queue_call(id, &update).await {
        tracing::error!(error = %e, "queue call record could not be updated");
    }
}

/// One transfer of a queue record as the store keeps it (a JSON array of these).
#[derive(serde::Serialize)]
struct TransferJson<'a> {
    kind: &'static str,
    by: &'a str,
    to: &'a str,
    at_ms: i64,
    result: Option<&'static str>,
}

/// The transfers of a queue record as the JSON text the store keeps.
fn transfers_json(transfers: &[pbx::TransferNote]) -> String {
    let items: Vec<TransferJson> = transfers
        .iter()
        .map(|t| TransferJson {
            kind: t.kind.as_str(),
            by: &t.by,
            to: &t.to,
            at_ms: t.at_ms,
            result: t.result.map(|r| r.as_str()),
        })
        .collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip::registrar::BindingTransport;

    fn operator_binding(connection: Option<u64>) -> Binding {
        Binding {
            aor: "0".into(),
            contact: "sip:op1@127.0.0.1:5071".into(),
            source: BindingSource {
                transport: BindingTransport::Tcp,
                addr: "127.0.0.1:5071".parse().unwrap(),
                connection,
            },
            call_id: "reg-op1".into(),
            cseq: 3,
            expires_at_ms: 1_764_201_900_000,
            q: Some(700),
            user_agent: Some("sipp".into()),
            instance: None,
            user: Some("op1".into()),
        }
    }

    /// An operator's login (position `0` registered by account `op1`) survives the trip through
    /// the database with its account; only the TCP connection id is dropped.
    #[test]
    fn bindings_round_trip_with_their_account() {
        let stored = to_stored(&operator_binding(Some(42)), 1_764_201_600_000);
        assert_eq!(stored.user.as_deref(), Some("op1"));
        assert_eq!(stored.source, "127.0.0.1:5071");
        assert_eq!(stored.transport, "tcp");
        assert_eq!(stored.q, Some(0.7));
        assert_eq!(from_stored(stored), Some(operator_binding(None)));
    }

    #[test]
    fn bindings_stored_without_an_account_read_back_without_one() {
        let mut stored = to_stored(&operator_binding(None), 0);
        stored.user = None;
        assert_eq!(from_stored(stored).unwrap().user, None);
    }
}
