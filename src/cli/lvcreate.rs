//! lvcreate: create linear and striped logical volumes.

use super::args::{parse_pv_arg, validate_lv_name, PvArg};
use super::context::Ctx;
use super::lvops::{candidates, hostname, now, size_and_extents, striped_segments, zero_start};
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::alloc::{self, Policy, Request};
use crate::model::Lv;
use crate::units::{parse_extents, parse_size_kb, parse_size_mb, PercentOf, Sign};

/// lvm2's default stripe size: 64 KiB, in sectors.
pub const DEFAULT_STRIPE_SIZE: u64 = 128;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// VG to create the LV in (or VG/LV), then PVs to allocate from
    /// (PV[:PE[-PE]]...)
    #[arg(value_name = "VG", required = true)]
    pub vg: String,
    #[arg(value_name = "PV")]
    pub pvs: Vec<String>,
    /// Size of the LV (default unit MiB): 100m, 2g, ...
    #[arg(short = 'L', long = "size", value_name = "SIZE", conflicts_with = "extents")]
    pub size: Option<String>,
    /// Size in extents, or N%VG, N%FREE, N%PVS
    #[arg(short = 'l', long = "extents", value_name = "N[%{VG|FREE|PVS}]")]
    pub extents: Option<String>,
    /// Name of the new LV (default lvolN)
    #[arg(short = 'n', long = "name", value_name = "LV")]
    pub name: Option<String>,
    /// Number of stripes
    #[arg(short = 'i', long = "stripes", value_name = "N")]
    pub stripes: Option<u32>,
    /// Stripe size (default 64 KiB; default unit KiB)
    #[arg(short = 'I', long = "stripesize", value_name = "SIZE")]
    pub stripesize: Option<String>,
    /// Segment type: linear or striped
    #[arg(long = "type", value_name = "TYPE")]
    pub segtype: Option<String>,
    /// Allocation policy
    #[arg(long = "alloc", value_name = "POLICY")]
    pub alloc: Option<String>,
    /// Allocate contiguously (same as --alloc contiguous)
    #[arg(short = 'C', long = "contiguous", value_name = "y|n")]
    pub contiguous: Option<String>,
    /// Tag to add to the LV
    #[arg(long = "addtag", value_name = "TAG")]
    pub addtag: Vec<String>,
    /// Zero the first 4 KiB of the new LV (default y)
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    pub zero: Option<String>,
    /// Activate the new LV (y|n)
    #[arg(short = 'a', long = "activate", value_name = "y|n")]
    pub activate: Option<String>,
    /// Wipe signatures (accepted for compatibility; the start is zeroed with -Z)
    #[arg(short = 'W', long = "wipesignatures", value_name = "y|n")]
    pub wipesignatures: Option<String>,
    /// Permission: rw or r
    #[arg(short = 'p', long = "permission", value_name = "rw|r")]
    pub permission: Option<String>,
}

fn yes_no(opt: &str, v: &Option<String>, default: bool) -> Result<bool, CmdError> {
    match v.as_deref() {
        None => Ok(default),
        Some("y") => Ok(true),
        Some("n") => Ok(false),
        Some(x) => Err(CmdError::usage(format!("Invalid {opt} \"{x}\": use y or n."))),
    }
}

/// Extents asked for by -L/-l, before rounding to the stripe count.
fn requested_extents(
    ctx: &Ctx,
    w: &VgForWrite,
    args: &Args,
    pvs: &Option<Vec<alloc::Candidate>>,
) -> Result<u64, CmdError> {
    let vg = &w.vg;
    if let Some(s) = &args.size {
        let a = parse_size_mb(s).map_err(|e| CmdError::usage(format!("Invalid size \"{s}\": {e}")))?;
        if a.sign != Sign::None {
            return Err(CmdError::usage("lvcreate: a size cannot be relative (+/-)."));
        }
        let ext = a.sectors.div_ceil(vg.extent_size);
        if ext * vg.extent_size != a.sectors {
            ctx.say(format!(
                "Rounding up size to full physical extent {}",
                super::lvops::display_size(ext * vg.extent_size * 512)
            ));
        }
        return Ok(ext);
    }
    let s = args.extents.as_ref().ok_or_else(|| {
        CmdError::usage("Please specify either size or extents (-L or -l).")
    })?;
    let e = parse_extents(s).map_err(|e| CmdError::usage(format!("Invalid extents \"{s}\": {e}")))?;
    if e.sign != Sign::None {
        return Err(CmdError::usage("lvcreate: extents cannot be relative (+/-)."));
    }
    let total = |f: &dyn Fn(&crate::model::Pv) -> bool| -> u64 {
        vg.pvs.iter().filter(|p| f(p)).map(|p| p.pe_count).sum()
    };
    Ok(match e.percent {
        None => e.value,
        Some(PercentOf::Vg) => total(&|_| true) * e.value / 100,
        Some(PercentOf::Free) => alloc::vg_free_extents(vg) * e.value / 100,
        Some(PercentOf::Pvs) => {
            let keys: Vec<&str> = match pvs {
                Some(c) => c.iter().map(|c| c.pv.as_str()).collect(),
                None => vg.pvs.iter().map(|p| p.key.as_str()).collect(),
            };
            total(&|p| keys.contains(&p.key.as_str())) * e.value / 100
        }
        Some(p) => {
            return Err(CmdError::usage(format!(
                "lvcreate: %{p:?} only applies to snapshots or resizes."
            )))
        }
    })
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let (vg_name, mut lv_name) = match args.vg.split_once('/') {
        Some((v, l)) => (v.to_string(), Some(l.to_string())),
        None => (args.vg.clone(), None),
    };
    if let Some(n) = &args.name {
        lv_name = Some(n.clone());
    }
    if let Some(n) = &lv_name {
        validate_lv_name(n)?;
    }
    let stripes = args.stripes.unwrap_or(1).max(1);
    match args.segtype.as_deref() {
        None | Some("linear") | Some("striped") => {}
        Some(t) if t.starts_with("raid") || t == "mirror" => {
            return Err(CmdError::failed(format!(
                "Segment type {t}: RAID and mirror LVs cannot be created by this version of lvm yet; \
                 use linear or striped."
            )))
        }
        Some(t) => return Err(CmdError::usage(format!("Unknown segment type \"{t}\"."))),
    }
    if args.segtype.as_deref() == Some("linear") && stripes > 1 {
        return Err(CmdError::usage("--type linear cannot have more than one stripe (-i)."));
    }
    let zero = yes_no("--zero", &args.zero, true)?;
    let _activate = yes_no("--activate", &args.activate, true)?;
    let mut policy = match &args.alloc {
        Some(a) => Policy::from_name(a)
            .ok_or_else(|| CmdError::usage(format!("Invalid allocation policy \"{a}\".")))?,
        None => Policy::Normal,
    };
    if yes_no("--contiguous", &args.contiguous, false)? {
        policy = Policy::Contiguous;
    }
    let read_only = match args.permission.as_deref() {
        None | Some("rw") => false,
        Some("r") => true,
        Some(p) => return Err(CmdError::usage(format!("Invalid permission \"{p}\": use rw or r."))),
    };
    let pv_args: Vec<PvArg> = args.pvs.iter().map(|p| parse_pv_arg(p)).collect::<Result<_, _>>()?;

    let mut w = VgForWrite::open(ctx, &vg_name)?;
    let stripe_size = if stripes > 1 {
        let ss = match &args.stripesize {
            Some(s) => {
                let a = parse_size_kb(s)
                    .map_err(|e| CmdError::usage(format!("Invalid stripe size \"{s}\": {e}")))?;
                a.sectors
            }
            None => {
                ctx.say("Using default stripesize 64.00 KiB.");
                DEFAULT_STRIPE_SIZE
            }
        };
        if ss < 8 || !ss.is_power_of_two() || ss > w.vg.extent_size {
            return Err(CmdError::usage(format!(
                "Invalid stripe size {}: it must be a power of 2 between 4 KiB and the extent size.",
                super::lvops::display_size(ss * 512)
            )));
        }
        Some(ss)
    } else {
        None
    };
    let name = match lv_name {
        Some(n) => n,
        None => (0..)
            .map(|i| format!("lvol{i}"))
            .find(|n| !w.vg.lvs.iter().any(|l| &l.name == n))
            .expect("a free lvol name"),
    };
    if w.vg.lvs.iter().any(|l| l.name == name) {
        return Err(CmdError::failed(format!(
            "Logical Volume \"{name}\" already exists in volume group \"{vg_name}\""
        )));
    }
    let visible = w.vg.lvs.iter().filter(|l| l.status.iter().any(|s| s == "VISIBLE")).count();
    if w.vg.max_lv > 0 && visible as u64 >= w.vg.max_lv {
        return Err(CmdError::failed(format!(
            "Maximum number of logical volumes ({}) reached in volume group {vg_name}",
            w.vg.max_lv
        )));
    }
    let cands = candidates(&w, &pv_args)?;
    let mut extents = requested_extents(ctx, &w, &args, &cands)?;
    if extents == 0 {
        return Err(CmdError::failed(format!(
            "Unable to create new logical volume with no extents in VG {vg_name}."
        )));
    }
    let s = stripes as u64;
    if extents % s != 0 {
        let rounded = if args.extents.as_deref().is_some_and(|e| e.contains('%')) {
            extents - extents % s
        } else {
            extents + s - extents % s
        };
        ctx.say(format!(
            "Rounding size {} up to stripe boundary size {}.",
            size_and_extents(&w.vg, extents),
            size_and_extents(&w.vg, rounded)
        ));
        extents = rounded;
    }
    let req = Request {
        areas: stripes as usize,
        extents_per_area: extents / s,
        policy,
        previous: vec![],
    };
    let chunks = alloc::allocate(&w.vg, &req, cands.as_deref()).map_err(|e| {
        CmdError::failed(format!("Cannot create {vg_name}/{name} ({}): {e}", size_and_extents(&w.vg, extents)))
    })?;
    let segments = striped_segments(&chunks, 0, stripe_size);
    let mut status = vec!["READ".to_string()];
    if !read_only {
        status.push("WRITE".into());
    }
    status.push("VISIBLE".into());
    w.vg.lvs.push(Lv {
        name: name.clone(),
        id: crate::uuid::format(&crate::uuid::generate()),
        status,
        flags: vec![],
        tags: args.addtag.clone(),
        creation_time: Some(now()),
        creation_host: Some(hostname()),
        allocation_policy: args.alloc.clone().filter(|a| a != "inherit"),
        read_ahead: None,
        segments,
        extra: vec![],
    });
    w.commit(ctx)?;
    if zero && !ctx.common.test {
        let first = w.vg.lvs.last().expect("just added").segments[0].clone();
        zero_start(&w, &first)?;
    }
    ctx.say(format!("Logical volume \"{name}\" created."));
    Ok(())
}
