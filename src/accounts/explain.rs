//! `explain`: what a terminal would be told about a card, and why — status, lost card, expiry,
//! fines, PIN on file and its flags, lock state, and the terminal's own settings — without
//! verifying a PIN and without showing any secret or hash.
//!
//! Reads stored facts only (no hashing, no counter changes). The standing rules and the lock
//! policy come from `auth`, and what the terminal is told (BL, CQ, status flags, AF) is
//! `auth::Telling`, the function the SIP2 answer runs, over the verdict a check would reach
//! (`auth::foreseen_verdict`), so `explain` and the SIP2 answer cannot disagree. Uses `auth`,
//! `store`, `config`, `clock`; must not import `sip2` or `cli`.

use chrono::{DateTime, Utc};

use super::patron::CardRef;
use super::{Accounts, Error};
use crate::auth::legacy::LEGACY_KEY_ID;
use crate::auth::{
    foreseen_verdict, password_lock_policy, pin_lock_policy, Case, CredentialVerdict,
    DetailWithoutPin, PatronCredential, PatronDecision, PatronDetail, PatronView, RestrictedAnswer,
    RestrictionTelling, Restrictions, Standing, Telling, Terminal, TerminalBudget, Told, Typed,
};
use crate::store::{AttemptSlot, Money, Patron, PatronRecord, PatronStatus};

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
    /// What the terminal is told for each credential it takes, typed correctly and wrongly (the
    /// first: its own credential, correct), as the SIP2 answer decides it.
    pub answers: Vec<Foreseen>,
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
                answers: self.foresee(None, terminal.as_ref(), now),
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
        let pin = match &patron.pin {
            None => "no PIN on file: every PIN check is answered CQ=N".to_string(),
            Some(pin) if pin.key_id == LEGACY_KEY_ID => {
                "a legacy ILS hash (no pepper): checked as the ILS did, and re-hashed with \
                 argon2id and the pepper at the first successful check"
                    .to_string()
            }
            Some(pin) if !self.credentials.can_verify(pin.key_id) => {
                format!(
                    "PIN hashed with pepper key {} which is not configured: the PIN must be reset",
                    pin.key_id
                )
            }
            Some(pin) => match (pin.must_change, pin.default_expires_at) {
                (_, Some(expires)) if expires <= now => {
                    format!(
                        "one-time/default PIN expired on {}: it must be reset",
                        expires.format("%Y-%m-%d %H:%M UTC")
                    )
                }
                // A correct default PIN is the verdict the server weighs against its policy.
                (_, Some(expires)) => {
                    let policy = security.default_credential.sip_policy;
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
                format!(
                    "hard-locked after {} consecutive wrong PINs: refused even with the right PIN until `patron unlock` or a reset",
                    patron.pin_lock.failures
                )
            }
            Some(AttemptSlot::LockedUntil(until)) => {
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
        match terminal.map(|t| t.settings.patron_credential) {
            Some(PatronCredential::Password) => facts.push((
                "credential",
                "this terminal checks the online password, not the PIN".into(),
            )),
            Some(PatronCredential::Either) => facts.push((
                "credential",
                "this terminal takes the PIN (digits) or the online password".into(),
            )),
            _ => {}
        }
        if credential_kind(terminal) != PatronCredential::Pin {
            facts.push(("password", self.describe_password(patron, now)));
        }
        let answers = self.foresee(Some(record), terminal, now);
        let terminal_ok = terminal.is_none_or(|t| t.settings.enabled);
        let valid_patron = answers[0].told.valid_patron;
        let pin_would_verify = terminal_ok && answers[0].told.valid_credential == Some(true);
        let verdict = match (valid_patron, pin_would_verify) {
            (false, _) => "the terminal is told the card is unknown (BL=N, CQ=N)".to_string(),
            (true, true) if refusals.is_empty() => format!(
                "valid patron in good standing: a correct {credential} is accepted (BL=Y, CQ=Y)"
            ),
            (true, true) => format!(
                "valid patron; a correct {credential} is accepted (CQ=Y) but services are refused: {}",
                refusals.join("; ")
            ),
            (true, false) if matches!(answers[0].told.case, Case::Denied(_)) => format!(
                "valid patron, refused by the terminal's deny mode: a correct {credential} is \
                 verified (and counted) but answered CQ=N because {}",
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
            answers,
        }
    }

    /// What the terminal is told when the patron types each credential it takes, correct and
    /// wrong: the verdict a check would reach, through the rules the SIP2 answer applies. The
    /// first is the terminal's own credential, typed correctly.
    fn foresee(
        &self,
        record: Option<&PatronRecord>,
        terminal: Option<&Terminal>,
        now: DateTime<Utc>,
    ) -> Vec<Foreseen> {
        let config = &self.config;
        let kind = credential_kind(terminal);
        let flags_only = Restrictions::default();
        let telling = Telling {
            messages: &config.messages,
            credential: kind,
            detail: terminal.map_or(PatronDetail::Full, |t| t.settings.patron_detail),
            detail_without_pin: terminal
                .map_or(DetailWithoutPin::Minimal, |t| t.settings.detail_without_pin),
            restrictions: terminal.map_or(
                RestrictionTelling {
                    answer: RestrictedAnswer::Flags,
                    denied: &flags_only,
                },
                |t| RestrictionTelling {
                    answer: t.settings.restricted,
                    denied: &t.settings.denied_restrictions,
                },
            ),
            default_pin: config.security.default_credential.sip_policy,
            lost_card_as_unknown: config.server.lost_card_as_unknown,
            // A credential is always typed here.
            credential_required: true,
        };
        let pin = [true, false].map(|correct| Typed::Pin { correct });
        let password = [true, false].map(|correct| Typed::Password { correct });
        let typed: Vec<Typed> = match kind {
            PatronCredential::Pin => pin.to_vec(),
            PatronCredential::Password => password.to_vec(),
            PatronCredential::Either => pin.into_iter().chain(password).collect(),
        };
        let mut answers = Vec::new();
        for typed in typed {
            let credential = record.map_or(CredentialVerdict::WrongCredential, |r| {
                let known = |key| self.credentials.can_verify(key);
                foreseen_verdict(kind, r, typed, known, &config.security.lockout, now)
            });
            let decision = PatronDecision {
                patron: record.map(PatronView::of),
                credential,
                standing: record.map(|r| Standing::of(r, now)).unwrap_or_default(),
                budget: TerminalBudget::default(),
            };
            answers.push(Foreseen {
                typed,
                told: telling.told(&decision),
            });
        }
        answers
    }

    /// The online password on file, its key and its lock.
    fn describe_password(&self, patron: &Patron, now: DateTime<Utc>) -> String {
        let Some(password) = &patron.password else {
            return "no online password on file: every password check is answered CQ=N".into();
        };
        if !self.credentials.can_verify(password.key_id) {
            return format!(
                "password hashed with pepper key {} which is not configured: it must be set again",
                password.key_id
            );
        }
        let lockout = &self.config.security.lockout;
        match password_lock_policy(lockout).refusal(&patron.password_lock, now) {
            Some(AttemptSlot::LockedUntil(until)) => format!(
                "online password set, temporarily locked until {}: refused even when correct",
                until.format("%Y-%m-%d %H:%M UTC")
            ),
            _ => "online password set".into(),
        }
    }
}

/// What the terminal is told when the patron types `typed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreseen {
    pub typed: Typed,
    pub told: Told,
}

/// The credential `terminal` checks (the PIN when no terminal is named).
fn credential_kind(terminal: Option<&Terminal>) -> PatronCredential {
    terminal.map_or(PatronCredential::Pin, |t| t.settings.patron_credential)
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
    let restricted = match s.restricted {
        RestrictedAnswer::Flags => "restrictions as status flags".to_string(),
        RestrictedAnswer::Deny => format!(
            "deny mode: CQ=N for {}",
            Some(s.denied_restrictions.to_string())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "nothing".into())
        ),
    };
    format!(
        "{} (institution {}, {}, credential {}, detail {}, {restricted}, detail without PIN {})",
        t.login_id,
        s.institution,
        if s.enabled { "enabled" } else { "disabled" },
        s.patron_credential,
        s.patron_detail,
        s.detail_without_pin
    )
}
