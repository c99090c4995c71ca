//! lvreduce: remove extents from the end of linear, striped and RAID LVs.
//!
//! Sizes work as in lvm2's `lvresize`: `-L`/`-l` give the new size or,
//! with `-`, what to remove; a striped segment keeps whole stripes
//! (rounding toward the original size). A RAID LV loses the same extents
//! at the end of every image; its metadata LVs keep their size.

use super::args::split_lv_path;
use super::context::Ctx;
use super::lvextend::{raid_sub_lv_kind, resize_raid, ResizeRequest};
use super::lvops::{display_size, size_and_extents};
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::model::{Lv, SegType, Vg};
use crate::units::{parse_extents, parse_size_mb, PercentOf, Sign};
use std::io::{BufRead, IsTerminal, Write};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The LV to reduce (VG/LV)
    #[arg(value_name = "LV")]
    pub lv: String,
    /// New size, or -SIZE to remove (default unit MiB)
    #[arg(
        short = 'L',
        long = "size",
        value_name = "[-]SIZE",
        conflicts_with = "extents",
        allow_hyphen_values = true
    )]
    pub size: Option<String>,
    /// New size in extents, or -N, or N%VG/%FREE/%PVS/%LV
    #[arg(
        short = 'l',
        long = "extents",
        value_name = "[-]N[%...]",
        allow_hyphen_values = true
    )]
    pub extents: Option<String>,
    /// Do not ask for confirmation
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
}

/// Cut a linear/striped LV down to `new` extents.
fn trim_striped(lv: &mut Lv, new: u64) {
    let mut keep = Vec::new();
    for mut s in std::mem::take(&mut lv.segments) {
        if s.start_extent >= new {
            break;
        }
        if s.start_extent + s.extent_count > new {
            s.extent_count = new - s.start_extent;
        }
        keep.push(s);
    }
    lv.segments = keep;
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let (vg_name, lv_name) = split_lv_path(&args.lv)?;
    let full = format!("{vg_name}/{lv_name}");
    let mut w = VgForWrite::open(ctx, &vg_name)?;
    let old_vg = w.vg.clone();
    let lv =
        w.vg.lv(&lv_name)
            .cloned()
            .ok_or_else(|| CmdError::failed(format!("Logical volume {full} not found.")))?;
    if let Some(kind) = raid_sub_lv_kind(&w.vg, &lv_name) {
        return Err(CmdError::failed(format!(
            "Cannot resize a RAID {kind} directly"
        )));
    }
    if !lv.is_visible() {
        return Err(CmdError::failed(format!(
            "Can't resize internal logical volume {full}."
        )));
    }
    if lv.raid_type().is_some() {
        if lv.segments.len() != 1 {
            return Err(CmdError::failed(format!(
                "Logical volume {full} has {} RAID segments: this version of lvm resizes single-segment RAID LVs only.",
                lv.segments.len()
            )));
        }
        let req = ResizeRequest {
            size: args.size.as_deref(),
            extents: args.extents.as_deref(),
            alloc: None,
            nosync: false,
            reduce: true,
        };
        let old_vg = super::lvextend::free_reshape_space_for_resize(ctx, &mut w, &lv_name)?
            .unwrap_or(old_vg);
        let (old, new) = resize_raid(ctx, &mut w, &lv_name, &req, None)?;
        return finish(ctx, w, &old_vg, &lv_name, args.force > 0, old, new);
    }
    if let Some(s) = lv.segments.iter().find(|s| s.segtype != SegType::Striped) {
        return Err(CmdError::failed(format!(
            "Logical volume {full} has segment type {}: this version of lvm reduces linear, striped and RAID LVs only.",
            s.segtype.name()
        )));
    }
    if !w.vg.users_of(&lv_name).is_empty() {
        return Err(CmdError::failed(format!(
            "Can't resize internal logical volume {full}."
        )));
    }
    let vg = &w.vg;
    let es = vg.extent_size;
    let le = lv.size_extents();
    let new_extents = if let Some(s) = &args.size {
        let a =
            parse_size_mb(s).map_err(|e| CmdError::usage(format!("Invalid size \"{s}\": {e}")))?;
        if a.sign == Sign::Plus {
            return Err(CmdError::usage(
                "Positive sign not permitted - use lvextend.",
            ));
        }
        let mut sectors = a.sectors;
        if sectors % es != 0 {
            if a.sign != Sign::Minus {
                sectors += es;
            }
            sectors -= sectors % es;
            ctx.say(format!(
                "Rounding size to boundary between physical extents: {}.",
                display_size(sectors * 512)
            ));
        }
        match a.sign {
            Sign::Minus if sectors / es >= le => {
                return Err(CmdError::failed(format!(
                    "Unable to reduce {full} below 1 extent."
                )))
            }
            Sign::Minus => le - sectors / es,
            _ => sectors / es,
        }
    } else if let Some(s) = &args.extents {
        let e = parse_extents(s)
            .map_err(|e| CmdError::usage(format!("Invalid extents \"{s}\": {e}")))?;
        if e.sign == Sign::Plus {
            return Err(CmdError::usage(
                "Positive sign not permitted - use lvextend.",
            ));
        }
        let n = match e.percent {
            None => e.value,
            Some(PercentOf::Lv) => e.value * le / 100,
            Some(PercentOf::Vg) => e.value * vg.extent_count() / 100,
            Some(PercentOf::Free) => e.value * crate::alloc::vg_free_extents(vg) / 100,
            Some(PercentOf::Pvs) => e.value * vg.extent_count() / 100,
            Some(PercentOf::Origin) => {
                return Err(CmdError::failed("Specified LV does not have an origin LV."))
            }
        };
        match e.sign {
            Sign::Minus if n >= le => {
                return Err(CmdError::failed(format!(
                    "Unable to reduce {full} below 1 extent."
                )))
            }
            Sign::Minus => le - n,
            _ => n,
        }
    } else {
        return Err(CmdError::usage(
            "Please specify either size or extents (-L or -l).",
        ));
    };
    if new_extents == 0 {
        return Err(CmdError::failed("New size of 0 not permitted."));
    }
    if new_extents >= le {
        return Err(CmdError::failed(format!(
            "New size given ({new_extents} extents) not less than existing size ({le} extents)"
        )));
    }
    // Whole stripes in the segment the LV now ends in: round up (toward
    // the original size), as lvm2 does.
    let mut new = new_extents;
    if let Some(seg) = lv
        .segments
        .iter()
        .find(|s| s.start_extent < new && new <= s.start_extent + s.extent_count)
    {
        let stripes = seg.areas.len().max(1) as u64;
        let stripe_size = seg.stripe_size.unwrap_or(0);
        let stripes_extents = stripes
            * if stripe_size > es {
                stripe_size / es
            } else {
                1
            };
        let rest = (new - seg.start_extent) % stripes_extents;
        if stripes > 1 && rest != 0 {
            let up = new - rest + stripes_extents;
            ctx.say(format!(
                "Rounding size ({new} extents) up to stripe boundary size for segment ({up} extents)."
            ));
            new = up;
        }
    }
    if new >= le {
        return Err(CmdError::failed(format!(
            "New size ({new} extents) matches existing size ({le} extents)."
        )));
    }
    trim_striped(w.vg.lv_mut(&lv_name).expect("found"), new);
    finish(ctx, w, &old_vg, &lv_name, args.force > 0, le, new)
}

/// lvm2's `_lvreduce_confirm` for an active LV: warn, and without -f/-y
/// ask (no terminal: the answer is no).
fn confirm_active(ctx: &Ctx, old_vg: &Vg, lv: &str, force: bool, new: u64) -> Result<(), CmdError> {
    if !ctx.config.bool("global/activation", true) || !crate::activate::is_active(old_vg, lv) {
        return Ok(());
    }
    let full = format!("{}/{lv}", old_vg.name);
    ctx.warn(format!(
        "Reducing active logical volume to {}.",
        display_size(new * old_vg.extent_size * 512)
    ));
    ctx.warn("THIS MAY DESTROY YOUR DATA (filesystem etc.)");
    if force || ctx.common.yes {
        return Ok(());
    }
    let question = format!("Do you really want to reduce {full}? [y/n]: ");
    let stdin = std::io::stdin();
    let yes = if stdin.is_terminal() {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        stdin.lock().read_line(&mut line).unwrap_or(0) > 0
            && matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    } else {
        eprintln!("{question}[n]");
        false
    };
    if yes {
        Ok(())
    } else {
        Err(CmdError::failed(format!(
            "Logical volume {full} NOT reduced (it is active; confirm with -f or -y)."
        )))
    }
}

fn finish(
    ctx: &mut Ctx,
    mut w: VgForWrite,
    old_vg: &Vg,
    lv: &str,
    force: bool,
    old: u64,
    new: u64,
) -> Result<(), CmdError> {
    let full = &format!("{}/{lv}", w.vg.name);
    let (before, after) = (size_and_extents(&w.vg, old), size_and_extents(&w.vg, new));
    confirm_active(ctx, old_vg, lv, force, new)?;
    w.commit(ctx)?;
    super::vgchange::reload_after_commit(ctx, &w, old_vg, lv)?;
    ctx.say(format!(
        "Size of logical volume {full} changed from {before} to {after}."
    ));
    ctx.say(format!("Logical volume {full} successfully resized."));
    Ok(())
}
