//! The ACS status answer (99 -> 98): on-line while the database answers, the supported
//! messages (01 only for terminals allowed to block patrons), the protocol version asked for.
//!
//! Must not verify credentials or look patrons up; the database is only pinged, through
//! `accounts`.

use super::{Answer, Answerer};
use crate::server::patron;
use crate::server::terminal::Profile;
use crate::sip2::request::ScStatusRequest;
use crate::sip2::response::AcsStatusResponse;
use crate::sip2::{ProtocolVersion, Response, SupportedMessage, SupportedMessages};

impl Answerer {
    /// 99 -> 98. On-line is N while the database does not answer.
    pub(crate) async fn acs_status(
        &self,
        profile: Option<&Profile>,
        request: &ScStatusRequest,
    ) -> Answer {
        let online = self.accounts.database_online().await;
        let may_block = profile.is_some_and(Profile::may_block_patrons);
        let mut supported = SupportedMessages::with(&[
            SupportedMessage::PatronStatus,
            SupportedMessage::ScAcsStatus,
            SupportedMessage::RequestResend,
            SupportedMessage::Login,
            SupportedMessage::PatronInformation,
            SupportedMessage::EndPatronSession,
        ]);
        supported.set(SupportedMessage::BlockPatron, may_block);
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
        let outcome = if online { "online" } else { "offline" };
        Answer::new(Response::AcsStatusResponse(response), outcome)
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}
