//! Opening the configured database, the one way every command does it: connect with the
//! configured pool settings, apply pending migrations, and tell a demo database from a real one.
//!
//! Owns: whether a missing SQLite file may be created ([`Creation`]), the meta key marking a demo
//! database, and the refusal of a demo database outside demo mode. Uses `store` and `config`.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::store::{ConnectOptions, Store};

/// Meta key marking a demo database; its value says whether seeding finished.
pub(crate) const DEMO_MARKER: &str = "demo";

/// Whether opening may create a missing SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Creation {
    /// `serve`, `migrate` and the demo create the database on first use.
    IfMissing,
    /// Administration commands never create one: a missing file is an error naming its path.
    Never,
}

/// Which database the process expects to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `serve --demo`: the demo database under `./demo`, whose secrets are published.
    Demo,
    /// Any other start: a demo database is refused, so demo secrets never reach production.
    Normal,
}

/// Connects to the configured database and applies pending migrations.
pub(crate) async fn open_store(
    config: &Config,
    clock: SharedClock,
    creation: Creation,
) -> Result<Store, crate::store::Error> {
    let options = ConnectOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout,
        clock,
        create_if_missing: creation == Creation::IfMissing,
        ..ConnectOptions::default()
    };
    let store = Store::connect(config.database.url.expose_secret(), &options).await?;
    store.migrate().await?;
    Ok(store)
}

/// True when the database is marked as a demo database (seeded or being seeded).
pub(crate) async fn is_demo(store: &Store) -> Result<bool, crate::store::Error> {
    Ok(store.get_meta(DEMO_MARKER).await?.is_some())
}
