//! sip2auth: a SIP2 (3M Standard Interchange Protocol 2.00) authentication server for libraries.
//!
//! Self-check machines, PC-booking systems and e-resource proxies ask "is this library card valid,
//! and is this PIN right?"; sip2auth answers from a shared credential database.
//!
//! # Module map
//! ```text
//! cli/        clap commands (serve, check-config, migrate, terminal, patron, import, explain, probe,
//!             api-key)
//! config/     TOML -> typed, validated Config; every default lives here
//! telemetry   tracing subscriber
//! instruments the exported metrics (one table of names) and the Prometheus recorder
//! clock       the injectable clock every time-dependent decision reads
//! sip2/       the protocol, pure: bytes in, typed values out (no I/O, logging or clock)
//! store/      persistence over sqlx (SQLite, PostgreSQL): typed queries, no SIP2, no argon2
//! auth/       decisions: terminal and patron checks, argon2id + pepper, PIN/password rules, lockout;
//!             the terminal as one typed value (terminal_settings), converted to store columns there;
//!             and what a terminal is told about a patron check (told.rs; server and explain)
//! accounts/   patron and terminal lifecycle shared by the CLI and the web side (api_key: the admin
//!             API's keys; health: readiness of the shared state; web/: sessions,
//!             web log-in, the patron's own PIN and password changes, My Account)
//! app/        the composition root: builds the store, hashing pool + authenticator, accounts,
//!             clock and the one shutdown token once per process; owns housekeeping and drain
//! server/     SIP2 over TCP: accept loop, limits, sessions (session/), Request -> Response
//!             (answer/, with the table of what the server answers in answer/service.rs)
//! http/       the HTTP listeners (axum): web/ the patron pages (log-in, My Account, changing the
//!             PIN and the online password), templates/ and assets/ compiled into the binary;
//!             admin/ the admin listener (/healthz, /readyz, /metrics; api/ the JSON API under
//!             /api/v1/ with API keys and problem+json refusals)
//! ```
//!
//! # Dependency rule ("->" means "may use")
//! - `cli` -> everything. Only `cli`, `main`, `app` and tests use `server` or `http`.
//! - `app` builds the shared handles and gives each listener only what it uses.
//! - `server` -> `sip2`, `auth`, `accounts`; never `store`. `http` -> `auth`, `accounts`; never
//!   `store` or `server`. `accounts` -> `auth`, `store`.
//!   `auth` -> `store`, and `sip2`'s value types for a terminal's SIP2 vocabulary.
//! - Anyone may use `config`, `clock` and `instruments`; they use nothing else in the crate.
//! - `sip2` uses nothing else in the crate. `store` knows nothing of SIP2 or argon2: it keeps a
//!   terminal as plain columns, which `auth::terminal_settings` reads and writes at one edge.
//! - `server/answer/` is the one place where SIP2 meets authentication decisions.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod instruments;
pub mod server;
pub mod sip2;
pub mod store;
pub mod telemetry;
