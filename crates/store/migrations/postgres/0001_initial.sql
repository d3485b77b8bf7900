-- Switchboard store, initial schema (PostgreSQL dialect).
-- Timestamps are BIGINT unix milliseconds (UTC). Durations are BIGINT milliseconds.
-- Keep this file in step with ../sqlite/0001_initial.sql: same tables, columns and indexes.

-- Registrar bindings (RFC 3261 section 10): one row per (address-of-record, contact).
-- The primary key's leading column serves lookups by aor.
CREATE TABLE bindings (
    aor           TEXT    NOT NULL,
    contact       TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    transport     TEXT    NOT NULL,
    call_id       TEXT    NOT NULL,
    cseq          BIGINT  NOT NULL CHECK (cseq BETWEEN 0 AND 4294967295),
    expires_at_ms BIGINT  NOT NULL,
    q_milli       BIGINT CHECK (q_milli BETWEEN 0 AND 1000),
    user_agent    TEXT,
    instance      TEXT,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (aor, contact)
);
CREATE INDEX bindings_expires_at ON bindings (expires_at_ms);

-- Call detail records: inserted when a call starts, completed when it ends.
CREATE TABLE calls (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id        TEXT    NOT NULL,
    caller         TEXT    NOT NULL,
    callee         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    started_at_ms  BIGINT  NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms    BIGINT,
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
    updated_at_ms BIGINT  NOT NULL
);

-- Operator shift log: login, logout, pause and unpause events.
CREATE TABLE operator_events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator TEXT    NOT NULL,
    event    TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    at_ms    BIGINT  NOT NULL
);
CREATE INDEX operator_events_at ON operator_events (at_ms);
CREATE INDEX operator_events_operator_at ON operator_events (operator, at_ms);

-- Operator queue call records.
CREATE TABLE queue_calls (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id           TEXT    NOT NULL,
    caller            TEXT    NOT NULL,
    vip               BIGINT  NOT NULL CHECK (vip IN (0, 1)),
    entered_at_ms     BIGINT  NOT NULL,
    position_on_entry BIGINT  NOT NULL,
    wait_ms           BIGINT,
    answered_by       TEXT,
    answered_at_ms    BIGINT,
    talk_ms           BIGINT,
    transfers         TEXT    NOT NULL,
    outcome           TEXT,
    ended_at_ms       BIGINT
);
CREATE INDEX queue_calls_entered_at ON queue_calls (entered_at_ms);
