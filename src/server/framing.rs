//! Framing for a session: the sip2 frame codec behind an early "is this SIP2 at all?" check,
//! and the byte-level look at a frame the session needs before parsing (its command code for
//! logs).
//!
//! Owns: `SessionCodec`, `ReadError`, `command_code`. Uses
//! `sip2` only; must not log (the session logs) and never exposes frame contents.

use std::io;

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::sip2::{Frame, FrameCodec};

/// Errors of the session's framing layer.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(io::Error),
    NotSip2,
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> Self {
        ReadError::Io(error)
    }
}

/// The sip2 framer plus an early check: a message must start with a digit (after blanks, CR
/// and LF), so a TLS ClientHello or other binary input closes the connection without waiting
/// for a terminator.
pub(crate) struct SessionCodec(pub(crate) FrameCodec);

impl Decoder for SessionCodec {
    type Item = Frame;
    type Error = ReadError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, ReadError> {
        let first = src
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
        if first.is_some_and(|b| !b.is_ascii_digit()) {
            return Err(ReadError::NotSip2);
        }
        Ok(self.0.decode(src)?)
    }
}

/// The two-digit command code, for logs only (the codec guarantees a leading digit; anything
/// else is shown as `?`).
pub(crate) fn command_code(frame: &[u8]) -> String {
    let start = frame
        .iter()
        .position(|b| !(b.is_ascii_whitespace() || b.is_ascii_control()))
        .unwrap_or(frame.len());
    frame[start..]
        .iter()
        .take(2)
        .map(|b| {
            if b.is_ascii_digit() {
                char::from(*b)
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip2::RequestKind;

    #[test]
    fn command_code_never_shows_more_than_two_digits() {
        let code = |kind: RequestKind| String::from_utf8_lossy(&kind.code()).into_owned();
        let patron_information = [
            &RequestKind::PatronInformationRequest.code()[..],
            b"00120250314",
        ]
        .concat();
        assert_eq!(
            command_code(&patron_information),
            code(RequestKind::PatronInformationRequest)
        );
        let login = [&b"\n "[..], &RequestKind::LoginRequest.code()].concat();
        assert_eq!(command_code(&login), code(RequestKind::LoginRequest));
        assert_eq!(command_code(b"9"), "9");
    }

    #[test]
    fn codec_refuses_a_tls_client_hello_before_any_terminator() {
        let mut codec = SessionCodec(FrameCodec::new(1024));
        let mut buf = BytesMut::from(&b"\x16\x03\x01\x00\xa5\x01"[..]);
        assert!(matches!(codec.decode(&mut buf), Err(ReadError::NotSip2)));
        let mut buf = BytesMut::from(&b"\r\n99003"[..]);
        assert!(matches!(codec.decode(&mut buf), Ok(None)));
    }
}
