//! Generated location tables (tests/oracle/gen_compliance_tables.py); do not edit by hand.

#[rustfmt::skip]
pub(crate) mod area_states;
#[rustfmt::skip]
pub(crate) mod prefix_zones;
#[rustfmt::skip]
pub(crate) mod zip_table;
