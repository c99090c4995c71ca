//! Device-mapper activation of logical volumes.
//!
//! This module holds the pure half: [`table`] turns an LV of a [`Vg`]
//! into the device-mapper devices lvm2 2.03.16 creates for it (names,
//! UUIDs, creation order and tables), and [`status`] parses what
//! `dmsetup status` (the kernel's target status) says about them. The
//! ioctl half: [`dm`] (the devicemapper crate's ioctls and device nodes)
//! and [`live`] (activation, deactivation and live reloads of LVs).
//!
//! [`Vg`]: crate::model::Vg

pub mod dm;
pub mod live;
pub mod status;
pub mod table;

pub use live::{
    activate, active_name, deactivate, dm_raid_status, is_active, lv_info, raid_message,
    raid_status, refresh, reload, ActivateError, Applied, PvDevices,
};
pub use status::{parse_status_line, DmRaidStatus, StatusLine, TargetStatus};
pub use table::{
    dm_name, dm_uuid, lv_devices, lv_tables, ActivationMode, DevNum, DevRef, DeviceSpec, DmTable,
    MapResolver, Param, ReadAhead, Resolver, TableError, TableOptions, Target, TargetSpec,
};
