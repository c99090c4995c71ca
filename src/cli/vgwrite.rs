//! Reading a VG for change and writing it back: the part every command
//! that changes metadata shares.
//!
//! `VgForWrite::open` takes lvm2's VG lock, rescans under the lock (so a
//! concurrent writer — this project or real lvm2 — is seen), and refuses a
//! VG that cannot be written safely: missing PVs, unreadable metadata areas,
//! or devices that changed behind our back. `commit` bumps the seqno and
//! writes through [`crate::commit`].
//!
//! With lvmetad in use the VG is still read from the disks (taking a lock
//! makes [`Ctx::scan`] bypass the daemon): a write never starts from a
//! cached copy. When the disks hold another seqno than the daemon's copy,
//! the disks win and the daemon is sent their metadata; after a commit the
//! daemon gets `vg_update` (and `pv_found` for PVs whose label changed);
//! PVs released from a VG are sent as orphans.

use std::path::PathBuf;

use super::context::Ctx;
use super::CmdError;
use crate::client::pvmeta::pv_meta;
use crate::commit::lock::{self, FileLock, LockMode};
use crate::commit::{self, PvWrite};
use crate::device::scan::{DevScan, PvScan, Scan};
use crate::device::{BlockIo, Device};
use crate::format::label::{PvLabel, PV_EXT_USED};
use crate::model::{self, TextHeader, Vg};
use crate::protocol::PvMeta;

/// The lock directory lvm2 uses (lvm.conf global/locking_dir).
pub fn lock_dir(ctx: &Ctx) -> PathBuf {
    PathBuf::from(
        ctx.config
            .str("global/locking_dir")
            .unwrap_or(lock::DEFAULT_LOCK_DIR),
    )
}

pub fn take_lock(ctx: &Ctx, name: &str) -> Result<FileLock, CmdError> {
    ctx.begin_write();
    lock::lock(&lock_dir(ctx), name, LockMode::Exclusive)
        .map_err(|e| CmdError::failed(e.to_string()))
}

/// A PV of the VG as found by the scan under the lock.
pub struct Member {
    pub key: String,
    pub pv: PvScan,
}

/// A VG read under its lock, ready to be changed and committed.
pub struct VgForWrite {
    pub vg: Vg,
    pub members: Vec<Member>,
    /// PVs joining the VG with this commit (vgcreate, vgextend).
    pub joining: Vec<PvScan>,
    /// The highest seqno read or written so far. A command that commits
    /// several VGs planned from the same original (each carrying its
    /// seqno) still writes strictly increasing seqnos: two different
    /// texts under one seqno would look like a conflict to lvmetad and to
    /// lvm2.
    last_seqno: u64,
    _lock: FileLock,
}

impl VgForWrite {
    /// Lock and read `name` for a change.
    pub fn open(ctx: &mut Ctx, name: &str) -> Result<VgForWrite, CmdError> {
        Self::open_inner(ctx, name, false)
    }

    /// Lock and read `name` for a change although some of its PVs are
    /// missing (lvm2's handling of missing PVs for `lvconvert --repair`):
    /// the missing PVs stay in the metadata flagged `MISSING` (so nothing
    /// is allocated on them), and commits write to the PVs present only.
    /// Use only in commands that are meant to repair a VG with lost PVs.
    pub fn open_partial(ctx: &mut Ctx, name: &str) -> Result<VgForWrite, CmdError> {
        Self::open_inner(ctx, name, true)
    }

    fn open_inner(ctx: &mut Ctx, name: &str, partial: bool) -> Result<VgForWrite, CmdError> {
        let lock = take_lock(ctx, &lock::vg_lock_name(name))?;
        ctx.invalidate();
        let scan = ctx.scan();
        let found = scan
            .vg(name)
            .ok_or_else(|| CmdError::failed(format!("Volume group \"{name}\" not found")))?;
        let missing = found.missing_pvs();
        if !missing.is_empty() && !partial {
            let ids: Vec<String> = missing
                .iter()
                .filter_map(|k| found.vg.pvs.iter().find(|p| p.key == *k))
                .map(|p| p.id.clone())
                .collect();
            return Err(CmdError::failed(format!(
                "Cannot change VG {name} while PVs are missing: {}.\n\
                 Consider vgreduce --removemissing if the PVs are gone for good.",
                ids.join(", ")
            )));
        }
        let mut members = Vec::new();
        for (key, idx) in &found.pv_devices {
            // A missing PV (open_partial only) has no device to write to.
            let Some(idx) = idx else { continue };
            // The metadata texts are not needed to write new ones; leaving
            // them out keeps a VG on hundreds of PVs from copying its text
            // hundreds of times.
            let scanned = scan.pv(*idx);
            let problems = scanned.problems();
            let pv = scanned.without_texts();
            if !problems.is_empty() {
                return Err(CmdError::failed(format!(
                    "Cannot change VG {name}: PV {} cannot be read fully, refusing to write over it:\n{}",
                    pv.path.display(),
                    problems.join("\n")
                )));
            }
            let entry = found
                .vg
                .pvs
                .iter()
                .find(|p| &p.key == key)
                .expect("PV of the VG");
            let end = (entry.pe_start + entry.pe_count * found.vg.extent_size) * 512;
            if end > pv.dev_size {
                return Err(CmdError::failed(format!(
                    "Cannot change VG {name}: PV {} is {} bytes but its metadata (pe_start {}, pe_count {}) \
                     needs {end}; was the device shrunk? Restore its size first.",
                    pv.path.display(),
                    pv.dev_size,
                    entry.pe_start,
                    entry.pe_count
                )));
            }
            members.push(Member {
                key: key.clone(),
                pv,
            });
        }
        let mut vg = found.vg.clone();
        // lvm2 keeps a missing PV in the metadata with the MISSING flag.
        for pv in vg.pvs.iter_mut() {
            if missing.contains(&pv.key.as_str()) && !pv.is_missing() {
                pv.flags.push("MISSING".into());
            }
        }
        let w = VgForWrite {
            vg,
            members,
            joining: Vec::new(),
            last_seqno: 0,
            _lock: lock,
        };
        w.sync_lvmetad(ctx);
        Ok(w)
    }

    /// The disks win: when lvmetad's copy of the VG has another seqno
    /// than the one just read under the lock (or none), send the disks'.
    fn sync_lvmetad(&self, ctx: &Ctx) {
        let Some(seqno) = ctx.with_lvmetad(|d| d.vg_seqno(&self.vg.name)) else {
            return;
        };
        match seqno {
            Ok(Some(s)) if s == self.vg.seqno => {}
            Ok(cached) => {
                log::debug!(
                    "lvmetad has VG {} at seqno {cached:?}, the disks at {}: updating lvmetad",
                    self.vg.name,
                    self.vg.seqno
                );
                let section = self.vg.to_config();
                ctx.notify_lvmetad(&format!("VG {}", self.vg.name), |d| {
                    for m in &self.members {
                        d.pv_found_meta(
                            pv_meta(&m.pv),
                            Some((self.vg.name.clone(), section.clone())),
                        )?;
                    }
                    Ok(())
                });
            }
            Err(e) => ctx.warn(format!(
                "Cannot look VG {} up in lvmetad: {e}",
                self.vg.name
            )),
        }
    }

    /// A VG already read and locked by the caller (vgreduce --removemissing).
    pub fn from_parts(vg: Vg, members: Vec<Member>, lock: FileLock) -> VgForWrite {
        VgForWrite {
            vg,
            members,
            joining: Vec::new(),
            last_seqno: 0,
            _lock: lock,
        }
    }

    /// A VG that does not exist yet (vgcreate), under its lock.
    pub fn create(ctx: &Ctx, vg: Vg, joining: Vec<PvScan>) -> Result<VgForWrite, CmdError> {
        let lock = take_lock(ctx, &lock::vg_lock_name(&vg.name))?;
        Ok(VgForWrite {
            vg,
            members: Vec::new(),
            joining,
            last_seqno: 0,
            _lock: lock,
        })
    }

    /// The device of the VG's PV `key` (matched by PV id, so it stays
    /// right after the keys are renumbered).
    pub fn path_of(&self, key: &str) -> Option<&std::path::Path> {
        let id = &self.vg.pv_by_key(key)?.id;
        self.members
            .iter()
            .map(|m| &m.pv)
            .chain(&self.joining)
            .find(|p| &p.uuid() == id)
            .map(|p| p.path.as_path())
    }

    /// Write the changed VG (seqno + 1) to every metadata area of every PV
    /// still in it.
    pub fn commit(&mut self, ctx: &Ctx) -> Result<(), CmdError> {
        model::validate::validate(&self.vg).map_err(|errs| {
            CmdError::failed(format!(
                "Internal error: refusing to write invalid metadata for VG {}:\n{}",
                self.vg.name,
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ))
        })?;
        self.last_seqno = self.last_seqno.max(self.vg.seqno) + 1;
        self.vg.seqno = self.last_seqno;
        if ctx.common.test {
            ctx.say("TEST MODE: Metadata will NOT be updated.");
            return Ok(());
        }
        let text = render_disk_text(&self.vg, &command_line());
        let mut targets: Vec<(PvScan, Option<PvLabel>)> = Vec::new();
        for pv in &self.vg.pvs {
            if let Some(m) = self.members.iter().find(|m| m.pv.uuid() == pv.id) {
                let relabel = (!m.pv.label.is_used()).then(|| used_label(&m.pv.label, true));
                targets.push((m.pv.clone(), relabel));
            } else if let Some(j) = self.joining.iter().find(|j| j.uuid() == pv.id) {
                targets.push((j.clone(), Some(used_label(&j.label, true))));
            }
        }
        let mut devs: Vec<Device> = Vec::new();
        for (pv, _) in &targets {
            devs.push(Device::open(&pv.path, true)?);
        }
        let mut writes: Vec<PvWrite<'_>> = devs
            .iter_mut()
            .zip(&targets)
            .map(|(dev, (pv, relabel))| PvWrite {
                dev: dev as &mut (dyn BlockIo + Send),
                mdas: pv.label.metadata_areas.clone(),
                // Areas lvm2 marked ignored (--vgmetadatacopies) stay so.
                in_use: !pv.mdas.iter().all(|m| m.ignored()),
                new_label: relabel.clone(),
            })
            .collect();
        commit::write_vg(&self.vg.name, &mut writes, &text)
            .map_err(|e| CmdError::failed(format!("Failed to write VG {}: {e}", self.vg.name)))?;
        drop(writes);
        // PVs whose label now says "used" (joining ones) get pv_found too.
        let relabelled: Vec<PvMeta> = targets
            .iter()
            .filter_map(|(pv, relabel)| {
                let label = relabel.as_ref()?;
                let mut pv = pv.clone();
                pv.label = label.clone();
                Some(pv_meta(&pv))
            })
            .collect();
        let vg = &self.vg;
        ctx.notify_lvmetad(&format!("VG {}", vg.name), |d| {
            d.vg_update(vg)?;
            if !relabelled.is_empty() {
                let section = vg.to_config();
                for m in relabelled {
                    d.pv_found_meta(m, Some((vg.name.clone(), section.clone())))?;
                }
            }
            Ok(())
        });
        Ok(())
    }

    /// Release PVs that left the VG: their metadata areas are cleared and
    /// the label's "used" flag dropped, so they read as orphans.
    pub fn release(&self, pvs: &[PvScan]) -> Result<(), CmdError> {
        for pv in pvs {
            let mut dev = Device::open(&pv.path, true)?;
            let mut w = PvWrite {
                dev: &mut dev,
                mdas: pv.label.metadata_areas.clone(),
                in_use: false,
                new_label: None,
            };
            commit::clear_vg(&mut w, &used_label(&pv.label, false)).map_err(|e| {
                CmdError::failed(format!(
                    "Failed to clear the metadata of {}: {e}",
                    pv.path.display()
                ))
            })?;
        }
        Ok(())
    }
}

/// Tell lvmetad that PVs left their VG: they are orphans now (metadata
/// areas cleared, "used" flag dropped), as [`VgForWrite::release`] left them.
pub fn notify_released(ctx: &Ctx, pvs: &[PvScan]) {
    if pvs.is_empty() {
        return;
    }
    ctx.notify_lvmetad("released PVs", |d| {
        for pv in pvs {
            let mut orphan = pv.clone();
            orphan.label = used_label(&pv.label, false);
            d.pv_found_meta(pv_meta(&orphan), None)?;
        }
        Ok(())
    });
}

/// The label with PV_EXT_USED set or cleared.
pub fn used_label(label: &PvLabel, used: bool) -> PvLabel {
    let mut l = label.clone();
    if let Some(ext) = l.ext.as_mut() {
        if used {
            ext.flags |= PV_EXT_USED;
        } else {
            ext.flags &= !PV_EXT_USED;
        }
    }
    l
}

/// The command line as lvm2 records it in `description`: the command and
/// its arguments, without the `lvm` of a multi-call invocation.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let skip = usize::from(args.first().is_some_and(|a| {
        std::path::Path::new(a)
            .file_name()
            .is_some_and(|n| n == "lvm")
    }));
    args[skip..].join(" ")
}

/// The metadata text as lvm2 stores it on disk.
pub fn render_disk_text(vg: &Vg, command: &str) -> String {
    let header = TextHeader::new(
        &format!("Write from {command}."),
        super::lvops::now() as u64,
    );
    model::vg_to_text(vg, &header, model::TextStyle::Disk)
}

/// Find the scanned device for a path argument, with lvm2's messages.
pub fn lookup_device<'a>(
    ctx: &Ctx,
    scan: &'a Scan,
    path: &std::path::Path,
) -> Result<(usize, &'a DevScan), CmdError> {
    if !ctx.device_allowed(path) {
        return Err(CmdError::failed(format!(
            "Cannot use {}: device not found (or excluded by --devices or the lvm.conf filter).",
            path.display()
        )));
    }
    match scan.device_index(path) {
        Some(i) => Ok((i, &scan.devices[i].1)),
        None => Err(CmdError::failed(format!(
            "Cannot use {}: device not found.",
            path.display()
        ))),
    }
}
