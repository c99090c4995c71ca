//! The cache's storage: what was reported (devices, labels, metadata) plus
//! the indices that make the derived questions cheap. Everything else —
//! which VG a PV belongs to, which PVs a VG misses, which copies are
//! outdated or conflicting — is *derived* from this on demand, never
//! stored, so it cannot drift from the facts.
//!
//! Every mutation goes through the methods here, which keep the indices
//! right and record in a [`Touched`] set every PV and VG whose derived
//! status may have changed; `reconcile.rs` turns those into events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::Vg;

use super::event::RemoveReason;
use super::types::LabelFacts;

/// One device carrying a PV label.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Device {
    pub devno: u64,
    pub hint: String,
    pub label: LabelFacts,
    /// The VG metadata this device's metadata area holds (device hints
    /// stripped, ids dashed). Shared with the cached copy when equal.
    pub metadata: Option<Arc<Vg>>,
}

/// A present PV.
#[derive(Debug, Clone)]
pub(super) struct PvEntry {
    /// Every device the PV was seen on, in the order first seen. `[0]` is
    /// the one in use; the others are duplicates, kept so that one can take
    /// over when it goes away. Never empty.
    pub devices: Vec<Device>,
}

impl PvEntry {
    pub fn active(&self) -> &Device {
        &self.devices[0]
    }
}

/// A cached VG.
#[derive(Debug, Clone)]
pub(super) struct VgEntry {
    pub metadata: Arc<Vg>,
    /// [`listed_ids`] of the metadata, computed once: assembly asks for it
    /// on every report.
    pub listed: Vec<String>,
    /// lvm2 2.02's set_vg_info: someone knows of metadata at least this new
    /// (lvmlockd does); until such a seqno is cached, lookups say
    /// `vg_invalid` so that commands reread the disks.
    pub invalid_until: Option<u64>,
}

/// What an operation may have changed, for `reconcile`.
#[derive(Debug, Default)]
pub(super) struct Touched {
    pub pvs: BTreeSet<String>,
    pub vgs: BTreeSet<String>,
    /// Why VGs removed by this operation went; default `NoPvsLeft`.
    pub reasons: BTreeMap<String, RemoveReason>,
}

/// The derived state of a VG, as events report it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct VgStatus {
    pub name: String,
    pub seqno: u64,
    /// Listed PVs that are not present as members of this VG, in metadata
    /// order.
    pub missing: Vec<String>,
    /// Present PVs whose metadata for this VG is older than the cached one
    /// or does not list them: (pvid, their seqno). Sorted by pvid.
    pub outdated: Vec<(String, u64)>,
    /// Present PVs whose metadata has the cached seqno but other content.
    pub conflicting: Vec<(String, u64)>,
}

impl VgStatus {
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// The derived state of a present PV, as events report it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PvStatus {
    /// Device in use first, then duplicates.
    pub devices: Vec<u64>,
    /// The VG it belongs to.
    pub vg: Option<String>,
    /// The VG its own metadata names.
    pub carries: Option<String>,
}

impl PvStatus {
    pub fn orphan(&self) -> bool {
        self.vg.is_none() && self.carries.is_none()
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Store {
    /// Present PVs by dashed UUID.
    pub pvs: BTreeMap<String, PvEntry>,
    /// Every known device (in use or duplicate) → its PV.
    pub devices: BTreeMap<u64, String>,
    /// Cached VGs by dashed UUID.
    pub vgs: BTreeMap<String, VgEntry>,
    /// VG name → UUIDs (two VGs may share a name; lookups by name then
    /// fail with "multiple").
    pub names: BTreeMap<String, BTreeSet<String>>,
    /// PV UUID → the cached VGs whose metadata lists it (present or not).
    pub listed_by: BTreeMap<String, BTreeSet<String>>,
    /// VG UUID → present PVs whose device in use carries metadata of it.
    pub carried_by: BTreeMap<String, BTreeSet<String>>,
}

/// Whether two copies of metadata are the same (device hints are stripped
/// on input, so plain equality is lvm2's compare_config without them).
pub(super) fn same_metadata(a: &Arc<Vg>, b: &Arc<Vg>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

/// The PV ids a VG's metadata lists, in order, without repeats.
pub(super) fn listed_ids(vg: &Vg) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    vg.pvs
        .iter()
        .map(|p| p.id.as_str())
        .filter(|id| seen.insert(*id))
        .collect()
}

impl Store {
    // --- derived questions ---------------------------------------------

    pub fn active(&self, pvid: &str) -> Option<&Device> {
        self.pvs.get(pvid).map(PvEntry::active)
    }

    /// The metadata the device in use for `pvid` carries.
    pub fn carried(&self, pvid: &str) -> Option<&Arc<Vg>> {
        self.active(pvid).and_then(|d| d.metadata.as_ref())
    }

    pub fn lists(&self, vgid: &str, pvid: &str) -> bool {
        self.listed_by.get(pvid).is_some_and(|s| s.contains(vgid))
    }

    /// The VG a present PV belongs to:
    /// 1. the VG its own metadata names, if that VG's cached metadata lists
    ///    it (a PV whose metadata moved it to another VG follows it);
    /// 2. otherwise a cached VG listing it — the one with the smallest
    ///    UUID if several do (only inconsistent disks do that; the rule is
    ///    arbitrary but does not depend on the order of reports);
    /// 3. otherwise none.
    pub fn membership(&self, pvid: &str) -> Option<&str> {
        let entry = self.pvs.get(pvid)?;
        let listed = self.listed_by.get(pvid)?;
        if let Some(m) = &entry.active().metadata {
            if let Some(v) = listed.get(m.id.as_str()) {
                return Some(v);
            }
        }
        listed.first().map(String::as_str)
    }

    pub fn is_member(&self, pvid: &str, vgid: &str) -> bool {
        self.membership(pvid) == Some(vgid)
    }

    /// A VG stays cached while some present PV belongs to it or carries
    /// its metadata.
    pub fn has_present_pv(&self, vgid: &str) -> bool {
        if self.carried_by.get(vgid).is_some_and(|s| !s.is_empty()) {
            return true;
        }
        self.vgs
            .get(vgid)
            .is_some_and(|e| e.listed.iter().any(|p| self.is_member(p, vgid)))
    }

    pub fn vg_status(&self, vgid: &str) -> Option<VgStatus> {
        let entry = self.vgs.get(vgid)?;
        let cached = &entry.metadata;
        let missing = entry
            .listed
            .iter()
            .filter(|p| !self.is_member(p, vgid))
            .cloned()
            .collect();
        let mut outdated = Vec::new();
        let mut conflicting = Vec::new();
        for pvid in self.carried_by.get(vgid).into_iter().flatten() {
            let Some(m) = self.carried(pvid) else {
                continue;
            };
            if m.seqno == cached.seqno && !same_metadata(m, cached) {
                conflicting.push((pvid.clone(), m.seqno));
            } else if m.seqno < cached.seqno || !self.lists(vgid, pvid) {
                outdated.push((pvid.clone(), m.seqno));
            }
        }
        Some(VgStatus {
            name: cached.name.clone(),
            seqno: cached.seqno,
            missing,
            outdated,
            conflicting,
        })
    }

    pub fn pv_status(&self, pvid: &str) -> Option<PvStatus> {
        let entry = self.pvs.get(pvid)?;
        Some(PvStatus {
            devices: entry.devices.iter().map(|d| d.devno).collect(),
            vg: self.membership(pvid).map(str::to_string),
            carries: entry.active().metadata.as_ref().map(|m| m.id.clone()),
        })
    }

    // --- touching ------------------------------------------------------

    /// Record a PV and every VG whose status depends on it: the VGs
    /// listing it and the VG its metadata names. Called before and after a
    /// change to the PV so that both the old and new VGs are covered.
    fn touch_pv(&self, pvid: &str, t: &mut Touched) {
        t.pvs.insert(pvid.to_string());
        if let Some(vgs) = self.listed_by.get(pvid) {
            t.vgs.extend(vgs.iter().cloned());
        }
        if let Some(m) = self.carried(pvid) {
            t.vgs.insert(m.id.clone());
        }
    }

    /// Record a VG and every PV its metadata lists (their membership may
    /// change with it), with the VGs depending on those.
    fn touch_vg(&self, vgid: &str, t: &mut Touched) {
        t.vgs.insert(vgid.to_string());
        if let Some(e) = self.vgs.get(vgid) {
            for p in &e.listed {
                self.touch_pv(p, t);
            }
        }
    }

    // --- VG mutations --------------------------------------------------

    /// Cache `metadata` for its VG, replacing what was there (also under
    /// another name: a rename).
    pub fn set_vg(&mut self, metadata: Arc<Vg>, t: &mut Touched) {
        let vgid = metadata.id.clone();
        // Metadata at least as new as what set_vg_info announced makes the
        // VG valid again.
        let invalid_until = self
            .vgs
            .get(&vgid)
            .and_then(|e| e.invalid_until)
            .filter(|v| metadata.seqno < *v);
        self.unindex_vg(&vgid, t);
        self.names
            .entry(metadata.name.clone())
            .or_default()
            .insert(vgid.clone());
        let listed: Vec<String> = listed_ids(&metadata)
            .into_iter()
            .map(str::to_string)
            .collect();
        for p in &listed {
            self.listed_by
                .entry(p.clone())
                .or_default()
                .insert(vgid.clone());
        }
        self.vgs.insert(
            vgid.clone(),
            VgEntry {
                metadata,
                listed,
                invalid_until,
            },
        );
        self.touch_vg(&vgid, t);
    }

    /// Drop a VG from the cache (the PVs carrying its metadata keep it:
    /// callers decide about those).
    pub fn remove_vg(&mut self, vgid: &str, t: &mut Touched) -> Option<VgEntry> {
        self.unindex_vg(vgid, t);
        let entry = self.vgs.remove(vgid)?;
        Some(entry)
    }

    /// Remove a VG's name and listings from the indices, touching what
    /// depended on them.
    fn unindex_vg(&mut self, vgid: &str, t: &mut Touched) {
        let Some(old) = self.vgs.get(vgid).cloned() else {
            return;
        };
        self.touch_vg(vgid, t);
        if let Some(set) = self.names.get_mut(&old.metadata.name) {
            set.remove(vgid);
            if set.is_empty() {
                self.names.remove(&old.metadata.name);
            }
        }
        for p in &old.listed {
            if let Some(set) = self.listed_by.get_mut(p) {
                set.remove(vgid);
                if set.is_empty() {
                    self.listed_by.remove(p);
                }
            }
        }
    }

    // --- PV mutations --------------------------------------------------

    /// Change a PV's entry (or create it), keeping `devices` and
    /// `carried_by` right. `f` gets `None` for a PV not present yet and
    /// returns the new entry, or `None` for "no longer present".
    fn update_pv(
        &mut self,
        pvid: &str,
        t: &mut Touched,
        f: impl FnOnce(Option<PvEntry>) -> Option<PvEntry>,
    ) {
        self.touch_pv(pvid, t);
        let old = self.pvs.remove(pvid);
        if let Some(old) = &old {
            for d in &old.devices {
                self.devices.remove(&d.devno);
            }
            if let Some(m) = &old.active().metadata {
                if let Some(set) = self.carried_by.get_mut(&m.id) {
                    set.remove(pvid);
                    if set.is_empty() {
                        self.carried_by.remove(&m.id);
                    }
                }
            }
        }
        if let Some(new) = f(old).filter(|e| !e.devices.is_empty()) {
            for d in &new.devices {
                self.devices.insert(d.devno, pvid.to_string());
            }
            if let Some(m) = &new.active().metadata {
                self.carried_by
                    .entry(m.id.clone())
                    .or_default()
                    .insert(pvid.to_string());
            }
            self.pvs.insert(pvid.to_string(), new);
        }
        self.touch_pv(pvid, t);
    }

    /// Record what a device reports for a PV: updates that device's copy
    /// in place, or adds the device (after the others: a duplicate if the
    /// PV was already present elsewhere). The device must not belong to
    /// another PV (callers remove it first).
    pub fn put_device(&mut self, pvid: &str, dev: Device, t: &mut Touched) {
        self.update_pv(pvid, t, |old| {
            let mut entry = old.unwrap_or(PvEntry {
                devices: Vec::new(),
            });
            match entry.devices.iter_mut().find(|d| d.devno == dev.devno) {
                Some(slot) => *slot = dev,
                None => entry.devices.push(dev),
            }
            Some(entry)
        });
    }

    /// Forget one device. Returns its PV; the PV stays present if it was
    /// seen on another device (the next one seen takes over).
    pub fn remove_device(&mut self, devno: u64, t: &mut Touched) -> Option<String> {
        let pvid = self.devices.get(&devno)?.clone();
        self.update_pv(&pvid, t, |old| {
            let mut entry = old?;
            entry.devices.retain(|d| d.devno != devno);
            Some(entry)
        });
        Some(pvid)
    }

    /// Forget a PV on every device.
    pub fn remove_pv(&mut self, pvid: &str, t: &mut Touched) {
        self.update_pv(pvid, t, |_| None);
    }

    /// Replace the metadata the device in use for a present PV carries.
    pub fn set_carried(&mut self, pvid: &str, metadata: Option<Arc<Vg>>, t: &mut Touched) {
        if !self.pvs.contains_key(pvid) {
            return;
        }
        self.update_pv(pvid, t, |old| {
            let mut entry = old?;
            entry.devices[0].metadata = metadata;
            Some(entry)
        });
    }

    /// Forget everything, touching all of it.
    pub fn clear(&mut self, t: &mut Touched) {
        t.pvs.extend(self.pvs.keys().cloned());
        t.vgs.extend(self.vgs.keys().cloned());
        *self = Store::default();
    }

    // --- checks ----------------------------------------------------------

    /// The indices rebuilt from the primary maps; for tests.
    #[cfg(test)]
    pub fn check_indices(&self) {
        let mut devices = BTreeMap::new();
        let mut carried_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (pvid, e) in &self.pvs {
            assert!(!e.devices.is_empty());
            for d in &e.devices {
                assert!(devices.insert(d.devno, pvid.clone()).is_none());
            }
            if let Some(m) = &e.active().metadata {
                carried_by
                    .entry(m.id.clone())
                    .or_default()
                    .insert(pvid.clone());
                assert!(
                    self.vgs.contains_key(&m.id),
                    "PV {pvid} carries metadata of uncached VG {}",
                    m.id
                );
            }
        }
        let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut listed_by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (vgid, e) in &self.vgs {
            assert_eq!(&e.metadata.id, vgid);
            names
                .entry(e.metadata.name.clone())
                .or_default()
                .insert(vgid.clone());
            let listed: Vec<&str> = e.listed.iter().map(String::as_str).collect();
            assert_eq!(listed, listed_ids(&e.metadata));
            for p in listed_ids(&e.metadata) {
                listed_by
                    .entry(p.to_string())
                    .or_default()
                    .insert(vgid.clone());
            }
        }
        assert_eq!(devices, self.devices, "device index");
        assert_eq!(carried_by, self.carried_by, "carried_by index");
        assert_eq!(names, self.names, "name index");
        assert_eq!(listed_by, self.listed_by, "listed_by index");
    }
}
