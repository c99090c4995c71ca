//! vgchange: activate and deactivate the LVs of volume groups.
//!
//! `vgchange -ay|-an|-aay [VG...]` (all VGs when none is named),
//! `--activationmode complete|degraded|partial`, and `--autoactivation
//! event` as `lvm-activate@.service` runs it. As lvm2 (tools/vgchange.c):
//! `-ay` activates every visible LV not flagged `ACTIVATION_SKIP`; `-aay`
//! also skips VGs and LVs flagged `NOAUTOACTIVATE` and LVs not listed in
//! lvm.conf `activation/auto_activation_volume_list` (when set);
//! `activation/volume_list` (when set) limits both; `--autoactivation
//! event` does nothing when `global/event_activation = 0`. Each VG ends
//! with `N logical volume(s) in volume group "VG" now active`.

use super::context::Ctx;
use super::CmdError;
use crate::activate::dm::Dm;
use crate::activate::{self, ActivationMode, PvDevices, TableOptions};
use crate::model::{Lv, Vg};

/// `-a y|n|ay` (lvm2 also accepts `e`/`l` prefixes for clustered locking,
/// the same as `y` here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activate {
    Yes,
    No,
    Auto,
}

pub fn parse_activate(s: &str) -> Result<Activate, String> {
    match s {
        "y" | "ey" | "ly" | "sy" => Ok(Activate::Yes),
        "n" | "en" | "ln" | "sn" => Ok(Activate::No),
        "ay" | "a" | "eay" | "lay" => Ok(Activate::Auto),
        _ => Err(format!("expected y, n or ay, got {s:?}")),
    }
}

pub fn parse_mode(s: &str) -> Result<ActivationMode, String> {
    match s {
        "complete" => Ok(ActivationMode::Complete),
        "degraded" => Ok(ActivationMode::Degraded),
        "partial" => Ok(ActivationMode::Partial),
        _ => Err(format!("expected complete, degraded or partial, got {s:?}")),
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Activate (y), deactivate (n) or autoactivate (ay) the LVs
    #[arg(short = 'a', long = "activate", value_name = "y|n|ay", value_parser = parse_activate)]
    pub activate: Option<Activate>,
    /// With -aay: the context of the autoactivation (event: from udev/lvmetad)
    #[arg(long = "autoactivation", value_name = "event")]
    pub autoactivation: Option<String>,
    /// What to do when PVs are missing
    #[arg(long = "activationmode", value_name = "complete|degraded|partial", value_parser = parse_mode)]
    pub activationmode: Option<ActivationMode>,
    /// Same as --activationmode partial
    #[arg(short = 'P', long = "partial")]
    pub partial: bool,
    /// Reload the tables of active LVs (lvchange --refresh for each)
    #[arg(long = "refresh")]
    pub refresh: bool,
    /// Ignore the ACTIVATION_SKIP flag of LVs
    #[arg(short = 'K', long = "ignoreactivationskip")]
    pub ignore_skip: bool,
    /// Volume groups (all when none is given)
    #[arg(value_name = "VG")]
    pub vgs: Vec<String>,
}

/// Open device-mapper for a command that activates, or say why not.
pub fn open_dm(ctx: &Ctx) -> Result<Dm, CmdError> {
    if !ctx.config.bool("global/activation", true) {
        return Err(CmdError::failed(
            "Activation is disabled by lvm.conf global/activation = 0; set it to 1 to activate LVs.",
        ));
    }
    Dm::open().map_err(|e| CmdError::failed(e.to_string()))
}

/// The activation mode: the option, else lvm.conf `activation/activation_mode`.
pub fn mode(
    ctx: &Ctx,
    opt: Option<ActivationMode>,
    partial: bool,
) -> Result<ActivationMode, CmdError> {
    if partial {
        return Ok(ActivationMode::Partial);
    }
    if let Some(m) = opt {
        return Ok(m);
    }
    match ctx.config.str("activation/activation_mode") {
        None => Ok(ActivationMode::Degraded),
        Some(s) => parse_mode(s).map_err(|e| {
            CmdError::failed(format!("Invalid lvm.conf activation/activation_mode: {e}"))
        }),
    }
}

/// Table options for activating LVs of a VG on this kernel.
pub fn table_options(dm: &Dm, mode: ActivationMode, missing: Vec<String>) -> TableOptions {
    TableOptions {
        nosync: false,
        mode,
        missing_pvs: missing,
        raid_target_version: dm.target_version_load("raid").ok().flatten(),
    }
}

/// lvm2's `_passes_volumes_filter`: does `lv` of `vg` match an entry of
/// a volume list (`vg`, `vg/lv`, `@tag`, `@*`)?
pub fn in_volume_list(list: &[String], vg: &Vg, lv: &Lv) -> bool {
    matches_volume_list(list, &vg.name, &vg.tags, &lv.name, &lv.tags)
}

fn matches_volume_list(
    list: &[String],
    vg: &str,
    vg_tags: &[String],
    lv: &str,
    lv_tags: &[String],
) -> bool {
    list.iter().any(|e| {
        let e = e.trim();
        if let Some(tag) = e.strip_prefix('@') {
            // `@*` matches host tags; this project sets none.
            tag != "*" && (vg_tags.iter().any(|t| t == tag) || lv_tags.iter().any(|t| t == tag))
        } else if let Some((v, l)) = e.split_once('/') {
            v == vg && l == lv
        } else {
            e == vg
        }
    })
}

/// Why an LV is not activated by this request, if it is not.
pub fn skip_reason(
    ctx: &Ctx,
    vg: &Vg,
    lv: &Lv,
    how: Activate,
    ignore_skip: bool,
) -> Option<String> {
    let name = format!("{}/{}", vg.name, lv.name);
    if let Some(list) = ctx.config.str_list("activation/volume_list") {
        if !in_volume_list(&list, vg, lv) {
            return Some(format!(
                "Not activating {name} since it does not pass activation filter (activation/volume_list)."
            ));
        }
    }
    if (lv.has_status("ACTIVATION_SKIP") || lv.has_flag("ACTIVATION_SKIP")) && !ignore_skip {
        return Some(format!(
            "Skipping activation of {name} (ACTIVATION_SKIP flag; use -K)."
        ));
    }
    if how == Activate::Auto {
        if lv.has_flag("NOAUTOACTIVATE") || lv.has_status("NOAUTOACTIVATE") {
            return Some(format!(
                "Skipping autoactivation of {name} (autoactivation disabled for the LV)."
            ));
        }
        if let Some(list) = ctx
            .config
            .str_list("activation/auto_activation_volume_list")
        {
            if !in_volume_list(&list, vg, lv) {
                return Some(format!(
                    "Not autoactivating {name} since it does not pass activation/auto_activation_volume_list."
                ));
            }
        }
    }
    None
}

/// Activate (or with `off`, deactivate) the named LVs of one VG as found
/// by the scan; errors are printed and counted. Returns the failures.
pub struct VgActivation<'a> {
    pub dm: &'a Dm,
    pub vg: Vg,
    pub pvs: PvDevices,
    pub opts: TableOptions,
}

impl<'a> VgActivation<'a> {
    /// Read VG `name` from the context's scan.
    pub fn new(
        ctx: &mut Ctx,
        dm: &'a Dm,
        name: &str,
        mode: ActivationMode,
    ) -> Result<Self, CmdError> {
        let scan = ctx.scan();
        let found = scan
            .vg(name)
            .ok_or_else(|| CmdError::failed(format!("Volume group \"{name}\" not found")))?;
        let (pvs, mut missing) = activate::live::pv_devices(scan, found);
        for pv in &found.vg.pvs {
            if pv.is_missing() && !missing.contains(&pv.key) {
                missing.push(pv.key.clone());
            }
        }
        let opts = table_options(dm, mode, missing);
        Ok(VgActivation {
            dm,
            vg: found.vg.clone(),
            pvs,
            opts,
        })
    }

    /// Activate `lv`; true when its top device was (re)loaded with a
    /// table naming `rebuild` images (sub-LVs flagged REBUILD), which the
    /// caller then clears with [`clear_rebuild`].
    pub fn activate(&self, lv: &str) -> Result<bool, CmdError> {
        warn_pending_removal(&self.vg, lv);
        let applied = activate::activate(self.dm, &self.vg, lv, &self.pvs, &self.opts)
            .map_err(|e| lv_err(&self.vg, lv, "activate", e))?;
        let top = activate::dm_name(&self.vg.name, lv, None);
        let loaded = applied.created.contains(&top) || applied.reloaded.contains(&top);
        Ok(loaded && has_rebuild(&self.vg, lv))
    }

    pub fn refresh(&self, lv: &str) -> Result<(), CmdError> {
        warn_pending_removal(&self.vg, lv);
        activate::refresh(self.dm, &self.vg, lv, &self.pvs, &self.opts)
            .map(|_| ())
            .map_err(|e| lv_err(&self.vg, lv, "refresh", e))
    }

    pub fn deactivate(&self, lv: &str) -> Result<(), CmdError> {
        activate::deactivate(self.dm, &self.vg, lv)
            .map(|_| ())
            .map_err(|e| lv_err(&self.vg, lv, "deactivate", e))
    }

    /// Visible LVs with a device in the kernel.
    pub fn active_count(&self) -> usize {
        self.vg
            .lvs
            .iter()
            .filter(|l| l.is_visible() && activate::is_active(&self.vg, &l.name))
            .count()
    }
}

/// The LV `lv` and its sub-LVs.
fn lv_tree(vg: &Vg, lv: &str) -> Vec<String> {
    let mut tree = crate::raid::sub_lvs(vg, lv);
    tree.push(lv.to_string());
    tree
}

/// Whether a sub-LV of `lv` (or `lv`) carries the REBUILD status flag.
pub fn has_rebuild(vg: &Vg, lv: &str) -> bool {
    lv_tree(vg, lv)
        .iter()
        .any(|n| vg.lv(n).is_some_and(|l| l.has_status("REBUILD")))
}

/// After a table with `rebuild` was loaded for `lv`: commit the metadata
/// once more with REBUILD cleared on the LV and its sub-LVs, as lvm2 does
/// after its reload (raid_manip.c `_reset_flags_passed_to_kernel`), so the
/// next activation does not rebuild the images again.
pub fn clear_rebuild(ctx: &mut Ctx, vg: &str, lv: &str) -> Result<(), CmdError> {
    let mut w = super::vgwrite::VgForWrite::open(ctx, vg)?;
    let tree = lv_tree(&w.vg, lv);
    let mut changed = false;
    for l in w.vg.lvs.iter_mut().filter(|l| tree.contains(&l.name)) {
        let n = l.status.len();
        l.status.retain(|s| s != "REBUILD");
        changed |= l.status.len() != n;
    }
    if changed {
        log::info!("Clearing REBUILD flags of {vg}/{lv} after loading its table.");
        w.commit(ctx).map_err(|e| {
            CmdError::failed(format!(
                "{vg}/{lv} is active and rebuilding, but clearing its REBUILD flags failed \
                 (the next activation rebuilds again): {e}"
            ))
        })?;
    }
    Ok(())
}

fn lv_err(vg: &Vg, lv: &str, what: &str, e: activate::ActivateError) -> CmdError {
    match e {
        activate::ActivateError::Table(crate::activate::TableError::Incomplete(_)) => {
            CmdError::failed(format!(
                "Refusing activation of partial LV {}/{lv}.  Use '--activationmode partial' to override.",
                vg.name
            ))
        }
        e => CmdError::failed(format!("Failed to {what} {}/{lv}: {e}", vg.name)),
    }
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let Some(how) = args.activate else {
        if args.refresh {
            return refresh_all(ctx, &args);
        }
        return Err(CmdError::usage(
            "Need one or more command options: -a|--activate or --refresh.",
        ));
    };
    if let Some(a) = &args.autoactivation {
        if a != "event" {
            return Err(CmdError::usage(format!(
                "Invalid --autoactivation value \"{a}\": only \"event\" is supported."
            )));
        }
        if how != Activate::Auto {
            return Err(CmdError::usage("--autoactivation requires -aay."));
        }
        if !ctx.config.bool("global/event_activation", true) {
            ctx.say("Skip vgchange for event and event_activation=0.");
            return Ok(());
        }
    }
    let mode = mode(ctx, args.activationmode, args.partial)?;
    let dm = open_dm(ctx)?;
    let names = vg_names(ctx, &args.vgs);
    let mut failed = 0;
    for name in &names {
        let va = match VgActivation::new(ctx, &dm, name, mode) {
            Ok(v) => v,
            Err(e) => {
                e.report();
                failed += 1;
                continue;
            }
        };
        // lvm2 writes `--setautoactivation n` into the VG's and LV's
        // `flags` (older metadata may have it in `status`).
        if how == Activate::Auto
            && (va.vg.flags.iter().any(|s| s == "NOAUTOACTIVATE")
                || va.vg.status.iter().any(|s| s == "NOAUTOACTIVATE"))
        {
            log::info!(
                "Skipping autoactivation of VG {name} (autoactivation disabled for the VG)."
            );
            continue;
        }
        let lvs: Vec<String> = va
            .vg
            .lvs
            .iter()
            .filter(|l| l.is_visible())
            .map(|l| l.name.clone())
            .collect();
        let mut todo: Vec<&String> = Vec::new();
        for lv in &lvs {
            if how != Activate::No {
                let l = va.vg.lv(lv).expect("listed above");
                if let Some(why) = skip_reason(ctx, &va.vg, l, how, args.ignore_skip) {
                    if ctx.common.verbose > 0 {
                        ctx.say(why);
                    }
                    continue;
                }
            }
            todo.push(lv);
        }
        // The LVs are independent: activate (or deactivate) them
        // concurrently, so that their udev round trips overlap as they do
        // under lvm2's single cookie per command.
        let va_ref = &va;
        let results: Vec<Result<bool, CmdError>> = std::thread::scope(|sc| {
            let hs: Vec<_> = todo
                .iter()
                .map(|lv| {
                    sc.spawn(move || {
                        if how == Activate::No {
                            va_ref.deactivate(lv).map(|_| false)
                        } else {
                            va_ref.activate(lv)
                        }
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("activation thread"))
                .collect()
        });
        for (lv, r) in todo.iter().zip(results) {
            match r {
                Err(e) => {
                    e.report();
                    failed += 1;
                }
                Ok(true) => {
                    if let Err(e) = clear_rebuild(ctx, name, lv) {
                        e.report();
                        failed += 1;
                    }
                }
                Ok(false) => {}
            }
        }
        ctx.say(format!(
            "{} logical volume(s) in volume group \"{name}\" now active",
            va.active_count()
        ));
    }
    if failed > 0 {
        return Err(CmdError::failed(String::new()));
    }
    Ok(())
}

fn refresh_all(ctx: &mut Ctx, args: &Args) -> Result<(), CmdError> {
    let mode = mode(ctx, args.activationmode, args.partial)?;
    let dm = open_dm(ctx)?;
    let mut failed = 0;
    for name in vg_names(ctx, &args.vgs) {
        let va = VgActivation::new(ctx, &dm, &name, mode)?;
        let lvs: Vec<String> = va
            .vg
            .lvs
            .iter()
            .filter(|l| l.is_visible() && activate::is_active(&va.vg, &l.name))
            .map(|l| l.name.clone())
            .collect();
        for lv in lvs {
            if let Err(e) = va.refresh(&lv) {
                e.report();
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(CmdError::failed(String::new()));
    }
    Ok(())
}

/// The named VGs, or every VG the scan found.
fn vg_names(ctx: &mut Ctx, given: &[String]) -> Vec<String> {
    if !given.is_empty() {
        return given
            .iter()
            .map(|s| {
                s.trim_start_matches("/dev/")
                    .trim_end_matches('/')
                    .to_string()
            })
            .collect();
    }
    let mut v: Vec<String> = ctx.scan().vgs.iter().map(|f| f.vg.name.clone()).collect();
    v.sort();
    v
}

/// The device numbers of the PVs of a VG read for writing (matched by PV
/// id, so renumbered keys stay right), and the keys without a device.
pub fn write_pv_devices(w: &super::vgwrite::VgForWrite) -> (PvDevices, Vec<String>) {
    use crate::activate::DevNum;
    let mut devs = PvDevices::new();
    let mut missing = Vec::new();
    for pv in &w.vg.pvs {
        let found = w
            .members
            .iter()
            .map(|m| &m.pv)
            .chain(&w.joining)
            .find(|p| p.uuid() == pv.id)
            .and_then(|p| p.devno);
        match found {
            Some((a, b)) if !pv.is_missing() => {
                devs.insert(pv.key.clone(), DevNum::new(a, b));
            }
            _ => missing.push(pv.key.clone()),
        }
    }
    (devs, missing)
}

/// Whether LV `lv` of `vg` is active and this command may touch
/// device-mapper (not --test, lvm.conf `global/activation` not 0).
pub fn is_live(ctx: &Ctx, vg: &Vg, lv: &str) -> bool {
    !ctx.common.test && ctx.config.bool("global/activation", true) && activate::is_active(vg, lv)
}

/// After a committed metadata change of LV `lv`: reload its live tables
/// in lvm2's order (see [`crate::activate::reload`]). Nothing when the LV
/// is not active (or there is no device-mapper and it cannot be).
/// `old_vg` is the VG as it was before the change.
pub fn reload_after_commit(
    ctx: &Ctx,
    w: &super::vgwrite::VgForWrite,
    old_vg: &Vg,
    lv: &str,
) -> Result<(), CmdError> {
    let was = old_vg
        .lv(lv)
        .is_some_and(|_| activate::is_active(old_vg, lv));
    if !was || ctx.common.test || !ctx.config.bool("global/activation", true) {
        return Ok(());
    }
    let dm = open_dm(ctx)?;
    let (pvs, missing) = write_pv_devices(w);
    let opts = table_options(&dm, mode(ctx, None, false)?, missing);
    activate::reload(&dm, old_vg, &w.vg, lv, &pvs, &opts).map_err(|e| {
        CmdError::failed(format!(
            "Failed to reload active LV {}/{lv} after the metadata change (the metadata is \
             committed; run `lvchange --refresh {}/{lv}`): {e}",
            w.vg.name, w.vg.name
        ))
    })?;
    Ok(())
}

/// Before LV `lv` leaves the metadata (lvremove, vgremove): deactivate it
/// as lvm2 does; an LV in use (mounted, open) is refused. Nothing when the
/// LV is not active (or in --test mode).
pub fn deactivate_before_remove(ctx: &Ctx, vg: &Vg, lv: &str) -> Result<(), CmdError> {
    if ctx.common.test
        || !ctx.config.bool("global/activation", true)
        || !activate::is_active(vg, lv)
    {
        return Ok(());
    }
    let dm = open_dm(ctx)?;
    activate::deactivate(&dm, vg, lv)
        .map(|_| ())
        .map_err(|e| match e {
            activate::ActivateError::InUse { .. } => CmdError::failed(format!(
                "Logical volume {}/{lv} in use. Unmount or close it before removing it.",
                vg.name
            )),
            e => CmdError::failed(format!(
                "Unable to deactivate logical volume {}/{lv}: {e}",
                vg.name
            )),
        })
}

/// A RAID LV whose trailing images a shrinking reshape emptied
/// (`REMOVE_AFTER_RESHAPE`) still lists them: until `lvconvert --stripes N`
/// drops them, the table has more devices than the array uses. Say so
/// whenever it is (re)activated.
pub fn warn_pending_removal(vg: &crate::model::Vg, lv: &str) {
    if let Some((pending, stripes)) = crate::raid::reshape::pending_removal(vg, lv) {
        eprintln!(
            "  WARNING: {}/{lv} still holds {pending} image pair(s) a shrinking reshape emptied: \
             once the reshape has finished, run \"lvconvert --stripes {stripes} {}/{lv}\" to \
             remove them.",
            vg.name, vg.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_list_entries() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = |list: &[&str]| {
            matches_volume_list(&l(list), "vg0", &l(&["fast"]), "data", &l(&["keep"]))
        };
        assert!(m(&["vg0"]));
        assert!(m(&["other", "vg0/data"]));
        assert!(!m(&["vg0/other"]));
        assert!(m(&["@fast"]));
        assert!(m(&["@keep"]));
        assert!(!m(&["@slow", "@*"]));
        assert!(!m(&[]));
    }

    #[test]
    fn activate_and_mode_values() {
        assert_eq!(parse_activate("y"), Ok(Activate::Yes));
        assert_eq!(parse_activate("ay"), Ok(Activate::Auto));
        assert_eq!(parse_activate("n"), Ok(Activate::No));
        assert!(parse_activate("x").is_err());
        assert_eq!(parse_mode("partial"), Ok(ActivationMode::Partial));
        assert!(parse_mode("half").is_err());
    }
}
