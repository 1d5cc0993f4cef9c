//! Every line of `fixtures/sip2/vectors.txt`: valid messages parse (and canonical ones
//! re-encode byte for byte), invalid ones are rejected for the reason they name, stream cases
//! frame into the stated number of messages.

use bytes::BytesMut;
use sip2auth::sip2::{
    encode, parse, Charset, EncodeOptions, ErrorKind, Frame, FrameCodec, ParseOptions, Request,
    Response, Trailer, TrailerMode,
};
use std::path::Path;

use crate::support::escapes::unescape;
use tokio_util::codec::Decoder;

/// Valid vectors whose bytes are not what the encoder produces, and why.
const NON_CANONICAL: &[(&str, &str)] = &[
    ("JSIP2-99-status2", "stray '|' after the fixed fields"),
    ("EGDOCS-24-unknown", "fields in another order (AE AA BL AO)"),
    (
        "EGDOCS-24-bad-pwd",
        "fields in another order (AF before AO)",
    ),
    ("EGDOCS-24-good", "fields in another order (AF before AO)"),
    ("EGDOCS-64-unknown", "fields in another order (AE AA BL AO)"),
    ("Q-lowercase-hex", "lower-case checksum hex"),
    ("Q-no-final-delimiter", "last field without '|'"),
];

struct Vector {
    section: String,
    tag: String,
    bytes: Vec<u8>,
    rest: Vec<String>,
}

fn vectors() -> Vec<Vector> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(dir.join("fixtures/sip2/vectors.txt")).unwrap();
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].to_owned();
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        out.push(Vector {
            section: section.clone(),
            tag: cols[0].to_owned(),
            bytes: unescape(cols[1]),
            rest: cols[2..].iter().map(|s| s.to_string()).collect(),
        });
    }
    out
}

fn is_request(bytes: &[u8]) -> bool {
    let code = [bytes[0], bytes[1]];
    Request::name_of(code).is_some()
}

#[test]
fn fixture_copy_is_identical_to_the_shared_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = dir.join("../shared/sip2/vectors.txt");
    if shared.exists() {
        let ours = std::fs::read(dir.join("fixtures/sip2/vectors.txt")).unwrap();
        assert_eq!(ours, std::fs::read(shared).unwrap());
    }
}

#[test]
fn counts_match_the_protocol_reference() {
    let v = vectors();
    let count = |s: &str| v.iter().filter(|x| x.section == s).count();
    assert_eq!(
        (count("valid"), count("invalid"), count("stream")),
        (101, 29, 8)
    );
}

fn reencode(v: &Vector, opts: &ParseOptions) -> Vec<u8> {
    // The same charset, and the trailer the vector carried.
    let like = |trailer: Option<Trailer>| EncodeOptions {
        charset: opts.charset,
        trailer: trailer.map_or(TrailerMode::None, |t| TrailerMode::Checksum {
            sequence: t.sequence,
        }),
    };
    if is_request(&v.bytes) {
        let p = parse::request(&v.bytes, opts).unwrap_or_else(|e| panic!("{}: {e}", v.tag));
        encode::request(&p.message, &like(p.trailer))
    } else {
        let p = parse::response(&v.bytes, opts).unwrap_or_else(|e| panic!("{}: {e}", v.tag));
        encode::response(&p.message, &like(p.trailer))
    }
}

#[test]
fn every_valid_vector_parses_and_canonical_ones_reencode_byte_for_byte() {
    let opts = ParseOptions::default();
    let mut non_canonical = Vec::new();
    for v in vectors().iter().filter(|v| v.section == "valid") {
        let out = reencode(v, &opts);
        if out != v.bytes {
            assert!(
                !v.tag.starts_with("C-"),
                "{}: composed vector does not re-encode:\n  got  {}\n  want {}",
                v.tag,
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&v.bytes)
            );
            non_canonical.push(v.tag.clone());
        }
    }
    let expected: Vec<&str> = NON_CANONICAL.iter().map(|(t, _)| *t).collect();
    assert_eq!(non_canonical, expected);
}

fn strict() -> ParseOptions {
    ParseOptions {
        strict_ascii: true,
        strict_fixed: true,
        strict_resend: true,
        ..Default::default()
    }
}

#[test]
fn every_invalid_vector_is_rejected_for_the_reason_it_names() {
    for v in vectors().iter().filter(|v| v.section == "invalid") {
        let reason = v.rest[0].split(':').next().unwrap().trim();
        let result =
            if is_request(&v.bytes) || Response::name_of([v.bytes[0], v.bytes[1]]).is_none() {
                parse::request(&v.bytes, &strict()).map(|_| ())
            } else {
                parse::response(&v.bytes, &strict()).map(|_| ())
            };
        let err = result.expect_err(&v.tag);
        assert_eq!(err.kind().reason_code(), reason, "{}: {err}", v.tag);
    }
}

#[test]
fn bad_checksum_carries_the_sequence_number_for_the_96_answer() {
    let err = parse::request(
        b"9300CNuser_id|COpassw0rd|AY1AZF595",
        &ParseOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadChecksum);
    assert_eq!(err.sequence(), Some(1));
}

#[test]
fn non_ascii_names_parse_when_the_charset_agrees() {
    let find = |tag: &str| vectors().into_iter().find(|v| v.tag == tag).unwrap().bytes;
    for (tag, charset) in [
        ("C-utf8-name", Charset::Utf8),
        ("C-cp850-name", Charset::Cp850),
    ] {
        let opts = ParseOptions {
            charset,
            ..Default::default()
        };
        let Response::PatronStatusResponse(m) = parse::response(&find(tag), &opts).unwrap().message
        else {
            panic!("{tag}: not a 24");
        };
        assert_eq!(m.personal_name, "Jos\u{e9} Doe");
    }
}

#[test]
fn tolerated_quirks_listed_as_invalid_parse_by_default() {
    let opts = ParseOptions::default();
    let width = parse::request(b"990401.00|AY1AZFC59", &opts).unwrap();
    let Request::ScStatusRequest(m) = width.message else {
        panic!()
    };
    assert_eq!(m.max_print_width.width, 40);
    let resend = parse::request(b"97AY3AZFE28", &opts).unwrap();
    assert!(matches!(resend.message, Request::RequestAcsResend(_)));
    assert_eq!(resend.trailer.unwrap().sequence, Some(3));
}

#[test]
fn every_stream_vector_frames_into_the_stated_count() {
    for v in vectors().iter().filter(|v| v.section == "stream") {
        let want: usize = v.rest[0].parse().unwrap();
        let mut codec = FrameCodec::new(16 * 1024);
        let mut buf = BytesMut::from(&v.bytes[..]);
        let mut n = 0;
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            assert!(
                matches!(frame, Frame::Message(ref m) if !m.is_empty()),
                "{}",
                v.tag
            );
            n += 1;
        }
        assert_eq!(n, want, "{}", v.tag);
    }
}
