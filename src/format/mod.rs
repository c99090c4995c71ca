//! Bytes ⇄ structs of the LVM2 on-disk format. No policy lives here: these
//! modules only encode and decode, and report what is wrong with the bytes.

pub mod config;
pub mod crc;
pub mod label;
pub mod layout;
pub mod mda;
pub mod pvck;
