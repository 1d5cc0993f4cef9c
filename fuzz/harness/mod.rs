//! What each fuzz target runs on one input, shared by the targets (fuzz_targets/, nightly) and by
//! the test suite, which replays the committed corpus through the same functions on stable
//! (tests/it/fuzz_corpus.rs). Each function panics on a broken invariant; libFuzzer reports a
//! panic as a crash.
//!
//! - [`frame`]: the frame decoder over the input cut into arbitrary reads.
//! - [`message`]: the request and response parsers (view and owned) and the re-encoding.
//! - [`session`]: a whole session over an in-memory duplex against a real store.

pub mod frame;
pub mod message;
pub mod session;
