//! Request -> Response using authentication decisions: the one place where SIP2 meets `auth`.
//!
//! Owns: the ACS status (98), patron status (24) and patron information (64) answers, end
//! session (36), block patron (01 -> 24), and routing of everything else to `refusal.rs`. Must not
//! frame, parse or write bytes (that is `session.rs`), and never verifies a credential itself.
//!
//! Rules (PROTOCOL.md §5.3-5.4, §6), with the choices made where it offers them:
//! - BL and CQ are always explicit, except CQ in a 64 without AD (left out unless
//!   `pin_required`). CQ=Y only when `auth` verified the credential (`Valid`, `DefaultToChange`).
//! - Disclosure: a verified patron gets name, fees and (64, `extensions`) PA/PB/PC; a check with
//!   no credential presented (AD absent or empty) gets name, status flags and fees, no
//!   extensions; a presented credential that failed (wrong, locked, expired default, busy) gets
//!   no personal data, no fees and blank status flags, only BL=Y, CQ=N and the reason in AF.
//!   Minimal-detail terminals never get a name, fees or extensions.
//! - Standing: expired -> 0-3 + `expired` AF (+ PA); blocked -> 0-3; card lost -> 0-4 (or an
//!   unknown patron with `lost_card_as_unknown`); fines over the limit -> 10 (+ BH, BV, CC).
//! - Database unavailable: 98 on-line N; 24/64 answered like an unknown card with the
//!   `unavailable` AF (BL=N, CQ=N); nothing is cached, so the next request retries.
//! - Free text (AE, PC, AF) is sanitised: no `|`, CR, LF, control bytes, and never "BLN".

use std::time::Duration;

use chrono::Local;
use secrecy::SecretString;

use super::patron::{self, PatronReply};
use super::refusal::{Refusal, PRIVILEGES_DENIED};
use super::terminal::Profile;
use crate::accounts::patron::CardRef;
use crate::accounts::{Accounts, ErrorKind, Operator};
use crate::auth::{Authenticator, Presented};
use crate::clock::SharedClock;
use crate::config::server::SipTimezone;
use crate::config::{Config, MessagesConfig, ServerConfig};
use crate::sip2::request::{
    BlockPatronRequest, EndPatronSessionRequest, PatronInformationRequest, PatronStatusRequest,
    ScStatusRequest,
};
use crate::sip2::response::{AcsStatusResponse, EndSessionResponse};
use crate::sip2::{
    Language, PatronStatus, ProtocolVersion, Request, Response, SipDate, SupportedMessage,
    SupportedMessages,
};

/// What the terminal-failure budget asks the session to do with this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    Within,
    /// Wait this long before answering (spraying defence).
    Delay(Duration),
    /// Answer, then end the session: the terminal must log in again.
    EndSession,
}

/// A response and how the request went, for the request log line.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) response: Response,
    pub(crate) outcome: &'static str,
    pub(crate) budget: Budget,
}

impl Answer {
    pub(crate) fn new(response: Response, outcome: &'static str) -> Answer {
        Answer {
            response,
            outcome,
            budget: Budget::Within,
        }
    }
}

/// Answers requests for every session of a server.
#[derive(Debug)]
pub(crate) struct Answerer {
    accounts: Accounts,
    auth: Authenticator,
    clock: SharedClock,
    settings: ServerConfig,
    messages: MessagesConfig,
}

impl Answerer {
    pub(crate) fn new(
        config: &Config,
        accounts: Accounts,
        auth: Authenticator,
        clock: SharedClock,
    ) -> Self {
        Answerer {
            accounts,
            auth,
            clock,
            settings: config.server.clone(),
            messages: config.messages.clone(),
        }
    }

    /// The transaction date: now, in local time (four blanks) or UTC (`   Z`).
    pub(crate) fn now(&self) -> SipDate {
        let now = self.clock.now();
        match self.settings.timezone {
            SipTimezone::Utc => SipDate::utc(now.naive_utc()),
            SipTimezone::Local => SipDate::local(now.with_timezone(&Local).naive_local()),
        }
    }

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

    /// Every request of a terminal other than 93, 99 and 97.
    pub(crate) async fn answer(&self, request: Request, profile: &Profile) -> Answer {
        if !profile.may_send(&request) {
            return self.refuse(&request, Some(profile));
        }
        match request {
            Request::PatronStatusRequest(r) => self.patron_status(r, profile).await,
            Request::PatronInformationRequest(r) => self.patron_information(r, profile).await,
            Request::EndPatronSessionRequest(r) => self.end_session(&r, profile),
            Request::BlockPatronRequest(r) => self.block_patron(r, profile).await,
            other => self.refuse(&other, Some(profile)),
        }
    }

    /// The answer when the terminal could not be decided (database down at accept).
    pub(crate) fn unavailable(&self, request: &Request) -> Answer {
        let reply = PatronReply::unavailable(&self.messages);
        let date = self.now();
        let institution = self.settings.institution_id.as_str();
        match request {
            Request::PatronStatusRequest(r) => {
                let ao = or_default(&r.institution_id, institution);
                Answer::new(
                    reply.into_24(r.language, date, &ao, &r.patron_identifier),
                    "unavailable",
                )
            }
            Request::PatronInformationRequest(r) => {
                let ao = or_default(&r.institution_id, institution);
                Answer::new(
                    reply.into_64(r.language, date, &ao, &r.patron_identifier),
                    "unavailable",
                )
            }
            other => self.refuse(other, None),
        }
    }

    async fn patron_status(&self, request: PatronStatusRequest, profile: &Profile) -> Answer {
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

    async fn patron_information(
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

    fn end_session(&self, request: &EndPatronSessionRequest, profile: &Profile) -> Answer {
        let response = EndSessionResponse {
            end_session: true,
            transaction_date: self.now(),
            institution_id: self.institution(Some(profile), &request.institution_id),
            patron_identifier: request.patron_identifier.clone(),
            screen_message: patron::text(&self.messages.end_session),
            print_line: Vec::new(),
            extra: Vec::new(),
        };
        Answer::new(Response::EndSessionResponse(response), "session_ended")
    }

    /// 01 from a terminal allowed to send it: block the card's patron, audit it, answer 24.
    async fn block_patron(&self, request: BlockPatronRequest, profile: &Profile) -> Answer {
        let ao = self.institution(Some(profile), &request.institution_id);
        let card = &request.patron_identifier;
        let date = self.now();
        let at = CardRef {
            institution: profile.institution().to_owned(),
            card: card.clone(),
        };
        let record = match self.accounts.patron(&at).await {
            Ok(record) => record,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                let reply = PatronReply::unknown(&self.messages);
                return Answer::new(
                    reply.into_24(Language::UNKNOWN, date, &ao, card),
                    "unknown_card",
                );
            }
            Err(error) => {
                tracing::warn!(%error, "block patron could not be recorded");
                let reply = PatronReply::unavailable(&self.messages);
                return Answer::new(
                    reply.into_24(Language::UNKNOWN, date, &ao, card),
                    "unavailable",
                );
            }
        };
        let reason = if request.blocked_card_msg.trim().is_empty() {
            format!("blocked by SIP2 terminal {}", profile.login_id())
        } else {
            patron::sanitise(&request.blocked_card_msg)
        };
        let operator = Operator::terminal(profile.login_id());
        let blocked = self.accounts.block(&operator, &at, &reason).await;
        let mut reply = match blocked {
            Ok(()) => PatronReply {
                status: PatronStatus::with(&PRIVILEGES_DENIED),
                personal_name: if profile.full_detail() {
                    patron::sanitise(&record.patron.details.name.display)
                } else {
                    String::new()
                },
                valid_patron: true,
                valid_password: None,
                fees: None,
                extensions: None,
                messages: patron::text(&self.messages.patron_blocked_by_terminal),
            },
            Err(error) => {
                tracing::warn!(%error, "block patron could not be recorded");
                PatronReply::unavailable(&self.messages)
            }
        };
        reply.messages.retain(|m| !m.is_empty());
        let outcome = if reply.valid_patron {
            "patron_blocked"
        } else {
            "unavailable"
        };
        Answer::new(reply.into_24(Language::UNKNOWN, date, &ao, card), outcome)
    }

    fn refuse(&self, request: &Request, profile: Option<&Profile>) -> Answer {
        let institution = self.institution(profile, "");
        let refusal = Refusal {
            date: self.now(),
            institution: &institution,
            text: &self.messages.circulation_refused,
        };
        Answer::new(refusal.answer(request), "refused")
    }

    /// AO: the request's when given, else the terminal's institution, else the server's.
    fn institution(&self, profile: Option<&Profile>, requested: &str) -> String {
        if !requested.is_empty() {
            return requested.to_owned();
        }
        profile.map_or_else(
            || self.settings.institution_id.clone(),
            |p| p.institution().to_owned(),
        )
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

fn or_default(requested: &str, fallback: &str) -> String {
    if requested.is_empty() {
        fallback
    } else {
        requested
    }
    .to_owned()
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}
