//! Requests (SC → ACS), PROTOCOL.md §3: one struct per message and the `Request` table.
//!
//! Owns: the request structs. Must not import anything from the crate outside `sip2`.

use super::date::SipDate;
use super::fixed::{
    AnyByte, Currency, Date, Digit1, Digits2, Hold, Lang, MaybeDate, NbDate, SummaryF, Version,
    Width, YesNo,
};
use super::message::{command_table, sip_message};
use super::secret::Secret;
use super::status::{HoldMode, Language, PrintWidth, ProtocolVersion, Summary};

command_table! {
    /// Every SIP2 2.00 request, by command code.
    Request / RequestView,
    /// Which request a message is: its command code without its fields.
    RequestKind {
        b"93" => LoginRequest / LoginRequestView,
        b"99" => ScStatusRequest / ScStatusRequestView,
        b"23" => PatronStatusRequest / PatronStatusRequestView,
        b"63" => PatronInformationRequest / PatronInformationRequestView,
        b"01" => BlockPatronRequest / BlockPatronRequestView,
        b"35" => EndPatronSessionRequest / EndPatronSessionRequestView,
        b"11" => CheckoutRequest / CheckoutRequestView,
        b"09" => CheckinRequest / CheckinRequestView,
        b"17" => ItemInformationRequest / ItemInformationRequestView,
        b"19" => ItemStatusUpdateRequest / ItemStatusUpdateRequestView,
        b"25" => PatronEnableRequest / PatronEnableRequestView,
        b"15" => HoldRequest / HoldRequestView,
        b"29" => RenewRequest / RenewRequestView,
        b"65" => RenewAllRequest / RenewAllRequestView,
        b"37" => FeePaidRequest / FeePaidRequestView,
        b"97" => RequestAcsResend / RequestAcsResendView,
    }
}

sip_message! {
    /// Login (93).
    LoginRequest / LoginRequestView {
        /// UID algorithm, `0` = not encrypted (kept as received).
        uid_algorithm: u8 as AnyByte,
        /// PWD algorithm, `0` = not encrypted (kept as received).
        pwd_algorithm: u8 as AnyByte,
        ;
        login_user_id: String = LoginUserId,
        login_password: Secret = LoginPassword,
        location_code: Option<String> = LocationCode,
    }
}

sip_message! {
    /// SC Status (99).
    ScStatusRequest / ScStatusRequestView {
        /// `0` OK, `1` out of paper, `2` shutting down.
        status_code: u8 as Digit1,
        max_print_width: PrintWidth as Width,
        protocol_version: ProtocolVersion as Version,
        ;
    }
}

sip_message! {
    /// Patron Status Request (23).
    PatronStatusRequest / PatronStatusRequestView {
        language: Language as Lang,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        patron_password: Option<Secret> = PatronPassword,
    }
}

sip_message! {
    /// Patron Information (63).
    PatronInformationRequest / PatronInformationRequestView {
        language: Language as Lang,
        transaction_date: SipDate as Date,
        summary: Summary as SummaryF,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        patron_password: Option<Secret> = PatronPassword,
        /// BP, kept as text (clients zero-pad it).
        start_item: Option<String> = StartItem,
        /// BQ, kept as text.
        end_item: Option<String> = EndItem,
    }
}

sip_message! {
    /// Block Patron (01), answered with a 24.
    BlockPatronRequest / BlockPatronRequestView {
        card_retained: bool as YesNo,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        blocked_card_msg: String = BlockedCardMsg,
        patron_identifier: String = PatronIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
    }
}

sip_message! {
    /// End Patron Session (35).
    EndPatronSessionRequest / EndPatronSessionRequestView {
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        patron_password: Option<Secret> = PatronPassword,
    }
}

sip_message! {
    /// Checkout (11).
    CheckoutRequest / CheckoutRequestView {
        sc_renewal_policy: bool as YesNo,
        no_block: bool as YesNo,
        transaction_date: SipDate as Date,
        /// 18 blanks = none.
        nb_due_date: Option<SipDate> as NbDate,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        item_identifier: String = ItemIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        item_properties: Option<String> = ItemProperties,
        patron_password: Option<Secret> = PatronPassword,
        fee_acknowledged: Option<bool> = FeeAcknowledged,
        cancel: Option<bool> = Cancel,
    }
}

sip_message! {
    /// Checkin (09).
    CheckinRequest / CheckinRequestView {
        no_block: bool as YesNo,
        transaction_date: SipDate as Date,
        /// 18 blanks = none.
        return_date: Option<SipDate> as NbDate,
        ;
        current_location: String = CurrentLocation,
        institution_id: String = InstitutionId,
        item_identifier: String = ItemIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        item_properties: Option<String> = ItemProperties,
        cancel: Option<bool> = Cancel,
    }
}

sip_message! {
    /// Item Information (17).
    ItemInformationRequest / ItemInformationRequestView {
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        item_identifier: String = ItemIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
    }
}

sip_message! {
    /// Item Status Update (19).
    ItemStatusUpdateRequest / ItemStatusUpdateRequestView {
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        item_identifier: String = ItemIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        item_properties: String = ItemProperties,
    }
}

sip_message! {
    /// Patron Enable (25).
    PatronEnableRequest / PatronEnableRequestView {
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        patron_password: Option<Secret> = PatronPassword,
    }
}

sip_message! {
    /// Hold (15).
    HoldRequest / HoldRequestView {
        hold_mode: HoldMode as Hold,
        transaction_date: SipDate as Date,
        ;
        expiration_date: Option<SipDate> = ExpirationDate,
        pickup_location: Option<String> = PickupLocation,
        hold_type: Option<String> = HoldType,
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        patron_password: Option<Secret> = PatronPassword,
        item_identifier: Option<String> = ItemIdentifier,
        title_identifier: Option<String> = TitleIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        fee_acknowledged: Option<bool> = FeeAcknowledged,
    }
}

sip_message! {
    /// Renew (29).
    RenewRequest / RenewRequestView {
        third_party_allowed: bool as YesNo,
        no_block: bool as YesNo,
        transaction_date: SipDate as Date,
        /// 18 blanks = none.
        nb_due_date: Option<SipDate> as NbDate,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        patron_password: Option<Secret> = PatronPassword,
        item_identifier: Option<String> = ItemIdentifier,
        title_identifier: Option<String> = TitleIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        item_properties: Option<String> = ItemProperties,
        fee_acknowledged: Option<bool> = FeeAcknowledged,
    }
}

sip_message! {
    /// Renew All (65). Quirk: `None` when the date is left out (php-sip2).
    RenewAllRequest / RenewAllRequestView {
        transaction_date: Option<SipDate> as MaybeDate,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        patron_password: Option<Secret> = PatronPassword,
        terminal_password: Option<Secret> = TerminalPassword,
        fee_acknowledged: Option<bool> = FeeAcknowledged,
    }
}

sip_message! {
    /// Fee Paid (37).
    FeePaidRequest / FeePaidRequestView {
        transaction_date: SipDate as Date,
        /// `01`–`99`.
        fee_type: u8 as Digits2,
        /// `00` cash, `01` VISA, `02` credit card.
        payment_type: u8 as Digits2,
        /// ISO 4217, three upper-case letters.
        currency_type: String as Currency,
        ;
        fee_amount: String = FeeAmount,
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        terminal_password: Option<Secret> = TerminalPassword,
        patron_password: Option<Secret> = PatronPassword,
        fee_identifier: Option<String> = FeeIdentifier,
        transaction_id: Option<String> = TransactionId,
    }
}

sip_message! {
    /// Request ACS Resend (97). Quirk: accepted with an AY sequence number.
    RequestAcsResend / RequestAcsResendView {
        ;
    }
}
