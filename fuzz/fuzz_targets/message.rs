//! Fuzz target: see harness/message.rs for what one input runs and the invariants it checks.
#![no_main]

// Each target uses one module of the harness.
#[allow(dead_code)]
#[path = "../harness/mod.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::message::run(data));
