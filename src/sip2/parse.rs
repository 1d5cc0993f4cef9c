//! Parsing: one frame of bytes (without its terminator) into a typed `Request` or `Response`,
//! through a view of it (`RequestView`, `ResponseView`) whose values borrow from the frame: the
//! view is checked as fully as the owned message, which is built from it by copying its values.
//!
//! Steps, in order: the [`envelope`] (trim, split off and verify the `AY`/`AZ` trailer, refuse
//! control bytes), then the command code, the fixed fields in spec order and the identified fields
//! in any order ([`fields`], which states the field rules).
//!
//! Owns: `ParseOptions`, `Parsed`, `request`, `response`. Must not import anything from the crate
//! outside `sip2`.

mod envelope;
mod fields;

use super::error::ParseError;
use super::message::{Request, RequestView, Response, ResponseView};
use super::Charset;
use envelope::{prepare, reject_resend_sequence};

pub use envelope::{unchecked_trailer, ChecksumPolicy, Trailer};
pub(crate) use fields::own_extra;
pub use fields::{Cx, Extra, TakeField};

/// Parser settings. `Default` = UTF-8, strict checksum, every named quirk tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ParseOptions {
    /// Charset used to decode field values.
    pub charset: Charset,
    /// Checksum reading.
    pub checksum: ChecksumPolicy,
    /// Reject any byte above 0x7F (`NonAscii`), as a plain-ASCII terminal would.
    pub strict_ascii: bool,
    /// Reject the unpadded 2-digit max print width of a 99 (`990401.00`) instead of reading it.
    pub strict_fixed: bool,
    /// Reject a 97/96 that carries AY instead of accepting it.
    pub strict_resend: bool,
}

/// A parsed message and its error-detection trailer, if it had one.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub message: T,
    pub trailer: Option<Trailer>,
}

/// Parses a request frame (SC → ACS) into the owned typed request (built from
/// [`request_view`]). Unknown or response codes give `UnknownCommand` (the spec says ignore them;
/// the session decides whether to stay silent or answer 96).
pub fn request(frame: &[u8], opts: &ParseOptions) -> Result<Parsed<Request>, ParseError> {
    request_view(frame, opts).map(|parsed| parsed.into_owned())
}

/// Parses a request frame into a view that borrows its values from `frame`: every check of
/// [`request`] (checksum, control bytes, fixed fields, field rules), no copy of a value.
pub fn request_view<'a>(
    frame: &'a [u8],
    opts: &ParseOptions,
) -> Result<Parsed<RequestView<'a>>, ParseError> {
    let (body, trailer) = prepare(frame, opts)?;
    let message = RequestView::parse_body(body, &Cx::request(opts, body))?;
    if opts.strict_resend && matches!(message, RequestView::RequestAcsResend(_)) {
        reject_resend_sequence(body, trailer)?;
    }
    Ok(Parsed { message, trailer })
}

/// Parses a response frame (ACS → SC), for the probe client and tests.
pub fn response(frame: &[u8], opts: &ParseOptions) -> Result<Parsed<Response>, ParseError> {
    response_view(frame, opts).map(|parsed| parsed.into_owned())
}

/// Parses a response frame into a view that borrows its values from `frame`.
pub fn response_view<'a>(
    frame: &'a [u8],
    opts: &ParseOptions,
) -> Result<Parsed<ResponseView<'a>>, ParseError> {
    let (body, trailer) = prepare(frame, opts)?;
    let message = ResponseView::parse_body(body, &Cx::new(opts, body))?;
    if opts.strict_resend && matches!(message, ResponseView::RequestScResend(_)) {
        reject_resend_sequence(body, trailer)?;
    }
    Ok(Parsed { message, trailer })
}

impl<'a> Parsed<RequestView<'a>> {
    /// The owned request, with the same trailer.
    pub fn into_owned(self) -> Parsed<Request> {
        Parsed {
            message: self.message.into_owned(),
            trailer: self.trailer,
        }
    }
}

impl<'a> Parsed<ResponseView<'a>> {
    /// The owned response, with the same trailer.
    pub fn into_owned(self) -> Parsed<Response> {
        Parsed {
            message: self.message.into_owned(),
            trailer: self.trailer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip2::checksum;
    use crate::sip2::field::FieldId;
    use crate::sip2::message::{PatronInformationRequest, PatronStatusRequest};
    use crate::sip2::secret::Secret;
    use crate::sip2::status::{Language, PrintWidth, ProtocolVersion};
    use crate::sip2::ErrorKind;

    fn req(frame: &[u8]) -> Result<Parsed<Request>, ParseError> {
        request(frame, &ParseOptions::default())
    }

    fn patron_status(frame: &[u8]) -> PatronStatusRequest {
        match req(frame).unwrap().message {
            Request::PatronStatusRequest(m) => m,
            other => panic!("not a 23: {other:?}"),
        }
    }

    fn patron_info(frame: &[u8]) -> PatronInformationRequest {
        match req(frame).unwrap().message {
            Request::PatronInformationRequest(m) => m,
            other => panic!("not a 63: {other:?}"),
        }
    }

    #[test]
    fn an_echoed_field_that_swallowed_a_credential_is_refused_without_its_value() {
        let error = req(b"2300120250314    093005AOMAIN|AA21234000012345AD4931|AC|").unwrap_err();
        assert_eq!(
            error,
            ParseError::SwallowedCredential {
                offset: 46,
                field: FieldId::PatronIdentifier
            }
        );
        assert_eq!(error.kind().reason_code(), "MISSING_DELIMITER");
        assert!(!error.to_string().contains("4931"), "{error}");
        // An identifier at the start, or one with no value after it, is not a swallowed one.
        assert!(req(b"2300120250314    093005AOMAIN|AAADM1|AC|AD|").is_ok());
        assert!(req(b"2300120250314    093005AOMAIN|AA2123AC|AD|").is_ok());
        // Responses (read by the probe client) are not guarded: AF may say anything.
        let reply = b"64              00120250314    093005000000000001000000000000AOMAIN|\
            AA21234000012345|AEDoe, Jane|BLY|CQY|AFPlease ADd a PIN|";
        assert!(response(reply, &ParseOptions::default()).is_ok());
    }

    #[test]
    fn a_language_that_is_not_three_digits_reads_as_unknown_unless_strict() {
        let frame = b"23en 20250314    093000AOMAIN|AA21234000012345|AC|AD|";
        assert_eq!(patron_status(frame).language, Language::UNKNOWN);
        let strict = ParseOptions {
            strict_fixed: true,
            ..Default::default()
        };
        assert_eq!(
            request(frame, &strict).unwrap_err().kind(),
            ErrorKind::BadFixedValue
        );
        // A delimiter inside the fixed part is still a broken message.
        assert!(req(b"2300|20250314    093000AOMAIN|AA1|AC|AD|").is_err());
    }

    #[test]
    fn unchecked_trailers_are_split_off_without_verification() {
        assert_eq!(
            unchecked_trailer(b"9900302.00AY1AZFCA5"),
            (&b"9900302.00"[..], true)
        );
        assert_eq!(
            unchecked_trailer(b"9900302.00AY1AZ0000"),
            (&b"9900302.00"[..], true)
        );
        assert_eq!(unchecked_trailer(b"97AZFEF5"), (&b"97"[..], true));
        assert_eq!(
            unchecked_trailer(b"9900302.00"),
            (&b"9900302.00"[..], false)
        );
        assert_eq!(
            unchecked_trailer(b"9900302.00AY1AZFCA"),
            (&b"9900302.00AY1AZFCA"[..], false)
        );
        assert_eq!(
            unchecked_trailer(b"23AAx|ZZAY|AZ1234"),
            (&b"23AAx|ZZAY|"[..], true)
        );
    }

    #[test]
    fn a_last_value_ending_in_ay_without_a_trailer_stays_a_value() {
        // Found by the request round-trip property: a patron identifier "}AY" as the last field.
        let parsed = req(b"15+20000101    000000AO|AA}AY|").unwrap();
        assert!(parsed.trailer.is_none());
        let Request::HoldRequest(m) = parsed.message else {
            panic!("not a 15")
        };
        assert_eq!(m.patron_identifier, "}AY");
    }

    #[test]
    fn a_value_ending_in_ay_before_a_trailer_without_sequence_stays_a_value() {
        let mut frame = b"2300120250314    093000AOMAIN|AA21234000012345|ZZAY|AZ".to_vec();
        let sum = checksum::compute(&frame);
        frame.extend_from_slice(format!("{sum:04X}").as_bytes());
        let parsed = req(&frame).unwrap();
        assert_eq!(parsed.trailer.map(|t| t.sequence), Some(None));
        let Request::PatronStatusRequest(m) = parsed.message else {
            panic!("not a 23")
        };
        let unknown = FieldId::from_code(*b"ZZ");
        assert!(m
            .extra
            .iter()
            .any(|(id, value)| *id == unknown && value == "AY"));
    }

    #[test]
    fn unpadded_print_width_is_accepted() {
        let Request::ScStatusRequest(m) = req(b"990401.00|").unwrap().message else {
            panic!()
        };
        assert_eq!(
            (m.max_print_width.width, m.protocol_version),
            (40, ProtocolVersion::V1_00)
        );
        let strict = ParseOptions {
            strict_fixed: true,
            ..Default::default()
        };
        assert_eq!(
            request(b"990401.00|", &strict).unwrap_err().kind(),
            ErrorKind::BadFixedValue
        );
    }

    #[test]
    fn space_padded_print_width_is_kept() {
        let Request::ScStatusRequest(m) = req(b"990 802.00").unwrap().message else {
            panic!()
        };
        assert_eq!(
            m.max_print_width,
            PrintWidth {
                width: 80,
                space_padded: true
            }
        );
    }

    #[test]
    fn delimiter_right_after_fixed_fields_is_ignored() {
        assert!(req(b"9920102.00|AY1AZFC29").is_ok());
    }

    #[test]
    fn zone_0000_is_read_as_utc() {
        let m = patron_info(b"63000202503140000093005          AOMAIN|AA1|");
        assert!(m.transaction_date.zone.is_utc());
    }

    #[test]
    fn eighteen_blank_return_date_means_no_date() {
        let frame = b"09N19980821    085721                  APloc|AOinst|ABitem|";
        let Request::CheckinRequest(m) = req(frame).unwrap().message else {
            panic!()
        };
        assert_eq!(m.return_date, None);
    }

    #[test]
    fn missing_final_delimiter_is_accepted() {
        let m = patron_status(b"2300120250314    093000AOMAIN|AA21234000012345|AC|AD1234");
        assert_eq!(m.patron_password, Some(Secret::from("1234")));
    }

    #[test]
    fn lowercase_checksum_hex_is_accepted() {
        let p = req(b"9300CNuser_id|COpassw0rd|AY1AZf594").unwrap();
        assert_eq!(
            p.trailer,
            Some(Trailer {
                sequence: Some(1),
                checksum: 0xF594
            })
        );
    }

    #[test]
    fn unknown_fields_are_kept_in_extra() {
        let m = patron_info(b"6300120250314    093005          AOMAIN|AA1|XYextension value|");
        assert_eq!(
            m.extra,
            [(FieldId::Unknown(*b"XY"), "extension value".to_owned())]
        );
    }

    #[test]
    fn empty_ad_differs_from_absent_ad() {
        let empty = patron_status(b"2300120250314    093000AOMAIN|AA1|AC|AD|");
        assert_eq!(empty.patron_password, Some(Secret::default()));
        assert_eq!(empty.terminal_password, Some(Secret::default()));
        let absent = patron_status(b"2300120250314    093000AOMAIN|AA1|");
        assert_eq!(absent.patron_password, None);
        assert_eq!(absent.terminal_password, None);
    }

    #[test]
    fn renew_all_without_date_is_accepted() {
        let Request::RenewAllRequest(m) = req(b"65AOMAIN|AA1|ADpin|").unwrap().message else {
            panic!()
        };
        assert_eq!(
            (m.transaction_date, m.institution_id.as_str()),
            (None, "MAIN")
        );
    }

    #[test]
    fn leading_whitespace_and_control_bytes_before_the_code_are_skipped() {
        assert!(req(b"\n\x00 \t9900302.00AY1AZFCA5\r\n").is_ok());
    }

    #[test]
    fn repeated_non_repeatable_field_keeps_the_first() {
        let m = patron_status(b"2300120250314    093000AOMAIN|AAfirst|AAsecond|");
        assert_eq!(m.patron_identifier, "first");
        assert!(m.extra.is_empty());
    }

    #[test]
    fn empty_segments_are_ignored() {
        let m = patron_status(b"2300120250314    093000||AOMAIN||AA1|||");
        assert_eq!(m.patron_identifier, "1");
    }

    #[test]
    fn credentials_are_redacted_in_debug_output() {
        let p = req(b"9300CNuser|COsecretpw|CPloc|").unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("secretpw"), "{shown}");
        assert!(shown.contains("[redacted]"));
        let m = patron_status(b"2300120250314    093000AOMAIN|AA1|ACterm|AD9876|");
        assert!(!format!("{m:?}").contains("9876"));
    }

    #[test]
    fn a_credential_swallowed_by_a_bad_flag_value_never_reaches_the_error() {
        let frame = b"11YN20250314    093000                  AOMAIN|AA1|ABitem|BOYADsecret9|";
        let err = req(frame).unwrap_err();
        assert_eq!(
            err,
            ParseError::BadFieldValue {
                offset: 60,
                field: FieldId::FeeAcknowledged,
                value: "YAD\u{2026}".into()
            }
        );
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("secret9"), "{shown}");
        }
    }

    #[test]
    fn a_credential_inside_a_bad_fixed_value_never_reaches_the_error() {
        // The date is left out, so the fields that follow are read as the 18-byte date.
        let err = req(b"23001AOx|AAy|ADsecret9|").unwrap_err();
        assert_eq!(
            err,
            ParseError::BadFixedValue {
                offset: 5,
                field: "transaction_date",
                value: "AOx|AAy|AD\u{2026}".into()
            }
        );
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("secret9"), "{shown}");
        }
    }

    #[test]
    fn a_long_bad_value_is_shown_cut_short() {
        let mut frame = b"11YN20250314    093000                  AOMAIN|AA1|ABitem|BO".to_vec();
        frame.extend_from_slice(&[b'x'; 1000]);
        let ParseError::BadFieldValue { value, .. } = req(&frame).unwrap_err() else {
            panic!("not a bad field value")
        };
        assert_eq!(value, format!("{}\u{2026}", "x".repeat(32)));
    }

    #[test]
    fn undeclared_credentials_are_dropped_not_kept_as_text() {
        let Request::ItemInformationRequest(m) = req(b"1720250314    093000AOMAIN|ABitem|AD4321|")
            .unwrap()
            .message
        else {
            panic!()
        };
        assert!(m.extra.is_empty());
    }

    #[test]
    fn short_checksum_is_malformed_when_strict_and_verified_when_lenient() {
        let strict = req(b"9900302.00AY1AZFCA").unwrap_err();
        assert_eq!(strict.kind(), ErrorKind::MalformedTrailer);
        let lenient = ParseOptions {
            checksum: ChecksumPolicy::Lenient,
            ..Default::default()
        };
        // FCA is a truncated FCA5, so it does not verify.
        let err = request(b"9900302.00AY1AZFCA", &lenient).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadChecksum);
        // A genuinely unpadded checksum (value below 0x1000) verifies.
        let mut body = b"9900302.00|AF".to_vec();
        while checksum::compute(&[&body[..], b"|AY1AZ"].concat()) >= 0x1000 {
            body.push(b'~');
        }
        body.extend_from_slice(b"|AY1AZ");
        let value = checksum::compute(&body);
        let frame = [&body[..], format!("{value:X}").as_bytes()].concat();
        assert!(frame.len() - body.len() < 4);
        assert!(request(&frame, &lenient).is_ok());
        assert_eq!(req(&frame).unwrap_err().kind(), ErrorKind::MalformedTrailer);
    }

    #[test]
    fn resend_with_sequence_is_accepted_unless_strict() {
        assert!(req(b"97AY3AZFE28").is_ok());
        let strict = ParseOptions {
            strict_resend: true,
            ..Default::default()
        };
        let err = request(b"97AY3AZFE28", &strict).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ResendWithSeq);
    }

    #[test]
    fn non_ascii_is_rejected_only_with_strict_ascii() {
        let frame = b"2300120250314    093000AOMAIN|AAJos\xC3\xA9|";
        assert_eq!(patron_status(frame).patron_identifier, "Jos\u{e9}");
        let strict = ParseOptions {
            strict_ascii: true,
            ..Default::default()
        };
        let err = request(frame, &strict).unwrap_err();
        assert_eq!(
            err,
            ParseError::NonAscii {
                offset: 35,
                byte: 0xC3
            }
        );
    }

    #[test]
    fn errors_say_where() {
        let err = req(b"2300120250314    0930").unwrap_err();
        assert_eq!(
            err,
            ParseError::TruncatedFixed {
                offset: 5,
                field: "transaction_date"
            }
        );
        let err = req(b"2300120250314    093000AOMAIN|aa1|").unwrap_err();
        assert_eq!(
            err,
            ParseError::BadFieldId {
                offset: 30,
                id: "aa".into()
            }
        );
        let err = req(b"XSAY5AZFDEB").unwrap_err();
        assert_eq!(err, ParseError::UnknownCommand { code: "XS".into() });
    }

    #[test]
    fn responses_are_not_requests() {
        assert_eq!(req(b"941").unwrap_err().kind(), ErrorKind::UnknownCommand);
        assert!(response(b"941", &ParseOptions::default()).is_ok());
    }

    #[test]
    fn tiny_and_empty_frames_do_not_panic() {
        for frame in [
            &b""[..],
            b"\r\n",
            b"9",
            b"AZ",
            b"AY1",
            b"|AZ1",
            b"AZFFFF",
            b"97AZ1",
        ] {
            let _ = req(frame);
            let _ = response(frame, &ParseOptions::default());
        }
    }
}
