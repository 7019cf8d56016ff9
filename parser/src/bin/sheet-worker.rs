//! A sheet worker on its own (`contacts_parser::worker`): reads one spreadsheet from stdin,
//! the kind from `CONTACTS_PARSER_SHEET_WORKER`, and answers on stdout. The hosts (API,
//! ingest, `campaigns dev`) re-execute themselves instead; this binary serves the tests.

fn main() {
    contacts_parser::worker::serve()
}
