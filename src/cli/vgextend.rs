//! vgextend: add PVs to a volume group.

use std::path::PathBuf;

use super::context::Ctx;
use super::pvcreate::PvOpts;
use super::vgcreate::{orphan_pvs, pv_entry};
use super::vgwrite::{take_lock, VgForWrite};
use super::CmdError;
use crate::commit::lock::{GLOBAL, ORPHANS};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "VG")]
    pub vg: String,
    /// PVs (or devices to initialize as PVs) to add
    #[arg(required = true, value_name = "PV")]
    pub pvs: Vec<PathBuf>,
    /// Force (passed on to the PV initialization)
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
    #[command(flatten)]
    pub pv: PvOpts,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let _g = take_lock(ctx, GLOBAL)?;
    let mut w = VgForWrite::open(ctx, &args.vg)?;
    let _o = take_lock(ctx, ORPHANS)?;
    if w.vg.max_pv > 0 && w.vg.pvs.len() + args.pvs.len() > w.vg.max_pv as usize {
        return Err(CmdError::failed(format!(
            "Volume group {} allows at most {} physical volumes (maxphysicalvolumes).",
            args.vg, w.vg.max_pv
        )));
    }
    let pvs = orphan_pvs(ctx, &args.pvs, &args.pv, args.force)?;
    for pv in pvs {
        let key = w.vg.next_pv_key();
        let entry = pv_entry(key, &pv, w.vg.extent_size)?;
        w.vg.pvs.push(entry);
        w.joining.push(pv);
    }
    w.commit(ctx)?;
    ctx.say(format!(
        "Volume group \"{}\" successfully extended",
        args.vg
    ));
    Ok(())
}
