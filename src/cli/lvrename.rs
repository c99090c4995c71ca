//! lvrename: rename a logical volume, and its sub-LVs with it (a RAID LV's
//! `<lv>_rimage_N`/`<lv>_rmeta_N` follow the new name, as in lvm2).
//!
//! `lvrename VG/OLD VG/NEW`, `lvrename VG/OLD NEW` or `lvrename VG OLD NEW`.

use super::args::validate_lv_name;
use super::context::Ctx;
use super::vgwrite::VgForWrite;
use super::CmdError;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// VG/OLD NEW, VG/OLD VG/NEW, or VG OLD NEW
    #[arg(value_name = "NAME", num_args = 2..=3, required = true)]
    pub names: Vec<String>,
}

fn strip_dev(s: &str) -> &str {
    s.strip_prefix("/dev/").unwrap_or(s)
}

/// (vg, old, new) from the positional arguments.
fn names(args: &Args) -> Result<(String, String, String), CmdError> {
    let n: Vec<&str> = args.names.iter().map(|s| strip_dev(s)).collect();
    let (vg, old, new) = match n.as_slice() {
        [vg, old, new] => (vg.to_string(), old.to_string(), new.to_string()),
        [old, new] => {
            let (vg, old) = old.split_once('/').ok_or_else(|| {
                CmdError::usage(
                    "Old logical volume name must be given as VG/LV (or give the VG first).",
                )
            })?;
            let new = match new.split_once('/') {
                Some((vg2, _)) if vg2 != vg => {
                    return Err(CmdError::usage(format!(
                    "Logical volume names must have the same volume group (\"{vg}\" or \"{vg2}\")."
                )))
                }
                Some((_, new)) => new.to_string(),
                None => new.to_string(),
            };
            (vg.to_string(), old.to_string(), new)
        }
        _ => {
            return Err(CmdError::usage(
                "Old and new logical volume names required.",
            ))
        }
    };
    if old.contains('/') || new.contains('/') {
        return Err(CmdError::usage(
            "Logical volume names must not contain '/' here.",
        ));
    }
    if old == new {
        return Err(CmdError::usage(
            "Old and new logical volume names must differ.",
        ));
    }
    validate_lv_name(&new)?;
    Ok((vg, old, new))
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let (vg_name, old, new) = names(&args)?;
    let mut w = VgForWrite::open(ctx, &vg_name)?;
    let lv = w.vg.lv(&old).ok_or_else(|| {
        CmdError::failed(format!(
            "Existing logical volume \"{old}\" not found in volume group \"{vg_name}\""
        ))
    })?;
    if !lv.is_visible() {
        return Err(CmdError::failed(format!(
            "Cannot rename internal LV \"{old}\"."
        )));
    }
    if w.vg.lv(&new).is_some() {
        return Err(CmdError::failed(format!(
            "Logical Volume \"{new}\" already exists in volume group \"{vg_name}\""
        )));
    }
    w.vg = crate::raid::rename(&w.vg, &old, &new).map_err(|e| CmdError::failed(e.to_string()))?;
    w.commit(ctx)?;
    // An active LV: its devices are renamed (found by their DM UUIDs, which
    // the rename keeps) as lvm2's reload after the commit does; without
    // udev the old /dev/VG/OLD link is ours to remove (lvm2's
    // `fs_rename_lv`). No-op when inactive or activation is off.
    if super::vgchange::is_live(ctx, &w.vg, &new) {
        super::vgchange::reload_after_commit(ctx, &w, &w.vg, &new)?;
        let link = crate::activate::dm::lv_link_path(&vg_name, &old);
        if std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(&link);
        }
    }
    ctx.say(format!(
        "Renamed \"{old}\" to \"{new}\" in volume group \"{vg_name}\""
    ));
    Ok(())
}
