//! podledger binary.
fn main() {}
