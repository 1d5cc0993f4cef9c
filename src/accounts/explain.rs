//! `explain`: what a terminal would be told about a card, and why — status, lost card, expiry,
//! fines, PIN on file and its flags, lock state, and the terminal's own settings — without
//! verifying a PIN and without showing any secret or hash.
//!
//! Reads stored facts only (no hashing, no counter changes). The standing rules and the lock
//! policy come from `auth`, so `explain` and the SIP2 answer cannot disagree. Uses `auth`,
//! `store`, `config`, `clock`; must not import `sip2` or `cli`.

use chrono::{DateTime, Utc};

use super::patron::CardRef;
use super::{Accounts, Error};
use crate::auth::{pin_lock_policy, CredentialVerdict, Standing};
use crate::auth::{PatronCredential, Terminal};
use crate::store::{AttemptSlot, Money, PatronRecord, PatronStatus};

/// The answer of `explain`: a verdict and the facts behind it, each as a labelled sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Is the card on file at all (a lost card, answered BL=N by some settings, still is)?
    pub card_on_file: bool,
    /// Would the card be recognised (SIP2 BL=Y)?
    pub valid_patron: bool,
    /// Would a correct PIN (or, at a password terminal, password) be accepted (SIP2 CQ=Y)?
    pub pin_would_verify: bool,
    /// What the terminal checks: "PIN", or "password" at a terminal that takes the password.
    pub credential: &'static str,
    /// One sentence: what the terminal is told.
    pub verdict: String,
    /// Labelled facts, in display order.
    pub facts: Vec<(&'static str, String)>,
}

impl Accounts {
    /// Explains the answer for `at`, optionally as seen by the terminal `terminal_login`.
    pub async fn explain(
        &self,
        at: &CardRef,
        terminal_login: Option<&str>,
    ) -> Result<Explanation, Error> {
        let terminal = match terminal_login {
            Some(login) => Some(self.terminal(login).await?),
            None => None,
        };
        let institution = terminal
            .as_ref()
            .map_or(at.institution.clone(), |t| t.settings.institution.clone());
        let record = self.store.find_by_card(&institution, &at.card).await?;
        let now = self.clock.now();
        Ok(match record {
            None => Explanation {
                card_on_file: false,
                valid_patron: false,
                pin_would_verify: false,
                credential: credential_noun(terminal.as_ref()),
                verdict: format!(
                    "unknown card at institution {institution}: the terminal is told the patron is not valid (BL=N, CQ=N)"
                ),
                facts: terminal.map(|t| vec![("terminal", describe_terminal(&t))]).unwrap_or_default(),
            },
            Some(record) => self.explain_record(&record, terminal.as_ref(), now),
        })
    }

    fn explain_record(
        &self,
        record: &PatronRecord,
        terminal: Option<&Terminal>,
        now: DateTime<Utc>,
    ) -> Explanation {
        let patron = &record.patron;
        let security = &self.config.security;
        // The same rules the SIP2 answer applies; this function only words them.
        let standing = Standing::of(record, now);
        let mut facts: Vec<(&'static str, String)> = Vec::new();
        let mut refusals: Vec<String> = Vec::new();
        facts.push((
            "patron",
            format!(
                "{} (institution {})",
                patron.details.name.display, patron.institution
            ),
        ));
        if let Some(t) = terminal {
            facts.push(("terminal", describe_terminal(t)));
            if !t.settings.enabled {
                refusals.push(format!(
                    "terminal {} is disabled: it cannot log in",
                    t.login_id
                ));
            }
        }
        let lost_as_unknown = self.config.server.lost_card_as_unknown;
        let card_lost = standing.card_lost;
        let status = match &patron.status {
            PatronStatus::Active => "active".to_string(),
            PatronStatus::Blocked { reason } => format!("blocked: {reason}"),
            PatronStatus::CardLost => "card reported lost (patron level)".to_string(),
        };
        facts.push(("status", status));
        if record.card.lost {
            let when = record
                .card
                .lost_at
                .map(|t| format!(" on {}", t.format("%Y-%m-%d")))
                .unwrap_or_default();
            facts.push(("card", format!("this card was marked lost{when}")));
        }
        let valid_patron = !(card_lost && lost_as_unknown);
        if card_lost {
            refusals.push(if lost_as_unknown {
                "the card is lost and server.lost_card_as_unknown is on: answered as an unknown card".into()
            } else {
                "the card is lost: the patron status says so (card reported lost)".into()
            });
        }
        if let Some(reason) = &standing.blocked {
            refusals.push(format!("the patron is blocked ({reason})"));
        }
        let d = &patron.details;
        match d.expires_on {
            Some(day) if standing.expired => {
                facts.push(("expiry", format!("registration expired on {day}")));
                refusals.push(format!("registration expired on {day}"));
            }
            Some(day) => facts.push(("expiry", format!("registration valid until {day}"))),
            None => facts.push(("expiry", "no expiry date".into())),
        }
        let money = |minor: i64| format!("{} {}", Money::from_minor(minor), d.currency);
        let fines = match d.fee_limit_minor {
            Some(limit) if standing.fines_over_limit => {
                refusals.push("fines are over the limit".into());
                format!(
                    "owes {} (over the limit of {})",
                    money(d.fines_owed_minor),
                    money(limit)
                )
            }
            Some(limit) => format!(
                "owes {} (limit {})",
                money(d.fines_owed_minor),
                money(limit)
            ),
            None => format!("owes {} (no limit)", money(d.fines_owed_minor)),
        };
        facts.push(("fines", fines));
        let mut pin_ok = true;
        let pin = match &patron.pin {
            None => {
                pin_ok = false;
                "no PIN on file: every PIN check is answered CQ=N".to_string()
            }
            Some(pin) if !self.credentials.has_key(pin.key_id) => {
                pin_ok = false;
                format!(
                    "PIN hashed with pepper key {} which is not configured: the PIN must be reset",
                    pin.key_id
                )
            }
            Some(pin) => match (pin.must_change, pin.default_expires_at) {
                (_, Some(expires)) if expires <= now => {
                    pin_ok = false;
                    format!(
                        "one-time/default PIN expired on {}: it must be reset",
                        expires.format("%Y-%m-%d %H:%M UTC")
                    )
                }
                // A correct default PIN is the verdict the server weighs against its policy.
                (_, Some(expires)) => {
                    let policy = security.default_credential.sip_policy;
                    if !CredentialVerdict::DefaultToChange.is_accepted(policy) {
                        pin_ok = false;
                    }
                    format!(
                        "one-time/default PIN, must be changed, valid until {} (terminal policy: {:?})",
                        expires.format("%Y-%m-%d %H:%M UTC"),
                        policy
                    )
                }
                (true, None) => "PIN set, must be changed at the next web login".into(),
                (false, _) => "PIN set".into(),
            },
        };
        facts.push(("pin", pin));
        let lock = match pin_lock_policy(&security.lockout).refusal(&patron.pin_lock, now) {
            Some(AttemptSlot::HardLocked) => {
                pin_ok = false;
                format!(
                    "hard-locked after {} consecutive wrong PINs: refused even with the right PIN until `patron unlock` or a reset",
                    patron.pin_lock.failures
                )
            }
            Some(AttemptSlot::LockedUntil(until)) => {
                pin_ok = false;
                format!(
                    "temporarily locked until {}: refused even with the right PIN",
                    until.format("%Y-%m-%d %H:%M UTC")
                )
            }
            _ => format!(
                "not locked ({} consecutive wrong PIN(s) so far)",
                patron.pin_lock.failures
            ),
        };
        facts.push(("lock", lock));
        let credential = credential_noun(terminal);
        if credential == PASSWORD {
            facts.push((
                "credential",
                "this terminal checks the online password, not the PIN".into(),
            ));
            // The PIN and its lock play no part: what counts is the password on file.
            pin_ok = match &patron.password {
                None => {
                    facts.push((
                        "password",
                        "no online password on file: every password check is answered CQ=N".into(),
                    ));
                    false
                }
                Some(password) if !self.credentials.has_key(password.key_id) => {
                    facts.push((
                        "password",
                        format!(
                            "password hashed with pepper key {} which is not configured: it must be set again",
                            password.key_id
                        ),
                    ));
                    false
                }
                Some(_) => {
                    facts.push(("password", "online password set".into()));
                    true
                }
            };
        }
        let terminal_ok = terminal.is_none_or(|t| t.settings.enabled);
        let pin_would_verify = valid_patron && pin_ok && terminal_ok;
        let verdict = match (valid_patron, pin_would_verify) {
            (false, _) => "the terminal is told the card is unknown (BL=N, CQ=N)".to_string(),
            (true, true) if refusals.is_empty() => format!(
                "valid patron in good standing: a correct {credential} is accepted (BL=Y, CQ=Y)"
            ),
            (true, true) => format!(
                "valid patron; a correct {credential} is accepted (CQ=Y) but services are refused: {}",
                refusals.join("; ")
            ),
            (true, false) => format!(
                "the {credential} check is refused (CQ=N) whatever {credential} is typed; see the facts below{}",
                if refusals.is_empty() {
                    String::new()
                } else {
                    format!("; also: {}", refusals.join("; "))
                }
            ),
        };
        Explanation {
            card_on_file: true,
            valid_patron,
            pin_would_verify,
            credential,
            verdict,
            facts,
        }
    }
}

const PASSWORD: &str = "password";

/// What `terminal` checks: the online password at a password terminal, else the PIN.
fn credential_noun(terminal: Option<&Terminal>) -> &'static str {
    match terminal {
        Some(t) if t.settings.patron_credential == PatronCredential::Password => PASSWORD,
        _ => "PIN",
    }
}

fn describe_terminal(t: &Terminal) -> String {
    let s = &t.settings;
    format!(
        "{} (institution {}, {}, credential {}, detail {})",
        t.login_id,
        s.institution,
        if s.enabled { "enabled" } else { "disabled" },
        s.patron_credential,
        s.patron_detail
    )
}
