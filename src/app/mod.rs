//! The composition root: one [`App`] per process builds the shared handles once (the store, the
//! hashing pool and authenticator, accounts, the clock and the one shutdown token), owns the
//! housekeeping task (retention purge, `housekeeping.rs`) and the drain, and hands each listener
//! only the handles it uses ([`App::sip2`] for the SIP2 server; the web and admin listeners
//! take theirs from the same `App`, so a process has one hashing pool, one database pool and
//! one drain).
//!
//! Uses `store`, `auth`, `accounts`, `server`, `http`, `config` and `clock`. Must not answer requests
//! or hold any protocol logic; only `main`, `cli` and tests use it.

mod database;
mod housekeeping;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::accounts::Accounts;
use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::admin::{self, AdminServer, Listener, Listening};
use crate::http::{self, WebServer};
use crate::server::{self, Server};
use crate::store::Store;

use housekeeping::Housekeeping;

pub(crate) use database::DEMO_MARKER;
pub(crate) use database::{open_store, Creation, Mode};

/// What can stop the application.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the database: check database.url or SIP2AUTH_DATABASE_URL")]
    Database(#[source] crate::store::Error),
    #[error(
        "this is a demo database (its PINs and terminal password are public): run `serve --demo`, \
         or point database.url elsewhere"
    )]
    DemoDatabase,
    #[error("cannot start the authenticator: {0}")]
    Authenticator(#[source] crate::auth::Error),
    #[error(transparent)]
    Server(#[from] server::Error),
    #[error(transparent)]
    Web(#[from] http::Error),
    #[error("mail: {0}")]
    Mail(#[from] crate::mail::SetupError),
}

/// The process's shared handles, built once.
#[derive(Debug)]
pub struct App {
    config: Arc<Config>,
    store: Store,
    auth: Authenticator,
    accounts: Accounts,
    clock: SharedClock,
    shutdown: CancellationToken,
    listening: Listening,
}

/// The listeners one process runs from one [`App`].
#[derive(Debug)]
pub struct Listeners {
    pub sip2: Server,
    pub web: Option<WebServer>,
    pub admin: Option<AdminServer>,
}

impl App {
    /// Opens the configured database (created when missing, migrated), refuses a demo database
    /// outside demo mode (before any pepper check, so the refusal is the first thing said), then
    /// builds the app over it: what `serve` runs.
    pub(crate) async fn open(config: Config, clock: SharedClock, mode: Mode) -> Result<App, Error> {
        let store = open_store(&config, clock.clone(), Creation::IfMissing)
            .await
            .map_err(Error::Database)?;
        if mode == Mode::Normal && database::is_demo(&store).await.map_err(Error::Database)? {
            return Err(Error::DemoDatabase);
        }
        App::build(config, store, clock).await
    }

    /// Builds the app over an open store: loads the pepper, checks it against the database and
    /// starts the hashing pool.
    pub async fn build(config: Config, store: Store, clock: SharedClock) -> Result<App, Error> {
        let auth = Authenticator::new(store.clone(), &config.security, clock.clone())
            .await
            .map_err(Error::Authenticator)?;
        Ok(App::with_authenticator(config, store, auth, clock))
    }

    /// Builds the app around an authenticator already started (tests, with their own keys).
    pub fn with_authenticator(
        config: Config,
        store: Store,
        auth: Authenticator,
        clock: SharedClock,
    ) -> App {
        // The recorder must be in place before the first request is counted.
        let _exporting = crate::instruments::recorder().is_some();
        let accounts =
            Accounts::with_authenticator(store.clone(), &config, clock.clone(), auth.clone());
        App {
            config: Arc::new(config),
            store,
            auth,
            accounts,
            clock,
            shutdown: CancellationToken::new(),
            listening: Listening::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The one shutdown token: cancelling it stops every listener and the housekeeping task.
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// What the SIP2 server uses.
    pub fn sip2(&self) -> server::Handles {
        server::Handles {
            accounts: self.accounts.clone(),
            auth: self.auth.clone(),
            clock: self.clock.clone(),
        }
    }

    /// What the web listener uses.
    pub fn web(&self) -> http::Handles {
        http::Handles {
            accounts: self.accounts.clone(),
            clock: self.clock.clone(),
        }
    }

    /// What the admin listener uses.
    pub fn admin(&self) -> admin::Handles {
        admin::Handles {
            accounts: self.accounts.clone(),
            auth: self.auth.clone(),
            listening: self.listening.clone(),
            shutdown: self.shutdown.clone(),
            served_requests: server::allowable_message_codes().into(),
            clock: self.clock.clone(),
        }
    }

    /// Runs the housekeeping task and the SIP2 server until the shutdown token is cancelled,
    /// then drains: the server finishes its sessions (bounded by `server.shutdown_grace`), and
    /// the housekeeping task a purge in progress (bounded by the same grace).
    pub async fn run(self, sip2: Server) -> Result<(), Error> {
        self.run_with(sip2, None).await
    }

    /// Like [`run`](Self::run), with the web listener beside SIP2 when given: one token stops
    /// both, and both drain within the same grace.
    pub async fn run_with(self, sip2: Server, web: Option<WebServer>) -> Result<(), Error> {
        let listeners = Listeners {
            sip2,
            web,
            admin: None,
        };
        self.run_listeners(listeners).await
    }

    /// Runs every listener given and the housekeeping task until the shutdown token is
    /// cancelled, then drains them all within the same grace. A listener that fails stops the
    /// others.
    pub async fn run_listeners(self, listeners: Listeners) -> Result<(), Error> {
        let Listeners { sip2, web, admin } = listeners;
        let housekeeping = Housekeeping {
            accounts: self.accounts.clone(),
            clock: self.clock.clone(),
            purge_interval: self.config.audit.purge_interval,
        };
        let mut purging = tokio::spawn(housekeeping.run(self.shutdown.clone()));
        let mut mailing = match crate::mail::Mailer::from_config(&self.config.mail) {
            Ok(Some(mailer)) => Some(tokio::spawn(
                self.accounts
                    .clone()
                    .run_outbox(mailer, self.shutdown.clone()),
            )),
            Ok(None) => None,
            Err(error) => {
                self.shutdown.cancel();
                let _stopped = purging.await;
                return Err(Error::Mail(error));
            }
        };
        let probing = tokio::spawn(Housekeeping::probe(
            self.accounts.clone(),
            self.shutdown.clone(),
        ));
        self.listening.set(Listener::Sip2, true);
        if web.is_some() {
            self.listening.set(Listener::Web, true);
        }
        let web_served = async {
            match web {
                Some(web) => {
                    self.serving(Listener::Web, web.run(self.shutdown.clone()))
                        .await
                }
                None => Ok(()),
            }
        };
        let admin_served = async {
            match admin {
                Some(admin) => {
                    let run = admin.run(self.shutdown.clone());
                    self.serving(Listener::Admin, run).await
                }
                None => Ok(()),
            }
        };
        let sip2_served = self.serving(Listener::Sip2, sip2.run(self.shutdown.clone()));
        let (served, web_served, admin_served) =
            tokio::join!(sip2_served, web_served, admin_served);
        // Every listener returns only once the token is cancelled (or it failed): stop the purge.
        self.shutdown.cancel();
        probing.abort();
        let grace = self.config.server.shutdown_grace;
        match tokio::time::timeout(grace, &mut purging).await {
            Ok(Ok(())) => {}
            // The purge task panicked; the process stops as planned all the same.
            Ok(Err(error)) => warn!(%error, "housekeeping task failed"),
            Err(_) => {
                warn!("shutdown grace elapsed; aborting the housekeeping task");
                purging.abort();
            }
        }
        if let Some(mailing) = mailing.as_mut() {
            // A send in progress finishes (bounded by mail.smtp.timeout) within the grace.
            if tokio::time::timeout(grace, &mut *mailing).await.is_err() {
                warn!("shutdown grace elapsed; aborting the mail outbox task");
                mailing.abort();
            }
        }
        served?;
        web_served?;
        Ok(admin_served?)
    }

    /// Runs one listener; once it returns, it is no longer serving and the others stop too.
    async fn serving<T>(&self, listener: Listener, run: impl std::future::Future<Output = T>) -> T {
        let served = run.await;
        self.listening.set(listener, false);
        self.shutdown.cancel();
        served
    }
}
