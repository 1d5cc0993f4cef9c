//! The one integration-test binary: one module per area, with the shared support (`support`, for
//! the server tests, and `cli_common`, for the tests of the real binary) compiled once. Database
//! tests run on SQLite and PostgreSQL through `sip2auth::store_test_on_both_backends!`.

mod cli_common;
mod support;

mod admin_api;
mod admin_api_writes;
mod admin_contract;
mod admin_health;
mod admin_metrics;
mod auth_engine;
mod auth_race;
mod cli_api_key;
mod cli_check_config;
mod cli_default_pin;
mod cli_explain;
mod cli_import;
mod cli_legacy;
mod cli_mail;
mod cli_patron;
mod cli_patron_admin;
mod cli_private_files;
mod cli_probe;
mod cli_rough_edges;
mod cli_serve;
mod cli_terminal;
mod cli_terminal_access;
mod explain_agrees;
mod fuzz_corpus;
mod mail_reset;
mod mail_smtp;
mod relay;
mod server_access;
mod server_behaviour;
mod server_charsets;
mod server_logs;
mod server_mtls;
mod server_netns;
mod server_proxy;
mod server_sessions;
mod server_tls;
mod server_transcripts;
mod sip2_props;
mod sip2_vectors;
mod store_lockout;
mod store_outbox;
mod store_patrons;
mod store_records;
mod web_browser;
mod web_http;
mod web_logs;
mod web_transport;
mod web_two_factor;
