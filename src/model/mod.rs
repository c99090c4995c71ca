//! The LVM metadata model: volume groups, physical volumes, logical volumes
//! and their segments, converted to and from the config tree
//! (`crate::format::config`).
//!
//! Everything lvm2 writes and this project does not interpret is kept
//! verbatim in `extra` fields (unknown keys) or as [`SegType::Unknown`]
//! segments, so that rewriting a VG never loses anything.

use crate::format::config::{ConfigError, Node, Section, Value};

pub mod extents;
pub mod flags;
pub mod text;
pub mod validate;

pub use extents::ExtentUse;
pub use text::{parse_vg_text, vg_to_disk_text, vg_to_text, TextHeader, TextStyle};
pub use validate::{validate, ValidationError};

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
    /// e.g. `["READ", "WRITE", "VISIBLE"]`. Also holds the segment-type
    /// flags lvm2 writes as a suffix of every segment's type
    /// (`type = "raid5_ls+RESHAPE"` gives `RESHAPE` here, after the others);
    /// the printer puts each word back where it belongs.
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
///
/// `Raid5` and `Raid6` are lvm2's own segment types `"raid5"` and
/// `"raid6"`: what `lvcreate --type raid5/raid6` stores. They have the
/// layout of `raid5_ls` and `raid6_zr` ([`RaidType::canonical`]) but are
/// written under their short names, so they are kept apart to round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RaidType {
    Raid0,
    Raid0Meta,
    Raid1,
    Raid4,
    Raid5,
    Raid5N,
    Raid5La,
    Raid5Ra,
    Raid5Ls,
    Raid5Rs,
    Raid6,
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
    /// [`Segment::extra`] (every key except start_extent/extent_count/type,
    /// and tags, which go to [`Segment::tags`] as for every type).
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

// ---------------------------------------------------------------------------
// Errors

/// Why metadata text or a config tree could not be turned into a [`Vg`].
/// `at` is the path of the object in the metadata, e.g.
/// `vg0/logical_volumes/lv0/segment1`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("metadata syntax error: {0}")]
    Syntax(#[from] ConfigError),
    /// Not VG metadata at all (no VG section, wrong `contents`/`version`).
    #[error("not LVM2 text metadata: {0}")]
    Format(String),
    #[error("{at}: missing '{key}'")]
    Missing { at: String, key: String },
    #[error("{at}: '{key}' must be {expected}")]
    BadValue {
        at: String,
        key: String,
        expected: &'static str,
    },
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

// ---------------------------------------------------------------------------
// RAID types

impl RaidType {
    /// Every RAID type, in lvm2's segtype table order.
    pub const ALL: [RaidType; 20] = [
        RaidType::Raid0,
        RaidType::Raid0Meta,
        RaidType::Raid1,
        RaidType::Raid10,
        RaidType::Raid4,
        RaidType::Raid5,
        RaidType::Raid5N,
        RaidType::Raid5La,
        RaidType::Raid5Ls,
        RaidType::Raid5Ra,
        RaidType::Raid5Rs,
        RaidType::Raid6,
        RaidType::Raid6N6,
        RaidType::Raid6Nc,
        RaidType::Raid6Nr,
        RaidType::Raid6Zr,
        RaidType::Raid6Ls6,
        RaidType::Raid6Rs6,
        RaidType::Raid6La6,
        RaidType::Raid6Ra6,
    ];

    /// The segment type name lvm2 writes (`type = "raid5_ls"`).
    pub fn name(self) -> &'static str {
        match self {
            RaidType::Raid0 => "raid0",
            RaidType::Raid0Meta => "raid0_meta",
            RaidType::Raid1 => "raid1",
            RaidType::Raid4 => "raid4",
            RaidType::Raid5 => "raid5",
            RaidType::Raid5N => "raid5_n",
            RaidType::Raid5La => "raid5_la",
            RaidType::Raid5Ra => "raid5_ra",
            RaidType::Raid5Ls => "raid5_ls",
            RaidType::Raid5Rs => "raid5_rs",
            RaidType::Raid6 => "raid6",
            RaidType::Raid6Zr => "raid6_zr",
            RaidType::Raid6Nr => "raid6_nr",
            RaidType::Raid6Nc => "raid6_nc",
            RaidType::Raid6N6 => "raid6_n_6",
            RaidType::Raid6La6 => "raid6_la_6",
            RaidType::Raid6Ra6 => "raid6_ra_6",
            RaidType::Raid6Ls6 => "raid6_ls_6",
            RaidType::Raid6Rs6 => "raid6_rs_6",
            RaidType::Raid10 => "raid10",
        }
    }

    pub fn from_name(name: &str) -> Option<RaidType> {
        RaidType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The explicit layout an alias stands for: `raid5` is `raid5_ls`,
    /// `raid6` is `raid6_zr` (lvm2's `SEG_RAID5 = SEG_RAID5_LS`,
    /// `SEG_RAID6 = SEG_RAID6_ZR`). This is also the dm-raid target's name
    /// for the layout.
    pub fn canonical(self) -> RaidType {
        match self {
            RaidType::Raid5 => RaidType::Raid5Ls,
            RaidType::Raid6 => RaidType::Raid6Zr,
            t => t,
        }
    }

    /// Number of parity devices per stripe (lvm2's `parity_devs`).
    pub fn parity_devs(self) -> u64 {
        if self.is_raid6() {
            2
        } else if self.is_raid4() || self.is_raid5() {
            1
        } else {
            0
        }
    }

    /// raid0 or raid0_meta (lvm2's `seg_is_any_raid0`).
    pub fn is_any_raid0(self) -> bool {
        matches!(self, RaidType::Raid0 | RaidType::Raid0Meta)
    }

    pub fn is_raid1(self) -> bool {
        self == RaidType::Raid1
    }

    pub fn is_raid4(self) -> bool {
        self == RaidType::Raid4
    }

    /// Any raid5 layout (raid4 is not included, as in lvm2).
    pub fn is_raid5(self) -> bool {
        matches!(
            self,
            RaidType::Raid5
                | RaidType::Raid5N
                | RaidType::Raid5La
                | RaidType::Raid5Ra
                | RaidType::Raid5Ls
                | RaidType::Raid5Rs
        )
    }

    pub fn is_raid6(self) -> bool {
        matches!(
            self,
            RaidType::Raid6
                | RaidType::Raid6Zr
                | RaidType::Raid6Nr
                | RaidType::Raid6Nc
                | RaidType::Raid6N6
                | RaidType::Raid6La6
                | RaidType::Raid6Ra6
                | RaidType::Raid6Ls6
                | RaidType::Raid6Rs6
        )
    }

    pub fn is_raid10(self) -> bool {
        self == RaidType::Raid10
    }

    /// lvm2's `SEG_AREAS_MIRRORED`: every image (raid1) or every pair of
    /// images (raid10) holds a full copy.
    pub fn is_mirrored(self) -> bool {
        matches!(self, RaidType::Raid1 | RaidType::Raid10)
    }

    /// lvm2's `SEG_AREAS_STRIPED`: plain striping without redundancy.
    pub fn is_striped(self) -> bool {
        self.is_any_raid0()
    }

    /// Whether the segment has a metadata sub-LV per image (all but raid0).
    pub fn has_meta(self) -> bool {
        self != RaidType::Raid0
    }

    /// Whether images hold distinct data stripes (everything but raid1).
    pub fn is_striped_layout(self) -> bool {
        self != RaidType::Raid1
    }

    /// The key lvm2 writes the image count under: `stripe_count` for
    /// raid0/raid0_meta, `device_count` otherwise.
    pub fn count_key(self) -> &'static str {
        if self.is_any_raid0() {
            "stripe_count"
        } else {
            "device_count"
        }
    }

    /// The key of the sub-LV list: `raid0_lvs` for raid0, `raids` otherwise.
    pub fn areas_key(self) -> &'static str {
        if self == RaidType::Raid0 {
            "raid0_lvs"
        } else {
            "raids"
        }
    }

    /// Fewest images lvcreate accepts for this type (`tools/lvcreate.c`):
    /// 2 stripes for raid0/4/5, 3 for raid6, 2 mirrors of 2 stripes for
    /// raid10, 2 legs for raid1 — plus the parity devices. Existing metadata
    /// may hold fewer (raid1 with one leg during conversions).
    pub fn min_devices(self) -> u64 {
        match self {
            t if t.is_raid6() => 5,
            t if t.is_raid4() || t.is_raid5() => 3,
            RaidType::Raid10 => 4,
            _ => 2,
        }
    }

    /// Most images lvm2 allows (`DEFAULT_RAID_MAX_IMAGES`,
    /// `DEFAULT_RAID1_MAX_IMAGES`).
    pub fn max_devices(self) -> u64 {
        64
    }

    /// The number of copies of the data lvm2 assumes when the metadata has
    /// no `data_copies` (`lv_raid_data_copies`).
    pub fn default_data_copies(self, device_count: u64) -> u64 {
        match self {
            RaidType::Raid1 => device_count,
            RaidType::Raid10 => 2,
            t => 1 + t.parity_devs(),
        }
    }

    /// Number of images that carry distinct data (stripes) for
    /// `device_count` images.
    pub fn data_stripes(self, device_count: u64) -> u64 {
        match self {
            RaidType::Raid1 => 1,
            RaidType::Raid10 => device_count / 2,
            t => device_count.saturating_sub(t.parity_devs()),
        }
    }
}

impl std::fmt::Display for RaidType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl SegType {
    /// Parse a segment type name (without any `+FLAG` suffix).
    pub fn from_name(name: &str) -> SegType {
        if name == "striped" {
            SegType::Striped
        } else if let Some(t) = RaidType::from_name(name) {
            SegType::Raid(t)
        } else {
            SegType::Unknown(name.to_string())
        }
    }

    pub fn name(&self) -> &str {
        match self {
            SegType::Striped => "striped",
            SegType::Raid(t) => t.name(),
            SegType::Unknown(n) => n,
        }
    }

    pub fn raid_type(&self) -> Option<RaidType> {
        match self {
            SegType::Raid(t) => Some(*t),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers on the model

impl Segment {
    /// A `striped` segment with one area: what lvm2 reports as linear.
    pub fn is_linear(&self) -> bool {
        self.segtype == SegType::Striped && self.areas.len() == 1
    }

    pub fn raid_type(&self) -> Option<RaidType> {
        self.segtype.raid_type()
    }

    /// Number of parallel areas: stripes of a striped segment, images of a
    /// RAID segment, 0 for segment types this model does not interpret.
    pub fn area_count(&self) -> u64 {
        match (&self.segtype, &self.raid) {
            (SegType::Striped, _) => self.areas.len() as u64,
            (SegType::Raid(_), Some(r)) => r.images.len() as u64,
            _ => 0,
        }
    }

    /// Extents each area of a striped segment covers (lvm2's `area_len`).
    pub fn area_len(&self) -> u64 {
        match self.segtype {
            SegType::Striped if !self.areas.is_empty() => {
                self.extent_count / self.areas.len() as u64
            }
            _ => self.extent_count,
        }
    }

    /// Names of the LVs this segment is built on: rmeta/rimage sub-LVs of a
    /// RAID segment, LV areas of a striped one (not unknown types' keys).
    pub fn sub_lv_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        for a in &self.areas {
            if let Area::Lv { lv, .. } = a {
                names.push(lv.as_str());
            }
        }
        if let Some(r) = &self.raid {
            for m in r.meta.iter().flatten() {
                names.push(m.as_str());
            }
            for i in r.images.iter().flatten() {
                names.push(i.as_str());
            }
        }
        names
    }
}

impl Lv {
    /// lvm2's `lv_is_visible` for plain LVs: the VISIBLE status flag.
    pub fn is_visible(&self) -> bool {
        self.has_status("VISIBLE")
    }

    pub fn has_status(&self, flag: &str) -> bool {
        self.status.iter().any(|s| s == flag)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|s| s == flag)
    }

    /// Logical size in extents (sum of the segments).
    pub fn size_extents(&self) -> u64 {
        self.segments.iter().map(|s| s.extent_count).sum()
    }

    /// The RAID type of the LV's first segment, if it is a RAID LV.
    pub fn raid_type(&self) -> Option<RaidType> {
        self.segments.first().and_then(Segment::raid_type)
    }

    /// Extents of out-of-place reshape space a RAID LV carries in its
    /// `extent_count` (`reshape_count` per data image; lvm2 leaves them
    /// out of the LV size).
    pub fn reshape_extents(&self) -> u64 {
        let Some(seg) = self.segments.first() else {
            return 0;
        };
        match (seg.raid_type(), &seg.raid) {
            (Some(t), Some(r)) => {
                // lvm2's dev_manager: (area_count - parity_devs) × reshape_len.
                let data = (r.images.len() as u64).saturating_sub(t.parity_devs());
                r.reshape_count.unwrap_or(0) * data
            }
            _ => 0,
        }
    }

    /// `lock_args`, kept in `extra`.
    pub fn lock_args(&self) -> Option<&str> {
        extra_get(&self.extra, "lock_args").and_then(Value::as_str)
    }

    /// `profile`, kept in `extra`.
    pub fn profile(&self) -> Option<&str> {
        extra_get(&self.extra, "profile").and_then(Value::as_str)
    }
}

impl Pv {
    pub fn has_status(&self, flag: &str) -> bool {
        self.status.iter().any(|s| s == flag)
    }

    pub fn is_allocatable(&self) -> bool {
        self.has_status("ALLOCATABLE")
    }

    /// MISSING may be in `status` or `flags` (lvm2 writes it to `flags`).
    pub fn is_missing(&self) -> bool {
        self.has_status("MISSING") || self.flags.iter().any(|s| s == "MISSING")
    }
}

impl Vg {
    pub fn lv(&self, name: &str) -> Option<&Lv> {
        self.lvs.iter().find(|l| l.name == name)
    }

    pub fn lv_mut(&mut self, name: &str) -> Option<&mut Lv> {
        self.lvs.iter_mut().find(|l| l.name == name)
    }

    pub fn pv_by_key(&self, key: &str) -> Option<&Pv> {
        self.pvs.iter().find(|p| p.key == key)
    }

    pub fn pv_by_key_mut(&mut self, key: &str) -> Option<&mut Pv> {
        self.pvs.iter_mut().find(|p| p.key == key)
    }

    /// Look a PV up by its UUID, formatted (`xxxxxx-xxxx-...`) or not.
    pub fn pv_by_id(&self, id: &str) -> Option<&Pv> {
        let bare: String = id.chars().filter(|c| *c != '-').collect();
        self.pvs
            .iter()
            .find(|p| p.id == id || p.id.chars().filter(|c| *c != '-').eq(bare.chars()))
    }

    /// The key for a PV added now. lvm2 names PVs `pv0`, `pv1`, ... by
    /// position every time it writes, so when keys are canonical this is
    /// `pv<number of PVs>`; otherwise the first unused `pvN` from there.
    pub fn next_pv_key(&self) -> String {
        (self.pvs.len()..)
            .map(|i| format!("pv{i}"))
            .find(|k| self.pv_by_key(k).is_none())
            .expect("some key is free")
    }

    /// Rename the PVs `pv0`, `pv1`, ... in order, as lvm2 does on every
    /// write, and rewrite every reference (striped areas, and PV names in
    /// the area lists of segment types kept verbatim, e.g. pvmove's
    /// `mirrors`). Call after removing a PV to write what lvm2 would.
    pub fn renumber_pvs(&mut self) {
        let map: std::collections::HashMap<String, String> = self
            .pvs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.clone(), format!("pv{i}")))
            .collect();
        if map.iter().all(|(k, v)| k == v) {
            return;
        }
        for p in &mut self.pvs {
            p.key = map[&p.key].clone();
        }
        for lv in &mut self.lvs {
            for seg in &mut lv.segments {
                for a in &mut seg.areas {
                    if let Area::Pv { pv, .. } = a {
                        if let Some(n) = map.get(pv) {
                            *pv = n.clone();
                        }
                    }
                }
                if matches!(seg.segtype, SegType::Unknown(_)) {
                    for (k, node) in &mut seg.extra {
                        if !text::AREA_KEYS.contains(&k.as_str()) {
                            continue;
                        }
                        if let Node::Value(Value::Array(items)) = node {
                            // Area lists alternate name, offset.
                            for pair in items.chunks_mut(2) {
                                if let [Value::Str(name), Value::Int(_)] = pair {
                                    if let Some(n) = map.get(name.as_str()) {
                                        *name = n.clone();
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Total extents of all PVs.
    pub fn extent_count(&self) -> u64 {
        self.pvs.iter().map(|p| p.pe_count).sum()
    }

    /// `lock_type`, kept in `extra`.
    pub fn lock_type(&self) -> Option<&str> {
        extra_get(&self.extra, "lock_type").and_then(Value::as_str)
    }

    /// The VG's `allocation_policy` (kept in `extra`; absent means normal).
    pub fn allocation_policy(&self) -> Option<&str> {
        extra_get(&self.extra, "allocation_policy").and_then(Value::as_str)
    }

    /// `profile`, kept in `extra`.
    pub fn profile(&self) -> Option<&str> {
        extra_get(&self.extra, "profile").and_then(Value::as_str)
    }

    /// The LVs that use `name` as a sub-LV, with the segment index.
    pub fn users_of(&self, name: &str) -> Vec<(&Lv, usize)> {
        let mut out = Vec::new();
        for lv in &self.lvs {
            for (i, seg) in lv.segments.iter().enumerate() {
                if seg.sub_lv_names().contains(&name) {
                    out.push((lv, i));
                }
            }
        }
        out
    }

    /// Parse one VG section (`name { ... }` of metadata text, or what the
    /// lvmetad protocol carries). See [`text`] for the rules.
    pub fn from_config(name: &str, section: &Section) -> Result<Vg, ModelError> {
        text::vg_from_config(name, section)
    }

    /// This VG as a config-tree section (the contents of `name { ... }`),
    /// e.g. for the lvmetad protocol: exactly what parsing the printed
    /// metadata gives. Comments and blank lines are not part of a tree; use
    /// [`vg_to_text`] for metadata text. Strings must not contain NUL (no
    /// parsed VG does: the syntax cannot express it).
    pub fn to_config(&self) -> Section {
        text::vg_to_config(self)
    }

    /// Every structural problem lvm2 would reject (see [`validate()`]).
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        validate::validate(self)
    }
}

/// Set (replace or append) a verbatim key.
pub fn extra_set(extra: &mut Vec<(String, Node)>, key: &str, value: Value) {
    match extra.iter_mut().find(|(k, _)| k == key) {
        Some((_, n)) => *n = Node::Value(value),
        None => extra.push((key.to_string(), Node::Value(value))),
    }
}

/// Remove every verbatim item under `key`.
pub fn extra_remove(extra: &mut Vec<(String, Node)>, key: &str) {
    extra.retain(|(k, _)| k != key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raid_type_table() {
        for t in RaidType::ALL {
            assert_eq!(RaidType::from_name(t.name()), Some(t));
        }
        assert_eq!(RaidType::from_name("raid10_near"), None);
        assert_eq!(RaidType::Raid5.canonical(), RaidType::Raid5Ls);
        assert_eq!(RaidType::Raid6.canonical(), RaidType::Raid6Zr);
        assert_eq!(RaidType::Raid6N6.parity_devs(), 2);
        assert_eq!(RaidType::Raid4.parity_devs(), 1);
        assert_eq!(RaidType::Raid10.parity_devs(), 0);
        assert!(RaidType::Raid10.is_mirrored() && RaidType::Raid1.is_mirrored());
        assert!(!RaidType::Raid0Meta.is_mirrored());
        assert_eq!(RaidType::Raid0.areas_key(), "raid0_lvs");
        assert_eq!(RaidType::Raid0Meta.areas_key(), "raids");
        assert_eq!(RaidType::Raid0Meta.count_key(), "stripe_count");
        assert_eq!(RaidType::Raid6.min_devices(), 5);
        assert_eq!(RaidType::Raid5La.min_devices(), 3);
        assert_eq!(RaidType::Raid10.data_stripes(4), 2);
        assert_eq!(RaidType::Raid6Nr.data_stripes(5), 3);
        assert_eq!(
            SegType::from_name("thin-pool"),
            SegType::Unknown("thin-pool".into())
        );
    }

    const FIXTURE: &str = include_str!(
        "../../tests/fixtures/lvm2/lvtypes/07-lvcreate-raid1-m1/vgcfgbackup.vgraid.vg"
    );

    #[test]
    fn lookups_and_pv_keys() {
        let mut vg = parse_vg_text(FIXTURE).unwrap().0;
        assert_eq!(
            vg.pv_by_id("tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu")
                .unwrap()
                .key,
            "pv0"
        );
        assert_eq!(
            vg.pv_by_id("tGrhFea9g0R42ALQUN57SKi0csXtkVLu").unwrap().key,
            "pv0"
        );
        assert!(vg.lv("raid1m1").unwrap().is_visible());
        assert!(!vg.lv("raid1m1_rimage_0").unwrap().is_visible());
        assert_eq!(vg.lv("raid0").unwrap().raid_type(), Some(RaidType::Raid0));
        assert_eq!(vg.users_of("raid1m1_rmeta_1")[0].0.name, "raid1m1");
        assert_eq!(vg.next_pv_key(), "pv8");
        assert_eq!(vg.extent_count(), 8 * 31);

        // Drop pv0 and its users, then renumber as lvm2 would write it.
        let kept = vg.lv("raid0_rimage_1").unwrap().clone();
        vg.lvs = vec![kept];
        vg.pvs.remove(0);
        assert_eq!(vg.next_pv_key(), "pv8");
        vg.renumber_pvs();
        assert_eq!(vg.pvs[0].key, "pv0");
        assert_eq!(vg.pvs[6].key, "pv6");
        assert_eq!(
            vg.lvs[0].segments[0].areas[0],
            Area::Pv {
                pv: "pv0".into(),
                pe: 1
            }
        );
        assert_eq!(vg.next_pv_key(), "pv7");
    }
}
