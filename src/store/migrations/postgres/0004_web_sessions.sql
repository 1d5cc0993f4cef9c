-- Patron web sessions (server-side, shared by every instance), the per-patron credential epoch
-- that ends them all at once, and the per-card log-in rate limit of the web side.

-- Raised by every PIN or password change; a session made under an older epoch is over.
ALTER TABLE patrons ADD COLUMN credential_epoch BIGINT NOT NULL DEFAULT 0;

-- A session is found by the SHA-256 of its cookie value; the value itself is never stored.
CREATE TABLE web_sessions (
    id_sha256    TEXT    PRIMARY KEY NOT NULL,
    patron_id    BIGINT  NOT NULL REFERENCES patrons (id) ON DELETE CASCADE,
    card         TEXT    NOT NULL,
    epoch        BIGINT  NOT NULL,
    must_change  TEXT    CHECK (must_change IN ('pin', 'password')),
    csrf_token   TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL
);

CREATE INDEX web_sessions_by_patron ON web_sessions (patron_id);
CREATE INDEX web_sessions_by_last_seen ON web_sessions (last_seen_at);

-- Log-in attempts per card pseudonym in the current window.
CREATE TABLE web_login_windows (
    card_pseudonym TEXT    PRIMARY KEY NOT NULL,
    window_start   BIGINT  NOT NULL,
    attempts       BIGINT  NOT NULL
);
