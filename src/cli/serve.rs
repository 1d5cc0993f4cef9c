//! `sip2auth serve [--demo]`: open the database, build the application root (`app`: pepper
//! check, hashing pool, accounts), bind the SIP2 listener and, when `web.enabled` and
//! `admin.enabled` (both always in the demo), the web and admin listeners with the app's
//! handles, and run until SIGINT or SIGTERM, then drain them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::demo;
use super::output::Exit;
use crate::app::{App, Listeners, Mode};
use crate::clock;
use crate::config::Config;
use crate::http::admin::AdminServer;
use crate::http::WebServer;
use crate::server::Server;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sip2auth serve --demo\n  sip2auth --config /etc/sip2auth/sip2.toml serve\n  SIP2AUTH_DATABASE_URL=postgres://sip2auth@db/sip2auth sip2auth serve --listen 0.0.0.0:6001"
)]
pub struct ServeArgs {
    /// Serve the demo world: a demo SQLite database and pepper under ./demo, a demo terminal and
    /// patrons in every state, listening on 127.0.0.1:6001 unless --listen says otherwise.
    #[arg(long)]
    pub demo: bool,
    /// Listen address (overrides `server.listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Listen address of the patron web pages (overrides `web.listen`). The demo serves them on
    /// 127.0.0.1:8080, or on a free port when the SIP2 port is 0.
    #[arg(long, value_name = "ADDR:PORT")]
    pub web_listen: Option<SocketAddr>,
    /// Listen address of the admin listener: health, metrics (overrides `admin.listen`). The
    /// demo serves it on 127.0.0.1:9090, or on a free port when the SIP2 port is 0.
    #[arg(long, value_name = "ADDR:PORT")]
    pub admin_listen: Option<SocketAddr>,
}

pub(crate) async fn run(
    args: ServeArgs,
    mut config: Config,
    config_path: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if args.demo {
        demo::prepare(&mut config)?;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if args.demo {
        demo::prepare_web(&mut config);
        demo::prepare_admin(&mut config);
        demo::prepare_mail(&mut config);
    }
    if let Some(listen) = args.web_listen {
        config.web.listen = listen;
    }
    if let Some(listen) = args.admin_listen {
        config.admin.listen = listen;
    }
    crate::telemetry::init(&config.logging);
    let clock = clock::system();
    let demo = args.demo;
    let mode = if demo { Mode::Demo } else { Mode::Normal };
    let app = App::open(config, clock.clone(), mode).await?;
    if demo {
        demo::seed(app.store(), app.accounts(), clock).await?;
    }
    let server = Server::bind(app.config(), app.sip2()).await?;
    let web = if app.config().web.enabled {
        Some(WebServer::bind(app.config(), app.web()).await?)
    } else {
        None
    };
    let admin = if app.config().admin.enabled {
        Some(AdminServer::bind(app.config(), app.admin()).await?)
    } else {
        None
    };
    let address = server.local_addr()?;
    let web_url = web.as_ref().map(|web| format!("{}/", web.origin()));
    let admin_url = match &admin {
        Some(admin) => Some(format!("http://{}", admin.local_addr()?)),
        None => None,
    };
    info!(
        %address,
        web = web_url.as_deref().unwrap_or("off"),
        admin = admin_url.as_deref().unwrap_or("off"),
        demo,
        "sip2auth ready"
    );
    // One line: a reader that takes only the first line must not make a later print fail.
    let admin_part = match &admin_url {
        Some(url) if demo => {
            let key = demo::api_key(app.accounts()).await?;
            format!(
                "; admin listener on {url} (GET /healthz, /readyz, /metrics; API under \
                 /api/v1/) with demo API key (scope admin): {}",
                key.expose_secret()
            )
        }
        Some(url) => format!("; admin listener on {url}"),
        None => String::new(),
    };
    // Taken over before the ready line, so a SIGHUP right after it never ends the process.
    tokio::spawn(reload_on_hangup(
        hangup_stream(),
        config_path,
        app.shutdown(),
    ));
    let ready = demo::ready_line(address, web_url.as_deref(), demo, &app.config().mail);
    println!("{ready}{admin_part}");
    tokio::spawn(cancel_on_signal(app.shutdown()));
    let listeners = Listeners {
        sip2: server,
        web,
        admin,
    };
    app.run_listeners(listeners).await?;
    Ok(Exit::Ok.into())
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

/// SIGHUP, taken over from the default (which ends the process).
fn hangup_stream() -> Hangup {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let stream = signal(SignalKind::hangup()).ok();
        if stream.is_none() {
            warn!("cannot listen for SIGHUP; the log level changes at restart only");
        }
        stream
    }
    #[cfg(not(unix))]
    None
}

/// On SIGHUP, reads the configuration again and applies what changes without a restart: the
/// log level. (Terminal settings are read from the database anyway, and the TLS certificate
/// reloads itself on the same signal.) A file that no longer loads changes nothing; that is
/// said in the log.
async fn reload_on_hangup(
    hangup: Hangup,
    config_path: Option<PathBuf>,
    shutdown: CancellationToken,
) {
    #[cfg(unix)]
    if let Some(mut hangup) = hangup {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = hangup.recv() => if received.is_none() { return },
            }
            reload_level(config_path.as_deref());
        }
    }
    let _ = (hangup, config_path, shutdown);
}

fn reload_level(config_path: Option<&std::path::Path>) {
    let config = match super::load_config(config_path) {
        Ok(config) => config,
        Err(error) => {
            warn!(error = %format!("{error:#}"), "SIGHUP: the configuration does not load; nothing changed");
            return;
        }
    };
    match crate::telemetry::set_level(&config.logging.level) {
        Ok(()) => info!(level = %config.logging.level, "SIGHUP: log level applied"),
        Err(error) => warn!(%error, "SIGHUP: log level not changed"),
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    info!("shutdown requested");
    shutdown.cancel();
}
