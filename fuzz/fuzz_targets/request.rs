//! A request's text and variables, up to validation against the real schema.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    podledger_api::fuzzing::request(data);
});
