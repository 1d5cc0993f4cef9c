//! SIP2 codec throughput: parse a typical 63 request (as the borrowed view, and as the owned
//! request the session uses), the same 63 through Evergreen's `sip2` crate (0.3.4,
//! `Message::from_sip`, which verifies no checksum) as the baseline of the same run, and encode a
//! typical 64 response. `python3 benches/ratios.py` prints each parse as a ratio to the peer.

use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sip2auth::sip2::message::PatronInformationResponse;
use sip2auth::sip2::{
    encode, parse, EncodeOptions, ParseOptions, PatronStatus, Response, SipDate, TrailerMode,
};

const REQUEST_63: &[u8] =
    b"6300120250314    093005          AOMAIN|AA21234000012345|AC|AD1234|AY2AZF068";

fn response_64() -> Response {
    let when = NaiveDate::from_ymd_opt(2025, 3, 14).and_then(|d| d.and_hms_opt(9, 30, 5));
    PatronInformationResponse {
        patron_status: PatronStatus::default(),
        language: sip2auth::sip2::Language::ENGLISH,
        transaction_date: SipDate::local(when.expect("valid date")),
        hold_items_count: Some(0),
        overdue_items_count: Some(0),
        charged_items_count: Some(1),
        fine_items_count: Some(0),
        recall_items_count: Some(0),
        unavailable_holds_count: Some(0),
        institution_id: "MAIN".into(),
        patron_identifier: "21234000012345".into(),
        personal_name: "Doe, Jane".into(),
        hold_items_limit: None,
        overdue_items_limit: None,
        charged_items_limit: None,
        valid_patron: Some(true),
        valid_patron_password: Some(true),
        currency_type: Some("USD".into()),
        fee_amount: Some("0.00".into()),
        fee_limit: Some("5.00".into()),
        hold_items: vec![],
        overdue_items: vec![],
        charged_items: vec![],
        fine_items: vec![],
        recall_items: vec![],
        unavailable_hold_items: vec![],
        home_address: None,
        email_address: None,
        home_phone_number: None,
        patron_expiration_date: Some("20261231".into()),
        patron_birth_date: Some("19900115".into()),
        patron_class: Some("ADULT".into()),
        patron_internet_profile: None,
        patron_internal_id: None,
        home_library: None,
        screen_message: vec!["Welcome back".into()],
        print_line: vec![],
        extra: vec![],
    }
    .into()
}

fn codec(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let mut group = c.benchmark_group("sip2");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_63_view", |b| {
        b.iter(|| parse::request_view(black_box(REQUEST_63), &opts).map(|p| p.trailer))
    });
    group.bench_function("parse_63_request", |b| {
        b.iter(|| parse::request(black_box(REQUEST_63), &opts))
    });
    // The peer reads text, so it is given the frame already as `&str` (no UTF-8 check).
    let text = std::str::from_utf8(REQUEST_63).expect("the 63 is ASCII");
    group.bench_function("peer_evergreen_from_sip_63", |b| {
        b.iter(|| ::sip2::Message::from_sip(black_box(text)))
    });
    let msg = response_64();
    let enc = EncodeOptions {
        trailer: TrailerMode::Checksum { sequence: Some(2) },
        ..Default::default()
    };
    group.bench_function("encode_64_response", |b| {
        b.iter(|| encode::response(black_box(&msg), &enc))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
