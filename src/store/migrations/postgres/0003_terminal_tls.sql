-- Terminals and TLS: a terminal may require TLS, and may be bound to a client certificate, by
-- its SHA-256 fingerprint (64 lower-case hex digits) or by a CA (PEM) and subject; a terminal
-- so bound may be logged in by its certificate (skip-93) or must still send its 93.
ALTER TABLE terminals ADD COLUMN require_tls BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE terminals ADD COLUMN client_cert_sha256 TEXT
    CHECK (client_cert_sha256 IS NULL OR length(client_cert_sha256) = 64);
ALTER TABLE terminals ADD COLUMN client_ca_pem TEXT;
ALTER TABLE terminals ADD COLUMN client_subject TEXT;
ALTER TABLE terminals ADD COLUMN certificate_login TEXT NOT NULL DEFAULT 'require-93'
    CHECK (certificate_login IN ('skip-93', 'require-93'));
