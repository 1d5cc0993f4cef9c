-- Relayed terminals: the library's own SIP2 server this terminal's circulation is forwarded to
-- (a JSON document of its non-secret settings, written and read by the typed settings), and the
-- upstream login password, sealed under a key derived from the pepper (never plain text).
ALTER TABLE terminals ADD COLUMN upstream TEXT;
ALTER TABLE terminals ADD COLUMN upstream_password_sealed TEXT
    CHECK (upstream_password_sealed IS NULL OR upstream IS NOT NULL);
