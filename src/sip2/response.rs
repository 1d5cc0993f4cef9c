//! Responses (ACS → SC), PROTOCOL.md §3: one struct per message and the `Response` table.
//! Field order is the encoding order the server emits (the composed vectors' order).
//!
//! Owns: the response structs. Must not import anything from the crate outside `sip2`.

use super::date::SipDate;
use super::fixed::{
    Count, Date, Digits2, Digits3, Digits4, Lang, OneZero, Status, StoredFlag, SyncDate, Version,
    YesNo, YesNoUnknown,
};
use super::message::{command_table, sip_message};
use super::status::{Language, PatronStatus, ProtocolVersion, SupportedMessages, Tristate};

command_table! {
    /// Every SIP2 2.00 response, by command code.
    Response / ResponseView,
    /// Which response a message is: its command code without its fields.
    ResponseKind {
        b"94" => LoginResponse / LoginResponseView,
        b"98" => AcsStatusResponse / AcsStatusResponseView,
        b"24" => PatronStatusResponse / PatronStatusResponseView,
        b"64" => PatronInformationResponse / PatronInformationResponseView,
        b"36" => EndSessionResponse / EndSessionResponseView,
        b"12" => CheckoutResponse / CheckoutResponseView,
        b"10" => CheckinResponse / CheckinResponseView,
        b"18" => ItemInformationResponse / ItemInformationResponseView,
        b"20" => ItemStatusUpdateResponse / ItemStatusUpdateResponseView,
        b"26" => PatronEnableResponse / PatronEnableResponseView,
        b"16" => HoldResponse / HoldResponseView,
        b"30" => RenewResponse / RenewResponseView,
        b"66" => RenewAllResponse / RenewAllResponseView,
        b"38" => FeePaidResponse / FeePaidResponseView,
        b"96" => RequestScResend / RequestScResendView,
    }
}

sip_message! {
    /// Login Response (94).
    LoginResponse / LoginResponseView {
        ok: bool as OneZero,
        ;
    }
}

sip_message! {
    /// ACS Status (98).
    AcsStatusResponse / AcsStatusResponseView {
        online_status: bool as YesNo,
        checkin_ok: bool as YesNo,
        checkout_ok: bool as YesNo,
        acs_renewal_policy: bool as YesNo,
        status_update_ok: bool as YesNo,
        offline_ok: bool as YesNo,
        /// Tenths of a second; `000` = not on-line, `999` = unknown.
        timeout_period: u16 as Digits3,
        retries_allowed: u16 as Digits3,
        /// `None` = 18 zeros ("not supported").
        date_time_sync: Option<SipDate> as SyncDate,
        protocol_version: ProtocolVersion as Version,
        ;
        institution_id: String = InstitutionId,
        library_name: Option<String> = LibraryName,
        supported_messages: SupportedMessages = SupportedMessages,
        terminal_location: Option<String> = TerminalLocation,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Patron Status Response (24), also the answer to 01.
    PatronStatusResponse / PatronStatusResponseView {
        patron_status: PatronStatus as Status,
        language: Language as Lang,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        personal_name: String = PersonalName,
        valid_patron: Option<bool> = ValidPatron,
        valid_patron_password: Option<bool> = ValidPatronPassword,
        currency_type: Option<String> = CurrencyType,
        fee_amount: Option<String> = FeeAmount,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Patron Information Response (64). Extensions (PA, PB, PC, PI, XI, AQ) follow the
    /// standard fields, before AF/AG.
    PatronInformationResponse / PatronInformationResponseView {
        patron_status: PatronStatus as Status,
        language: Language as Lang,
        transaction_date: SipDate as Date,
        /// `None` = four blanks (unknown).
        hold_items_count: Option<u16> as Count,
        overdue_items_count: Option<u16> as Count,
        charged_items_count: Option<u16> as Count,
        fine_items_count: Option<u16> as Count,
        recall_items_count: Option<u16> as Count,
        unavailable_holds_count: Option<u16> as Count,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        personal_name: String = PersonalName,
        hold_items_limit: Option<String> = HoldItemsLimit,
        overdue_items_limit: Option<String> = OverdueItemsLimit,
        charged_items_limit: Option<String> = ChargedItemsLimit,
        valid_patron: Option<bool> = ValidPatron,
        valid_patron_password: Option<bool> = ValidPatronPassword,
        currency_type: Option<String> = CurrencyType,
        fee_amount: Option<String> = FeeAmount,
        fee_limit: Option<String> = FeeLimit,
        hold_items: Vec<String> = HoldItems,
        overdue_items: Vec<String> = OverdueItems,
        charged_items: Vec<String> = ChargedItems,
        fine_items: Vec<String> = FineItems,
        recall_items: Vec<String> = RecallItems,
        unavailable_hold_items: Vec<String> = UnavailableHoldItems,
        home_address: Option<String> = HomeAddress,
        email_address: Option<String> = EmailAddress,
        home_phone_number: Option<String> = HomePhoneNumber,
        /// PA extension: expiry `YYYYMMDD`.
        patron_expiration_date: Option<String> = PatronExpirationDate,
        /// PB extension: birth date `YYYYMMDD`.
        patron_birth_date: Option<String> = PatronBirthDate,
        /// PC extension: patron class.
        patron_class: Option<String> = PatronClass,
        /// PI extension.
        patron_internet_profile: Option<String> = PatronInternetProfile,
        /// XI extension.
        patron_internal_id: Option<String> = PatronInternalId,
        /// AQ in 64: home library (extension).
        home_library: Option<String> = PermanentLocation,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// End Session Response (36).
    EndSessionResponse / EndSessionResponseView {
        end_session: bool as YesNo,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Checkout Response (12). BL (sent by SIPServer/Koha on refusals) comes last.
    CheckoutResponse / CheckoutResponseView {
        ok: bool as OneZero,
        renewal_ok: bool as YesNo,
        magnetic_media: Tristate as YesNoUnknown,
        desensitize: Tristate as YesNoUnknown,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        item_identifier: String = ItemIdentifier,
        title_identifier: String = TitleIdentifier,
        due_date: String = DueDate,
        fee_type: Option<String> = FeeType,
        security_inhibit: Option<bool> = SecurityInhibit,
        currency_type: Option<String> = CurrencyType,
        fee_amount: Option<String> = FeeAmount,
        media_type: Option<String> = MediaType,
        item_properties: Option<String> = ItemProperties,
        transaction_id: Option<String> = TransactionId,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
        valid_patron: Option<bool> = ValidPatron,
    }
}

sip_message! {
    /// Checkin Response (10).
    CheckinResponse / CheckinResponseView {
        ok: bool as OneZero,
        resensitize: bool as YesNo,
        magnetic_media: Tristate as YesNoUnknown,
        alert: bool as YesNo,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        item_identifier: String = ItemIdentifier,
        permanent_location: String = PermanentLocation,
        title_identifier: Option<String> = TitleIdentifier,
        sort_bin: Option<String> = SortBin,
        patron_identifier: Option<String> = PatronIdentifier,
        media_type: Option<String> = MediaType,
        item_properties: Option<String> = ItemProperties,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Item Information Response (18).
    ItemInformationResponse / ItemInformationResponseView {
        circulation_status: u8 as Digits2,
        security_marker: u8 as Digits2,
        fee_type: u8 as Digits2,
        transaction_date: SipDate as Date,
        ;
        hold_queue_length: Option<String> = HoldQueueLength,
        due_date: Option<String> = DueDate,
        recall_date: Option<SipDate> = RecallDate,
        hold_pickup_date: Option<SipDate> = HoldPickupDate,
        item_identifier: String = ItemIdentifier,
        title_identifier: String = TitleIdentifier,
        owner: Option<String> = Owner,
        currency_type: Option<String> = CurrencyType,
        fee_amount: Option<String> = FeeAmount,
        media_type: Option<String> = MediaType,
        permanent_location: Option<String> = PermanentLocation,
        current_location: Option<String> = CurrentLocation,
        item_properties: Option<String> = ItemProperties,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Item Status Update Response (20).
    ItemStatusUpdateResponse / ItemStatusUpdateResponseView {
        /// `1` = stored; anything else reads as `false`.
        item_properties_ok: bool as StoredFlag,
        transaction_date: SipDate as Date,
        ;
        item_identifier: String = ItemIdentifier,
        title_identifier: Option<String> = TitleIdentifier,
        item_properties: Option<String> = ItemProperties,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Patron Enable Response (26).
    PatronEnableResponse / PatronEnableResponseView {
        patron_status: PatronStatus as Status,
        language: Language as Lang,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        personal_name: String = PersonalName,
        valid_patron: Option<bool> = ValidPatron,
        valid_patron_password: Option<bool> = ValidPatronPassword,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Hold Response (16).
    HoldResponse / HoldResponseView {
        ok: bool as OneZero,
        available: bool as YesNo,
        transaction_date: SipDate as Date,
        ;
        expiration_date: Option<SipDate> = ExpirationDate,
        queue_position: Option<String> = QueuePosition,
        pickup_location: Option<String> = PickupLocation,
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        item_identifier: Option<String> = ItemIdentifier,
        title_identifier: Option<String> = TitleIdentifier,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Renew Response (30): the layout of 12.
    RenewResponse / RenewResponseView {
        ok: bool as OneZero,
        renewal_ok: bool as YesNo,
        magnetic_media: Tristate as YesNoUnknown,
        desensitize: Tristate as YesNoUnknown,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        item_identifier: String = ItemIdentifier,
        title_identifier: String = TitleIdentifier,
        due_date: String = DueDate,
        fee_type: Option<String> = FeeType,
        security_inhibit: Option<bool> = SecurityInhibit,
        currency_type: Option<String> = CurrencyType,
        fee_amount: Option<String> = FeeAmount,
        media_type: Option<String> = MediaType,
        item_properties: Option<String> = ItemProperties,
        transaction_id: Option<String> = TransactionId,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
        valid_patron: Option<bool> = ValidPatron,
    }
}

sip_message! {
    /// Renew All Response (66).
    RenewAllResponse / RenewAllResponseView {
        ok: bool as OneZero,
        renewed_count: u16 as Digits4,
        unrenewed_count: u16 as Digits4,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        renewed_items: Vec<String> = RenewedItems,
        unrenewed_items: Vec<String> = UnrenewedItems,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Fee Paid Response (38).
    FeePaidResponse / FeePaidResponseView {
        payment_accepted: bool as YesNo,
        transaction_date: SipDate as Date,
        ;
        institution_id: String = InstitutionId,
        patron_identifier: String = PatronIdentifier,
        transaction_id: Option<String> = TransactionId,
        screen_message: Vec<String> = ScreenMessage,
        print_line: Vec<String> = PrintLine,
    }
}

sip_message! {
    /// Request SC Resend (96).
    RequestScResend / RequestScResendView {
        ;
    }
}
