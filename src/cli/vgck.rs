//! vgck: check the consistency of volume groups: every PV present and
//! readable, every metadata area holding the same, newest metadata, and
//! the metadata itself valid.

use super::context::Ctx;
use super::CmdError;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// VGs to check (default: all)
    #[arg(value_name = "VG")]
    pub vgs: Vec<String>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let scan = ctx.scan().clone();
    let names: Vec<String> = if args.vgs.is_empty() {
        scan.vgs.iter().map(|v| v.vg.name.clone()).collect()
    } else {
        args.vgs.clone()
    };
    let mut problems = Vec::new();
    for name in &names {
        let Some(found) = scan.vg(name) else {
            problems.push(format!("Volume group \"{name}\" not found"));
            continue;
        };
        for k in found.missing_pvs() {
            let id = found
                .vg
                .pvs
                .iter()
                .find(|p| p.key == k)
                .map(|p| p.id.clone())
                .unwrap_or_default();
            problems.push(format!("VG {name}: PV {id} ({k}) is missing."));
        }
        for p in &found.outdated {
            problems.push(format!("VG {name}: {} holds old metadata.", p.display()));
        }
        for idx in found.pv_devices.values().flatten() {
            let pv = scan.pv(*idx);
            problems.extend(pv.problems());
            for m in &pv.mdas {
                if let Some(Ok(text)) = &m.text {
                    if *text != found.text && !found.outdated.contains(&pv.path) {
                        problems.push(format!(
                            "VG {name}: metadata area at offset {} of {} differs from the VG's metadata.",
                            m.locn.offset,
                            pv.path.display()
                        ));
                    }
                }
            }
        }
        if let Err(errs) = crate::model::validate::validate(&found.vg) {
            problems.extend(errs.iter().map(|e| format!("VG {name}: {e}")));
        }
    }
    for w in &scan.warnings {
        if names.iter().any(|n| w.contains(n.as_str())) {
            ctx.warn(w);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CmdError::failed(problems.join("\n")))
    }
}
