//! The error types of the store crate: [`StoreError`] for everything, and [`GuestError`] for the
//! front desk's operations, which can also be refused because of who is in a room.

use crate::Backend;

/// Everything that can go wrong in the store, each variant saying what was expected and what arrived.
///
/// Database URLs inside messages are always redacted (no password is ever printed).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no backend this crate supports.
    #[error(
        "unsupported database URL `{url}`: expected `sqlite:PATH`, `sqlite::memory:` or `postgres://USER@HOST/DB`"
    )]
    UnsupportedUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
    },
    /// The parent directory of an SQLite database file could not be created.
    #[error("cannot create directory `{path}` for the SQLite database: {source}")]
    CreateDir {
        /// The directory that could not be created.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// Opening the connection pool failed (server unreachable, bad credentials, unreadable file …).
    #[error("cannot connect to the {backend} database at `{url}`: {source}")]
    Connect {
        /// The backend that was being opened.
        backend: Backend,
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The driver's reason.
        #[source]
        source: sqlx::Error,
    },
    /// SQLite refused to switch the database into write-ahead-log mode.
    #[error(
        "SQLite database `{url}` did not enter WAL mode: expected journal_mode `wal`, got `{got}`"
    )]
    WalRefused {
        /// The URL of the database.
        url: String,
        /// The journal mode SQLite reported instead.
        got: String,
    },
    /// Applying the schema migrations failed.
    #[error("cannot apply the {backend} schema migrations: {source}")]
    Migrate {
        /// The backend whose migrations failed.
        backend: Backend,
        /// The migrator's reason.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed at the database.
    #[error("database query `{op}` failed: {source}")]
    Query {
        /// The store operation that issued the query, for example `upsert_binding`.
        op: &'static str,
        /// The driver's reason.
        #[source]
        source: sqlx::Error,
    },
    /// An argument was outside the range the schema allows.
    #[error("invalid {field}: expected {expected}, got {got}")]
    Invalid {
        /// The argument or struct field, for example `Binding.q`.
        field: &'static str,
        /// What is accepted.
        expected: &'static str,
        /// What arrived.
        got: String,
    },
    /// A row was expected to exist but does not.
    #[error("no {what} with id {id}")]
    NotFound {
        /// The kind of record, for example `call record`.
        what: &'static str,
        /// The id that was looked up.
        id: i64,
    },
    /// A call record was finished twice; the first outcome is kept.
    #[error(
        "call record {id} is already finished (outcome `{outcome}`); the second finish was ignored"
    )]
    AlreadyFinished {
        /// The id of the call record.
        id: i64,
        /// The outcome stored by the first finish.
        outcome: String,
    },
    /// A stored value could not be read back as the type the store expects.
    #[error("unreadable value in {table}.{column}: expected {expected}, found `{found}`")]
    Corrupt {
        /// The table holding the value.
        table: &'static str,
        /// The column holding the value.
        column: &'static str,
        /// What the store expected to find.
        expected: &'static str,
        /// What it found.
        found: String,
    },
}

/// Why a front-desk operation (check-in, check-out, a room move, a line's do-not-disturb or
/// forwarding) did not happen; nothing of it was written.
///
/// [`GuestError::RoomOccupied`], [`GuestError::RoomVacant`] and [`GuestError::SameRoom`] are
/// refusals the desk can act on; [`GuestError::Store`] is an invalid argument or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The room already has a guest in house.
    #[error("room {room} is occupied by {guest}")]
    RoomOccupied {
        /// The room number.
        room: String,
        /// The guest in house, with their title (for example `Dr Li Wei`); `another guest` in the
        /// rare case that guest left again before the name could be read.
        guest: String,
    },
    /// The room has no guest in house.
    #[error("room {room} is vacant: no guest is checked in there")]
    RoomVacant {
        /// The room number.
        room: String,
    },
    /// A room move named the same room as source and destination.
    #[error("cannot move the guest of room {room} to the same room")]
    SameRoom {
        /// The room number.
        room: String,
    },
    /// An argument was invalid, or the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Returns a closure that wraps a driver error into [`StoreError::Query`] for operation `op`.
pub(crate) fn query_failed(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { op, source }
}
