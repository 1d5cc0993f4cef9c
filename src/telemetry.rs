//! The tracing subscriber: human-readable or JSON lines on stderr, filtered by `RUST_LOG` or
//! `[logging] level`. Nothing here formats request contents: callers never log secrets, and the
//! SIP2 types redact AD, CO and AC even in `Debug`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored),
/// which keeps tests that build several servers simple.
pub(crate) fn init(logging: &LoggingConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal; never escape codes in a file or journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _already_set = match logging.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
