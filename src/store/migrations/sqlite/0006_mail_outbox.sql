-- Mail: the persistent outbox, the queue of forgotten-PIN/password requests, their rate
-- windows, and which credential a reset token sets.

-- A reset token sets the PIN or the online password.
ALTER TABLE reset_tokens ADD COLUMN credential TEXT NOT NULL DEFAULT 'pin'
    CHECK (credential IN ('pin', 'password'));

-- One mail to a patron. Only the intent is stored: the message (and any token or temporary
-- password it carries) is made when it is sent, so no secret waits here in clear.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    patron_id       INTEGER NOT NULL REFERENCES patrons (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    credential      TEXT    CHECK (credential IN ('pin', 'password')),
    operator        TEXT,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);

CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_by_patron ON mail_outbox (patron_id, kind);

-- A "forgot my PIN" request as typed, waiting for the background lookup (never done in the
-- request, so the page tells nothing about the account).
CREATE TABLE reset_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    lookup       TEXT    NOT NULL CHECK (lookup IN ('card', 'email')),
    value        TEXT    NOT NULL,
    credential   TEXT    NOT NULL CHECK (credential IN ('pin', 'password')),
    requested_at INTEGER NOT NULL
);

-- Reset requests per client address and per patron (pseudonymised keys) in the current window.
CREATE TABLE reset_rate_windows (
    rate_key     TEXT    PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    requests     INTEGER NOT NULL
);
