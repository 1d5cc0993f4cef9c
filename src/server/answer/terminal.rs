//! What a terminal may send: the meaning of its allowed-message list. The terminal itself (its
//! identity and settings, SIP2 vocabulary included) is `auth::TerminalProfile`, served as is.
//!
//! Owns: `may_send`. Uses `sip2` request kinds and the service table; must not import `store`.
//!
//! Allowed messages: session control (93, 99, 97) is always allowed; an empty list means the
//! messages the service table (`answer/service.rs`) allows by default. Anything not allowed gets
//! its message's negative answer, saying the terminal may not send it.

use super::service::{self, Handling};
use crate::auth::TerminalProfile;
use crate::sip2::{RequestKind, RequestSet};

/// Whether `terminal` (none yet: a connection before its login) may send `request`.
pub(crate) fn may_send(terminal: Option<&TerminalProfile>, request: RequestKind) -> bool {
    let none = RequestSet::default();
    let allowed = terminal.map_or(&none, |t| &t.settings.allowed_messages);
    match service::handling(request) {
        Handling::SessionControl => true,
        // A relayed terminal may send circulation unless its list says otherwise.
        Handling::Relayed if allowed.is_empty() => {
            terminal.is_some_and(|t| t.settings.upstream.is_some())
        }
        _ if allowed.is_empty() => service::allowed_by_default(request),
        _ => allowed.contains(request),
    }
}
