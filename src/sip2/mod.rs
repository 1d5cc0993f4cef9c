//! The SIP2 protocol (3M Standard Interchange Protocol 2.00), pure: bytes in, typed values out.
//! No I/O, logging or clock; callers pass the time in.
//!
//! - [`field`]: the single field-identifier table.
//! - [`request`], [`response`] (through [`message`]): one typed struct per message.
//! - [`parse`] and [`encode`]: bytes ↔ messages; [`checksum`]: AY/AZ.
//! - [`codec`]: CR/LF framing for tokio; [`charset`]: UTF-8, Latin-1, cp850 at the edge.
//! - [`date`], [`status`]: fixed-field value types; [`secret`]: credentials that never print.
//! - [`request_set`]: a set of request kinds (a terminal's allowed messages) and its text form.
//!
//! Named quirks tolerated by the parser (PROTOCOL.md §1.6), each tested in `parse.rs`: unpadded
//! 99 print width (`990401.00|`), `|` right after fixed fields, zone `0000`, 18-blank NB/return
//! dates, a missing final `|`, lower-case checksum hex, unknown fields, empty AC/AD, a 65
//! without its date, leading whitespace/control bytes before the command code, a 97 carrying AY,
//! and (with `ChecksumPolicy::Lenient`) checksums of fewer than four hex digits.
//!
//! Unknown command codes are an error (`ParseError::UnknownCommand`), not a message variant:
//! the session decides whether to ignore them (spec) or answer 96.
//!
//! Must not import anything from the crate outside `sip2`.

pub(crate) mod charset;
pub mod checksum;
pub(crate) mod codec;
pub(crate) mod date;
pub mod encode;
pub(crate) mod error;
pub(crate) mod field;
mod fixed;
pub mod message;
pub mod parse;
pub(crate) mod request;
pub(crate) mod request_set;
pub(crate) mod response;
pub(crate) mod secret;
pub(crate) mod status;

pub use charset::Charset;
pub use codec::{Frame, FrameCodec};
pub use date::{SipDate, Zone};
pub use encode::{EncodeOptions, TrailerMode};
pub use error::{ErrorKind, ParseError};
pub use field::{swallowed_secret, FieldId};
pub use message::{Request, RequestKind, RequestView, Response, ResponseKind, ResponseView};
pub use parse::{ChecksumPolicy, ParseOptions, Parsed, Trailer};
pub use request_set::{RequestSet, RequestSetError};
pub use secret::{Secret, SecretView};
pub use status::{
    HoldMode, Language, PatronStatus, PatronStatusFlag, PrintWidth, ProtocolVersion, Summary,
    SummaryItem, SupportedMessage, SupportedMessages, Tristate,
};
