//! The entry point `cargo fuzz` drives for stored events (`fuzz/fuzz_targets/stored_events.rs`),
//! and that the tests replay its seeds and every crash it found through.

use crate::command::{State, evolve};
use crate::event::Event;

/// Reads `data` as stored events — records separated by `0x1E`, each `stream`, `type`,
/// `version` and the JSON payload on four lines — through the decoder and its upcasters, and
/// folds every event that decodes into one state, in order. Returns how many it folded.
///
/// # Panics
///
/// When an event that decoded does not decode again to itself after encoding, or when a fold
/// panics (both are bugs: any stored event must survive a round trip, and any order of events
/// must fold).
pub fn stored_events(data: &[u8]) -> usize {
    let Ok(text) = std::str::from_utf8(data) else {
        return 0;
    };
    let mut state = State::default();
    let mut folded = 0;
    for record in text.split('\u{1e}').take(256) {
        let mut lines = record.splitn(4, '\n');
        let (Some(stream), Some(event_type), Some(version), Some(payload)) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            continue;
        };
        let Ok(version) = version.trim().parse::<u32>() else {
            continue;
        };
        let Ok(event) = Event::decode_str(stream, event_type, version, payload) else {
            continue;
        };
        let encoded = event.encode();
        let again = Event::decode(
            stream,
            &encoded.event_type,
            encoded.schema_version,
            encoded.payload,
        )
        .expect("an event this build encoded decodes");
        assert_eq!(again, event, "a stored event survives a round trip");
        evolve(&mut state, &event);
        folded += 1;
    }
    folded
}

#[cfg(test)]
mod tests {
    /// Every seed of the fuzz target and every input it ever crashed on (`fuzz/regressions`),
    /// replayed on every test run.
    fn inputs() -> Vec<(String, Vec<u8>)> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
        let mut inputs = Vec::new();
        for dir in ["seeds/stored_events", "regressions/stored_events"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                inputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
        inputs
    }

    #[test]
    fn given_the_fuzz_seeds_and_regressions_when_replayed_then_each_decodes_round_trips_and_folds()
    {
        let inputs = inputs();
        assert!(inputs.len() >= 5, "the seeds are there");
        for (name, data) in &inputs {
            let folded = super::stored_events(data);
            let expected = match name.rsplit('/').next().unwrap() {
                "demo-like-history" => Some(11),
                "item-created-v1" => Some(1),
                "out-of-order" => Some(3),
                "future-version" | "unknown-stream" => Some(0),
                _ => None,
            };
            if let Some(expected) = expected {
                assert_eq!(folded, expected, "{name}");
            }
        }
    }
}
