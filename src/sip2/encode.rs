//! Encoding: typed messages to wire bytes (without terminator; the caller appends CR or CRLF).
//!
//! Fixed fields first, then identified fields in the struct's declared order (the order of the
//! project's composed vectors), then `extra`, then the optional trailer. Text is encoded in the
//! terminal's charset (unencodable characters become `?`). Values never contain `|`, CR or LF
//! (replaced by a space) nor other control characters (dropped), PROTOCOL.md §1.3 and §6.4.
//! Variable fields are capped at 255 bytes; repeatable ones (AF, AG, item lists) are split
//! into several fields instead. `extra` entries whose identifier the parser would refuse are
//! skipped, and fixed-field numbers too wide for their field saturate at all nines (`fixed.rs`),
//! so whatever is encoded parses back.
//!
//! Owns: `EncodeOptions`, `TrailerMode`, `request`, `response`. Must not import anything from
//! the crate outside `sip2`.

use super::checksum;
use super::date::SipDate;
use super::field::FieldId;
use super::message::{Request, Response};
use super::secret::Secret;
use super::status::SupportedMessages;
use super::Charset;

/// Longest value of a variable-length field, in bytes.
pub(crate) const MAX_FIELD_BYTES: usize = 255;

/// Whether and how to append the `AY`/`AZ` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum TrailerMode {
    /// No error detection.
    #[default]
    None,
    /// `AY<n>AZxxxx` (or `AZxxxx` alone when `sequence` is `None`, as for 96/97).
    Checksum { sequence: Option<u8> },
}

/// Encoder settings. `Default` = UTF-8, no trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EncodeOptions {
    pub charset: Charset,
    pub trailer: TrailerMode,
}

/// Encodes a response.
pub fn response(msg: &Response, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    msg.encode_body(&mut Writer {
        out: &mut out,
        charset: opts.charset,
    });
    seal(&mut out, opts.trailer);
    out
}

/// Encodes a request.
pub fn request(msg: &Request, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    msg.encode_body(&mut Writer {
        out: &mut out,
        charset: opts.charset,
    });
    seal(&mut out, opts.trailer);
    out
}

/// Appends the trailer `mode` asks for to the message in `out`.
fn seal(out: &mut Vec<u8>, mode: TrailerMode) {
    let TrailerMode::Checksum { sequence } = mode else {
        return;
    };
    if let Some(seq) = sequence {
        out.extend_from_slice(&FieldId::SequenceNumber.code());
        out.push(b'0' + seq % 10);
    }
    out.extend_from_slice(&FieldId::Checksum.code());
    let value = checksum::compute(out);
    checksum::push_hex(value, out);
}

/// Output buffer plus charset.
pub(crate) struct Writer<'a> {
    pub out: &'a mut Vec<u8>,
    pub charset: Charset,
}

impl Writer<'_> {
    /// Appends sanitised text in the writer's charset.
    fn text(&mut self, text: &str) {
        let plain = text.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'|');
        if plain {
            self.out.extend_from_slice(text.as_bytes());
            return;
        }
        for c in text.chars() {
            match c {
                '|' | '\r' | '\n' => self.out.push(b' '),
                c if c.is_control() => {}
                c => self.charset.encode_char(c, self.out),
            }
        }
    }

    /// Largest cut ≤ MAX_FIELD_BYTES that does not split a character (never 0 for non-empty
    /// input, so splitting always advances).
    fn cut(&self, bytes: &[u8]) -> usize {
        let cap = bytes.len().min(MAX_FIELD_BYTES);
        let mut k = cap;
        if !self.charset.is_single_byte() {
            while k > 0 && k < bytes.len() && bytes[k] & 0xC0 == 0x80 {
                k -= 1;
            }
        }
        if k == 0 {
            cap
        } else {
            k
        }
    }

    /// One field, value capped at 255 bytes.
    pub(crate) fn field(&mut self, id: FieldId, text: &str) {
        self.out.extend_from_slice(&id.code());
        let start = self.out.len();
        self.text(text);
        let k = self.cut(&self.out[start..]);
        self.out.truncate(start + k);
        self.out.push(b'|');
    }

    /// A repeatable field: values longer than 255 bytes become several fields.
    pub(crate) fn repeated(&mut self, id: FieldId, text: &str) {
        self.out.extend_from_slice(&id.code());
        let start = self.out.len();
        self.text(text);
        if self.out.len() - start <= MAX_FIELD_BYTES {
            self.out.push(b'|');
            return;
        }
        // One copy of the encoded value, then each piece once: linear in the value's length.
        let value = self.out.split_off(start);
        let mut rest = &value[..];
        loop {
            let k = self.cut(rest);
            self.out.extend_from_slice(&rest[..k]);
            self.out.push(b'|');
            rest = &rest[k..];
            if rest.is_empty() {
                return;
            }
            self.out.extend_from_slice(&id.code());
        }
    }

    /// Fields a message does not define, kept from parsing or added by the caller. An identifier
    /// the parser would refuse (AY, AZ, anything but two upper-case letters) is not written: it
    /// would corrupt the trailer or put a delimiter or control byte on the wire.
    pub(crate) fn extra(&mut self, extra: &[(FieldId, String)]) {
        for (id, value) in extra.iter().filter(|(id, _)| id.is_body_field()) {
            if id.is_repeatable() {
                self.repeated(*id, value);
            } else {
                self.field(*id, value);
            }
        }
    }
}

/// How a typed field value is written.
pub(crate) trait PutField {
    fn put(&self, id: FieldId, w: &mut Writer<'_>);
}

impl PutField for String {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        w.field(id, self);
    }
}

impl PutField for Vec<String> {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        for value in self {
            w.repeated(id, value);
        }
    }
}

impl PutField for Secret {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        w.field(id, &String::from_utf8_lossy(self.expose()));
    }
}

impl PutField for bool {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        w.field(id, if *self { "Y" } else { "N" });
    }
}

impl PutField for SipDate {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        w.out.extend_from_slice(&id.code());
        self.write(w.out);
        w.out.push(b'|');
    }
}

impl PutField for SupportedMessages {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        w.out.extend_from_slice(&id.code());
        w.out
            .extend(self.0.iter().map(|b| if *b { b'Y' } else { b'N' }));
        w.out.push(b'|');
    }
}

/// Optional fields are written only when present.
impl<T: PutField> PutField for Option<T> {
    fn put(&self, id: FieldId, w: &mut Writer<'_>) {
        if let Some(value) = self {
            value.put(id, w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip2::message::{
        AcsStatusResponse, FeePaidRequest, LoginRequest, LoginResponse, RequestScResend,
    };
    use crate::sip2::parse::{self, ParseOptions};
    use crate::sip2::status::ProtocolVersion;

    fn acs(screen: Vec<String>, name: &str) -> Response {
        Response::AcsStatusResponse(AcsStatusResponse {
            online_status: true,
            checkin_ok: false,
            checkout_ok: false,
            acs_renewal_policy: false,
            status_update_ok: false,
            offline_ok: false,
            timeout_period: 100,
            retries_allowed: 3,
            date_time_sync: None,
            protocol_version: ProtocolVersion::V2_00,
            institution_id: "MAIN".into(),
            library_name: Some(name.into()),
            supported_messages: SupportedMessages::default(),
            terminal_location: None,
            screen_message: screen,
            print_line: vec![],
            extra: vec![],
        })
    }

    fn text(msg: &Response, charset: Charset) -> Vec<u8> {
        response(
            msg,
            &EncodeOptions {
                charset,
                trailer: TrailerMode::None,
            },
        )
    }

    #[test]
    fn resend_gets_a_checksum_without_sequence() {
        let opts = EncodeOptions {
            trailer: TrailerMode::Checksum { sequence: None },
            ..Default::default()
        };
        let msg = Response::RequestScResend(RequestScResend { extra: vec![] });
        assert_eq!(response(&msg, &opts), b"96AZFEF6");
    }

    #[test]
    fn login_response_echoes_the_sequence() {
        let opts = EncodeOptions {
            trailer: TrailerMode::Checksum { sequence: Some(0) },
            ..Default::default()
        };
        let msg = Response::LoginResponse(LoginResponse {
            ok: true,
            extra: vec![],
        });
        assert_eq!(response(&msg, &opts), b"941AY0AZFDFD");
    }

    #[test]
    fn delimiters_and_line_breaks_in_values_become_spaces() {
        let out = text(&acs(vec!["a|b\r\nc\x07d".into()], "x"), Charset::Utf8);
        assert!(
            out.ends_with(b"AFa b  cd|"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn long_screen_messages_are_split_into_255_byte_repeats() {
        let out = text(&acs(vec!["x".repeat(600)], "x"), Charset::Utf8);
        let s = String::from_utf8(out).unwrap();
        let parts: Vec<&str> = s.split('|').filter(|p| p.starts_with("AF")).collect();
        assert_eq!(
            parts.iter().map(|p| p.len() - 2).collect::<Vec<_>>(),
            [255, 255, 90]
        );
    }

    #[test]
    fn long_single_fields_are_capped_without_splitting_a_character() {
        let out = text(&acs(vec![], &"\u{e9}".repeat(200)), Charset::Utf8);
        let s = String::from_utf8(out).expect("still valid UTF-8");
        let am = s.split('|').find(|p| p.starts_with("AM")).unwrap();
        assert_eq!(am.len() - 2, 254);
    }

    #[test]
    fn text_is_encoded_in_the_terminal_charset() {
        let cp850 = text(&acs(vec![], "Jos\u{e9}\u{2603}"), Charset::Cp850);
        assert!(cp850.windows(7).any(|w| w == b"AMJos\x82?"));
        let latin1 = text(&acs(vec![], "Jos\u{e9}"), Charset::Latin1);
        assert!(latin1.windows(6).any(|w| w == b"AMJos\xE9"));
    }

    #[test]
    fn extra_identifiers_the_parser_would_refuse_are_not_written() {
        let mut msg = acs(vec![], "x");
        let Response::AcsStatusResponse(m) = &mut msg else {
            unreachable!()
        };
        m.extra = vec![
            (FieldId::Unknown(*b"x|"), "v".into()),
            (FieldId::Unknown(*b"\r\n"), "w".into()),
            (FieldId::SequenceNumber, "1".into()),
            (FieldId::Checksum, "0000".into()),
            (FieldId::Unknown(*b"XY"), "kept".into()),
        ];
        let opts = EncodeOptions {
            charset: Charset::Utf8,
            trailer: TrailerMode::Checksum { sequence: Some(4) },
        };
        let out = response(&msg, &opts);
        assert!(out[..out.len() - 4].ends_with(b"|XYkept|AY4AZ"));
        assert!(!out.contains(&b'\r') && !out.contains(&b'\n'));
        let parsed = parse::response(&out, &ParseOptions::default()).expect("parses back");
        let Response::AcsStatusResponse(back) = parsed.message else {
            panic!("not a 98")
        };
        assert_eq!(back.extra, [(FieldId::Unknown(*b"XY"), "kept".to_owned())]);
    }

    #[test]
    fn numbers_too_wide_for_their_fixed_field_saturate() {
        let mut msg = acs(vec![], "x");
        let Response::AcsStatusResponse(m) = &mut msg else {
            unreachable!()
        };
        (m.timeout_period, m.retries_allowed) = (1000, 4321);
        m.protocol_version = ProtocolVersion {
            major: 12,
            minor: 250,
        };
        let out = text(&msg, Charset::Utf8);
        assert_eq!(&out[8..14], b"999999");
        assert_eq!(&out[32..36], b"9.99");
    }

    #[test]
    fn request_fixed_fields_never_carry_control_bytes_or_unreadable_currency() {
        let login = Request::LoginRequest(LoginRequest {
            uid_algorithm: b'\r',
            pwd_algorithm: b'0',
            login_user_id: "u".into(),
            login_password: Secret::from("p"),
            location_code: None,
            extra: vec![],
        });
        let out = request(&login, &EncodeOptions::default());
        assert_eq!(&out[..4], b"93 0");
        assert!(parse::request(&out, &ParseOptions::default()).is_ok());
        let date = SipDate::from_bytes(b"20250314    093000").expect("valid date");
        for (given, sent) in [("usd", &b"USD"[..]), ("", b"XXX"), ("EURO", b"XXX")] {
            let fee = Request::FeePaidRequest(FeePaidRequest {
                transaction_date: date,
                fee_type: 1,
                payment_type: 0,
                currency_type: given.into(),
                fee_amount: "1.00".into(),
                institution_id: "MAIN".into(),
                patron_identifier: "1".into(),
                terminal_password: None,
                patron_password: None,
                fee_identifier: None,
                transaction_id: None,
                extra: vec![],
            });
            let out = request(&fee, &EncodeOptions::default());
            assert_eq!(&out[24..27], sent, "{given:?}");
            assert!(parse::request(&out, &ParseOptions::default()).is_ok());
        }
    }

    #[test]
    fn long_repeatable_values_split_on_character_boundaries() {
        let out = text(&acs(vec!["\u{e9}".repeat(200)], "x"), Charset::Utf8);
        let s = String::from_utf8(out).expect("still valid UTF-8");
        let parts: Vec<usize> = s
            .split('|')
            .filter(|p| p.starts_with("AF"))
            .map(|p| p.len() - 2)
            .collect();
        assert_eq!(parts, [254, 146]);
    }

    #[test]
    fn a_checksum_of_zero_is_written_as_four_zeros_and_verifies() {
        // A Latin-1 value whose bytes bring the sum through "AZ" to exactly 0x10000.
        let needed = 0x10000 - b"96ZZ|AZ".iter().map(|b| u32::from(*b)).sum::<u32>();
        let printable = |b: u32| (0x20..0x7F).contains(&b) || (0xA0..0x100).contains(&b);
        let n = (0..255u32)
            .find(|n| printable(needed - 255 * n))
            .expect("some split fits");
        let mut value: String = std::iter::repeat_n('\u{ff}', n as usize).collect();
        value.push(char::from_u32(needed - 255 * n).expect("a Latin-1 character"));
        let msg = Response::RequestScResend(RequestScResend {
            extra: vec![(FieldId::Unknown(*b"ZZ"), value)],
        });
        let opts = EncodeOptions {
            charset: Charset::Latin1,
            trailer: TrailerMode::Checksum { sequence: None },
        };
        let out = response(&msg, &opts);
        assert!(
            out.ends_with(b"|AZ0000"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        let latin1 = ParseOptions {
            charset: Charset::Latin1,
            ..Default::default()
        };
        assert!(parse::response(&out, &latin1).is_ok());
    }
}
