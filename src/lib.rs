//! sip2auth: a SIP2 (3M Standard Interchange Protocol 2.00) authentication server for libraries.
//!
//! Self-check machines, PC-booking systems and e-resource proxies ask "is this library card valid,
//! and is this PIN right?"; sip2auth answers from a shared credential database.
//!
//! # Module map
//! ```text
//! cli/        clap commands (serve, check-config, migrate, terminal, patron, import, explain, probe,
//!             api-key, mail)
//! config/     TOML -> typed, validated Config; every default lives here
//! telemetry   tracing subscriber
//! instruments the exported metrics (one table of names) and the Prometheus recorder
//! clock       the injectable clock every time-dependent decision reads
//! sip2/       the protocol, pure: bytes in, typed values out (no I/O, logging or clock)
//! store/      persistence over sqlx (SQLite, PostgreSQL): typed queries, no SIP2, no argon2;
//!             the database's health as last probed (health.rs) and a patron check's one read
//!             (check.rs)
//! auth/       decisions: terminal and patron checks, argon2id + pepper (on the fixed hashing
//!             threads of hash_threads.rs), PIN/password rules, lockout;
//!             the terminal as one typed value (terminal_settings, with its access settings in
//!             terminal_access: deny mode, detail without a PIN), converted to store columns there;
//!             what a terminal is told about a patron check (told.rs; server and explain); and the
//!             one rule for showing a login id from the wire (login_id.rs); sealing of the secrets
//!             the server must read back (sealing.rs: TOTP secrets, upstream passwords); the
//!             second factor of a web log-in (two_factor.rs: TOTP codes, recovery-code digests,
//!             the lock counter a wrong code counts on)
//! accounts/   patron and terminal lifecycle shared by the CLI and the web side (api_key: the admin
//!             API's keys; health: readiness of the shared state; web/: sessions,
//!             web log-in, two-step log-in (web/two_factor.rs: enrolment, recovery codes, the
//!             half-done log-in waiting for its code), the patron's own PIN and password
//!             changes, My Account; reset.rs: forgotten PIN/password requests, links and the
//!             desk's reset mail; notice.rs: notification mails; outbox.rs: the task that looks
//!             requests up and sends mail)
//! mail/       how mail leaves: SMTP (lettre) or .eml files, and the editable templates; the
//!             outbox itself is in store/, what a mail says is decided in accounts/
//! app/        the composition root: builds the store, hashing pool + authenticator, accounts,
//!             clock and the one shutdown token once per process; owns housekeeping and drain
//! net/        the transport under every listener: PROXY protocol header (proxy.rs), plain or
//!             TLS from the first byte (detect.rs), the reloadable rustls certificate (tls.rs),
//!             the client certificate (identity.rs); `Peer` (source address, TLS, certificate)
//!             and `Transport` (the plain or TLS stream), made by `Gate` from a TcpStream
//! server/     SIP2 over TCP: accept loop, limits (with the eviction of connections not logged
//!             in), sessions (session/), the terminal watch that ends sessions of disabled or
//!             removed terminals (terminal_watch.rs), Request -> Response (answer/, with the
//!             table of what the server answers in answer/service.rs, and a relayed
//!             terminal's decisions in answer/relay.rs); relay/ the upstream SIP2 client that
//!             forwards a relayed terminal's circulation to the library's ILS
//! http/       the HTTP listeners (axum): web/ the patron pages (log-in and its code page,
//!             My Account, two-step log-in, changing the PIN and the online password),
//!             templates/ and assets/ compiled into the binary;
//!             admin/ the admin listener (/healthz, /readyz, /metrics; api/ the JSON API under
//!             /api/v1/ with API keys and problem+json refusals)
//! bin/sip2load  the load generator of the benchmarks (echo baseline, argon2 bound, soak); uses
//!             the library only for the SIP2 checksum and the default argon2 parameters
//! ```
//!
//! # Dependency rule ("->" means "may use")
//! - `cli` -> everything. Only `cli`, `main`, `app` and tests use `server` or `http`.
//! - `app` builds the shared handles and gives each listener only what it uses.
//! - `server` -> `net`, `sip2`, `auth`, `accounts`; never `store`. `accounts` -> `auth`, `store`,
//!   `mail` (only its outbox task sends; requests queue mail in the store).
//! - `mail` -> `config` only.
//!   `auth` -> `store`, `sip2`'s value types for a terminal's SIP2 vocabulary, and `net`'s
//!   value types (`Peer`, `ClientCertificate`, `Fingerprint`) for who is connecting.
//! - `net` -> `config` only; it knows bytes and sockets, not SIP2 or HTTP, so the SIP2 server
//!   and the web and admin listeners (which may not import `server`) share it.
//! - `http` -> `net`, `auth`, `accounts`; never `store` or `server`.
//! - Anyone may use `config`, `clock` and `instruments`; they use nothing else in the crate.
//! - `sip2` uses nothing else in the crate. `store` knows nothing of SIP2 or argon2: it keeps a
//!   terminal as plain columns, which `auth::terminal_settings` reads and writes at one edge.
//! - `server/answer/` is the one place where SIP2 meets authentication decisions.
//! - Items are `pub(crate)` by default; `pub` only where the binary, the integration tests or the
//!   benches use them (test support is behind the `testing` feature).

#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod instruments;
pub mod mail;
pub mod net;
pub mod server;
pub mod sip2;
pub mod store;
pub mod telemetry;
