//! Activating, deactivating and reloading LVs on the running kernel: the
//! plans of [`super::table`] carried out through [`super::dm`].
//!
//! The order is lvm2's (lib/activate/dev_manager.c, libdm's deptree):
//! - activation creates every device of [`lv_devices`] in creation order
//!   (sub-LVs first), each created, loaded and resumed before the devices
//!   built on it; a device that already exists (found by its DM UUID, so
//!   devices real lvm2 made count) is renamed if its name changed and
//!   reloaded only when its live table differs;
//! - a reload loads every changed table into the inactive slots first,
//!   then suspends the changed devices top-down and resumes them
//!   bottom-up (children before the RAID device), and finally removes the
//!   devices the new layout no longer uses;
//! - deactivation walks the kernel's own dependency tree from the LV's
//!   device (so sub-LVs that left the metadata are found too) and removes
//!   the devices parents first.

use std::collections::{HashMap, HashSet};

use super::dm::{self, DevInfo, Dm, DmError};
use super::status::{parse_status_line, DmRaidStatus, TargetStatus};
use super::table::{
    dm_uuid, lv_devices, DevNum, DevRef, DeviceSpec, DmTable, MapResolver, ReadAhead, TableError,
    TableOptions, Target,
};
use crate::model::{Lv, Vg};
use crate::report::{ActiveInfo, RaidStatus};

/// libdevmapper.h udev flags lvm2 sets (`_get_udev_flags`).
const UDEV_DISABLE_SUBSYSTEM_RULES: u32 = 0x0002;
const UDEV_DISABLE_DISK_RULES: u32 = 0x0004;
const UDEV_DISABLE_OTHER_RULES: u32 = 0x0008;

#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    #[error(transparent)]
    Dm(#[from] DmError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("Logical volume {vg}/{lv} in use (open count {open}): not deactivating.")]
    InUse { vg: String, lv: String, open: i32 },
    #[error("Logical volume {0} not found.")]
    NoSuchLv(String),
    #[error(
        "device-mapper device {name} exists with another UUID ({found}, expected {expected}); \
         remove it (`dmsetup remove {name}`) or rename the LV"
    )]
    NameTaken {
        name: String,
        found: String,
        expected: String,
    },
}

/// The PVs' device numbers by PV key, as the caller found them (missing
/// PVs are absent; pass their keys in [`TableOptions::missing_pvs`]).
pub type PvDevices = HashMap<String, DevNum>;

fn bare(id: &str) -> String {
    id.chars().filter(|c| *c != '-').collect()
}

/// lvm2's udev flags for a device: sub-LVs and layers get only
/// `/dev/mapper` content; top-level visible LVs the full rules.
fn udev_flags(vg: &Vg, spec: &DeviceSpec) -> u32 {
    let visible = vg.lv(&spec.lv).is_some_and(Lv::is_visible);
    if spec.key != spec.lv || !visible {
        UDEV_DISABLE_SUBSYSTEM_RULES | UDEV_DISABLE_DISK_RULES | UDEV_DISABLE_OTHER_RULES
    } else {
        0
    }
}

fn same_table(live: &[dm::TargetLine], want: &[Target]) -> bool {
    live.len() == want.len()
        && live.iter().zip(want).all(|(l, w)| {
            l.0 == w.start
                && l.1 == w.length
                && l.2 == w.target_type
                && l.3.split_whitespace().eq(w.params.split_whitespace())
        })
}

fn apply_read_ahead(ra: &Option<ReadAhead>, dev: DevNum, pvs: &PvDevices) {
    let want = match ra {
        None => return,
        Some(ReadAhead::Fixed(n)) => *n,
        Some(ReadAhead::Minimum(n)) => (*n).max(dm::read_ahead(dev).unwrap_or(0)),
        Some(ReadAhead::MinimumOfPvs(keys)) => keys
            .iter()
            .filter_map(|k| pvs.get(k))
            .filter_map(|d| dm::read_ahead(*d))
            .max()
            .unwrap_or(0)
            .max(dm::read_ahead(dev).unwrap_or(0)),
    };
    if dm::read_ahead(dev) != Some(want) {
        if let Err(e) = dm::set_read_ahead(dev, want) {
            log::warn!("cannot set read-ahead of {dev}: {e}");
        }
    }
}

/// Nodes lvm2 makes (or checks, with udev) once the devices are live.
fn ensure_nodes(dmh: &Dm, vg: &Vg, spec: &DeviceSpec, dev: DevNum) -> Result<(), DmError> {
    if dmh.udev_running() {
        // udev was waited for; give it a moment if the node is still
        // missing (an event queue backlog), then make it ourselves.
        for _ in 0..50 {
            if dm::mapper_path(&spec.name).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    dm::ensure_mapper_node(&spec.name, dev)?;
    if udev_flags(vg, spec) == 0 {
        if dmh.udev_running() {
            for _ in 0..50 {
                if dm::lv_link_path(&vg.name, &spec.lv).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        dm::ensure_lv_link(&vg.name, &spec.lv, &spec.name, dev)?;
    }
    Ok(())
}

/// What [`apply`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Devices created.
    pub created: Vec<String>,
    /// Existing devices whose table was reloaded.
    pub reloaded: Vec<String>,
}

/// Make the kernel match `plan` (creation order). `force` reloads every
/// existing device even when its table is unchanged (`--refresh`).
fn apply(
    dmh: &Dm,
    vg: &Vg,
    plan: &[DeviceSpec],
    pvs: &PvDevices,
    force: bool,
) -> Result<Applied, ActivateError> {
    let mut res = MapResolver {
        pvs: pvs.clone(),
        dms: HashMap::new(),
    };
    let mut done = Applied::default();
    // (index in plan, had a live table) of existing devices loaded.
    let mut loaded: Vec<(usize, bool)> = Vec::new();
    let mut devs: HashMap<String, DevNum> = HashMap::new();
    let fail = |loaded: &[(usize, bool)], e: ActivateError| {
        for (i, _) in loaded {
            let _ = dmh.clear(&plan[*i].name);
        }
        Err(e)
    };
    // Newly created devices whose load + resume is pending: done
    // concurrently (each resume waits for udev on its own cookie) before
    // a device that uses one of them is loaded.
    let mut pending: Vec<(usize, DmTable)> = Vec::new();
    for (idx, spec) in plan.iter().enumerate() {
        let flags = udev_flags(vg, spec);
        let needs_pending = spec.deps().iter().any(|d| match d {
            DevRef::Dm(k) => pending.iter().any(|(i, _)| plan[*i].key == *k),
            DevRef::Pv(_) => false,
        });
        if needs_pending {
            if let Err(e) = flush(dmh, vg, plan, &mut pending, pvs, &devs) {
                return fail(&loaded, e);
            }
        }
        let existing = dmh.info_by_uuid(&spec.uuid)?;
        match existing {
            None => {
                if let Some(other) = dmh.info(&spec.name)? {
                    if !plan.iter().any(|s| s.uuid == other.uuid) {
                        return fail(
                            &loaded,
                            ActivateError::NameTaken {
                                name: spec.name.clone(),
                                found: other.uuid,
                                expected: spec.uuid.clone(),
                            },
                        );
                    }
                }
                let info = dmh.create(&spec.name, &spec.uuid)?;
                res.dms.insert(spec.key.clone(), info.dev);
                devs.insert(spec.name.clone(), info.dev);
                let table = match spec.render(&res) {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = dmh.remove(&spec.name, flags);
                        return fail(&loaded, e.into());
                    }
                };
                pending.push((idx, table));
                done.created.push(spec.name.clone());
            }
            Some(info) => {
                if info.name != spec.name {
                    if let Some(other) = dmh.info(&spec.name)? {
                        return fail(
                            &loaded,
                            ActivateError::NameTaken {
                                name: spec.name.clone(),
                                found: other.uuid,
                                expected: spec.uuid.clone(),
                            },
                        );
                    }
                    dmh.rename(&info.name, &spec.name)?;
                    dm::remove_nodes(&vg.name, None, &info.name);
                }
                res.dms.insert(spec.key.clone(), info.dev);
                devs.insert(spec.name.clone(), info.dev);
                let table = spec.render(&res)?;
                let live = if info.live_table {
                    dmh.table(&spec.name)?
                } else {
                    Vec::new()
                };
                let ro_changed = info.live_table && info.read_only != spec.read_only;
                if force || !info.live_table || ro_changed || !same_table(&live, &table.targets) {
                    if let Err(e) = dmh.load(&spec.name, &table.targets, spec.read_only) {
                        return fail(&loaded, e.into());
                    }
                    // libdm's `_dm_tree_preload_children`: a device that
                    // grows is resumed at once, so the devices built on it
                    // load tables of the new size (dm-raid checks the size
                    // of its images when its table is loaded). It is still
                    // listed as loaded so its parents go through the
                    // suspend/resume cycle (its own resume is then a no-op).
                    let len = |t: &mut dyn Iterator<Item = u64>| t.sum::<u64>();
                    let grows = info.live_table
                        && !info.suspended
                        && len(&mut table.targets.iter().map(|t| t.length))
                            > len(&mut live.iter().map(|l| l.1));
                    if grows {
                        if let Err(e) = dmh.resume(&spec.name, udev_flags(vg, spec)) {
                            return fail(&loaded, e.into());
                        }
                        loaded.push((idx, false));
                        continue;
                    }
                    loaded.push((idx, info.live_table));
                } else if info.suspended {
                    loaded.push((idx, false));
                }
            }
        }
    }
    if let Err(e) = flush(dmh, vg, plan, &mut pending, pvs, &devs) {
        return fail(&loaded, e);
    }
    // Every device above a reloaded one is suspended and resumed with it
    // (lvm2 suspends the whole tree): dm-raid re-reads a sub-device whose
    // table changed (a returned PV replacing an error mapping) only when
    // the array itself goes through suspend/resume.
    let mut cycle: Vec<(usize, bool)> = Vec::new();
    let mut touched: HashSet<&str> = HashSet::new();
    for (i, spec) in plan.iter().enumerate() {
        if let Some(&(_, live)) = loaded.iter().find(|(j, _)| *j == i) {
            touched.insert(spec.key.as_str());
            cycle.push((i, live));
            continue;
        }
        let above = spec.deps().iter().any(|d| match d {
            DevRef::Dm(k) => touched.contains(k.as_str()),
            DevRef::Pv(_) => false,
        });
        if above && !done.created.contains(&spec.name) {
            touched.insert(spec.key.as_str());
            cycle.push((i, true));
        }
    }
    let loaded = cycle;
    // Suspend top-down, resume bottom-up.
    let mut suspended: Vec<usize> = Vec::new();
    for &(i, live) in loaded.iter().rev() {
        if live {
            if let Err(e) = dmh.suspend(&plan[i].name, false) {
                for &j in suspended.iter().rev() {
                    let _ = dmh.resume(&plan[j].name, udev_flags(vg, &plan[j]));
                }
                return fail(&loaded, e.into());
            }
            suspended.push(i);
        }
    }
    let mut first_err = None;
    for &(i, _) in &loaded {
        match dmh.resume(&plan[i].name, udev_flags(vg, &plan[i])) {
            Ok(_) => {
                apply_read_ahead(&plan[i].read_ahead, devs[&plan[i].name], pvs);
                done.reloaded.push(plan[i].name.clone());
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e.into());
    }
    for spec in plan {
        ensure_nodes(dmh, vg, spec, devs[&spec.name])?;
    }
    Ok(done)
}

/// Load and resume the created devices in `pending`, concurrently; a
/// device that fails is removed again.
fn flush(
    dmh: &Dm,
    vg: &Vg,
    plan: &[DeviceSpec],
    pending: &mut Vec<(usize, DmTable)>,
    pvs: &PvDevices,
    devs: &HashMap<String, DevNum>,
) -> Result<(), ActivateError> {
    let work = std::mem::take(pending);
    let results: Vec<Result<(), DmError>> = std::thread::scope(|sc| {
        let handles: Vec<_> = work
            .iter()
            .map(|(i, table)| {
                let spec = &plan[*i];
                sc.spawn(move || {
                    let flags = udev_flags(vg, spec);
                    let r = dmh
                        .load(&spec.name, &table.targets, spec.read_only)
                        .and_then(|_| dmh.resume(&spec.name, flags));
                    match r {
                        Ok(_) => {
                            apply_read_ahead(&spec.read_ahead, devs[&spec.name], pvs);
                            Ok(())
                        }
                        Err(e) => {
                            let _ = dmh.remove(&spec.name, flags);
                            Err(e)
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("activation thread"))
            .collect()
    });
    match results.into_iter().find_map(Result::err) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Activate LV `lv` of `vg` (and its sub-LVs). Idempotent: an active LV
/// with unchanged tables is left alone.
pub fn activate(
    dmh: &Dm,
    vg: &Vg,
    lv: &str,
    pvs: &PvDevices,
    opts: &TableOptions,
) -> Result<Applied, ActivateError> {
    // An active LV is brought up to date as a reload would (devices the
    // plan no longer has, such as error mappings of PVs that returned,
    // are removed afterwards).
    reload_inner(dmh, vg, lv, pvs, opts, false)
}

/// lvm2's `lvchange --refresh`: reload every table of the LV (suspend and
/// resume even when unchanged, so dm-raid re-reads its devices), then
/// drop devices the metadata no longer uses.
pub fn refresh(
    dmh: &Dm,
    vg: &Vg,
    lv: &str,
    pvs: &PvDevices,
    opts: &TableOptions,
) -> Result<Applied, ActivateError> {
    reload_inner(dmh, vg, lv, pvs, opts, true)
}

/// Live reload after a metadata change of `lv` (a RAID conversion): new
/// sub-LVs are activated first, changed tables are loaded, suspended
/// top-down and resumed bottom-up, and devices of sub-LVs the new VG no
/// longer uses are removed afterwards (LVs split off as visible LVs stay
/// active as LVs of their own). Does nothing (returns `Ok(None)`) when the
/// LV is not active. `old_vg` names the layout the kernel was loaded from;
/// the kernel's own dependency tree is what is walked.
pub fn reload(
    dmh: &Dm,
    old_vg: &Vg,
    new_vg: &Vg,
    lv: &str,
    pvs: &PvDevices,
    opts: &TableOptions,
) -> Result<Option<Applied>, ActivateError> {
    let old = old_vg
        .lv(lv)
        .or_else(|| new_vg.lv(lv))
        .ok_or_else(|| ActivateError::NoSuchLv(format!("{}/{lv}", new_vg.name)))?;
    if dmh
        .info_by_uuid(&dm_uuid(&old_vg.id, &old.id, None))?
        .is_none()
    {
        return Ok(None);
    }
    reload_inner(dmh, new_vg, lv, pvs, opts, false).map(Some)
}

fn reload_inner(
    dmh: &Dm,
    vg: &Vg,
    lv: &str,
    pvs: &PvDevices,
    opts: &TableOptions,
    force: bool,
) -> Result<Applied, ActivateError> {
    let l = vg
        .lv(lv)
        .ok_or_else(|| ActivateError::NoSuchLv(format!("{}/{lv}", vg.name)))?;
    let top = dm_uuid(&vg.id, &l.id, None);
    let before = match dmh.info_by_uuid(&top)? {
        Some(t) => tree(dmh, &vg.id, &t)?,
        None => Vec::new(),
    };
    let plan = lv_devices(vg, lv, opts)?;
    let done = apply(dmh, vg, &plan, pvs, force)?;
    let keep: HashSet<&str> = plan.iter().map(|s| s.uuid.as_str()).collect();
    for gone in before.iter().filter(|d| !keep.contains(d.uuid.as_str())) {
        // A sub-LV that became a visible LV (split image) stays active.
        let own = vg
            .lvs
            .iter()
            .find(|x| x.is_visible() && dm_uuid(&vg.id, &x.id, None) == gone.uuid);
        if let Some(x) = own {
            activate(dmh, vg, &x.name.clone(), pvs, opts)?;
            continue;
        }
        match dmh.info_by_uuid(&gone.uuid)? {
            Some(i) if i.open_count == 0 => {
                dmh.remove(&i.name, 0)?;
                dm::remove_nodes(&vg.name, None, &i.name);
            }
            _ => {}
        }
    }
    Ok(done)
}

/// The DM devices of the kernel's tree below `top` that belong to VG
/// `vg_id` (lvm2 UUIDs), `top` first, parents before children.
fn tree(dmh: &Dm, vg_id: &str, top: &DevInfo) -> Result<Vec<DevInfo>, DmError> {
    let prefix = format!("LVM-{}", bare(vg_id));
    let by_dev: HashMap<DevNum, (String, String)> = dm::sysfs_uuids()
        .into_iter()
        .map(|(u, (n, d))| (d, (n, u)))
        .collect();
    let mut out = vec![top.clone()];
    let mut seen: HashSet<String> = HashSet::from([top.uuid.clone()]);
    let mut i = 0;
    while i < out.len() {
        let deps = dmh.deps(&out[i].name)?;
        for d in deps {
            let Some((name, uuid)) = by_dev.get(&d) else {
                continue;
            };
            if !uuid.starts_with(&prefix) || !seen.insert(uuid.clone()) {
                continue;
            }
            if let Some(info) = dmh.info(name)? {
                out.push(info);
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Deactivate LV `lv` of `vg`: remove its device and every device of the
/// VG below it. `Ok(false)` when it was not active.
pub fn deactivate(dmh: &Dm, vg: &Vg, lv: &str) -> Result<bool, ActivateError> {
    let l = vg
        .lv(lv)
        .ok_or_else(|| ActivateError::NoSuchLv(format!("{}/{lv}", vg.name)))?;
    let Some(top) = dmh.info_by_uuid(&dm_uuid(&vg.id, &l.id, None))? else {
        return Ok(false);
    };
    if top.open_count > 0 {
        return Err(ActivateError::InUse {
            vg: vg.name.clone(),
            lv: lv.to_string(),
            open: top.open_count,
        });
    }
    let devs = tree(dmh, &vg.id, &top)?;
    // Leftover devices of the metadata's plan not in the tree (a failed
    // activation) go too.
    let mut extra = Vec::new();
    if let Ok(plan) = lv_devices(vg, lv, &TableOptions::default()) {
        for s in plan.iter().rev() {
            if !devs.iter().any(|d| d.uuid == s.uuid) {
                if let Some(i) = dmh.info_by_uuid(&s.uuid)? {
                    extra.push(i);
                }
            }
        }
    }
    for (n, d) in devs.iter().chain(&extra).enumerate() {
        if n > 0 {
            // Still used by something else (another LV's table): keep.
            match dmh.info(&d.name)? {
                Some(i) if i.open_count > 0 => continue,
                None => continue,
                _ => {}
            }
        }
        let flags = if n == 0 && l.is_visible() {
            0
        } else {
            UDEV_DISABLE_SUBSYSTEM_RULES | UDEV_DISABLE_DISK_RULES | UDEV_DISABLE_OTHER_RULES
        };
        dmh.remove(&d.name, flags)?;
        dm::remove_nodes(&vg.name, (n == 0).then_some(lv), &d.name);
    }
    Ok(true)
}

/// Whether LV `lv` of `vg` has a device in the kernel (sysfs, no ioctl;
/// false where there is no device-mapper).
pub fn is_active(vg: &Vg, lv: &str) -> bool {
    let Some(l) = vg.lv(lv) else {
        return false;
    };
    dm::sysfs_uuids().contains_key(&dm_uuid(&vg.id, &l.id, None))
}

/// The DM name of the active device of `lv` (None when inactive).
pub fn active_name(vg: &Vg, lv: &str) -> Option<String> {
    let l = vg.lv(lv)?;
    dm::sysfs_uuids()
        .remove(&dm_uuid(&vg.id, &l.id, None))
        .map(|(n, _)| n)
}

/// What the kernel says about the active LV `lv` (None when inactive):
/// the report's [`ActiveInfo`], with the dm-raid status for RAID LVs.
pub fn lv_info(dmh: &Dm, vg: &Vg, lv: &str) -> Result<Option<ActiveInfo>, DmError> {
    let Some(l) = vg.lv(lv) else {
        return Ok(None);
    };
    let Some(i) = dmh.info_by_uuid(&dm_uuid(&vg.id, &l.id, None))? else {
        return Ok(None);
    };
    let mut raid = None;
    if i.live_table {
        for (start, len, ty, params) in dmh.status(&i.name)? {
            if ty != "raid" {
                continue;
            }
            let line = format!("{start} {len} {ty} {params}");
            if let Ok(TargetStatus::Raid(r)) = parse_status_line(&line).and_then(|s| s.status()) {
                raid = Some(r.to_report());
            }
        }
    }
    Ok(Some(ActiveInfo {
        open_count: i.open_count.max(0) as u32,
        suspended: i.suspended,
        read_only: i.read_only && l.has_status("WRITE"),
        major: i.dev.major,
        minor: i.dev.minor,
        read_ahead: dm::read_ahead(i.dev),
        raid,
    }))
}

/// The raw dm-raid status of the active RAID LV `lv` (data offset and
/// device count included) and its open count; `None` when inactive.
pub fn dm_raid_status(dmh: &Dm, vg: &Vg, lv: &str) -> Result<Option<(DmRaidStatus, u32)>, DmError> {
    let Some(l) = vg.lv(lv) else {
        return Ok(None);
    };
    let Some(i) = dmh.info_by_uuid(&dm_uuid(&vg.id, &l.id, None))? else {
        return Ok(None);
    };
    if !i.live_table {
        return Ok(None);
    }
    for (start, len, ty, params) in dmh.status(&i.name)? {
        let line = format!("{start} {len} {ty} {params}");
        if let Ok(TargetStatus::Raid(r)) = parse_status_line(&line).and_then(|s| s.status()) {
            return Ok(Some((r, i.open_count.max(0) as u32)));
        }
    }
    Ok(None)
}

/// The dm-raid status of the active RAID LV `lv`.
pub fn raid_status(dmh: &Dm, vg: &Vg, lv: &str) -> Result<Option<RaidStatus>, DmError> {
    Ok(lv_info(dmh, vg, lv)?.and_then(|i| i.raid))
}

/// Send a dm-raid message (`check`, `repair`, `idle`, `frozen`,
/// `recover`, ...) to the active RAID LV `lv`.
pub fn raid_message(dmh: &Dm, vg: &Vg, lv: &str, msg: &str) -> Result<(), ActivateError> {
    let name = active_name(vg, lv)
        .ok_or_else(|| ActivateError::NoSuchLv(format!("{}/{lv} (not active)", vg.name)))?;
    dmh.message(&name, msg)?;
    Ok(())
}

/// The device numbers of the PVs of `found` (as a scan found them), and
/// the keys of the PVs without a device.
pub fn pv_devices(
    scan: &crate::device::scan::Scan,
    found: &crate::device::scan::VgFound,
) -> (PvDevices, Vec<String>) {
    use std::os::unix::fs::MetadataExt;
    let mut devs = PvDevices::new();
    let mut missing = Vec::new();
    for (key, idx) in &found.pv_devices {
        let num = idx.and_then(|i| {
            let pv = scan.pv(i);
            pv.devno.map(|(a, b)| DevNum::new(a, b)).or_else(|| {
                std::fs::metadata(&pv.path)
                    .ok()
                    .map(|m| DevNum::new(libc::major(m.rdev()), libc::minor(m.rdev())))
            })
        });
        match num {
            Some(n) => {
                devs.insert(key.clone(), n);
            }
            None => missing.push(key.clone()),
        }
    }
    (devs, missing)
}
