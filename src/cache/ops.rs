//! The operations that change the cache: reports from pvscan (pv_found,
//! pv_gone, pv_clear_all) and from commands that wrote metadata
//! (vg_update, vg_remove, set_vg_info). Each validates its input first, so
//! that an `Err` leaves the cache untouched, then mutates the store,
//! drops VGs left without PVs, and reconciles to get the events.

use std::sync::Arc;

use crate::model::Vg;
use crate::uuid;

use super::event::RemoveReason;
use super::state::{listed_ids, same_metadata, Device, Touched};
use super::types::{
    CacheError, Outcome, PvFound, PvFoundReply, PvFoundStatus, PvGoneReply, PvRef, VgRef,
    VgUpdateReply,
};
use super::Cache;

/// The dashed form of a UUID given dashed or raw; `what` names it in the
/// error.
fn strict_id(id: &str, what: &str) -> Result<String, CacheError> {
    uuid::parse(id)
        .map(|raw| uuid::format(&raw))
        .map_err(|e| CacheError::Invalid(format!("{what}: {e}")))
}

/// The dashed form of a UUID used to look something up; anything invalid
/// is returned as is (and then simply not found).
pub(super) fn lookup_id(id: &str) -> String {
    uuid::parse(id)
        .map(|raw| uuid::format(&raw))
        .unwrap_or_else(|_| id.to_string())
}

/// Metadata as the cache keeps it: ids dashed, and the `device` hints
/// dropped (they differ between otherwise identical copies and go stale;
/// lookups put the current device names back, as 2.02's filter_metadata
/// and update_pv_status did).
fn normalize_vg(mut vg: Vg) -> Result<Vg, CacheError> {
    if vg.name.is_empty() {
        return Err(CacheError::Invalid("VG metadata without a name".into()));
    }
    if vg.seqno == 0 {
        return Err(CacheError::Invalid(format!(
            "VG {}: metadata without a valid seqno",
            vg.name
        )));
    }
    vg.id = strict_id(&vg.id, &format!("VG {} UUID", vg.name))?;
    for pv in &mut vg.pvs {
        pv.id = strict_id(&pv.id, &format!("VG {} PV {} UUID", vg.name, pv.key))?;
        pv.device = None;
    }
    Ok(vg)
}

impl Cache {
    /// A device reports a PV label, and the VG metadata it holds if any.
    pub fn pv_found(&mut self, found: PvFound) -> Result<Outcome<PvFoundReply>, CacheError> {
        let pvid = strict_id(&found.pvid, "PV UUID")?;
        let metadata = found.metadata.map(normalize_vg).transpose()?;
        let devno = found.devno;

        // For the reply: seqnos of the VGs this report may concern, before.
        let seqno_of = |c: &Cache, vgid: &str| c.store.vgs.get(vgid).map(|e| e.metadata.seqno);
        let mut before: Vec<(String, Option<u64>)> = Vec::new();
        for v in self
            .store
            .listed_by
            .get(&pvid)
            .into_iter()
            .flatten()
            .chain(metadata.as_ref().map(|m| &m.id))
        {
            before.push((v.clone(), seqno_of(self, v)));
        }
        let old_device = self
            .store
            .pvs
            .get(&pvid)
            .and_then(|e| e.devices.iter().find(|d| d.devno == devno))
            .cloned();

        let mut t = Touched::default();
        // A device that held another PV was reused (pvcreate'd again, or
        // the devno recycled without pv_gone): the old PV leaves it.
        if let Some(other) = self
            .store
            .devices
            .get(&devno)
            .filter(|o| **o != pvid)
            .cloned()
        {
            self.store.remove_device(devno, &mut t);
            self.adopt_active_metadata(&other, &mut t);
        }
        let metadata = metadata.map(|m| self.intern(Arc::new(m)));
        let device = Device {
            devno,
            hint: found.device_hint,
            label: found.label,
            metadata,
        };
        let device_changed = old_device.as_ref() != Some(&device);
        self.store.put_device(&pvid, device, &mut t);
        self.adopt_active_metadata(&pvid, &mut t);
        self.drop_unused(&mut t, None);
        let events = self.reported.reconcile(&self.store, &t);

        // The reply: where the PV stands now.
        let entry = &self.store.pvs[&pvid];
        let active = entry.active();
        let member = self.store.membership(&pvid).map(str::to_string);
        let vgid = member
            .clone()
            .or_else(|| active.metadata.as_ref().map(|m| m.id.clone()));
        let vg_status = vgid.as_deref().and_then(|v| self.store.vg_status(v));
        let status = match (&member, &vg_status) {
            (Some(_), Some(s)) if s.complete() => PvFoundStatus::Complete,
            (Some(_), _) => PvFoundStatus::Incomplete,
            (None, _) if vgid.is_some() => PvFoundStatus::Stale,
            (None, _) => PvFoundStatus::Orphan,
        };
        let flagged = |list: Option<&Vec<(String, u64)>>| {
            active.devno == devno && list.is_some_and(|l| l.iter().any(|(p, _)| *p == pvid))
        };
        Ok(Outcome {
            reply: PvFoundReply {
                pvid: pvid.clone(),
                status,
                vg: vgid.as_deref().map(|v| self.ident(v)),
                seqno_before: vgid
                    .as_deref()
                    .and_then(|v| before.iter().find(|(b, _)| b == v))
                    .and_then(|(_, s)| *s),
                seqno_after: vg_status.as_ref().map(|s| s.seqno),
                changed: device_changed || !events.is_empty(),
                duplicate_of: (active.devno != devno).then_some(active.devno),
                outdated: flagged(vg_status.as_ref().map(|s| &s.outdated)),
                conflict: flagged(vg_status.as_ref().map(|s| &s.conflicting)),
            },
            events,
        })
    }

    /// A device, or a PV on all its devices, went away.
    pub fn pv_gone(&mut self, pv: PvRef<'_>) -> Result<Outcome<PvGoneReply>, CacheError> {
        let pvid = match pv {
            PvRef::Devno(d) => self
                .store
                .devices
                .get(&d)
                .cloned()
                .ok_or(CacheError::DeviceNotFound)?,
            PvRef::Id(id) => {
                let id = lookup_id(id);
                if !self.store.pvs.contains_key(&id) {
                    return Err(CacheError::PvNotFound);
                }
                id
            }
        };
        let vg = self.store.membership(&pvid).map(|v| self.ident(v));
        let mut t = Touched::default();
        match pv {
            PvRef::Devno(d) => {
                self.store.remove_device(d, &mut t);
                // A duplicate may have taken over, with its own metadata.
                self.adopt_active_metadata(&pvid, &mut t);
            }
            PvRef::Id(_) => self.store.remove_pv(&pvid, &mut t),
        }
        self.drop_unused(&mut t, None);
        let events = self.reported.reconcile(&self.store, &t);
        Ok(Outcome {
            reply: PvGoneReply {
                still_present_on: self.store.active(&pvid).map(|d| d.devno),
                pvid,
                vg,
            },
            events,
        })
    }

    /// Forget every PV and VG (the start of a full rescan). The token and
    /// global flags stay.
    pub fn pv_clear_all(&mut self) -> Outcome<()> {
        let mut t = Touched::default();
        for v in self.store.vgs.keys() {
            t.reasons.insert(v.clone(), RemoveReason::Cleared);
        }
        self.store.clear(&mut t);
        Outcome {
            reply: (),
            events: self.reported.reconcile(&self.store, &t),
        }
    }

    /// A command wrote new metadata for a VG.
    ///
    /// The seqno must be higher than the cached one, or equal with the same
    /// content (then nothing changes). The command wrote the metadata to
    /// every PV of the VG that has a metadata area in use, so those now
    /// carry it; PVs that carried the VG's metadata but are no longer
    /// listed were removed from it (their areas rewritten as orphans).
    pub fn vg_update(&mut self, vg: Vg) -> Result<Outcome<VgUpdateReply>, CacheError> {
        let new = Arc::new(normalize_vg(vg)?);
        let vgid = new.id.clone();
        let old = self.store.vgs.get(&vgid).map(|e| e.metadata.clone());
        if let Some(old) = &old {
            if new.seqno < old.seqno {
                return Err(CacheError::SeqnoOlder {
                    vg: new.name.clone(),
                    new: new.seqno,
                    cached: old.seqno,
                });
            }
            if new.seqno == old.seqno {
                if !same_metadata(&new, old) {
                    return Err(CacheError::SeqnoConflict {
                        vg: new.name.clone(),
                        seqno: new.seqno,
                    });
                }
                return Ok(Outcome {
                    reply: VgUpdateReply {
                        vg: self.ident(&vgid),
                        seqno_before: Some(old.seqno),
                        seqno_after: old.seqno,
                        changed: false,
                    },
                    events: Vec::new(),
                });
            }
        }

        let mut t = Touched::default();
        self.store.set_vg(new.clone(), &mut t);
        for p in listed_ids(&new) {
            if self.store.active(p).is_some_and(|d| d.label.has_used_mda()) {
                self.store.set_carried(p, Some(new.clone()), &mut t);
            }
        }
        let carriers: Vec<String> = self
            .store
            .carried_by
            .get(&vgid)
            .into_iter()
            .flatten()
            .filter(|p| !self.store.lists(&vgid, p))
            .cloned()
            .collect();
        for p in carriers {
            self.store.set_carried(&p, None, &mut t);
        }
        // The VG written is kept even without a present PV: the command
        // may know devices the cache has not been told about yet.
        self.drop_unused(&mut t, Some(&vgid));
        let events = self.reported.reconcile(&self.store, &t);
        Ok(Outcome {
            reply: VgUpdateReply {
                vg: self.ident(&vgid),
                seqno_before: old.map(|o| o.seqno),
                seqno_after: new.seqno,
                changed: true,
            },
            events,
        })
    }

    /// A command removed a VG (and wiped its metadata from its PVs, which
    /// become orphans unless another VG lists them). Removing a VG that is
    /// not cached succeeds and changes nothing (reply `false`), as in 2.02.
    pub fn vg_remove(&mut self, uuid: &str) -> Outcome<bool> {
        let vgid = lookup_id(uuid);
        if !self.store.vgs.contains_key(&vgid) {
            return Outcome {
                reply: false,
                events: Vec::new(),
            };
        }
        let mut t = Touched::default();
        t.reasons.insert(vgid.clone(), RemoveReason::Removed);
        let carriers: Vec<String> = self
            .store
            .carried_by
            .get(&vgid)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for p in carriers {
            self.store.set_carried(&p, None, &mut t);
        }
        self.store.remove_vg(&vgid, &mut t);
        self.drop_unused(&mut t, None);
        Outcome {
            reply: true,
            events: self.reported.reconcile(&self.store, &t),
        }
    }

    /// lvm2 2.02's set_vg_info: someone (lvmlockd) knows the VG's metadata
    /// reached seqno `version` elsewhere. If the cached copy is older (or
    /// `version` is 0), lookups report `vg_invalid` until metadata at least
    /// that new is cached. Looks the VG up by UUID, then by name. Returns
    /// whether the VG was marked; an unknown VG is not an error.
    pub fn set_vg_info(&mut self, vg: VgRef<'_>, version: u64) -> bool {
        let vgid = match vg {
            VgRef::Uuid(u) | VgRef::UuidAndName(u, _)
                if self.store.vgs.contains_key(&lookup_id(u)) =>
            {
                lookup_id(u)
            }
            VgRef::Name(n) | VgRef::UuidAndName(_, n) => {
                match self.store.names.get(n).and_then(|s| s.first()) {
                    Some(v) => v.clone(),
                    None => return false,
                }
            }
            VgRef::Uuid(_) => return false,
        };
        let Some(entry) = self.store.vgs.get_mut(&vgid) else {
            return false;
        };
        if version != 0 && entry.metadata.seqno >= version {
            return false;
        }
        entry.invalid_until = Some(version);
        true
    }

    // --- helpers ---------------------------------------------------------

    /// The cached copy when `m` is identical to it, so that equal copies
    /// share memory and compare by pointer.
    fn intern(&self, m: Arc<Vg>) -> Arc<Vg> {
        match self.store.vgs.get(&m.id) {
            Some(e) if e.metadata.seqno == m.seqno && same_metadata(&e.metadata, &m) => {
                e.metadata.clone()
            }
            _ => m,
        }
    }

    /// Apply the metadata the device in use for `pvid` carries, by the
    /// incremental assembly rules: a VG not cached yet is created from it;
    /// a higher seqno replaces the cached copy; an equal seqno with equal
    /// content is shared; an equal seqno with other content (a conflict)
    /// and a lower seqno (an outdated PV) are kept only on the PV, where
    /// the derived status reports them.
    fn adopt_active_metadata(&mut self, pvid: &str, t: &mut Touched) {
        let Some(m) = self.store.carried(pvid).cloned() else {
            return;
        };
        match self.store.vgs.get(&m.id) {
            None => self.store.set_vg(m, t),
            Some(e) if m.seqno > e.metadata.seqno => self.store.set_vg(m, t),
            Some(e)
                if m.seqno == e.metadata.seqno
                    && !Arc::ptr_eq(&m, &e.metadata)
                    && *m == *e.metadata =>
            {
                let cached = e.metadata.clone();
                self.store.set_carried(pvid, Some(cached), t);
            }
            Some(_) => {}
        }
    }

    /// Drop every touched VG that no present PV belongs to or carries
    /// metadata of, except `keep`.
    fn drop_unused(&mut self, t: &mut Touched, keep: Option<&str>) {
        loop {
            let empty: Vec<String> = t
                .vgs
                .iter()
                .filter(|v| Some(v.as_str()) != keep)
                .filter(|v| self.store.vgs.contains_key(*v) && !self.store.has_present_pv(v))
                .cloned()
                .collect();
            if empty.is_empty() {
                return;
            }
            for v in empty {
                self.store.remove_vg(&v, t);
            }
        }
    }
}
