//! The protocol-valid negative answer to every request this server does not perform (the
//! messages the service table marks refused: circulation), and to any message a terminal's
//! allowed-messages list leaves out. Never silence, never a dropped connection.
//!
//! Owns: the shape of each refusal (PROTOCOL.md §3.7-3.15 and the `C-` vectors): ok `0` / `N`,
//! identifiers echoed, empty required fields, and one AF with the text the caller chose
//! (`messages.circulation_refused` or `messages.message_not_allowed`).
//! Chosen shapes where the spec leaves room:
//! - 12 and 30: `0NUN` (not ok, no renewal, magnetic media unknown, no desensitize), AJ and AH
//!   empty; BL is left out because no patron was looked up.
//! - 18: circulation status 01 (other), security marker 01 (none), fee type 01 (other).
//! - 26: patron status `YYYY` (privileges denied: nothing was enabled), language 000, AE empty,
//!   and neither BL nor CQ: the patron was not looked up, so validity is not stated.
//! - 24 (a refused 01): status blank, language 000, AE empty, no BL (nothing was looked up) and
//!   CQ=N (nothing was verified; clients that accept a missing CQ must not read it as a pass).
//! - 23/63 not allowed for the terminal: answered like an unknown patron (BL=N, CQ=N) with the
//!   refusal text, so no client can read it as a valid card.
//!
//! Uses `sip2` message types and `patron` replies; must not import `auth` or `store`.

use super::patron::{self, PatronReply, PRIVILEGES_DENIED};
use crate::config::server::institution_or;
use crate::sip2::response::{
    CheckinResponse, CheckoutResponse, EndSessionResponse, FeePaidResponse, HoldResponse,
    ItemInformationResponse, ItemStatusUpdateResponse, PatronEnableResponse, RenewAllResponse,
    RenewResponse, RequestScResend,
};
use crate::sip2::{Language, PatronStatus, Request, Response, SipDate, Tristate};

/// What every refusal needs besides the request.
pub(crate) struct Refusal<'a> {
    pub(crate) date: SipDate,
    /// The terminal's (or the server's) institution, used when the request's AO is empty.
    pub(crate) institution: &'a str,
    pub(crate) text: &'a str,
}

impl Refusal<'_> {
    fn institution(&self, requested: &str) -> String {
        institution_or(Some(requested), self.institution)
    }

    /// The refusal text as AF, sanitised like every other free text (no `|`, CR, LF, "BLN").
    fn messages(&self) -> Vec<String> {
        patron::text(self.text)
    }

    /// The negative answer to any request but 93, 99 and 97 (session control, never refused;
    /// answered with 96 should one get here).
    pub(crate) fn answer(&self, request: &Request) -> Response {
        if let Some(response) = self.circulation(request) {
            return response;
        }
        let text = self.messages();
        match request {
            Request::BlockPatronRequest(r) => PatronReply {
                status: PatronStatus::default(),
                personal_name: String::new(),
                valid_patron: false,
                valid_password: None,
                fees: None,
                extensions: None,
                messages: text,
            }
            .into_24_without_validity(
                Language::UNKNOWN,
                self.date,
                &self.institution(&r.institution_id),
                &r.patron_identifier,
            ),
            Request::PatronStatusRequest(r) => PatronReply::refused(text).into_24(
                r.language,
                self.date,
                &self.institution(&r.institution_id),
                &r.patron_identifier,
            ),
            Request::PatronInformationRequest(r) => PatronReply::refused(text).into_64(
                r.language,
                self.date,
                &self.institution(&r.institution_id),
                &r.patron_identifier,
            ),
            _ => Response::RequestScResend(RequestScResend { extra: Vec::new() }),
        }
    }

    /// The negative answer to a circulation message (and 35); `None` for the others.
    fn circulation(&self, request: &Request) -> Option<Response> {
        let date = self.date;
        let response = match request {
            Request::CheckoutRequest(r) => Response::CheckoutResponse(self.refused_checkout(
                &r.institution_id,
                &r.patron_identifier,
                r.item_identifier.clone(),
            )),
            Request::CheckinRequest(r) => Response::CheckinResponse(CheckinResponse {
                ok: false,
                resensitize: false,
                magnetic_media: Tristate::Unknown,
                alert: false,
                transaction_date: date,
                institution_id: self.institution(&r.institution_id),
                item_identifier: r.item_identifier.clone(),
                permanent_location: String::new(),
                title_identifier: None,
                sort_bin: None,
                patron_identifier: None,
                media_type: None,
                item_properties: None,
                screen_message: self.messages(),
                print_line: Vec::new(),
                extra: Vec::new(),
            }),
            Request::ItemInformationRequest(r) => {
                Response::ItemInformationResponse(ItemInformationResponse {
                    circulation_status: 1,
                    security_marker: 1,
                    fee_type: 1,
                    transaction_date: date,
                    hold_queue_length: None,
                    due_date: None,
                    recall_date: None,
                    hold_pickup_date: None,
                    item_identifier: r.item_identifier.clone(),
                    title_identifier: String::new(),
                    owner: None,
                    currency_type: None,
                    fee_amount: None,
                    media_type: None,
                    permanent_location: None,
                    current_location: None,
                    item_properties: None,
                    screen_message: self.messages(),
                    print_line: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Request::ItemStatusUpdateRequest(r) => {
                Response::ItemStatusUpdateResponse(ItemStatusUpdateResponse {
                    item_properties_ok: false,
                    transaction_date: date,
                    item_identifier: r.item_identifier.clone(),
                    title_identifier: Some(String::new()),
                    item_properties: None,
                    screen_message: self.messages(),
                    print_line: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Request::PatronEnableRequest(r) => {
                Response::PatronEnableResponse(PatronEnableResponse {
                    patron_status: PatronStatus::with(&PRIVILEGES_DENIED),
                    language: Language::UNKNOWN,
                    transaction_date: date,
                    institution_id: self.institution(&r.institution_id),
                    patron_identifier: r.patron_identifier.clone(),
                    personal_name: String::new(),
                    valid_patron: None,
                    valid_patron_password: None,
                    screen_message: self.messages(),
                    print_line: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Request::HoldRequest(r) => Response::HoldResponse(HoldResponse {
                ok: false,
                available: false,
                transaction_date: date,
                expiration_date: None,
                queue_position: None,
                pickup_location: None,
                institution_id: self.institution(&r.institution_id),
                patron_identifier: r.patron_identifier.clone(),
                item_identifier: None,
                title_identifier: None,
                screen_message: self.messages(),
                print_line: Vec::new(),
                extra: Vec::new(),
            }),
            // AB is optional in a 30 but required in its answer: echoed, or empty.
            Request::RenewRequest(r) => Response::RenewResponse(self.refused_renew(
                &r.institution_id,
                &r.patron_identifier,
                r.item_identifier.clone().unwrap_or_default(),
            )),
            Request::RenewAllRequest(r) => Response::RenewAllResponse(RenewAllResponse {
                ok: false,
                renewed_count: 0,
                unrenewed_count: 0,
                transaction_date: date,
                institution_id: self.institution(&r.institution_id),
                renewed_items: Vec::new(),
                unrenewed_items: Vec::new(),
                screen_message: self.messages(),
                print_line: Vec::new(),
                extra: Vec::new(),
            }),
            Request::FeePaidRequest(r) => Response::FeePaidResponse(FeePaidResponse {
                payment_accepted: false,
                transaction_date: date,
                institution_id: self.institution(&r.institution_id),
                patron_identifier: r.patron_identifier.clone(),
                transaction_id: None,
                screen_message: self.messages(),
                print_line: Vec::new(),
                extra: Vec::new(),
            }),
            Request::EndPatronSessionRequest(r) => {
                Response::EndSessionResponse(EndSessionResponse {
                    end_session: true,
                    transaction_date: date,
                    institution_id: self.institution(&r.institution_id),
                    patron_identifier: r.patron_identifier.clone(),
                    screen_message: self.messages(),
                    print_line: Vec::new(),
                    extra: Vec::new(),
                })
            }
            Request::LoginRequest(_)
            | Request::ScStatusRequest(_)
            | Request::RequestAcsResend(_)
            | Request::PatronStatusRequest(_)
            | Request::PatronInformationRequest(_)
            | Request::BlockPatronRequest(_) => return None,
        };
        Some(response)
    }

    /// A refused 11: `0NUN`, AJ and AH empty, no BL (no patron was looked up).
    fn refused_checkout(&self, ao: &str, aa: &str, ab: String) -> CheckoutResponse {
        CheckoutResponse {
            ok: false,
            renewal_ok: false,
            magnetic_media: Tristate::Unknown,
            desensitize: Tristate::No,
            transaction_date: self.date,
            institution_id: self.institution(ao),
            patron_identifier: aa.to_owned(),
            item_identifier: ab,
            title_identifier: String::new(),
            due_date: String::new(),
            fee_type: None,
            security_inhibit: None,
            currency_type: None,
            fee_amount: None,
            media_type: None,
            item_properties: None,
            transaction_id: None,
            screen_message: self.messages(),
            print_line: Vec::new(),
            valid_patron: None,
            extra: Vec::new(),
        }
    }

    /// A refused 29: the 30 has the 12's layout, and its refusal the same shape.
    fn refused_renew(&self, ao: &str, aa: &str, ab: String) -> RenewResponse {
        let CheckoutResponse {
            ok,
            renewal_ok,
            magnetic_media,
            desensitize,
            transaction_date,
            institution_id,
            patron_identifier,
            item_identifier,
            title_identifier,
            due_date,
            fee_type,
            security_inhibit,
            currency_type,
            fee_amount,
            media_type,
            item_properties,
            transaction_id,
            screen_message,
            print_line,
            valid_patron,
            extra,
        } = self.refused_checkout(ao, aa, ab);
        RenewResponse {
            ok,
            renewal_ok,
            magnetic_media,
            desensitize,
            transaction_date,
            institution_id,
            patron_identifier,
            item_identifier,
            title_identifier,
            due_date,
            fee_type,
            security_inhibit,
            currency_type,
            fee_amount,
            media_type,
            item_properties,
            transaction_id,
            screen_message,
            print_line,
            valid_patron,
            extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip2::parse::{self, ParseOptions};

    #[test]
    fn the_refusal_text_is_sanitised_like_every_other_af() {
        let checkout = b"11YN20250314    093000                  AOMAIN|AA2123|AB3900|AC|";
        let request = parse::request(checkout, &ParseOptions::default())
            .expect("a valid 11")
            .message;
        let refusal = Refusal {
            date: SipDate::utc(chrono::NaiveDateTime::default()),
            institution: "MAIN",
            text: "No|checkout\rhere: BLNK",
        };
        let Response::CheckoutResponse(response) = refusal.answer(&request) else {
            panic!("a 12 answers an 11");
        };
        assert_eq!(response.screen_message, vec!["No checkout here: BL NK"]);
    }
}
