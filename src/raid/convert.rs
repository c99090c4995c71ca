//! `lvconvert` image operations on RAID LVs as pure planners: each takes
//! the VG as read and returns the sequence of VGs to commit (a [`Plan`]),
//! or an error with nothing to write.
//!
//! The results are lvm2 2.03.16's (`lib/metadata/raid_manip.c`):
//!
//! * **adding images** (`-m +N`, linear → raid1): new `rmeta`/`rimage`
//!   pairs are allocated as one unit per PV on PVs the LV does not use,
//!   named `<lv>_r{meta,image}_<highest index + 1>`, committed first as
//!   visible LVs, their metadata areas wiped (the first 4 KiB, as lvm2's
//!   `wipe_lv`), and only then added to the array (hidden) with the
//!   `REBUILD` status flag. From linear, the LV's extents move to a new
//!   `<lv>_rimage_0` layer and `<lv>_rmeta_0` is allocated on the LV's own
//!   PVs.
//! * **removing images** (`-m -N`, `-m 0`, `--splitmirrors`): images are
//!   extracted from the highest slot down (those on the given PVs, else
//!   any), renamed `*_extracted` and made visible, and raid1 fills the
//!   holes by shifting the higher slots down and renaming them; that state
//!   is committed, then the extracted LVs are removed in a second commit. A
//!   crash in between leaves a working array and visible `*_extracted` LVs
//!   to lvremove.
//! * **track/merge**: `--splitmirrors 1 --trackchanges` makes the image
//!   visible and read-only in its slot; `--merge` undoes that.
//! * **replace**: new pairs (committed visible and wiped first), then the
//!   old ones extracted and the new ones put in their slots under the slot
//!   names, flagged `REBUILD`, then the old ones removed.
//!
//! * **repair** ([`repair`]): `--replace` of the images on the missing
//!   PVs ([`failed_pvs`]), as many as there is space for.
//!
//! For an active LV, `src/cli/lvconvert.rs` (`commit_live`) reloads the
//! tables after every commit and then clears `REBUILD` with one more
//! commit, as lvm2. For an inactive LV `REBUILD` stays in the metadata,
//! so the next activation (lvm2's or ours) rebuilds the new images —
//! which is what lvm2 itself reads `REBUILD` for.

use crate::alloc::{self, Candidate, Chunk, Policy, RaidRequest, Request};
use crate::model::flags::{self, LV_FLAGS};
use crate::model::{Area, Lv, RaidSeg, RaidType, SegType, Segment, Vg};

use super::{ensure_min_region_size, rmeta_extents, RaidError};

/// One metadata commit: zero `wipe_first` (first 4 KiB of each chunk, at
/// most the chunk) on the PVs, then commit `vg`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub wipe_first: Vec<Chunk>,
    pub vg: Vg,
}

/// What a conversion does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// lvm2's question before it changes anything (`-y` answers it).
    pub prompt: Option<String>,
    /// Lines printed before the commits (warnings, adjustments).
    pub notes: Vec<String>,
    /// The commits, in order (empty: nothing to change).
    pub steps: Vec<Step>,
    /// Lines printed after the last commit.
    pub done: Vec<String>,
    /// What lvm2 says when the question is answered no (`None`: "Logical
    /// volume VG/LV NOT converted.").
    pub declined: Option<String>,
}

impl Plan {
    /// The VG after the last commit (`None` when nothing changes).
    pub fn final_vg(&self) -> Option<&Vg> {
        self.steps.last().map(|s| &s.vg)
    }

    /// Add a commit of `vg`, wiping `wipe_first` before it.
    fn commit(&mut self, wipe_first: Vec<Chunk>, vg: Vg) {
        self.steps.push(Step { wipe_first, vg });
    }

    /// Commit `vg` (wiping `wipe_first` first), then commit it again
    /// without the LVs in `removal` (lvm2's extract-then-remove pair).
    fn commit_then_remove(&mut self, wipe_first: Vec<Chunk>, vg: &Vg, removal: &[String]) {
        self.commit(wipe_first, vg.clone());
        self.commit(vec![], remove_lvs(vg, removal));
    }
}

/// What new sub-LVs get from the command.
pub struct Env<'a> {
    pub new_id: &'a mut dyn FnMut() -> String,
    pub creation_time: Option<i64>,
    pub creation_host: Option<String>,
    /// lvm2's `get_default_region_size`, sectors.
    pub default_region_size: u64,
}

fn invalid(msg: impl Into<String>) -> RaidError {
    RaidError::Invalid(msg.into())
}

/// lvm2's `display_size` of a sector count: "2.00 MiB".
pub fn display_size(sectors: u64) -> String {
    super::display_size_bytes(sectors * 512)
}

pub(super) fn set_status(lv: &mut Lv, flag: &str, on: bool) {
    lv.status.retain(|s| s != flag);
    if on {
        lv.status.push(flag.to_string());
        lv.status = flags::sorted(LV_FLAGS, lv.status.iter().map(String::as_str))
            .into_iter()
            .map(str::to_string)
            .collect();
    }
}

/// The LV's RAID segment fields (first segment).
fn raid_of<'a>(vg: &'a Vg, name: &str) -> Option<(&'a Lv, RaidType, &'a RaidSeg)> {
    let lv = vg.lv(name)?;
    let seg = lv.segments.first()?;
    Some((lv, seg.raid_type()?, seg.raid.as_ref()?))
}

/// "raid1", "linear", "striped": lvm2's `lvseg_name` of the first segment.
fn seg_name(lv: &Lv) -> String {
    match lv.segments.first() {
        Some(s) if s.is_linear() => "linear".into(),
        Some(s) => s.segtype.name().to_string(),
        None => "unknown".into(),
    }
}

/// lvm2's `lv_is_raid_with_tracking`: the image of a RAID LV that was split
/// off with `--trackchanges` (visible and read-only).
pub fn tracking_image(vg: &Vg, name: &str) -> Option<String> {
    let (_, _, r) = raid_of(vg, name)?;
    r.images
        .iter()
        .flatten()
        .rfind(|i| {
            vg.lv(i)
                .is_some_and(|l| l.is_visible() && !l.has_status("WRITE"))
        })
        .cloned()
}

/// The RAID LV an `<lv>_rimage_N` sub-LV belongs to (by name, as lvm2).
pub fn owner_of_image(vg: &Vg, image: &str) -> Option<String> {
    let p = image.find("_rimage_")?;
    let owner = &image[..p];
    let (_, _, r) = raid_of(vg, owner)?;
    r.images
        .iter()
        .flatten()
        .any(|i| i == image)
        .then(|| owner.to_string())
}

/// lvm2's `_raid_split_image_conversion`: an LV that tracks a split image,
/// and the tracked image itself, refuse every conversion but `--merge` and
/// the split of that image for good.
pub fn refuse_tracking(vg: &Vg, name: &str) -> Result<(), RaidError> {
    if tracking_image(vg, name).is_some() {
        return Err(invalid(format!(
            "Conversion of tracking raid1 LV {}/{name} is not supported.",
            vg.name
        )));
    }
    if let Some(owner) = owner_of_image(vg, name) {
        if tracking_image(vg, &owner).is_some() {
            return Err(invalid(format!(
                "Conversion of tracked raid1 subvolume {}/{name} is not supported.",
                vg.name
            )));
        }
    }
    Ok(())
}

/// PV keys an LV's own segments use, in segment order.
fn pvs_of(lv: &Lv) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &lv.segments {
        for a in &s.areas {
            if let Area::Pv { pv, .. } = a {
                if !out.contains(pv) {
                    out.push(pv.clone());
                }
            }
        }
    }
    out
}

/// lvm2's `lv_is_on_pvs` for a plain sub-LV.
fn lv_on(vg: &Vg, name: Option<&str>, pvs: &[String]) -> bool {
    name.and_then(|n| vg.lv(n))
        .is_some_and(|l| pvs_of(l).iter().any(|p| pvs.contains(p)))
}

/// PV keys used by an LV and all its sub-LVs.
fn pvs_of_tree(vg: &Vg, name: &str) -> Vec<String> {
    let mut names = super::sub_lvs(vg, name);
    names.push(name.to_string());
    let mut out = Vec::new();
    for n in names {
        if let Some(l) = vg.lv(&n) {
            for p in pvs_of(l) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// lvm2's `generate_lv_name`: `<lv>_<suffix>_<highest index in use + 1>`
/// (any LV whose name starts with `<lv>_<suffix>_<digits>` counts, as
/// lvm2's `sscanf` does).
pub(super) fn next_name(vg: &Vg, lv: &str, suffix: &str) -> String {
    let prefix = format!("{lv}_{suffix}_");
    let high = vg
        .lvs
        .iter()
        .filter_map(|l| {
            let rest = l.name.strip_prefix(&prefix)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<i64>().ok()
        })
        .max()
        .unwrap_or(-1);
    format!("{prefix}{}", high + 1)
}

fn new_sub_lv(name: String, env: &mut Env, chunks: &[Chunk]) -> Lv {
    // lvm2's `_alloc_image_component`: READ, WRITE, REBUILD; visible
    // until it joins the array.
    let status = ["READ", "WRITE", "VISIBLE", "REBUILD"];
    super::chunks_lv(
        name,
        (env.new_id)(),
        status.iter().map(|s| s.to_string()).collect(),
        chunks,
        env.creation_time,
        env.creation_host.clone(),
    )
}

/// Candidates for new images: the given PVs (or every PV of the VG, in VG
/// order) minus those the LV already uses (lvm2's parallel areas).
fn new_image_candidates(vg: &Vg, name: &str, given: Option<&[Candidate]>) -> Vec<Candidate> {
    let used = pvs_of_tree(vg, name);
    let all: Vec<Candidate> = match given {
        Some(c) => c.to_vec(),
        None => vg
            .pvs
            .iter()
            .map(|p| Candidate {
                pv: p.key.clone(),
                ranges: vec![],
            })
            .collect(),
    };
    all.into_iter().filter(|c| !used.contains(&c.pv)).collect()
}

/// New (meta, image) names in creation order and the metadata chunks to wipe.
pub(super) type NewPairs = (Vec<(String, String)>, Vec<Chunk>);

/// Allocate `count` new metadata/data pairs of `image_extents` for `name`
/// in `vg` (added visible, with REBUILD) and return their names (meta,
/// image) in creation order and the metadata chunks to wipe.
#[allow(clippy::too_many_arguments)]
pub(super) fn alloc_pairs(
    vg: &mut Vg,
    name: &str,
    count: usize,
    image_extents: u64,
    region_size: u64,
    given: Option<&[Candidate]>,
    policy: Policy,
    env: &mut Env,
) -> Result<NewPairs, RaidError> {
    let cands = new_image_candidates(vg, name, given);
    let req = RaidRequest {
        images: count,
        data_images: count,
        extents_per_image: image_extents,
        meta_extents: rmeta_extents(image_extents, region_size, vg.extent_size),
        policy,
        approx: false,
        previous_end: vec![],
        existing: vec![],
        cling_to: vec![],
    };
    if cands.len() < count {
        return Err(invalid(format!(
            "Insufficient suitable allocatable extents for logical volume {}/{name}: \
             {count} more PV(s) not used by it are needed, {} available.",
            vg.name,
            cands.len()
        )));
    }
    let a = alloc::allocate_raid(vg, &req, Some(&cands))?;
    let mut names = Vec::new();
    let mut wipe = Vec::new();
    for s in 0..count {
        let meta = a.meta[s].clone().expect("metadata was asked for");
        let mname = next_name(vg, name, "rmeta");
        vg.lvs
            .push(new_sub_lv(mname.clone(), env, std::slice::from_ref(&meta)));
        let iname = next_name(vg, name, "rimage");
        vg.lvs.push(new_sub_lv(iname.clone(), env, &a.data[s]));
        wipe.push(meta);
        names.push((mname, iname));
    }
    Ok((names, wipe))
}

/// Options of an image-count change.
pub struct ImageOpts<'a> {
    /// Adding: PVs to allocate from. Removing: PVs to remove images from.
    pub pvs: Option<&'a [Candidate]>,
    pub policy: Policy,
    /// `-R`, sectors.
    pub region_size: Option<u64>,
}

/// `lvconvert -m N` on a linear or raid1 LV: `new_count` images in all
/// (1 = linear).
pub fn change_image_count(
    vg: &Vg,
    name: &str,
    new_count: u64,
    opts: &ImageOpts,
    env: &mut Env,
) -> Result<Plan, RaidError> {
    let disp = format!("{}/{name}", vg.name);
    let lv = vg
        .lv(name)
        .ok_or_else(|| RaidError::NoSuchLv(disp.clone()))?;
    refuse_tracking(vg, name)?;
    let linear = lv.segments.iter().all(|s| s.is_linear()) && !lv.segments.is_empty();
    let t = lv.raid_type();
    if !linear && t != Some(RaidType::Raid1) {
        return Err(invalid(match t {
            Some(t) => format!(
                "Unable to change the number of images of {} LV {disp} with -m/--mirrors: \
                 only raid1 and linear LVs have mirror images (use --type to convert it).",
                t.name()
            ),
            None => format!(
                "Unable to add RAID images to {disp} of segment type {}.",
                seg_name(lv)
            ),
        }));
    }
    if new_count > RaidType::Raid1.max_devices() {
        return Err(invalid(format!(
            "Only up to {} mirrors in raid1 LV {disp} supported currently.",
            RaidType::Raid1.max_devices()
        )));
    }
    let old = if linear {
        1
    } else {
        lv.segments[0].raid.as_ref().expect("raid").images.len() as u64
    };
    if new_count < 1 {
        return Err(invalid("Unable to reduce images by specified amount."));
    }
    let mut plan = Plan::default();
    if new_count != 1 {
        let level = if old == 1 { "raid1 with " } else { "" };
        let resil = if new_count < old {
            "reducing"
        } else {
            "enhancing"
        };
        plan.prompt = Some(format!(
            "Are you sure you want to convert {} LV {disp} to {level}{new_count} images {resil} resilience? [y/n]: ",
            seg_name(lv)
        ));
    }
    if old == new_count {
        plan.notes.push(format!(
            "WARNING: {disp} already has image count of {new_count}."
        ));
        plan.done
            .push(format!("Logical volume {disp} successfully converted."));
        return Ok(plan);
    }
    if !linear {
        check_slots(vg, name)?;
    }
    if new_count > old {
        if lv.has_status("NOTSYNCED") {
            return Err(invalid(
                "Can't add image to out-of-sync RAID LV: use 'lvchange --resync' first.",
            ));
        }
        add_images(vg, name, new_count, opts, env, &mut plan)?;
    } else {
        if new_count == 1 {
            plan.prompt = Some(format!(
                "Are you sure you want to convert {} LV {disp} to type linear losing all resilience? [y/n]: ",
                seg_name(lv)
            ));
        }
        let targets = target_keys(vg, opts.pvs);
        remove_images(vg, name, new_count, &targets, &mut plan)?;
    }
    plan.done
        .push(format!("Logical volume {disp} successfully converted."));
    Ok(plan)
}

/// PV keys from candidates, or every PV of the VG (lvm2's `vg->pvs`).
fn target_keys(vg: &Vg, pvs: Option<&[Candidate]>) -> Vec<String> {
    match pvs {
        Some(c) => c.iter().map(|c| c.pv.clone()).collect(),
        None => vg.pvs.iter().map(|p| p.key.clone()).collect(),
    }
}

/// Every slot assigned to existing plain linear sub-LVs.
fn check_slots(vg: &Vg, name: &str) -> Result<(), RaidError> {
    let (lv, _, r) = raid_of(vg, name).ok_or_else(|| RaidError::NotRaid(name.into()))?;
    if lv.segments.len() != 1 {
        return Err(invalid(format!(
            "Logical volume {}/{name} has {} segments: RAID conversions need one.",
            vg.name,
            lv.segments.len()
        )));
    }
    for (s, (m, i)) in r.meta.iter().zip(&r.images).enumerate() {
        for n in [m, i] {
            let Some(n) = n else {
                return Err(invalid(format!(
                    "Unable to convert {}/{name} while the array has unassigned areas (slot {s}).",
                    vg.name
                )));
            };
            let ok = vg.lv(n).is_some_and(|l| {
                !l.segments.is_empty()
                    && l.segments.iter().all(|s| {
                        s.segtype == SegType::Striped
                            && s.areas.iter().all(|a| matches!(a, Area::Pv { .. }))
                    })
            });
            if !ok {
                return Err(invalid(format!(
                    "Sub-LV {n} of {}/{name} is missing or not a plain linear LV; \
                     repair it first (lvconvert --repair needs the LV active).",
                    vg.name
                )));
            }
        }
    }
    Ok(())
}

fn add_images(
    vg: &Vg,
    name: &str,
    new_count: u64,
    opts: &ImageOpts,
    env: &mut Env,
    plan: &mut Plan,
) -> Result<(), RaidError> {
    let lv = vg.lv(name).expect("checked");
    let linear = lv.raid_type().is_none();
    let le = lv.size_extents();
    let es = vg.extent_size;
    let mut out = vg.clone();
    let mut wipe = Vec::new();
    let old = if linear {
        1
    } else {
        lv.segments[0].raid.as_ref().expect("raid").images.len() as u64
    };
    let count = (new_count - old) as usize;
    // Region size: raid1 keeps its own (or takes -R), linear gets lvm2's
    // default (or -R), raised to keep at most 2^21 regions.
    let cur_region = lv
        .segments
        .first()
        .and_then(|s| s.raid.as_ref())
        .and_then(|r| r.region_size)
        .filter(|r| *r > 0);
    let mut region = opts
        .region_size
        .or(cur_region)
        .unwrap_or(env.default_region_size);
    let adjusted = ensure_min_region_size(le * es, region);
    if adjusted != region {
        plan.notes.push(format!(
            "Adjusting region size of {}/{name} LV from {} to {}.",
            vg.name,
            display_size(region),
            display_size(adjusted)
        ));
        region = adjusted;
    }
    // The metadata LVs are sized with the region size lvm2 uses while
    // allocating: the LV's (or -R), the default for a linear LV.
    let alloc_region = if linear {
        ensure_min_region_size(le * es, env.default_region_size)
    } else {
        // lvm2 sets -R on the segment before allocating.
        region
    };
    let mut meta0 = None;
    if linear {
        // lvm2's `_alloc_rmeta_for_lv`: on the PVs of the LV itself.
        let cands: Vec<Candidate> = pvs_of(lv)
            .into_iter()
            .map(|pv| Candidate { pv, ranges: vec![] })
            .collect();
        let req = Request {
            areas: 1,
            extents_per_area: rmeta_extents(le, alloc_region, es),
            policy: opts.policy,
            previous: vec![],
        };
        let chunks = alloc::allocate(&out, &req, Some(&cands)).map_err(|e| {
            invalid(format!(
                "Cannot allocate the metadata sub-LV of {}/{name} on its own PVs: {e}",
                vg.name
            ))
        })?;
        let mname = format!("{name}_rmeta_0");
        if out.lv(&mname).is_some() {
            return Err(invalid(format!(
                "Logical Volume {mname} already exists in volume group {}.",
                vg.name
            )));
        }
        out.lvs.push(new_sub_lv(mname.clone(), env, &chunks[0]));
        wipe.extend(chunks[0].iter().take(1).cloned());
        meta0 = Some(mname);
    }
    let (mut pairs, w) = alloc_pairs(
        &mut out,
        name,
        count,
        le,
        alloc_region,
        opts.pvs,
        opts.policy,
        env,
    )?;
    wipe.extend(w);
    if linear {
        // The new images were named before the linear LV became
        // rimage_0: lvm2 shifts their names up by one.
        let n = pairs.len();
        let old_names: Vec<String> = pairs.iter().map(|p| p.1.clone()).collect();
        for (i, p) in pairs.iter_mut().enumerate() {
            let to = if i + 1 < n {
                old_names[i + 1].clone()
            } else {
                format!("{name}_rimage_{count}")
            };
            // Rename from the last one down so names never collide.
            p.1 = to;
        }
        for (i, from) in old_names.iter().enumerate().rev() {
            out.lv_mut(from).expect("just added").name = pairs[i].1.clone();
        }
    }
    // Commit 1: the new sub-LVs, visible, outside the array.
    plan.commit(vec![], out.clone());
    // Commit 2 (after wiping the metadata areas): into the array.
    if linear {
        let top = out.lv_mut(name).expect("checked");
        let segments = std::mem::take(&mut top.segments);
        let mut write = vec!["READ".to_string()];
        if top.has_status("WRITE") {
            write.push("WRITE".into());
        }
        let layer = Lv {
            segments,
            ..super::chunks_lv(
                format!("{name}_rimage_0"),
                (env.new_id)(),
                write,
                &[],
                env.creation_time,
                env.creation_host.clone(),
            )
        };
        if out.lv(&layer.name).is_some() {
            return Err(invalid(format!(
                "Logical Volume {} already exists in volume group {}.",
                layer.name, vg.name
            )));
        }
        let top = out.lv_mut(name).expect("checked");
        top.segments = vec![Segment {
            start_extent: 0,
            extent_count: le,
            segtype: SegType::Raid(RaidType::Raid1),
            tags: vec![],
            areas: vec![],
            stripe_size: None,
            raid: Some(RaidSeg {
                meta: vec![meta0.clone()],
                images: vec![Some(layer.name.clone())],
                device_count: 1,
                region_size: Some(region),
                ..RaidSeg::default()
            }),
            extra: vec![],
        }];
        out.lvs.push(layer);
    }
    let top = out.lv_mut(name).expect("checked");
    let r = top.segments[0].raid.as_mut().expect("raid");
    r.region_size = Some(region);
    for (m, i) in &pairs {
        r.meta.push(Some(m.clone()));
        r.images.push(Some(i.clone()));
    }
    r.device_count = r.images.len() as u64;
    let mut hide: Vec<String> = pairs
        .iter()
        .flat_map(|(m, i)| [m.clone(), i.clone()])
        .collect();
    hide.extend(meta0);
    for h in hide {
        set_status(out.lv_mut(&h).expect("added"), "VISIBLE", false);
    }
    plan.commit(wipe, out);
    Ok(())
}

/// lvm2's `_raid_extract_images` (with `_shift_and_rename_image_components`
/// when `shift`): take `old - new_count` images out of `name`'s array,
/// from the highest slot down, those on `targets`. Returns the extracted
/// (meta, image) names, renamed `*_extracted` and visible, in extraction
/// order.
fn extract_images(
    out: &mut Vg,
    name: &str,
    new_count: usize,
    targets: &[String],
    user_pvs: bool,
    shift: bool,
) -> Result<Vec<(Option<String>, String)>, RaidError> {
    let disp = format!("{}/{name}", out.name);
    let (_, _, r) = raid_of(out, name).ok_or_else(|| RaidError::NotRaid(disp.clone()))?;
    let mut images = r.images.clone();
    let mut metas = r.meta.clone();
    let n = images.len();
    let mut extract = n.saturating_sub(new_count);
    if targets.len() < extract {
        return Err(invalid(format!(
            "Unable to remove {extract} images:  Only {} device{} given.",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        )));
    }
    let is_error = |vg: &Vg, n: Option<&str>| {
        n.and_then(|n| vg.lv(n))
            .and_then(|l| l.segments.first())
            .is_some_and(|s| s.segtype == SegType::Unknown("error".into()))
    };
    let mut area_count = n;
    let mut extracted = Vec::new();
    let mut ss = 2 * n;
    while ss > 0 && extract > 0 {
        ss -= 1;
        let s = ss % area_count;
        let img = images[s].clone();
        let meta = metas.get(s).cloned().flatten();
        if ss / area_count > 0 {
            if !is_error(out, img.as_deref()) && !is_error(out, meta.as_deref()) {
                continue;
            }
            if user_pvs {
                return Err(invalid(format!(
                    "{disp} has components with error targets that must be removed first: {}/{}.\n\
                     Try removing the PV list and rerun the command.",
                    out.name,
                    img.unwrap_or_default()
                )));
            }
        } else if !lv_on(out, img.as_deref(), targets) && !lv_on(out, meta.as_deref(), targets) {
            continue;
        }
        let img = img.ok_or_else(|| invalid(format!("{disp} has an unassigned slot {s}.")))?;
        let img_new = format!("{img}_extracted");
        let meta_new = meta.as_ref().map(|m| format!("{m}_extracted"));
        for (from, to) in std::iter::once((&img, &img_new)).chain(meta.iter().zip(meta_new.iter()))
        {
            if out.lv(to).is_some() {
                return Err(invalid(format!(
                    "Logical Volume {to} already exists in volume group {}.",
                    out.name
                )));
            }
            let l = out.lv_mut(from).expect("sub-LV exists");
            l.name = to.clone();
            set_status(l, "VISIBLE", true);
        }
        images[s] = None;
        if s < metas.len() {
            metas[s] = None;
        }
        if shift {
            let mut missing = 0;
            for s in 0..area_count {
                if images[s].is_none() {
                    missing += 1;
                    continue;
                }
                if missing == 0 {
                    continue;
                }
                let to = s - missing;
                if let Some(m) = metas.get(s).cloned().flatten() {
                    let new = format!("{name}_rmeta_{to}");
                    rename_sub(out, &m, &new)?;
                    metas[to] = Some(new);
                    metas[s] = None;
                }
                let i = images[s].clone().expect("assigned");
                let new = format!("{name}_rimage_{to}");
                rename_sub(out, &i, &new)?;
                images[to] = Some(new);
                images[s] = None;
            }
            area_count -= missing;
            images.truncate(area_count);
            metas.truncate(area_count.min(metas.len()));
        }
        extracted.push((meta_new, img_new));
        extract -= 1;
    }
    if extract > 0 {
        return Err(invalid(
            "Unable to extract enough images to satisfy request.",
        ));
    }
    let top = out.lv_mut(name).expect("checked");
    let r = top.segments[0].raid.as_mut().expect("raid");
    r.images = images;
    if !r.meta.is_empty() {
        r.meta = metas;
    }
    r.device_count = new_count as u64;
    Ok(extracted)
}

/// lvm2 adds its caller's line to an extraction failure.
fn failed_extract(e: RaidError, vg: &Vg, name: &str) -> RaidError {
    invalid(format!(
        "{e}\nFailed to extract images from {}/{name}.",
        vg.name
    ))
}

fn rename_sub(out: &mut Vg, from: &str, to: &str) -> Result<(), RaidError> {
    if from == to {
        return Ok(());
    }
    if out.lv(to).is_some() {
        return Err(invalid(format!(
            "Logical Volume {to} already exists in volume group {}.",
            out.name
        )));
    }
    out.lv_mut(from).expect("sub-LV exists").name = to.to_string();
    Ok(())
}

/// lvm2's `_raid_remove_top_layer`: a raid1 with one image becomes the
/// linear LV it holds; the image (now an `error` segment) and its
/// metadata LV are returned, visible, for removal.
fn remove_top_layer(out: &mut Vg, name: &str) -> Result<Vec<String>, RaidError> {
    let (_, _, r) = raid_of(out, name).ok_or_else(|| RaidError::NotRaid(name.into()))?;
    let (Some(img), meta) = (r.images[0].clone(), r.meta.first().cloned().flatten()) else {
        return Err(invalid(format!(
            "Unable to remove the RAID layer of {}/{name}: slot 0 is unassigned.",
            out.name
        )));
    };
    let le = out.lv(name).expect("checked").size_extents();
    let image = out.lv_mut(&img).expect("image exists");
    let segments = std::mem::replace(
        &mut image.segments,
        vec![Segment {
            start_extent: 0,
            extent_count: le,
            segtype: SegType::Unknown("error".into()),
            tags: vec![],
            areas: vec![],
            stripe_size: None,
            raid: None,
            extra: vec![],
        }],
    );
    set_status(image, "VISIBLE", true);
    let mut removal = Vec::new();
    if let Some(m) = &meta {
        set_status(out.lv_mut(m).expect("meta exists"), "VISIBLE", true);
        removal.push(m.clone());
    }
    removal.push(img);
    let top = out.lv_mut(name).expect("checked");
    top.segments = segments;
    set_status(top, "NOTSYNCED", false);
    set_status(top, "WRITEMOSTLY", false);
    Ok(removal)
}

fn remove_lvs(vg: &Vg, names: &[String]) -> Vg {
    let mut out = vg.clone();
    out.lvs.retain(|l| !names.contains(&l.name));
    out
}

fn remove_images(
    vg: &Vg,
    name: &str,
    new_count: u64,
    targets: &[String],
    plan: &mut Plan,
) -> Result<(), RaidError> {
    let mut out = vg.clone();
    let user_pvs = targets.len() != vg.pvs.len();
    let extracted = extract_images(&mut out, name, new_count as usize, targets, user_pvs, true)
        .map_err(|e| failed_extract(e, vg, name))?;
    let mut removal: Vec<String> = extracted
        .into_iter()
        .flat_map(|(m, i)| m.into_iter().chain(std::iter::once(i)))
        .collect();
    if new_count == 1 {
        removal.extend(remove_top_layer(&mut out, name)?);
    }
    plan.commit_then_remove(vec![], &out, &removal);
    Ok(())
}

/// The RAID LV `name` with its type and RAID segment, or why not (no such
/// LV, not RAID).
fn raid_lv<'a>(vg: &'a Vg, name: &str) -> Result<(&'a Lv, RaidType, &'a RaidSeg), RaidError> {
    let disp = format!("{}/{name}", vg.name);
    if vg.lv(name).is_none() {
        return Err(RaidError::NoSuchLv(disp));
    }
    raid_of(vg, name).ok_or(RaidError::NotRaid(disp))
}

/// `lvconvert --splitmirrors N --name NEW` (lvm2's `lv_raid_split`): the
/// split image becomes the top-level LV `split_name`, its metadata LV is
/// removed. `pvs`: PVs to split images from (`None`: any).
pub fn split(
    vg: &Vg,
    name: &str,
    count: u64,
    split_name: &str,
    pvs: Option<&[Candidate]>,
) -> Result<Plan, RaidError> {
    let disp = format!("{}/{name}", vg.name);
    let (lv, t, r) = raid_lv(vg, name)?;
    let old = r.images.len() as u64;
    if count >= old {
        return Err(invalid("Unable to split images by specified amount."));
    }
    if count != 1 {
        return Err(invalid(format!(
            "Unable to split more than one image from {disp}."
        )));
    }
    if !t.is_raid1() {
        return Err(invalid(format!(
            "Unable to split logical volume of segment type, {}.",
            t.name()
        )));
    }
    if vg.lv(split_name).is_some() {
        return Err(invalid(format!(
            "Logical Volume \"{split_name}\" already exists in {}.",
            vg.name
        )));
    }
    check_slots(vg, name)?;
    let new_count = old - 1;
    let mut plan = Plan {
        declined: Some(format!("Logical volume {disp} NOT split.")),
        ..Plan::default()
    };
    if new_count == 1 {
        plan.prompt = Some(format!(
            "Are you sure you want to split {} LV {disp} losing all resilience? [y/n]: ",
            seg_name(lv)
        ));
    }
    let mut targets = target_keys(vg, pvs);
    let mut user_pvs = pvs.is_some();
    if let Some(tracking) = tracking_image(vg, name) {
        if !lv_on(vg, Some(&tracking), &targets) {
            return Err(invalid(format!(
                "Unable to split additional image from {disp} while tracking changes for {}/{tracking}.",
                vg.name
            )));
        }
        targets = pvs_of(vg.lv(&tracking).expect("image exists"));
        user_pvs = true;
    }
    let mut out = vg.clone();
    let extracted = extract_images(&mut out, name, new_count as usize, &targets, user_pvs, true)
        .map_err(|e| failed_extract(e, vg, name))?;
    let mut removal: Vec<String> = extracted.iter().filter_map(|(m, _)| m.clone()).collect();
    if new_count == 1 {
        removal.extend(remove_top_layer(&mut out, name)?);
    }
    let first = &extracted[0].1;
    rename_sub(&mut out, first, split_name)?;
    plan.commit_then_remove(vec![], &out, &removal);
    Ok(plan)
}

/// `lvconvert --splitmirrors 1 --trackchanges` (lvm2's
/// `lv_raid_split_and_track`): the image stays in its slot, visible and
/// read-only.
pub fn split_and_track(vg: &Vg, name: &str, pvs: Option<&[Candidate]>) -> Result<Plan, RaidError> {
    let disp = format!("{}/{name}", vg.name);
    let (lv, t, r) = raid_lv(vg, name)?;
    if !t.is_mirrored() {
        return Err(invalid("Unable to split images from non-mirrored RAID."));
    }
    if tracking_image(vg, name).is_some() {
        return Err(invalid("Cannot track more than one split image at a time."));
    }
    check_slots(vg, name)?;
    let mut plan = Plan {
        declined: Some(format!("Logical volume {disp} NOT split.")),
        ..Plan::default()
    };
    let n = r.images.len();
    if n == 2 {
        plan.prompt = Some(format!(
            "Are you sure you want to split and track {} LV {disp} losing resilience for any newly written data? [y/n]: ",
            seg_name(lv)
        ));
    }
    let targets = target_keys(vg, pvs);
    let Some(img) = r
        .images
        .iter()
        .rev()
        .flatten()
        .find(|i| lv_on(vg, Some(i), &targets))
        .cloned()
    else {
        return Err(invalid("Unable to find image to satisfy request."));
    };
    let mut out = vg.clone();
    let l = out.lv_mut(&img).expect("image exists");
    set_status(l, "VISIBLE", true);
    set_status(l, "WRITE", false);
    plan.commit(vec![], out);
    let vgn = &vg.name;
    plan.done.push(format!(
        "{vgn}/{img} split from {disp} for read-only purposes."
    ));
    if n == 2 {
        plan.done.push(format!(
            "WARNING: Any newly written data will be non-resilient on LV {disp} during the split!"
        ));
    }
    plan.done.push(format!(
        "Use 'lvconvert --merge {vgn}/{img}' to merge back into {disp}."
    ));
    Ok(plan)
}

/// `lvconvert --merge VG/LV_rimage_N` (lvm2's `lv_raid_merge`).
pub fn merge(vg: &Vg, image: &str) -> Result<Plan, RaidError> {
    let disp = format!("{}/{image}", vg.name);
    let lv = vg
        .lv(image)
        .ok_or_else(|| RaidError::NoSuchLv(disp.clone()))?;
    if lv.has_status("WRITE") {
        return Err(invalid(format!(
            "{disp} cannot be merged because --trackchanges was not used."
        )));
    }
    let Some(p) = image.find("_rimage_") else {
        return Err(invalid(format!("Unable to merge non-raid image {disp}.")));
    };
    let owner = &image[..p];
    let Some((top, _, r)) = raid_of(vg, owner) else {
        return Err(invalid(format!(
            "Unable to find containing RAID array for {disp}."
        )));
    };
    let slot = r.images.iter().position(|i| i.as_deref() == Some(image));
    if slot
        .and_then(|s| r.meta.get(s).cloned().flatten())
        .is_none()
    {
        return Err(invalid(format!(
            "Failed to find meta for {disp} in RAID array {}/{owner}.",
            vg.name
        )));
    }
    let write = top.has_status("WRITE");
    let mut out = vg.clone();
    let l = out.lv_mut(image).expect("checked");
    set_status(l, "VISIBLE", false);
    if write {
        set_status(l, "WRITE", true);
    }
    Ok(Plan {
        prompt: None,
        notes: vec![],
        steps: vec![Step {
            wipe_first: vec![],
            vg: out,
        }],
        done: vec![format!(
            "{disp} successfully merged back into {}/{owner}.",
            vg.name
        )],
        declined: None,
    })
}

/// What `--replace` names: PVs (keys) whose images go, and sub-LVs whose
/// slots go (beyond lvm2, which takes PVs only).
#[derive(Debug, Clone, Default)]
pub struct ReplaceSet {
    pub pvs: Vec<String>,
    pub sub_lvs: Vec<String>,
}

/// `lvconvert --replace PV [PVs]` (lvm2's `_lv_raid_rebuild_or_replace`).
pub fn replace(
    vg: &Vg,
    name: &str,
    remove: &ReplaceSet,
    allocate: Option<&[Candidate]>,
    policy: Policy,
    env: &mut Env,
) -> Result<Plan, RaidError> {
    let disp = format!("{}/{name}", vg.name);
    if vg.lv(name).is_none() {
        return Err(RaidError::NoSuchLv(disp));
    }
    refuse_tracking(vg, name)?;
    let Some((lv, t, r)) = raid_of(vg, name) else {
        return Err(RaidError::NotRaid(disp));
    };
    if t.is_any_raid0() {
        return Err(invalid(format!(
            "Can't replace any devices in {} LV {disp}.",
            t.name()
        )));
    }
    if r.images.iter().any(Option::is_none) || r.meta.iter().any(Option::is_none) {
        return Err(invalid(
            "Unable to replace RAID images while the array has unassigned areas.",
        ));
    }
    check_slots(vg, name)?;
    let n = r.images.len();
    let hit = |s: usize| {
        let img = r.images[s].as_deref();
        let meta = r.meta[s].as_deref();
        lv_on(vg, img, &remove.pvs)
            || lv_on(vg, meta, &remove.pvs)
            || remove
                .sub_lvs
                .iter()
                .any(|x| Some(x.as_str()) == img || Some(x.as_str()) == meta)
    };
    let slots: Vec<usize> = (0..n).filter(|&s| hit(s)).collect();
    let matched = slots.len();
    if matched == 0 {
        return Err(invalid(format!(
            "Logical volume {disp} does not contain devices specified to replace."
        )));
    }
    if matched == n {
        return Err(invalid(format!(
            "Unable to replace all PVs from {disp} at once."
        )));
    }
    let parity = t.parity_devs() as usize;
    if parity > 0 && matched > parity {
        return Err(invalid(format!(
            "Unable to replace more than {parity} PVs from ({}) {disp}.",
            t.name()
        )));
    }
    if t.is_raid10() {
        let copies = 2;
        let mut per_group = 0;
        for i in 0..n * copies {
            let s = i % n;
            if i % copies == 0 {
                per_group = 0;
            }
            if slots.contains(&s) {
                per_group += 1;
            }
            if per_group >= copies {
                return Err(invalid(
                    "Unable to replace all the devices in a RAID10 mirror group.",
                ));
            }
        }
    }
    // raid1 (and mirrored): images hold the whole LV; others a stripe.
    let image_extents = vg
        .lv(r.images[0].as_deref().expect("checked"))
        .expect("checked")
        .size_extents();
    let region = r.region_size.unwrap_or(env.default_region_size);
    let _ = lv;
    let mut out = vg.clone();
    let (pairs, wipe) = alloc_pairs(
        &mut out,
        name,
        matched,
        image_extents,
        region,
        allocate,
        policy,
        env,
    )?;
    let mut plan = Plan::default();
    plan.commit(vec![], out.clone());
    // Take the old pairs out (renamed *_extracted, visible), put the new
    // ones in their slots under the slot names, hidden.
    let mut removal = Vec::new();
    let mut new_slot_names = Vec::new();
    for (k, &s) in slots.iter().enumerate() {
        let old_img = r.images[s].clone().expect("checked");
        let old_meta = r.meta[s].clone().expect("checked");
        for old in [&old_img, &old_meta] {
            let x = format!("{old}_extracted");
            rename_sub(&mut out, old, &x)?;
            set_status(out.lv_mut(&x).expect("renamed"), "VISIBLE", true);
            removal.push(x);
        }
        let (m, i) = &pairs[k];
        new_slot_names.push((s, m.clone(), i.clone()));
    }
    for (s, m, i) in &new_slot_names {
        let mname = format!("{name}_rmeta_{s}");
        let iname = format!("{name}_rimage_{s}");
        rename_sub(&mut out, m, &mname)?;
        rename_sub(&mut out, i, &iname)?;
        for x in [&mname, &iname] {
            set_status(out.lv_mut(x).expect("renamed"), "VISIBLE", false);
        }
        let top = out.lv_mut(name).expect("checked");
        let rr = top.segments[0].raid.as_mut().expect("raid");
        rr.meta[*s] = Some(mname);
        rr.images[*s] = Some(iname);
    }
    plan.commit_then_remove(wipe, &out, &removal);
    // lvm2 prints nothing after a replace.
    Ok(plan)
}

/// lvm2's `_failed_pv_list`: the PVs flagged MISSING that still hold
/// extents (keys, VG order).
pub fn failed_pvs(vg: &Vg) -> Vec<String> {
    vg.pvs
        .iter()
        .filter(|p| p.is_missing())
        .filter(|p| {
            vg.lvs.iter().any(|l| {
                l.segments.iter().any(|s| {
                    s.areas
                        .iter()
                        .any(|a| matches!(a, Area::Pv { pv, .. } if *pv == p.key))
                })
            })
        })
        .map(|p| p.key.clone())
        .collect()
}

/// Slots of RAID LV `name` whose image or metadata sub-LV uses one of
/// `pvs` (lvm2's `_sublv_is_degraded`/`lv_is_on_pvs` count).
pub fn slots_on(vg: &Vg, name: &str, pvs: &[String]) -> Vec<usize> {
    let Some((_, _, r)) = raid_of(vg, name) else {
        return vec![];
    };
    (0..r.images.len())
        .filter(|&s| {
            lv_on(vg, r.images[s].as_deref(), pvs)
                || lv_on(vg, r.meta.get(s).and_then(|m| m.as_deref()), pvs)
        })
        .collect()
}

/// `lvconvert --repair VG/LV [PVs]` on a RAID LV (lvm2's
/// `lv_raid_replace` with the failed PVs): the images on the missing PVs
/// `failed` are replaced by new ones allocated on `allocate` (or any PV of
/// the VG the LV does not use; never a missing one), as `--replace`. When
/// not every failed image can be given new space, as few as can are
/// replaced (lvm2's retry for a partial LV); the rest stay degraded.
///
/// `dead`: slots the running array reports failed (`D`) although their
/// PVs are present — a transient failure (the device came back after
/// md gave up on it). lvm2's `lv_check_transient` marks them degraded and
/// they are replaced like the images on missing PVs.
pub fn repair(
    vg: &Vg,
    name: &str,
    failed: &[String],
    dead: &[usize],
    allocate: Option<&[Candidate]>,
    policy: Policy,
    env: &mut Env,
) -> Result<Plan, RaidError> {
    let disp = format!("{}/{name}", vg.name);
    let (_, _, r0) = raid_lv(vg, name)?;
    let on_failed = slots_on(vg, name, failed);
    let dead_images: Vec<String> = dead
        .iter()
        .filter(|s| !on_failed.contains(s))
        .filter_map(|&s| r0.images.get(s).cloned().flatten())
        .collect();
    if failed.is_empty() && dead_images.is_empty() {
        return Ok(Plan {
            notes: vec![format!(
                "{disp} does not contain devices specified to replace."
            )],
            ..Plan::default()
        });
    }
    let mut slots = on_failed.clone();
    slots.extend(
        dead.iter()
            .filter(|s| !on_failed.contains(s) && **s < r0.images.len()),
    );
    slots.sort_unstable();
    let all = ReplaceSet {
        pvs: failed.to_vec(),
        sub_lvs: dead_images,
    };
    let first = match replace(vg, name, &all, allocate, policy, env) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    let no_space = matches!(first, RaidError::Alloc(_))
        || first.to_string().starts_with("Insufficient suitable");
    if !no_space || slots.len() < 2 {
        return Err(first);
    }
    let (_, _, r) = raid_of(vg, name).expect("checked");
    let mut notes = Vec::new();
    let mut last = first;
    for k in (1..slots.len()).rev() {
        notes.push(format!(
            "WARNING: Failed to replace {} devices.  Attempting to replace {k} instead.",
            k + 1
        ));
        let some = ReplaceSet {
            pvs: vec![],
            sub_lvs: slots[..k]
                .iter()
                .filter_map(|&s| r.images[s].clone())
                .collect(),
        };
        match replace(vg, name, &some, allocate, policy, env) {
            Ok(mut p) => {
                notes.append(&mut p.notes);
                p.notes = notes;
                return Ok(p);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `lvconvert -R SIZE` (lvm2's `_region_size_change_requested`).
pub fn change_region_size(vg: &Vg, name: &str, region_size: u64) -> Result<Plan, RaidError> {
    let disp = format!("{}/{name}", vg.name);
    let lv = vg
        .lv(name)
        .ok_or_else(|| RaidError::NoSuchLv(disp.clone()))?;
    refuse_tracking(vg, name)?;
    let Some((_, t, r)) = raid_of(vg, name).filter(|(_, t, _)| !t.is_any_raid0()) else {
        return Err(invalid(format!(
            "Cannot change region size of {disp}: it is a {} LV; only raid1/4/5/6/10 LVs have regions.",
            seg_name(lv)
        )));
    };
    let cur = r.region_size.unwrap_or(0);
    if region_size == cur {
        return Err(invalid(format!(
            "Region size is already {} on {} LV {disp}.",
            display_size(region_size),
            t.name()
        )));
    }
    let seg = &lv.segments[0];
    let le = lv.size_extents();
    let size = le * vg.extent_size;
    if region_size < seg.stripe_size.unwrap_or(0) {
        return Err(invalid(format!(
            "Region size may not be smaller than stripe size on {} LV {disp}.",
            t.name()
        )));
    }
    if region_size > size {
        return Err(invalid(format!(
            "Region size is too large for {} LV {disp}.",
            t.name()
        )));
    }
    let mut plan = Plan::default();
    let adjusted = ensure_min_region_size(size, region_size);
    if adjusted != region_size {
        plan.notes.push(format!(
            "Adjusting region size of {disp} LV from {} to {}.",
            display_size(region_size),
            display_size(adjusted)
        ));
    }
    if adjusted == cur {
        return Err(invalid(format!(
            "Region size is already matching {} on {} LV {disp} due to adjustment.",
            display_size(adjusted),
            t.name()
        )));
    }
    plan.prompt = Some(format!(
        "Do you really want to change the region_size {} of LV {disp} to {}? [y/n]: ",
        display_size(cur),
        display_size(region_size)
    ));
    if let Some(m) = r.meta.first().cloned().flatten() {
        let meta_le = vg.lv(&m).map_or(0, Lv::size_extents);
        if meta_le < rmeta_extents(le, adjusted, vg.extent_size) {
            return Err(invalid(format!(
                "Region size {} on {disp} is too small for metadata LV size.",
                display_size(region_size)
            )));
        }
    }
    let mut out = vg.clone();
    let top = out.lv_mut(name).expect("checked");
    top.segments[0].raid.as_mut().expect("raid").region_size = Some(adjusted);
    plan.commit(vec![], out);
    plan.done.push(format!(
        "Changed region size on {} LV {disp} to {}.",
        t.name(),
        display_size(adjusted)
    ));
    Ok(plan)
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
