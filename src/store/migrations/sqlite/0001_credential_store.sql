-- sip2auth credential store, SQLite flavour. Keep in step with ../postgres/0001_credential_store.sql:
-- same tables, columns, constraints and indexes; only types and identity syntax differ.
-- Times are unix seconds (INTEGER); calendar dates are ISO YYYY-MM-DD text; money is minor units.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE patrons (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    institution                 TEXT    NOT NULL,
    family_name                 TEXT    NOT NULL,
    given_name                  TEXT    NOT NULL,
    display_name                TEXT    NOT NULL,
    email                       TEXT,
    phone                       TEXT,
    birth_date                  TEXT,
    patron_class                TEXT,
    home_library                TEXT,
    expires_on                  TEXT,
    fines_owed_minor            INTEGER NOT NULL DEFAULT 0,
    fee_limit_minor             INTEGER,
    currency                    TEXT    NOT NULL,
    status                      TEXT    NOT NULL DEFAULT 'active'
                                CHECK (status IN ('active', 'blocked', 'card_lost')),
    block_reason                TEXT,
    pin_hash                    TEXT,
    pin_key_id                  INTEGER,
    pin_must_change             BOOLEAN NOT NULL DEFAULT FALSE,
    pin_default_expires_at      INTEGER,
    password_hash               TEXT,
    password_key_id             INTEGER,
    password_must_change        BOOLEAN NOT NULL DEFAULT FALSE,
    password_default_expires_at INTEGER,
    pin_failures                INTEGER NOT NULL DEFAULT 0,
    pin_locked_until            INTEGER,
    password_failures           INTEGER NOT NULL DEFAULT 0,
    password_locked_until       INTEGER,
    password_locks              INTEGER NOT NULL DEFAULT 0,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    UNIQUE (id, institution),
    CHECK (fee_limit_minor IS NULL OR fee_limit_minor >= 0),
    CHECK ((pin_hash IS NULL) = (pin_key_id IS NULL)),
    CHECK ((password_hash IS NULL) = (password_key_id IS NULL))
);

CREATE INDEX patrons_by_name ON patrons (institution, display_name);

CREATE TABLE cards (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    patron_id   INTEGER NOT NULL,
    institution TEXT    NOT NULL,
    card_number TEXT    NOT NULL,
    lost        BOOLEAN NOT NULL DEFAULT FALSE,
    lost_at     INTEGER,
    created_at  INTEGER NOT NULL,
    CHECK (card_number <> ''),
    UNIQUE (institution, card_number),
    FOREIGN KEY (patron_id, institution) REFERENCES patrons (id, institution) ON DELETE CASCADE
);

CREATE INDEX cards_by_patron ON cards (patron_id);

CREATE TABLE terminals (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    login_id          TEXT    NOT NULL UNIQUE,
    password_hash     TEXT,
    password_key_id   INTEGER,
    institution       TEXT    NOT NULL,
    location_code     TEXT,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    allowed_cidrs     TEXT    NOT NULL DEFAULT '',
    login_optional    BOOLEAN NOT NULL DEFAULT FALSE,
    patron_credential TEXT    NOT NULL DEFAULT 'pin'
                      CHECK (patron_credential IN ('pin', 'password', 'either')),
    allowed_messages  TEXT    NOT NULL DEFAULT '',
    patron_detail     TEXT    NOT NULL DEFAULT 'full' CHECK (patron_detail IN ('full', 'minimal')),
    charset           TEXT    NOT NULL DEFAULT 'utf-8' CHECK (charset IN ('utf-8', 'latin-1', 'cp850')),
    terminator        TEXT    NOT NULL DEFAULT 'cr' CHECK (terminator IN ('cr', 'crlf')),
    error_detection   TEXT    NOT NULL DEFAULT 'auto' CHECK (error_detection IN ('off', 'auto', 'required')),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    CHECK ((password_hash IS NULL) = (password_key_id IS NULL))
);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    card_pseudonym TEXT,
    action         TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    reason         TEXT
);

CREATE INDEX audit_log_by_time ON audit_log (at);

-- Append-only: rows may be purged (DELETE) but never rewritten.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- One row per patron: issuing a token replaces the previous one ("newest token only").
CREATE TABLE reset_tokens (
    patron_id    INTEGER PRIMARY KEY NOT NULL REFERENCES patrons (id) ON DELETE CASCADE,
    token_sha256 TEXT    NOT NULL UNIQUE,
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE terminal_failures (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal_id    INTEGER NOT NULL REFERENCES terminals (id) ON DELETE CASCADE,
    card_pseudonym TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('wrong_credential', 'unknown_card')),
    at             INTEGER NOT NULL
);

CREATE INDEX terminal_failures_by_terminal ON terminal_failures (terminal_id, at);
CREATE INDEX terminal_failures_by_time ON terminal_failures (at);
