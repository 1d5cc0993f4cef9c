//! Block patron (01 -> 24) from a terminal allowed to send it: the card's patron is blocked
//! through `accounts` with the terminal as operator (audited there), and the answer is a 24.
//!
//! Must not write to the store directly or verify credentials.

use super::{Answer, Answerer};
use crate::accounts::patron::CardRef;
use crate::accounts::{ErrorKind, Operator};
use crate::auth::{DetailWithoutPin, TerminalProfile};
use crate::server::outcome::Outcome;
use crate::server::patron::{self, PatronReply, PRIVILEGES_DENIED};
use crate::sip2::request::BlockPatronRequest;
use crate::sip2::{Language, PatronStatus};

impl Answerer {
    /// 01 from a terminal allowed to send it: block the card's patron, audit it, answer 24.
    pub(super) async fn block_patron(
        &self,
        request: BlockPatronRequest,
        profile: &TerminalProfile,
    ) -> Answer {
        let ao = self.institution(Some(profile), &request.institution_id);
        let card = &request.patron_identifier;
        let date = self.now();
        let at = CardRef {
            institution: profile.settings.institution.clone(),
            card: card.clone(),
        };
        let reason = if request.blocked_card_msg.trim().is_empty() {
            format!("blocked by SIP2 terminal {}", &profile.login_id)
        } else {
            patron::sanitise(&request.blocked_card_msg)
        };
        let operator = Operator::terminal(&profile.login_id);
        let blocked = self
            .bounded(self.accounts.block(&operator, &at, &reason))
            .await;
        let mut reply = match blocked {
            None => PatronReply::unavailable(&self.messages),
            Some(Ok(record)) => PatronReply {
                status: PatronStatus::with(&PRIVILEGES_DENIED),
                // No PIN was verified: the name only to a terminal trusted for it.
                personal_name: if profile.settings.full_detail()
                    && profile.settings.detail_without_pin == DetailWithoutPin::Full
                {
                    patron::sanitise(&record.patron.details.name.display)
                } else {
                    String::new()
                },
                valid_patron: true,
                // Nothing was verified: CQ is stated, and N (PROTOCOL.md §6.2).
                valid_password: Some(false),
                fees: None,
                extensions: None,
                messages: patron::text(&self.messages.patron_blocked_by_terminal),
            },
            Some(Err(error)) if error.kind() == ErrorKind::NotFound => {
                let reply = PatronReply::unknown(&self.messages);
                return Answer::new(
                    reply.into_24(Language::UNKNOWN, date, &ao, card),
                    Outcome::UnknownCard,
                );
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "block patron could not be recorded");
                PatronReply::unavailable(&self.messages)
            }
        };
        reply.messages.retain(|m| !m.is_empty());
        let outcome = if reply.valid_patron {
            Outcome::PatronBlocked
        } else {
            Outcome::Unavailable
        };
        Answer::new(reply.into_24(Language::UNKNOWN, date, &ao, card), outcome)
    }
}
