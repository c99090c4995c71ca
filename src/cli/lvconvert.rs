//! lvconvert: change the layout of a logical volume.
//!
//! RAID image operations (`-m`, `--splitmirrors`, `--trackchanges`,
//! `--merge`, `--replace`, `-R`) and linear ↔ raid1 are planned in
//! [`crate::raid::convert`] as pure VG → VG steps and committed here in
//! order (an active LV is reloaded after each commit: [`commit_live`]);
//! `--repair` replaces the images on missing PVs of an active RAID LV;
//! `--type X` takeovers/reshapes go to the takeover module.

use super::args::{parse_pv_arg, split_lv_path, validate_lv_name, PvArg};
use super::context::Ctx;
use super::lvops;
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::activate;
use crate::alloc::{Chunk, Policy};
use crate::device::{BlockIo, Device};
use crate::model::Vg;
use crate::raid::{self, convert, RaidError};
use crate::units::{parse_size, DefaultUnit, Sign};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    /// The LV to convert (VG/LV; for --merge: VG/LV_rimage_N), then PVs
    /// to allocate from or to remove images from (PV[:PE[-PE]]...)
    #[arg(value_name = "LV", required = true)]
    pub lv: String,
    #[arg(value_name = "PV")]
    pub pvs: Vec<String>,
    /// Convert to this segment type (raid1, raid5, striped, linear, ...)
    #[arg(long = "type", value_name = "SEGTYPE")]
    pub segtype: Option<String>,
    /// Number of mirror images besides the original: N, +N or -N
    #[arg(
        short = 'm',
        long = "mirrors",
        value_name = "[+|-]N",
        allow_hyphen_values = true
    )]
    pub mirrors: Option<String>,
    /// Number of stripes (reshape; needs the LV active). As in lvm2,
    /// lvconvert has no short form for it: -i is --interval
    #[arg(long = "stripes", value_name = "N")]
    pub stripes: Option<u64>,
    /// Seconds between progress reports of a background operation
    /// (accepted; offline conversions finish at once)
    #[arg(short = 'i', long = "interval", value_name = "SECONDS")]
    pub interval: Option<u64>,
    /// Stripe size (reshape; needs the LV active), default unit KiB
    #[arg(short = 'I', long = "stripesize", value_name = "SIZE")]
    pub stripe_size: Option<String>,
    /// Region size of a raid1/4/5/6/10 LV, default unit MiB
    #[arg(short = 'R', long = "regionsize", value_name = "SIZE")]
    pub region_size: Option<String>,
    /// Split N images off a raid1 LV into a new LV (or track one with --trackchanges)
    #[arg(long = "splitmirrors", value_name = "N")]
    pub split_mirrors: Option<u64>,
    /// Name of the LV split off with --splitmirrors
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// With --splitmirrors 1: keep tracking changes so the image can be merged back
    #[arg(long = "trackchanges")]
    pub track_changes: bool,
    /// Merge a tracked split image (VG/LV_rimage_N) back into its RAID LV
    #[arg(long = "merge")]
    pub merge: bool,
    /// Merge a tracked split image back into its RAID LV (as --merge)
    #[arg(long = "mergemirrors", conflicts_with = "merge")]
    pub merge_mirrors: bool,
    /// Mirror log type (segment type "mirror" only: refused for RAID)
    #[arg(long = "mirrorlog", value_name = "core|disk")]
    pub mirror_log: Option<String>,
    /// Same as --mirrorlog core (segment type "mirror" only)
    #[arg(long = "corelog")]
    pub core_log: bool,
    /// Do not synchronise with udev (accepted; live reloads wait for udev as activation does)
    #[arg(long = "noudevsync")]
    pub no_udev_sync: bool,
    /// Replace the images on this PV (or this sub-LV); repeatable
    #[arg(long = "replace", value_name = "PV")]
    pub replace: Vec<String>,
    /// Replace the images of an active RAID LV that are on missing PVs by new
    /// ones on the PVs given (or any other PV of the VG); the array rebuilds them
    #[arg(long = "repair")]
    pub repair: bool,
    /// With --repair: do what lvm.conf activation/raid_fault_policy says
    /// ("allocate" replaces the failed images, "warn", the default, only
    /// tells) instead of asking; what dmeventd runs on a failure
    #[arg(long = "usepolicies", requires = "repair")]
    pub usepolicies: bool,
    /// Answer yes to every prompt
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Force (e.g. skip the prompt); -ff as lvm2
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
    /// Allocation policy (normal, anywhere, contiguous, cling, inherit)
    #[arg(long = "alloc", value_name = "POLICY")]
    pub alloc: Option<String>,
    /// Do not wait for a background operation (accepted; conversions here do not poll)
    #[arg(short = 'b', long = "background")]
    pub background: bool,
}

impl Args {
    /// PV arguments with their PE ranges.
    pub fn pv_args(&self) -> Result<Vec<PvArg>, CmdError> {
        self.pvs.iter().map(|p| parse_pv_arg(p)).collect()
    }

    /// `--type X` without any image operation: a takeover or reshape,
    /// handled by the takeover module.
    pub fn is_takeover(&self) -> bool {
        self.segtype.is_some()
            && self.mirrors.is_none()
            && self.split_mirrors.is_none()
            && !self.merge
            && self.replace.is_empty()
            && !self.repair
    }
}

/// `-m` value: `N`, `+N` or `-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorsArg {
    Absolute(u64),
    Plus(u64),
    Minus(u64),
}

pub fn parse_mirrors(s: &str) -> Result<MirrorsArg, CmdError> {
    let bad = || CmdError::usage(format!("Invalid argument for --mirrors: {s}"));
    let (ctor, rest): (fn(u64) -> MirrorsArg, &str) = match s.as_bytes().first() {
        Some(b'+') => (MirrorsArg::Plus, &s[1..]),
        Some(b'-') => (MirrorsArg::Minus, &s[1..]),
        _ => (MirrorsArg::Absolute, s),
    };
    let n: u64 = rest.parse().map_err(|_| bad())?;
    Ok(ctor(n))
}

impl MirrorsArg {
    /// The image count after the change (lvm2's `image_count`), from
    /// `current` images; `None` when it would drop below 1.
    pub fn image_count(self, current: u64) -> Option<u64> {
        match self {
            MirrorsArg::Absolute(n) => Some(n + 1),
            MirrorsArg::Plus(n) => Some(current + n),
            MirrorsArg::Minus(n) => current.checked_sub(n).filter(|c| *c >= 1),
        }
    }
}

/// `-R`: MiB by default, a power of 2, a multiple of the page size.
pub fn region_size_arg(s: &str) -> Result<u64, CmdError> {
    let bad = |why: &str| CmdError::usage(format!("{why}\nInvalid argument for --regionsize: {s}"));
    let a = parse_size(s, DefaultUnit::MiB).map_err(|e| bad(&e.to_string()))?;
    if a.sign == Sign::Minus {
        return Err(bad("Region size may not be negative."));
    }
    if a.sectors == 0 {
        return Err(bad("Region size may not be zero."));
    }
    if a.sectors % raid::PAGE_SECTORS != 0 {
        return Err(bad(
            "Region size must be a multiple of machine memory page size (4096 bytes).",
        ));
    }
    if !a.sectors.is_power_of_two() {
        return Err(bad("Region size must be a power of 2."));
    }
    Ok(a.sectors)
}

/// `--alloc`, else the LV's policy, else the VG's, else normal.
pub fn policy(args: &Args, vg: &Vg, lv: &str) -> Result<Policy, CmdError> {
    match args.alloc.as_deref() {
        None | Some("inherit") => Ok(vg
            .lv(lv)
            .and_then(|l| l.allocation_policy.as_deref())
            .filter(|p| *p != "inherit")
            .or(vg.allocation_policy().filter(|p| *p != "inherit"))
            .and_then(Policy::from_name)
            .unwrap_or(Policy::Normal)),
        Some(a) => Policy::from_name(a)
            .ok_or_else(|| CmdError::usage(format!("Invalid allocation policy \"{a}\"."))),
    }
}

/// Whether the LV or any of its sub-LVs has a device-mapper device
/// (activated by this project or by lvm2).
pub fn is_active(vg: &Vg, lv: &str) -> bool {
    let mut names = raid::sub_lvs(vg, lv);
    names.push(lv.to_string());
    names.iter().any(|n| {
        let dm = crate::activate::table::dm_name(&vg.name, n, None);
        std::path::Path::new("/dev/mapper").join(dm).exists()
    })
}

/// Zero the first 4 KiB (at most the chunk) of a new metadata area on its
/// PV, as lvm2's `wipe_lv` does through the activated rmeta LV.
pub fn wipe(w: &VgForWrite, c: &Chunk) -> Result<(), CmdError> {
    let pv = w
        .vg
        .pv_by_key(&c.pv)
        .ok_or_else(|| CmdError::failed(format!("PV {} of VG {} not found.", c.pv, w.vg.name)))?;
    let path = w.path_of(&c.pv).ok_or_else(|| {
        CmdError::failed(format!(
            "Cannot wipe the new metadata area on {} of VG {}: device missing.",
            c.pv, w.vg.name
        ))
    })?;
    let extent = w.vg.extent_size * 512;
    let len = 4096u64.min(c.len.max(1) * extent);
    let mut dev = Device::open(path, true)?;
    dev.write_at(pv.pe_start * 512 + c.pe * extent, &vec![0u8; len as usize])?;
    dev.flush()?;
    Ok(())
}

/// Commit the plan's VGs in order, wiping each step's new metadata areas
/// first (not in test mode, where nothing is written).
pub fn commit_steps(
    ctx: &Ctx,
    w: &mut VgForWrite,
    steps: Vec<convert::Step>,
) -> Result<(), CmdError> {
    for step in steps {
        if !ctx.common.test {
            for c in &step.wipe_first {
                wipe(w, c)?;
            }
        }
        w.vg = step.vg;
        w.commit(ctx)?;
    }
    Ok(())
}

/// LIVE-RELOAD: commit the plan's steps on an active LV, reloading its
/// device-mapper tables after each commit in lvm2's order
/// (`lv_update_and_reload`: new sub-LVs are created and resumed first, the
/// RAID table is loaded, suspend top-down, resume bottom-up, dropped
/// sub-LVs are removed; a sub-LV that became a visible LV stays active).
/// New metadata areas are wiped on their PVs before the step that adds
/// them to the array (as offline; lvm2 does it through the activated
/// rmeta LV, with the same result). LVs a step removes from the metadata
/// are deactivated before that commit (lvm2's `deactivate_lv` before
/// `lv_remove`). Once the kernel has had a table with `rebuild N`, the
/// `REBUILD` flags are cleared with one more commit (lvm2's
/// `_raid_add_images` and `_lv_raid_rebuild_or_replace`), so later
/// activations do not rebuild the images again.
///
/// `partial`: the VG has missing PVs (`--repair`): tables map them to
/// `error` devices whatever the LV type (lvm2 sets `partial_activation`
/// for a repair).
pub fn commit_live(
    ctx: &Ctx,
    w: &mut VgForWrite,
    lv: &str,
    steps: Vec<convert::Step>,
    partial: bool,
    reload_after_clear: bool,
) -> Result<(), CmdError> {
    if ctx.common.test {
        // Nothing is written nor loaded in test mode.
        return commit_steps(ctx, w, steps);
    }
    let dm = super::vgchange::open_dm(ctx)?;
    let mode = if partial {
        activate::ActivationMode::Partial
    } else {
        super::vgchange::mode(ctx, None, false)?
    };
    let vg_name = w.vg.name.clone();
    // LVs a later step removes (extracted images, the layer a raid1 -> linear
    // leaves with an `error` segment): for the kernel they are gone at
    // once, their devices removed by the reload instead of being
    // activated as LVs of their own (lvm2 deactivates them before it
    // removes them).
    let final_ids: Vec<String> = steps
        .last()
        .map(|s| s.vg.lvs.iter().map(|l| l.id.clone()).collect())
        .unwrap_or_default();
    let mut reloaded = false;
    for step in steps {
        let prev = w.vg.clone();
        for gone in prev
            .lvs
            .iter()
            .filter(|l| l.is_visible() && !step.vg.lvs.iter().any(|n| n.id == l.id))
        {
            if activate::is_active(&prev, &gone.name) {
                activate::deactivate(&dm, &prev, &gone.name).map_err(|e| {
                    CmdError::failed(format!(
                        "Unable to deactivate {vg_name}/{} before removing it: {e}",
                        gone.name
                    ))
                })?;
            }
        }
        for c in &step.wipe_first {
            wipe(w, c)?;
        }
        w.vg = step.vg;
        w.commit(ctx)?;
        rename_devices(&dm, &prev, &w.vg)?;
        let (pvs, missing) = super::vgchange::write_pv_devices(w);
        let opts = super::vgchange::table_options(&dm, mode, missing);
        let mut kernel_vg = w.vg.clone();
        for l in kernel_vg.lvs.iter_mut() {
            if !final_ids.contains(&l.id) {
                l.status.retain(|s| s != "VISIBLE");
            }
        }
        let applied = match activate::reload(&dm, &prev, &kernel_vg, lv, &pvs, &opts) {
            Ok(a) => a,
            Err(e) => {
                // lvm2 preloads the table before it commits and reverts
                // when the kernel refuses it: put the previous metadata
                // back (a newer seqno) and the previous tables with it,
                // so the next activation does not ask the kernel again
                // for what it refused.
                let refused = std::mem::replace(&mut w.vg, prev.clone());
                let back = w.commit(ctx).and_then(|_| {
                    activate::reload(&dm, &refused, &prev, lv, &pvs, &opts)
                        .map(|_| ())
                        .map_err(|e| CmdError::failed(e.to_string()))
                });
                return Err(CmdError::failed(match back {
                    Ok(()) => format!(
                        "The kernel refused the new table of {vg_name}/{lv}: {e}\nThe metadata \
                         and the running tables are back to what they were before this step."
                    ),
                    Err(b) => format!(
                        "Failed to reload active LV {vg_name}/{lv} after the metadata change: \
                         {e}\nPutting the previous metadata back failed too ({b}): run \
                         `lvchange --refresh {vg_name}/{lv}` and check it with `lvs -a`."
                    ),
                }));
            }
        };
        reloaded |= applied.is_some();
    }
    if !reloaded {
        // The LV was not active after all: REBUILD stays for the next
        // activation, as offline.
        return Ok(());
    }
    let mut vg = w.vg.clone();
    let mut cleared = false;
    for n in raid::sub_lvs(&w.vg, lv) {
        if let Some(l) = vg.lv_mut(&n) {
            if l.has_status("REBUILD") {
                l.status.retain(|s| s != "REBUILD");
                cleared = true;
            }
        }
    }
    if cleared {
        let flagged = std::mem::replace(&mut w.vg, vg);
        w.commit(ctx).map_err(|e| {
            CmdError::failed(format!(
                "Failed to clear REBUILD flag for {vg_name}/{lv} components: {e}"
            ))
        })?;
        if reload_after_clear {
            // lvm2's takeover, replace and repair reload once more without
            // `rebuild N` (md has recorded the recovery in the new
            // superblocks by now); its add-images path keeps the table as
            // loaded.
            let (pvs, missing) = super::vgchange::write_pv_devices(w);
            let opts = super::vgchange::table_options(&dm, mode, missing);
            activate::reload(&dm, &flagged, &w.vg, lv, &pvs, &opts).map_err(|e| {
                CmdError::failed(format!(
                    "Failed to reload active LV {vg_name}/{lv} after clearing its REBUILD \
                     flags (the metadata is committed; run `lvchange --refresh {vg_name}/{lv}`): {e}"
                ))
            })?;
        }
    }
    Ok(())
}

/// Give the active devices of LVs this commit renamed (same LV id) their
/// new names before the reload, names that are free first: a replaced
/// image `lv_rimage_1` becomes `lv_rimage_1_extracted` before its
/// successor is created as `lv_rimage_1`, a shifted image `lv_rimage_2`
/// takes `lv_rimage_1` once that one has moved away.
fn rename_devices(dmh: &activate::dm::Dm, prev: &Vg, new: &Vg) -> Result<(), CmdError> {
    let err = |e: activate::dm::DmError| {
        CmdError::failed(format!(
            "Cannot rename the devices of VG {} after the metadata change (the metadata is \
             committed; deactivate and activate the LV): {e}",
            new.name
        ))
    };
    let mut todo: Vec<(String, String)> = Vec::new();
    for l in &new.lvs {
        let Some(old) = prev.lvs.iter().find(|o| o.id == l.id) else {
            continue;
        };
        if old.name == l.name {
            continue;
        }
        if let Some(info) = dmh
            .info_by_uuid(&activate::dm_uuid(&new.id, &l.id, None))
            .map_err(err)?
        {
            let to = activate::dm_name(&new.name, &l.name, None);
            if info.name != to {
                todo.push((info.name, to));
            }
        }
    }
    while !todo.is_empty() {
        let before = todo.len();
        let mut rest = Vec::new();
        for (from, to) in todo {
            if dmh.info(&to).map_err(err)?.is_some() {
                rest.push((from, to));
                continue;
            }
            dmh.rename(&from, &to).map_err(err)?;
            activate::dm::remove_nodes(&new.name, None, &from);
        }
        todo = rest;
        if todo.len() == before {
            // A cycle: left to the reload, which reports it.
            break;
        }
    }
    Ok(())
}

fn raid_err(e: RaidError) -> CmdError {
    CmdError::failed(e.to_string())
}

/// A plan's line: warnings on stderr, the rest on stdout.
fn show(ctx: &Ctx, line: &str) {
    match line.strip_prefix("WARNING: ") {
        Some(w) => ctx.warn(w),
        None => ctx.say(line),
    }
}

/// Show the plan's notes, ask its question, commit it (offline), show
/// its result lines.
fn carry_out(
    ctx: &Ctx,
    args: &Args,
    w: &mut VgForWrite,
    lv: &str,
    plan: convert::Plan,
) -> Result<(), CmdError> {
    let vg_name = w.vg.name.clone();
    let live = is_active(&w.vg, lv);
    for n in &plan.notes {
        show(ctx, n);
    }
    if let Some(q) = &plan.prompt {
        if !args.yes && !lvops::confirm(q, "") {
            return Err(CmdError::failed(plan.declined.clone().unwrap_or_else(
                || format!("Logical volume {vg_name}/{lv} NOT converted."),
            )));
        }
    }
    if live {
        // lvm2's _lv_raid_rebuild_or_replace reloads once more after
        // clearing REBUILD; its image addition keeps the table as loaded.
        let reload_after_clear = !args.replace.is_empty();
        commit_live(ctx, w, lv, plan.steps, false, reload_after_clear)?;
    } else {
        commit_steps(ctx, w, plan.steps)?;
    }
    for d in &plan.done {
        show(ctx, d);
    }
    Ok(())
}

/// lvm2's `get_default_region_size`: activation/raid_region_size, sectors.
pub(super) fn default_region_size(ctx: &Ctx) -> u64 {
    raid::default_region_size(
        ctx.config
            .int(
                "activation/raid_region_size",
                raid::DEFAULT_REGION_SIZE_KIB as i64,
            )
            .max(1) as u64,
    )
}

/// The Env new sub-LVs are made with.
pub(super) fn new_env<'a>(ctx: &Ctx, new_id: &'a mut dyn FnMut() -> String) -> convert::Env<'a> {
    convert::Env {
        new_id,
        creation_time: Some(lvops::now()),
        creation_host: Some(lvops::hostname()),
        default_region_size: default_region_size(ctx),
    }
}

fn new_uuid() -> String {
    crate::uuid::format(&crate::uuid::generate())
}

/// Option combinations lvm2 rejects on the command line.
fn check_args(args: &Args) -> Result<(), CmdError> {
    let ops = [
        args.mirrors.is_some() || args.split_mirrors.is_some(),
        args.merge,
        !args.replace.is_empty(),
        args.repair,
    ];
    if ops.iter().filter(|o| **o).count() > 1 {
        return Err(CmdError::usage(
            "Only one of -m/--splitmirrors, --merge, --replace and --repair may be given.",
        ));
    }
    if args.split_mirrors.is_some() && args.mirrors.is_some() {
        return Err(CmdError::usage(
            "--mirrors/--type mirror/--type raid* and --splitmirrors are mutually exclusive.",
        ));
    }
    if args.split_mirrors.is_some()
        && args
            .segtype
            .as_deref()
            .is_some_and(|t| t == "mirror" || t.starts_with("raid"))
    {
        return Err(CmdError::usage(
            "--mirrors/--type mirror/--type raid* and --splitmirrors are mutually exclusive.",
        ));
    }
    if args.track_changes && args.split_mirrors.is_none() {
        return Err(CmdError::usage("--trackchanges requires --splitmirrors."));
    }
    if args.track_changes && args.name.is_some() {
        return Err(CmdError::usage(
            "--name may not be given with --trackchanges: the tracked image keeps its name.",
        ));
    }
    if args.split_mirrors.is_some() && args.name.is_none() && !args.track_changes {
        return Err(CmdError::usage(
            "Please name the new logical volume using '--name'",
        ));
    }
    if args.name.is_some() && args.split_mirrors.is_none() {
        return Err(CmdError::usage("--name is only used with --splitmirrors."));
    }
    Ok(())
}

pub fn run(ctx: &mut Ctx, mut args: Args) -> Result<(), CmdError> {
    args.merge |= args.merge_mirrors;
    if args.mirror_log.is_some() || args.core_log {
        if args.mirror_log.is_some() && args.core_log {
            return Err(CmdError::usage(
                "--mirrorlog and --corelog are incompatible.",
            ));
        }
        return Err(CmdError::failed(
            "--corelog and --mirrorlog are only compatible with mirror devices.",
        ));
    }
    check_args(&args)?;
    if args.repair {
        return run_repair(ctx, &args);
    }
    let (vg_name, lv_name) = split_lv_path(&args.lv)?;
    if args.merge {
        return run_merge(ctx, &vg_name, &lv_name);
    }
    // `--type X` without image operations: a takeover or reshape, unless
    // it is raid1 → linear (`--type linear` is `-m 0` there).
    let image_op =
        args.mirrors.is_some() || args.split_mirrors.is_some() || !args.replace.is_empty();
    if !image_op && (args.segtype.is_some() || args.stripes.is_some() || args.stripe_size.is_some())
    {
        let w = VgForWrite::open(ctx, &vg_name)?;
        // A tracking LV (or its tracked image) refuses every conversion.
        if w.vg.lv(&lv_name).is_some() {
            convert::refuse_tracking(&w.vg, &lv_name).map_err(raid_err)?;
        }
        let lv = w.vg.lv(&lv_name);
        let linear_of_raid1 = args.segtype.as_deref() == Some("linear")
            && lv.and_then(|l| l.raid_type()) == Some(crate::model::RaidType::Raid1);
        if !linear_of_raid1 {
            let mut a = args.clone();
            if a.segtype.is_none() {
                // lvm2: --stripes/-I alone restripe the LV in its own type.
                a.segtype = lv.map(|l| match l.segments.first() {
                    Some(s) if s.is_linear() => "linear".to_string(),
                    Some(s) => s.segtype.name().to_string(),
                    None => "linear".into(),
                });
            }
            drop(w);
            return super::lvconvert_takeover::run(ctx, &a);
        }
        drop(w);
    }
    let mut w = VgForWrite::open(ctx, &vg_name)?;
    // lvm2: `-m` on a RAID LV other than raid1 is a takeover to raid1
    // (raid5 with 2 images converts, the rest is refused there).
    if args.mirrors.is_some()
        && args.segtype.as_deref().is_none_or(|t| t == "raid1")
        && w.vg
            .lv(&lv_name)
            .and_then(|l| l.raid_type())
            .is_some_and(|t| !t.is_raid1())
        && convert::tracking_image(&w.vg, &lv_name).is_none()
    {
        drop(w);
        if args.stripe_size.is_none() {
            // lvm2's get_stripe_params for the LV's own striped type.
            let kib = ctx.config.int("metadata/stripesize", 64).max(4) as u64;
            ctx.say(format!(
                "Using default stripesize {}.",
                lvops::display_size(kib * 1024)
            ));
        }
        let mut a = args.clone();
        a.segtype = Some("raid1".into());
        a.mirrors = None;
        return super::lvconvert_takeover::run(ctx, &a);
    }
    if w.vg.lv(&lv_name).is_none() {
        return Err(CmdError::failed(format!(
            "Failed to find logical volume \"{vg_name}/{lv_name}\""
        )));
    }
    // Beyond lvm2 2.03.16 (which refuses every conversion of a tracking
    // LV, so a tracked image can only be merged back): naming the tracked
    // image itself with `--splitmirrors 1 -n NAME` splits it off for good.
    if let (Some(1), false, Some(owner)) = (
        args.split_mirrors,
        args.track_changes,
        convert::owner_of_image(&w.vg, &lv_name),
    ) {
        if convert::tracking_image(&w.vg, &owner).as_deref() == Some(lv_name.as_str()) {
            let name = args.name.clone().expect("checked");
            let name = name.rsplit('/').next().unwrap_or(&name).to_string();
            validate_lv_name(&name)?;
            let plan = convert::split(&w.vg, &owner, 1, &name, None).map_err(raid_err)?;
            return carry_out(ctx, &args, &mut w, &owner, plan);
        }
    }
    if let Some(kind) = super::lvextend::raid_sub_lv_kind(&w.vg, &lv_name) {
        convert::refuse_tracking(&w.vg, &lv_name).map_err(raid_err)?;
        return Err(CmdError::failed(format!(
            "Cannot convert a RAID {kind} ({vg_name}/{lv_name}) directly; convert its RAID LV."
        )));
    }
    let pv_args = args.pv_args()?;
    let cands = lvops::candidates(&w, &pv_args)?;
    let policy = policy(&args, &w.vg, &lv_name)?;
    let region_size = args
        .region_size
        .as_deref()
        .map(region_size_arg)
        .transpose()?;
    let mut id = new_uuid;
    let mut env = new_env(ctx, &mut id);

    let plan = if !args.replace.is_empty() {
        let mut set = convert::ReplaceSet::default();
        for r in &args.replace {
            let sub = r.rsplit('/').next().unwrap_or(r);
            let as_lv = !r.starts_with("/dev/") || r.starts_with(&format!("/dev/{vg_name}/"));
            if as_lv && w.vg.lv(sub).is_some() {
                set.sub_lvs.push(sub.to_string());
            } else {
                let c = lvops::candidates(&w, &[parse_pv_arg(r)?])?.expect("one PV");
                set.pvs.push(c[0].pv.clone());
            }
        }
        convert::replace(&w.vg, &lv_name, &set, cands.as_deref(), policy, &mut env)
    } else if let Some(n) = args.split_mirrors {
        // lvm2 refuses every conversion of a tracking LV, this split too.
        convert::refuse_tracking(&w.vg, &lv_name).map_err(raid_err)?;
        if args.track_changes {
            if n != 1 {
                return Err(CmdError::failed(format!(
                    "Exactly one image must be split off from {vg_name}/{lv_name} when tracking changes."
                )));
            }
            convert::split_and_track(&w.vg, &lv_name, cands.as_deref())
        } else {
            let name = args.name.clone().expect("checked");
            let name = name.rsplit('/').next().unwrap_or(&name).to_string();
            validate_lv_name(&name)?;
            convert::split(&w.vg, &lv_name, n, &name, cands.as_deref())
        }
    } else if let Some(m) = &args.mirrors {
        let m = parse_mirrors(m)?;
        if let Some(t) = args.segtype.as_deref() {
            if t == "linear" && m != MirrorsArg::Absolute(0) {
                return Err(CmdError::usage("Cannot specify mirrors with linear type."));
            }
            if !matches!(t, "raid1" | "linear") {
                return Err(CmdError::usage(format!(
                    "-m/--mirrors cannot be combined with --type {t}: only raid1 (and linear) LVs \
                     change their image count; convert the type first."
                )));
            }
        }
        let lv = w.vg.lv(&lv_name).expect("checked");
        let current = lv
            .segments
            .first()
            .and_then(|s| s.raid.as_ref())
            .map_or(1, |r| r.images.len() as u64);
        let Some(count) = m.image_count(current) else {
            return Err(CmdError::failed("Unable to reduce images by specified amount."));
        };
        let opts = convert::ImageOpts {
            pvs: cands.as_deref(),
            policy,
            region_size,
        };
        convert::change_image_count(&w.vg, &lv_name, count, &opts, &mut env)
    } else if args.segtype.as_deref() == Some("linear") {
        let opts = convert::ImageOpts {
            pvs: cands.as_deref(),
            policy,
            region_size: None,
        };
        convert::change_image_count(&w.vg, &lv_name, 1, &opts, &mut env)
    } else if let Some(r) = region_size {
        convert::change_region_size(&w.vg, &lv_name, r)
    } else {
        return Err(CmdError::usage(
            "Nothing to do: give --type, -m/--mirrors, --splitmirrors, --merge, --replace, \
             --repair or -R/--regionsize.",
        ));
    }
    .map_err(raid_err)?;
    carry_out(ctx, &args, &mut w, &lv_name, plan)
}

/// `lvconvert --repair [-y] VG/LV [PVs]` (lvm2's
/// `_lvconvert_repair_pvs_raid`): replace the images of an active RAID LV
/// that are on missing PVs by new ones on the given PVs (or any other PV
/// of the VG), reload so dm-raid rebuilds them, clear `REBUILD` after.
fn run_repair(ctx: &mut Ctx, args: &Args) -> Result<(), CmdError> {
    let (vg_name, lv_name) = split_lv_path(&args.lv)?;
    let mut w = VgForWrite::open_partial(ctx, &vg_name)?;
    let disp = format!("{vg_name}/{lv_name}");
    let Some(lv) = w.vg.lv(&lv_name) else {
        return Err(CmdError::failed(format!(
            "Failed to find logical volume \"{disp}\""
        )));
    };
    if lv.raid_type().is_none() {
        return Err(CmdError::failed(format!(
            "Cannot repair {disp}: it is not a RAID LV (this version repairs RAID LVs only)."
        )));
    }
    if !is_active(&w.vg, &lv_name) {
        return Err(CmdError::failed(format!(
            "{disp} must be active to perform this operation.\n\
             (--repair replaces the failed devices of a running array: activate it with \
             lvchange -ay {disp}, or use --replace PV on the inactive LV.)"
        )));
    }
    // lvm2's _lvconvert_repair_pvs_raid_ask.
    let do_it = if args.usepolicies {
        let policy = ctx
            .config
            .str("activation/raid_fault_policy")
            .unwrap_or("warn");
        matches!(policy, "allocate" | "replace")
    } else {
        args.yes
            || lvops::confirm(
                "Attempt to replace failed RAID images (requires full device resync)? [y/n]: ",
                "",
            )
    };
    if !do_it {
        if args.usepolicies {
            eprintln!("  Use 'lvconvert --repair {disp}' to replace failed device.");
        }
        // lvm2: answering no (or a "warn" policy) is not an error.
        return Ok(());
    }
    let failed = convert::failed_pvs(&w.vg);
    // Images the kernel failed while their PVs are present (a transient
    // failure): lvm2's lv_check_transient has them replaced too.
    let mut dead = Vec::new();
    if !ctx.common.test {
        let dm = super::vgchange::open_dm(ctx)?;
        let st = activate::dm_raid_status(&dm, &w.vg, &lv_name)
            .map_err(|e| CmdError::failed(format!("Cannot read the status of {disp}: {e}")))?
            .map(|(st, _)| st);
        if let Some(st) = st.filter(|st| !failed.is_empty() || st.health.contains('D')) {
            dead = st.failed_devices();
            if st.in_sync < st.total {
                return Err(CmdError::failed(format!(
                    "Unable to replace devices in {disp} while it is not in-sync.\n\
                     Failed to replace faulty devices in {disp}."
                )));
            }
            if st.sync_action.as_deref() == Some("idle") && st.health.contains('a') {
                return Err(CmdError::failed(format!(
                    "Unable to repair {disp}.  Source devices failed before the RAID could synchronize.\n\
                     You should choose one of the following:\n  \
                     1) deactivate {disp}, revive failed device, re-activate LV, and proceed.\n  \
                     2) remove the LV (all data is lost).\n  \
                     3) Seek expert advice to attempt to salvage any data from remaining devices.\n\
                     Failed to replace faulty devices in {disp}."
                )));
            }
        }
    }
    let pv_args = args.pv_args()?;
    let cands = lvops::candidates(&w, &pv_args)?;
    let policy = policy(args, &w.vg, &lv_name)?;
    let mut id = new_uuid;
    let mut env = new_env(ctx, &mut id);
    let plan = convert::repair(
        &w.vg,
        &lv_name,
        &failed,
        &dead,
        cands.as_deref(),
        policy,
        &mut env,
    )
    .map_err(|e| CmdError::failed(format!("{e}\nFailed to replace faulty devices in {disp}.")))?;
    for n in &plan.notes {
        show(ctx, n);
    }
    if !plan.steps.is_empty() {
        commit_live(ctx, &mut w, &lv_name, plan.steps, true, true)?;
    }
    ctx.say(format!("Faulty devices in {disp} successfully replaced."));
    Ok(())
}

/// `lvconvert --merge VG/LV_rimage_N`.
fn run_merge(ctx: &mut Ctx, vg_name: &str, image: &str) -> Result<(), CmdError> {
    let mut w = VgForWrite::open(ctx, vg_name)?;
    if w.vg.lv(image).is_none() {
        return Err(CmdError::failed(format!(
            "Failed to find logical volume \"{vg_name}/{image}\""
        )));
    }
    let plan = convert::merge(&w.vg, image).map_err(raid_err)?;
    let owner = convert::owner_of_image(&w.vg, image).unwrap_or_else(|| image.to_string());
    let args = Args {
        yes: true,
        ..Args::default()
    };
    carry_out(ctx, &args, &mut w, &owner, plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_values() {
        assert_eq!(parse_mirrors("2").unwrap(), MirrorsArg::Absolute(2));
        assert_eq!(parse_mirrors("+1").unwrap(), MirrorsArg::Plus(1));
        assert_eq!(parse_mirrors("-1").unwrap(), MirrorsArg::Minus(1));
        assert!(parse_mirrors("x").is_err());
        assert_eq!(MirrorsArg::Absolute(0).image_count(3), Some(1));
        assert_eq!(MirrorsArg::Plus(2).image_count(2), Some(4));
        assert_eq!(MirrorsArg::Minus(2).image_count(2), None);
    }

    #[test]
    fn region_sizes() {
        assert_eq!(region_size_arg("1").unwrap(), 2048);
        assert_eq!(region_size_arg("512k").unwrap(), 1024);
        assert!(region_size_arg("3k").is_err());
        assert!(region_size_arg("0").is_err());
    }
}
