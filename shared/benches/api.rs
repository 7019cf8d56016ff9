//! API latency benchmark (being built).
fn main() {}
