//! Persistence for Switchboard: registrar bindings, call records, settings, the operator shift log
//! and operator-queue call records, on embedded SQLite (the default) or PostgreSQL (several nodes).
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
//! # Text
//!
//! Text is stored as given, except that NUL characters become U+FFFD on both backends (PostgreSQL
//! `text` cannot hold NUL). JSON fields (`quality`, `transfers`) are opaque text to the store.
//!
//! # Vocabulary
//!
//! How a call ended ([`Outcome`]), who hung up ([`Party`]), who started a call and why
//! ([`CallKind`], [`PurposeKind`]), what an operator did ([`OperatorChangeKind`]) and how a caller
//! left the queue ([`QueueOutcome`]) are the `records` crate's types, re-exported here: the PBX
//! says them with the same types, and the store writes each as its `as_str` text. Text in those
//! columns that no value uses reads as [`StoreError::Corrupt`].
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
mod migrations;
mod operators;
mod queue_calls;
mod settings;
mod text;
mod url;

pub use bindings::{Binding, BindingChange};
pub use calls::{CALLS_CSV_HEADER, CallRecord, NewCall};
pub use connect::Store;
pub use error::StoreError;
pub use operators::OperatorEventRecord;
pub use queue_calls::{NewQueueCall, QUEUE_CALLS_CSV_HEADER, QueueCallRecord, QueueCallUpdate};
pub use records::{CallKind, OperatorChangeKind, Outcome, Party, PurposeKind, QueueOutcome};
pub use url::{Backend, redact};
