//! lvchange: activation and live RAID settings of logical volumes.
//!
//! `-ay|-an|-aay`, `--activationmode`, `--refresh`, `--resync`,
//! `--syncaction check|repair`, `--rebuild PV`, `--writemostly
//! PV[:y|n|t]`, `--maxrecoveryrate`/`--minrecoveryrate`. The settings that
//! live in the metadata (rebuild, writemostly, recovery rates) are
//! committed through [`VgForWrite`] and then loaded into the live table
//! (lvm2's `lv_update_and_reload`); `--syncaction` is a dm-raid message;
//! behaviour after lvm2 2.03.16 tools/lvchange.c.

use std::path::{Path, PathBuf};

use super::context::Ctx;
use super::vgchange::{self, Activate, VgActivation};
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::activate::{self, ActivationMode};
use crate::model::{Area, Vg};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Activate (y), deactivate (n) or autoactivate (ay)
    #[arg(short = 'a', long = "activate", value_name = "y|n|ay", value_parser = vgchange::parse_activate)]
    pub activate: Option<Activate>,
    /// What to do when PVs are missing
    #[arg(long = "activationmode", value_name = "complete|degraded|partial", value_parser = vgchange::parse_mode)]
    pub activationmode: Option<ActivationMode>,
    /// Same as --activationmode partial
    #[arg(short = 'P', long = "partial")]
    pub partial: bool,
    /// Ignore the ACTIVATION_SKIP flag
    #[arg(short = 'K', long = "ignoreactivationskip")]
    pub ignore_skip: bool,
    /// Reload the LV's device-mapper tables (after a device came back)
    #[arg(long = "refresh")]
    pub refresh: bool,
    /// Resynchronise a RAID LV from scratch
    #[arg(long = "resync")]
    pub resync: bool,
    /// Start a RAID scrub: check (count mismatches) or repair (fix them)
    #[arg(long = "syncaction", value_name = "check|repair")]
    pub syncaction: Option<String>,
    /// Rebuild the RAID images on this PV (repeatable)
    #[arg(long = "rebuild", value_name = "PV")]
    pub rebuild: Vec<PathBuf>,
    /// Mark the raid1 images on PV write-mostly (y), not (n), or toggle (t)
    #[arg(long = "writemostly", value_name = "PV[:y|n|t]")]
    pub writemostly: Vec<String>,
    /// Maximum background recovery rate per device (KiB/s unless a unit is given; 0 = unlimited)
    #[arg(long = "maxrecoveryrate", value_name = "Rate[bBsSkKmMgG]", value_parser = parse_rate)]
    pub maxrecoveryrate: Option<u64>,
    /// Minimum background recovery rate per device (KiB/s unless a unit is given)
    #[arg(long = "minrecoveryrate", value_name = "Rate[bBsSkKmMgG]", value_parser = parse_rate)]
    pub minrecoveryrate: Option<u64>,
    /// Logical volumes (VG/LV), or VGs for all their LVs
    #[arg(value_name = "LV", required = true)]
    pub lvs: Vec<String>,
}

/// lvm2's recovery rate: a size per second, KiB when no unit is given;
/// stored in KiB/s (rounded up).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "k"));
    let v: f64 = num.parse().map_err(|_| format!("invalid rate {s:?}"))?;
    let bytes = match unit {
        "b" | "B" => v,
        "s" | "S" => v * 512.0,
        "k" | "K" => v * 1024.0,
        "m" | "M" => v * 1024.0 * 1024.0,
        "g" | "G" => v * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("invalid unit in rate {s:?}")),
    };
    Ok((bytes / 1024.0).ceil() as u64)
}

/// `VG/LV`, `/dev/VG/LV`, `/dev/mapper/VG-LV` is not taken; `VG` alone
/// means every visible LV of the VG.
fn split_name(s: &str) -> (String, Option<String>) {
    let s = s.strip_prefix("/dev/").unwrap_or(s).trim_end_matches('/');
    match s.split_once('/') {
        Some((vg, lv)) => (vg.to_string(), Some(lv.to_string())),
        None => (s.to_string(), None),
    }
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The key in `w.vg` of the PV on device `path`.
fn pv_key(w: &VgForWrite, path: &Path) -> Result<String, CmdError> {
    let want = canon(path);
    let m = w
        .members
        .iter()
        .find(|m| canon(&m.pv.path) == want)
        .ok_or_else(|| {
            CmdError::failed(format!(
                "Physical volume {} not found in volume group {}.",
                path.display(),
                w.vg.name
            ))
        })?;
    let id = m.pv.uuid();
    w.vg.pvs
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.key.clone())
        .ok_or_else(|| CmdError::failed(format!("{} is not a PV of {}", path.display(), w.vg.name)))
}

/// Whether sub-LV `name` has an extent on PV `key`.
fn lv_on_pv(vg: &Vg, name: &str, key: &str) -> bool {
    vg.lv(name).is_some_and(|l| {
        l.segments.iter().any(|s| {
            s.areas.iter().any(|a| match a {
                Area::Pv { pv, .. } => pv == key,
                Area::Lv { lv, .. } => lv_on_pv(vg, lv, key),
            })
        })
    })
}

/// The image and metadata sub-LV names of a RAID LV's segment, per slot.
type Slots = (Vec<Option<String>>, Vec<Option<String>>);

fn raid_seg_names(vg: &Vg, lv: &str) -> Result<Slots, CmdError> {
    let l = vg.lv(lv).expect("checked");
    let seg = l
        .segments
        .iter()
        .find(|s| s.raid.is_some())
        .ok_or_else(|| {
            CmdError::failed(format!(
                "{}/{lv} must be a RAID logical volume to perform this action.",
                vg.name
            ))
        })?;
    let r = seg.raid.as_ref().expect("raid");
    Ok((r.images.clone(), r.meta.clone()))
}

fn is_raid(vg: &Vg, lv: &str) -> bool {
    vg.lv(lv)
        .is_some_and(|l| l.segments.iter().any(|s| s.raid.is_some()))
}

fn is_raid1(vg: &Vg, lv: &str) -> bool {
    vg.lv(lv).is_some_and(|l| {
        l.segments
            .iter()
            .any(|s| s.raid_type().is_some_and(|t| t.is_raid1()))
    })
}

fn set_flag(vg: &mut Vg, lv: &str, flag: &str, on: bool) {
    if let Some(l) = vg.lv_mut(lv) {
        let has = l.status.iter().any(|s| s == flag);
        if on && !has {
            l.status.push(flag.to_string());
        } else if !on && has {
            l.status.retain(|s| s != flag);
        }
    }
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let metadata = !args.rebuild.is_empty()
        || !args.writemostly.is_empty()
        || args.maxrecoveryrate.is_some()
        || args.minrecoveryrate.is_some();
    if args.activate.is_none()
        && !args.refresh
        && !args.resync
        && args.syncaction.is_none()
        && !metadata
    {
        return Err(CmdError::usage(
            "Need one or more command options: -a|--activate, --refresh, --resync, --syncaction, \
             --rebuild, --writemostly, --maxrecoveryrate, --minrecoveryrate.",
        ));
    }
    if let Some(a) = &args.syncaction {
        if a != "check" && a != "repair" {
            return Err(CmdError::usage(format!(
                "Invalid --syncaction \"{a}\": use check or repair."
            )));
        }
    }
    let mut targets: Vec<(String, String)> = Vec::new();
    for n in &args.lvs {
        let (vg, lv) = split_name(n);
        match lv {
            Some(lv) => targets.push((vg, lv)),
            None => {
                let scan = ctx.scan();
                let found = scan
                    .vg(&vg)
                    .ok_or_else(|| CmdError::failed(format!("Volume group \"{vg}\" not found")))?;
                for l in found.vg.lvs.iter().filter(|l| l.is_visible()) {
                    targets.push((vg.clone(), l.name.clone()));
                }
            }
        }
    }
    let mut failed = 0;
    for (vg, lv) in &targets {
        if let Err(e) = change_one(ctx, &args, vg, lv, metadata) {
            e.report();
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(CmdError::failed(String::new()));
    }
    Ok(())
}

fn change_one(
    ctx: &mut Ctx,
    args: &Args,
    vg: &str,
    lv: &str,
    metadata: bool,
) -> Result<(), CmdError> {
    if metadata {
        change_metadata(ctx, args, vg, lv)?;
    }
    if args.resync {
        resync(ctx, args, vg, lv)?;
    }
    let need_dm = args.activate.is_some() || args.refresh || args.syncaction.is_some();
    if !need_dm {
        return Ok(());
    }
    let mode = vgchange::mode(ctx, args.activationmode, args.partial)?;
    let dm = vgchange::open_dm(ctx)?;
    let va = VgActivation::new(ctx, &dm, vg, mode)?;
    let l = va
        .vg
        .lv(lv)
        .ok_or_else(|| CmdError::failed(format!("Failed to find logical volume \"{vg}/{lv}\"")))?;
    if let Some(how) = args.activate {
        if how == Activate::No {
            va.deactivate(lv)?;
        } else {
            if !l.is_visible() {
                return Err(CmdError::failed(format!(
                    "Operation not permitted on hidden LV {vg}/{lv}."
                )));
            }
            if let Some(why) = vgchange::skip_reason(ctx, &va.vg, l, how, args.ignore_skip) {
                ctx.say(why);
                return Ok(());
            }
            if va.activate(lv)? {
                vgchange::clear_rebuild(ctx, vg, lv)?;
            }
        }
    }
    if args.refresh {
        if activate::is_active(&va.vg, lv) {
            va.refresh(lv)?;
        } else {
            log::info!("{vg}/{lv} is not active: nothing to refresh");
        }
    }
    if let Some(action) = &args.syncaction {
        if !is_raid(&va.vg, lv) {
            return Err(CmdError::failed(format!(
                "{vg}/{lv} must be a RAID logical volume to perform this action."
            )));
        }
        if !activate::is_active(&va.vg, lv) {
            return Err(CmdError::failed(format!(
                "Unable to send message to an inactive logical volume ({vg}/{lv}); activate it first."
            )));
        }
        activate::raid_message(&dm, &va.vg, lv, action).map_err(|e| {
            CmdError::failed(format!("Failed to send \"{action}\" to {vg}/{lv}: {e}"))
        })?;
    }
    Ok(())
}

/// rebuild / writemostly / recovery rates: change the metadata, commit,
/// reload the live table.
fn change_metadata(ctx: &mut Ctx, args: &Args, vg: &str, lv: &str) -> Result<(), CmdError> {
    let mut w = VgForWrite::open(ctx, vg)?;
    if w.vg.lv(lv).is_none() {
        return Err(CmdError::failed(format!(
            "Failed to find logical volume \"{vg}/{lv}\""
        )));
    }
    let (images, metas) = raid_seg_names(&w.vg, lv)?;
    let old = w.vg.clone();
    let mut rebuilt: Vec<String> = Vec::new();
    for pv in &args.rebuild {
        let key = pv_key(&w, pv)?;
        let mut any = false;
        for (i, img) in images.iter().enumerate() {
            let Some(img) = img else { continue };
            let meta = metas.get(i).cloned().flatten();
            if lv_on_pv(&w.vg, img, &key)
                || meta.as_deref().is_some_and(|m| lv_on_pv(&w.vg, m, &key))
            {
                set_flag(&mut w.vg, img, "REBUILD", true);
                rebuilt.push(img.clone());
                if let Some(m) = &meta {
                    set_flag(&mut w.vg, m, "REBUILD", true);
                    rebuilt.push(m.clone());
                }
                any = true;
            }
        }
        if !any {
            return Err(CmdError::failed(format!(
                "Unable to rebuild {vg}/{lv}: it has no image on PV {}.",
                pv.display()
            )));
        }
    }
    for spec in &args.writemostly {
        if !is_raid1(&w.vg, lv) {
            return Err(CmdError::failed(format!(
                "--writemostly is only valid for raid1 LVs, and {vg}/{lv} is not raid1."
            )));
        }
        let (path, op) = match spec.rsplit_once(':') {
            Some((p, o @ ("y" | "n" | "t"))) => (p, o),
            _ => (spec.as_str(), "y"),
        };
        let key = pv_key(&w, Path::new(path))?;
        let mut any = false;
        for img in images.iter().flatten() {
            if lv_on_pv(&w.vg, img, &key) {
                let has = w.vg.lv(img).is_some_and(|l| l.has_status("WRITEMOSTLY"));
                let on = match op {
                    "y" => true,
                    "n" => false,
                    _ => !has,
                };
                set_flag(&mut w.vg, img, "WRITEMOSTLY", on);
                any = true;
            }
        }
        if !any {
            return Err(CmdError::failed(format!(
                "{vg}/{lv} has no image on PV {path}."
            )));
        }
        let all = images
            .iter()
            .flatten()
            .all(|i| w.vg.lv(i).is_some_and(|l| l.has_status("WRITEMOSTLY")));
        if all {
            return Err(CmdError::failed(format!(
                "Unable to set write-mostly on every image of {vg}/{lv}: at least one must take reads."
            )));
        }
    }
    if args.maxrecoveryrate.is_some() || args.minrecoveryrate.is_some() {
        let l = w.vg.lv_mut(lv).expect("checked");
        for s in l.segments.iter_mut() {
            if let Some(r) = s.raid.as_mut() {
                if let Some(v) = args.maxrecoveryrate {
                    r.max_recovery_rate = (v > 0).then_some(v);
                }
                if let Some(v) = args.minrecoveryrate {
                    r.min_recovery_rate = (v > 0).then_some(v);
                }
                if let (Some(min), Some(max)) = (r.min_recovery_rate, r.max_recovery_rate) {
                    if min > max {
                        return Err(CmdError::failed(format!(
                            "Minimum recovery rate cannot be higher than maximum ({vg}/{lv})."
                        )));
                    }
                }
            }
        }
    }
    w.commit(ctx)?;
    vgchange::reload_after_commit(ctx, &w, &old, lv)?;
    if !rebuilt.is_empty() {
        // The flags only matter for the table just loaded: clear them, as
        // lvm2 does, so a later activation does not rebuild again.
        let loaded = w.vg.clone();
        for n in &rebuilt {
            set_flag(&mut w.vg, n, "REBUILD", false);
        }
        w.commit(ctx)?;
        let _ = loaded;
    }
    ctx.say(format!("Logical volume {vg}/{lv} changed."));
    Ok(())
}

/// `--resync`: an active RAID LV is told to resync; an inactive one gets
/// its metadata sub-LVs cleared (the array starts over) when activated
/// next, as lvm2 does.
fn resync(ctx: &mut Ctx, args: &Args, vg: &str, lv: &str) -> Result<(), CmdError> {
    let mode = vgchange::mode(ctx, args.activationmode, args.partial)?;
    let dm = vgchange::open_dm(ctx)?;
    let va = VgActivation::new(ctx, &dm, vg, mode)?;
    if !is_raid(&va.vg, lv) {
        return Err(CmdError::failed(format!(
            "{vg}/{lv} must be a RAID logical volume to resync."
        )));
    }
    let was_active = activate::is_active(&va.vg, lv);
    if was_active {
        if !ctx.common.yes {
            return Err(CmdError::failed(format!(
                "Logical volume {vg}/{lv} is active: it is deactivated to resync; confirm with -y \
                 (or deactivate it first)."
            )));
        }
        va.deactivate(lv)?;
    }
    let (_, metas) = raid_seg_names(&va.vg, lv)?;
    for m in metas.iter().flatten() {
        // Activate the rmeta sub-LV on its own, zero its superblock.
        activate::activate(&dm, &va.vg, m, &va.pvs, &va.opts).map_err(|e| {
            CmdError::failed(format!("Failed to activate {vg}/{m} to clear it: {e}"))
        })?;
        let name = activate::active_name(&va.vg, m).unwrap_or_default();
        let path = activate::dm::mapper_path(&name);
        let r = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(&vec![0u8; 4096])?;
                f.sync_all()
            });
        let d = activate::deactivate(&dm, &va.vg, m);
        r.map_err(|e| CmdError::failed(format!("Failed to clear {}: {e}", path.display())))?;
        d.map_err(|e| CmdError::failed(format!("Failed to deactivate {vg}/{m}: {e}")))?;
    }
    if was_active && va.activate(lv)? {
        vgchange::clear_rebuild(ctx, vg, lv)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_rates_in_kib_per_second() {
        assert_eq!(parse_rate("128"), Ok(128));
        assert_eq!(parse_rate("128k"), Ok(128));
        assert_eq!(parse_rate("4M"), Ok(4096));
        assert_eq!(parse_rate("1g"), Ok(1024 * 1024));
        assert_eq!(parse_rate("100B"), Ok(1));
        assert_eq!(parse_rate("8s"), Ok(4));
        assert_eq!(parse_rate("0"), Ok(0));
        assert!(parse_rate("10X").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(split_name("/dev/vg/lv"), ("vg".into(), Some("lv".into())));
        assert_eq!(split_name("vg"), ("vg".into(), None));
    }
}
