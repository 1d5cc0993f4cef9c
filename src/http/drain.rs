//! The serve-and-drain loop every HTTP listener shares: serve until the token is cancelled,
//! let requests in flight finish, and close what is left once the shutdown grace elapses.
//!
//! Uses the listeners' gate (`listener.rs`) only.

use std::future::IntoFuture;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::listener::{ClientAddr, GatedListener};

/// Serves `router` on `listener` (with the peer address for handlers) until `shutdown`, then
/// drains, bounded by `grace`. `what` names the listener in the log.
pub(super) async fn serve(
    listener: GatedListener,
    router: axum::Router,
    grace: Duration,
    shutdown: CancellationToken,
    what: &'static str,
) -> std::io::Result<()> {
    let service = router.into_make_service_with_connect_info::<ClientAddr>();
    let serving = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => served,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            warn!(listener = what, "shutdown grace elapsed; closing the remaining connections");
            Ok(())
        }
    }
}
