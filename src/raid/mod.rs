//! RAID LVs planned as pure VG → VG transforms.
//!
//! Each function takes the VG as read, returns the VG to commit (or an
//! error, with nothing to write), and leaves I/O to the command. The layout
//! is lvm2's (`lib/metadata/lv_manip.c`, `raid_manip.c`, `lib/raid/raid.c`)
//! so that real lvm2 reads, reports and changes what is written here:
//!
//! * a RAID LV has one segment of a RAID type whose areas are hidden
//!   sub-LVs `<lv>_rimage_N` (data) and, except for raid0, `<lv>_rmeta_N`
//!   (one extent of dm-raid superblock and bitmap, sized as lvm2 does);
//! * the sub-LVs are plain linear LVs with status `READ, WRITE` (lvm2 does
//!   not write its RAID_IMAGE/RAID_META bits; it derives them on reading);
//! * the LV and its sub-LVs are listed in lvm2's creation order: the LV,
//!   then `rimage_0, rmeta_0, rimage_1, ...` (hidden LVs print after the
//!   visible ones).
//!
//! Sizes: `area_multiple` is the number of data stripes (raid1: 1), so each
//! image holds `LV extents / area_multiple` extents.

pub mod convert;
pub mod reshape;
pub mod takeover;

use crate::alloc::{self, AllocError, Candidate, Chunk, Policy, RaidRequest};
use crate::model::{Area, Lv, RaidSeg, RaidType, SegType, Segment, Vg};

/// MD's bitmap tracks at most 2^21 regions per device.
pub const MAX_REGIONS: u64 = 1 << 21;
/// lvm2's `DEFAULT_RAID_REGION_SIZE`, KiB.
pub const DEFAULT_REGION_SIZE_KIB: u64 = 2048;
/// Page size in sectors (region sizes must be multiples of it).
pub const PAGE_SECTORS: u64 = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RaidError {
    #[error("{0}")]
    Alloc(#[from] AllocError),
    #[error("Logical volume {0} not found.")]
    NoSuchLv(String),
    #[error("Logical volume {0} is not a RAID logical volume.")]
    NotRaid(String),
    #[error("{0}")]
    Invalid(String),
}

/// lvm2's `get_default_region_size`: `activation/raid_region_size` (KiB)
/// in sectors, rounded down to a power of 2, and the built-in default when
/// it is not a multiple of the page size.
pub fn default_region_size(config_kib: u64) -> u64 {
    let mut r = config_kib.max(1) * 2;
    if !r.is_power_of_two() {
        r = 1 << (63 - r.leading_zeros());
    }
    if !r.is_multiple_of(PAGE_SECTORS) {
        r = DEFAULT_REGION_SIZE_KIB * 2;
    }
    r
}

/// lvm2's `raid_ensure_min_region_size`: double the region size until an
/// LV of `lv_sectors` has at most 2^21 regions.
pub fn ensure_min_region_size(lv_sectors: u64, region_size: u64) -> u64 {
    let min = lv_sectors / MAX_REGIONS;
    let mut r = region_size.max(1);
    while r < min {
        r *= 2;
    }
    r
}

/// lvm2's `adjusted_mirror_region_size`: a region size bigger than the LV
/// becomes the biggest power of 2 not above the LV size (`Some`), else
/// `None` (unchanged).
pub fn reduced_region_size(extent_size: u64, extents: u64, region_size: u64) -> Option<u64> {
    let max = extent_size * extents;
    (max > 0 && max < u32::MAX as u64 && region_size > max).then(|| 1 << (63 - max.leading_zeros()))
}

/// lvm2's `_raid_rmeta_extents`: superblock and bitmap of one image.
pub fn rmeta_extents(rimage_extents: u64, region_size: u64, extent_size: u64) -> u64 {
    let region_size = if region_size == 0 {
        DEFAULT_REGION_SIZE_KIB * 2
    } else {
        region_size
    };
    let regions = rimage_extents * extent_size / region_size;
    let bytes = 2 * 4096 + regions.div_ceil(8);
    bytes.div_ceil(512).div_ceil(extent_size)
}

/// lvm2's `raid_rimage_extents`: the image size it assumes when sizing the
/// metadata (striped RAID types only; the others take `extents`).
pub fn rimage_extents(t: RaidType, extents: u64, stripes: u64, data_copies: u64) -> u64 {
    if extents == 0 || !t.is_striped_layout() {
        return extents;
    }
    let mut r = extents;
    if t.is_raid10() {
        r *= data_copies.max(1);
    }
    r.div_ceil(stripes.max(1))
}

/// The shape of a RAID LV: type, data stripes and mirrors, as lvcreate
/// works them out (`lp->stripes`, `lp->mirrors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub raid_type: RaidType,
    /// Data stripes: 1 for raid1, stripes per copy for raid10.
    pub stripes: u64,
    /// Copies: legs of raid1, 2 for raid10, 1 otherwise.
    pub mirrors: u64,
}

impl Layout {
    /// Images (sub-LV pairs): data stripes × copies + parity devices.
    pub fn images(&self) -> u64 {
        self.mirrors * self.stripes + self.raid_type.parity_devs()
    }

    /// LV extents per image extent (lvm2's `area_multiple`).
    pub fn area_multiple(&self) -> u64 {
        if self.raid_type.is_raid1() {
            1
        } else {
            self.stripes
        }
    }

    /// The layout of an existing RAID segment.
    pub fn of_segment(seg: &Segment) -> Option<Layout> {
        let t = seg.raid_type()?;
        let n = seg.raid.as_ref()?.images.len() as u64;
        Some(match t {
            RaidType::Raid1 => Layout {
                raid_type: t,
                stripes: 1,
                mirrors: n,
            },
            RaidType::Raid10 => Layout {
                raid_type: t,
                stripes: n / 2,
                mirrors: 2,
            },
            _ => Layout {
                raid_type: t,
                stripes: n.saturating_sub(t.parity_devs()),
                mirrors: 1,
            },
        })
    }
}

/// Everything lvcreate decided about a new RAID LV.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSpec {
    pub name: String,
    pub layout: Layout,
    /// In sectors; `None` for raid1 (no striping).
    pub stripe_size: Option<u64>,
    /// In sectors, as given or defaulted (raised here to keep the LV at
    /// 2^21 regions at most); ignored for raid0/raid0_meta.
    pub region_size: u64,
    /// lvm2's default region size, used to size raid0_meta's metadata.
    pub default_region_size: u64,
    /// LV extents (a multiple of the data stripes).
    pub extents: u64,
    /// Take what can be found, up to `extents` (percentage sizes).
    pub approx: bool,
    pub nosync: bool,
    /// KiB/s per device; `None` = unbounded (not written).
    pub min_recovery_rate: Option<u64>,
    pub max_recovery_rate: Option<u64>,
    pub policy: Policy,
    /// Written as `allocation_policy` on the LV and its sub-LVs.
    pub allocation_policy: Option<String>,
    pub read_only: bool,
    pub tags: Vec<String>,
    pub creation_time: Option<i64>,
    pub creation_host: Option<String>,
}

/// The result of [`create`].
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub vg: Vg,
    /// LV extents actually allocated (less than asked with `approx`).
    pub extents: u64,
    /// Region size written (`None` for raid0 types).
    pub region_size: Option<u64>,
}

fn linear_lv(
    name: String,
    id: String,
    chunks: &[Chunk],
    spec_like: (&Option<String>, &Option<i64>, &Option<String>),
    tags: Vec<String>,
) -> Lv {
    let (alloc, time, host) = spec_like;
    Lv {
        tags,
        allocation_policy: alloc.clone(),
        ..chunks_lv(
            name,
            id,
            vec!["READ".into(), "WRITE".into()],
            chunks,
            *time,
            host.clone(),
        )
    }
}

/// One linear segment per chunk, laid end to end from logical extent 0.
pub(crate) fn linear_segments(chunks: &[Chunk]) -> Vec<Segment> {
    let mut le = 0;
    chunks
        .iter()
        .map(|c| {
            let s = linear_segment(le, c);
            le += c.len;
            s
        })
        .collect()
}

/// A new LV with the given status flags whose segments map `chunks` in
/// order (no tags, no allocation policy): the shape of every sub-LV that
/// create, convert and takeover allocate.
pub(crate) fn chunks_lv(
    name: String,
    id: String,
    status: Vec<String>,
    chunks: &[Chunk],
    creation_time: Option<i64>,
    creation_host: Option<String>,
) -> Lv {
    Lv {
        name,
        id,
        status,
        flags: vec![],
        tags: vec![],
        creation_time,
        creation_host,
        allocation_policy: None,
        read_ahead: None,
        segments: linear_segments(chunks),
        extra: vec![],
    }
}

/// lvm2's `display_size` of a byte count: "8.00 MiB", "1.50 GiB", "512 B".
pub fn display_size_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut i = 0;
    let mut div = 1u128;
    while i + 1 < UNITS.len() && (bytes as u128) >= div * 1024 {
        div *= 1024;
        i += 1;
    }
    if i == 0 {
        return format!("{bytes} B");
    }
    format!("{:.2} {}", bytes as f64 / div as f64, UNITS[i])
}

fn linear_segment(le: u64, c: &Chunk) -> Segment {
    Segment {
        start_extent: le,
        extent_count: c.len,
        segtype: SegType::Striped,
        tags: vec![],
        areas: vec![Area::Pv {
            pv: c.pv.clone(),
            pe: c.pe,
        }],
        stripe_size: None,
        raid: None,
        extra: vec![],
    }
}

/// Append chunks to a linear LV, merging with its last segment when the
/// first chunk continues it on the same PV.
fn append_chunks(lv: &mut Lv, chunks: &[Chunk]) {
    for c in chunks {
        let le = lv.size_extents();
        if let Some(last) = lv.segments.last_mut() {
            if let (true, [Area::Pv { pv, pe }]) = (last.is_linear(), last.areas.as_slice()) {
                if *pv == c.pv && pe + last.extent_count == c.pe && last.extra.is_empty() {
                    last.extent_count += c.len;
                    continue;
                }
            }
        }
        lv.segments.push(linear_segment(le, c));
    }
}

/// The names of every sub-LV an LV is built on, recursively, in the order
/// its segments list them.
pub fn sub_lvs(vg: &Vg, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        let Some(lv) = vg.lv(&n) else { continue };
        for seg in &lv.segments {
            for s in seg.sub_lv_names() {
                if !out.iter().any(|o| o == s) && s != name {
                    out.push(s.to_string());
                    todo.push(s.to_string());
                }
            }
        }
    }
    out
}

/// Create a RAID LV: allocate its images (metadata and data of each on one
/// PV, images on distinct PVs) and add the LV and its sub-LVs to the VG.
pub fn create(
    vg: &Vg,
    spec: &CreateSpec,
    candidates: Option<&[Candidate]>,
    new_id: &mut dyn FnMut() -> String,
) -> Result<Created, RaidError> {
    let l = spec.layout;
    let t = l.raid_type;
    if vg.lv(&spec.name).is_some() {
        return Err(RaidError::Invalid(format!(
            "Logical Volume \"{}\" already exists in volume group \"{}\"",
            spec.name, vg.name
        )));
    }
    let images = l.images();
    let am = l.area_multiple();
    if spec.extents == 0 || !spec.extents.is_multiple_of(am) {
        return Err(RaidError::Invalid(format!(
            "Number of extents requested ({}) needs to be divisible by {am}.",
            spec.extents
        )));
    }
    let region_size = (!t.is_any_raid0())
        .then(|| ensure_min_region_size(spec.extents * vg.extent_size, spec.region_size));
    let meta_extents = if t.has_meta() {
        let rimage = rimage_extents(t, spec.extents, l.stripes, l.mirrors);
        rmeta_extents(
            rimage,
            region_size.unwrap_or(spec.default_region_size),
            vg.extent_size,
        )
    } else {
        0
    };
    let req = RaidRequest {
        images: images as usize,
        data_images: (images - t.parity_devs()) as usize,
        extents_per_image: spec.extents / am,
        meta_extents,
        policy: spec.policy,
        approx: spec.approx,
        previous_end: vec![],
        existing: vec![],
        cling_to: vec![],
    };
    let a = alloc::allocate_raid(vg, &req, candidates)?;
    let per_image = a.extents_per_image();
    let extents = per_image * am;

    let mut out = vg.clone();
    let mut status = vec!["READ".to_string()];
    if !spec.read_only {
        status.push("WRITE".into());
    }
    status.push("VISIBLE".into());
    if spec.nosync && !t.is_any_raid0() {
        status.push("NOTSYNCED".into());
    }
    let sub = (
        &spec.allocation_policy,
        &spec.creation_time,
        &spec.creation_host,
    );
    let mut raid = RaidSeg {
        device_count: images,
        region_size,
        data_copies: t.is_raid10().then_some(l.mirrors),
        min_recovery_rate: spec.min_recovery_rate.filter(|_| !t.is_any_raid0()),
        max_recovery_rate: spec.max_recovery_rate.filter(|_| !t.is_any_raid0()),
        ..RaidSeg::default()
    };
    let mut subs = Vec::new();
    for s in 0..images as usize {
        let image = format!("{}_rimage_{s}", spec.name);
        subs.push(linear_lv(image.clone(), new_id(), &a.data[s], sub, vec![]));
        raid.images.push(Some(image));
        match &a.meta[s] {
            Some(m) => {
                let meta = format!("{}_rmeta_{s}", spec.name);
                // lvm2 copies the LV's tags to its metadata LVs (so that
                // they can be activated to be wiped) and keeps them there.
                subs.push(linear_lv(
                    meta.clone(),
                    new_id(),
                    std::slice::from_ref(m),
                    sub,
                    spec.tags.clone(),
                ));
                raid.meta.push(Some(meta));
            }
            None => raid.meta.push(None),
        }
    }
    let top = Lv {
        name: spec.name.clone(),
        id: new_id(),
        status,
        flags: vec![],
        tags: spec.tags.clone(),
        creation_time: spec.creation_time,
        creation_host: spec.creation_host.clone(),
        allocation_policy: spec.allocation_policy.clone(),
        read_ahead: None,
        segments: vec![Segment {
            start_extent: 0,
            extent_count: extents,
            segtype: SegType::Raid(t),
            tags: vec![],
            areas: vec![],
            stripe_size: spec.stripe_size.filter(|_| t.is_striped_layout()),
            raid: Some(raid),
            extra: vec![],
        }],
        extra: vec![],
    };
    out.lvs.push(top);
    out.lvs.extend(subs);
    Ok(Created {
        vg: out,
        extents,
        region_size,
    })
}

/// The RAID segment of an LV that RAID operations can work on: exactly one
/// segment, every slot assigned to an existing linear (or striped) image.
fn raid_lv<'a>(vg: &'a Vg, name: &str) -> Result<(&'a Lv, Layout), RaidError> {
    let lv = vg
        .lv(name)
        .ok_or_else(|| RaidError::NoSuchLv(format!("{}/{name}", vg.name)))?;
    let seg = match lv.segments.as_slice() {
        [seg] if seg.raid_type().is_some() => seg,
        _ => return Err(RaidError::NotRaid(format!("{}/{name}", vg.name))),
    };
    let r = seg
        .raid
        .as_ref()
        .ok_or_else(|| RaidError::NotRaid(name.into()))?;
    for (i, img) in r.images.iter().enumerate() {
        let Some(img) = img else {
            return Err(RaidError::Invalid(format!(
                "Logical volume {}/{name} has no image in slot {i}; repair it first.",
                vg.name
            )));
        };
        let ok = vg.lv(img).is_some_and(|l| {
            l.segments.iter().all(|s| {
                s.segtype == SegType::Striped
                    && s.areas.iter().all(|a| matches!(a, Area::Pv { .. }))
            })
        });
        if !ok {
            return Err(RaidError::Invalid(format!(
                "Image {img} of {}/{name} is missing or is not a plain linear LV; \
                 this version of lvm cannot resize it.",
                vg.name
            )));
        }
    }
    let layout = Layout::of_segment(seg).ok_or_else(|| RaidError::NotRaid(name.into()))?;
    Ok((lv, layout))
}

/// What [`extend`] changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Extended {
    pub vg: Vg,
    /// New LV size in extents.
    pub extents: u64,
    /// The region size, when it had to grow for the new size.
    pub region_size_changed: Option<(u64, u64)>,
}

/// Extend every image of a RAID LV by `add / area_multiple` extents
/// (`add` must be a multiple of the data stripes). Image `s` continues on
/// its own PVs where possible and never uses another image's PV.
pub fn extend(
    vg: &Vg,
    name: &str,
    add: u64,
    policy: Policy,
    approx: bool,
    nosync: bool,
    candidates: Option<&[Candidate]>,
) -> Result<Extended, RaidError> {
    let (lv, l) = raid_lv(vg, name)?;
    let seg = &lv.segments[0];
    let r = seg.raid.as_ref().expect("raid segment");
    let am = l.area_multiple();
    if add == 0 || !add.is_multiple_of(am) {
        return Err(RaidError::Invalid(format!(
            "Number of extents requested ({add}) needs to be divisible by {am}."
        )));
    }
    let current = lv.size_extents();
    let mut previous_end = Vec::new();
    let mut existing = Vec::new();
    let mut cling_to = Vec::new();
    for (s, img) in r.images.iter().enumerate() {
        let img = vg.lv(img.as_deref().expect("checked")).expect("checked");
        cling_to.push(
            img.segments
                .first()
                .and_then(|f| match f.areas.first() {
                    Some(Area::Pv { pv, .. }) => Some(vec![pv.clone()]),
                    _ => None,
                })
                .unwrap_or_default(),
        );
        previous_end.push(
            img.segments
                .last()
                .and_then(|last| match last.areas.as_slice() {
                    [Area::Pv { pv, pe }] => Some((pv.clone(), pe + last.extent_count)),
                    _ => None,
                }),
        );
        let mut pvs: Vec<String> = Vec::new();
        let metas = r.meta.get(s).cloned().flatten();
        let owned = std::iter::once(img).chain(metas.as_deref().and_then(|m| vg.lv(m)));
        for l in owned {
            for sg in &l.segments {
                for a in &sg.areas {
                    if let Area::Pv { pv, .. } = a {
                        if !pvs.contains(pv) {
                            pvs.push(pv.clone());
                        }
                    }
                }
            }
        }
        existing.push(pvs);
    }
    let req = RaidRequest {
        images: r.images.len(),
        data_images: r.images.len() - l.raid_type.parity_devs() as usize,
        extents_per_image: add / am,
        meta_extents: 0,
        policy,
        approx,
        previous_end,
        existing,
        cling_to,
    };
    let a = alloc::allocate_raid(vg, &req, candidates)?;
    let got = a.extents_per_image() * am;
    let mut out = vg.clone();
    for (s, img) in r.images.iter().enumerate() {
        let img = out
            .lv_mut(img.as_deref().expect("checked"))
            .expect("checked");
        append_chunks(img, &a.data[s]);
    }
    let new_size = current + got;
    let lv = out.lv_mut(name).expect("checked");
    let seg = &mut lv.segments[0];
    seg.extent_count += got;
    let mut region_size_changed = None;
    if !l.raid_type.is_any_raid0() {
        if let Some(raid) = seg.raid.as_mut() {
            let old = raid.region_size.unwrap_or(0);
            if old > 0 {
                let new = ensure_min_region_size(new_size * vg.extent_size, old);
                if new != old {
                    raid.region_size = Some(new);
                    region_size_changed = Some((old, new));
                }
            }
        }
    }
    if nosync && l.raid_type.is_mirrored() && !lv.has_status("NOTSYNCED") {
        lv.status.push("NOTSYNCED".into());
    }
    Ok(Extended {
        vg: out,
        extents: new_size,
        region_size_changed,
    })
}

/// Remove extents from the end of a linear LV.
fn trim_linear(lv: &mut Lv, remove: u64) {
    let mut left = lv.size_extents().saturating_sub(remove);
    let mut keep = Vec::new();
    for mut s in std::mem::take(&mut lv.segments) {
        if left == 0 {
            break;
        }
        if s.extent_count > left {
            s.extent_count = left;
        }
        left -= s.extent_count;
        keep.push(s);
    }
    lv.segments = keep;
}

/// Reduce a RAID LV to `new_extents` (a multiple of the data stripes,
/// above 0): every image loses `(old - new) / area_multiple` extents from
/// its end, as lvm2's `lv_reduce` does. The metadata LVs keep their size
/// (one extent holds the bitmap of any image lvm2 allows).
pub fn reduce(vg: &Vg, name: &str, new_extents: u64) -> Result<Vg, RaidError> {
    let (lv, l) = raid_lv(vg, name)?;
    let current = lv.size_extents();
    let am = l.area_multiple();
    if new_extents == 0 || new_extents >= current || !new_extents.is_multiple_of(am) {
        return Err(RaidError::Invalid(format!(
            "Cannot reduce {}/{name} from {current} to {new_extents} extents: the new size \
             must be above 0, below the current size and a multiple of {am}.",
            vg.name
        )));
    }
    let per_image = (current - new_extents) / am;
    let images: Vec<String> = lv.segments[0]
        .raid
        .as_ref()
        .expect("raid")
        .images
        .iter()
        .flatten()
        .cloned()
        .collect();
    let mut out = vg.clone();
    for img in images {
        trim_linear(out.lv_mut(&img).expect("checked"), per_image);
    }
    out.lv_mut(name).expect("checked").segments[0].extent_count = new_extents;
    Ok(out)
}

/// Remove an LV and every sub-LV under it.
pub fn remove(vg: &Vg, name: &str) -> Result<Vg, RaidError> {
    if vg.lv(name).is_none() {
        return Err(RaidError::NoSuchLv(format!("{}/{name}", vg.name)));
    }
    let mut gone = sub_lvs(vg, name);
    gone.push(name.to_string());
    let mut out = vg.clone();
    out.lvs.retain(|l| !gone.contains(&l.name));
    Ok(out)
}

/// Rename an LV and its sub-LVs: a sub-LV named `<old>_<suffix>` becomes
/// `<new>_<suffix>`, and every reference follows (lvm2's
/// `lv_rename_update`; a sub-LV not named that way is an error).
pub fn rename(vg: &Vg, old: &str, new: &str) -> Result<Vg, RaidError> {
    if vg.lv(old).is_none() {
        return Err(RaidError::NoSuchLv(format!("{}/{old}", vg.name)));
    }
    let prefix = format!("{old}_");
    let mut map: Vec<(String, String)> = vec![(old.to_string(), new.to_string())];
    for s in sub_lvs(vg, old) {
        let Some(rest) = s.strip_prefix(&prefix) else {
            return Err(RaidError::Invalid(format!(
                "Cannot rename \"{old}\": name format not recognized for internal LV \"{s}\""
            )));
        };
        map.push((s.clone(), format!("{new}_{rest}")));
    }
    for (_, to) in &map {
        if vg.lv(to).is_some() && !map.iter().any(|(from, _)| from == to) {
            return Err(RaidError::Invalid(format!(
                "Logical Volume \"{to}\" already exists in volume group \"{}\"",
                vg.name
            )));
        }
    }
    let lookup = |n: &str| map.iter().find(|(f, _)| f == n).map(|(_, t)| t.clone());
    let mut out = vg.clone();
    for lv in &mut out.lvs {
        if let Some(t) = lookup(&lv.name) {
            lv.name = t;
        }
        for seg in &mut lv.segments {
            for a in &mut seg.areas {
                if let Area::Lv { lv, .. } = a {
                    if let Some(t) = lookup(lv) {
                        *lv = t;
                    }
                }
            }
            if let Some(r) = seg.raid.as_mut() {
                for n in r.meta.iter_mut().chain(r.images.iter_mut()).flatten() {
                    if let Some(t) = lookup(n) {
                        *n = t;
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
