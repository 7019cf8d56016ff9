//! The sheet worker for the integration tests (`contacts_parser::worker`): the hosts
//! re-execute themselves, a test binary cannot, so the tests register this one.

fn main() {
    contacts_parser::worker::serve()
}
