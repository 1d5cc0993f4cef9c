//! The columns of the patron import format: the single table ([`COLUMNS`]) that the header
//! parser, the CLI help and the documentation all read.
//!
//! Plain data; uses nothing else in the crate.

/// One column of the format: its header name, whether it is required, what it holds.
pub(crate) struct Column {
    pub name: &'static str,
    pub required: bool,
    pub meaning: &'static str,
}

/// The import format, in the order the documentation lists it (the single source of truth).
pub(crate) const COLUMNS: &[Column] = &[
    col(
        "card",
        true,
        "library card number (barcode): 1-64 printable characters, no spaces or |",
    ),
    col(
        "institution",
        false,
        "institution id (SIP2 AO); without the column, --institution or server.institution_id",
    ),
    col("family_name", true, "family name"),
    col("given_names", false, "given names"),
    col("email", false, "email address"),
    col("phone", false, "phone number: digits, spaces, + - ( ) ."),
    col("birth_date", false, "YYYY-MM-DD"),
    col("class", false, "patron class or category (SIP2 PC)"),
    col("home_library", false, "home library code"),
    col("expires", false, "YYYY-MM-DD; empty means no expiry"),
    col("status", false, "active (default), blocked or lost"),
    col(
        "block_reason",
        false,
        "why the patron is blocked (only with status blocked)",
    ),
    col("fines", false, "amount owed, e.g. 12.50 (default 0)"),
    col(
        "fine_limit",
        false,
        "amount above which the patron is blocked, e.g. 20.00",
    ),
    col("currency", false, "ISO 4217 code such as USD, EUR, GBP"),
    col(
        "pin",
        false,
        "empty: keep the current PIN; 4-12 digits in clear; or an argon2id PHC string",
    ),
    col(
        "password",
        false,
        "online password: empty keeps the current one; clear text (the password rules apply) \
         or a legacy ILS hash, written as for pin",
    ),
    col(
        "pin_must_change",
        false,
        "true: the PIN is temporary, to be changed at first use (default false)",
    ),
];

const fn col(name: &'static str, required: bool, meaning: &'static str) -> Column {
    Column {
        name,
        required,
        meaning,
    }
}

/// Every column name, comma-separated, in table order.
pub(super) fn column_names() -> String {
    COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
}
