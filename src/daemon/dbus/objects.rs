//! What the D-Bus objects show, as pure functions of the cache: one
//! snapshot per VolumeGroup, PhysicalVolume and LogicalVolume object.
//!
//! The service keeps the last snapshot it exported in each object and,
//! on a cache event, recomputes only the objects the event concerns and
//! emits `PropertiesChanged` with the properties whose value differs
//! ([`Props::props`] gives them in a fixed order for that comparison).
//!
//! Health and sync of LVs come from the metadata (which PVs are present)
//! and, when the kernel has the LV active, from its dm-raid status through
//! [`live_raid_status`], the one place where live status plugs in.

use std::collections::{BTreeMap, HashSet};

use zbus::{OwnedObjectPath, Variant};

use crate::cache::{Cache, PvView, VgRef, VgView};
use crate::model::{Area, Lv, SegType, Vg, SECTOR};

use super::ROOT;

/// A D-Bus object path element for a name: `[A-Za-z0-9_]` kept, every
/// other byte as `_xx` hex.
pub fn path_element(name: &str) -> String {
    let mut s = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            s.push(b as char);
        } else {
            s.push_str(&format!("_{b:02x}"));
        }
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// UUIDs are `[A-Za-z0-9]` groups joined by dashes: the path element is
/// the UUID without dashes (unique, and readable).
fn uuid_element(uuid: &str) -> String {
    path_element(&uuid.replace('-', ""))
}

pub fn vg_path(name: &str) -> String {
    format!("{ROOT}/VolumeGroup/{}", path_element(name))
}

pub fn pv_path(pvid: &str) -> String {
    format!("{ROOT}/PhysicalVolume/{}", uuid_element(pvid))
}

pub fn lv_path(vg_uuid: &str, lv_uuid: &str) -> String {
    format!(
        "{ROOT}/LogicalVolume/{}_{}",
        uuid_element(vg_uuid),
        uuid_element(lv_uuid)
    )
}

pub fn obj_path(p: &str) -> OwnedObjectPath {
    OwnedObjectPath::try_from(p.to_string()).expect("valid object path")
}

/// A snapshot's properties, in a fixed order, for PropertiesChanged.
pub trait Props: Clone + PartialEq + Send + Sync + 'static {
    const INTERFACE: &'static str;
    fn props(&self) -> Vec<(&'static str, Variant<'_>)>;
}

/// The names of the properties whose value differs between two
/// snapshots of one object.
pub fn changed<P: Props>(old: &P, new: &P) -> Vec<&'static str> {
    old.props()
        .into_iter()
        .zip(new.props())
        .filter(|(o, n)| o.1 != n.1)
        .map(|(_, n)| n.0)
        .collect()
}

// ---------------------------------------------------------------------------
// Volume groups

#[derive(Debug, Clone, PartialEq)]
pub struct VgProps {
    pub name: String,
    pub uuid: String,
    pub seqno: u64,
    pub complete: bool,
    pub missing_pvs: Vec<String>,
    /// In bytes.
    pub extent_size: u64,
    /// In bytes: every PV's extents.
    pub size: u64,
    /// In bytes: extents no LV uses.
    pub free: u64,
    pub physical_volumes: Vec<String>,
    pub logical_volumes: Vec<String>,
}

impl Props for VgProps {
    const INTERFACE: &'static str = "org.lvm.Lvmetad1.VolumeGroup";
    fn props(&self) -> Vec<(&'static str, Variant<'_>)> {
        vec![
            ("Name", Variant::from(self.name.as_str())),
            ("Uuid", Variant::from(self.uuid.as_str())),
            ("Seqno", Variant::from(self.seqno)),
            ("Complete", Variant::from(self.complete)),
            ("MissingPvs", Variant::from(&self.missing_pvs)),
            ("ExtentSize", Variant::from(self.extent_size)),
            ("Size", Variant::from(self.size)),
            ("FreeSize", Variant::from(self.free)),
            ("PhysicalVolumes", Variant::from(&self.physical_volumes)),
            ("LogicalVolumes", Variant::from(&self.logical_volumes)),
        ]
    }
}

fn extent_bytes(vg: &Vg) -> u64 {
    vg.extent_size * SECTOR
}

pub fn vg_props(v: &VgView) -> VgProps {
    let m = &v.metadata;
    let total: u64 = m.pvs.iter().map(|p| p.pe_count).sum();
    // Extents used: sum over PV areas of the segment's per-area length.
    let used_extents: u64 = m
        .lvs
        .iter()
        .flat_map(|l| &l.segments)
        .map(|s| {
            let pv_areas = s
                .areas
                .iter()
                .filter(|a| matches!(a, Area::Pv { .. }))
                .count() as u64;
            if pv_areas == 0 {
                0
            } else {
                area_len(s) * pv_areas
            }
        })
        .sum();
    VgProps {
        name: v.vg.name.clone(),
        uuid: v.vg.uuid.clone(),
        seqno: v.seqno,
        complete: v.complete,
        missing_pvs: v.missing.clone(),
        extent_size: extent_bytes(m),
        size: total * extent_bytes(m),
        free: total.saturating_sub(used_extents) * extent_bytes(m),
        physical_volumes: m.pvs.iter().map(|p| p.id.clone()).collect(),
        logical_volumes: m.lvs.iter().map(|l| l.name.clone()).collect(),
    }
}

/// Extents one area of a segment takes: striped segments split their
/// length over the stripes; every other type (mirrors, RAID images, which
/// sit on sub-LVs) gives each area the whole length.
fn area_len(s: &crate::model::Segment) -> u64 {
    match s.segtype {
        SegType::Striped => s.extent_count / (s.areas.len().max(1) as u64),
        _ => s.extent_count,
    }
}

// ---------------------------------------------------------------------------
// Physical volumes

#[derive(Debug, Clone, PartialEq)]
pub struct PvProps {
    pub uuid: String,
    /// The device in use (its name as the scanning command saw it).
    pub name: String,
    /// `major:minor` of the device in use.
    pub device: String,
    /// In bytes.
    pub dev_size: u64,
    /// In bytes.
    pub pe_start: u64,
    pub pe_count: u64,
    /// The VG's object, `/` for none.
    pub vg: OwnedObjectPath,
    pub vg_name: String,
    pub vg_uuid: String,
    pub orphan: bool,
    pub outdated: bool,
    pub conflict: bool,
    /// Other devices carrying the same PV UUID.
    pub duplicates: Vec<String>,
}

impl Props for PvProps {
    const INTERFACE: &'static str = "org.lvm.Lvmetad1.PhysicalVolume";
    fn props(&self) -> Vec<(&'static str, Variant<'_>)> {
        vec![
            ("Uuid", Variant::from(self.uuid.as_str())),
            ("Name", Variant::from(self.name.as_str())),
            ("Device", Variant::from(self.device.as_str())),
            ("DevSize", Variant::from(self.dev_size)),
            ("PeStart", Variant::from(self.pe_start)),
            ("PeCount", Variant::from(self.pe_count)),
            ("VolumeGroup", Variant::from(self.vg.as_ref())),
            ("VgName", Variant::from(self.vg_name.as_str())),
            ("VgUuid", Variant::from(self.vg_uuid.as_str())),
            ("Orphan", Variant::from(self.orphan)),
            ("Outdated", Variant::from(self.outdated)),
            ("Conflict", Variant::from(self.conflict)),
            ("DuplicateDevices", Variant::from(&self.duplicates)),
        ]
    }
}

/// `major:minor` in glibc's makedev encoding; image files (bit 62) as
/// `image#N`.
pub fn devno_text(d: u64) -> String {
    if d & (1 << 62) != 0 {
        return format!("image#{:x}", d & !(1 << 62));
    }
    let major = ((d >> 8) & 0xfff) | ((d >> 32) & !0xfff);
    let minor = (d & 0xff) | ((d >> 12) & !0xff);
    format!("{major}:{minor}")
}

fn same_id(a: &str, b: &str) -> bool {
    a.chars()
        .filter(|c| *c != '-')
        .eq(b.chars().filter(|c| *c != '-'))
}

/// `vg` is the lookup of the PV's VG, when it has one.
pub fn pv_props(pv: &PvView, vg: Option<&VgView>) -> PvProps {
    let pe_count = vg
        .and_then(|v| v.metadata.pvs.iter().find(|p| same_id(&p.id, &pv.pvid)))
        .map(|p| p.pe_count)
        .unwrap_or(0);
    PvProps {
        uuid: pv.pvid.clone(),
        name: pv.device.device_hint.clone(),
        device: devno_text(pv.device.devno),
        dev_size: pv.device.label.dev_size,
        pe_start: pv.device.label.pe_start,
        pe_count,
        vg: obj_path(
            &pv.vg
                .as_ref()
                .map(|v| vg_path(&v.name))
                .unwrap_or("/".into()),
        ),
        vg_name: pv.vg.as_ref().map(|v| v.name.clone()).unwrap_or_default(),
        vg_uuid: pv.vg.as_ref().map(|v| v.uuid.clone()).unwrap_or_default(),
        orphan: pv.orphan,
        outdated: pv.outdated,
        conflict: pv.conflict,
        duplicates: pv
            .duplicates
            .iter()
            .map(|d| d.device_hint.clone())
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Logical volumes

/// One segment: (start extent, extent count, segment type, stripes or
/// images, stripe size in bytes, region size in bytes, sub-LVs, PV UUIDs,
/// health, sync ratio or -1 when unknown).
pub type SegmentTuple = (
    u64,
    u64,
    String,
    u32,
    u64,
    u64,
    Vec<String>,
    Vec<String>,
    String,
    f64,
);

#[derive(Debug, Clone, PartialEq)]
pub struct LvProps {
    pub name: String,
    pub uuid: String,
    pub vg: OwnedObjectPath,
    pub vg_name: String,
    /// In bytes.
    pub size: u64,
    /// The first segment's type (`linear` for one stripe).
    pub segtype: String,
    pub visible: bool,
    pub status: Vec<String>,
    /// Every sub-LV the segments use, in order.
    pub sub_lvs: Vec<String>,
    /// UUIDs of the PVs the LV's data sits on (through sub-LVs too).
    pub pvs: Vec<String>,
    /// The worst segment health: `ok`, `unknown`, `degraded`, `failed`.
    pub health: String,
    /// Sync ratio 0..1 when known (live status, or nosync/raid0 from the
    /// metadata), -1 otherwise.
    pub sync_ratio: f64,
    /// The kernel's status was read (the LV is active).
    pub live: bool,
    pub segments: Vec<SegmentTuple>,
}

impl Props for LvProps {
    const INTERFACE: &'static str = "org.lvm.Lvmetad1.LogicalVolume";
    fn props(&self) -> Vec<(&'static str, Variant<'_>)> {
        vec![
            ("Name", Variant::from(self.name.as_str())),
            ("Uuid", Variant::from(self.uuid.as_str())),
            ("VolumeGroup", Variant::from(self.vg.as_ref())),
            ("VgName", Variant::from(self.vg_name.as_str())),
            ("Size", Variant::from(self.size)),
            ("SegType", Variant::from(self.segtype.as_str())),
            ("Visible", Variant::from(self.visible)),
            ("Status", Variant::from(&self.status)),
            ("SubLvs", Variant::from(&self.sub_lvs)),
            ("Pvs", Variant::from(&self.pvs)),
            ("Health", Variant::from(self.health.as_str())),
            ("SyncRatio", Variant::from(self.sync_ratio)),
            ("Segments", Variant::from(self.segments.clone())),
        ]
    }
}

/// The kernel's dm-raid status of the RAID LV `lv` of `vg`, when it is
/// active: the one place where live status plugs in (the device-mapper
/// edge, [`crate::activate`]). `active` is the set of DM UUIDs present
/// in sysfs, read once per VG; an LV not in it costs no ioctl (and on a
/// host without device-mapper nothing is active: metadata alone decides).
pub fn live_raid_status(
    active: &HashSet<String>,
    vg: &Vg,
    lv: &Lv,
) -> Option<crate::report::RaidStatus> {
    if !active.contains(&crate::activate::dm_uuid(&vg.id, &lv.id, None)) {
        return None;
    }
    let dm = crate::activate::dm::Dm::open().ok()?;
    crate::activate::raid_status(&dm, vg, &lv.name)
        .ok()
        .flatten()
}

/// DM UUIDs of the devices in the kernel now.
fn active_uuids() -> HashSet<String> {
    crate::activate::dm::sysfs_uuids().into_keys().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Health {
    Ok,
    Unknown,
    Degraded,
    Failed,
}

impl Health {
    fn name(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Unknown => "unknown",
            Health::Degraded => "degraded",
            Health::Failed => "failed",
        }
    }
}

struct LvCtx<'a> {
    vg: &'a Vg,
    missing_keys: HashSet<&'a str>,
}

impl LvCtx<'_> {
    fn lv(&self, name: &str) -> Option<&Lv> {
        self.vg.lvs.iter().find(|l| l.name == name)
    }

    /// Health of a whole LV (worst segment), guarding against cycles.
    fn lv_health(&self, name: &str, depth: u32) -> Health {
        match self.lv(name) {
            Some(lv) if depth < 8 => lv
                .segments
                .iter()
                .map(|s| self.seg_health(s, depth))
                .max()
                .unwrap_or(Health::Ok),
            _ => Health::Failed,
        }
    }

    fn seg_health(&self, s: &crate::model::Segment, depth: u32) -> Health {
        let areas = s
            .areas
            .iter()
            .map(|a| match a {
                Area::Pv { pv, .. } => {
                    if self.missing_keys.contains(pv.as_str()) {
                        Health::Failed
                    } else {
                        Health::Ok
                    }
                }
                Area::Lv { lv, .. } => self.lv_health(lv, depth + 1),
            })
            .max()
            .unwrap_or(Health::Ok);
        match (&s.segtype, &s.raid) {
            (SegType::Raid(t), Some(r)) => {
                let present: Vec<bool> = (0..r.images.len())
                    .map(|i| {
                        let ok = |x: Option<&Option<String>>| match x {
                            Some(Some(n)) => self.lv_health(n, depth + 1) <= Health::Unknown,
                            Some(None) => false,
                            None => true,
                        };
                        r.images[i].is_some() && ok(r.images.get(i)) && ok(r.meta.get(i))
                    })
                    .collect();
                if present.iter().all(|p| *p) {
                    Health::Ok
                } else if super::super::activation::raid_can_run(*t, &present, r.data_copies) {
                    Health::Degraded
                } else {
                    Health::Failed
                }
            }
            (SegType::Unknown(_), _) if areas == Health::Ok => Health::Unknown,
            // A striped segment with a stripe gone has lost data.
            _ => areas,
        }
    }
}

fn segtype_name(s: &crate::model::Segment) -> String {
    match &s.segtype {
        SegType::Striped if s.areas.len() <= 1 => "linear".into(),
        SegType::Striped => "striped".into(),
        SegType::Raid(t) => t.name().into(),
        SegType::Unknown(n) => n.clone(),
    }
}

/// Every LV of a VG lookup (hidden sub-LVs too), by object path.
pub fn vg_lvs(v: &VgView) -> Vec<(String, LvProps)> {
    let missing_keys = v
        .pvs
        .iter()
        .filter(|p| !p.present)
        .map(|p| p.key.as_str())
        .collect();
    let ctx = LvCtx {
        vg: &v.metadata,
        missing_keys,
    };
    let has_raid = v.metadata.lvs.iter().any(|l| {
        l.segments
            .iter()
            .any(|s| matches!(s.segtype, SegType::Raid(_)))
    });
    let active = if has_raid {
        active_uuids()
    } else {
        HashSet::new()
    };
    v.metadata
        .lvs
        .iter()
        .map(|lv| (lv_path(&v.vg.uuid, &lv.id), lv_props(v, &ctx, lv, &active)))
        .collect()
}

fn lv_props(v: &VgView, ctx: &LvCtx<'_>, lv: &Lv, active: &HashSet<String>) -> LvProps {
    let m = &v.metadata;
    let eb = extent_bytes(m);
    let is_raid = lv
        .segments
        .iter()
        .any(|s| matches!(s.segtype, SegType::Raid(_)));
    let live = if is_raid {
        live_raid_status(active, m, lv)
    } else {
        None
    };
    let notsynced = lv.status.iter().any(|s| s == "NOTSYNCED");
    let mut sub_lvs = Vec::new();
    let mut segments = Vec::new();
    let mut worst = Health::Ok;
    for s in &lv.segments {
        let mut subs: Vec<String> = Vec::new();
        for a in &s.areas {
            if let Area::Lv { lv, .. } = a {
                subs.push(lv.clone());
            }
        }
        if let Some(r) = &s.raid {
            for n in r.images.iter().chain(r.meta.iter()).flatten() {
                subs.push(n.clone());
            }
        }
        let mut health = ctx.seg_health(s, 0);
        let (stripes, region) = match (&s.segtype, &s.raid) {
            (SegType::Raid(_), Some(r)) => (r.images.len() as u32, r.region_size.unwrap_or(0)),
            _ => (s.areas.len() as u32, 0),
        };
        let sync = match (&s.segtype, &live) {
            (SegType::Raid(_), Some(st)) => {
                // The kernel saw an image fail that the metadata still
                // counts as present.
                if st.health.contains('D') {
                    health = health.max(Health::Degraded);
                }
                if st.total > 0 {
                    st.in_sync as f64 / st.total as f64
                } else {
                    -1.0
                }
            }
            (SegType::Raid(t), None) if t.is_any_raid0() || notsynced => 1.0,
            _ => -1.0,
        };
        worst = worst.max(health);
        for n in &subs {
            if !sub_lvs.contains(n) {
                sub_lvs.push(n.clone());
            }
        }
        segments.push((
            s.start_extent,
            s.extent_count,
            segtype_name(s),
            stripes,
            s.stripe_size.unwrap_or(0) * SECTOR,
            region * SECTOR,
            subs,
            seg_pvs(ctx, s, 0),
            health.name().to_string(),
            sync,
        ));
    }
    let sync_ratio = segments
        .iter()
        .map(|s| s.9)
        .fold(None, |acc: Option<f64>, r| {
            Some(match acc {
                None => r,
                Some(a) if a < 0.0 || r < 0.0 => -1.0,
                Some(a) => a.min(r),
            })
        })
        .unwrap_or(-1.0);
    let mut pvs = Vec::new();
    for s in &segments {
        for p in &s.7 {
            if !pvs.contains(p) {
                pvs.push(p.clone());
            }
        }
    }
    LvProps {
        name: lv.name.clone(),
        uuid: lv.id.clone(),
        vg: obj_path(&vg_path(&m.name)),
        vg_name: m.name.clone(),
        size: lv.segments.iter().map(|s| s.extent_count).sum::<u64>() * eb,
        segtype: lv
            .segments
            .first()
            .map(segtype_name)
            .unwrap_or_else(|| "linear".into()),
        visible: lv.status.iter().any(|s| s == "VISIBLE"),
        status: lv.status.clone(),
        sub_lvs,
        pvs,
        health: worst.name().into(),
        sync_ratio,
        live: live.is_some(),
        segments,
    }
}

/// UUIDs of the PVs under a segment (through sub-LVs).
fn seg_pvs(ctx: &LvCtx<'_>, s: &crate::model::Segment, depth: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |id: String| {
        if !out.contains(&id) {
            out.push(id)
        }
    };
    let sub = |name: &str, push: &mut dyn FnMut(String)| {
        if let Some(l) = ctx.lv(name).filter(|_| depth < 8) {
            for s in &l.segments {
                for id in seg_pvs(ctx, s, depth + 1) {
                    push(id);
                }
            }
        }
    };
    for a in &s.areas {
        match a {
            Area::Pv { pv, .. } => {
                if let Some(p) = ctx.vg.pvs.iter().find(|p| &p.key == pv) {
                    push(p.id.clone());
                }
            }
            Area::Lv { lv, .. } => sub(lv, &mut push),
        }
    }
    if let Some(r) = &s.raid {
        for n in r.images.iter().chain(r.meta.iter()).flatten() {
            sub(n, &mut push);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Everything at once (start-up, resync after lost events, tests)

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub vgs: BTreeMap<String, VgProps>,
    pub pvs: BTreeMap<String, PvProps>,
    pub lvs: BTreeMap<String, LvProps>,
}

/// Every object the cache gives, by path.
pub fn snapshot(cache: &Cache) -> Snapshot {
    let mut s = Snapshot::default();
    let mut views = BTreeMap::new();
    for sum in cache.vg_list() {
        if let Ok(v) = cache.vg_lookup(VgRef::Uuid(&sum.vg.uuid)) {
            s.vgs.insert(vg_path(&v.vg.name), vg_props(&v));
            s.lvs.extend(vg_lvs(&v));
            views.insert(v.vg.uuid.clone(), v);
        }
    }
    for pv in cache.pv_list() {
        let vg = pv.vg.as_ref().and_then(|g| views.get(&g.uuid));
        s.pvs.insert(pv_path(&pv.pvid), pv_props(&pv, vg));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RaidSeg, RaidType, Segment};

    #[test]
    fn paths_are_valid() {
        for n in ["vg0", "my-vg", "a+b.c", ""] {
            assert!(OwnedObjectPath::try_from(vg_path(n)).is_ok(), "{n}");
        }
        assert_eq!(vg_path("my-vg"), "/org/lvm/Lvmetad1/VolumeGroup/my_2dvg");
        let p = pv_path("abcdef-0123-4567-89ab-cdef-0123-456789");
        assert_eq!(
            p,
            "/org/lvm/Lvmetad1/PhysicalVolume/abcdef0123456789abcdef0123456789"
        );
        assert!(OwnedObjectPath::try_from(lv_path("a-b", "c-d")).is_ok());
    }

    fn pv(key: &str, id: &str) -> crate::model::Pv {
        crate::model::Pv {
            key: key.into(),
            id: id.into(),
            device: None,
            status: vec!["ALLOCATABLE".into()],
            flags: vec![],
            tags: vec![],
            dev_size: 2048 * 100,
            pe_start: 2048,
            pe_count: 100,
            ba_start: None,
            ba_size: None,
            extra: vec![],
        }
    }

    fn lv(name: &str, visible: bool, segs: Vec<Segment>) -> Lv {
        Lv {
            name: name.into(),
            id: format!("id-{name}"),
            status: if visible {
                vec!["READ".into(), "WRITE".into(), "VISIBLE".into()]
            } else {
                vec!["READ".into(), "WRITE".into()]
            },
            flags: vec![],
            tags: vec![],
            creation_time: None,
            creation_host: None,
            allocation_policy: None,
            read_ahead: None,
            segments: segs,
            extra: vec![],
        }
    }

    fn linear(pvkey: &str, pe: u64, n: u64) -> Segment {
        Segment {
            start_extent: 0,
            extent_count: n,
            segtype: SegType::Striped,
            tags: vec![],
            areas: vec![Area::Pv {
                pv: pvkey.into(),
                pe,
            }],
            stripe_size: None,
            raid: None,
            extra: vec![],
        }
    }

    /// A raid1 with two images on pv0/pv1, and a linear LV on pv2.
    fn vg() -> Vg {
        let raid = Segment {
            start_extent: 0,
            extent_count: 10,
            segtype: SegType::Raid(RaidType::Raid1),
            tags: vec![],
            areas: vec![],
            stripe_size: None,
            raid: Some(RaidSeg {
                meta: vec![Some("r_rmeta_0".into()), Some("r_rmeta_1".into())],
                images: vec![Some("r_rimage_0".into()), Some("r_rimage_1".into())],
                device_count: 2,
                region_size: Some(1024),
                ..Default::default()
            }),
            extra: vec![],
        };
        Vg {
            name: "vg".into(),
            id: "vg-id".into(),
            seqno: 3,
            format: None,
            status: vec![],
            flags: vec![],
            tags: vec![],
            system_id: None,
            extent_size: 8192,
            max_lv: 0,
            max_pv: 0,
            metadata_copies: 0,
            pvs: vec![pv("pv0", "A-0"), pv("pv1", "B-1"), pv("pv2", "C-2")],
            lvs: vec![
                lv("r", true, vec![raid]),
                lv("r_rmeta_0", false, vec![linear("pv0", 0, 1)]),
                lv("r_rmeta_1", false, vec![linear("pv1", 0, 1)]),
                lv("r_rimage_0", false, vec![linear("pv0", 1, 10)]),
                lv("r_rimage_1", false, vec![linear("pv1", 1, 10)]),
                lv("l", true, vec![linear("pv2", 0, 5)]),
            ],
            historical_lvs: None,
            extra: vec![],
        }
    }

    fn view(missing: &[&str]) -> VgView {
        let m = vg();
        VgView {
            vg: crate::cache::VgIdent {
                uuid: m.id.clone(),
                name: m.name.clone(),
            },
            seqno: 3,
            pvs: m
                .pvs
                .iter()
                .map(|p| crate::cache::VgPvView {
                    pvid: p.id.clone(),
                    key: p.key.clone(),
                    present: !missing.contains(&p.key.as_str()),
                    devno: None,
                    device_hint: None,
                    missing_in_metadata: false,
                    outdated: false,
                    conflict: false,
                })
                .collect(),
            complete: missing.is_empty(),
            missing: vec![],
            outdated: vec![],
            conflicting: vec![],
            vg_invalid: false,
            metadata: m,
        }
    }

    fn by_name(v: &VgView) -> BTreeMap<String, LvProps> {
        vg_lvs(v)
            .into_iter()
            .map(|(_, p)| (p.name.clone(), p))
            .collect()
    }

    #[test]
    fn segments_sub_lvs_and_health_from_metadata() {
        let all = by_name(&view(&[]));
        let r = &all["r"];
        assert_eq!(r.segtype, "raid1");
        assert_eq!(r.size, 10 * 8192 * 512);
        assert!(r.visible);
        assert_eq!(
            r.sub_lvs,
            ["r_rimage_0", "r_rimage_1", "r_rmeta_0", "r_rmeta_1"]
        );
        assert_eq!(r.pvs, ["A-0", "B-1"]);
        let s = &r.segments[0];
        assert_eq!((s.2.as_str(), s.3, s.5), ("raid1", 2, 1024 * 512));
        assert_eq!(s.8, "ok");
        assert_eq!(r.health, "ok");
        assert_eq!(r.sync_ratio, -1.0, "sync unknown without kernel status");
        assert!(!all["r_rimage_0"].visible);
        assert_eq!(all["l"].segtype, "linear");

        // pv1 gone: the raid1 runs degraded, its image 1 failed; the
        // linear LV is untouched.
        let one = by_name(&view(&["pv1"]));
        assert_eq!(one["r"].health, "degraded");
        assert_eq!(one["r"].segments[0].8, "degraded");
        assert_eq!(one["r_rimage_1"].health, "failed");
        assert_eq!(one["r_rimage_0"].health, "ok");
        assert_eq!(one["l"].health, "ok");
        // Both legs gone: failed. pv2 gone: the linear LV failed.
        let two = by_name(&view(&["pv0", "pv1", "pv2"]));
        assert_eq!(two["r"].health, "failed");
        assert_eq!(two["l"].health, "failed");
    }

    #[test]
    fn changed_names_only_differing_properties() {
        let a = by_name(&view(&[]));
        let b = by_name(&view(&["pv1"]));
        assert_eq!(changed(&a["r"], &b["r"]), ["Health", "Segments"]);
        assert!(changed(&a["l"], &b["l"]).is_empty());
        let va = vg_props(&view(&[]));
        assert_eq!(va.size, 300 * 8192 * 512);
        // 2 rmeta + 20 rimage + 5 linear extents used.
        assert_eq!(va.free, (300 - 27) * 8192 * 512);
    }

    #[test]
    fn nosync_raid_reports_full_sync() {
        let mut v = view(&[]);
        v.metadata.lvs[0].status.push("NOTSYNCED".into());
        assert_eq!(by_name(&v)["r"].sync_ratio, 1.0);
    }
}
