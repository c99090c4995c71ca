//! lvremove: remove logical volumes (VG/LV), or every LV of a VG.

use std::collections::BTreeMap;

use super::context::Ctx;
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::model::SegType;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// LVs (VG/LV) or VGs (all their LVs)
    #[arg(required = true, value_name = "VG|LV")]
    pub targets: Vec<String>,
    /// Do not ask for confirmation
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    // Group by VG: one locked read and one commit per VG.
    let mut by_vg: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for t in &args.targets {
        let t = t.strip_prefix("/dev/").unwrap_or(t);
        match t.split_once('/') {
            Some((vg, lv)) => {
                if let Some(list) = by_vg.entry(vg.to_string()).or_insert_with(|| Some(vec![])) {
                    list.push(lv.to_string());
                }
            }
            None => {
                by_vg.insert(t.to_string(), None);
            }
        }
    }
    for (vg_name, lvs) in by_vg {
        let mut w = VgForWrite::open(ctx, &vg_name)?;
        let names: Vec<String> = match lvs {
            Some(l) => l,
            None => {
                w.vg.lvs
                    .iter()
                    .filter(|l| l.status.iter().any(|s| s == "VISIBLE"))
                    .map(|l| l.name.clone())
                    .collect()
            }
        };
        for name in &names {
            let lv = w.vg.lvs.iter().find(|l| &l.name == name).ok_or_else(|| {
                CmdError::failed(format!(
                    "Failed to find logical volume \"{vg_name}/{name}\""
                ))
            })?;
            if !lv.is_visible() {
                return Err(CmdError::failed(format!(
                    "Can't remove logical volume {vg_name}/{name}: it is a hidden sub-LV of another LV; remove that LV instead."
                )));
            }
            // Linear, striped and RAID LVs (with their sub-LVs) only.
            let mut tree = crate::raid::sub_lvs(&w.vg, name);
            tree.push(name.clone());
            for part in &tree {
                let Some(l) = w.vg.lv(part) else { continue };
                if let Some(s) = l
                    .segments
                    .iter()
                    .find(|s| !matches!(s.segtype, SegType::Striped | SegType::Raid(_)))
                {
                    return Err(CmdError::failed(format!(
                        "Can't remove logical volume {vg_name}/{name}: segment type {} is not handled by this version of lvm.",
                        s.segtype.name()
                    )));
                }
            }
            // Nothing else may be built on it.
            let users: Vec<String> =
                w.vg.users_of(name)
                    .into_iter()
                    .map(|(l, _)| l.name.clone())
                    .filter(|u| !names.contains(u))
                    .collect();
            if let Some(u) = users.first() {
                return Err(CmdError::failed(format!(
                    "Can't remove logical volume {vg_name}/{name} used by {u}."
                )));
            }
        }
        // Active LVs are deactivated first, as lvm2 does (an open one is refused).
        for name in &names {
            super::vgchange::deactivate_before_remove(ctx, &w.vg, name)?;
        }
        for name in &names {
            w.vg = crate::raid::remove(&w.vg, name).map_err(|e| CmdError::failed(e.to_string()))?;
        }
        w.commit(ctx)?;
        for name in &names {
            ctx.say(format!("Logical volume \"{name}\" successfully removed."));
        }
    }
    Ok(())
}
