//! pvscan: list PVs, or feed lvmetad (`--cache`).
//!
//! * `pvscan` lists every PV as lvm2 does (`PV /dev/sdb   VG vg0   lvm2
//!   [...]` and a `Total:` line), read through lvmetad when it is in use.
//! * `pvscan --cache` rebuilds lvmetad's whole cache from the disks (the
//!   token protocol's rescan); with `--devices` and no other device it
//!   feeds just those devices instead.
//! * `pvscan --cache DEVICE|MAJOR:MINOR...` and `--major M --minor m`
//!   (what udev runs) read each device and send it with `pv_found`; a
//!   device without a PV label, unreadable, gone, or rejected by the filter
//!   is sent with `pv_gone` so the daemon forgets it.
//! * `--remove` sends `pv_gone` without reading anything (udev's remove
//!   event).
//!
//! With lvmetad disabled `--cache` does nothing and succeeds ("Ignoring
//! pvscan --cache because lvmetad is not in use." at -v); with lvmetad
//! enabled but unreachable it warns as lvm2 2.02 did and still exits 0, so
//! udev never sees a failure for a daemon that is simply not running.

use std::path::{Path, PathBuf};

use super::context::Ctx;
use super::CmdError;
use crate::client::pvmeta::{devno_of_path, makedev, path_of_devno, split_devno};
use crate::client::ClientError;
use crate::device::scan::{scan_device, DevScan, PvScan, Scan};
use crate::units::Units;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Update lvmetad's cache from the devices (every device when none is given)
    #[arg(long = "cache")]
    pub cache: bool,
    /// With --cache: make lvmetad forget the devices instead of reading them
    #[arg(long = "remove")]
    pub remove: bool,
    /// With --cache: major number of a device (pairs with --minor)
    #[arg(long = "major", value_name = "MAJOR")]
    pub major: Vec<u32>,
    /// With --cache: minor number of a device (pairs with --major)
    #[arg(long = "minor", value_name = "MINOR")]
    pub minor: Vec<u32>,
    /// Show only the device names
    #[arg(short = 's', long = "short")]
    pub short: bool,
    /// Show the PV UUIDs too
    #[arg(short = 'u', long = "uuid")]
    pub uuid: bool,
    /// Only PVs in no volume group
    #[arg(short = 'n', long = "novolumegroup")]
    pub novolumegroup: bool,
    /// Only PVs of exported volume groups
    #[arg(short = 'e', long = "exported")]
    pub exported: bool,
    /// With --cache: devices (paths or MAJOR:MINOR) to read
    #[arg(value_name = "DEVICE")]
    pub pvs: Vec<String>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    if args.major.len() != args.minor.len() {
        return Err(CmdError::usage(
            "Both --major and --minor required to identify devices.",
        ));
    }
    if args.cache {
        return cache(ctx, &args);
    }
    if !args.pvs.is_empty() {
        return Err(CmdError::usage("Too many parameters on command line."));
    }
    if !args.major.is_empty() {
        return Err(CmdError::usage(
            "--major and --minor are only valid with --cache.",
        ));
    }
    if args.remove {
        return Err(CmdError::usage("--remove is only valid with --cache."));
    }
    if args.novolumegroup && args.exported {
        return Err(CmdError::usage("Options -e and -n are incompatible"));
    }
    if args.exported || args.novolumegroup {
        ctx.warn(format!(
            "only considering physical volumes {}",
            if args.exported {
                "of exported volume group(s)"
            } else {
                "in no volume group"
            }
        ));
    }
    let scan = ctx.scan().clone();
    for line in listing(&scan, &args) {
        ctx.say(line);
    }
    Ok(())
}

// --- listing ------------------------------------------------------------------

/// lvm2's `display_size` (long units: "96.00 MiB", "<9.99 GiB", "0   ").
pub fn display_size(sectors: u64) -> String {
    let short = Units::default().format_sectors(sectors, true);
    let Some(letter) = short.chars().last() else {
        return short;
    };
    let long = match letter {
        'e' => " EiB",
        'p' => " PiB",
        't' => " TiB",
        'g' => " GiB",
        'm' => " MiB",
        'k' => " KiB",
        'b' => " B  ",
        _ => return "0   ".to_string(),
    };
    format!("{}{long}", &short[..short.len() - 1])
}

/// One PV as pvscan shows it.
struct Row {
    name: String,
    uuid: String,
    /// None for an orphan.
    vg: Option<String>,
    exported: bool,
    /// Sectors: the PV's size (orphan) or its extents (in a VG).
    size: u64,
    free: u64,
}

fn rows(scan: &Scan) -> Vec<Row> {
    let mut out = Vec::new();
    // lvm2 lists VGs from its cache, where each VG found is put in front:
    // the reverse of the order the scan found them in.
    for found in scan.vgs.iter().rev() {
        let vg = &found.vg;
        let exported = vg.status.iter().chain(&vg.flags).any(|s| s == "EXPORTED");
        for pv in &vg.pvs {
            let name = scan
                .pv_path(found, &pv.key)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "[unknown]".into());
            let free: u64 = vg
                .free_extents_on(&pv.key)
                .iter()
                .map(|r| r.end - r.start)
                .sum();
            out.push(Row {
                name,
                uuid: pv.id.clone(),
                vg: Some(vg.name.clone()),
                exported,
                size: pv.pe_count * vg.extent_size,
                free: free * vg.extent_size,
            });
        }
    }
    for &i in &scan.orphans {
        let pv = scan.pv(i);
        let bytes = if pv.label.device_size > 0 {
            pv.label.device_size
        } else {
            pv.dev_size
        };
        out.push(Row {
            name: scan.devices[i].0.display().to_string(),
            uuid: pv.uuid(),
            vg: None,
            exported: false,
            size: bytes / 512,
            free: bytes / 512,
        });
    }
    out
}

/// The lines `pvscan` prints (without lvm2's two-space indent).
pub fn listing(scan: &Scan, args: &Args) -> Vec<String> {
    // Column widths as lvm2 takes them from its cache: every labelled
    // device and every VG name, the orphan VG "#orphans_lvm2" included.
    let pv_max = scan
        .devices
        .iter()
        .filter(|(_, d)| matches!(d, DevScan::Pv(_)))
        .map(|(p, _)| p.display().to_string().len())
        .max()
        .unwrap_or(0);
    let vg_max = scan
        .vgs
        .iter()
        .map(|v| v.vg.name.len())
        .chain(["#orphans_lvm2".len()])
        .max()
        .unwrap_or(0);
    let (pv_w, vg_w) = (pv_max + 2, vg_max + 2);
    let mut lines = Vec::new();
    let (mut found, mut new_found, mut total, mut new_size) = (0u64, 0u64, 0u64, 0u64);
    for r in rows(scan) {
        if (args.exported && !r.exported) || (args.novolumegroup && r.vg.is_some()) {
            continue;
        }
        found += 1;
        if r.vg.is_none() {
            new_found += 1;
            new_size += r.size;
        }
        total += r.size;
        if args.short {
            lines.push(r.name);
            continue;
        }
        let (name, width) = if args.uuid {
            (
                format!("{:<w$} with UUID {}", r.name, r.uuid, w = pv_w - 2),
                pv_w + 50,
            )
        } else {
            (r.name.clone(), pv_w)
        };
        lines.push(match &r.vg {
            None => format!(
                "PV {name:<width$}    {:<vg_w$} lvm2 [{}]",
                " ",
                display_size(r.size)
            ),
            Some(vg) if r.exported => format!(
                "PV {name:<width$}  is in exported VG {vg} [{} / {} free]",
                display_size(r.size),
                display_size(r.free)
            ),
            Some(vg) => format!(
                "PV {name:<width$} VG {vg:<vg_w$} lvm2 [{} / {} free]",
                display_size(r.size),
                display_size(r.free)
            ),
        });
    }
    if found == 0 {
        lines.push("No matching physical volumes found".into());
    } else {
        lines.push(format!(
            "Total: {found} [{}] / in use: {} [{}] / in no VG: {new_found} [{}]",
            display_size(total),
            found - new_found,
            display_size(total - new_size),
            display_size(new_size)
        ));
    }
    lines
}

// --- --cache ------------------------------------------------------------------

/// A device pvscan --cache was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Path(PathBuf),
    Devno(u32, u32),
}

fn targets(ctx: &Ctx, args: &Args) -> Vec<Target> {
    let mut out = Vec::new();
    for d in &args.pvs {
        if d.starts_with('/') {
            out.push(Target::Path(PathBuf::from(d)));
        } else {
            match d
                .split_once(':')
                .map(|(a, b)| (a.parse::<u32>(), b.parse::<u32>()))
            {
                Some((Ok(major), Ok(minor))) => out.push(Target::Devno(major, minor)),
                _ => ctx.warn(format!("Failed to parse major:minor from {d}, skipping.")),
            }
        }
    }
    for (major, minor) in args.major.iter().zip(&args.minor) {
        out.push(Target::Devno(*major, *minor));
    }
    if args.pvs.is_empty() && args.major.is_empty() {
        out.extend(ctx.common.devices.iter().cloned().map(Target::Path));
    }
    out
}

fn cache(ctx: &mut Ctx, args: &Args) -> Result<(), CmdError> {
    if ctx.common.test {
        ctx.say("TEST MODE: lvmetad will NOT be updated.");
        return Ok(());
    }
    if !ctx.lvmetad.enabled {
        log::info!("Ignoring pvscan --cache because lvmetad is not in use.");
        return Ok(());
    }
    if !ctx.lvmetad_reachable() {
        // lvm2 2.02 warned and went on without the daemon; a daemon that
        // is not running is no failure for udev.
        let why = ctx.lvmetad_off_reason().unwrap_or_default();
        let mut chars = why.chars();
        let why = match chars.next() {
            Some(c) => c.to_uppercase().chain(chars).collect(),
            None => "Failed to connect to lvmetad".to_string(),
        };
        ctx.warn(format!("{why}. Falling back to device scanning."));
        log::info!("Ignoring pvscan --cache because lvmetad is not reachable.");
        return Ok(());
    }
    let targets = targets(ctx, args);
    if targets.is_empty() {
        log::info!("Scanning all devices.");
        match ctx.with_lvmetad(|d| d.rescan()) {
            Some(Ok(report)) => {
                for p in &report.problems {
                    ctx.warn(p);
                }
                log::info!(
                    "lvmetad updated: {} devices read, {} PVs sent.",
                    report.devices,
                    report.pvs
                );
            }
            Some(Err(e)) => ctx.warn(format!(
                "Not using lvmetad because cache update failed: {e}"
            )),
            None => {
                ctx.warn("Not using lvmetad because cache update failed: the connection was lost.")
            }
        }
        return Ok(());
    }
    let mut errors = Vec::new();
    for t in targets {
        if let Err(e) = cache_one(ctx, &t, args.remove) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CmdError::failed(errors.join("\n")))
    }
}

/// Run a request on the daemon; a vanished session is an error too.
fn daemon<T>(
    ctx: &Ctx,
    f: impl FnOnce(&mut crate::client::Lvmetad) -> Result<T, ClientError>,
) -> Result<T, String> {
    match ctx.with_lvmetad(f) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(e.to_string()),
        None => Err(format!(
            "lvmetad is no longer reachable: {}",
            ctx.lvmetad_off_reason().unwrap_or_default()
        )),
    }
}

fn forget(ctx: &Ctx, devno: u64, name: &str, message: bool) -> Result<(), String> {
    let known = daemon(ctx, |d| d.pv_gone(devno))?;
    log::debug!(
        "pv_gone {name} (device {devno}): daemon {} it",
        if known { "knew" } else { "did not know" }
    );
    if message {
        ctx.say(format!(
            "Device {name} not found. Cleared from lvmetad cache."
        ));
    }
    Ok(())
}

fn devno_name(devno: u64, fallback: &Path) -> String {
    match split_devno(devno) {
        Some((major, minor)) => format!("{major}:{minor}"),
        None => fallback.display().to_string(),
    }
}

fn cache_one(ctx: &Ctx, target: &Target, remove: bool) -> Result<(), String> {
    let (path, devno) = match target {
        Target::Devno(major, minor) => {
            let devno = makedev(*major, *minor);
            match path_of_devno(*major, *minor) {
                Some(p) if !remove => (p, devno),
                _ => return forget(ctx, devno, &format!("{major}:{minor}"), !remove),
            }
        }
        Target::Path(p) => match devno_of_path(p) {
            Some(devno) => (p.clone(), devno),
            None => {
                // Gone already: the daemon may still know it by name.
                let name = p.display().to_string();
                let known = daemon(ctx, |d| d.pv_list())?
                    .into_iter()
                    .find(|m| m.device_name == name);
                return match known {
                    Some(m) => forget(ctx, m.device, &name, !remove),
                    None if remove => Ok(()),
                    None => Err(format!("Physical Volume {name} not found.")),
                };
            }
        },
    };
    if remove {
        return forget(ctx, devno, &path.display().to_string(), false);
    }
    if !ctx.device_allowed(&path) {
        log::info!(
            "{}: excluded by --devices or the lvm.conf filter; removing it from lvmetad.",
            path.display()
        );
        return forget(ctx, devno, &devno_name(devno, &path), true);
    }
    match scan_device(&path) {
        DevScan::Pv(pv) => send_pv(ctx, &pv),
        DevScan::NotPv => {
            ctx.say(format!("No PV label found on {}.", path.display()));
            forget(ctx, devno, &path.display().to_string(), false)
        }
        DevScan::Error(e) => {
            ctx.warn(format!("{e}; removing {} from lvmetad.", path.display()));
            forget(ctx, devno, &path.display().to_string(), false)
        }
    }
}

fn send_pv(ctx: &Ctx, pv: &PvScan) -> Result<(), String> {
    let reply = daemon(ctx, |d| d.pv_found(pv)).map_err(|e| {
        format!(
            "Update of lvmetad failed for {}: {e}\n\
             The daemon's view of this device is out of date; run `lvm pvscan --cache` once it is fixed.",
            pv.path.display()
        )
    })?;
    let status = crate::protocol::get_str(&reply.body, "status").unwrap_or("?");
    log::debug!("pv_found {}: status {status}", pv.path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_lvm2_display_size() {
        assert_eq!(display_size(96 * 2048), "96.00 MiB");
        assert_eq!(display_size(0), "0   ");
        assert_eq!(display_size((10 * 1024 - 12) * 2048), "<9.99 GiB");
        assert_eq!(display_size((10 * 1024 - 4) * 2048), "<10.00 GiB");
        assert_eq!(display_size(100 * 2048), "100.00 MiB");
    }
}
