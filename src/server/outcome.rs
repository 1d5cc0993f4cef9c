//! How a request went, as the request log line names it (`outcome=...`): one enum with a stable
//! text form, so log queries and dashboards can rely on the names.
//!
//! Owns: `Outcome` and its text. A plain value: must not import `sip2`, `auth` or the network.

macro_rules! outcomes {
    ($( $(#[$meta:meta])* $variant:ident = $text:literal, )*) => {
        /// The outcome of one request.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Outcome {
            $( $(#[$meta])* $variant, )*
        }

        impl Outcome {
            #[cfg(test)]
            const ALL: &'static [Outcome] = &[$(Outcome::$variant),*];

            /// The stable text form, as logged.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $( Outcome::$variant => $text, )*
                }
            }
        }
    };
}

outcomes! {
    // Session control and framing.
    /// 97 answered with the last response.
    Resent = "resent",
    /// 97 before any response: answered 96.
    NothingToResend = "nothing_to_resend",
    /// The same AY and AZ as the previous request: the last response again.
    DuplicateResent = "duplicate_resent",
    UnknownCommandIgnored = "unknown_command_ignored",
    UnknownCommand = "unknown_command",
    BadChecksum = "bad_checksum",
    Malformed = "malformed",
    TrailerRequired = "trailer_required",
    RefusedBeforeLogin = "refused_before_login",
    // 93.
    LoginAccepted = "login_accepted",
    LoginRefused = "login_refused",
    LoginBusy = "login_busy",
    LoginUnavailable = "login_unavailable",
    LoginPenalised = "login_penalised",
    // 99.
    Online = "online",
    Offline = "offline",
    // 23 and 63.
    Valid = "valid",
    ValidDefaultPin = "valid_default_pin",
    DefaultPinRefused = "default_pin_refused",
    NoCredential = "no_credential",
    EmptyCredential = "empty_credential",
    WrongCredential = "wrong_credential",
    NoCredentialOnFile = "no_credential_on_file",
    Locked = "locked",
    ResetRequired = "reset_required",
    DefaultPinExpired = "default_pin_expired",
    Busy = "busy",
    CredentialRequired = "credential_required",
    UnknownCard = "unknown_card",
    CardLostAsUnknown = "card_lost_as_unknown",
    /// A terminal in deny mode refused a restricted patron (CQ=N).
    RestrictionDenied = "restriction_denied",
    Unavailable = "unavailable",
    // 35, 01 and refusals.
    SessionEnded = "session_ended",
    PatronBlocked = "patron_blocked",
    /// A message this server does not perform (circulation).
    Refused = "refused",
    /// A message this terminal's allowed list leaves out.
    NotAllowed = "not_allowed",
    // The relay.
    /// Forwarded to the upstream ILS and its answer sent back.
    Relayed = "relayed",
    /// The upstream ILS did not answer in time (down, slow, refusing the relay's login).
    UpstreamUnavailable = "upstream_unavailable",
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_snake_case_name() {
        let mut names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Outcome::ALL.len());
    }
}
