//! Device-mapper tables as pure functions of the metadata model.
//!
//! [`lv_devices`] lists the DM devices lvm2 2.03.16 creates to activate
//! one LV, in the order it creates them (every sub-LV before the LVs built
//! on it: for RAID, `rmeta_0`, `rimage_0`, `rmeta_1`, ... then the RAID LV),
//! each with its DM name, DM UUID and table. Tables refer to other devices
//! through [`DevRef`]s (a PV by its key, another device of the plan by its
//! key), which a caller-supplied [`Resolver`] turns into `major:minor`
//! when the table is rendered ([`DeviceSpec::render`]). The ioctl half
//! creates the devices in order and renders each table once the devices it
//! uses exist; [`lv_tables`] renders everything at once when all numbers
//! are known in advance (tests, `--test` output).
//!
//! What lvm2 does, and where (lvm2 2.03.16):
//! - names and UUIDs: `dm_build_dm_name` / `build_dm_uuid` (libdm,
//!   lib/misc/lvm-string.c). RAID sub-LVs get no UUID suffix in 2.03.16.
//! - linear/striped: `_striped_add_target_line` (lib/striped/striped.c),
//!   areas through `add_areas_line` (lib/activate/dev_manager.c); PV
//!   offsets are `pe_start + pe * extent_size`.
//! - missing PVs: `_add_error_area` makes an `error` device
//!   `<vg>-<lv>-missing_<seg>_<area>` per missing area (the default
//!   `stripe_filler`), allowed in partial activation, or in degraded
//!   activation (lvm2's default mode) for RAID LVs and their sub-LVs.
//! - RAID: `_raid_add_target_line` (lib/raid/raid.c) and
//!   `_raid_emit_segment_line` (libdm/libdm-deptree.c). lvm2 never emits
//!   `stripe_cache`, `raid10_format` or `sync`; `nosync` only when the
//!   activating command asked for it (`lvcreate --nosync`:
//!   [`TableOptions::nosync`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use crate::model::{extra_get, Area, Lv, RaidSeg, RaidType, SegType, Segment, Vg};

/// lvm2's `DEFAULT_RAID_MAX_IMAGES`.
const RAID_MAX_IMAGES: usize = 64;

/// A block device number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    pub fn new(major: u32, minor: u32) -> DevNum {
        DevNum { major, minor }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

impl FromStr for DevNum {
    type Err = String;

    /// `"254:32"`.
    fn from_str(s: &str) -> Result<DevNum, String> {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| format!("not major:minor: {s:?}"))?;
        Ok(DevNum {
            major: a.parse().map_err(|_| format!("bad major in {s:?}"))?,
            minor: b.parse().map_err(|_| format!("bad minor in {s:?}"))?,
        })
    }
}

/// A device a table refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DevRef {
    /// The device of a PV, by its key in the VG (`pv0`, ...).
    Pv(String),
    /// Another DM device of the plan, by its [`DeviceSpec::key`] (the LV
    /// name, or `<lv>-<layer>` for layer devices such as missing areas).
    Dm(String),
}

impl fmt::Display for DevRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevRef::Pv(k) => write!(f, "PV {k}"),
            DevRef::Dm(k) => write!(f, "device of {k}"),
        }
    }
}

/// One word of a target's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Dev(DevRef),
    /// `-`: no device (an unassigned RAID slot, raid0's metadata).
    Null,
}

/// Turns device references into device numbers.
pub trait Resolver {
    /// The device holding the PV with this key.
    fn pv(&self, key: &str) -> Option<DevNum>;
    /// The DM device of the plan entry with this key (see [`DevRef::Dm`]).
    fn dm(&self, key: &str) -> Option<DevNum>;
}

/// A [`Resolver`] from two maps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapResolver {
    pub pvs: HashMap<String, DevNum>,
    pub dms: HashMap<String, DevNum>,
}

impl Resolver for MapResolver {
    fn pv(&self, key: &str) -> Option<DevNum> {
        self.pvs.get(key).copied()
    }
    fn dm(&self, key: &str) -> Option<DevNum> {
        self.dms.get(key).copied()
    }
}

/// One target of a table, with unresolved device references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// In sectors.
    pub start: u64,
    /// In sectors.
    pub length: u64,
    pub target_type: String,
    pub params: Vec<Param>,
}

/// One rendered target: a line of `dmsetup table` after the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub start: u64,
    pub length: u64,
    pub target_type: String,
    pub params: String,
}

impl fmt::Display for Target {
    /// `0 8192 linear 254:32 2048`, as `dmsetup table` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.start, self.length, self.target_type, self.params
        )
    }
}

impl TargetSpec {
    /// The devices this target uses.
    pub fn deps(&self) -> impl Iterator<Item = &DevRef> {
        self.params.iter().filter_map(|p| match p {
            Param::Dev(d) => Some(d),
            _ => None,
        })
    }

    pub fn render(&self, r: &dyn Resolver) -> Result<Target, TableError> {
        let mut words = Vec::with_capacity(self.params.len());
        for p in &self.params {
            words.push(match p {
                Param::Text(t) => t.clone(),
                Param::Null => "-".to_string(),
                Param::Dev(d) => {
                    let n = match d {
                        DevRef::Pv(k) => r.pv(k),
                        DevRef::Dm(k) => r.dm(k),
                    };
                    n.ok_or_else(|| TableError::Unresolved(d.clone()))?
                        .to_string()
                }
            });
        }
        Ok(Target {
            start: self.start,
            length: self.length,
            target_type: self.target_type.clone(),
            params: words.join(" "),
        })
    }
}

/// The read-ahead lvm2 sets on a device (`dm_tree_node_set_read_ahead`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadAhead {
    /// At least this many sectors (lvm2's `auto` for striped layouts:
    /// twice the widest full stripe, `stripe_size * areas * 2`).
    Minimum(u64),
    /// At least the largest read-ahead of the devices of these PVs
    /// (lvm2's `auto` without stripes: the PV of the first area of every
    /// LV in the tree, `lv_calculate_readahead`); the caller asks the
    /// devices (BLKRAGET).
    MinimumOfPvs(Vec<String>),
    /// Exactly this many sectors (`read_ahead` in the metadata; 0 = none).
    Fixed(u64),
}

/// One DM device of an activation plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// What [`DevRef::Dm`] calls this device: the LV name, or
    /// `<lv>-<layer>` for a layer device (`lv-missing_0_0`).
    pub key: String,
    /// The LV the device belongs to.
    pub lv: String,
    /// DM name (`vg0-raid5_rimage_0`).
    pub name: String,
    /// DM UUID (`LVM-<vg id><lv id>[-<layer>]`, without dashes in the ids).
    pub uuid: String,
    /// Load the table read-only (the LV has no WRITE flag).
    pub read_only: bool,
    /// `None`: leave the kernel's default (lvm2's error devices).
    pub read_ahead: Option<ReadAhead>,
    pub targets: Vec<TargetSpec>,
}

/// A rendered device: what `dmsetup table` shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmTable {
    pub key: String,
    pub name: String,
    pub uuid: String,
    pub read_only: bool,
    pub read_ahead: Option<ReadAhead>,
    pub targets: Vec<Target>,
}

impl fmt::Display for DmTable {
    /// As `dmsetup table` prints the device: `name: start length type
    /// params`, one line per target.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.targets {
            writeln!(f, "{}: {}", self.name, t)?;
        }
        Ok(())
    }
}

impl DeviceSpec {
    /// Every device this device's table uses.
    pub fn deps(&self) -> Vec<&DevRef> {
        self.targets.iter().flat_map(TargetSpec::deps).collect()
    }

    pub fn render(&self, r: &dyn Resolver) -> Result<DmTable, TableError> {
        Ok(DmTable {
            key: self.key.clone(),
            name: self.name.clone(),
            uuid: self.uuid.clone(),
            read_only: self.read_only,
            read_ahead: self.read_ahead.clone(),
            targets: self
                .targets
                .iter()
                .map(|t| t.render(r))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// lvm2's `activation_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivationMode {
    /// Every PV must be present.
    Complete,
    /// RAID LVs may miss devices (lvm2's default).
    #[default]
    Degraded,
    /// Anything may miss devices; missing areas map to `error` devices.
    Partial,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableOptions {
    /// Emit `nosync` in RAID tables (but not raid0's). lvm2 does this only
    /// while the command that creates the LV was given `--nosync` (its
    /// `mirror_in_sync()`), not when it activates a NOTSYNCED LV later.
    pub nosync: bool,
    pub mode: ActivationMode,
    /// Keys of PVs whose device was not found (besides those the metadata
    /// marks MISSING).
    pub missing_pvs: Vec<String>,
    /// The kernel's dm-raid target version. dm-raid 1.9.0 to 1.10.x takes
    /// its optional parameters in a different order; `None` means a newer
    /// target (Debian 12's kernel has 1.15.1).
    pub raid_target_version: Option<(u32, u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("Logical volume {0} not found.")]
    NoSuchLv(String),
    #[error("LV {lv} references unknown PV {pv}.")]
    NoSuchPv { lv: String, pv: String },
    #[error("Can't process LV {lv}: {segtype} target support missing.")]
    Unsupported { lv: String, segtype: String },
    #[error(
        "Aborting.  LV {0} is now incomplete and '--activationmode partial' was not specified."
    )]
    Incomplete(String),
    #[error("Missing region size for raid segment in {0}.")]
    MissingRegionSize(String),
    #[error("Unable to handle more than 64 devices in a single RAID array ({0}).")]
    TooManyDevices(String),
    #[error("Invalid segment in LV {lv}: {message}")]
    BadSegment { lv: String, message: String },
    #[error("No device number for {0}.")]
    Unresolved(DevRef),
}

/// lvm2's DM name: `<vg>-<lv>[-<layer>]` with every `-` of the parts
/// doubled; a layer starting with `_` is appended without the separator.
pub fn dm_name(vg: &str, lv: &str, layer: Option<&str>) -> String {
    let q = |s: &str| s.replace('-', "--");
    let mut out = format!("{}-{}", q(vg), q(lv));
    if let Some(l) = layer.filter(|l| !l.is_empty()) {
        if !l.starts_with('_') {
            out.push('-');
        }
        out.push_str(&q(l));
    }
    out
}

/// lvm2's DM UUID: `LVM-<vg id><lv id>[-<layer>]`, ids without dashes.
pub fn dm_uuid(vg_id: &str, lv_id: &str, layer: Option<&str>) -> String {
    let bare = |s: &str| s.chars().filter(|c| *c != '-').collect::<String>();
    let mut out = format!("LVM-{}{}", bare(vg_id), bare(lv_id));
    if let Some(l) = layer.filter(|l| !l.is_empty()) {
        out.push('-');
        out.push_str(l);
    }
    out
}

/// The DM devices that activate LV `lv` of `vg`, in creation order (the LV
/// itself last).
pub fn lv_devices(vg: &Vg, lv: &str, opts: &TableOptions) -> Result<Vec<DeviceSpec>, TableError> {
    let lv = vg
        .lv(lv)
        .ok_or_else(|| TableError::NoSuchLv(lv.to_string()))?;
    let mut b = Builder {
        vg,
        opts,
        out: Vec::new(),
        seen: HashSet::new(),
    };
    b.add_lv(lv)?;
    Ok(b.out)
}

/// [`lv_devices`] rendered with `resolver`, which must know every PV and
/// every device of the plan.
pub fn lv_tables(
    vg: &Vg,
    lv: &str,
    opts: &TableOptions,
    resolver: &dyn Resolver,
) -> Result<Vec<DmTable>, TableError> {
    lv_devices(vg, lv, opts)?
        .iter()
        .map(|d| d.render(resolver))
        .collect()
}

struct Builder<'a> {
    vg: &'a Vg,
    opts: &'a TableOptions,
    out: Vec<DeviceSpec>,
    seen: HashSet<String>,
}

/// The segment as this module sees it: lvm2's `raid10_near` (an alias
/// of raid10 that the model keeps verbatim as an unknown type) becomes a
/// raid10 segment read from the verbatim keys.
fn normalized(seg: &Segment) -> Cow<'_, Segment> {
    match &seg.segtype {
        SegType::Unknown(n) if n == "raid10_near" => {
            let num = |k: &str| extra_get(&seg.extra, k).and_then(|v| v.as_u64());
            let mut meta = Vec::new();
            let mut images = Vec::new();
            let list = extra_get(&seg.extra, "raids")
                .and_then(|v| v.as_str_list())
                .unwrap_or_default();
            for pair in list.chunks(2) {
                let name = |s: &str| (!s.is_empty()).then(|| s.to_string());
                meta.push(name(pair[0]));
                images.push(pair.get(1).and_then(|s| name(s)));
            }
            let raid = RaidSeg {
                device_count: num("device_count").unwrap_or(images.len() as u64),
                meta,
                images,
                region_size: num("region_size"),
                data_copies: num("data_copies"),
                writebehind: num("writebehind"),
                min_recovery_rate: num("min_recovery_rate"),
                max_recovery_rate: num("max_recovery_rate"),
                data_offset: num("data_offset"),
                reshape_count: num("reshape_count"),
            };
            Cow::Owned(Segment {
                start_extent: seg.start_extent,
                extent_count: seg.extent_count,
                segtype: SegType::Raid(RaidType::Raid10),
                tags: seg.tags.clone(),
                areas: Vec::new(),
                stripe_size: seg.stripe_size.or(num("stripe_size")),
                raid: Some(raid),
                extra: Vec::new(),
            })
        }
        _ => Cow::Borrowed(seg),
    }
}

/// A RAID image split off with `--trackchanges` (lvm2's
/// `lv_is_raid_image_with_tracking`): not activated with its RAID LV.
fn is_tracking_image(lv: &Lv) -> bool {
    !lv.has_status("WRITE")
}

impl<'a> Builder<'a> {
    fn lv(&self, name: &str) -> Result<&'a Lv, TableError> {
        self.vg
            .lv(name)
            .ok_or_else(|| TableError::NoSuchLv(format!("{}/{}", self.vg.name, name)))
    }

    fn display(&self, lv: &Lv) -> String {
        format!("{}/{}", self.vg.name, lv.name)
    }

    fn add_lv(&mut self, lv: &'a Lv) -> Result<(), TableError> {
        if !self.seen.insert(lv.name.clone()) {
            return Ok(());
        }
        let mut targets = Vec::new();
        let mut start = 0;
        let mut max_stripe = 0;
        for (segno, seg) in lv.segments.iter().enumerate() {
            let seg = normalized(seg);
            let seg = seg.as_ref();
            let t = match &seg.segtype {
                SegType::Striped => self.striped(lv, segno, seg, start)?,
                SegType::Raid(t) => self.raid(lv, seg, *t, start)?,
                SegType::Unknown(name) => {
                    return Err(TableError::Unsupported {
                        lv: self.display(lv),
                        segtype: name.clone(),
                    })
                }
            };
            start += t.length;
            targets.push(t);
            max_stripe = max_stripe.max(seg.stripe_size.unwrap_or(0) * seg.area_count());
        }
        let read_ahead = match lv.read_ahead {
            None | Some(0) if max_stripe > 0 => ReadAhead::Minimum(max_stripe * 2),
            None | Some(0) => {
                let mut pvs = Vec::new();
                self.first_pvs(lv, &mut pvs, &mut HashSet::new());
                ReadAhead::MinimumOfPvs(pvs)
            }
            Some(n) if n < 0 => ReadAhead::Fixed(0),
            Some(n) => ReadAhead::Fixed(n as u64),
        };
        self.out.push(DeviceSpec {
            key: lv.name.clone(),
            lv: lv.name.clone(),
            name: dm_name(&self.vg.name, &lv.name, None),
            uuid: dm_uuid(&self.vg.id, &lv.id, None),
            read_only: !lv.has_status("WRITE"),
            read_ahead: Some(read_ahead),
            targets,
        });
        Ok(())
    }

    /// The PVs whose read-ahead lvm2's `lv_calculate_readahead` takes: the
    /// first area of the first segment of every LV in the tree, if a PV.
    fn first_pvs(&self, lv: &Lv, out: &mut Vec<String>, seen: &mut HashSet<String>) {
        if !seen.insert(lv.name.clone()) {
            return;
        }
        for seg in &lv.segments {
            let seg = normalized(seg);
            let mut subs: Vec<&str> = Vec::new();
            for a in &seg.areas {
                if let Area::Lv { lv, .. } = a {
                    subs.push(lv);
                }
            }
            if let Some(r) = &seg.raid {
                for (i, img) in r.images.iter().enumerate() {
                    subs.extend(img.as_deref());
                    subs.extend(r.meta.get(i).and_then(|m| m.as_deref()));
                }
            }
            for sub in subs {
                if let Some(sub) = self.vg.lv(sub) {
                    self.first_pvs(sub, out, seen);
                }
            }
        }
        if let Some(Area::Pv { pv, .. }) = lv.segments.first().and_then(|s| s.areas.first()) {
            if !out.contains(pv) {
                out.push(pv.clone());
            }
        }
    }

    fn pv_missing(&self, lv: &Lv, key: &str) -> Result<bool, TableError> {
        let pv = self.vg.pv_by_key(key).ok_or_else(|| TableError::NoSuchPv {
            lv: self.display(lv),
            pv: key.to_string(),
        })?;
        Ok(pv.is_missing() || self.opts.missing_pvs.iter().any(|k| k == key))
    }

    /// lvm2's `lv_is_raid_type`: a RAID LV or one of its sub-LVs.
    fn is_raid_type(&self, lv: &Lv) -> bool {
        let raid = |s: &Segment| normalized(s).raid_type().is_some();
        lv.segments.first().is_some_and(raid)
            || self.vg.lvs.iter().any(|u| {
                u.segments.iter().any(|s| {
                    normalized(s).raid.as_ref().is_some_and(|r| {
                        r.images
                            .iter()
                            .chain(r.meta.iter())
                            .flatten()
                            .any(|n| *n == lv.name)
                    })
                })
            })
    }

    fn striped(
        &mut self,
        lv: &'a Lv,
        segno: usize,
        seg: &Segment,
        start: u64,
    ) -> Result<TargetSpec, TableError> {
        let es = self.vg.extent_size;
        if seg.areas.is_empty() {
            return Err(TableError::BadSegment {
                lv: self.display(lv),
                message: "striped segment without areas".into(),
            });
        }
        // Sub-LVs first.
        for a in &seg.areas {
            if let Area::Lv { lv: sub, .. } = a {
                let sub = self.lv(sub)?;
                self.add_lv(sub)?;
            }
        }
        let mut params = Vec::new();
        if seg.areas.len() > 1 {
            let chunk = seg.stripe_size.ok_or_else(|| TableError::BadSegment {
                lv: self.display(lv),
                message: "striped segment without stripe_size".into(),
            })?;
            params.push(Param::Text(seg.areas.len().to_string()));
            params.push(Param::Text(chunk.to_string()));
        }
        for (s, a) in seg.areas.iter().enumerate() {
            match a {
                Area::Pv { pv, pe } => {
                    if self.pv_missing(lv, pv)? {
                        let key = self.error_device(lv, segno, s, seg.extent_count * es)?;
                        params.push(Param::Dev(DevRef::Dm(key)));
                        params.push(Param::Text("0".into()));
                    } else {
                        let p = self.vg.pv_by_key(pv).expect("checked");
                        params.push(Param::Dev(DevRef::Pv(pv.clone())));
                        params.push(Param::Text((p.pe_start + pe * es).to_string()));
                    }
                }
                Area::Lv { lv: sub, le } => {
                    params.push(Param::Dev(DevRef::Dm(sub.clone())));
                    params.push(Param::Text((le * es).to_string()));
                }
            }
        }
        Ok(TargetSpec {
            start,
            length: seg.extent_count * es,
            target_type: if seg.areas.len() == 1 {
                "linear"
            } else {
                "striped"
            }
            .into(),
            params,
        })
    }

    /// The `error` device lvm2 maps a missing area to.
    fn error_device(
        &mut self,
        lv: &Lv,
        segno: usize,
        area: usize,
        size: u64,
    ) -> Result<String, TableError> {
        let allowed = match self.opts.mode {
            ActivationMode::Partial => true,
            ActivationMode::Degraded => self.is_raid_type(lv),
            ActivationMode::Complete => false,
        };
        if !allowed {
            return Err(TableError::Incomplete(self.display(lv)));
        }
        let layer = format!("missing_{segno}_{area}");
        let key = format!("{}-{}", lv.name, layer);
        if self.seen.insert(key.clone()) {
            self.out.push(DeviceSpec {
                key: key.clone(),
                lv: lv.name.clone(),
                name: dm_name(&self.vg.name, &lv.name, Some(&layer)),
                uuid: dm_uuid(&self.vg.id, &lv.id, Some(&layer)),
                read_only: false,
                read_ahead: None,
                targets: vec![TargetSpec {
                    start: 0,
                    length: size,
                    target_type: "error".into(),
                    params: Vec::new(),
                }],
            });
        }
        Ok(key)
    }

    fn raid(
        &mut self,
        lv: &'a Lv,
        seg: &Segment,
        t: RaidType,
        start: u64,
    ) -> Result<TargetSpec, TableError> {
        let es = self.vg.extent_size;
        let bad = |m: &str| TableError::BadSegment {
            lv: format!("{}/{}", self.vg.name, lv.name),
            message: m.to_string(),
        };
        let r = seg
            .raid
            .as_ref()
            .ok_or_else(|| bad("RAID segment without areas"))?;
        let n = r.images.len();
        if n == 0 {
            return Err(bad("RAID segment without areas"));
        }
        if n > RAID_MAX_IMAGES {
            return Err(TableError::TooManyDevices(self.display(lv)));
        }
        let raid0 = t.is_any_raid0();
        let with_meta = t.has_meta();

        // The images and their metadata LVs, slot by slot.
        let mut images: Vec<Option<&'a Lv>> = Vec::with_capacity(n);
        for (s, img) in r.images.iter().enumerate() {
            let Some(img) = img else {
                images.push(None);
                continue;
            };
            let img = self.lv(img)?;
            images.push(Some(img));
            if is_tracking_image(img) {
                continue;
            }
            if with_meta {
                if let Some(Some(m)) = r.meta.get(s) {
                    let m = self.lv(m)?;
                    self.add_lv(m)?;
                }
            }
            self.add_lv(img)?;
        }

        let mut region_size = 0;
        let mut rebuilds = Vec::new();
        let mut writemostly = Vec::new();
        let mut delta_disks: i64 = 0;
        let (mut plus, mut minus) = (false, false);
        if !raid0 {
            region_size = r.region_size.unwrap_or(0);
            if region_size == 0 {
                return Err(TableError::MissingRegionSize(self.display(lv)));
            }
            for (s, img) in images.iter().enumerate() {
                let Some(img) = img else { continue };
                if img.has_status("REBUILD") {
                    rebuilds.push(s);
                }
                if img.has_status("RESHAPE_DELTA_DISKS_PLUS") {
                    delta_disks += 1;
                    plus = true;
                } else if img.has_status("RESHAPE_DELTA_DISKS_MINUS") {
                    delta_disks -= 1;
                    minus = true;
                }
                if plus && minus {
                    return Err(bad("delta disks both plus and minus"));
                }
                if t.is_raid1() && img.has_status("WRITEMOSTLY") {
                    writemostly.push(s);
                }
            }
        }
        let nonzero = |v: Option<u64>| v.filter(|v| *v != 0);
        let (min_rate, max_rate, data_offset) = if raid0 {
            (None, None, None)
        } else {
            (
                nonzero(r.min_recovery_rate),
                nonzero(r.max_recovery_rate),
                r.data_offset,
            )
        };
        let writebehind = if t.is_raid1() {
            nonzero(r.writebehind)
        } else {
            None
        };
        let copies = if t.is_raid10() {
            Some(
                r.data_copies
                    .filter(|c| *c >= 2)
                    .unwrap_or_else(|| t.default_data_copies(n as u64)),
            )
            .filter(|c| *c > 1)
        } else {
            None
        };
        let nosync = self.opts.nosync && !raid0;

        let two = |b: bool| if b { 2 } else { 0 };
        let param_count = 1
            + u64::from(nosync)
            + two(data_offset.is_some())
            + two(delta_disks != 0)
            + two(region_size != 0)
            + two(writebehind.is_some())
            + two(min_rate.is_some())
            + two(max_rate.is_some())
            + two(copies.is_some())
            + 2 * rebuilds.len() as u64
            + 2 * writemostly.len() as u64;

        let target_name = match t.canonical() {
            RaidType::Raid0Meta => RaidType::Raid0,
            c => c,
        }
        .name();
        let mut w: Vec<String> = vec![
            target_name.to_string(),
            param_count.to_string(),
            seg.stripe_size.unwrap_or(0).to_string(),
        ];
        let mut kv = |k: &str, v: String| {
            w.push(k.to_string());
            w.push(v);
        };
        let legacy =
            matches!(self.opts.raid_target_version, Some((1, m, _)) if (9..11).contains(&m));
        if !legacy {
            if nosync {
                kv("nosync", String::new());
            }
            for s in &rebuilds {
                kv("rebuild", s.to_string());
            }
            if let Some(v) = min_rate {
                kv("min_recovery_rate", v.to_string());
            }
            if let Some(v) = max_rate {
                kv("max_recovery_rate", v.to_string());
            }
            for s in &writemostly {
                kv("write_mostly", s.to_string());
            }
            if let Some(v) = writebehind {
                kv("max_write_behind", v.to_string());
            }
            if region_size != 0 {
                kv("region_size", region_size.to_string());
            }
            if let Some(c) = copies {
                kv("raid10_copies", c.to_string());
            }
            if delta_disks != 0 {
                kv("delta_disks", delta_disks.to_string());
            }
            if let Some(v) = data_offset {
                kv("data_offset", v.to_string());
            }
        } else {
            if let Some(c) = copies {
                kv("raid10_copies", c.to_string());
            }
            if nosync {
                kv("nosync", String::new());
            }
            if region_size != 0 {
                kv("region_size", region_size.to_string());
            }
            if let Some(v) = data_offset {
                kv("data_offset", v.to_string());
            }
            if delta_disks != 0 {
                kv("delta_disks", delta_disks.to_string());
            }
            for s in &rebuilds {
                kv("rebuild", s.to_string());
            }
            for s in &writemostly {
                kv("write_mostly", s.to_string());
            }
            if let Some(v) = writebehind {
                kv("max_write_behind", v.to_string());
            }
            if let Some(v) = max_rate {
                kv("max_recovery_rate", v.to_string());
            }
            if let Some(v) = min_rate {
                kv("min_recovery_rate", v.to_string());
            }
        }
        // Flags have no value: drop the empty words pushed for them.
        w.retain(|s| !s.is_empty());
        w.push(n.to_string());

        let mut params: Vec<Param> = w.into_iter().map(Param::Text).collect();
        for (s, img) in images.iter().enumerate() {
            match img {
                None => params.extend([Param::Null, Param::Null]),
                Some(img) if img.is_visible() && !img.has_status("WRITE") => {
                    params.extend([Param::Null, Param::Null])
                }
                Some(img) => {
                    match r.meta.get(s) {
                        Some(Some(m)) if with_meta => {
                            params.push(Param::Dev(DevRef::Dm(m.clone())))
                        }
                        _ => params.push(Param::Null),
                    }
                    params.push(Param::Dev(DevRef::Dm(img.name.clone())));
                }
            }
        }

        let reshape = r.reshape_count.unwrap_or(0);
        let len_extents = seg
            .extent_count
            .saturating_sub((n as u64).saturating_sub(t.parity_devs()) * reshape);
        Ok(TargetSpec {
            start,
            length: len_extents * es,
            target_type: "raid".into(),
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_vg_text;

    #[test]
    fn names_and_uuids() {
        assert_eq!(dm_name("vg0", "lv", None), "vg0-lv");
        assert_eq!(dm_name("my-vg", "a-b-c", None), "my--vg-a--b--c");
        assert_eq!(
            dm_name("vg", "lv", Some("missing_0_1")),
            "vg-lv-missing_0_1"
        );
        assert_eq!(dm_name("vg", "lv", Some("_mlog")), "vg-lv_mlog");
        assert_eq!(
            dm_uuid(
                "i35xkl-RVmu-I6Ad-YatS-o6H3-ukY9-JOnXNA",
                "jiGdzH-zbjO-5zhS-F4Aq-mxb3-SNVL-c2dAFk",
                None
            ),
            "LVM-i35xklRVmuI6AdYatSo6H3ukY9JOnXNAjiGdzHzbjO5zhSF4Aqmxb3SNVLc2dAFk"
        );
        assert!(dm_uuid("a-b", "c", Some("real")).ends_with("abc-real"));
        assert_eq!("254:32".parse::<DevNum>().unwrap(), DevNum::new(254, 32));
        assert!("25432".parse::<DevNum>().is_err());
    }

    const RAID5: &str = include_str!("../../tests/fixtures/dm-golden/raid5/1-just-created.vgcfg");

    fn resolver(vg: &Vg, devs: &[DeviceSpec]) -> MapResolver {
        let mut r = MapResolver::default();
        for (i, p) in vg.pvs.iter().enumerate() {
            r.pvs.insert(p.key.clone(), DevNum::new(8, 16 * i as u32));
        }
        for (i, d) in devs.iter().enumerate() {
            r.dms.insert(d.key.clone(), DevNum::new(253, i as u32));
        }
        r
    }

    fn lines(vg: &Vg, lv: &str, opts: &TableOptions) -> Vec<String> {
        let devs = lv_devices(vg, lv, opts).unwrap();
        let r = resolver(vg, &devs);
        devs.iter()
            .map(|d| {
                let t = d.render(&r).unwrap();
                format!("{}: {}", t.name, t.targets[0])
            })
            .collect()
    }

    #[test]
    fn raid_optional_params() {
        let mut vg = parse_vg_text(RAID5).unwrap().0;
        let plain = lines(&vg, "raid5", &TableOptions::default());
        assert_eq!(
            plain.last().unwrap(),
            "vg0-raid5: 0 49152 raid raid5_ls 3 128 region_size 4096 4 \
             253:0 253:1 253:2 253:3 253:4 253:5 253:6 253:7"
        );
        {
            let seg = &mut vg.lv_mut("raid5").unwrap().segments[0];
            let r = seg.raid.as_mut().unwrap();
            r.min_recovery_rate = Some(100);
            r.max_recovery_rate = Some(2000);
            r.data_offset = Some(0);
        }
        vg.lv_mut("raid5_rimage_2")
            .unwrap()
            .status
            .push("REBUILD".into());
        vg.lv_mut("raid5_rimage_1")
            .unwrap()
            .status
            .push("RESHAPE_DELTA_DISKS_PLUS".into());
        let opts = TableOptions {
            nosync: true,
            ..Default::default()
        };
        assert_eq!(
            lines(&vg, "raid5", &opts).last().unwrap(),
            "vg0-raid5: 0 49152 raid raid5_ls 14 128 nosync rebuild 2 \
             min_recovery_rate 100 max_recovery_rate 2000 region_size 4096 \
             delta_disks 1 data_offset 0 4 \
             253:0 253:1 253:2 253:3 253:4 253:5 253:6 253:7"
        );
        let legacy = TableOptions {
            nosync: true,
            raid_target_version: Some((1, 10, 0)),
            ..Default::default()
        };
        assert_eq!(
            lines(&vg, "raid5", &legacy).last().unwrap(),
            "vg0-raid5: 0 49152 raid raid5_ls 14 128 nosync region_size 4096 \
             data_offset 0 delta_disks 1 rebuild 2 \
             max_recovery_rate 2000 min_recovery_rate 100 4 \
             253:0 253:1 253:2 253:3 253:4 253:5 253:6 253:7"
        );
    }

    const RAID1: &str =
        include_str!("../../tests/fixtures/dm-golden/raid1_m1/1-just-created.vgcfg");

    #[test]
    fn raid1_tuning_and_read_ahead() {
        let mut vg = parse_vg_text(RAID1).unwrap().0;
        {
            let r = vg.lv_mut("raid1_m1").unwrap().segments[0]
                .raid
                .as_mut()
                .unwrap();
            r.writebehind = Some(512);
            r.data_copies = Some(2);
        }
        vg.lv_mut("raid1_m1_rimage_1")
            .unwrap()
            .status
            .push("WRITEMOSTLY".into());
        vg.lv_mut("raid1_m1_rimage_0").unwrap().read_ahead = Some(4096);
        assert_eq!(
            lines(&vg, "raid1_m1", &TableOptions::default())
                .last()
                .unwrap(),
            "vg0-raid1_m1: 0 32768 raid raid1 7 0 write_mostly 1 \
             max_write_behind 512 region_size 4096 2 253:0 253:1 253:2 253:3"
        );
        let devs = lv_devices(&vg, "raid1_m1", &TableOptions::default()).unwrap();
        assert_eq!(devs[1].name, "vg0-raid1_m1_rimage_0");
        assert_eq!(devs[1].read_ahead, Some(ReadAhead::Fixed(4096)));
        assert_eq!(
            devs[4].read_ahead,
            Some(ReadAhead::MinimumOfPvs(vec!["pv0".into(), "pv1".into()]))
        );
    }

    #[test]
    fn unassigned_and_tracked_slots() {
        let mut vg = parse_vg_text(RAID5).unwrap().0;
        {
            let r = vg.lv_mut("raid5").unwrap().segments[0]
                .raid
                .as_mut()
                .unwrap();
            r.images[1] = None;
            r.meta[1] = None;
        }
        let l = lines(&vg, "raid5", &TableOptions::default());
        assert_eq!(l.len(), 7);
        assert!(l
            .last()
            .unwrap()
            .ends_with(" 4 253:0 253:1 - - 253:2 253:3 253:4 253:5"));

        // A tracked split image: visible, read-only, not brought up.
        let mut vg = parse_vg_text(RAID5).unwrap().0;
        let img = vg.lv_mut("raid5_rimage_3").unwrap();
        img.status = vec!["READ".into(), "VISIBLE".into()];
        let l = lines(&vg, "raid5", &TableOptions::default());
        assert_eq!(l.len(), 7);
        assert!(l
            .last()
            .unwrap()
            .ends_with(" 4 253:0 253:1 253:2 253:3 253:4 253:5 - -"));
    }

    #[test]
    fn missing_pvs() {
        let vg = parse_vg_text(RAID5).unwrap().0;
        let opts = TableOptions {
            missing_pvs: vec!["pv1".into()],
            ..Default::default()
        };
        let l = lines(&vg, "raid5", &opts);
        assert_eq!(l.len(), 11);
        assert_eq!(l[2], "vg0-raid5_rmeta_1-missing_0_0: 0 8192 error ");
        assert_eq!(l[3], "vg0-raid5_rmeta_1: 0 8192 linear 253:2 0");
        let devs = lv_devices(&vg, "raid5", &opts).unwrap();
        assert!(devs[2].uuid.ends_with("-missing_0_0"));
        let complete = TableOptions {
            mode: ActivationMode::Complete,
            ..opts
        };
        assert_eq!(
            lv_devices(&vg, "raid5", &complete),
            Err(TableError::Incomplete("vg0/raid5_rmeta_1".into()))
        );
        assert!(matches!(
            lv_devices(&vg, "nope", &TableOptions::default()),
            Err(TableError::NoSuchLv(_))
        ));
        let devs = lv_devices(&vg, "raid5", &TableOptions::default()).unwrap();
        assert_eq!(
            devs[0].render(&MapResolver::default()),
            Err(TableError::Unresolved(DevRef::Pv("pv0".into())))
        );
    }
}
