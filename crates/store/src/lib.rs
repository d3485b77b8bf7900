//! Persistence for Switchboard: registrar bindings, call records, settings, the operator shift log,
//! operator-queue call records, and the hotel's guest stays, line settings and log book, on
//! embedded SQLite (the default) or PostgreSQL (several nodes).
//!
//! # Usage
//!
//! The server opens one [`Store`] at start with [`Store::connect`] and clones it into every task that
//! needs it; all methods are `async` and each write is committed (durable) when it returns. One code
//! path serves both databases: queries go through `sqlx::Any` with `$N` placeholders and the portable
//! subset of SQL, and each backend has its own migrations in `migrations/{sqlite,postgres}`, applied
//! by `connect`. Time never comes from a clock inside this crate: every method takes wall-clock time
//! as unix milliseconds (`now_ms`, `at_ms`, …), so the caller decides what "now" is.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use store::{Binding, CallKind, NewCall, Outcome, Party, Store};
//!
//! let store = Store::connect("sqlite::memory:").await?;
//! let now_ms = 1_764_200_000_000;
//! store
//!     .upsert_binding(&Binding {
//!         aor: "201".into(),
//!         contact: "sip:201@192.0.2.10:5062".into(),
//!         source: "192.0.2.10:5062".into(),
//!         transport: "udp".into(),
//!         call_id: "reg-1".into(),
//!         cseq: 1,
//!         expires_at_ms: now_ms + 3_600_000,
//!         q: None,
//!         user_agent: Some("baresip".into()),
//!         instance: None,
//!         updated_at_ms: now_ms,
//!         user: None,
//!     })
//!     .await?;
//! assert_eq!(store.bindings("201", now_ms).await?.len(), 1);
//!
//! let id = store
//!     .insert_call(&NewCall {
//!         call_id: "abc@192.0.2.10".into(),
//!         caller: "201".into(),
//!         callee: "202".into(),
//!         kind: CallKind::Internal,
//!         purpose: None,
//!         started_at_ms: now_ms,
//!     })
//!     .await?;
//! store.update_call_answered(id, now_ms + 2_000).await?;
//! store
//!     .finish_call(id, now_ms + 60_000, Outcome::Answered, Some(Party::Callee), None)
//!     .await?;
//! assert!(store.calls_csv(100).await?.starts_with("id,call_id,caller,callee,"));
//! # Ok::<(), store::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! # Hotel guests
//!
//! A [`Stay`] is one guest's stay in one room: booked ([`Store::expect_arrival`], state
//! [`StayState::Expected`]), checked in ([`Store::check_in`], [`StayState::InHouse`]; a room has at
//! most one such stay), moved ([`Store::move_stay`]) and checked out ([`Store::check_out`],
//! [`StayState::Departed`]). Rooms themselves are configured elsewhere; the store knows a room only
//! by its number. A room line's do-not-disturb and forwarding ([`LineSettings`], set with
//! [`Store::set_dnd`] and [`Store::set_forward`] on a [`Line::Room`]) belong to its stay in house, so
//! they move with the guest and end at check-out; a staff or service extension's
//! ([`Line::Extension`]) stay with the number. Every one of these changes is one transaction that
//! also writes an entry in the log book ([`LogEntry`], [`Store::logbook`]): who did what to which
//! room or extension, in words. A change the room's state forbids fails with a [`GuestError`]
//! (occupied, vacant) and writes nothing.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use store::{GuestError, Line, NewStay, Store};
//!
//! let store = Store::connect("sqlite::memory:").await?;
//! let now_ms = 1_764_200_000_000;
//! let guest = NewStay {
//!     room: "8112".into(),
//!     name: "Li Wei".into(),
//!     title: Some("Dr".into()),
//!     vip_note: Some("honeymoon".into()),
//!     ..NewStay::default()
//! };
//! let stay = store.check_in(&guest, "cli", now_ms).await?;
//! assert!(stay.vip);
//! store.set_dnd(Line::Room("8112"), true, "8112", now_ms + 1).await?;
//! let again = store.check_in(&guest, "cli", now_ms + 2).await.unwrap_err();
//! assert_eq!(again.to_string(), "room 8112 is occupied by Dr Li Wei");
//! let moved = store.move_stay("8112", "8114", "cli", now_ms + 3).await?;
//! assert!(moved.settings.dnd, "do-not-disturb moves with the guest");
//! store.check_out("8114", "cli", now_ms + 4).await?;
//! let details: Vec<String> =
//!     store.logbook(now_ms, 10).await?.into_iter().map(|e| e.detail).collect();
//! assert_eq!(details[0], "Dr Li Wei checked in (VIP: honeymoon)");
//! assert_eq!(details.len(), 4);
//! # Ok::<(), GuestError>(())
//! # }).unwrap();
//! ```
//!
//! # Text
//!
//! Text is stored as given, except that NUL characters become U+FFFD on both backends (PostgreSQL
//! `text` cannot hold NUL). JSON fields (`quality`, `transfers`) are opaque text to the store.
//!
//! # Vocabulary
//!
//! How a call ended ([`Outcome`]), who hung up ([`Party`]), who started a call and why
//! ([`CallKind`], [`PurposeKind`]), what an operator did ([`OperatorChangeKind`]), how a caller
//! left the queue ([`QueueOutcome`]), where a stay stands ([`StayState`]), which forwarding a line
//! has ([`ForwardKind`]) and what a log-book entry records ([`LogKind`]) are the `records` crate's
//! types, re-exported here: the PBX says them with the same types, and the store writes each as its
//! `as_str` text. Text in those columns that no value uses reads as [`StoreError::Corrupt`].
//!
//! # Durability
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`. A commit has been appended to the WAL file
//! before the method returns, so an acknowledged write survives a crash or kill of the process (not
//! necessarily a power cut or kernel crash, which may lose the last commits but never corrupts the
//! file). PostgreSQL commits are durable as the server's `synchronous_commit` says (on by default).

mod bindings;
mod calls;
mod connect;
pub mod csv;
mod error;
mod front_desk;
mod lines;
mod logbook;
mod migrations;
mod operators;
mod queue_calls;
mod settings;
mod stays;
mod text;
mod url;

pub use bindings::{Binding, BindingChange};
pub use calls::{CALLS_CSV_HEADER, CallRecord, NewCall};
pub use connect::Store;
pub use error::{GuestError, StoreError};
pub use lines::Line;
pub use logbook::LogEntry;
pub use operators::OperatorEventRecord;
pub use queue_calls::{NewQueueCall, QUEUE_CALLS_CSV_HEADER, QueueCallRecord, QueueCallUpdate};
pub use records::{
    CallKind, ForwardKind, Forwarding, LineSettings, LogKind, OperatorChangeKind, Outcome, Party,
    PurposeKind, QueueOutcome, StayState,
};
pub use stays::{NewStay, Stay, StayMove};
pub use url::{Backend, redact};
