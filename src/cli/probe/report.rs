//! The probe's report: each response printed field by field, fixed fields by name and identified
//! fields by code and spec name.
//!
//! Uses `sip2` message types only; writes to standard output (the probe is a one-shot command).

use crate::sip2::message::{AcsStatusResponse, LoginResponse, PatronInformationResponse};
use crate::sip2::{FieldId, PatronStatusFlag, SipDate, SupportedMessage};

fn fixed(name: &str, value: impl std::fmt::Display) {
    println!("  {:<33} {value}", name);
}

fn field(id: FieldId, value: impl std::fmt::Display) {
    println!(
        "  {} {:<30} {value}",
        String::from_utf8_lossy(&id.code()),
        id.name()
    );
}

fn yn(value: bool) -> &'static str {
    if value {
        "Y"
    } else {
        "N"
    }
}

fn date(d: &SipDate) -> String {
    d.datetime.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub(super) fn print_login(r: &LoginResponse) {
    fixed("ok", if r.ok { "1 (accepted)" } else { "0 (refused)" });
    extra(&r.extra);
}

pub(super) fn print_status(r: &AcsStatusResponse) {
    fixed("on-line status", yn(r.online_status));
    fixed("checkin ok", yn(r.checkin_ok));
    fixed("checkout ok", yn(r.checkout_ok));
    fixed("ACS renewal policy", yn(r.acs_renewal_policy));
    fixed("status update ok", yn(r.status_update_ok));
    fixed("off-line ok", yn(r.offline_ok));
    fixed("timeout period", r.timeout_period);
    fixed("retries allowed", r.retries_allowed);
    fixed(
        "date / time sync",
        r.date_time_sync
            .as_ref()
            .map_or("not supported".into(), date),
    );
    fixed(
        "protocol version",
        format!(
            "{}.{:02}",
            r.protocol_version.major, r.protocol_version.minor
        ),
    );
    field(FieldId::InstitutionId, &r.institution_id);
    if let Some(v) = &r.library_name {
        field(FieldId::LibraryName, v);
    }
    let supported = SupportedMessage::ALL
        .iter()
        .filter(|m| r.supported_messages.get(**m))
        .map(|m| format!("{m:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    field(FieldId::SupportedMessages, supported);
    if let Some(v) = &r.terminal_location {
        field(FieldId::TerminalLocation, v);
    }
    lines(&r.screen_message, &r.print_line);
    extra(&r.extra);
}

pub(super) fn print_patron(r: &PatronInformationResponse) {
    let flags = PatronStatusFlag::ALL
        .iter()
        .filter(|f| r.patron_status.get(**f))
        .map(|f| format!("{f:?}"))
        .collect::<Vec<_>>();
    fixed(
        "patron status",
        if flags.is_empty() {
            "no flag set".into()
        } else {
            flags.join(", ")
        },
    );
    fixed("language", format!("{:03}", r.language.0));
    fixed("transaction date", date(&r.transaction_date));
    let count = |c: Option<u16>| c.map_or("unknown".into(), |n| n.to_string());
    fixed("hold items count", count(r.hold_items_count));
    fixed("overdue items count", count(r.overdue_items_count));
    fixed("charged items count", count(r.charged_items_count));
    fixed("fine items count", count(r.fine_items_count));
    fixed("recall items count", count(r.recall_items_count));
    fixed("unavailable holds count", count(r.unavailable_holds_count));
    field(FieldId::InstitutionId, &r.institution_id);
    field(FieldId::PatronIdentifier, &r.patron_identifier);
    field(FieldId::PersonalName, &r.personal_name);
    let tri = |v: Option<bool>| v.map_or("absent", yn);
    field(FieldId::ValidPatron, tri(r.valid_patron));
    field(FieldId::ValidPatronPassword, tri(r.valid_patron_password));
    let optional = [
        (FieldId::CurrencyType, &r.currency_type),
        (FieldId::FeeAmount, &r.fee_amount),
        (FieldId::FeeLimit, &r.fee_limit),
        (FieldId::HomeAddress, &r.home_address),
        (FieldId::EmailAddress, &r.email_address),
        (FieldId::HomePhoneNumber, &r.home_phone_number),
        (FieldId::PatronExpirationDate, &r.patron_expiration_date),
        (FieldId::PatronBirthDate, &r.patron_birth_date),
        (FieldId::PatronClass, &r.patron_class),
        (FieldId::PermanentLocation, &r.home_library),
    ];
    for (id, value) in optional {
        if let Some(v) = value {
            field(id, v);
        }
    }
    lines(&r.screen_message, &r.print_line);
    extra(&r.extra);
}

fn lines(screen: &[String], print: &[String]) {
    for line in screen {
        field(FieldId::ScreenMessage, line);
    }
    for line in print {
        field(FieldId::PrintLine, line);
    }
}

fn extra(fields: &[(FieldId, String)]) {
    for (id, value) in fields {
        field(*id, value);
    }
}
