//! Fuzz target: see harness/message.rs for what one input runs and the invariants it checks.
#![no_main]

#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::message::run(data));
