//! Patron status (23 -> 24) and patron information (63 -> 64): asks `auth` about the card and
//! the presented PIN (AD), and turns the decision and the terminal budget into a reply
//! (`patron` shapes it).
//!
//! Must not verify a credential itself, query the store, or log AD.

use secrecy::SecretString;

use super::disclosure::{self, Rules};
use super::{Answer, Answerer, Budget};
use crate::auth::{Presented, RestrictionTelling, Telling, TerminalProfile};
use crate::server::patron;
use crate::sip2::request::{PatronInformationRequest, PatronStatusRequest};
use crate::sip2::Secret;

/// What sets the 24 and 64 checks apart.
pub(super) struct CheckFor {
    /// PA/PB/PC may be sent (64 only, and only with `server.extensions`).
    pub(super) extensions: bool,
    /// A request without AD gets CQ=N and the `pin_required` text.
    pub(super) credential_required: bool,
}

impl Answerer {
    pub(super) async fn patron_status(
        &self,
        request: PatronStatusRequest,
        profile: &TerminalProfile,
    ) -> Answer {
        let check_for = CheckFor {
            extensions: false,
            // 24 without AD: CQ=N (SIPServer/Koha), whatever `pin_required` says.
            credential_required: true,
        };
        let card = &request.patron_identifier;
        let (checked, budget) = self
            .check(profile, card, request.patron_password, check_for)
            .await;
        let ao = self.institution(Some(profile), &request.institution_id);
        let response = checked
            .reply
            .into_24(request.language, self.now(), &ao, card);
        Answer {
            response,
            outcome: checked.outcome,
            budget,
            relayed: None,
        }
    }

    pub(super) async fn patron_information(
        &self,
        request: PatronInformationRequest,
        profile: &TerminalProfile,
    ) -> Answer {
        let check_for = CheckFor {
            extensions: self.settings.extensions,
            credential_required: self.settings.pin_required,
        };
        let card = &request.patron_identifier;
        let (checked, budget) = self
            .check(profile, card, request.patron_password, check_for)
            .await;
        let ao = self.institution(Some(profile), &request.institution_id);
        let response = checked
            .reply
            .into_64(request.language, self.now(), &ao, card);
        Answer {
            response,
            outcome: checked.outcome,
            budget,
            relayed: None,
        }
    }

    /// Asks `auth` about the card and AD and turns the decision into a reply.
    pub(super) async fn check(
        &self,
        profile: &TerminalProfile,
        card: &str,
        password: Option<Secret>,
        check_for: CheckFor,
    ) -> (patron::Checked, Budget) {
        let decision = self
            .bounded(self.auth.check_patron(profile, card, presented(password)))
            .await;
        let rules = Rules {
            telling: Telling {
                messages: &self.messages,
                credential: profile.settings.patron_credential,
                detail: profile.settings.patron_detail,
                detail_without_pin: profile.settings.detail_without_pin,
                restrictions: RestrictionTelling {
                    answer: profile.settings.restricted,
                    denied: &profile.settings.denied_restrictions,
                },
                default_pin: self.auth.config().default_credential.sip_policy,
                lost_card_as_unknown: self.settings.lost_card_as_unknown,
                credential_required: check_for.credential_required,
            },
            extensions: check_for.extensions,
        };
        match decision {
            Some(Ok(decision)) => {
                let delay = self.auth.config().terminal_budget.delay;
                let budget = disclosure::budget(&decision, delay);
                (rules.reply(&decision), budget)
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "patron check could not be decided");
                (rules.unavailable(), Budget::Within)
            }
            None => (rules.unavailable(), Budget::Within),
        }
    }
}

/// AD as `auth` takes it. The parser decoded AD with the terminal's charset, so it is text.
fn presented(password: Option<Secret>) -> Presented {
    match password {
        None => Presented::Absent,
        Some(secret) => Presented::Given(SecretString::from(
            String::from_utf8_lossy(secret.expose()).into_owned(),
        )),
    }
}
