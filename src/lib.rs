//! lvmetad: an LVM2-compatible metadata cache daemon and LVM RAID tools.
//!
//! The crate is split into a pure core (format, model, report) that works on
//! values only, and thin edges (device, commit, cli) that touch disks,
//! sockets and the terminal. See DESIGN.md in the repository for the map.

pub mod commit;
pub mod config;
pub mod daemon;
pub mod device;
pub mod format;
pub mod model;
pub mod protocol;
pub mod raid;
pub mod report;
pub mod units;
pub mod uuid;

pub mod activate;
pub mod alloc;
pub mod cache;
pub mod cli;
pub mod client;
