//! The LVM metadata model: volume groups, physical volumes, logical volumes
//! and their segments, converted to and from the config tree
//! (`crate::format::config`).
//!
//! Everything lvm2 writes and this project does not interpret is kept
//! verbatim in `extra` fields (unknown keys) or as [`SegType::Unknown`]
//! segments, so that rewriting a VG never loses anything.

use crate::format::config::{Node, Section, Value};

/// Sector size used by every size field in LVM metadata.
pub const SECTOR: u64 = 512;

#[derive(Debug, Clone, PartialEq)]
pub struct Vg {
    pub name: String,
    /// Formatted as lvm2 prints it: `xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx`.
    pub id: String,
    pub seqno: u64,
    /// `format = "lvm2"` (informational).
    pub format: Option<String>,
    /// e.g. `["RESIZEABLE", "READ", "WRITE"]`, kept in order.
    pub status: Vec<String>,
    pub flags: Vec<String>,
    pub tags: Vec<String>,
    pub system_id: Option<String>,
    /// In sectors.
    pub extent_size: u64,
    pub max_lv: u64,
    pub max_pv: u64,
    pub metadata_copies: u64,
    pub pvs: Vec<Pv>,
    pub lvs: Vec<Lv>,
    /// `historical_logical_volumes { ... }`, kept verbatim.
    pub historical_lvs: Option<Section>,
    /// Keys of the VG section this model does not interpret, in order.
    pub extra: Vec<(String, Node)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pv {
    /// The key of the PV in the metadata (`pv0`, `pv1`, ...).
    pub key: String,
    pub id: String,
    /// `device = "/dev/sdb"  # Hint only`
    pub device: Option<String>,
    pub status: Vec<String>,
    pub flags: Vec<String>,
    pub tags: Vec<String>,
    /// In sectors.
    pub dev_size: u64,
    /// In sectors.
    pub pe_start: u64,
    pub pe_count: u64,
    /// Bootloader area, in sectors (`ba_start`, `ba_size`), when present.
    pub ba_start: Option<u64>,
    pub ba_size: Option<u64>,
    pub extra: Vec<(String, Node)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lv {
    pub name: String,
    pub id: String,
    /// e.g. `["READ", "WRITE", "VISIBLE"]`.
    pub status: Vec<String>,
    pub flags: Vec<String>,
    pub tags: Vec<String>,
    pub creation_time: Option<i64>,
    pub creation_host: Option<String>,
    pub allocation_policy: Option<String>,
    pub read_ahead: Option<i64>,
    pub segments: Vec<Segment>,
    pub extra: Vec<(String, Node)>,
}

/// Where one stripe/area of a segment lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// `"pv0", 12` in `stripes = [...]`: PV key and first physical extent.
    Pv { pv: String, pe: u64 },
    /// `"lv_rimage_0", 0` in `stripes`/`mirrors`: an LV and first logical extent.
    Lv { lv: String, le: u64 },
}

/// RAID segment types (lvm2's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RaidType {
    Raid0,
    Raid0Meta,
    Raid1,
    Raid4,
    Raid5N,
    Raid5La,
    Raid5Ra,
    Raid5Ls,
    Raid5Rs,
    Raid6Zr,
    Raid6Nr,
    Raid6Nc,
    Raid6N6,
    Raid6La6,
    Raid6Ra6,
    Raid6Ls6,
    Raid6Rs6,
    Raid10,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SegType {
    /// `type = "striped"`; `stripe_count = 1` is what lvm2 reports as linear.
    Striped,
    Raid(RaidType),
    /// Any segment type this project does not model (thin, cache, vdo,
    /// mirror, snapshot, ...): the segment section is kept verbatim in
    /// [`Segment::extra`] (every key except start_extent/extent_count/type).
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_extent: u64,
    pub extent_count: u64,
    pub segtype: SegType,
    pub tags: Vec<String>,
    /// For striped: `stripes = [...]`. For raid: unused (see `raid`).
    pub areas: Vec<Area>,
    /// `stripe_size` in sectors (striped, raid0*, raid4/5/6/10).
    pub stripe_size: Option<u64>,
    /// RAID-specific fields, present when `segtype` is `Raid`.
    pub raid: Option<RaidSeg>,
    /// Keys this model does not interpret, kept in order.
    pub extra: Vec<(String, Node)>,
}

/// The RAID fields of a segment, named as lvm2 writes them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RaidSeg {
    /// rmeta sub-LV per slot (`None` = unassigned slot / no meta for raid0).
    pub meta: Vec<Option<String>>,
    /// rimage sub-LV per slot (`None` = unassigned slot).
    pub images: Vec<Option<String>>,
    /// `device_count` (raid1/4/5/6/10), or `stripe_count` for raid0/raid0_meta.
    pub device_count: u64,
    /// In sectors.
    pub region_size: Option<u64>,
    pub data_copies: Option<u64>,
    pub writebehind: Option<u64>,
    pub min_recovery_rate: Option<u64>,
    pub max_recovery_rate: Option<u64>,
    pub data_offset: Option<u64>,
    pub reshape_count: Option<u64>,
}

/// Verbatim unknown keys are written back in the order they were read, so a
/// helper to look one up is handy for code that wants to peek.
pub fn extra_get<'a>(extra: &'a [(String, Node)], key: &str) -> Option<&'a Value> {
    extra.iter().find_map(|(k, n)| match n {
        Node::Value(v) if k == key => Some(v),
        _ => None,
    })
}
