//! What the server answers: one table with a row per SIP2 request (what the server does with
//! it, its BX position in the 98, and whether a terminal with no allowed-message list may send
//! it). Dispatch, the 98's supported messages, the default allowlist and the circulation
//! refusals are all read from it.
//!
//! Owns: the table and the questions asked of it. Must not build responses or look anything up.

use crate::sip2::{RequestKind, SupportedMessage, SupportedMessages};

/// What the server does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handling {
    /// Session control (93, 99, 97): handled by the session, whatever the terminal's list says.
    SessionControl,
    /// Answered by this server (to a terminal allowed to send it).
    Answered,
    /// Not performed here: answered with the message's negative answer and the circulation
    /// text, to any terminal.
    Refused,
    /// Circulation: forwarded to the upstream ILS at a relayed terminal (allowed to it by
    /// default, advertised as the upstream advertises it); refused like `Refused` elsewhere.
    Relayed,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
struct Service {
    request: RequestKind,
    handling: Handling,
    /// Its position in the 98's BX, set when this terminal may send it and it is not refused.
    advertised_as: SupportedMessage,
    /// Allowed to a terminal whose allowed-message list is empty.
    allowed_by_default: bool,
}

macro_rules! services {
    ($( $request:ident: $handling:ident, $bx:ident, $default:literal; )*) => {
        const SERVICES: &[Service] = &[
            $( Service {
                request: RequestKind::$request,
                handling: Handling::$handling,
                advertised_as: SupportedMessage::$bx,
                allowed_by_default: $default,
            }, )*
        ];
    };
}

services! {
    LoginRequest: SessionControl, Login, true;
    ScStatusRequest: SessionControl, ScAcsStatus, true;
    RequestAcsResend: SessionControl, RequestResend, true;
    PatronStatusRequest: Answered, PatronStatus, true;
    PatronInformationRequest: Answered, PatronInformation, true;
    EndPatronSessionRequest: Answered, EndPatronSession, true;
    BlockPatronRequest: Answered, BlockPatron, false;
    CheckoutRequest: Relayed, Checkout, false;
    CheckinRequest: Relayed, Checkin, false;
    ItemInformationRequest: Relayed, ItemInformation, false;
    ItemStatusUpdateRequest: Relayed, ItemStatusUpdate, false;
    PatronEnableRequest: Relayed, PatronEnable, false;
    HoldRequest: Relayed, Hold, false;
    RenewRequest: Relayed, Renew, false;
    RenewAllRequest: Relayed, RenewAll, false;
    FeePaidRequest: Relayed, FeePaid, false;
}

fn service(request: RequestKind) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.request == request)
}

/// What the server does with `request` (a request missing from the table is refused).
pub(crate) fn handling(request: RequestKind) -> Handling {
    service(request).map_or(Handling::Refused, |s| s.handling)
}

/// Whether a terminal whose allowed-message list is empty may send `request`.
pub(crate) fn allowed_by_default(request: RequestKind) -> bool {
    service(request).is_some_and(|s| s.allowed_by_default)
}

/// The requests a terminal's allowed-message list may name: session control (always allowed in
/// any case), the messages this server answers and those it relays. Refused ones would never
/// be served.
pub(crate) fn may_be_allowed() -> impl Iterator<Item = RequestKind> {
    SERVICES
        .iter()
        .filter(|s| s.handling != Handling::Refused)
        .map(|s| s.request)
}

/// The requests forwarded at a relayed terminal, with their BX positions.
pub(crate) fn relayed() -> impl Iterator<Item = (RequestKind, SupportedMessage)> {
    SERVICES
        .iter()
        .filter(|s| s.handling == Handling::Relayed)
        .map(|s| (s.request, s.advertised_as))
}

/// The 98's BX: session control, and every answered message `may_send` allows (a relayed
/// terminal's 98 adds what its upstream advertises, `answer/relay.rs`).
pub(crate) fn supported(may_send: impl Fn(RequestKind) -> bool) -> SupportedMessages {
    let mut supported = SupportedMessages::default();
    for s in SERVICES {
        let advertised = match s.handling {
            Handling::SessionControl => true,
            Handling::Answered => may_send(s.request),
            Handling::Refused | Handling::Relayed => false,
        };
        supported.set(s.advertised_as, advertised);
    }
    supported
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_has_one_row_and_every_bx_position_one_request() {
        for kind in RequestKind::ALL {
            assert_eq!(
                SERVICES.iter().filter(|s| s.request == *kind).count(),
                1,
                "{kind:?}"
            );
        }
        for position in SupportedMessage::ALL {
            assert_eq!(
                SERVICES
                    .iter()
                    .filter(|s| s.advertised_as == *position)
                    .count(),
                1,
                "{position:?}"
            );
        }
    }

    #[test]
    fn only_served_messages_may_be_allowed() {
        let allowable: Vec<_> = may_be_allowed().collect();
        assert!(allowable.contains(&RequestKind::BlockPatronRequest));
        assert!(allowable.contains(&RequestKind::CheckoutRequest));
        assert!(relayed().any(|(kind, _)| kind == RequestKind::CheckoutRequest));
    }

    #[test]
    fn refused_and_relayed_messages_are_not_advertised_here_even_when_allowed() {
        let bx = supported(|_| true);
        for s in SERVICES {
            assert_eq!(
                bx.get(s.advertised_as),
                matches!(s.handling, Handling::SessionControl | Handling::Answered)
            );
        }
    }

    #[test]
    fn session_control_is_advertised_to_a_terminal_that_may_send_nothing_else() {
        let bx = supported(|_| false);
        for s in SERVICES {
            assert_eq!(
                bx.get(s.advertised_as),
                s.handling == Handling::SessionControl
            );
        }
    }
}
