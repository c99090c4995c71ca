//! lvremove: remove logical volumes (VG/LV), or every LV of a VG.

use std::collections::BTreeMap;

use super::context::Ctx;
use super::vgwrite::VgForWrite;
use super::CmdError;

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
            None => w
                .vg
                .lvs
                .iter()
                .filter(|l| l.status.iter().any(|s| s == "VISIBLE"))
                .map(|l| l.name.clone())
                .collect(),
        };
        for name in &names {
            let lv = w.vg.lvs.iter().find(|l| &l.name == name).ok_or_else(|| {
                CmdError::failed(format!("Failed to find logical volume \"{vg_name}/{name}\""))
            })?;
            if !lv.status.iter().any(|s| s == "VISIBLE") {
                return Err(CmdError::failed(format!(
                    "Can't remove logical volume {vg_name}/{name}: it is a hidden sub-LV of another LV; remove that LV instead."
                )));
            }
            if lv.segments.iter().any(|s| !matches!(s.segtype, crate::model::SegType::Striped)) {
                return Err(CmdError::failed(format!(
                    "Can't remove logical volume {vg_name}/{name}: segment type {} is not handled by this version of lvm.",
                    lv.segments[0].segtype.name()
                )));
            }
        }
        w.vg.lvs.retain(|l| !names.contains(&l.name));
        w.commit(ctx)?;
        for name in &names {
            ctx.say(format!("Logical volume \"{name}\" successfully removed."));
        }
    }
    Ok(())
}
