//! vgreduce: remove unused PVs from a volume group.

use std::path::PathBuf;

use super::context::Ctx;
use super::vgwrite::{notify_released, take_lock, VgForWrite};
use super::CmdError;
use crate::commit::lock::{GLOBAL, ORPHANS};
use crate::model::{Area, Vg};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "VG")]
    pub vg: String,
    /// PVs to remove
    #[arg(value_name = "PV")]
    pub pvs: Vec<PathBuf>,
    /// Remove every PV that holds no LV data
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Remove missing PVs that hold no LV data
    #[arg(long = "removemissing")]
    pub removemissing: bool,
}

/// Names of the LVs with extents on PV `key`.
pub fn lvs_on_pv(vg: &Vg, key: &str) -> Vec<String> {
    let mut out: Vec<String> = vg
        .lvs
        .iter()
        .filter(|lv| {
            lv.segments.iter().any(|s| {
                s.areas
                    .iter()
                    .any(|a| matches!(a, Area::Pv { pv, .. } if pv == key))
            })
        })
        .map(|lv| lv.name.clone())
        .collect();
    out.dedup();
    out
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    if args.removemissing {
        return remove_missing(ctx, &args);
    }
    if args.pvs.is_empty() && !args.all {
        return Err(CmdError::usage(
            "Please give the PVs to remove, or --all, or --removemissing.",
        ));
    }
    let _g = take_lock(ctx, GLOBAL)?;
    let mut w = VgForWrite::open(ctx, &args.vg)?;
    let _o = take_lock(ctx, ORPHANS)?;
    let keys: Vec<String> = if args.all {
        w.vg.pvs
            .iter()
            .filter(|p| lvs_on_pv(&w.vg, &p.key).is_empty())
            .map(|p| p.key.clone())
            .collect()
    } else {
        let mut keys = Vec::new();
        for d in &args.pvs {
            let canon = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
            let m = w
                .members
                .iter()
                .find(|m| {
                    m.pv.path == *d
                        || std::fs::canonicalize(&m.pv.path).ok().as_ref() == Some(&canon)
                })
                .ok_or_else(|| {
                    CmdError::failed(format!(
                        "Physical volume \"{}\" not in volume group \"{}\".",
                        d.display(),
                        args.vg
                    ))
                })?;
            let used = lvs_on_pv(&w.vg, &m.key);
            if !used.is_empty() {
                return Err(CmdError::failed(format!(
                    "Physical volume \"{}\" still in use by LVs {} of VG {}: move or remove them first (pvmove, lvremove).",
                    d.display(),
                    used.join(", "),
                    args.vg
                )));
            }
            keys.push(m.key.clone());
        }
        keys
    };
    if keys.len() >= w.vg.pvs.len() {
        return Err(CmdError::failed(format!(
            "Can't remove the last physical volume of VG {}: use vgremove instead.",
            args.vg
        )));
    }
    let released: Vec<_> = w
        .members
        .iter()
        .filter(|m| keys.contains(&m.key))
        .map(|m| m.pv.clone())
        .collect();
    w.vg.pvs.retain(|p| !keys.contains(&p.key));
    w.members.retain(|m| !keys.contains(&m.key));
    // lvm2 numbers the PVs pv0..pvN on every write.
    w.vg.renumber_pvs();
    // The VG without the PVs is committed first; only then are the PVs
    // released, so a crash in between leaves them in no VG's way.
    w.commit(ctx)?;
    w.release(&released)?;
    notify_released(ctx, &released);
    for pv in &released {
        ctx.say(format!(
            "Removed \"{}\" from volume group \"{}\"",
            pv.path.display(),
            args.vg
        ));
    }
    Ok(())
}

fn remove_missing(ctx: &mut Ctx, args: &Args) -> Result<(), CmdError> {
    let _g = take_lock(ctx, GLOBAL)?;
    let lock = take_lock(ctx, &crate::commit::lock::vg_lock_name(&args.vg))?;
    ctx.invalidate();
    let scan = ctx.scan().clone();
    let found = scan
        .vg(&args.vg)
        .ok_or_else(|| CmdError::failed(format!("Volume group \"{}\" not found", args.vg)))?;
    let missing: Vec<String> = found.missing_pvs().iter().map(|s| s.to_string()).collect();
    if missing.is_empty() {
        ctx.say(format!(
            "Volume group \"{}\" is already consistent.",
            args.vg
        ));
        return Ok(());
    }
    let mut vg = found.vg.clone();
    for k in &missing {
        let used = lvs_on_pv(&vg, k);
        if !used.is_empty() {
            return Err(CmdError::failed(format!(
                "Missing PV {} still holds LVs {} of VG {}: remove those LVs first.",
                vg.pvs
                    .iter()
                    .find(|p| &p.key == k)
                    .map(|p| p.id.as_str())
                    .unwrap_or(k),
                used.join(", "),
                args.vg
            )));
        }
    }
    vg.pvs.retain(|p| !missing.contains(&p.key));
    vg.renumber_pvs();
    let mut members = Vec::new();
    for (key, idx) in &found.pv_devices {
        if let Some(i) = idx {
            members.push(super::vgwrite::Member {
                key: key.clone(),
                pv: scan.pv(*i).clone(),
            });
        }
    }
    let mut w = VgForWrite::from_parts(vg, members, lock);
    w.commit(ctx)?;
    ctx.say(format!("Wrote out consistent volume group {}.", args.vg));
    Ok(())
}
