//! lvextend: add extents to linear, striped and RAID logical volumes.
//!
//! A RAID LV grows by growing every image by the same amount (lvm2's
//! `lv_extend` on a RAID LV); the size arithmetic follows lvm2's
//! `_lvresize_prepare`/`_lvresize_adjust_extents` (rounding to whole
//! stripes, percentages of physical extents converted to logical ones) and
//! prints its messages. [`resize_raid`] is shared with lvreduce.

use super::args::{parse_pv_arg, split_lv_path, PvArg};
use super::context::Ctx;
use super::lvops::{candidates, display_size, merge_segments, size_and_extents, striped_segments};
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::alloc::{self, Candidate, Policy, Request};
use crate::model::{Area, RaidType, SegType, Vg};
use crate::raid::{self, Layout};
use crate::units::{parse_extents, parse_size_mb, PercentOf, Sign};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The LV to extend (VG/LV), then PVs to allocate from (PV[:PE[-PE]]...)
    #[arg(value_name = "LV")]
    pub lv: String,
    #[arg(value_name = "PV")]
    pub pvs: Vec<String>,
    /// New size, or +SIZE to add (default unit MiB)
    #[arg(
        short = 'L',
        long = "size",
        value_name = "[+]SIZE",
        conflicts_with = "extents",
        allow_hyphen_values = true
    )]
    pub size: Option<String>,
    /// New size in extents, or +N, or N%VG/%FREE/%PVS/%LV
    #[arg(
        short = 'l',
        long = "extents",
        value_name = "[+]N[%...]",
        allow_hyphen_values = true
    )]
    pub extents: Option<String>,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    pub alloc: Option<String>,
    /// Do not synchronize the new extents of a raid1/raid10 LV
    #[arg(long = "nosync")]
    pub nosync: bool,
}

/// What lvextend and lvreduce ask of a RAID LV.
pub(super) struct ResizeRequest<'a> {
    pub size: Option<&'a str>,
    pub extents: Option<&'a str>,
    pub alloc: Option<&'a str>,
    pub nosync: bool,
    /// lvreduce (else lvextend).
    pub reduce: bool,
}

/// lvm2's `percent_of_extents`.
fn percent_of(percent: u64, count: u64, roundup: bool) -> u64 {
    (percent * count + if roundup { 99 } else { 0 }) / 100
}

/// Free extents within the candidates (lvm2's `pv_list_extents_free`).
fn candidates_free(vg: &Vg, cands: &[Candidate]) -> u64 {
    let free = vg.free_extents();
    let mut seen = std::collections::BTreeSet::new();
    for c in cands {
        for r in free.get(&c.pv).into_iter().flatten() {
            for x in r.clone() {
                if c.ranges.is_empty() || c.ranges.iter().any(|&(a, b)| (a..=b).contains(&x)) {
                    seen.insert((c.pv.clone(), x));
                }
            }
        }
    }
    seen.len() as u64
}

/// Physical extents an LV and its sub-LVs use (lvm2's `_lv_pe_count`).
fn lv_pe_count(vg: &Vg, name: &str) -> u64 {
    let mut names = raid::sub_lvs(vg, name);
    names.push(name.to_string());
    vg.used_extents()
        .values()
        .flatten()
        .filter(|u| names.contains(&u.lv))
        .map(|u| u.len)
        .sum()
}

/// Resize a RAID LV as lvm2 2.03 does; returns (old, new) extents.
pub(super) fn resize_raid(
    ctx: &Ctx,
    w: &mut VgForWrite,
    name: &str,
    req: &ResizeRequest,
    cands: Option<&[Candidate]>,
) -> Result<(u64, u64), CmdError> {
    let vg = &w.vg;
    let full = format!("{}/{name}", vg.name);
    let lv = vg.lv(name).expect("caller found it");
    let seg = &lv.segments[0];
    let t: RaidType = seg.raid_type().expect("caller checked");
    let r = seg.raid.as_ref().expect("raid segment");
    let images = r.images.len() as u64;
    let parity = t.parity_devs();
    if (t.is_raid4() || t.is_raid5()) && images < 3 {
        return Err(CmdError::failed(format!(
            "Cannot resize {} LV {full}. Convert to more stripes first.",
            t.name()
        )));
    }
    if r.images
        .iter()
        .flatten()
        .any(|i| vg.lv(i).is_some_and(|l| l.is_visible()))
    {
        return Err(CmdError::failed(format!(
            "Cannot resize logical volume {full} while it is tracking a split image."
        )));
    }
    let le = lv.size_extents();
    let es = vg.extent_size;

    // The argument: extents, sign, percentage.
    let (sign, mut extents, percent) = if let Some(s) = req.size {
        let a =
            parse_size_mb(s).map_err(|e| CmdError::usage(format!("Invalid size \"{s}\": {e}")))?;
        let mut sectors = a.sectors;
        let adjust = sectors % es;
        if adjust != 0 {
            if a.sign != Sign::Minus {
                sectors += es;
            }
            sectors -= adjust;
            ctx.say(format!(
                "Rounding size to boundary between physical extents: {}.",
                display_size(sectors * 512)
            ));
        }
        (a.sign, sectors / es, None)
    } else if let Some(s) = req.extents {
        let e = parse_extents(s)
            .map_err(|e| CmdError::usage(format!("Invalid extents \"{s}\": {e}")))?;
        let up = e.sign != Sign::Minus;
        let free = alloc::vg_free_extents(vg);
        let n = match e.percent {
            None => e.value,
            Some(PercentOf::Vg) => {
                let mut n = percent_of(e.value, vg.extent_count(), up);
                if e.sign == Sign::None && n > le + free {
                    n = le + free;
                    ctx.say(format!(
                        "Reducing {}%VG to remaining free space {} in VG.",
                        e.value,
                        display_size(n * es * 512)
                    ));
                }
                n
            }
            Some(PercentOf::Free) => percent_of(e.value, free, up),
            Some(PercentOf::Lv) => percent_of(e.value, le, up),
            Some(PercentOf::Pvs) => match cands {
                Some(c) => percent_of(e.value, candidates_free(vg, c), up),
                None => percent_of(e.value, vg.extent_count(), up),
            },
            Some(PercentOf::Origin) => {
                return Err(CmdError::failed("Specified LV does not have an origin LV."))
            }
        };
        (e.sign, n, e.percent)
    } else {
        return Err(CmdError::usage(
            "Please specify either size or extents (-L or -l).",
        ));
    };
    if req.reduce && sign == Sign::Plus {
        return Err(CmdError::usage(
            "Positive sign not permitted - use lvextend.",
        ));
    }
    if !req.reduce && sign == Sign::Minus {
        return Err(CmdError::usage(
            "Negative argument not permitted - use lvreduce.",
        ));
    }
    let are_pes = matches!(
        percent,
        Some(PercentOf::Vg | PercentOf::Free | PercentOf::Pvs)
    );
    let approx =
        (sign == Sign::None && are_pes) || (sign == Sign::Plus && percent == Some(PercentOf::Free));

    // _lvresize_prepare: whole stripes.
    let raid_stripes = match t {
        RaidType::Raid1 => 0,
        RaidType::Raid10 => images / 2,
        _ => images - parity,
    };
    if percent.is_none() && raid_stripes > 0 && extents % raid_stripes != 0 {
        let rest = extents % raid_stripes;
        let new = if req.reduce {
            extents - rest
        } else {
            extents + raid_stripes - rest
        };
        ctx.say(format!(
            "Rounding size {} {} to stripe boundary size {}.",
            size_and_extents(vg, extents),
            if new < extents { "down" } else { "up" },
            size_and_extents(vg, new)
        ));
        extents = new;
    }

    // _lvresize_adjust_extents
    let existing = if are_pes { lv_pe_count(vg, name) } else { le };
    let reducing = sign == Sign::Minus || (sign == Sign::None && extents < existing);
    let area_multiple = Layout::of_segment(seg).map_or(1, |l| l.area_multiple());
    let (mut new, seg_size, stripes, stripe_size);
    if !reducing {
        if t.is_mirrored() {
            let m = if t.is_raid10() { 2 } else { images };
            ctx.say(format!("Extending {m} mirror images."));
        }
        if t.is_raid10() {
            stripes = images / 2;
            stripe_size = seg.stripe_size.unwrap_or(0);
        } else if t.is_raid1() {
            stripes = 1;
            stripe_size = 0;
        } else {
            stripes = images - parity;
            let sz = seg.stripe_size.unwrap_or(0);
            if stripes > 1 {
                if sz > 0 {
                    ctx.say(format!(
                        "Using stripesize of last segment {}",
                        display_size(sz * 512)
                    ));
                    stripe_size = sz;
                } else {
                    stripe_size = (ctx.config.int("metadata/stripesize", 64).max(1) as u64) * 2;
                    ctx.say(format!(
                        "Using default stripesize {}",
                        display_size(stripe_size * 512)
                    ));
                }
            } else {
                stripe_size = sz;
            }
        }
        let mut size = if sign == Sign::Plus {
            extents
        } else {
            extents - existing
        };
        if are_pes {
            size = size * area_multiple / (images - parity);
            size = size / area_multiple * area_multiple;
        }
        seg_size = size;
        new = le + size;
    } else {
        let target = if sign == Sign::Minus {
            if extents >= existing {
                return Err(CmdError::failed(format!(
                    "Unable to reduce {full} below 1 extent."
                )));
            }
            existing - extents
        } else {
            extents
        };
        new = target;
        if are_pes && target <= le * images {
            let mirrors = if t.is_raid10() {
                2
            } else if t.is_raid1() {
                images
            } else {
                1
            };
            new = target / mirrors;
        }
        seg_size = new;
        // lvm2's _lvseg_get_stripes: mirrored segments count the stripes
        // of their (linear) images.
        stripes = if t.is_mirrored() { 1 } else { images - parity };
        stripe_size = seg.stripe_size.unwrap_or(0);
    }
    if new == 0 {
        return Err(CmdError::failed("New size of 0 not permitted."));
    }
    if new == le {
        return Err(CmdError::failed(format!(
            "New size ({new} extents) matches existing size ({le} extents)."
        )));
    }
    if stripes > 1 {
        let stripes_extents = stripes
            * if stripe_size > es {
                stripe_size / es
            } else {
                1
            };
        let rest = seg_size % stripes_extents;
        let free = alloc::vg_free_extents(vg);
        if rest != 0 && (new < le || percent.is_none() || free >= new - le - rest + stripes_extents)
        {
            let up = new - rest + stripes_extents;
            ctx.say(format!(
                "Rounding size ({new} extents) up to stripe boundary size for segment ({up} extents)."
            ));
            new = up;
        } else if rest != 0 {
            ctx.say(format!(
                "Rounding size ({new} extents) down to stripe boundary size for segment ({} extents)",
                new - rest
            ));
            new -= rest;
        }
    }
    if !req.reduce && new < le {
        return Err(CmdError::failed(format!(
            "New size given ({new} extents) not larger than existing size ({le} extents)"
        )));
    }
    if req.reduce && new > le {
        return Err(CmdError::failed(format!(
            "New size given ({new} extents) not less than existing size ({le} extents)"
        )));
    }
    if new == le {
        return Err(CmdError::failed(format!(
            "New size ({new} extents) matches existing size ({le} extents)."
        )));
    }
    let out = if new > le {
        let policy = match req.alloc.or(lv.allocation_policy.as_deref()) {
            Some(a) if a != "inherit" => Policy::from_name(a)
                .ok_or_else(|| CmdError::usage(format!("Invalid allocation policy \"{a}\".")))?,
            _ => Policy::Normal,
        };
        let e =
            raid::extend(vg, name, new - le, policy, approx, req.nosync, cands).map_err(|e| {
                CmdError::failed(format!(
                    "Cannot extend {full} by {}: {e}",
                    size_and_extents(vg, new - le)
                ))
            })?;
        new = e.extents;
        e.vg
    } else {
        raid::reduce(vg, name, new).map_err(|e| CmdError::failed(e.to_string()))?
    };
    w.vg = out;
    Ok((le, new))
}

/// lvm2 resizes a RAID LV without reshape space: an earlier reshape's
/// space is freed first, which needs the running array (only the kernel
/// knows which end of the images holds it). Commits what freeing needs
/// before the resize (moving the space off the front); returns the VG the
/// kernel now runs, and leaves `w.vg` without the space.
pub(crate) fn free_reshape_space_for_resize(
    ctx: &mut Ctx,
    w: &mut VgForWrite,
    lv: &str,
) -> Result<Option<Vg>, CmdError> {
    if raid::reshape::reshape_len(&w.vg, lv) == 0 {
        return Ok(None);
    }
    let full = format!("{}/{lv}", w.vg.name);
    if !super::lvconvert::is_active(&w.vg, lv) || ctx.common.test {
        return Err(CmdError::failed(format!(
            "{full} has reshape space from an earlier reshape, which only the running array \
             can free: activate it (lvchange -ay {full}) and repeat the resize."
        )));
    }
    let kernel = super::lvconvert_takeover::kernel_state(ctx, &w.vg, lv)?
        .ok_or_else(|| CmdError::failed(format!("Cannot read the RAID status of {full}.")))?;
    if !kernel.in_sync {
        return Err(CmdError::failed(format!(
            "Can't resize reshaping LV {full}."
        )));
    }
    let mut freed = w.vg.clone();
    let (pre, _) = raid::reshape::free_space(&mut freed, lv, &kernel)
        .map_err(|e| CmdError::failed(e.to_string()))?;
    if !pre.is_empty() {
        super::lvconvert::commit_live(ctx, w, lv, pre, false, false)?;
    }
    let running = w.vg.clone();
    w.vg = freed;
    Ok(Some(running))
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let (vg_name, lv_name) = split_lv_path(&args.lv)?;
    let pv_args: Vec<PvArg> = args
        .pvs
        .iter()
        .map(|p| parse_pv_arg(p))
        .collect::<Result<_, _>>()?;
    let mut w = VgForWrite::open(ctx, &vg_name)?;
    let old_vg = w.vg.clone();
    let idx =
        w.vg.lvs
            .iter()
            .position(|l| l.name == lv_name)
            .ok_or_else(|| {
                CmdError::failed(format!("Logical volume {vg_name}/{lv_name} not found."))
            })?;
    let lv = w.vg.lvs[idx].clone();
    let Some(last) = lv.segments.last().cloned() else {
        return Err(CmdError::failed(format!(
            "Logical volume {vg_name}/{lv_name} has no segments."
        )));
    };
    let cands = candidates(&w, &pv_args)?;
    // With PVs but no size, lvm2 extends by everything free on them.
    let (size, extents) = match (&args.size, &args.extents) {
        (None, None) if !args.pvs.is_empty() => (None, Some("+100%PVS".to_string())),
        (s, e) => (s.clone(), e.clone()),
    };
    if lv.raid_type().is_some() || is_raid_sub_lv(&w.vg, &lv_name) {
        if let Some(kind) = raid_sub_lv_kind(&w.vg, &lv_name) {
            return Err(CmdError::failed(format!(
                "Cannot resize a RAID {kind} directly"
            )));
        }
        if lv.segments.len() != 1 {
            return Err(CmdError::failed(format!(
                "Logical volume {vg_name}/{lv_name} has {} RAID segments: this version of lvm resizes single-segment RAID LVs only.",
                lv.segments.len()
            )));
        }
        let req = ResizeRequest {
            size: size.as_deref(),
            extents: extents.as_deref(),
            alloc: args.alloc.as_deref(),
            nosync: args.nosync,
            reduce: false,
        };
        let old_vg = free_reshape_space_for_resize(ctx, &mut w, &lv_name)?.unwrap_or(old_vg);
        let (old, new) = resize_raid(ctx, &mut w, &lv_name, &req, cands.as_deref())?;
        let (before, after) = (size_and_extents(&w.vg, old), size_and_extents(&w.vg, new));
        w.commit(ctx)?;
        super::vgchange::reload_after_commit(ctx, &w, &old_vg, &lv_name)?;
        ctx.say(format!(
            "Size of logical volume {vg_name}/{lv_name} changed from {before} to {after}."
        ));
        ctx.say(format!(
            "Logical volume {vg_name}/{lv_name} successfully resized."
        ));
        return Ok(());
    }
    if last.segtype != SegType::Striped
        || lv
            .segments
            .iter()
            .any(|s| s.areas.iter().any(|a| matches!(a, Area::Lv { .. })))
    {
        return Err(CmdError::failed(format!(
            "Logical volume {vg_name}/{lv_name} has segment type {}: this version of lvm extends linear, striped and RAID LVs only.",
            last.segtype.name()
        )));
    }
    if args.nosync {
        return Err(CmdError::usage(
            "--nosync applies to raid1 and raid10 LVs only.",
        ));
    }
    let current: u64 = lv.segments.iter().map(|s| s.extent_count).sum();
    let vg = &w.vg;
    let target = if let Some(s) = &size {
        let a =
            parse_size_mb(s).map_err(|e| CmdError::usage(format!("Invalid size \"{s}\": {e}")))?;
        let ext = a.sectors.div_ceil(vg.extent_size);
        match a.sign {
            Sign::Plus => current + ext,
            Sign::None => ext,
            Sign::Minus => {
                return Err(CmdError::usage(
                    "lvextend cannot reduce an LV: use lvreduce.",
                ))
            }
        }
    } else if let Some(s) = &extents {
        let e = parse_extents(s)
            .map_err(|e| CmdError::usage(format!("Invalid extents \"{s}\": {e}")))?;
        let base = match e.percent {
            None => e.value,
            Some(PercentOf::Vg) => vg.pvs.iter().map(|p| p.pe_count).sum::<u64>() * e.value / 100,
            Some(PercentOf::Free) => alloc::vg_free_extents(vg) * e.value / 100,
            Some(PercentOf::Lv) => current * e.value / 100,
            Some(PercentOf::Pvs) => match &cands {
                Some(c) => candidates_free(vg, c) * e.value / 100,
                None => vg.extent_count() * e.value / 100,
            },
            Some(PercentOf::Origin) => {
                return Err(CmdError::usage("%ORIGIN applies to snapshots only."))
            }
        };
        match e.sign {
            Sign::Plus => current + base,
            Sign::None => base,
            Sign::Minus => {
                return Err(CmdError::usage(
                    "lvextend cannot reduce an LV: use lvreduce.",
                ))
            }
        }
    } else {
        return Err(CmdError::usage(
            "Please specify either size or extents (-L or -l).",
        ));
    };
    if target <= current {
        return Err(CmdError::failed(format!(
            "New size given ({}) not larger than existing size ({}) of {vg_name}/{lv_name}.",
            size_and_extents(vg, target),
            size_and_extents(vg, current)
        )));
    }
    let stripes = last.areas.len() as u64;
    if stripes > 1 {
        ctx.say(format!(
            "Using stripesize of last segment {}",
            display_size(last.stripe_size.unwrap_or(0) * 512)
        ));
    }
    let mut add = target - current;
    if !add.is_multiple_of(stripes) {
        add += stripes - add % stripes;
    }
    let policy = match args.alloc.as_deref().or(lv.allocation_policy.as_deref()) {
        Some(a) => Policy::from_name(a).unwrap_or(Policy::Normal),
        None => Policy::Normal,
    };
    let per_area = last.extent_count / stripes;
    let previous = last
        .areas
        .iter()
        .map(|a| match a {
            Area::Pv { pv, pe } => Some((pv.clone(), pe + per_area)),
            Area::Lv { .. } => None,
        })
        .collect();
    let req = Request {
        areas: stripes as usize,
        extents_per_area: add / stripes,
        policy,
        previous,
    };
    let chunks = alloc::allocate(vg, &req, cands.as_deref()).map_err(|e| {
        CmdError::failed(format!(
            "Cannot extend {vg_name}/{lv_name} by {}: {e}",
            size_and_extents(vg, add)
        ))
    })?;
    let new = striped_segments(&chunks, current, last.stripe_size);
    let before = size_and_extents(vg, current);
    let after = size_and_extents(vg, current + add);
    let lv = &mut w.vg.lvs[idx];
    lv.segments.extend(new);
    merge_segments(&mut lv.segments);
    w.commit(ctx)?;
    super::vgchange::reload_after_commit(ctx, &w, &old_vg, &lv_name)?;
    ctx.say(format!(
        "Size of logical volume {vg_name}/{lv_name} changed from {before} to {after}."
    ));
    ctx.say(format!(
        "Logical volume {vg_name}/{lv_name} successfully resized."
    ));
    Ok(())
}

/// Whether `name` is a sub-LV (image or metadata) of a RAID LV.
pub(super) fn is_raid_sub_lv(vg: &Vg, name: &str) -> bool {
    raid_sub_lv_kind(vg, name).is_some()
}

/// "image" or "metadata area" when `name` is a RAID sub-LV.
pub(super) fn raid_sub_lv_kind(vg: &Vg, name: &str) -> Option<&'static str> {
    for lv in &vg.lvs {
        for seg in &lv.segments {
            if let Some(r) = &seg.raid {
                if r.images.iter().flatten().any(|i| i == name) {
                    return Some("image");
                }
                if r.meta.iter().flatten().any(|m| m == name) {
                    return Some("metadata area");
                }
            }
        }
    }
    None
}
