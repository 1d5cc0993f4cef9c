//! Encoding: typed messages to wire bytes (without terminator; the caller appends CR or CRLF).
//!
//! Fixed fields first, then identified fields in the struct's declared order (the order of the
//! project's composed vectors), then `extra`, then the optional trailer. Text is encoded in the
//! terminal's charset (unencodable characters become `?`). Values never contain `|`, CR or LF
//! (replaced by a space) nor other control characters (dropped), PROTOCOL.md §1.3 and §6.4.
//! Variable fields are capped at 255 bytes; repeatable ones (AF, AG, item lists) are split
//! into several fields instead.
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
pub const MAX_FIELD_BYTES: usize = 255;

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
    response_into(msg, opts, &mut out);
    out
}

/// Encodes a request.
pub fn request(msg: &Request, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    request_into(msg, opts, &mut out);
    out
}

/// Appends an encoded response to `out` (lets a session reuse its buffer).
pub fn response_into(msg: &Response, opts: &EncodeOptions, out: &mut Vec<u8>) {
    let start = out.len();
    msg.encode_body(&mut Writer {
        out,
        charset: opts.charset,
    });
    seal(out, start, opts.trailer);
}

/// Appends an encoded request to `out`.
pub fn request_into(msg: &Request, opts: &EncodeOptions, out: &mut Vec<u8>) {
    let start = out.len();
    msg.encode_body(&mut Writer {
        out,
        charset: opts.charset,
    });
    seal(out, start, opts.trailer);
}

fn seal(out: &mut Vec<u8>, start: usize, mode: TrailerMode) {
    let TrailerMode::Checksum { sequence } = mode else {
        return;
    };
    if let Some(seq) = sequence {
        out.extend_from_slice(&FieldId::SequenceNumber.code());
        out.push(b'0' + seq % 10);
    }
    out.extend_from_slice(&FieldId::Checksum.code());
    let value = checksum::compute(&out[start..]);
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

    /// Largest cut ≤ MAX_FIELD_BYTES that does not split a character.
    fn cut(&self, bytes: &[u8]) -> usize {
        let mut k = bytes.len().min(MAX_FIELD_BYTES);
        if !self.charset.is_single_byte() {
            while k > 0 && k < bytes.len() && bytes[k] & 0xC0 == 0x80 {
                k -= 1;
            }
        }
        k
    }

    /// One field, value capped at 255 bytes.
    pub fn field(&mut self, id: FieldId, text: &str) {
        self.out.extend_from_slice(&id.code());
        let start = self.out.len();
        self.text(text);
        let k = self.cut(&self.out[start..]);
        self.out.truncate(start + k);
        self.out.push(b'|');
    }

    /// A repeatable field: values longer than 255 bytes become several fields.
    pub fn repeated(&mut self, id: FieldId, text: &str) {
        self.out.extend_from_slice(&id.code());
        let start = self.out.len();
        self.text(text);
        if self.out.len() - start > MAX_FIELD_BYTES {
            let mut rest = self.out.split_off(start);
            let mut first = true;
            while first || !rest.is_empty() {
                if !first {
                    self.out.extend_from_slice(&id.code());
                }
                first = false;
                let k = self.cut(&rest);
                let tail = rest.split_off(k);
                self.out.extend_from_slice(&rest);
                self.out.push(b'|');
                rest = tail;
            }
            return;
        }
        self.out.push(b'|');
    }

    /// Fields a message does not define, kept from parsing or added by the caller.
    pub fn extra(&mut self, extra: &[(FieldId, String)]) {
        for (id, value) in extra {
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
    use crate::sip2::message::{AcsStatusResponse, LoginResponse, RequestScResend};
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
}
