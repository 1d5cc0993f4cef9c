//! Exit codes shared by every command (documented in the README).

use std::process::ExitCode;

/// The command did what was asked.
pub const OK: u8 = 0;
/// The command ran but the answer is "no": refused login, failed probe, rejected rows.
pub const FAILURE: u8 = 1;
/// Bad usage or configuration: fix the command line or the file.
pub const USAGE: u8 = 2;
/// The database (or the server probed) could not be reached.
pub const UNAVAILABLE: u8 = 3;
/// The named terminal, patron or card does not exist.
pub const NOT_FOUND: u8 = 4;

pub fn code(value: u8) -> ExitCode {
    ExitCode::from(value)
}
