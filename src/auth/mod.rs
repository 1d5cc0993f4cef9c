//! auth: decisions about terminals and patrons.
pub mod hashing;
pub mod password_rules;
pub mod pepper;
pub mod pin_rules;
pub mod pool;
