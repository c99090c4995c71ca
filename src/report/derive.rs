//! Facts about a VG that lvm2 derives while importing metadata and that the
//! report fields need: which LV is a RAID image of which, how many extents
//! of each PV are allocated, which LVs sit on a missing PV, and so on.
//!
//! lvm2 keeps these as in-memory status bits (RAID_IMAGE, THIN_POOL_DATA,
//! PARTIAL_LV, ...) that are never written to disk; here they are computed
//! once per VG from the model and kept next to it.

use std::collections::HashMap;

use super::{LvState, PvDevice, VgView};
use crate::format::config::Value;
use crate::model::{extra_get, Area, Lv, SegType, Segment};

/// What role an LV plays under another one (lvm2's hidden sub-LV kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubRole {
    RaidImage,
    RaidMeta,
    MirrorImage,
    MirrorLog,
    PoolData,
    PoolMeta,
    /// `cache_pool = "x"` of a cache LV, `pool = "x"` of a vdo LV.
    UsedPool,
    /// `origin = "x"` of a cache LV (the slow device being cached).
    CacheOrigin,
    /// Anything else referencing the LV as a segment area.
    Other,
}

/// A reference from a parent's segment to a sub-LV.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parent {
    pub lv: usize,
    pub role: SubRole,
    /// Slot index within the parent segment (RAID images/metas).
    pub slot: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LvInfo {
    pub le_count: u64,
    /// Extents of RAID reshape space (in `le_count`, not in the size).
    pub reshape_le: u64,
    pub parent: Option<Parent>,
    pub partial: bool,
    /// Number of old-style snapshots whose origin is this LV.
    pub origin_count: usize,
    /// Some snapshot of this origin is merging into it.
    pub merging_origin: bool,
    /// This LV is the COW store of a snapshot (the user-visible snapshot).
    pub cow_of: Option<usize>,
    /// For a COW store, the internal `snapshotN` LV describing it.
    pub snapshot: Option<usize>,
    pub merging_cow: bool,
    pub state: LvState,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PvInfo {
    pub alloc_count: u64,
    pub missing: bool,
}

/// A VG plus everything derived from it, borrowed from the report input.
pub(crate) struct VgCtx<'a> {
    pub view: &'a VgView,
    pub lvs: Vec<LvInfo>,
    pub pvs: Vec<PvInfo>,
    lv_by_name: HashMap<&'a str, usize>,
    pv_by_key: HashMap<&'a str, usize>,
}

/// The segment type name as lvm2 reports it.
pub(crate) fn segtype_name(seg: &Segment) -> String {
    match &seg.segtype {
        SegType::Striped if seg.areas.len() == 1 => "linear".into(),
        SegType::Striped => "striped".into(),
        SegType::Raid(t) => t.name().into(),
        // Segment type flags ("thin-pool+METADATA_FORMAT") are not part of
        // the name lvm2 shows.
        SegType::Unknown(name) => name.split('+').next().unwrap_or(name).to_string(),
    }
}

/// The base segment type name of an unknown segment, without flags.
fn unknown_name(seg: &Segment) -> Option<&str> {
    match &seg.segtype {
        SegType::Unknown(n) => Some(n.split('+').next().unwrap_or(n)),
        _ => None,
    }
}

pub(crate) fn extra_str<'v>(seg: &'v Segment, key: &str) -> Option<&'v str> {
    match extra_get(&seg.extra, key) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    }
}

pub(crate) fn extra_int(seg: &Segment, key: &str) -> Option<i64> {
    match extra_get(&seg.extra, key) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

/// `stripes = ["pv0", 0, "pv1", 0]`-style area lists of segment types this
/// project keeps verbatim (mirror, old striped copies, ...), as areas. A
/// name is a PV when the VG has a PV with that key, else an LV.
pub(crate) fn unknown_areas(seg: &Segment, is_pv: impl Fn(&str) -> bool) -> Vec<Area> {
    let mut out = Vec::new();
    for key in ["stripes", "mirrors", "raids"] {
        if let Some(Value::Array(items)) = extra_get(&seg.extra, key) {
            let mut it = items.iter();
            while let Some(name) = it.next() {
                let Value::Str(name) = name else { continue };
                let start = match it.next() {
                    Some(Value::Int(i)) => *i as u64,
                    _ => 0,
                };
                if is_pv(name) {
                    out.push(Area::Pv {
                        pv: name.clone(),
                        pe: start,
                    });
                } else {
                    out.push(Area::Lv {
                        lv: name.clone(),
                        le: start,
                    });
                }
            }
        }
    }
    // Pools have their data LV as the single area.
    if matches!(
        unknown_name(seg),
        Some("thin-pool" | "cache-pool" | "vdo-pool")
    ) {
        let key = if unknown_name(seg) == Some("vdo-pool") {
            "vdo_pool_data"
        } else {
            "pool"
        };
        if let Some(lv) = extra_str(seg, key) {
            out.push(Area::Lv {
                lv: lv.to_string(),
                le: 0,
            });
        }
    }
    out
}

impl<'a> VgCtx<'a> {
    pub fn new(view: &'a VgView, activation: bool) -> VgCtx<'a> {
        let vg = &view.vg;
        let lv_by_name: HashMap<&str, usize> = vg
            .lvs
            .iter()
            .enumerate()
            .map(|(i, lv)| (lv.name.as_str(), i))
            .collect();
        let pv_by_key: HashMap<&str, usize> = vg
            .pvs
            .iter()
            .enumerate()
            .map(|(i, pv)| (pv.key.as_str(), i))
            .collect();
        let mut ctx = VgCtx {
            view,
            lvs: vec![LvInfo::default(); vg.lvs.len()],
            pvs: vec![PvInfo::default(); vg.pvs.len()],
            lv_by_name,
            pv_by_key,
        };
        for (i, pv) in vg.pvs.iter().enumerate() {
            ctx.pvs[i].missing = !view.devices.contains_key(&pv.key)
                || pv.status.iter().chain(&pv.flags).any(|f| f == "MISSING");
        }
        for (i, lv) in vg.lvs.iter().enumerate() {
            ctx.lvs[i].le_count = lv.segments.iter().map(|s| s.extent_count).sum();
            ctx.lvs[i].reshape_le = lv.reshape_extents();
            ctx.lvs[i].state = if activation {
                view.lv_states.get(&lv.name).cloned().unwrap_or_default()
            } else {
                LvState::Unknown
            };
            for seg in &lv.segments {
                ctx.link_segment(i, seg);
            }
        }
        // PARTIAL_LV: an LV on a missing PV, or above one that is.
        let mut memo = vec![None; vg.lvs.len()];
        for i in 0..vg.lvs.len() {
            let p = ctx.compute_partial(i, &mut memo, 0);
            ctx.lvs[i].partial = p;
        }
        ctx
    }

    fn set_parent(&mut self, child: &str, parent: usize, role: SubRole, slot: usize) {
        if let Some(&c) = self.lv_by_name.get(child) {
            // The first (most specific) role wins; lvm2 never has two.
            if self.lvs[c].parent.is_none() {
                self.lvs[c].parent = Some(Parent {
                    lv: parent,
                    role,
                    slot,
                });
            }
        }
    }

    /// Record the parent/child links and PV allocation of one segment.
    fn link_segment(&mut self, lv: usize, seg: &'a Segment) {
        let areas = self.seg_areas(seg);
        let area_len = self.area_len(seg, areas.len());
        for area in &areas {
            if let Area::Pv { pv, .. } = area {
                if let Some(&p) = self.pv_by_key.get(pv.as_str()) {
                    self.pvs[p].alloc_count += area_len;
                }
            }
        }
        if let Some(raid) = &seg.raid {
            for (slot, img) in raid.images.iter().enumerate() {
                if let Some(img) = img {
                    self.set_parent(img, lv, SubRole::RaidImage, slot);
                }
            }
            for (slot, meta) in raid.meta.iter().enumerate() {
                if let Some(meta) = meta {
                    self.set_parent(meta, lv, SubRole::RaidMeta, slot);
                }
            }
        }
        match unknown_name(seg) {
            Some("mirror") => {
                if let Some(log) = extra_str(seg, "mirror_log") {
                    self.set_parent(log, lv, SubRole::MirrorLog, 0);
                }
                for (slot, a) in areas.iter().enumerate() {
                    if let Area::Lv { lv: name, .. } = a {
                        self.set_parent(name, lv, SubRole::MirrorImage, slot);
                    }
                }
            }
            Some("thin-pool" | "cache-pool") => {
                if let Some(m) = extra_str(seg, "metadata") {
                    self.set_parent(m, lv, SubRole::PoolMeta, 0);
                }
                if let Some(d) = extra_str(seg, "pool") {
                    self.set_parent(d, lv, SubRole::PoolData, 0);
                }
            }
            Some("vdo-pool") => {
                if let Some(d) = extra_str(seg, "vdo_pool_data") {
                    self.set_parent(d, lv, SubRole::PoolData, 0);
                }
            }
            Some("cache" | "writecache") => {
                for key in ["cache_pool", "writecache"] {
                    if let Some(p) = extra_str(seg, key) {
                        self.set_parent(p, lv, SubRole::UsedPool, 0);
                    }
                }
                if let Some(o) = extra_str(seg, "origin") {
                    self.set_parent(o, lv, SubRole::CacheOrigin, 0);
                }
            }
            Some("snapshot") => {
                let merging = extra_str(seg, "merging_store");
                let cow = extra_str(seg, "cow_store").or(merging);
                if let Some(&o) = extra_str(seg, "origin").and_then(|o| self.lv_by_name.get(o)) {
                    self.lvs[o].origin_count += 1;
                    if merging.is_some() {
                        self.lvs[o].merging_origin = true;
                    }
                    if let Some(&c) = cow.and_then(|c| self.lv_by_name.get(c)) {
                        self.lvs[c].cow_of = Some(o);
                        self.lvs[c].snapshot = Some(lv);
                        self.lvs[c].merging_cow = merging.is_some();
                    }
                }
            }
            _ => {
                for a in &areas {
                    if let Area::Lv { lv: name, .. } = a {
                        self.set_parent(name, lv, SubRole::Other, 0);
                    }
                }
            }
        }
    }

    /// The areas of a segment: PV/LV areas for striped, the rimages for
    /// RAID, the arrays kept verbatim for other types.
    pub fn seg_areas(&self, seg: &Segment) -> Vec<Area> {
        match &seg.segtype {
            SegType::Striped => seg.areas.clone(),
            SegType::Raid(_) => match &seg.raid {
                Some(r) => r
                    .images
                    .iter()
                    .map(|img| Area::Lv {
                        lv: img.clone().unwrap_or_default(),
                        le: 0,
                    })
                    .collect(),
                None => seg.areas.clone(),
            },
            SegType::Unknown(_) => {
                if !seg.areas.is_empty() {
                    return seg.areas.clone();
                }
                unknown_areas(seg, |n| self.pv_by_key.contains_key(n))
            }
        }
    }

    /// Extents of each area (lvm2's `area_len`) for allocation counting:
    /// striped segments divide the segment between their stripes, mirror
    /// legs (pvmove) hold all of it. RAID areas are sub-LVs, never PVs.
    pub fn area_len(&self, seg: &Segment, area_count: usize) -> u64 {
        let striped = match &seg.segtype {
            SegType::Striped => true,
            SegType::Raid(_) => false,
            SegType::Unknown(_) => unknown_name(seg) == Some("striped"),
        };
        if striped && area_count > 0 {
            seg.extent_count / area_count as u64
        } else {
            seg.extent_count
        }
    }

    fn compute_partial(&self, i: usize, memo: &mut Vec<Option<bool>>, depth: usize) -> bool {
        if let Some(p) = memo[i] {
            return p;
        }
        if depth > self.lvs.len() {
            return false; // a reference loop: broken metadata, don't recurse forever
        }
        let lv = &self.view.vg.lvs[i];
        let mut partial = false;
        for seg in &lv.segments {
            let mut names: Vec<&str> = Vec::new();
            let areas = self.seg_areas(seg);
            for a in &areas {
                match a {
                    Area::Pv { pv, .. } => {
                        if self
                            .pv_by_key
                            .get(pv.as_str())
                            .is_none_or(|&p| self.pvs[p].missing)
                        {
                            partial = true;
                        }
                    }
                    Area::Lv { lv, .. } => names.push(lv),
                }
            }
            if let Some(r) = &seg.raid {
                names.extend(r.meta.iter().flatten().map(|s| s.as_str()));
            }
            for key in ["mirror_log", "metadata", "pool", "cache_pool", "origin"] {
                if unknown_name(seg).is_some() {
                    if let Some(n) = extra_str(seg, key) {
                        // A snapshot's origin does not make the COW partial.
                        if key != "origin" || unknown_name(seg) == Some("cache") {
                            names.push(n);
                        }
                    }
                }
            }
            for n in names {
                if let Some(&c) = self.lv_by_name.get(n) {
                    if c != i && self.compute_partial(c, memo, depth + 1) {
                        partial = true;
                    }
                }
            }
        }
        memo[i] = Some(partial);
        partial
    }

    pub fn lv(&self, i: usize) -> &'a Lv {
        &self.view.vg.lvs[i]
    }

    pub fn lv_index(&self, name: &str) -> Option<usize> {
        self.lv_by_name.get(name).copied()
    }

    pub fn pv_index(&self, key: &str) -> Option<usize> {
        self.pv_by_key.get(key).copied()
    }

    /// The device found for a PV of this VG, if any.
    pub fn device(&self, pv: usize) -> Option<&'a PvDevice> {
        if self.pvs[pv].missing && !self.view.devices.contains_key(&self.view.vg.pvs[pv].key) {
            return None;
        }
        self.view.devices.get(&self.view.vg.pvs[pv].key)
    }

    /// Device name of a PV by key as lvm2 prints it in `devices` and
    /// `seg_pe_ranges`: `[unknown]` when the device is missing.
    pub fn pv_dev_name(&self, key: &str) -> String {
        match self.pv_index(key).and_then(|p| self.device(p)) {
            Some(d) => d.name.clone(),
            None => "[unknown]".to_string(),
        }
    }

    pub fn extent_count(&self) -> u64 {
        self.view.vg.pvs.iter().map(|p| p.pe_count).sum()
    }

    pub fn free_count(&self) -> u64 {
        self.view
            .vg
            .pvs
            .iter()
            .zip(&self.pvs)
            .map(|(p, i)| p.pe_count.saturating_sub(i.alloc_count))
            .sum()
    }

    pub fn missing_pv_count(&self) -> usize {
        self.pvs.iter().filter(|p| p.missing).count()
    }
}
