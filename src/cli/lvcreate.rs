//! lvcreate: create linear, striped and RAID logical volumes.
//!
//! RAID follows lvm2 2.03's `tools/lvcreate.c` and `_lv_create_an_lv`:
//! the same defaults (two data stripes, three for raid6; `-m` alone takes
//! `global/mirror_segtype_default`, with `-i` `global/raid10_segtype_default`;
//! region size from `activation/raid_region_size`), the same refusals with
//! the same messages, and the same size arithmetic (percentages divided by
//! the mirror count, sizes rounded to whole stripes). The layout and the
//! allocation are planned by [`crate::raid::create`].

use super::args::{parse_pv_arg, validate_lv_name, PvArg};
use super::context::Ctx;
use super::lvops::{
    candidates, display_size, hostname, now, size_and_extents, striped_segments, zero_start,
};
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::alloc::{self, Policy, Request};
use crate::device::{BlockIo, Device};
use crate::model::{Area, Lv, RaidType, Vg};
use crate::raid::{self, CreateSpec, Layout};
use crate::units::{parse_extents, parse_size_kb, parse_size_mb, PercentOf, Sign};

/// lvm2's `MAX_STRIPES`.
const MAX_STRIPES: u64 = 128;
/// lvm2's `STRIPE_SIZE_LIMIT` (sectors).
const STRIPE_SIZE_LIMIT: u64 = (u32::MAX as u64 >> 2) + 1;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// VG to create the LV in (or VG/LV), then PVs to allocate from
    /// (PV[:PE[-PE]]...)
    #[arg(value_name = "VG", required = true)]
    pub vg: String,
    #[arg(value_name = "PV")]
    pub pvs: Vec<String>,
    /// Size of the LV (default unit MiB): 100m, 2g, ...
    #[arg(
        short = 'L',
        long = "size",
        value_name = "SIZE",
        conflicts_with = "extents"
    )]
    pub size: Option<String>,
    /// Size in extents, or N%VG, N%FREE, N%PVS
    #[arg(short = 'l', long = "extents", value_name = "N[%{VG|FREE|PVS}]")]
    pub extents: Option<String>,
    /// Name of the new LV (default lvolN)
    #[arg(short = 'n', long = "name", value_name = "LV")]
    pub name: Option<String>,
    /// Number of stripes (RAID: data stripes, without parity devices)
    #[arg(short = 'i', long = "stripes", value_name = "N")]
    pub stripes: Option<u32>,
    /// Stripe size (default 64 KiB; default unit KiB)
    #[arg(
        short = 'I',
        long = "stripesize",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    pub stripesize: Option<String>,
    /// Segment type: linear, striped, raid0, raid0_meta, raid1, raid4,
    /// raid5[_n|_la|_ra|_ls|_rs], raid6[_zr|_nr|_nc|_n_6|_la_6|_ra_6|_ls_6|_rs_6], raid10
    #[arg(long = "type", value_name = "TYPE")]
    pub segtype: Option<String>,
    /// Number of additional copies (raid1: legs - 1; raid10: 1)
    #[arg(short = 'm', long = "mirrors", value_name = "N")]
    pub mirrors: Option<u32>,
    /// RAID region size (default unit MiB; default activation/raid_region_size)
    #[arg(
        short = 'R',
        long = "regionsize",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    pub regionsize: Option<String>,
    /// Minimum RAID recovery rate per device (default unit KiB/s)
    #[arg(
        long = "minrecoveryrate",
        visible_alias = "raidminrecoveryrate",
        value_name = "RATE"
    )]
    pub minrecoveryrate: Option<String>,
    /// Maximum RAID recovery rate per device (default unit KiB/s; 0 = unbounded)
    #[arg(
        long = "maxrecoveryrate",
        visible_alias = "raidmaxrecoveryrate",
        value_name = "RATE"
    )]
    pub maxrecoveryrate: Option<String>,
    /// Skip the initial synchronization of a raid1/4/5/10 LV
    #[arg(long = "nosync")]
    pub nosync: bool,
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
    /// Activate the new LV (y|n; default y, as lvm2)
    #[arg(short = 'a', long = "activate", value_name = "y|n")]
    pub activate: Option<String>,
    /// Set the ACTIVATION_SKIP flag of the new LV (y|n): it is then not
    /// activated by -ay without -K (nor by this lvcreate without -K)
    #[arg(short = 'k', long = "setactivationskip", value_name = "y|n")]
    pub setactivationskip: Option<String>,
    /// Activate the new LV even with ACTIVATION_SKIP set
    #[arg(short = 'K', long = "ignoreactivationskip")]
    pub ignoreactivationskip: bool,
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
        Some(x) => Err(CmdError::usage(format!(
            "Invalid {opt} \"{x}\": use y or n."
        ))),
    }
}

/// lvm2's `percent_of_extents` without rounding up.
fn percent_of(percent: u64, count: u64) -> u64 {
    percent * count / 100
}

/// Free extents within the given candidates (lvm2's `pv_list_extents_free`).
fn candidates_free(vg: &Vg, cands: &[alloc::Candidate]) -> u64 {
    let free = vg.free_extents();
    let mut seen: Vec<(&str, u64)> = Vec::new();
    for c in cands {
        let Some(runs) = free.get(&c.pv) else {
            continue;
        };
        for r in runs {
            if c.ranges.is_empty() {
                for x in r.clone() {
                    seen.push((c.pv.as_str(), x));
                }
            } else {
                for &(a, b) in &c.ranges {
                    for x in r.start.max(a)..r.end.min(b + 1) {
                        seen.push((c.pv.as_str(), x));
                    }
                }
            }
        }
    }
    seen.sort();
    seen.dedup();
    seen.len() as u64
}

/// Extents asked for by -L/-l: the count, and whether it is a percentage
/// (lvm2's `approx_alloc`: take what can be found, up to that many).
fn requested_extents(
    ctx: &Ctx,
    vg: &Vg,
    args: &Args,
    pvs: &Option<Vec<alloc::Candidate>>,
) -> Result<(u64, bool), CmdError> {
    if let Some(s) = &args.size {
        let a =
            parse_size_mb(s).map_err(|e| CmdError::usage(format!("Invalid size \"{s}\": {e}")))?;
        if a.sign != Sign::None {
            return Err(CmdError::usage(
                "lvcreate: a size cannot be relative (+/-).",
            ));
        }
        let ext = a.sectors.div_ceil(vg.extent_size);
        if ext * vg.extent_size != a.sectors {
            ctx.say(format!(
                "Rounding up size to full physical extent {}",
                display_size(ext * vg.extent_size * 512)
            ));
        }
        return Ok((ext, false));
    }
    let s = args
        .extents
        .as_ref()
        .ok_or_else(|| CmdError::usage("Please specify either size or extents (-L or -l)."))?;
    let e =
        parse_extents(s).map_err(|e| CmdError::usage(format!("Invalid extents \"{s}\": {e}")))?;
    if e.sign != Sign::None {
        return Err(CmdError::usage(
            "lvcreate: extents cannot be relative (+/-).",
        ));
    }
    let free = alloc::vg_free_extents(vg);
    Ok(match e.percent {
        None => (e.value, false),
        Some(PercentOf::Vg) => {
            let mut n = percent_of(e.value, vg.extent_count());
            if n > free {
                n = free;
                ctx.say(format!(
                    "Reducing {}%VG to remaining free space {} in VG.",
                    e.value,
                    display_size(n * vg.extent_size * 512)
                ));
            }
            (n, true)
        }
        Some(PercentOf::Free) => (percent_of(e.value, free), true),
        Some(PercentOf::Pvs) => {
            let base = match pvs {
                Some(c) => candidates_free(vg, c),
                None => vg.extent_count(),
            };
            (percent_of(e.value, base), true)
        }
        Some(_) => {
            return Err(CmdError::usage(
                "Please express size as %FREE, %PVS or %VG.",
            ))
        }
    })
}

/// What `--type` (or `-m`) asks for.
enum Kind {
    /// striped; `true` when `--type linear` was given.
    Striped(bool),
    Raid(RaidType),
}

fn segment_kind(ctx: &Ctx, args: &Args) -> Result<Kind, CmdError> {
    let name = match args.segtype.as_deref() {
        Some("linear") => return Ok(Kind::Striped(true)),
        Some(t) => t.to_string(),
        None if args.mirrors.unwrap_or(0) > 0 => {
            // Remember, '-m 0' implies striped.
            let (key, default) = if args.stripes.unwrap_or(1) > 1 {
                ("global/raid10_segtype_default", "raid10")
            } else {
                ("global/mirror_segtype_default", "raid1")
            };
            ctx.config.str(key).unwrap_or(default).to_string()
        }
        None => return Ok(Kind::Striped(false)),
    };
    if name == "striped" {
        return Ok(Kind::Striped(false));
    }
    if let Some(t) = RaidType::from_name(&name) {
        return Ok(Kind::Raid(t));
    }
    const KNOWN: &[&str] = &[
        "mirror",
        "snapshot",
        "thin",
        "thin-pool",
        "cache",
        "cache-pool",
        "writecache",
        "vdo",
        "vdo-pool",
        "integrity",
        "zero",
        "error",
        "raid10_near",
    ];
    if KNOWN.contains(&name.as_str()) {
        let hint = if name == "mirror" { "; use raid1" } else { "" };
        return Err(CmdError::failed(format!(
            "Segment type {name} cannot be created by this version of lvm{hint}."
        )));
    }
    Err(CmdError::usage(format!(
        "Unrecognised segment type {name}\nInvalid argument for --type: {name}"
    )))
}

/// The stripe count and stripe size (sectors, 0 = none) as lvm2's
/// `get_stripe_params` works them out; prints its notices.
fn stripe_params(
    ctx: &Ctx,
    args: &Args,
    raid: Option<RaidType>,
) -> Result<(u64, bool, u64), CmdError> {
    let supplied = args.stripes.is_some();
    let stripes = match (args.stripes, raid) {
        (Some(n), _) => n as u64,
        (None, Some(t)) if t.is_raid6() => 3,
        (None, Some(t)) if t.is_striped_layout() => 2,
        _ => 1,
    };
    let mut size = match &args.stripesize {
        Some(s) => {
            let a = parse_size_kb(s)
                .map_err(|e| CmdError::usage(format!("Invalid stripe size \"{s}\": {e}")))?;
            if a.sign == Sign::Minus {
                return Err(CmdError::usage("Negative stripesize is invalid."));
            }
            a.sectors
        }
        None => 0,
    };
    if !(1..=MAX_STRIPES).contains(&stripes) {
        return Err(CmdError::usage(format!(
            "Number of stripes ({stripes}) must be between 1 and {MAX_STRIPES}."
        )));
    }
    if raid.is_some_and(|t| !t.is_striped_layout()) {
        if size != 0 {
            ctx.say(format!(
                "Ignoring stripesize argument for {} devices.",
                raid.expect("raid").name()
            ));
            size = 0;
        }
    } else if stripes == 1 {
        if size != 0 {
            ctx.say("Ignoring stripesize argument with single stripe.");
            size = 0;
        }
    } else {
        if size == 0 {
            size = (ctx.config.int("metadata/stripesize", 64).max(1) as u64) * 2;
            ctx.say(format!(
                "Using default stripesize {}.",
                display_size(size * 512)
            ));
        }
        if size > STRIPE_SIZE_LIMIT * 2 {
            return Err(CmdError::usage(format!(
                "Stripe size cannot be larger than {}.",
                display_size(STRIPE_SIZE_LIMIT * 512)
            )));
        }
        if size < raid::PAGE_SECTORS || !size.is_power_of_two() {
            return Err(CmdError::usage(format!(
                "Invalid stripe size {}.",
                display_size(size * 512)
            )));
        }
    }
    Ok((stripes, supplied, size))
}

fn allocation_policy(args: &Args) -> Result<Policy, CmdError> {
    let contiguous = yes_no("--contiguous", &args.contiguous, false)?;
    let policy = match &args.alloc {
        Some(a) if a == "inherit" => None,
        Some(a) => Some(
            Policy::from_name(a)
                .ok_or_else(|| CmdError::usage(format!("Invalid allocation policy \"{a}\".")))?,
        ),
        None => None,
    };
    match (contiguous, policy) {
        (true, Some(p)) if p != Policy::Contiguous => Err(CmdError::usage(
            "Conflicting contiguous and alloc arguments.",
        )),
        (true, _) => Ok(Policy::Contiguous),
        (false, Some(p)) => Ok(p),
        (false, None) => Ok(Policy::Normal),
    }
}

/// The `allocation_policy` lvm2 writes on the new LV: none for inherit.
fn policy_name(args: &Args, policy: Policy) -> Option<String> {
    let given = args.alloc.as_deref().is_some_and(|a| a != "inherit");
    (given || policy == Policy::Contiguous).then(|| policy.name().to_string())
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
    let kind = segment_kind(ctx, &args)?;
    let raid_type = match kind {
        Kind::Raid(t) => Some(t),
        Kind::Striped(_) => None,
    };
    if raid_type.is_none() {
        for (set, opt) in [
            (args.nosync, "--nosync"),
            (args.regionsize.is_some(), "--regionsize"),
            (args.minrecoveryrate.is_some(), "--minrecoveryrate"),
            (args.maxrecoveryrate.is_some(), "--maxrecoveryrate"),
        ] {
            if set {
                return Err(CmdError::usage(format!(
                    "{opt} is supported only with mirrors or raids."
                )));
            }
        }
        if args.mirrors.unwrap_or(0) > 0 {
            return Err(CmdError::usage(
                "--mirrors is supported only with mirrors or raids",
            ));
        }
    }
    let zero = yes_no("--zero", &args.zero, true)?;
    let activate = yes_no("--activate", &args.activate, true)?;
    let skip = yes_no("--setactivationskip", &args.setactivationskip, false)?;
    let activate = activate && (!skip || args.ignoreactivationskip);
    let policy = allocation_policy(&args)?;
    let read_only = match args.permission.as_deref() {
        None | Some("rw") => false,
        Some("r") => true,
        Some(p) => {
            return Err(CmdError::usage(format!(
                "Invalid permission \"{p}\": use rw or r."
            )))
        }
    };
    let (stripes, stripes_supplied, stripe_size) = stripe_params(ctx, &args, raid_type)?;
    if matches!(kind, Kind::Striped(true)) && stripes > 1 {
        return Err(CmdError::usage("Cannot use stripes with linear type."));
    }
    let raid_params = match raid_type {
        Some(t) => Some(raid_params(
            ctx,
            &args,
            t,
            stripes,
            stripes_supplied,
            stripe_size,
        )?),
        None => None,
    };
    let pv_args: Vec<PvArg> = args
        .pvs
        .iter()
        .map(|p| parse_pv_arg(p))
        .collect::<Result<_, _>>()?;

    let mut w = VgForWrite::open(ctx, &vg_name)?;
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
    let visible = w.vg.lvs.iter().filter(|l| l.is_visible()).count();
    if w.vg.max_lv > 0 && visible as u64 >= w.vg.max_lv {
        return Err(CmdError::failed(format!(
            "Maximum number of logical volumes ({}) reached in volume group {vg_name}",
            w.vg.max_lv
        )));
    }
    let cands = candidates(&w, &pv_args)?;
    if let Some(p) = raid_params {
        create_raid(
            ctx, &mut w, &args, p, &name, cands, policy, read_only, zero, skip,
        )?;
        activate_new(ctx, &mut w, &name, activate, args.nosync)?;
        ctx.say(format!("Logical volume \"{name}\" created."));
        return Ok(());
    }
    let stripe_size = (stripes > 1).then_some(stripe_size);
    if let Some(ss) = stripe_size {
        if ss > w.vg.extent_size {
            return Err(CmdError::usage(format!(
                "Invalid stripe size {}: it must be a power of 2 between 4 KiB and the extent size.",
                display_size(ss * 512)
            )));
        }
    }
    let (mut extents, approx) = requested_extents(ctx, &w.vg, &args, &cands)?;
    if extents == 0 {
        return Err(CmdError::failed(format!(
            "Unable to create new logical volume with no extents in VG {vg_name}."
        )));
    }
    let s = stripes;
    if extents % s != 0 {
        let rounded = if approx {
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
        CmdError::failed(format!(
            "Cannot create {vg_name}/{name} ({}): {e}",
            size_and_extents(&w.vg, extents)
        ))
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
        flags: if skip {
            vec!["ACTIVATION_SKIP".to_string()]
        } else {
            vec![]
        },
        tags: args.addtag.clone(),
        creation_time: Some(now()),
        creation_host: Some(hostname()),
        allocation_policy: policy_name(&args, policy),
        read_ahead: None,
        segments,
        extra: vec![],
    });
    w.commit(ctx)?;
    if zero && !ctx.common.test {
        let first = w.vg.lvs.last().expect("just added").segments[0].clone();
        zero_start(&w, &first)?;
    }
    activate_new(ctx, &mut w, &name, activate, false)?;
    ctx.say(format!("Logical volume \"{name}\" created."));
    Ok(())
}

/// RAID parameters worked out from the command line alone.
#[derive(Debug, Clone, Copy)]
struct RaidParams {
    raid_type: RaidType,
    /// Data stripes; for raid10 still the total of images (stripes × 2)
    /// until the VG is known, as in lvm2.
    stripes: u64,
    stripes_supplied: bool,
    /// Sectors; 0 = none.
    stripe_size: u64,
    mirrors: u64,
    /// Sectors; 0 for raid0 types.
    region_size: u64,
    nosync: bool,
    min_rate: u64,
    max_rate: u64,
}

fn rate_arg(opt: &str, v: &Option<String>) -> Result<u64, CmdError> {
    let Some(s) = v else { return Ok(0) };
    let a = parse_size_kb(s)
        .map_err(|e| CmdError::usage(format!("Invalid argument for {opt}: {s}: {e}")))?;
    if a.sign == Sign::Minus {
        return Err(CmdError::usage(format!("Invalid argument for {opt}: {s}")));
    }
    // Recorded in KiB/s per device.
    Ok(a.sectors / 2)
}

/// lvm2's `_read_mirror_and_raid_params` and `_read_raid_params`.
fn raid_params(
    ctx: &Ctx,
    args: &Args,
    t: RaidType,
    mut stripes: u64,
    stripes_supplied: bool,
    stripe_size: u64,
) -> Result<RaidParams, CmdError> {
    let max_images = if t.is_raid1() {
        64
    } else {
        64 - t.parity_devs()
    };
    let mirrors = match args.mirrors {
        Some(m) => {
            let mirrors = m as u64 + 1;
            if mirrors > 2 && t.is_raid10() {
                return Err(CmdError::usage(
                    "RAID10 currently supports only 2-way mirroring (i.e. '-m 1')",
                ));
            }
            if mirrors == 1 {
                if t.is_mirrored() {
                    return Err(CmdError::usage(format!(
                        "--mirrors must be at least 1 with segment type {}.",
                        t.name()
                    )));
                }
                ctx.say("Redundant mirrors argument: default is 0");
            }
            mirrors
        }
        None if t.is_mirrored() => 2,
        None => 1,
    };
    if t.is_raid10() && mirrors * stripes > max_images {
        return Err(CmdError::usage(format!(
            "Only up to {} stripes in {} supported currently.",
            max_images / mirrors,
            t.name()
        )));
    }
    if t.is_mirrored() {
        if mirrors > max_images {
            return Err(CmdError::usage(format!(
                "Only up to {max_images} mirrors in {} supported currently.",
                t.name()
            )));
        }
    } else if stripes > max_images {
        return Err(CmdError::usage(format!(
            "Only up to {max_images} stripes in {} supported currently.",
            t.name()
        )));
    }
    let nosync = args.nosync;
    if nosync && t.is_raid6() {
        return Err(CmdError::usage("nosync option prohibited on RAID6."));
    }
    let mut region_size = match &args.regionsize {
        Some(s) => region_size_arg(s)?,
        None => raid::default_region_size(
            ctx.config
                .int(
                    "activation/raid_region_size",
                    raid::DEFAULT_REGION_SIZE_KIB as i64,
                )
                .max(1) as u64,
        ),
    };
    // _read_raid_params
    if t.is_mirrored() {
        if t.is_raid10() {
            if stripes < 2 {
                if stripes_supplied {
                    return Err(CmdError::usage(format!(
                        "Minimum of 2 stripes required for {}.",
                        t.name()
                    )));
                }
                stripes = 2;
            }
            stripes *= 2;
        } else if stripes > 1 {
            return Err(CmdError::usage(format!(
                "Stripes argument cannot be used with segment type, {}",
                t.name()
            )));
        }
    } else if t.is_raid6() && stripes < 3 {
        if stripes_supplied {
            return Err(CmdError::usage(format!(
                "Minimum of 3 stripes required for {}.",
                t.name()
            )));
        }
        stripes = 3;
    } else if stripes < 2 {
        if stripes_supplied {
            return Err(CmdError::usage(format!(
                "Minimum of 2 stripes required for {}.",
                t.name()
            )));
        }
        stripes = 2;
    }
    if args.mirrors.is_some() && !t.is_mirrored() {
        return Err(CmdError::usage(format!(
            "Mirror argument cannot be used with segment type, {}",
            t.name()
        )));
    }
    let (mut min_rate, mut max_rate) = (0, 0);
    if t.is_any_raid0() {
        region_size = 0;
    } else {
        min_rate = rate_arg("--minrecoveryrate", &args.minrecoveryrate)?;
        max_rate = rate_arg("--maxrecoveryrate", &args.maxrecoveryrate)?;
        if min_rate > max_rate {
            return Err(CmdError::usage(
                "Minimum recovery rate cannot be higher than maximum.",
            ));
        }
        if region_size < stripe_size {
            ctx.say(format!(
                "Adjusting {} {} region size to required minimum of stripe size {}.",
                t.name(),
                display_size(region_size * 512),
                display_size(stripe_size * 512)
            ));
            region_size = stripe_size;
        }
    }
    Ok(RaidParams {
        raid_type: t,
        stripes,
        stripes_supplied,
        stripe_size,
        mirrors,
        region_size,
        nosync,
        min_rate,
        max_rate,
    })
}

/// `-R`: lvm2's `regionsize_mb_arg` (default unit MiB).
fn region_size_arg(s: &str) -> Result<u64, CmdError> {
    let bad = |why: &str| CmdError::usage(format!("{why}\nInvalid argument for --regionsize: {s}"));
    let a = crate::units::parse_size(s, crate::units::DefaultUnit::MiB)
        .map_err(|e| bad(&e.to_string()))?;
    if a.sign == Sign::Minus {
        return Err(bad("Region size may not be negative."));
    }
    if a.sectors > u32::MAX as u64 {
        return Err(bad(&format!("Region size is too big (max {}).", u32::MAX)));
    }
    if a.sectors == 0 {
        return Err(bad("Region size may not be zero."));
    }
    if a.sectors % raid::PAGE_SECTORS != 0 {
        return Err(bad(
            "Region size must be a multiple of machine memory page size (4096 bytes).",
        ));
    }
    if !a.sectors.is_power_of_two() {
        return Err(bad("Region size must be a power of 2."));
    }
    Ok(a.sectors)
}

#[allow(clippy::too_many_arguments)]
fn create_raid(
    ctx: &mut Ctx,
    w: &mut VgForWrite,
    args: &Args,
    mut p: RaidParams,
    name: &str,
    cands: Option<Vec<alloc::Candidate>>,
    policy: Policy,
    read_only: bool,
    zero: bool,
    skip: bool,
) -> Result<(), CmdError> {
    let name = name.to_string();
    let t = p.raid_type;
    let vg_name = w.vg.name.clone();
    // _check_raid_parameters
    if w.vg.extent_size < raid::PAGE_SECTORS {
        return Err(CmdError::failed(format!(
            "Unable to create RAID LV: requires minimum VG extent size {}",
            display_size(raid::PAGE_SECTORS * 512)
        )));
    }
    let devs = match &cands {
        Some(c) => args.pvs.len().max(c.len()) as u64,
        None => w.vg.pvs.len() as u64,
    };
    let all_devices =
        !p.stripes_supplied && ctx.config.bool("allocation/raid_stripe_all_devices", false);
    if all_devices && !t.is_raid1() {
        p.stripes = devs;
    }
    if t.is_raid10() {
        p.stripes /= p.mirrors;
        if p.stripes < 2 {
            return Err(CmdError::failed(
                "Unable to create RAID(1)0 LV: insufficient number of devices.",
            ));
        }
    } else if !t.is_mirrored() {
        let parity = t.parity_devs();
        if all_devices && parity > 0 && devs > 2 * parity {
            p.stripes -= parity;
        }
        if t.is_any_raid0() {
            if p.stripes < 2 {
                return Err(CmdError::failed(
                    "Segment type 'raid0' requires 2 or more stripes.",
                ));
            }
        } else if p.stripes <= parity {
            return Err(CmdError::failed(format!(
                "Number of stripes must be at least {} for {}",
                parity + 1,
                t.name()
            )));
        }
    }
    let layout = Layout {
        raid_type: t,
        stripes: if t.is_raid1() { 1 } else { p.stripes },
        mirrors: if t.is_raid1() || t.is_raid10() {
            p.mirrors
        } else {
            1
        },
    };
    // lp->stripes as lvm2 uses it for rounding: 1 for raid1.
    let stripes = layout.stripes;

    // _update_extents_params
    let vg = &w.vg;
    let (mut extents, approx) = requested_extents(ctx, vg, args, &cands)?;
    if approx {
        if extents == 0 {
            return Err(CmdError::failed(
                "Calculated size of logical volume is 0 extents. Needs to be larger.",
            ));
        }
        if p.mirrors > 1 {
            extents = (extents / p.mirrors).max(1);
        }
        let ss_extents = (p.stripe_size / vg.extent_size).max(1);
        let rest = extents % (stripes * ss_extents);
        let free = alloc::vg_free_extents(vg);
        if rest != 0 && free < extents - rest + stripes * ss_extents {
            ctx.say(format!(
                "Rounding size ({extents} extents) down to stripe boundary size ({} extents)",
                extents - rest
            ));
            extents -= rest;
        }
    }
    // _lv_create_an_lv
    if p.stripe_size > vg.extent_size {
        if vg.extent_size < raid::PAGE_SECTORS {
            return Err(CmdError::failed(format!(
                "The extent size in volume group {vg_name} is too small to support striped RAID volumes."
            )));
        }
        ctx.say(format!(
            "Reducing requested stripe size {} to maximum, physical extent size {}.",
            display_size(p.stripe_size * 512),
            display_size(vg.extent_size * 512)
        ));
        p.stripe_size = vg.extent_size;
    }
    if extents % stripes != 0 {
        let rounded = extents + stripes - extents % stripes;
        ctx.say(format!(
            "Rounding size {} up to stripe boundary size {}.",
            size_and_extents(vg, extents),
            size_and_extents(vg, rounded)
        ));
        extents = rounded;
    }
    if extents == 0 {
        return Err(CmdError::failed(format!(
            "Unable to create new logical volume with no extents in VG {vg_name}."
        )));
    }
    let pv_count = cands.as_ref().map_or(vg.pvs.len(), |c| c.len()) as u64;
    if policy != Policy::Anywhere && stripes > pv_count {
        return Err(CmdError::failed(format!(
            "Number of stripes ({stripes}) must not exceed number of physical volumes ({pv_count})"
        )));
    }
    let mut region_size = p.region_size;
    if !t.is_any_raid0() {
        if let Some(r) = raid::reduced_region_size(vg.extent_size, extents, region_size) {
            ctx.say(format!(
                "Using reduced mirror region size of {}",
                display_size(r * 512)
            ));
            region_size = r;
        }
        if p.nosync {
            ctx.warn(format!(
                "New {} won't be synchronised. Don't read what you didn't write!",
                t.name()
            ));
        }
    }
    let free = alloc::vg_free_extents(vg);
    if !approx && free < extents {
        return Err(CmdError::failed(format!(
            "Volume group \"{vg_name}\" has insufficient free space ({free} extents): {extents} required."
        )));
    }
    let default_region = raid::default_region_size(
        ctx.config
            .int(
                "activation/raid_region_size",
                raid::DEFAULT_REGION_SIZE_KIB as i64,
            )
            .max(1) as u64,
    );
    let spec = CreateSpec {
        name: name.clone(),
        layout,
        stripe_size: (p.stripe_size > 0).then_some(p.stripe_size),
        region_size,
        default_region_size: default_region,
        extents,
        approx,
        nosync: p.nosync,
        min_recovery_rate: (p.min_rate > 0).then_some(p.min_rate),
        max_recovery_rate: (p.max_rate > 0).then_some(p.max_rate),
        policy,
        allocation_policy: policy_name(args, policy),
        read_only,
        tags: args.addtag.clone(),
        creation_time: Some(now()),
        creation_host: Some(hostname()),
    };
    let mut new_id = || crate::uuid::format(&crate::uuid::generate());
    let created = raid::create(vg, &spec, cands.as_deref(), &mut new_id).map_err(|e| match e {
        raid::RaidError::Alloc(a) => CmdError::failed(format!(
            "Cannot create {vg_name}/{name} ({}, {} images): {a}",
            size_and_extents(vg, extents),
            layout.images()
        )),
        e => CmdError::failed(e.to_string()),
    })?;
    w.vg = created.vg;
    if skip {
        if let Some(l) = w.vg.lvs.iter_mut().find(|l| l.name == name) {
            l.flags.push("ACTIVATION_SKIP".into());
        }
    }
    w.commit(ctx)?;
    if !ctx.common.test {
        zero_raid(w, &name, zero)?;
    }
    Ok(())
}

/// lvm2's activation of a new LV (`lv_active_change` in
/// `_lv_create_an_lv`, default `-ay`): after the commit (and the zeroing),
/// the LV is activated when device-mapper is there. Nothing with `-an`,
/// an ACTIVATION_SKIP LV without `-K`, `--test`, or lvm.conf
/// `global/activation = 0` (device-mapper is not touched, as lvm2). On a
/// host without device-mapper the LV stays inactive with a warning. When
/// the activation itself fails, the new LV is deactivated and removed
/// again, as lvm2's `deactivate_and_revert_new_lv`.
fn activate_new(
    ctx: &mut Ctx,
    w: &mut VgForWrite,
    name: &str,
    activate: bool,
    nosync: bool,
) -> Result<(), CmdError> {
    let vg = &w.vg.name;
    if !activate || ctx.common.test || !ctx.config.bool("global/activation", true) {
        return Ok(());
    }
    let dm = match crate::activate::dm::Dm::open() {
        Ok(d) => d,
        Err(e @ crate::activate::dm::DmError::Unavailable(_)) => {
            ctx.warn(format!(
                "{e}. Logical volume {vg}/{name} was created but not activated."
            ));
            return Ok(());
        }
        Err(e) => {
            return Err(CmdError::failed(format!(
                "Failed to activate new LV {vg}/{name}: {e} (the LV is created; activate it \
                 with `lvchange -ay {vg}/{name}`)."
            )))
        }
    };
    let (pvs, missing) = super::vgchange::write_pv_devices(w);
    let mode = super::vgchange::mode(ctx, None, false)?;
    let mut opts = super::vgchange::table_options(&dm, mode, missing);
    opts.nosync = nosync;
    let Err(e) = crate::activate::activate(&dm, &w.vg, name, &pvs, &opts) else {
        return Ok(());
    };
    let vg = vg.clone();
    let mut msg = format!("Failed to activate new LV {vg}/{name}: {e}");
    let reverted = crate::activate::deactivate(&dm, &w.vg, name)
        .map_err(|e| e.to_string())
        .and_then(|_| crate::raid::remove(&w.vg, name).map_err(|e| e.to_string()))
        .and_then(|new| {
            w.vg = new;
            w.commit(ctx).map_err(|e| e.to_string())
        });
    match reverted {
        Ok(()) => msg.push_str(" (the new LV was removed again)."),
        Err(r) => msg.push_str(&format!(
            " (removing the new LV again failed: {r}; remove it with `lvremove {vg}/{name}`)."
        )),
    }
    Err(CmdError::failed(msg))
}

/// Clear the first 4 KiB of every metadata sub-LV (stale dm-raid
/// superblocks must not be picked up: lvm2 always does this) and, with
/// `-Z y`, of every image, which zeroes the start of the LV with its parity
/// consistent. Written straight to the PVs: the sub-LVs are linear.
fn zero_raid(w: &VgForWrite, name: &str, zero_images: bool) -> Result<(), CmdError> {
    let Some(seg) = w.vg.lv(name).and_then(|l| l.segments.first()) else {
        return Ok(());
    };
    let Some(r) = &seg.raid else { return Ok(()) };
    let mut subs: Vec<&str> = r.meta.iter().flatten().map(String::as_str).collect();
    if zero_images {
        subs.extend(r.images.iter().flatten().map(String::as_str));
    }
    let extent = w.vg.extent_size * 512;
    for sub in subs {
        let Some(first) = w.vg.lv(sub).and_then(|l| l.segments.first()) else {
            continue;
        };
        let Some(Area::Pv { pv, pe }) = first.areas.first() else {
            continue;
        };
        let entry = w.vg.pv_by_key(pv).expect("segment PV in VG");
        let path = w.path_of(pv).expect("PV of the VG has a device");
        let len = 4096u64.min(first.extent_count * extent);
        let mut dev = Device::open(path, true)?;
        dev.write_at(entry.pe_start * 512 + pe * extent, &vec![0u8; len as usize])?;
        dev.flush()?;
    }
    Ok(())
}
