//! Error detection for a session (PROTOCOL.md §2.2): which trailer mode applies, the 96
//! "please resend" answer, the 97 resend of the last response, and encoding a response with its
//! trailer and the terminal's terminator.
//!
//! Must not make decisions about patrons or terminals (`answer`, `auth`), and must not log
//! frames or field values.

use super::outcome::Handled;
use super::Session;
use crate::auth::{ErrorDetection, Terminator};
use crate::server::outcome::Outcome;
use crate::sip2::encode::{self, EncodeOptions, TrailerMode};
use crate::sip2::response::RequestScResend;
use crate::sip2::{Charset, FieldId, Response};

impl Session {
    pub(super) fn error_detection(&self) -> ErrorDetection {
        self.profile()
            .map_or(ErrorDetection::Auto, |p| p.settings.error_detection)
    }

    /// Answers 96, with `AZ` when `checksum` (96 never carries AY), and remembers it for 97.
    pub(super) fn ask_resend(&mut self, code: String, checksum: bool, outcome: Outcome) -> Handled {
        let mode = if checksum {
            TrailerMode::Checksum { sequence: None }
        } else {
            TrailerMode::None
        };
        let reply = self.encode(
            &Response::RequestScResend(RequestScResend { extra: Vec::new() }),
            mode,
        );
        self.last_request = None;
        self.last_response = Some(reply.clone());
        Handled::reply(code, outcome, reply)
    }

    /// 97: the last response byte for byte, or 96 when nothing was sent yet.
    pub(super) fn resend_last(&mut self, code: String, checksum: bool) -> Handled {
        match &self.last_response {
            Some(last) => Handled::reply(code, Outcome::Resent, last.clone()),
            None => self.ask_resend(code, checksum, Outcome::NothingToResend),
        }
    }

    /// An upstream's answer body as it came, with this side's trailer and terminator.
    pub(super) fn encode_relayed(&self, body: &[u8], trailer: TrailerMode) -> Vec<u8> {
        let terminator = self
            .profile()
            .map_or(Terminator::Cr, |p| p.settings.terminator);
        let mut out = body.to_vec();
        if let TrailerMode::Checksum { sequence } = trailer {
            if let Some(seq) = sequence {
                out.extend_from_slice(&FieldId::SequenceNumber.code());
                out.push(b'0' + seq % 10);
            }
            out.extend_from_slice(&FieldId::Checksum.code());
            let value = crate::sip2::checksum::compute(&out);
            out.extend_from_slice(format!("{value:04X}").as_bytes());
        }
        out.extend_from_slice(terminator.bytes());
        out
    }

    pub(super) fn encode(&self, response: &Response, trailer: TrailerMode) -> Vec<u8> {
        let (charset, terminator) = match self.profile() {
            Some(profile) => (profile.settings.charset, profile.settings.terminator),
            None => (Charset::Utf8, Terminator::Cr),
        };
        let mut out = encode::response(response, &EncodeOptions { charset, trailer });
        out.extend_from_slice(terminator.bytes());
        out
    }
}
