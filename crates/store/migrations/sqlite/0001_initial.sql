-- Switchboard store, initial schema (SQLite dialect).
-- Timestamps are INTEGER unix milliseconds (UTC). Durations are INTEGER milliseconds.
-- Keep this file in step with ../postgres/0001_initial.sql: same tables, columns and indexes.

-- Registrar bindings (RFC 3261 section 10): one row per (address-of-record, contact).
-- The primary key's leading column serves lookups by aor.
CREATE TABLE bindings (
    aor           TEXT    NOT NULL,
    contact       TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    transport     TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    cseq          INTEGER NOT NULL CHECK (cseq BETWEEN 0 AND 4294967295),
    expires_at_ms INTEGER NOT NULL,
    q_milli       INTEGER CHECK (q_milli BETWEEN 0 AND 1000),
    user_agent    TEXT,
    instance      TEXT,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (aor, contact)
);
CREATE INDEX bindings_expires_at ON bindings (expires_at_ms);

-- Call detail records: inserted when a call starts, completed when it ends.
CREATE TABLE calls (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id        TEXT    NOT NULL,
    caller         TEXT    NOT NULL,
    callee         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    started_at_ms  INTEGER NOT NULL,
    answered_at_ms INTEGER,
    ended_at_ms    INTEGER,
    outcome        TEXT,
    hangup_by      TEXT,
    quality        TEXT
);
CREATE INDEX calls_started_at ON calls (started_at_ms);
CREATE INDEX calls_call_id ON calls (call_id);

-- Key/value settings that must survive restarts (for example the attendant-mode override).
CREATE TABLE settings (
    key           TEXT    NOT NULL PRIMARY KEY,
    value         TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- Operator shift log: login, logout, pause and unpause events.
CREATE TABLE operator_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    operator TEXT    NOT NULL,
    event    TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL
);
CREATE INDEX operator_events_at ON operator_events (at_ms);
CREATE INDEX operator_events_operator_at ON operator_events (operator, at_ms);

-- Operator queue call records.
CREATE TABLE queue_calls (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id           TEXT    NOT NULL,
    caller            TEXT    NOT NULL,
    vip               INTEGER NOT NULL CHECK (vip IN (0, 1)),
    entered_at_ms     INTEGER NOT NULL,
    position_on_entry INTEGER NOT NULL,
    wait_ms           INTEGER,
    answered_by       TEXT,
    answered_at_ms    INTEGER,
    talk_ms           INTEGER,
    transfers         TEXT    NOT NULL,
    outcome           TEXT,
    ended_at_ms       INTEGER
);
CREATE INDEX queue_calls_entered_at ON queue_calls (entered_at_ms);
