//! The tracing subscriber: human-readable or JSON lines on stderr, filtered by `RUST_LOG` or
//! `[logging] level`. Nothing here formats request contents: callers never log secrets, and the
//! SIP2 types redact AD, CO and AC even in `Debug`. The level can be changed while the process
//! runs ([`set_level`], on SIGHUP), without a restart.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

use crate::config::{LogFormat, LoggingConfig};

/// The handle that swaps the filter of the installed subscriber.
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Why a new level was not applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LevelError {
    #[error("RUST_LOG is set, and it takes precedence over [logging] level")]
    EnvironmentWins,
    #[error("{0:?} is not a log level or filter (e.g. info, or info,sip2auth=debug)")]
    Invalid(String),
    #[error("no subscriber of this process to reload")]
    NotInstalled,
}

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored),
/// which keeps tests that build several servers simple.
pub(crate) fn init(logging: &LoggingConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&logging.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    // Colour only for a person at a terminal; never escape codes in a file or journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let text = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let installed = match logging.format {
        LogFormat::Text => Registry::default().with(filter).with(text).try_init(),
        LogFormat::Json => Registry::default()
            .with(filter)
            .with(text.json())
            .try_init(),
    };
    if installed.is_ok() {
        let _first = FILTER.set(handle);
    }
}

/// Applies `[logging] level` to the running subscriber (unless `RUST_LOG` is set, which wins as
/// it did at start-up).
pub(crate) fn set_level(level: &str) -> Result<(), LevelError> {
    if std::env::var_os("RUST_LOG").is_some() {
        return Err(LevelError::EnvironmentWins);
    }
    let filter = EnvFilter::try_new(level).map_err(|_| LevelError::Invalid(level.to_owned()))?;
    let handle = FILTER.get().ok_or(LevelError::NotInstalled)?;
    handle.reload(filter).map_err(|_| LevelError::NotInstalled)
}
