//! The single field-identifier table of SIP2 (PROTOCOL.md §4.1 standard fields and §4.2
//! extensions). Two-letter codes appear as literals here and nowhere else.
//!
//! Owns: `FieldId` and its code/name lookups. Must not import anything from the crate outside
//! `sip2`.

use std::fmt;

macro_rules! field_table {
    ($( $variant:ident = $code:literal, $name:literal, $flags:expr; )*) => {
        /// A field identifier. Known identifiers have a variant; anything else that is two
        /// upper-case letters is kept as `Unknown`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FieldId {
            $( #[doc = $name] $variant, )*
            /// An identifier not in the table (two upper-case ASCII letters).
            Unknown([u8; 2]),
        }

        impl FieldId {
            /// Every identifier of the table, in table order.
            pub const ALL: &'static [FieldId] = &[$(FieldId::$variant),*];

            /// Looks a two-byte code up in the table; unknown codes become `Unknown`.
            pub fn from_code(code: [u8; 2]) -> FieldId {
                match &code {
                    $( $code => FieldId::$variant, )*
                    _ => FieldId::Unknown(code),
                }
            }

            /// The two-byte wire code.
            pub fn code(self) -> [u8; 2] {
                match self {
                    $( FieldId::$variant => *$code, )*
                    FieldId::Unknown(code) => code,
                }
            }

            /// The spec's name for the field (or "unknown field").
            pub fn name(self) -> &'static str {
                match self {
                    $( FieldId::$variant => $name, )*
                    FieldId::Unknown(_) => "unknown field",
                }
            }

            fn flags(self) -> u8 {
                match self {
                    $( FieldId::$variant => $flags, )*
                    FieldId::Unknown(_) => 0,
                }
            }
        }
    };
}

const REPEAT: u8 = 1;
const SECRET: u8 = 2;
/// A request field the answer repeats (AO, AA, AB).
const ECHOED: u8 = 4;

field_table! {
    PatronIdentifier = b"AA", "patron identifier", ECHOED;
    ItemIdentifier = b"AB", "item identifier", ECHOED;
    TerminalPassword = b"AC", "terminal password", SECRET;
    PatronPassword = b"AD", "patron password", SECRET;
    PersonalName = b"AE", "personal name", 0;
    ScreenMessage = b"AF", "screen message", REPEAT;
    PrintLine = b"AG", "print line", REPEAT;
    DueDate = b"AH", "due date", 0;
    TitleIdentifier = b"AJ", "title identifier", 0;
    BlockedCardMsg = b"AL", "blocked card msg", 0;
    LibraryName = b"AM", "library name", 0;
    TerminalLocation = b"AN", "terminal location", 0;
    InstitutionId = b"AO", "institution id", ECHOED;
    CurrentLocation = b"AP", "current location", 0;
    PermanentLocation = b"AQ", "permanent location", 0;
    HoldItems = b"AS", "hold items", REPEAT;
    OverdueItems = b"AT", "overdue items", REPEAT;
    ChargedItems = b"AU", "charged items", REPEAT;
    FineItems = b"AV", "fine items", REPEAT;
    SequenceNumber = b"AY", "sequence number", 0;
    Checksum = b"AZ", "checksum", 0;
    HomeAddress = b"BD", "home address", 0;
    EmailAddress = b"BE", "e-mail address", 0;
    HomePhoneNumber = b"BF", "home phone number", 0;
    Owner = b"BG", "owner", 0;
    CurrencyType = b"BH", "currency type", 0;
    Cancel = b"BI", "cancel", 0;
    TransactionId = b"BK", "transaction id", 0;
    ValidPatron = b"BL", "valid patron", 0;
    RenewedItems = b"BM", "renewed items", REPEAT;
    UnrenewedItems = b"BN", "unrenewed items", REPEAT;
    FeeAcknowledged = b"BO", "fee acknowledged", 0;
    StartItem = b"BP", "start item", 0;
    EndItem = b"BQ", "end item", 0;
    QueuePosition = b"BR", "queue position", 0;
    PickupLocation = b"BS", "pickup location", 0;
    FeeType = b"BT", "fee type", 0;
    RecallItems = b"BU", "recall items", REPEAT;
    FeeAmount = b"BV", "fee amount", 0;
    ExpirationDate = b"BW", "expiration date", 0;
    SupportedMessages = b"BX", "supported messages", 0;
    HoldType = b"BY", "hold type", 0;
    HoldItemsLimit = b"BZ", "hold items limit", 0;
    OverdueItemsLimit = b"CA", "overdue items limit", 0;
    ChargedItemsLimit = b"CB", "charged items limit", 0;
    FeeLimit = b"CC", "fee limit", 0;
    UnavailableHoldItems = b"CD", "unavailable hold items", REPEAT;
    HoldQueueLength = b"CF", "hold queue length", 0;
    FeeIdentifier = b"CG", "fee identifier", 0;
    ItemProperties = b"CH", "item properties", 0;
    SecurityInhibit = b"CI", "security inhibit", 0;
    RecallDate = b"CJ", "recall date", 0;
    MediaType = b"CK", "media type", 0;
    SortBin = b"CL", "sort bin", 0;
    HoldPickupDate = b"CM", "hold pickup date", 0;
    LoginUserId = b"CN", "login user id", 0;
    LoginPassword = b"CO", "login password", SECRET;
    LocationCode = b"CP", "location code", 0;
    ValidPatronPassword = b"CQ", "valid patron password", 0;
    // Extensions (PROTOCOL.md §4.2); not in the spec.
    PatronExpirationDate = b"PA", "patron expiration date (extension)", 0;
    PatronBirthDate = b"PB", "patron birth date (extension)", 0;
    PatronClass = b"PC", "patron class (extension)", 0;
    PatronInternetProfile = b"PI", "patron internet profile (extension)", 0;
    PatronInternalId = b"XI", "patron internal id (extension)", 0;
    CollectionCode = b"CR", "collection code (extension)", 0;
    CallNumber = b"CS", "call number (extension)", 0;
    DestinationLocation = b"CT", "destination location (extension)", 0;
    AlertType = b"CV", "alert type (extension)", 0;
    HoldPatronId = b"CY", "hold patron id (extension)", 0;
    HoldPatronName = b"DA", "hold patron name (extension)", 0;
    RegisterLogin = b"OR", "register login (extension)", 0;
    CheckNumber = b"RN", "check number (extension)", 0;
}

impl FieldId {
    /// Whether the spec lets this field appear several times in one message.
    pub(crate) fn is_repeatable(self) -> bool {
        self.flags() & REPEAT != 0
    }

    /// Whether the value is a credential (AC, AD, CO): parsed straight into `Secret`.
    pub(crate) fn is_secret(self) -> bool {
        self.flags() & SECRET != 0
    }

    /// Whether an answer repeats this request field to the terminal (AO, AA, AB): such a value
    /// must never carry a credential swallowed by a missing delimiter.
    pub(crate) fn is_echoed(self) -> bool {
        self.flags() & ECHOED != 0
    }

    /// Whether the identifier may stand in a message body: two upper-case letters, and neither
    /// AY nor AZ, which belong to the trailer. The parser refuses anything else, so the encoder
    /// never writes it.
    pub(crate) fn is_body_field(self) -> bool {
        !matches!(self, FieldId::SequenceNumber | FieldId::Checksum)
            && self.code().iter().all(u8::is_ascii_uppercase)
    }
}

/// Where a credential identifier (AC, AD, CO) swallowed by a missing delimiter starts in
/// `value`: after at least one byte and followed by at least one, as in `21234000012345AD4931`
/// (AD at 14). An identifier at the very start is the field's own business, and one at the end
/// carries no value.
pub fn swallowed_secret(value: &[u8]) -> Option<usize> {
    (1..value.len().saturating_sub(2))
        .find(|&at| FieldId::from_code([value[at], value[at + 1]]).is_secret())
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = self.code();
        write!(f, "{}{}", char::from(a), char::from(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_the_table() {
        for id in FieldId::ALL {
            assert_eq!(FieldId::from_code(id.code()), *id);
        }
    }

    #[test]
    fn codes_are_unique_upper_case_pairs() {
        let mut seen = std::collections::HashSet::new();
        for id in FieldId::ALL {
            let code = id.code();
            assert!(code.iter().all(u8::is_ascii_uppercase));
            assert!(seen.insert(code), "duplicate {id}");
        }
    }

    #[test]
    fn unknown_code_is_kept() {
        let id = FieldId::from_code(*b"XY");
        assert_eq!(id, FieldId::Unknown(*b"XY"));
        assert_eq!(id.to_string(), "XY");
    }

    #[test]
    fn only_upper_case_pairs_other_than_the_trailer_are_body_fields() {
        assert!(FieldId::InstitutionId.is_body_field());
        assert!(FieldId::Unknown(*b"XY").is_body_field());
        assert!(!FieldId::SequenceNumber.is_body_field());
        assert!(!FieldId::Checksum.is_body_field());
        assert!(!FieldId::Unknown(*b"x|").is_body_field());
        assert!(!FieldId::Unknown(*b"A\r").is_body_field());
    }

    #[test]
    fn only_credentials_are_secret() {
        let secret: Vec<_> = FieldId::ALL.iter().filter(|f| f.is_secret()).collect();
        assert_eq!(
            secret,
            [
                &FieldId::TerminalPassword,
                &FieldId::PatronPassword,
                &FieldId::LoginPassword
            ]
        );
    }
}
