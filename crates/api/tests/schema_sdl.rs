//! `schema/schema.graphql` is generated from the code; this fails when they drift apart.

#[test]
fn the_checked_in_sdl_matches_the_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema/schema.graphql exists");
    let generated = podledger_api::sdl();
    assert!(
        checked_in == generated,
        "schema/schema.graphql is out of date: run `just schema` (cargo run -p podledger-server -- export-schema > schema/schema.graphql)"
    );
}
