//! pvremove: wipe the LVM label (and metadata area headers) of orphan PVs.

use std::path::PathBuf;

use super::context::Ctx;
use super::vgwrite::{lookup_device, take_lock};
use super::CmdError;
use crate::commit::lock::{GLOBAL, ORPHANS};
use crate::device::scan::DevScan;
use crate::device::{BlockIo, Device};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// PVs to wipe
    #[arg(required = true, value_name = "PV")]
    pub pvs: Vec<PathBuf>,
    /// Force: -ff removes a PV that belongs to a volume group
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let _g = take_lock(ctx, GLOBAL)?;
    let _o = take_lock(ctx, ORPHANS)?;
    let scan = ctx.scan().clone();
    let mut targets = Vec::new();
    for d in &args.pvs {
        let (idx, state) = lookup_device(ctx, &scan, d)?;
        match state {
            DevScan::Pv(pv) => {
                if let Some((vg, _)) = scan.vg_of_device(idx) {
                    if args.force < 2 || !ctx.common.yes {
                        return Err(CmdError::failed(format!(
                            "PV {} is used by VG {}: remove it with vgreduce first \
                             (or pvremove -ff -y to wipe it anyway).",
                            d.display(),
                            vg.vg.name
                        )));
                    }
                    ctx.warn(format!(
                        "Wiping physical volume label from {} of volume group \"{}\".",
                        d.display(),
                        vg.vg.name
                    ));
                }
                targets.push((d.clone(), pv.label.clone()));
            }
            DevScan::NotPv => {
                return Err(CmdError::failed(format!(
                    "No PV found on device {}.",
                    d.display()
                )))
            }
            DevScan::Error(e) if args.force == 0 => {
                return Err(CmdError::failed(format!(
                    "Cannot read the PV on {}: {e}\nUse -f to wipe the damaged label anyway.",
                    d.display()
                )))
            }
            DevScan::Error(_) => targets.push((d.clone(), find_any_label_sector(d)?)),
        }
    }
    for (path, label) in targets {
        if ctx.common.test {
            continue;
        }
        let devno = crate::client::pvmeta::devno_of_path(&path);
        let mut dev = Device::open(&path, true)?;
        // lvm2 wipes the label sector; the mda headers go too so no stale
        // metadata can be mistaken for a VG later.
        for m in &label.metadata_areas {
            dev.write_at(m.offset, &[0u8; 512])?;
        }
        dev.write_at(label.sector * 512, &[0u8; 512])?;
        dev.flush()?;
        if let Some(devno) = devno {
            ctx.notify_lvmetad(&format!("PV {}", path.display()), |l| {
                l.pv_gone(devno).map(|_| ())
            });
        }
        ctx.say(format!(
            "Labels on physical volume \"{}\" successfully wiped.",
            path.display()
        ));
    }
    ctx.invalidate();
    Ok(())
}

/// For a damaged label we still wipe every sector that says LABELONE.
fn find_any_label_sector(
    path: &std::path::Path,
) -> Result<crate::format::label::PvLabel, CmdError> {
    let dev = Device::open(path, false)?;
    let first = dev.read_at(0, 2048)?;
    let sector = (0..4u64)
        .find(|s| &first[*s as usize * 512..*s as usize * 512 + 8] == b"LABELONE")
        .unwrap_or(1);
    Ok(crate::format::label::PvLabel {
        sector,
        pv_uuid: [b'0'; 32],
        device_size: 0,
        data_areas: vec![],
        metadata_areas: vec![],
        ext: None,
    })
}
