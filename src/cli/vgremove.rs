//! vgremove: remove volume groups (and, with -f, the LVs in them).

use super::context::Ctx;
use super::vgwrite::{notify_released, take_lock, VgForWrite};
use super::CmdError;
use crate::commit::lock::{GLOBAL, ORPHANS};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(required = true, value_name = "VG")]
    pub vgs: Vec<String>,
    /// Remove the VG even if it contains LVs (they are removed too)
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let _g = take_lock(ctx, GLOBAL)?;
    for name in &args.vgs {
        let w = VgForWrite::open(ctx, name)?;
        let _o = take_lock(ctx, ORPHANS)?;
        let visible: Vec<&str> =
            w.vg.lvs
                .iter()
                .filter(|l| l.status.iter().any(|s| s == "VISIBLE"))
                .map(|l| l.name.as_str())
                .collect();
        if !visible.is_empty() && args.force == 0 && !ctx.common.yes {
            return Err(CmdError::failed(format!(
                "Volume group \"{name}\" still contains {} logical volume(s): {}.\n\
                 Remove them first, or use vgremove -f to remove them with the VG.",
                visible.len(),
                visible.join(", ")
            )));
        }
        if ctx.common.test {
            ctx.say("TEST MODE: Metadata will NOT be updated.");
            continue;
        }
        // Active LVs are deactivated first, as lvremove does in lvm2's
        // vgremove -f (an open LV is refused and the VG stays).
        for lv in &visible {
            super::vgchange::deactivate_before_remove(ctx, &w.vg, lv)?;
        }
        for lv in &visible {
            ctx.say(format!("Logical volume \"{lv}\" successfully removed."));
        }
        let pvs: Vec<_> = w.members.iter().map(|m| m.pv.clone()).collect();
        w.release(&pvs)?;
        ctx.notify_lvmetad(&format!("VG {name}"), |l| l.vg_remove(&w.vg.id).map(|_| ()));
        notify_released(ctx, &pvs);
        ctx.say(format!("Volume group \"{name}\" successfully removed"));
    }
    ctx.invalidate();
    Ok(())
}
