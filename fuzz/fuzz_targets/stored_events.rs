//! Stored events through the decoder, the upcasters, a round trip and a fold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    podledger_domain::fuzzing::stored_events(data);
});
