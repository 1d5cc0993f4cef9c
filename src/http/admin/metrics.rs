//! `/metrics`: the Prometheus scrape. Gauges that describe a state (hashing slots and database
//! connections in use, database reachable, legacy hashes left) are read at scrape time; the
//! counters and histograms are recorded where their events happen (`instruments`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Shared;
use crate::instruments;

/// The Prometheus text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) async fn scrape(State(admin): State<Shared>) -> Response {
    let Some(recorder) = instruments::recorder() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed in this process\n",
        )
            .into_response();
    };
    let handles = &admin.handles;
    let (slots, held) = handles.auth.pool_usage();
    instruments::hash_pool(slots, held);
    let (open, in_use) = handles.accounts.store().pool_usage();
    instruments::database_pool(open, in_use);
    // A scrape is rare: it pings the database itself (and refreshes what 99 reads).
    let up = handles.accounts.probe_database().await;
    instruments::database_up(up);
    if up {
        if let Ok(left) = handles.accounts.legacy_patrons_left().await {
            instruments::legacy_patrons(left);
        }
    }
    (
        [
            (header::CONTENT_TYPE, EXPOSITION),
            (header::CACHE_CONTROL, "no-store"),
        ],
        recorder.render(),
    )
        .into_response()
}
