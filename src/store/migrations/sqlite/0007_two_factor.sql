-- Two-factor log-in (TOTP, RFC 6238) for patrons: the shared secret sealed at rest (never in
-- clear), the enrolment waiting for its first correct code, the last accepted time step (so a
-- code is never accepted twice), the recovery codes (keyed digests, each single-use), and the
-- half-done log-ins that passed the PIN or password and wait for the code.

CREATE TABLE patron_two_factor (
    patron_id      INTEGER  PRIMARY KEY NOT NULL REFERENCES patrons (id) ON DELETE CASCADE,
    -- The confirmed secret, sealed (auth::Sealer, purpose totp secret); NULL while pending.
    secret_sealed  TEXT,
    -- A secret shown at enrolment and not yet confirmed with a correct code.
    pending_sealed TEXT,
    last_step      INTEGER,
    enabled_at     INTEGER,
    pending_at     INTEGER
);

CREATE TABLE patron_recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    patron_id  INTEGER  NOT NULL REFERENCES patrons (id) ON DELETE CASCADE,
    -- The pepper key the digest was made with, and the digest (HMAC-SHA256, hex).
    key_id     INTEGER  NOT NULL,
    digest     TEXT    NOT NULL,
    used_at    INTEGER
);

CREATE INDEX patron_recovery_codes_by_patron ON patron_recovery_codes (patron_id);

-- A log-in that passed the PIN or password, found by the SHA-256 of its cookie value.
CREATE TABLE web_half_logins (
    id_sha256   TEXT    PRIMARY KEY NOT NULL,
    patron_id   INTEGER  NOT NULL REFERENCES patrons (id) ON DELETE CASCADE,
    card        TEXT    NOT NULL,
    checked     TEXT    NOT NULL CHECK (checked IN ('pin', 'password')),
    must_change TEXT    CHECK (must_change IN ('pin', 'password')),
    created_at  INTEGER  NOT NULL
);
