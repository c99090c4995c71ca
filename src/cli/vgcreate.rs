//! vgcreate: make a volume group out of PVs (initializing plain devices
//! as PVs first, as lvm2 does).

use std::path::PathBuf;

use super::context::Ctx;
use super::pvcreate::{check_device_free, create_pv, PvOpts};
use super::vgwrite::{lookup_device, take_lock, VgForWrite};
use super::CmdError;
use crate::commit::lock::{GLOBAL, ORPHANS};
use crate::device::scan::{DevScan, PvScan};
use crate::model::{Pv, Vg};
use crate::units::parse_size_mb;

/// lvm2's default extent size: 4 MiB, in sectors.
pub const DEFAULT_EXTENT_SIZE: u64 = 8192;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the new volume group
    #[arg(value_name = "VG")]
    pub vg: String,
    /// PVs (or devices to initialize as PVs)
    #[arg(required = true, value_name = "PV")]
    pub pvs: Vec<PathBuf>,
    /// Physical extent size (default 4 MiB)
    #[arg(short = 's', long = "physicalextentsize", value_name = "SIZE")]
    pub extent_size: Option<String>,
    /// Maximum number of LVs (0 = unlimited)
    #[arg(short = 'l', long = "maxlogicalvolumes", value_name = "N")]
    pub max_lv: Option<u64>,
    /// Maximum number of PVs (0 = unlimited)
    #[arg(short = 'p', long = "maxphysicalvolumes", value_name = "N")]
    pub max_pv: Option<u64>,
    /// Number of metadata copies the VG keeps (0 = all)
    #[arg(long = "vgmetadatacopies", value_name = "N")]
    pub vgmetadatacopies: Option<u64>,
    /// Tag to add to the VG
    #[arg(long = "addtag", value_name = "TAG")]
    pub addtag: Vec<String>,
    /// Allocation policy of the VG
    #[arg(long = "alloc", value_name = "POLICY")]
    pub alloc: Option<String>,
    /// Force (passed on to the PV initialization)
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
    #[command(flatten)]
    pub pv: PvOpts,
}

/// The metadata entry for a PV joining a VG.
pub fn pv_entry(key: String, pv: &PvScan, extent_size: u64) -> Result<Pv, CmdError> {
    let pe_start = pv.label.pe_start().unwrap_or(0);
    // The data area ends where the device ends, or where a second metadata
    // area at the end of the device begins.
    let mut end = pv.label.device_size.min(pv.dev_size);
    for m in &pv.label.metadata_areas {
        if m.offset > pe_start {
            end = end.min(m.offset);
        }
    }
    let extent_bytes = extent_size * 512;
    let pe_count = end.saturating_sub(pe_start) / extent_bytes;
    if pe_count == 0 {
        return Err(CmdError::failed(format!(
            "{} is too small for one extent of {} KiB.",
            pv.path.display(),
            extent_bytes / 1024
        )));
    }
    Ok(Pv {
        key,
        id: pv.uuid(),
        device: Some(pv.path.display().to_string()),
        status: vec!["ALLOCATABLE".into()],
        flags: vec![],
        tags: vec![],
        dev_size: pv.dev_size / 512,
        pe_start: pe_start / 512,
        pe_count,
        ba_start: None,
        ba_size: None,
        extra: vec![],
    })
}

/// Get every listed device as an orphan PV, initializing plain devices.
pub fn orphan_pvs(
    ctx: &mut Ctx,
    devices: &[PathBuf],
    pv_opts: &PvOpts,
    force: u8,
) -> Result<Vec<PvScan>, CmdError> {
    let opts = pv_opts.layout_options()?;
    let scan = ctx.scan().clone();
    let mut plan = Vec::new();
    for d in devices {
        let (idx, state) = lookup_device(ctx, &scan, d)?;
        match state {
            DevScan::Pv(pv) => {
                if let Some((vg, _)) = scan.vg_of_device(idx) {
                    return Err(CmdError::failed(format!(
                        "Physical volume '{}' is already in volume group '{}'",
                        d.display(),
                        vg.vg.name
                    )));
                }
                if pv.label.is_used() {
                    return Err(CmdError::failed(format!(
                        "Cannot use {}: PV is marked as used by a volume group whose metadata was not found.",
                        d.display()
                    )));
                }
                let problems = pv.problems();
                if !problems.is_empty() {
                    return Err(CmdError::failed(format!(
                        "Cannot use {}: {}",
                        d.display(),
                        problems.join("; ")
                    )));
                }
                plan.push((d.clone(), Some((**pv).clone())));
            }
            _ => {
                check_device_free(ctx, d, force)?;
                plan.push((d.clone(), None));
            }
        }
    }
    let mut out = Vec::new();
    for (d, existing) in plan {
        match existing {
            Some(pv) => out.push(pv),
            None => {
                let pv = create_pv(ctx, &d, &opts, None)?;
                ctx.say(format!(
                    "Physical volume \"{}\" successfully created.",
                    d.display()
                ));
                out.push(pv);
            }
        }
    }
    Ok(out)
}

pub fn parse_extent_size(s: &str) -> Result<u64, CmdError> {
    let a = parse_size_mb(s)
        .map_err(|e| CmdError::usage(format!("Invalid physical extent size \"{s}\": {e}")))?;
    let sectors = a.sectors;
    if sectors < 8 || !sectors.is_power_of_two() {
        return Err(CmdError::usage(format!(
            "Invalid physical extent size \"{s}\": it must be a power of 2 of at least 4 KiB."
        )));
    }
    Ok(sectors)
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    super::args::validate_name("volume group", &args.vg)?;
    let extent_size = match &args.extent_size {
        Some(s) => parse_extent_size(s)?,
        None => DEFAULT_EXTENT_SIZE,
    };
    if let Some(a) = &args.alloc {
        if crate::alloc::Policy::from_name(a).is_none() {
            return Err(CmdError::usage(format!(
                "Invalid allocation policy \"{a}\"."
            )));
        }
    }
    let _g = take_lock(ctx, GLOBAL)?;
    let _o = take_lock(ctx, ORPHANS)?;
    if ctx.scan().vgs.iter().any(|v| v.vg.name == args.vg) {
        return Err(CmdError::failed(format!(
            "A volume group called {} already exists.",
            args.vg
        )));
    }
    let pvs = orphan_pvs(ctx, &args.pvs, &args.pv, args.force)?;
    let mut vg = Vg {
        name: args.vg.clone(),
        id: crate::uuid::format(&crate::uuid::generate()),
        seqno: 0,
        format: Some("lvm2".into()),
        status: vec!["RESIZEABLE".into(), "READ".into(), "WRITE".into()],
        flags: vec![],
        tags: args.addtag.clone(),
        system_id: None,
        extent_size,
        max_lv: args.max_lv.unwrap_or(0),
        max_pv: args.max_pv.unwrap_or(0),
        metadata_copies: args.vgmetadatacopies.unwrap_or(0),
        pvs: vec![],
        lvs: vec![],
        historical_lvs: None,
        extra: vec![],
    };
    if let Some(a) = &args.alloc {
        if a != "normal" {
            vg.extra.push((
                "allocation_policy".into(),
                crate::format::config::Node::Value(crate::format::config::Value::Str(a.clone())),
            ));
        }
    }
    for (i, pv) in pvs.iter().enumerate() {
        vg.pvs.push(pv_entry(format!("pv{i}"), pv, extent_size)?);
    }
    let mut w = VgForWrite::create(ctx, vg, pvs)?;
    w.commit(ctx)?;
    ctx.say(format!("Volume group \"{}\" successfully created", args.vg));
    Ok(())
}
