//! `lvconvert --type X VG/LV [PV...]`: RAID takeover (see
//! [`crate::raid::takeover`]), called by `lvconvert` for `--type` without
//! image operations.
//!
//! lvm2 refuses every conversion of an inactive LV ("must be active to
//! perform this operation"); here the takeovers that only add or remove
//! parity/mirror images or reinterpret the layout work offline: the VG is
//! committed in the planner's steps, new metadata sub-LVs wiped on their
//! PVs in between, new images flagged for rebuild at the next activation.
//! Reshapes (another layout of the same level, `--stripes`,
//! `--stripesize`) move data and are refused until the LV is active.
//! An active LV is converted online: each commit is followed by a live
//! table reload ([`super::lvconvert::commit_live`], shared with the image
//! conversions).

use super::args::split_lv_path;
use super::context::Ctx;
use super::lvconvert::{
    commit_live, commit_steps, default_region_size, is_active, new_env, policy, region_size_arg,
    Args,
};
use super::lvops;
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::raid::{self, takeover};
use crate::units::{parse_size, DefaultUnit, Sign};

/// `-I`: KiB by default, a power of 2, at least a page.
fn stripe_size_arg(s: &str) -> Result<u64, CmdError> {
    let bad = |why: &str| CmdError::usage(format!("{why}\nInvalid argument for --stripesize: {s}"));
    let a = parse_size(s, DefaultUnit::KiB).map_err(|e| bad(&e.to_string()))?;
    if a.sign == Sign::Minus {
        return Err(bad("Stripesize may not be negative."));
    }
    if a.sectors < raid::PAGE_SECTORS || !a.sectors.is_power_of_two() {
        return Err(bad(
            "Invalid stripe size: a power of 2 of at least 4 KiB is needed.",
        ));
    }
    Ok(a.sectors)
}

/// What a reshape needs from the running array: device count, sync
/// state, where the data starts in the images, open count.
pub(crate) fn kernel_state(
    ctx: &Ctx,
    vg: &crate::model::Vg,
    lv: &str,
) -> Result<Option<raid::reshape::KernelState>, CmdError> {
    if vg.lv(lv).and_then(|l| l.raid_type()).is_none() {
        return Ok(None);
    }
    let dm = super::vgchange::open_dm(ctx)?;
    let st = crate::activate::dm_raid_status(&dm, vg, lv).map_err(|e| {
        CmdError::failed(format!(
            "Cannot read the device-mapper status of {}/{lv}: {e}",
            vg.name
        ))
    })?;
    Ok(st.map(|(s, open)| raid::reshape::KernelState::from_status(&s, open)))
}

pub fn run(ctx: &mut Ctx, args: &Args) -> Result<(), CmdError> {
    let (vg_name, lv_name) = split_lv_path(&args.lv)?;
    let type_name = args
        .segtype
        .clone()
        .ok_or_else(|| CmdError::usage("--type is required for a takeover."))?;
    let to = takeover::SegT::from_name(&type_name).ok_or_else(|| {
        if type_name == "mirror" {
            CmdError::failed(format!(
                "Conversion of {vg_name}/{lv_name} to mirror is not supported by this version."
            ))
        } else {
            CmdError::usage(format!(
                "WARNING: Unrecognised segment type {type_name}\nInvalid argument for --type: \
                 {type_name}\nError during parsing of command line."
            ))
        }
    })?;
    let stripe_size = args
        .stripe_size
        .as_deref()
        .map(stripe_size_arg)
        .transpose()?;
    let region_size = args
        .region_size
        .as_deref()
        .map(region_size_arg)
        .transpose()?;
    let pv_args = args.pv_args()?;
    // lvm2's get_stripe_params for a striped RAID type (raid1 and
    // striped/linear take no default stripe size).
    if let takeover::SegT::Raid(t) = to {
        let stripes = args.stripes.unwrap_or(if t.is_raid6() { 3 } else { 2 });
        if !t.is_raid1() && stripes > 1 && stripe_size.is_none() {
            let kib = ctx.config.int("metadata/stripesize", 64).max(4) as u64;
            ctx.say(format!(
                "Using default stripesize {}.",
                raid::convert::display_size(kib * 2)
            ));
        }
    }

    let mut w = VgForWrite::open(ctx, &vg_name)?;
    if w.vg.lv(&lv_name).is_none() {
        return Err(CmdError::failed(format!(
            "Failed to find logical volume \"{vg_name}/{lv_name}\""
        )));
    }
    let policy = policy(args, &w.vg, &lv_name)?;
    let cands = lvops::candidates(&w, &pv_args)?;
    let default_region = default_region_size(ctx);
    let active = is_active(&w.vg, &lv_name);
    let kernel = if active && !ctx.common.test {
        kernel_state(ctx, &w.vg, &lv_name)?
    } else {
        None
    };
    let req = takeover::TakeoverRequest {
        lv: &lv_name,
        to,
        stripes: args.stripes,
        stripe_size,
        region_size,
        default_region_size: default_region,
        candidates: cands.as_deref(),
        policy,
        active,
        kernel,
        force: args.force > 0,
        creation_time: Some(lvops::now()),
        creation_host: Some(lvops::hostname()),
    };
    let plan = takeover::plan(&w.vg, &req).map_err(|e| match e {
        raid::RaidError::Alloc(a) => CmdError::failed(format!(
            "Cannot convert {vg_name}/{lv_name} to {}: {a}",
            to.name()
        )),
        raid::RaidError::NoSuchLv(_) => CmdError::failed(format!(
            "Failed to find logical volume \"{vg_name}/{lv_name}\""
        )),
        e => CmdError::failed(e.to_string()),
    })?;
    for m in &plan.messages {
        match m {
            takeover::Msg::Print(s) => ctx.say(s),
            takeover::Msg::Warn(s) | takeover::Msg::Error(s) => eprintln!("  {s}"),
        }
    }
    if let Some(q) = &plan.prompt {
        if !args.yes && !lvops::confirm(q, "  WARNING: ") {
            return Err(CmdError::failed(format!(
                "Logical volume {vg_name}/{lv_name} NOT converted."
            )));
        }
    }
    let mut steps = plan.steps;
    let mut done = Vec::new();
    if let Some(region) = plan.linear_to_raid1 {
        // lvm2's _takeover_from_linear_to_raid1: a second image.
        let mut new_id = || crate::uuid::format(&crate::uuid::generate());
        let mut env = new_env(ctx, &mut new_id);
        let opts = raid::convert::ImageOpts {
            pvs: cands.as_deref(),
            policy,
            region_size: Some(region),
        };
        let p = raid::convert::change_image_count(&w.vg, &lv_name, 2, &opts, &mut env)
            .map_err(|e| CmdError::failed(e.to_string()))?;
        for n in &p.notes {
            ctx.say(n);
        }
        done = p.done;
        steps = p.steps;
    }
    if ctx.common.test {
        ctx.say("Test mode: metadata not written.");
        return Ok(());
    }
    // An active LV is reloaded after every commit (lvm2's
    // lv_update_and_reload), an inactive one just committed.
    if active {
        commit_live(ctx, &mut w, &lv_name, steps, false, true)?;
    } else {
        commit_steps(ctx, &mut w, steps)?;
    }
    for d in &done {
        ctx.say(d);
    }
    ctx.say(format!(
        "Logical volume {vg_name}/{lv_name} successfully converted."
    ));
    Ok(())
}
