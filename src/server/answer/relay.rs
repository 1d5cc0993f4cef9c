//! A relayed terminal's requests (its upstream set, `auth::Upstream`): what is answered here,
//! what is checked here and then forwarded, and how the upstream's answers come back.
//!
//! - 93 and 97 stay the session's; 99 is answered here, on-line only while the upstream is
//!   too, its BX this server's answered messages plus the relayed ones the upstream advertises
//!   and the terminal may send; 35 and 01 are answered here.
//! - 23 and 63: `local` answers from this database (a card unknown here is asked upstream
//!   as it came with `unknown_here = ask_upstream`); `merge` verifies the PIN here and, only
//!   when it is right, forwards the request without AD and returns the ILS's answer with this
//!   server's BL, CQ and status flags. A wrong or missing PIN is answered here alone.
//! - Circulation: a non-empty AD is checked here first (a wrong PIN is refused with that
//!   message's negative answer and counts toward the lock; the ILS never sees it) and taken out
//!   unless `forward_pin`; AC (the terminal's own secret) is always emptied. The upstream's
//!   answer goes back byte for byte, only the trailer made anew for the terminal.
//! - The upstream down, slow or refusing the relay's login: the message's negative answer with
//!   the `upstream_unavailable` text, within the upstream timeout; 98 off-line.
//!
//! Must not log AD, AC or message bodies: only command codes, outcomes, the ok flag, latency.

use std::time::Instant;

use super::patron_check::CheckFor;
use super::{service, terminal, Answer, Answerer, Budget, Refused};
use crate::auth::{PatronMode, TerminalProfile, UnknownHere, Upstream};
use crate::instruments;
use crate::server::outcome::Outcome;
use crate::server::patron;
use crate::server::refusal::Refusal;
use crate::server::relay::{frame, Relay};
use crate::sip2::parse::{self, ParseOptions};
use crate::sip2::request::ScStatusRequest;
use crate::sip2::{ChecksumPolicy, FieldId, Request, RequestKind, Response, Secret};

/// The patron's card and AD in a request that may carry a PIN.
fn credential(request: &Request) -> Option<(&str, Option<&Secret>)> {
    let (card, pin) = match request {
        Request::PatronStatusRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::PatronInformationRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::CheckoutRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::PatronEnableRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::HoldRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::RenewRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::RenewAllRequest(r) => (&r.patron_identifier, &r.patron_password),
        Request::FeePaidRequest(r) => (&r.patron_identifier, &r.patron_password),
        _ => return None,
    };
    Some((card.as_str(), pin.as_ref()))
}

/// The upstream's ok flag in its answer, where the message has one.
fn upstream_ok(response: &Response) -> Option<bool> {
    Some(match response {
        Response::CheckoutResponse(r) => r.ok,
        Response::CheckinResponse(r) => r.ok,
        Response::RenewResponse(r) => r.ok,
        Response::RenewAllResponse(r) => r.ok,
        Response::HoldResponse(r) => r.ok,
        Response::FeePaidResponse(r) => r.payment_accepted,
        Response::ItemStatusUpdateResponse(r) => r.item_properties_ok,
        _ => return None,
    })
}

fn code_of(request: &Request) -> String {
    String::from_utf8_lossy(&request.code()).into_owned()
}

fn micros(took: std::time::Duration) -> u64 {
    u64::try_from(took.as_micros()).unwrap_or(u64::MAX)
}

impl Answerer {
    /// Every request but 93 and 97 of a terminal relayed to `upstream`; `body` is the request
    /// as it came, without its trailer.
    pub(crate) async fn relayed(
        &self,
        request: Request,
        body: &[u8],
        profile: &TerminalProfile,
        upstream: &Upstream,
        relay: &mut Relay,
    ) -> Answer {
        let kind = request.kind();
        if let Request::ScStatusRequest(status) = &request {
            return self.relayed_status(status, profile, upstream, relay).await;
        }
        if service::handling(kind) == service::Handling::Relayed {
            if !terminal::may_send(Some(profile), kind) {
                return self.refuse(&request, Some(profile), Refused::NotAllowed);
            }
            return self
                .circulation(request, body, profile, upstream, relay)
                .await;
        }
        let patron_check = matches!(
            kind,
            RequestKind::PatronStatusRequest | RequestKind::PatronInformationRequest
        );
        if patron_check
            && upstream.patron_mode == PatronMode::Merge
            && terminal::may_send(Some(profile), kind)
        {
            return self.merged(request, body, profile, upstream, relay).await;
        }
        let asked = patron_check.then(|| request.clone());
        let answer = self.answer(request, profile).await;
        match asked {
            Some(request) if self.ask_upstream(answer.outcome, upstream) => {
                self.forwarded(&request, body, true, profile, upstream, relay)
                    .await
            }
            _ => answer,
        }
    }

    /// Whether a card this outcome says is unknown here is asked upstream.
    fn ask_upstream(&self, outcome: Outcome, upstream: &Upstream) -> bool {
        upstream.unknown_here == UnknownHere::AskUpstream
            && matches!(outcome, Outcome::UnknownCard | Outcome::CardLostAsUnknown)
    }

    /// Circulation: the PIN checked here first, then forwarded.
    async fn circulation(
        &self,
        request: Request,
        body: &[u8],
        profile: &TerminalProfile,
        upstream: &Upstream,
        relay: &mut Relay,
    ) -> Answer {
        let mut keep_pin = upstream.forward_pin;
        if let Some((card, Some(pin))) = credential(&request) {
            if !pin.expose().is_empty() {
                let check_for = CheckFor {
                    extensions: false,
                    credential_required: true,
                };
                let (checked, budget) = self
                    .check(profile, card, Some(pin.clone()), check_for)
                    .await;
                if self.ask_upstream(checked.outcome, upstream) {
                    keep_pin = true;
                } else if checked.reply.valid_password != Some(true) {
                    let text = checked.reply.messages.join(" ");
                    let mut answer = self.refused_with(&request, profile, &text, checked.outcome);
                    answer.budget = budget;
                    return answer;
                }
            }
        }
        self.forwarded(&request, body, keep_pin, profile, upstream, relay)
            .await
    }

    /// 23/63 in merge mode: our verdict, the ILS's fields.
    async fn merged(
        &self,
        request: Request,
        body: &[u8],
        profile: &TerminalProfile,
        upstream: &Upstream,
        relay: &mut Relay,
    ) -> Answer {
        let is_64 = matches!(request, Request::PatronInformationRequest(_));
        let check_for = CheckFor {
            extensions: is_64 && self.settings.extensions,
            credential_required: !is_64 || self.settings.pin_required,
        };
        let Some((card, pin)) = credential(&request) else {
            return self.answer(request, profile).await;
        };
        let (card, pin) = (card.to_owned(), pin.cloned());
        let (mut checked, budget) = self.check(profile, &card, pin, check_for).await;
        if self.ask_upstream(checked.outcome, upstream) {
            return self
                .forwarded(&request, body, true, profile, upstream, relay)
                .await;
        }
        let verified = checked.reply.valid_password == Some(true);
        let mut outcome = checked.outcome;
        let mut merged = None;
        if verified {
            let forwarded = self
                .forwarded(
                    &request,
                    body,
                    upstream.forward_pin,
                    profile,
                    upstream,
                    relay,
                )
                .await;
            if forwarded.outcome == Outcome::Relayed {
                merged = Some(forwarded.response);
            } else {
                outcome = Outcome::UpstreamUnavailable;
                checked
                    .reply
                    .messages
                    .extend(patron::text(&self.messages.upstream_unavailable));
            }
        }
        let reply = &checked.reply;
        let response = match (merged, &request) {
            (Some(Response::PatronInformationResponse(mut r)), _) => {
                r.valid_patron = Some(reply.valid_patron);
                r.valid_patron_password = reply.valid_password;
                r.patron_status = reply.status;
                Response::PatronInformationResponse(r)
            }
            (Some(Response::PatronStatusResponse(mut r)), _) => {
                r.valid_patron = Some(reply.valid_patron);
                r.valid_patron_password = reply.valid_password;
                r.patron_status = reply.status;
                Response::PatronStatusResponse(r)
            }
            (_, Request::PatronInformationRequest(r)) => {
                let ao = self.institution(Some(profile), &r.institution_id);
                checked.reply.into_64(r.language, self.now(), &ao, &card)
            }
            (_, Request::PatronStatusRequest(r)) => {
                let ao = self.institution(Some(profile), &r.institution_id);
                checked.reply.into_24(r.language, self.now(), &ao, &card)
            }
            _ => return self.refuse(&request, Some(profile), Refused::NotServed),
        };
        Answer {
            response,
            outcome,
            budget,
            relayed: None,
        }
    }

    /// Forwards `body` (the PIN taken out unless `keep_pin`; AC always emptied) and returns
    /// the upstream's answer, or the negative answer saying the library system is unavailable.
    async fn forwarded(
        &self,
        request: &Request,
        body: &[u8],
        keep_pin: bool,
        profile: &TerminalProfile,
        upstream: &Upstream,
        relay: &mut Relay,
    ) -> Answer {
        let code = code_of(request);
        let Some(prepared) = prepared(body, keep_pin, profile, upstream) else {
            tracing::warn!(request = %code, "request not forwarded: its PIN could not be taken out");
            let text = self.messages.upstream_unavailable.clone();
            return self.refused_with(request, profile, &text, Outcome::Malformed);
        };
        let started = Instant::now();
        let result = relay
            .forward(profile, upstream, self.auth.sealer(), prepared)
            .await;
        let took = started.elapsed();
        let answer = result.map_err(|e| e.to_string()).and_then(|answer| {
            let options = ParseOptions {
                charset: upstream.charset,
                checksum: ChecksumPolicy::Lenient,
                ..ParseOptions::default()
            };
            match parse::response(&answer, &options) {
                Ok(parsed) => Ok((parsed.message, answer)),
                Err(e) => Err(format!(
                    "answer does not parse ({})",
                    e.kind().reason_code()
                )),
            }
        });
        match answer {
            Ok((response, raw)) => {
                let ok = upstream_ok(&response);
                tracing::info!(
                    request = %code,
                    upstream_ok = ?ok,
                    latency_us = micros(took),
                    "relayed"
                );
                let label = match ok {
                    Some(true) => "ok",
                    Some(false) => "not_ok",
                    None => "answered",
                };
                instruments::relay_forwarded(&code, label, Some(took));
                Answer {
                    response,
                    outcome: Outcome::Relayed,
                    budget: Budget::Within,
                    relayed: Some(frame::recoded(
                        &raw,
                        upstream.charset,
                        profile.settings.charset,
                    )),
                }
            }
            Err(error) => {
                tracing::warn!(
                    request = %code,
                    %error,
                    latency_us = micros(took),
                    "relayed message not answered by the upstream"
                );
                instruments::relay_forwarded(&code, "unavailable", None);
                let text = self.messages.upstream_unavailable.clone();
                self.refused_with(request, profile, &text, Outcome::UpstreamUnavailable)
            }
        }
    }

    /// The negative answer to `request` with `text` as AF.
    fn refused_with(
        &self,
        request: &Request,
        profile: &TerminalProfile,
        text: &str,
        outcome: Outcome,
    ) -> Answer {
        let institution = self.institution(Some(profile), "");
        let refusal = Refusal {
            date: self.now(),
            institution: &institution,
            text,
        };
        Answer::new(refusal.answer(request), outcome)
    }

    /// 99 at a relayed terminal: on-line while this server and the upstream are.
    async fn relayed_status(
        &self,
        request: &ScStatusRequest,
        profile: &TerminalProfile,
        upstream: &Upstream,
        relay: &mut Relay,
    ) -> Answer {
        let mut answer = self.acs_status(Some(profile), request).await;
        let Response::AcsStatusResponse(ours) = &mut answer.response else {
            return answer;
        };
        let theirs = relay.status(profile, upstream, self.auth.sealer()).await;
        let may_send = |kind| terminal::may_send(Some(profile), kind);
        match theirs {
            Ok(theirs) => {
                for (kind, position) in service::relayed() {
                    let advertised = may_send(kind) && theirs.supported_messages.get(position);
                    ours.supported_messages.set(position, advertised);
                }
                ours.checkin_ok = theirs.checkin_ok && may_send(RequestKind::CheckinRequest);
                ours.checkout_ok = theirs.checkout_ok && may_send(RequestKind::CheckoutRequest);
                ours.acs_renewal_policy =
                    theirs.acs_renewal_policy && may_send(RequestKind::RenewRequest);
                if !theirs.online_status && ours.online_status {
                    ours.online_status = false;
                    ours.screen_message = patron::text(&self.messages.upstream_unavailable);
                    answer.outcome = Outcome::Offline;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "upstream status not answered; 98 off-line");
                ours.online_status = false;
                ours.screen_message = patron::text(&self.messages.upstream_unavailable);
                answer.outcome = Outcome::Offline;
            }
        }
        answer
    }
}

/// The request as the upstream gets it: AC emptied, AD taken out unless `keep_pin` (and then
/// checked gone by parsing it again), re-coded to the upstream's charset. `None` when the PIN
/// could not be taken out.
fn prepared(
    body: &[u8],
    keep_pin: bool,
    profile: &TerminalProfile,
    upstream: &Upstream,
) -> Option<Vec<u8>> {
    let start = body.iter().position(u8::is_ascii_digit).unwrap_or(0);
    let mut out = frame::with_empty_field(&body[start..], FieldId::TerminalPassword);
    if !keep_pin {
        out = frame::without_fields(&out, &[FieldId::PatronPassword]);
        let options = ParseOptions {
            charset: profile.settings.charset,
            ..ParseOptions::default()
        };
        let again = parse::request(&out, &options).ok()?;
        if credential(&again.message).is_some_and(|(_, pin)| pin.is_some()) {
            return None;
        }
    }
    Some(frame::recoded(
        &out,
        profile.settings.charset,
        upstream.charset,
    ))
}
