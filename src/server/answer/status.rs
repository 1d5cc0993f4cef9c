//! The ACS status answer (99 -> 98): on-line while the database answers, the supported
//! messages (exactly the answered ones this terminal may send, from the service table; before a
//! login, those allowed by default), the protocol version asked for.
//!
//! Must not verify credentials or look patrons up; the database's health is read through
//! `accounts` (the probe's last answer, so a 99 costs no query).

use super::terminal;
use super::{service, Answer, Answerer};
use crate::auth::TerminalProfile;
use crate::server::outcome::Outcome;
use crate::server::patron;
use crate::sip2::request::ScStatusRequest;
use crate::sip2::response::AcsStatusResponse;
use crate::sip2::{ProtocolVersion, RequestKind, Response};

impl Answerer {
    /// 99 -> 98. On-line is N while the database does not answer (as last probed, or as a failed
    /// query since showed).
    pub(crate) async fn acs_status(
        &self,
        profile: Option<&TerminalProfile>,
        request: &ScStatusRequest,
    ) -> Answer {
        let online = self
            .bounded(self.accounts.database_online())
            .await
            .unwrap_or(false);
        let may_send = |request| terminal::may_send(profile, request);
        let supported = service::supported(may_send);
        let may_block = may_send(RequestKind::BlockPatronRequest);
        let version = if request.protocol_version.major == 1 {
            ProtocolVersion::V1_00
        } else {
            ProtocolVersion::V2_00
        };
        let response = AcsStatusResponse {
            online_status: online,
            checkin_ok: false,
            checkout_ok: false,
            acs_renewal_policy: false,
            status_update_ok: may_block,
            offline_ok: false,
            timeout_period: self.settings.timeout_period,
            retries_allowed: self.settings.retries_allowed,
            date_time_sync: Some(self.now()),
            protocol_version: version,
            institution_id: self.institution(profile, ""),
            library_name: non_empty(&self.settings.library_name),
            supported_messages: supported,
            terminal_location: None,
            screen_message: if online {
                Vec::new()
            } else {
                patron::text(&self.messages.unavailable)
            },
            print_line: Vec::new(),
            extra: Vec::new(),
        };
        let outcome = if online {
            Outcome::Online
        } else {
            Outcome::Offline
        };
        Answer::new(Response::AcsStatusResponse(response), outcome)
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}
