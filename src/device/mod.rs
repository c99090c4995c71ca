//! The device edge: opening block devices and image files, listing and
//! filtering the devices to scan, and reading one device into a
//! [`scan::ScannedPv`].

pub mod io;
pub mod list;
pub mod scan;

pub use io::{BlockIo, Device, DeviceError};
