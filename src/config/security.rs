//! `[security]`: hashing, pepper, lockout, terminal budgets, PIN and password rules, default
//! credentials. Defaults follow `SECURITY.md` §1; every limit is configurable here and only here.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Section;
use super::secret::SecretText;

/// Environment variable holding the active pepper key as 64 hex digits (overrides the file).
pub(crate) const ENV_PEPPER: &str = "SIP2AUTH_PEPPER";
/// Environment variable naming the active pepper key file (overrides `pepper.key_file`).
pub(crate) const ENV_PEPPER_FILE: &str = "SIP2AUTH_PEPPER_FILE";

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    pub hashing: HashingConfig,
    pub pepper: PepperConfig,
    pub lockout: LockoutConfig,
    pub terminal_budget: TerminalBudgetConfig,
    pub pin: PinRulesConfig,
    pub password: PasswordRulesConfig,
    pub default_credential: DefaultCredentialConfig,
}

/// `[security.hashing]`: argon2id parameters and the verification pool.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HashingConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core.
    pub max_concurrent: usize,
    /// Longest wait for a hashing slot before the answer is "busy" (never counted as a failure).
    #[serde(with = "humantime_serde")]
    pub queue_timeout: Duration,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
            queue_timeout: Duration::from_secs(10),
        }
    }
}

/// `[security.pepper]`: the server-side secret key mixed into every hash.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PepperConfig {
    /// File holding the active 32-byte key (raw, or 64 hex digits).
    pub key_file: PathBuf,
    /// Id stored with every hash made with the active key.
    pub key_id: u32,
    /// Older keys still accepted for verification (and re-hashed to the active key on login).
    /// Removing a key here retires it: its hashes then need a reset.
    pub previous_keys: Vec<PreviousKey>,
    /// Set by the CLI from the environment; never read from the file. `Debug` redacts it.
    #[serde(skip)]
    pub key_hex_from_env: Option<SecretText>,
}

impl Default for PepperConfig {
    fn default() -> Self {
        Self {
            key_file: PathBuf::from("pepper.key"),
            key_id: 1,
            previous_keys: Vec::new(),
            key_hex_from_env: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PreviousKey {
    pub id: u32,
    pub file: PathBuf,
}

/// `[security.lockout]`: per-account failure limits (SECURITY.md §1.2).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutConfig {
    /// Consecutive wrong PINs that lock the account temporarily.
    pub pin_temporary_threshold: u32,
    #[serde(with = "humantime_serde")]
    pub pin_temporary_lock: Duration,
    /// Consecutive wrong PINs (across temporary locks) that lock it until a reset.
    pub pin_hard_threshold: u32,
    /// Consecutive wrong online passwords that lock the account.
    pub password_threshold: u32,
    /// First online-password lock; doubles on each further lock up to `password_lock_max`.
    #[serde(with = "humantime_serde")]
    pub password_lock: Duration,
    #[serde(with = "humantime_serde")]
    pub password_lock_max: Duration,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            pin_temporary_threshold: 5,
            pin_temporary_lock: Duration::from_secs(15 * 60),
            pin_hard_threshold: 10,
            password_threshold: 10,
            password_lock: Duration::from_secs(15 * 60),
            password_lock_max: Duration::from_secs(24 * 3600),
        }
    }
}

/// `[security.terminal_budget]`: per-terminal limits against PIN spraying and card enumeration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TerminalBudgetConfig {
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Credential failures in the window that start the response delay (and an alert).
    pub delay_after_failures: u32,
    /// Distinct cards failed in the window that start the response delay (and an alert).
    pub delay_after_distinct_cards: u32,
    #[serde(with = "humantime_serde")]
    pub delay: Duration,
    /// Credential failures in the window that end the session.
    pub end_session_after_failures: u32,
    /// Unknown cards in the window that start throttling (enumeration).
    pub throttle_after_unknown_cards: u32,
}

impl Default for TerminalBudgetConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10 * 60),
            delay_after_failures: 20,
            delay_after_distinct_cards: 10,
            delay: Duration::from_secs(2),
            end_session_after_failures: 50,
            throttle_after_unknown_cards: 50,
        }
    }
}

/// `[security.pin]`: rules applied when a PIN is set or changed (SECURITY.md §1.3).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PinRulesConfig {
    pub min_length: usize,
    pub max_length: usize,
    /// All-same digits and repeated blocks (2222, 1212, 123123).
    pub reject_repeated: bool,
    /// Ascending or descending runs, with wrap-around (1234, 9876, 7890).
    pub reject_sequences: bool,
    /// The most common PINs.
    pub reject_common: bool,
    /// Card digits, phone, birth date and the previous PIN.
    pub reject_personal: bool,
    /// Adds: a digit 3+ times in a row, AABB, years 1900-2039, keypad lines.
    pub strict: bool,
}

impl Default for PinRulesConfig {
    fn default() -> Self {
        Self {
            min_length: 4,
            max_length: 12,
            reject_repeated: true,
            reject_sequences: true,
            reject_common: true,
            reject_personal: true,
            strict: false,
        }
    }
}

/// `[security.password]`: rules for the online password (SECURITY.md §1.4).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordRulesConfig {
    pub min_length: usize,
    /// In characters, checked before hashing.
    pub max_length: usize,
    /// Require upper case, lower case, a digit and a special character.
    pub require_composition: bool,
    /// Refuse common and breached passwords and ones built from the patron's own details.
    pub reject_common: bool,
    /// Lowest accepted zxcvbn strength score (0-4) when `reject_common` is on.
    pub min_strength: u8,
}

impl Default for PasswordRulesConfig {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_composition: true,
            reject_common: true,
            min_strength: 2,
        }
    }
}

/// `[security.default_credential]`: the optional starting PIN taken from the registered phone.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultCredentialConfig {
    /// Give a patron without a PIN the last digits of the registered phone.
    pub enabled: bool,
    pub digits: usize,
    /// A default PIN not changed within this time stops working.
    #[serde(with = "humantime_serde")]
    pub lifetime: Duration,
    /// What a SIP2 terminal is told when a default PIN is used: `accept_with_notice` or `reject`.
    pub sip_policy: DefaultPinSipPolicy,
}

impl Default for DefaultCredentialConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            digits: 4,
            lifetime: Duration::from_secs(14 * 24 * 3600),
            sip_policy: DefaultPinSipPolicy::AcceptWithNotice,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DefaultPinSipPolicy {
    AcceptWithNotice,
    Reject,
}

impl SecurityConfig {
    pub(super) fn apply_env(&mut self, lookup: &impl Fn(&str) -> Option<String>) {
        if let Some(file) = lookup(ENV_PEPPER_FILE).filter(|v| !v.is_empty()) {
            self.pepper.key_file = PathBuf::from(file);
        }
        self.pepper.key_hex_from_env = lookup(ENV_PEPPER)
            .filter(|v| !v.is_empty())
            .map(SecretText::from);
    }

    pub(super) fn validate(&self, at: &mut Section<'_>) {
        let h = &self.hashing;
        let mut hashing = at.at("hashing");
        if h.memory_kib < 8 * h.parallelism.max(1) || h.memory_kib > 4 * 1024 * 1024 {
            hashing.push("memory_kib", "must be between 8*parallelism and 4194304");
        }
        if h.iterations == 0 {
            hashing.push("iterations", "must be at least 1");
        }
        if h.parallelism == 0 || h.parallelism > 64 {
            hashing.push("parallelism", "must be between 1 and 64");
        }
        let mut pepper = at.at("pepper");
        if self.pepper.key_id == 0 {
            pepper.push("key_id", "must be at least 1");
        }
        if self
            .pepper
            .previous_keys
            .iter()
            .any(|k| k.id == self.pepper.key_id)
        {
            pepper.push("previous_keys", "must not repeat the active key_id");
        }
        let l = &self.lockout;
        let mut lockout = at.at("lockout");
        if l.pin_temporary_threshold == 0 {
            lockout.push("pin_temporary_threshold", "must be at least 1");
        }
        if l.pin_hard_threshold < l.pin_temporary_threshold {
            lockout.push(
                "pin_hard_threshold",
                "must be at least pin_temporary_threshold",
            );
        }
        if l.password_threshold == 0 {
            lockout.push("password_threshold", "must be at least 1");
        }
        if l.password_lock_max < l.password_lock {
            lockout.push("password_lock_max", "must be at least password_lock");
        }
        let b = &self.terminal_budget;
        if b.window.is_zero() {
            at.at("terminal_budget")
                .push("window", "must be longer than 0s");
        }
        if b.end_session_after_failures < b.delay_after_failures {
            at.at("terminal_budget").push(
                "end_session_after_failures",
                "must be at least delay_after_failures",
            );
        }
        let p = &self.pin;
        if p.min_length < 4 || p.min_length > p.max_length || p.max_length > 32 {
            at.at("pin").push(
                "min_length",
                "must satisfy 4 <= min_length <= max_length <= 32",
            );
        }
        let w = &self.password;
        if w.min_length < 1 || w.min_length > w.max_length || w.max_length > 1024 {
            at.at("password").push(
                "min_length",
                "must satisfy 1 <= min_length <= max_length <= 1024",
            );
        }
        if w.min_strength > 4 {
            at.at("password")
                .push("min_strength", "must be between 0 and 4");
        }
        let d = &self.default_credential;
        if !(4..=8).contains(&d.digits) {
            at.at("default_credential")
                .push("digits", "must be between 4 and 8");
        }
        if d.enabled && d.digits < p.min_length {
            at.at("default_credential").push(
                "digits",
                "must be at least security.pin.min_length (a default PIN is a PIN)",
            );
        }
        if d.lifetime.is_zero() {
            at.at("default_credential")
                .push("lifetime", "must be longer than 0s");
        }
    }
}
