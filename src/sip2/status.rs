//! Position-coded and enumerated fixed-field values (PROTOCOL.md §5): patron status (14
//! positions), summary (10), supported messages BX (16), language, and the small enumerations
//! of the fixed parts.
//!
//! Owns: these value types. Must not import anything from the crate outside `sip2`.

macro_rules! positions {
    ($(#[$meta:meta])* $ty:ident, $flag:ident, $n:literal { $($variant:ident = $pos:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $ty(pub [bool; $n]);

        #[doc = concat!("A named position of [`", stringify!($ty), "`].")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $flag { $($variant = $pos),* }

        impl $flag {
            /// Every named position, in wire order.
            pub const ALL: &'static [$flag] = &[$($flag::$variant),*];
        }

        impl $ty {
            /// Number of positions on the wire.
            pub const LEN: usize = $n;

            /// Whether a position is set.
            pub fn get(&self, flag: $flag) -> bool {
                self.0[flag as usize]
            }

            /// Sets or clears a position.
            pub fn set(&mut self, flag: $flag, value: bool) {
                self.0[flag as usize] = value;
            }

            /// A value with the given positions set.
            pub fn with(flags: &[$flag]) -> $ty {
                let mut v = $ty::default();
                for f in flags {
                    v.set(*f, true);
                }
                v
            }
        }
    };
}

positions! {
    /// Patron status (24, 26, 64): `Y` = true, blank = false; never `N` (§5.1).
    PatronStatus, PatronStatusFlag, 14 {
        ChargePrivilegesDenied = 0, RenewalPrivilegesDenied = 1, RecallPrivilegesDenied = 2,
        HoldPrivilegesDenied = 3, CardReportedLost = 4, TooManyItemsCharged = 5,
        TooManyItemsOverdue = 6, TooManyRenewals = 7, TooManyClaimsOfItemsReturned = 8,
        TooManyItemsLost = 9, ExcessiveOutstandingFines = 10, ExcessiveOutstandingFees = 11,
        RecallOverdue = 12, TooManyItemsBilled = 13,
    }
}

positions! {
    /// Summary of a 63 request (§5.2): which item list is asked for; blank = not asked.
    Summary, SummaryItem, 10 {
        HoldItems = 0, OverdueItems = 1, ChargedItems = 2, FineItems = 3, RecallItems = 4,
        UnavailableHolds = 5,
    }
}

positions! {
    /// Supported messages BX of a 98 (§5.3): `Y`/`N` per message pair.
    SupportedMessages, SupportedMessage, 16 {
        PatronStatus = 0, Checkout = 1, Checkin = 2, BlockPatron = 3, ScAcsStatus = 4,
        RequestResend = 5, Login = 6, PatronInformation = 7, EndPatronSession = 8, FeePaid = 9,
        ItemInformation = 10, ItemStatusUpdate = 11, PatronEnable = 12, Hold = 13, Renew = 14,
        RenewAll = 15,
    }
}

impl Summary {
    #[cfg(test)]
    /// The first requested list, the one servers act on (SIPServer, Koha, EG-rs).
    pub(crate) fn first_requested(&self) -> Option<SummaryItem> {
        SummaryItem::ALL
            .iter()
            .copied()
            .find(|item| self.get(*item))
    }
}

/// Language code, `000`–`999` (§5.5); `000` = unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Language(pub u16);

impl Language {
    /// `000`.
    pub(crate) const UNKNOWN: Language = Language(0);
    /// `001`.
    pub const ENGLISH: Language = Language(1);
}

/// `Y` / `N` / `U` (magnetic media, desensitize).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tristate {
    /// `Y`.
    Yes,
    /// `N`.
    No,
    /// `U`: the ACS does not know.
    Unknown,
}

/// Hold mode of a 15 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldMode {
    /// `+`.
    Add,
    /// `-`.
    Delete,
    /// `*`.
    Change,
}

/// Max print width of a 99 request: 3 digits, zero- or space-padded (` 40`), or unpadded
/// (2 digits, a tolerated quirk). Space padding is kept so the value re-encodes as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PrintWidth {
    /// The width in characters (0–999).
    pub width: u16,
    /// Written with leading blanks instead of zeros.
    pub space_padded: bool,
}

/// Protocol version `x.xx` (99, 98).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    /// Digit before the point.
    pub major: u8,
    /// Two digits after the point.
    pub minor: u8,
}

impl ProtocolVersion {
    /// `2.00`.
    pub const V2_00: ProtocolVersion = ProtocolVersion { major: 2, minor: 0 };
    /// `1.00`.
    pub(crate) const V1_00: ProtocolVersion = ProtocolVersion { major: 1, minor: 0 };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patron_status_positions_follow_the_spec_order() {
        let s = PatronStatus::with(&[PatronStatusFlag::CardReportedLost]);
        assert!(s.0[4]);
        assert_eq!(s.0.iter().filter(|b| **b).count(), 1);
        assert_eq!(PatronStatusFlag::ALL.len(), PatronStatus::LEN);
    }

    #[test]
    fn summary_reports_the_first_requested_list() {
        let mut s = Summary::default();
        assert_eq!(s.first_requested(), None);
        s.set(SummaryItem::FineItems, true);
        s.set(SummaryItem::ChargedItems, true);
        assert_eq!(s.first_requested(), Some(SummaryItem::ChargedItems));
    }

    #[test]
    fn supported_messages_has_sixteen_named_positions() {
        assert_eq!(SupportedMessage::ALL.len(), SupportedMessages::LEN);
    }
}
