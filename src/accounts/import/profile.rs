//! The built-in column profiles of ILS patron exports (`--profile koha|evergreen|folio`): one
//! table, [`PROFILES`], saying which of the export's columns holds which of ours and how its
//! status values read. A profile is data; [`super::mapping`] turns it into a mapping.
//!
//! Column names follow each system's own documentation: Koha's `borrowers` table (as its patron
//! import and export write it), Evergreen's `actor.usr` joined with `actor.card.barcode`, and
//! FOLIO's user record (mod-users) flattened to dotted CSV headers (`personal.lastName`).
//! Plain data; uses nothing else in the crate.

/// One built-in profile.
pub(crate) struct Profile {
    pub name: &'static str,
    /// (our column, their column).
    pub columns: &'static [(&'static str, &'static str)],
    /// (their value in the column mapped to `status`, our status: active, blocked or lost).
    pub status: &'static [(&'static str, &'static str)],
}

/// Every built-in profile.
pub(crate) const PROFILES: &[Profile] = &[
    Profile {
        name: "koha",
        columns: &[
            ("card", "cardnumber"),
            ("family_name", "surname"),
            ("given_names", "firstname"),
            ("email", "email"),
            ("phone", "phone"),
            ("birth_date", "dateofbirth"),
            ("class", "categorycode"),
            ("home_library", "branchcode"),
            ("expires", "dateexpiry"),
            // Koha's `lost` flag: 1 when the card is reported lost.
            ("status", "lost"),
        ],
        status: &[("0", "active"), ("1", "lost")],
    },
    Profile {
        name: "evergreen",
        columns: &[
            ("card", "barcode"),
            ("family_name", "family_name"),
            ("given_names", "first_given_name"),
            ("email", "email"),
            ("phone", "day_phone"),
            ("birth_date", "dob"),
            ("class", "profile"),
            ("home_library", "home_ou"),
            ("expires", "expire_date"),
            // actor.usr.barred, a PostgreSQL boolean (t/f).
            ("status", "barred"),
        ],
        status: &[
            ("f", "active"),
            ("false", "active"),
            ("t", "blocked"),
            ("true", "blocked"),
        ],
    },
    Profile {
        name: "folio",
        columns: &[
            ("card", "barcode"),
            ("family_name", "personal.lastName"),
            ("given_names", "personal.firstName"),
            ("email", "personal.email"),
            ("phone", "personal.phone"),
            ("birth_date", "personal.dateOfBirth"),
            ("class", "patronGroup"),
            ("expires", "expirationDate"),
            // FOLIO's `active` flag: an inactive user may not borrow.
            ("status", "active"),
        ],
        status: &[("true", "active"), ("false", "blocked")],
    },
];

/// The profile with this name (case-insensitive).
pub(crate) fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Every profile name, separated by `|`, for help and errors.
pub(crate) fn profile_names() -> String {
    PROFILES
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join("|")
}
