-- Hotel guests (PostgreSQL dialect): stays, the settings of staff lines, room moves and the log book.
-- Rooms themselves are configured elsewhere; here a room is only its number, as text.
-- Flags are BIGINT 0/1, dates are TEXT 'YYYY-MM-DD' (the hotel's calendar day, as the caller says
-- it), times are BIGINT unix milliseconds (UTC).
-- Keep this file in step with ../sqlite/0004_hotel.sql: same tables, columns and indexes.

-- One row per guest stay: booked (`expected`), checked in (`in_house`) or over (`departed`).
-- A room's do-not-disturb and call forwarding live on its in-house stay, so they move with the
-- guest and end at check-out. `companions` holds one name per line (`\` and newlines escaped).
-- `messages_deleted` counts the guest's messages removed at check-out.
CREATE TABLE stays (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room              TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    title             TEXT,
    language          TEXT,
    vip               BIGINT  NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    vip_note          TEXT,
    companions        TEXT,
    arrival           TEXT,
    departure         TEXT,
    pin               TEXT,
    dnd               BIGINT  NOT NULL DEFAULT 0 CHECK (dnd IN (0, 1)),
    forward_always    TEXT,
    forward_busy      TEXT,
    forward_no_answer TEXT,
    created_at_ms     BIGINT  NOT NULL,
    checked_in_at_ms  BIGINT,
    checked_out_at_ms BIGINT,
    messages_deleted  BIGINT  NOT NULL DEFAULT 0
);
-- A room has at most one guest in house.
CREATE UNIQUE INDEX stays_in_house_room ON stays (room) WHERE state = 'in_house';
CREATE INDEX stays_state_arrival ON stays (state, arrival);

-- Do-not-disturb and call forwarding of lines that are not rooms (staff and service extensions).
CREATE TABLE line_settings (
    number            TEXT    NOT NULL PRIMARY KEY,
    dnd               BIGINT  NOT NULL DEFAULT 0 CHECK (dnd IN (0, 1)),
    forward_always    TEXT,
    forward_busy      TEXT,
    forward_no_answer TEXT,
    updated_at_ms     BIGINT  NOT NULL
);

-- Room moves of a stay, oldest first by id.
CREATE TABLE stay_moves (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stay_id   BIGINT  NOT NULL REFERENCES stays (id),
    from_room TEXT    NOT NULL,
    to_room   TEXT    NOT NULL,
    at_ms     BIGINT  NOT NULL,
    actor     TEXT    NOT NULL
);
CREATE INDEX stay_moves_stay ON stay_moves (stay_id);

-- The front desk's log book: who did what to which room or extension, in words.
CREATE TABLE logbook (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms   BIGINT  NOT NULL,
    actor   TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX logbook_at ON logbook (at_ms);
