//! Patron status (23 -> 24) and patron information (63 -> 64): asks `auth` about the card and
//! the presented PIN (AD), and turns the decision and the terminal budget into a reply
//! (`patron` shapes it).
//!
//! Must not verify a credential itself, query the store, or log AD.

use secrecy::SecretString;

use super::{Answer, Answerer, Budget};
use crate::auth::Presented;
use crate::server::patron;
use crate::server::terminal::Profile;
use crate::sip2::request::{PatronInformationRequest, PatronStatusRequest};

impl Answerer {
    pub(super) async fn patron_status(
        &self,
        request: PatronStatusRequest,
        profile: &Profile,
    ) -> Answer {
        let presented = presented(request.patron_password);
        let absent = matches!(presented, Presented::Absent);
        let (mut reply, budget) = self
            .check(profile, &request.patron_identifier, presented, true)
            .await;
        if absent {
            // 24 without AD: CQ=N (SIPServer/Koha), whatever `pin_required` says.
            reply.require_credential(&self.messages);
        }
        let ao = self.institution(Some(profile), &request.institution_id);
        let response = reply.reply.into_24(
            request.language,
            self.now(),
            &ao,
            &request.patron_identifier,
        );
        Answer {
            response,
            outcome: reply.outcome,
            budget,
        }
    }

    pub(super) async fn patron_information(
        &self,
        request: PatronInformationRequest,
        profile: &Profile,
    ) -> Answer {
        let presented = presented(request.patron_password);
        let absent = matches!(presented, Presented::Absent);
        let (mut reply, budget) = self
            .check(profile, &request.patron_identifier, presented, false)
            .await;
        if absent && self.settings.pin_required {
            reply.require_credential(&self.messages);
        }
        let ao = self.institution(Some(profile), &request.institution_id);
        let response = reply.reply.into_64(
            request.language,
            self.now(),
            &ao,
            &request.patron_identifier,
        );
        Answer {
            response,
            outcome: reply.outcome,
            budget,
        }
    }

    /// Asks `auth` about the card and turns the decision into a reply.
    async fn check(
        &self,
        profile: &Profile,
        card: &str,
        presented: Presented,
        for_24: bool,
    ) -> (patron::Checked, Budget) {
        let decision = self
            .auth
            .check_patron(&profile.terminal, card, presented)
            .await;
        let rules = patron::Rules {
            messages: &self.messages,
            default_pin: self.auth.config().default_credential.sip_policy,
            full_detail: profile.full_detail(),
            extensions: self.settings.extensions && !for_24,
            lost_card_as_unknown: self.settings.lost_card_as_unknown,
        };
        match decision {
            Ok(decision) => {
                let delay = self.auth.config().terminal_budget.delay;
                let budget = patron::budget(&decision, delay);
                (rules.reply(&decision), budget)
            }
            Err(error) => {
                tracing::warn!(%error, "patron check could not be decided");
                (patron::Checked::unavailable(&self.messages), Budget::Within)
            }
        }
    }
}

/// AD as `auth` takes it. The parser decoded AD with the terminal's charset, so it is text.
fn presented(password: Option<crate::sip2::Secret>) -> Presented {
    match password {
        None => Presented::Absent,
        Some(secret) => Presented::Given(SecretString::from(
            String::from_utf8_lossy(secret.expose()).into_owned(),
        )),
    }
}
