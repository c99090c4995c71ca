//! lvextend: add extents to linear and striped logical volumes.

use super::args::{parse_pv_arg, split_lv_path, PvArg};
use super::context::Ctx;
use super::lvops::{candidates, merge_segments, size_and_extents, striped_segments};
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::alloc::{self, Policy, Request};
use crate::model::{Area, SegType};
use crate::units::{parse_extents, parse_size_mb, PercentOf, Sign};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The LV to extend (VG/LV), then PVs to allocate from (PV[:PE[-PE]]...)
    #[arg(value_name = "LV")]
    pub lv: String,
    #[arg(value_name = "PV")]
    pub pvs: Vec<String>,
    /// New size, or +SIZE to add (default unit MiB)
    #[arg(short = 'L', long = "size", value_name = "[+]SIZE", conflicts_with = "extents", allow_hyphen_values = true)]
    pub size: Option<String>,
    /// New size in extents, or +N, or N%VG/%FREE/%PVS/%LV
    #[arg(short = 'l', long = "extents", value_name = "[+]N[%...]", allow_hyphen_values = true)]
    pub extents: Option<String>,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    pub alloc: Option<String>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let (vg_name, lv_name) = split_lv_path(&args.lv)?;
    let pv_args: Vec<PvArg> = args.pvs.iter().map(|p| parse_pv_arg(p)).collect::<Result<_, _>>()?;
    let mut w = VgForWrite::open(ctx, &vg_name)?;
    let idx = w
        .vg
        .lvs
        .iter()
        .position(|l| l.name == lv_name)
        .ok_or_else(|| CmdError::failed(format!("Logical volume {vg_name}/{lv_name} not found.")))?;
    let lv = w.vg.lvs[idx].clone();
    let Some(last) = lv.segments.last().cloned() else {
        return Err(CmdError::failed(format!("Logical volume {vg_name}/{lv_name} has no segments.")));
    };
    if last.segtype != SegType::Striped || lv.segments.iter().any(|s| s.areas.iter().any(|a| matches!(a, Area::Lv { .. }))) {
        return Err(CmdError::failed(format!(
            "Logical volume {vg_name}/{lv_name} has segment type {}: this version of lvm extends linear and striped LVs only.",
            last.segtype.name()
        )));
    }
    let current: u64 = lv.segments.iter().map(|s| s.extent_count).sum();
    let cands = candidates(&w, &pv_args)?;
    let vg = &w.vg;
    let target = if let Some(s) = &args.size {
        let a = parse_size_mb(s).map_err(|e| CmdError::usage(format!("Invalid size \"{s}\": {e}")))?;
        let ext = a.sectors.div_ceil(vg.extent_size);
        match a.sign {
            Sign::Plus => current + ext,
            Sign::None => ext,
            Sign::Minus => {
                return Err(CmdError::usage("lvextend cannot reduce an LV: use lvreduce."))
            }
        }
    } else if let Some(s) = &args.extents {
        let e = parse_extents(s).map_err(|e| CmdError::usage(format!("Invalid extents \"{s}\": {e}")))?;
        let base = match e.percent {
            None => e.value,
            Some(PercentOf::Vg) => vg.pvs.iter().map(|p| p.pe_count).sum::<u64>() * e.value / 100,
            Some(PercentOf::Free) => alloc::vg_free_extents(vg) * e.value / 100,
            Some(PercentOf::Lv) => current * e.value / 100,
            Some(PercentOf::Pvs) => {
                let keys: Vec<&str> = match &cands {
                    Some(c) => c.iter().map(|c| c.pv.as_str()).collect(),
                    None => vg.pvs.iter().map(|p| p.key.as_str()).collect(),
                };
                vg.pvs
                    .iter()
                    .filter(|p| keys.contains(&p.key.as_str()))
                    .map(|p| p.pe_count)
                    .sum::<u64>()
                    * e.value
                    / 100
            }
            Some(PercentOf::Origin) => {
                return Err(CmdError::usage("%ORIGIN applies to snapshots only."))
            }
        };
        match e.sign {
            Sign::Plus => current + base,
            Sign::None => base,
            Sign::Minus => {
                return Err(CmdError::usage("lvextend cannot reduce an LV: use lvreduce."))
            }
        }
    } else {
        return Err(CmdError::usage("Please specify either size or extents (-L or -l)."));
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
            super::lvops::display_size(last.stripe_size.unwrap_or(0) * 512)
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
        CmdError::failed(format!("Cannot extend {vg_name}/{lv_name} by {}: {e}", size_and_extents(vg, add)))
    })?;
    let new = striped_segments(&chunks, current, last.stripe_size);
    let before = size_and_extents(vg, current);
    let after = size_and_extents(vg, current + add);
    let lv = &mut w.vg.lvs[idx];
    lv.segments.extend(new);
    merge_segments(&mut lv.segments);
    w.commit(ctx)?;
    ctx.say(format!(
        "Size of logical volume {vg_name}/{lv_name} changed from {before} to {after}."
    ));
    ctx.say(format!("Logical volume {vg_name}/{lv_name} successfully resized."));
    Ok(())
}
