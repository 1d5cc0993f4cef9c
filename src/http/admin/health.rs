//! `/healthz` (the process answers; checks nothing external) and `/readyz` (the database
//! answers, migrations are current, the pepper keys match, every listener of the process is
//! serving and the process is not draining; 503 with the failed check as JSON otherwise).
//!
//! Owns: which listeners a process runs and whether each is serving ([`Listening`], set by
//! `app` around each listener's run). Uses `accounts` for the shared-state checks.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;

/// A listener of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    Sip2,
    Web,
    Admin,
}

impl Listener {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Listener::Sip2 => "sip2",
            Listener::Web => "web",
            Listener::Admin => "admin",
        }
    }
}

/// The listeners a process runs, each serving or not. Cheap to clone (one `Arc`).
#[derive(Debug, Clone, Default)]
pub struct Listening(Arc<Mutex<Vec<(Listener, bool)>>>);

impl Listening {
    /// Records whether `listener` is serving (the first call also makes it expected).
    pub(crate) fn set(&self, listener: Listener, serving: bool) {
        // A panic elsewhere while holding this lock leaves a plain list: still usable.
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match all.iter_mut().find(|(l, _)| *l == listener) {
            Some((_, state)) => *state = serving,
            None => all.push((listener, serving)),
        }
    }

    /// The first expected listener that is not serving.
    fn not_serving(&self) -> Option<Listener> {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.iter().find(|(_, serving)| !serving).map(|(l, _)| *l)
    }
}

fn json_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

pub(super) async fn healthz() -> Response {
    json_answer(StatusCode::OK, json!({ "status": "alive" }))
}

pub(super) async fn readyz(State(admin): State<Shared>) -> Response {
    let handles = &admin.handles;
    let not_ready = |reason: &str, detail: String| {
        json_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "not_ready", "reason": reason, "detail": detail }),
        )
    };
    if handles.shutdown.is_cancelled() {
        return not_ready("shutting_down", "the process is draining".into());
    }
    if let Some(listener) = handles.listening.not_serving() {
        return not_ready(
            "listener_not_serving",
            format!("the {} listener is not serving", listener.as_str()),
        );
    }
    match handles.accounts.readiness().await {
        Ok(()) => json_answer(StatusCode::OK, json!({ "status": "ready" })),
        Err(not) => not_ready(not.reason(), not.to_string()),
    }
}
