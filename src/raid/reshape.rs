//! RAID reshapes: the same RAID level with another layout (raid5_ls →
//! raid5_n), stripe size (`-I`) or number of stripes (`--stripes`), along
//! lvm2 2.03.16's `_raid_reshape` (`lib/metadata/raid_manip.c`).
//!
//! The kernel (dm-raid's out-of-place reshape) moves the data; what the
//! metadata carries is
//!
//! * **reshape space**: `reshape_count` extents at one end of every data
//!   image (`reshape_count` is written on the top-level segment and on the
//!   first segment of each image, wherever the space is; the LV's
//!   `extent_count` includes it, its size does not). Where the data sits
//!   inside an image is known only to the kernel (`data_offset` in the
//!   status line), so every plan here takes [`KernelState`];
//! * **flags**, written as `+FLAG` suffixes of the segment types so that
//!   older lvm2 versions refuse the LV: `RESHAPE` and `RESHAPE_DATA_OFFSET`
//!   on the RAID LV, `RESHAPE_DELTA_DISKS_PLUS/MINUS` on images being
//!   added/removed (turned into `delta_disks ±N` on the table line) and
//!   `REMOVE_AFTER_RESHAPE` on images a shrinking reshape has emptied;
//! * `data_offset` on the RAID segment for the one commit that starts the
//!   reshape (`data_offset N` on the table line).
//!
//! Every function returns the commits in lvm2's order; the caller loads
//! the table after each ([`crate::cli::lvconvert::commit_live`]).
//! Reshapes need a live array: offline they are refused by the takeover
//! planner before any of this runs.

use crate::alloc::{Candidate, Chunk, Policy};
use crate::format::config::{Node, Value};
use crate::model::{Area, Lv, RaidType, Vg};

use super::convert::{self, Env, Step};
use super::takeover::Msg;
use super::RaidError;

/// What the kernel says about the active array (`dmsetup status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelState {
    /// Devices in the running array (the status line's count).
    pub devices: u64,
    /// Health characters the status line has (more than `devices` after a
    /// reshape that removed some, until they are dropped).
    pub health_devices: u64,
    /// Of those, the ones alive and in sync (`A`).
    pub devices_in_sync: u64,
    /// The sync ratio is complete.
    pub in_sync: bool,
    /// Where the data starts inside every image, sectors.
    pub data_offset: u64,
    /// The LV is open (mounted, in use).
    pub open: bool,
}

impl KernelState {
    /// From the dm-raid status line of the LV and its open count.
    pub fn from_status(s: &crate::activate::DmRaidStatus, open_count: u32) -> KernelState {
        KernelState {
            devices: u64::from(s.devices),
            health_devices: s.health.len() as u64,
            devices_in_sync: s.health.chars().filter(|c| *c == 'A').count() as u64,
            in_sync: s.in_sync == s.total,
            data_offset: s.data_offset.unwrap_or(0),
            open: open_count > 0,
        }
    }
}

/// A reshape request, resolved as lvm2's `lv_raid_convert` resolves it.
pub struct ReshapeRequest<'a> {
    pub lv: &'a str,
    pub to: RaidType,
    /// New number of data stripes.
    pub stripes: u64,
    /// New stripe size, sectors.
    pub stripe_size: u64,
    /// New region size, sectors.
    pub region_size: u64,
    /// `--force` (removing stripes loses data past the new size).
    pub force: bool,
    pub kernel: KernelState,
    pub candidates: Option<&'a [Candidate]>,
    pub policy: Policy,
    pub creation_time: Option<i64>,
    pub creation_host: Option<String>,
}

/// A planned reshape.
#[derive(Debug, Clone, PartialEq)]
pub struct ReshapePlan {
    pub lines: Vec<Msg>,
    pub prompt: Option<String>,
    pub steps: Vec<Step>,
}

fn invalid(s: impl Into<String>) -> RaidError {
    RaidError::Invalid(s.into())
}

/// Where the reshape space goes (lvm2's `enum alloc_where`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Begin,
    End,
    Anywhere,
}

/// Extents of reshape space per data image of `lv` (0: none).
pub fn reshape_len(vg: &Vg, lv: &str) -> u64 {
    vg.lv(lv)
        .and_then(|l| l.segments.first())
        .and_then(|s| s.raid.as_ref())
        .and_then(|r| r.reshape_count)
        .unwrap_or(0)
}

/// Image pairs of `lv` a shrinking reshape emptied (`REMOVE_AFTER_RESHAPE`)
/// and still listed, with the stripe count `lvconvert --stripes` needs to
/// drop them; `None` when there are none.
pub fn pending_removal(vg: &Vg, lv: &str) -> Option<(u64, u64)> {
    let l = vg.lv(lv)?;
    let t = l.raid_type()?;
    let images = images_of(vg, lv);
    let pending = images
        .iter()
        .filter(|i| {
            vg.lv(i)
                .is_some_and(|l| l.has_status("REMOVE_AFTER_RESHAPE"))
        })
        .count() as u64;
    (pending > 0).then(|| (pending, images.len() as u64 - pending - t.parity_devs()))
}

/// lvm2's minimum out-of-place reshape space per image: 1 MiB or one
/// stripe, whichever is larger, in whole extents.
fn needed_len(stripe_size: u64, extent_size: u64) -> u64 {
    (stripe_size.max(2048) / extent_size.max(1)).max(1)
}

fn images_of(vg: &Vg, lv: &str) -> Vec<String> {
    vg.lv(lv)
        .and_then(|l| l.segments.first())
        .and_then(|s| s.raid.as_ref())
        .map(|r| r.images.iter().flatten().cloned().collect())
        .unwrap_or_default()
}

fn metas_of(vg: &Vg, lv: &str) -> Vec<Option<String>> {
    vg.lv(lv)
        .and_then(|l| l.segments.first())
        .and_then(|s| s.raid.as_ref())
        .map(|r| r.meta.clone())
        .unwrap_or_default()
}

/// A linear image's extents in LE order.
fn chunks_of(lv: &Lv) -> Result<Vec<Chunk>, RaidError> {
    let mut out = Vec::new();
    for s in &lv.segments {
        match s.areas.as_slice() {
            [Area::Pv { pv, pe }] if s.raid.is_none() => out.push(Chunk {
                pv: pv.clone(),
                pe: *pe,
                len: s.extent_count,
            }),
            _ => {
                return Err(invalid(format!(
                    "Cannot reshape: image {} is not a linear LV on PVs.",
                    lv.name
                )))
            }
        }
    }
    Ok(out)
}

/// Lay `lv` out over `chunks` (adjacent extents of a PV merged, as lvm2's
/// `lv_merge_segments`), `reshape_count` on the first segment.
fn set_chunks(lv: &mut Lv, chunks: &[Chunk], reshape: u64) {
    let mut merged: Vec<Chunk> = Vec::new();
    for c in chunks.iter().filter(|c| c.len > 0) {
        match merged.last_mut() {
            Some(l) if l.pv == c.pv && l.pe + l.len == c.pe => l.len += c.len,
            _ => merged.push(c.clone()),
        }
    }
    let tags: Vec<Vec<String>> = lv.segments.iter().map(|s| s.tags.clone()).collect();
    lv.segments = super::linear_segments(&merged);
    if let (Some(first), Some(t)) = (lv.segments.first_mut(), tags.first()) {
        first.tags = t.clone();
    }
    set_image_reshape(lv, reshape);
}

/// `reshape_count` on the first segment of an image, nowhere else.
fn set_image_reshape(lv: &mut Lv, reshape: u64) {
    for (i, s) in lv.segments.iter_mut().enumerate() {
        s.extra.retain(|(k, _)| k != "reshape_count");
        if i == 0 && reshape > 0 {
            s.extra.insert(
                0,
                (
                    "reshape_count".into(),
                    Node::Value(Value::Int(reshape as i64)),
                ),
            );
        }
    }
}

/// lvm2's `_lv_set_reshape_len`.
fn set_reshape_len(vg: &mut Vg, lv: &str, reshape: u64) {
    for img in images_of(vg, lv) {
        if let Some(l) = vg.lv_mut(&img) {
            set_image_reshape(l, reshape);
        }
    }
    if let Some(r) = vg
        .lv_mut(lv)
        .and_then(|l| l.segments.first_mut())
        .and_then(|s| s.raid.as_mut())
    {
        r.reshape_count = (reshape > 0).then_some(reshape);
    }
}

/// lvm2's `_lv_relocate_reshape_space`: move the reshape extents of every
/// image from its end to its beginning (`Begin`) or back (`End`).
fn relocate(vg: &mut Vg, lv: &str, to: Where) -> Result<(), RaidError> {
    let r = reshape_len(vg, lv);
    for img in images_of(vg, lv) {
        let l = vg.lv_mut(&img).expect("image exists");
        let chunks = chunks_of(l)?;
        let total: u64 = chunks.iter().map(|c| c.len).sum();
        let cut = if to == Where::Begin { total - r } else { r };
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        let mut at = 0;
        for c in chunks {
            if at + c.len <= cut {
                head.push(c.clone());
            } else if at >= cut {
                tail.push(c.clone());
            } else {
                let k = cut - at;
                head.push(Chunk {
                    len: k,
                    ..c.clone()
                });
                tail.push(Chunk {
                    pe: c.pe + k,
                    len: c.len - k,
                    pv: c.pv.clone(),
                });
            }
            at += c.len;
        }
        tail.extend(head);
        set_chunks(l, &tail, r);
    }
    Ok(())
}

/// Add `per_image` extents at the end of every image (lvm2's `lv_extend`
/// of the RAID LV: next to the image's last extent if it can, on the
/// image's own PV otherwise).
fn grow_images(
    vg: &mut Vg,
    lv: &str,
    per_image: u64,
    policy: Policy,
    cands: Option<&[Candidate]>,
) -> Result<(), RaidError> {
    let t = vg.lv(lv).and_then(Lv::raid_type).expect("raid LV");
    let data = images_of(vg, lv).len() as u64 - t.parity_devs();
    let region = vg
        .lv(lv)
        .and_then(|l| l.segments[0].raid.as_ref())
        .and_then(|r| r.region_size);
    // The images' first segments carry `reshape_count`, which would stop
    // the allocator's merge with a following extent: drop it for the
    // extension, set_reshape_len puts it back.
    let keep = reshape_len(vg, lv);
    set_reshape_len(vg, lv, 0);
    let ext = super::extend(vg, lv, per_image * data, policy, false, false, cands).map_err(
        |e| match e {
            RaidError::Alloc(a) => invalid(format!(
                "Failed to allocate out-of-place reshape space for {}/{lv}: {a}",
                vg.name
            )),
            e => e,
        },
    )?;
    *vg = ext.vg;
    // lv_extend keeps the region size (lvresize is what adjusts it).
    if let Some(r) = vg.lv_mut(lv).and_then(|l| l.segments[0].raid.as_mut()) {
        r.region_size = region;
    }
    set_reshape_len(vg, lv, keep);
    Ok(())
}

/// What `_lv_alloc_reshape_space` needs besides the VG: where new
/// extents may go, and where the kernel says the data starts (updated as
/// lvm2 re-reads it: after moving the space to the end it is 0).
struct Space<'a> {
    policy: Policy,
    cands: Option<&'a [Candidate]>,
    data_offset: u64,
}

impl Space<'_> {
    /// lvm2's `_lv_alloc_reshape_space`: make sure every image has the
    /// reshape space a reshape with `stripe_size` needs, and put it where
    /// `to` says. Returns the commit an allocation makes (lvm2 reloads
    /// before it relocates anything).
    fn alloc(
        &mut self,
        vg: &mut Vg,
        lv: &str,
        to: Where,
        stripe_size: u64,
    ) -> Result<Option<Vg>, RaidError> {
        let es = vg.extent_size;
        let mut need = needed_len(stripe_size, es);
        let have = reshape_len(vg, lv);
        if have > 0 {
            if need > have {
                if self.data_offset > 0 {
                    relocate(vg, lv, Where::End)?;
                }
                self.data_offset = 0;
                need -= have;
            } else {
                need = 0;
            }
        }
        let mut commit = None;
        if need > 0 {
            grow_images(vg, lv, need, self.policy, self.cands)?;
            set_reshape_len(vg, lv, have + need);
            commit = Some(vg.clone());
            convert::set_status(vg.lv_mut(lv).expect("LV"), "RESHAPE_DATA_OFFSET", true);
        }
        match to {
            Where::Begin if self.data_offset == 0 => relocate(vg, lv, Where::Begin)?,
            Where::End if self.data_offset > 0 => relocate(vg, lv, Where::End)?,
            _ => {}
        }
        set_data_offset(vg, lv, Some(reshape_len(vg, lv) * es));
        Ok(commit)
    }
}

fn set_data_offset(vg: &mut Vg, lv: &str, v: Option<u64>) {
    if let Some(r) = vg
        .lv_mut(lv)
        .and_then(|l| l.segments.first_mut())
        .and_then(|s| s.raid.as_mut())
    {
        r.data_offset = v;
    }
}

fn step(vg: &Vg) -> Step {
    Step {
        wipe_first: vec![],
        vg: vg.clone(),
    }
}

/// lvm2's `_reset_flags_passed_to_kernel` and the commit after it: the
/// table has had `delta_disks`/`data_offset`/`rebuild`; from now on the
/// kernel's superblocks hold that state.
fn reset_passed_flags(vg: &mut Vg, lv: &str) {
    let images = images_of(vg, lv);
    let metas = metas_of(vg, lv);
    for (s, img) in images.iter().enumerate() {
        let minus = vg
            .lv(img)
            .is_some_and(|l| l.has_status("RESHAPE_DELTA_DISKS_MINUS"));
        let l = vg.lv_mut(img).expect("image");
        if minus {
            convert::set_status(l, "REMOVE_AFTER_RESHAPE", true);
        }
        for f in [
            "REBUILD",
            "RESHAPE_DELTA_DISKS_PLUS",
            "RESHAPE_DELTA_DISKS_MINUS",
        ] {
            convert::set_status(l, f, false);
        }
        if minus {
            if let Some(Some(m)) = metas.get(s) {
                convert::set_status(vg.lv_mut(m).expect("meta"), "REMOVE_AFTER_RESHAPE", true);
            }
        }
    }
    set_data_offset(vg, lv, None);
}

/// The two commits of lvm2's `_lv_update_reload_fns_reset_eliminate_lvs`:
/// with the flags for the kernel, then without them.
fn load_then_reset(steps: &mut Vec<Step>, vg: &mut Vg, lv: &str, wipe_first: Vec<Chunk>) {
    steps.push(Step {
        wipe_first,
        vg: vg.clone(),
    });
    reset_passed_flags(vg, lv);
    steps.push(step(vg));
}

fn set_segtype(vg: &mut Vg, lv: &str, t: RaidType) {
    if let Some(s) = vg.lv_mut(lv).and_then(|l| l.segments.first_mut()) {
        s.segtype = crate::model::SegType::Raid(t);
    }
}

fn set_stripe_size(vg: &mut Vg, lv: &str, ss: u64) {
    if let Some(s) = vg.lv_mut(lv).and_then(|l| l.segments.first_mut()) {
        s.stripe_size = (ss > 0).then_some(ss);
    }
}

fn set_region(vg: &mut Vg, lv: &str, region: u64) {
    if let Some(r) = vg
        .lv_mut(lv)
        .and_then(|l| l.segments.first_mut())
        .and_then(|s| s.raid.as_mut())
    {
        if region > 0 {
            r.region_size = Some(region);
        }
    }
}

/// lvm2's `_lv_reshape_get_new_len`: the LV's extents (data and reshape
/// space) with `new` instead of `old` images.
fn new_len(le: u64, reshape: u64, t: RaidType, old: u64, new: u64) -> u64 {
    let (di_old, di_new) = (old - t.parity_devs(), new - t.parity_devs());
    reshape * di_new + (le - reshape * di_old) * di_new / di_old
}

/// Free the reshape space of an active RAID LV (lvm2's
/// `_lv_free_reshape_space_with_status`), in memory; returns the commit
/// lvm2 makes when the space had to be moved from the beginning of the
/// images first (`data_offset 0` tells the kernel the data now starts
/// there) and where the space was.
pub fn free_space(
    vg: &mut Vg,
    lv: &str,
    kernel: &KernelState,
) -> Result<(Vec<Step>, bool), RaidError> {
    let r = reshape_len(vg, lv);
    if r == 0 {
        convert::set_status(vg.lv_mut(lv).expect("LV"), "RESHAPE", false);
        return Ok((vec![], false));
    }
    let t = vg.lv(lv).and_then(Lv::raid_type).expect("raid LV");
    let mut steps = Vec::new();
    let was_begin = kernel.data_offset > 0;
    if was_begin {
        relocate(vg, lv, Where::End)?;
        // lvm2's data_offset "1": `data_offset = 0` in the metadata and
        // `data_offset 0` on the table.
        set_data_offset(vg, lv, Some(0));
        steps.push(step(vg));
    } else {
        set_data_offset(vg, lv, None);
    }
    for img in images_of(vg, lv) {
        let l = vg.lv_mut(&img).expect("image");
        let mut chunks = chunks_of(l)?;
        let mut cut = r;
        while cut > 0 {
            let last = chunks
                .last_mut()
                .expect("image longer than its reshape space");
            if last.len > cut {
                last.len -= cut;
                cut = 0;
            } else {
                cut -= last.len;
                chunks.pop();
            }
        }
        set_chunks(l, &chunks, 0);
    }
    let images = images_of(vg, lv).len() as u64;
    let mut data = images - t.parity_devs();
    if t.is_raid10() {
        let copies = vg.lv(lv).expect("LV").segments[0]
            .raid
            .as_ref()
            .and_then(|x| x.data_copies)
            .unwrap_or(2);
        data = images / copies.max(1);
    }
    let top = vg.lv_mut(lv).expect("LV");
    top.segments[0].extent_count -= r * data;
    set_reshape_len(vg, lv, 0);
    let top = vg.lv_mut(lv).expect("LV");
    convert::set_status(top, "RESHAPE_DATA_OFFSET", false);
    convert::set_status(top, "RESHAPE", false);
    Ok((steps, was_begin))
}

fn seg_name(t: RaidType) -> String {
    match t {
        RaidType::Raid5 => "raid5 (same as raid5_ls)".into(),
        RaidType::Raid6 => "raid6 (same as raid6_zr)".into(),
        RaidType::Raid10 => "raid10 (same as raid10_near)".into(),
        t => t.name().into(),
    }
}

/// Plan a reshape of an active RAID LV (lvm2's `_raid_reshape`; the
/// request has passed lvm2's `_reshape_requested`).
pub fn plan(vg: &Vg, req: &ReshapeRequest) -> Result<ReshapePlan, RaidError> {
    let lv_name = req.lv;
    let disp = format!("{}/{lv_name}", vg.name);
    let lv = vg
        .lv(lv_name)
        .ok_or_else(|| RaidError::NoSuchLv(disp.clone()))?;
    let seg = &lv.segments[0];
    let t = lv
        .raid_type()
        .ok_or_else(|| RaidError::NotRaid(disp.clone()))?;
    let r = seg.raid.as_ref().expect("raid segment");
    let old = r.images.len() as u64;
    let new = req.stripes + t.parity_devs();
    let cur_ss = seg.stripe_size.unwrap_or(0);
    let cur_region = r.region_size.unwrap_or(0);
    let mut lines = Vec::new();
    if new > 64 {
        return Err(invalid(
            "Unable to handle raid arrays with more than 64 devices.",
        ));
    }
    if old < new && !vg.users_of(lv_name).is_empty() {
        return Err(invalid(format!("Unable to convert stacked volume {disp}.")));
    }
    if !req.kernel.in_sync {
        return Err(invalid(format!(
            "Unable to convert {disp} while it is not in-sync."
        )));
    }
    let mut out = vg.clone();
    convert::set_status(out.lv_mut(lv_name).expect("LV"), "RESHAPE", false);
    let mut steps = Vec::new();

    // No change: the request frees the reshape space.
    if req.to == t && new == old && req.stripe_size == cur_ss && req.region_size == cur_region {
        let (mut pre, was_begin) = free_space(&mut out, lv_name, &req.kernel)?;
        lines.push(Msg::Print(format!(
            "No change in RAID LV {disp} layout, freeing reshape space."
        )));
        if reshape_len(vg, lv_name) == 0 {
            lines.push(Msg::Warn(format!(
                "LV {disp} does not have reshape space allocated."
            )));
            return Err(invalid(lines_text(&lines)));
        }
        steps.append(&mut pre);
        if !was_begin {
            set_data_offset(&mut out, lv_name, None);
        }
        load_then_reset(&mut steps, &mut out, lv_name, vec![]);
        return Ok(ReshapePlan {
            lines,
            prompt: None,
            steps,
        });
    }
    // lvm2 sizes raid10's reshape space per data copy and frees it before
    // adding stripes; that accounting is not reproduced here yet.
    if t.is_raid10() {
        return Err(invalid(format!(
            "Reshaping raid10 LV {disp} (stripes or stripe size) is not supported by this \
             version; its mirrors can still be changed with --type/-m."
        )));
    }
    let too_few = if t.is_raid4() || t.is_raid5() {
        req.stripes < 1
    } else {
        req.stripes < 2
    };
    if too_few {
        return Err(invalid("Too few stripes requested."));
    }
    // _reshaped_state against the current image count.
    let k = &req.kernel;
    if k.devices == old {
        if k.devices_in_sync < k.health_devices {
            return Err(invalid(format!("Can't reshape out of sync LV {disp}.")));
        }
    } else if k.devices < old {
        // Possible after a shrinking reshape whose freed images are still
        // there: only finishing that is allowed.
        if k.devices_in_sync != new {
            return Err(invalid(format!(
                "Device count is incorrect. Forgotten \"lvconvert --stripes {} {disp}\" to \
                 remove {} images after reshape?",
                k.devices_in_sync.saturating_sub(t.parity_devs()),
                old.saturating_sub(k.devices_in_sync)
            )));
        }
    } else {
        return Err(invalid(format!(
            "The kernel runs {disp} with {} devices, the metadata has {old}: refresh it first \
             (lvchange --refresh {disp}).",
            k.devices
        )));
    }
    if cur_ss != req.stripe_size {
        lines.push(Msg::Print(format!(
            "Converting stripesize {} of {} LV {disp} to {}.",
            convert::display_size(cur_ss),
            seg_name(t),
            convert::display_size(req.stripe_size)
        )));
    }
    let prompt;
    let mut space = Space {
        policy: req.policy,
        cands: req.candidates,
        data_offset: req.kernel.data_offset,
    };
    let es = vg.extent_size;
    if old < new {
        // Adding stripes (_raid_reshape_add_images).
        if req.to != t {
            lines.push(Msg::Print(
                "Ignoring layout change on device adding reshape.".into(),
            ));
        }
        let reshape = reshape_len(vg, lv_name);
        let le = lv.size_extents();
        let current = le - reshape * (old - t.parity_devs());
        let grown = new_len(le, reshape, t, old, new) - reshape * (new - t.parity_devs());
        lines.push(Msg::Warn(format!(
            "WARNING: Adding stripes to active{} logical volume {disp} will grow it from \
             {current} to {grown} extents!",
            if req.kernel.open { " and open" } else { "" }
        )));
        lines.push(Msg::Print(format!(
            "Run \"lvresize -l{current} {disp}\" to shrink it or use the additional capacity."
        )));
        prompt = Some(format!(
            "Are you sure you want to add {} images to {} LV {disp}? [y/n]: ",
            new - old,
            seg_name(t)
        ));
        // New pairs as big as image 0 (reshape space included), visible
        // first and wiped (lvm2's _clear_lvs commit).
        let image_extents = vg
            .lv(&images_of(vg, lv_name)[0])
            .map(Lv::size_extents)
            .unwrap_or(0);
        let mut new_id = || crate::uuid::format(&crate::uuid::generate());
        let mut env = Env {
            new_id: &mut new_id,
            creation_time: req.creation_time,
            creation_host: req.creation_host.clone(),
            default_region_size: cur_region,
        };
        let (pairs, wipe) = convert::alloc_pairs(
            &mut out,
            lv_name,
            (new - old) as usize,
            image_extents,
            cur_region,
            req.candidates,
            req.policy,
            &mut env,
        )
        .map_err(|e| match e {
            RaidError::Alloc(a) => {
                invalid(format!("Cannot add {} stripes to {disp}: {a}", new - old))
            }
            e => e,
        })?;
        steps.push(step(&out));
        {
            let top = out.lv_mut(lv_name).expect("LV");
            let rr = top.segments[0].raid.as_mut().expect("raid");
            for (m, i) in &pairs {
                rr.meta.push(Some(m.clone()));
                rr.images.push(Some(i.clone()));
            }
            rr.device_count = rr.images.len() as u64;
        }
        for (m, i) in &pairs {
            convert::set_status(out.lv_mut(m).expect("new"), "VISIBLE", false);
            convert::set_status(out.lv_mut(i).expect("new"), "VISIBLE", false);
        }
        let top = out.lv_mut(lv_name).expect("LV");
        top.segments[0].extent_count = new_len(le, reshape, t, old, new);
        set_reshape_len(&mut out, lv_name, reshape);
        let mut wipe = Some(wipe);
        if reshape == 0 {
            let commit = space.alloc(&mut out, lv_name, Where::End, cur_ss)?;
            if let Some(c) = commit {
                steps.push(Step {
                    wipe_first: wipe.take().unwrap_or_default(),
                    vg: c,
                });
            }
        }
        space.alloc(&mut out, lv_name, Where::Begin, cur_ss)?;
        for (_, i) in &pairs {
            let l = out.lv_mut(i).expect("new");
            convert::set_status(l, "REBUILD", false);
            convert::set_status(l, "RESHAPE_DELTA_DISKS_PLUS", true);
        }
        // A two-device raid4/5 has no stripe size of its own (raid1
        // layout): it gets lvm2's default when it grows.
        let ss = if req.stripe_size == 0 {
            128
        } else {
            req.stripe_size
        };
        set_stripe_size(&mut out, lv_name, ss);
        convert::set_status(out.lv_mut(lv_name).expect("LV"), "RESHAPE", true);
        set_region(&mut out, lv_name, req.region_size);
        load_then_reset(&mut steps, &mut out, lv_name, wipe.unwrap_or_default());
    } else if old > new {
        // Removing stripes (_raid_reshape_remove_images).
        if t.is_raid6() && req.stripes < 3 {
            return Err(invalid(format!(
                "Minimum 3 stripes required for {} LV {disp}.",
                seg_name(t)
            )));
        }
        let reshape = reshape_len(vg, lv_name);
        let le = lv.size_extents();
        if req.kernel.devices == old {
            // Step 1: the kernel moves the data onto the first `new`
            // devices.
            if req.to != t {
                lines.push(Msg::Print(
                    "Ignoring layout change on device removing reshape.".into(),
                ));
            }
            let reduced = new_len(le, reshape, t, old, new) - reshape * (new - t.parity_devs());
            let current = le - reshape * (old - t.parity_devs());
            let keep = current * current / reduced.max(1);
            lines.push(Msg::Warn(format!(
                "WARNING: Removing stripes from active{} logical volume {disp} will shrink it \
                 from {} to {}!",
                if req.kernel.open { " and open" } else { "" },
                convert::display_size(current * es),
                convert::display_size(reduced * es)
            )));
            lines.push(Msg::Warn("THIS MAY DESTROY (PARTS OF) YOUR DATA!".into()));
            lines.push(Msg::Warn(format!(
                "Interrupt the conversion and run \"lvresize -y -l{keep} {disp}\" to keep the \
                 current size if not done already!"
            )));
            lines.push(Msg::Print(format!(
                "If that leaves the logical volume larger than {keep} extents due to stripe \
                 rounding,"
            )));
            lines.push(Msg::Print(
                "you may want to grow the content afterwards (filesystem etc.)".into(),
            ));
            lines.push(Msg::Warn(format!(
                "WARNING: to remove freed stripes after the conversion has finished, you have \
                 to run \"lvconvert --stripes {} {disp}\"",
                req.stripes
            )));
            if !req.force {
                lines.push(Msg::Warn(
                    "Can't remove stripes without --force option.".into(),
                ));
                return Err(invalid(lines_text(&lines)));
            }
            prompt = Some(format!(
                "Are you sure you want to remove {} images from {} LV {disp}? [y/n]: ",
                old - new,
                seg_name(t)
            ));
            let commit = space.alloc(&mut out, lv_name, Where::End, cur_ss)?;
            if let Some(c) = commit {
                steps.push(step(&c));
            }
            for img in images_of(&out, lv_name).iter().skip(new as usize) {
                convert::set_status(
                    out.lv_mut(img).expect("image"),
                    "RESHAPE_DELTA_DISKS_MINUS",
                    true,
                );
            }
            convert::set_status(out.lv_mut(lv_name).expect("LV"), "RESHAPE", true);
        } else {
            // Step 2: the kernel runs `new` devices; drop the others.
            prompt = None;
            let top = out.lv_mut(lv_name).expect("LV");
            top.segments[0].extent_count = new_len(le, reshape, t, old, new);
            extract_trailing(&mut out, lv_name, new as usize)?;
        }
        if new > 2 {
            set_stripe_size(&mut out, lv_name, req.stripe_size);
        } else if req.stripe_size != cur_ss {
            lines.push(Msg::Warn(format!(
                "WARNING: ignoring --stripesize on conversion of {disp} to 1 stripe."
            )));
        }
        set_region(&mut out, lv_name, req.region_size);
        if req.kernel.devices == old {
            load_then_reset(&mut steps, &mut out, lv_name, vec![]);
        } else {
            steps.push(step(&out));
            let gone: Vec<String> = out
                .lvs
                .iter()
                .filter(|l| l.name.ends_with("_extracted"))
                .map(|l| l.name.clone())
                .collect();
            out.lvs.retain(|l| !gone.contains(&l.name));
            reset_passed_flags(&mut out, lv_name);
            steps.push(step(&out));
        }
    } else {
        // Same devices: layout or stripe size (_raid_reshape_keep_images).
        if req.to != t {
            lines.push(Msg::Print(format!(
                "Converting {} LV {disp} to {}.",
                seg_name(t),
                seg_name(req.to)
            )));
        }
        prompt = Some(format!(
            "Are you sure you want to convert {} LV {disp}? [y/n]: ",
            seg_name(t)
        ));
        let mut alloc = !(req.to != t && t.canonical() == req.to.canonical());
        if cur_ss != req.stripe_size {
            alloc = true;
        }
        set_stripe_size(&mut out, lv_name, req.stripe_size);
        if old == 2 {
            alloc = false;
        }
        if alloc {
            let to = if reshape_len(vg, lv_name) > 0 {
                Where::Anywhere
            } else {
                Where::End
            };
            let commit = space.alloc(&mut out, lv_name, to, req.stripe_size)?;
            if let Some(c) = commit {
                steps.push(step(&c));
            }
        }
        set_segtype(&mut out, lv_name, req.to);
        convert::set_status(out.lv_mut(lv_name).expect("LV"), "RESHAPE", true);
        set_region(&mut out, lv_name, req.region_size);
        if old == 2 {
            // Two devices: every raid4/5 layout is the same on disk; one
            // commit, no reload needed (lvm2's _vg_write_commit_backup).
            steps.push(step(&out));
        } else {
            load_then_reset(&mut steps, &mut out, lv_name, vec![]);
        }
    }
    Ok(ReshapePlan {
        lines,
        prompt,
        steps,
    })
}

fn lines_text(lines: &[Msg]) -> String {
    lines
        .iter()
        .map(|l| match l {
            Msg::Print(s) | Msg::Warn(s) | Msg::Error(s) => s.as_str(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Take the images past `keep` out of the array, renamed
/// `<name>_extracted` and visible (lvm2's `_raid_extract_images` of the
/// pairs a shrinking reshape emptied).
fn extract_trailing(vg: &mut Vg, lv: &str, keep: usize) -> Result<(), RaidError> {
    let (images, metas) = {
        let r = vg.lv(lv).expect("LV").segments[0]
            .raid
            .as_ref()
            .expect("raid");
        (r.images.clone(), r.meta.clone())
    };
    for (s, image) in images.iter().enumerate().skip(keep) {
        let names = [image.clone(), metas.get(s).cloned().flatten()];
        for n in names.into_iter().flatten() {
            let to = format!("{n}_extracted");
            if vg.lv(&to).is_some() {
                return Err(invalid(format!(
                    "Logical Volume {to} already exists in volume group {}.",
                    vg.name
                )));
            }
            let l = vg.lv_mut(&n).expect("sub-LV");
            l.name = to;
            convert::set_status(l, "VISIBLE", true);
            convert::set_status(l, "REMOVE_AFTER_RESHAPE", false);
        }
    }
    let r = vg.lv_mut(lv).expect("LV").segments[0]
        .raid
        .as_mut()
        .expect("raid");
    r.images.truncate(keep);
    r.meta.truncate(keep.min(r.meta.len()));
    r.device_count = keep as u64;
    Ok(())
}

#[cfg(test)]
#[path = "reshape_tests.rs"]
mod tests;
