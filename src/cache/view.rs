//! Read-only questions: lookups, lists, completion and the debugging dump.
//! Everything here is derived from the store at the time of the call.

use crate::format::config::{self, Node, Section, Value};
use crate::model::Vg;

use super::ops::lookup_id;
use super::state::PvEntry;
use super::types::{CacheError, LabelFacts, PvRef, VgIdent, VgRef};
use super::Cache;

/// A PV of a VG, as the VG's lookup shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VgPvView {
    pub pvid: String,
    /// Its key in the metadata (`pv0`, ...).
    pub key: String,
    /// Present, and a member of this VG.
    pub present: bool,
    /// The device in use, when present.
    pub devno: Option<u64>,
    pub device_hint: Option<String>,
    /// The metadata itself flags the PV `MISSING` (written while it was
    /// gone). This stays until a command restores it, even when the PV is
    /// present.
    pub missing_in_metadata: bool,
    pub outdated: bool,
    pub conflict: bool,
}

/// A VG lookup: the cached metadata and where each PV stands.
#[derive(Debug, Clone, PartialEq)]
pub struct VgView {
    pub vg: VgIdent,
    pub seqno: u64,
    /// The cached metadata with the live state applied, as 2.02 returned
    /// it: PVs not present get `MISSING` in their `status`; present PVs get
    /// their current device name as `device`. `flags` (where lvm2 stores a
    /// persistent MISSING) are left exactly as cached.
    pub metadata: Vg,
    pub complete: bool,
    /// In metadata order.
    pub pvs: Vec<VgPvView>,
    /// Listed PVs not present as members.
    pub missing: Vec<String>,
    /// PVs whose metadata for this VG is older than the cached one or does
    /// not list them (a command should rewrite or wipe them). May include
    /// PVs the metadata does not list.
    pub outdated: Vec<String>,
    /// PVs whose metadata has the cached seqno but other content.
    pub conflicting: Vec<String>,
    /// set_vg_info said newer metadata exists elsewhere.
    pub vg_invalid: bool,
}

/// One line of `vg_list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgSummary {
    pub vg: VgIdent,
    pub seqno: u64,
    pub complete: bool,
    pub pv_count: usize,
    pub missing_count: usize,
}

/// One device a PV was seen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    pub devno: u64,
    pub device_hint: String,
    pub label: LabelFacts,
}

/// A PV lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct PvView {
    pub pvid: String,
    /// The device in use (the one seen first of those present).
    pub device: DeviceView,
    /// Other devices with the same PV UUID, in the order seen.
    pub duplicates: Vec<DeviceView>,
    /// The VG it belongs to.
    pub vg: Option<VgIdent>,
    /// The VG its own metadata area names, and that copy's seqno.
    pub carries: Option<(VgIdent, u64)>,
    /// No VG lists it and it carries no VG metadata.
    pub orphan: bool,
    pub outdated: bool,
    pub conflict: bool,
}

/// Whether a VG is ready, for clients waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Complete,
    Incomplete {
        missing: Vec<String>,
    },
    /// No such VG yet: no PV with its metadata has been seen.
    Unknown,
}

impl Cache {
    /// Resolve a VG reference to its UUID.
    fn resolve_vg(&self, vg: VgRef<'_>) -> Result<String, CacheError> {
        let by_uuid = |u: &str| {
            let u = lookup_id(u);
            if self.store.vgs.contains_key(&u) {
                Ok(u)
            } else {
                Err(CacheError::VgNotFound)
            }
        };
        match vg {
            VgRef::Uuid(u) => by_uuid(u),
            VgRef::Name(n) => match self.store.names.get(n) {
                None => Err(CacheError::VgNotFound),
                Some(s) if s.len() > 1 => Err(CacheError::MultipleVgs(n.to_string())),
                Some(s) => Ok(s.first().cloned().expect("name index sets are never empty")),
            },
            VgRef::UuidAndName(u, n) => {
                let u = by_uuid(u)?;
                if self.store.vgs[&u].metadata.name != n {
                    return Err(CacheError::VgMismatch {
                        uuid: u,
                        name: n.to_string(),
                    });
                }
                Ok(u)
            }
        }
    }

    pub(super) fn ident(&self, vgid: &str) -> VgIdent {
        VgIdent {
            uuid: vgid.to_string(),
            name: self
                .store
                .vgs
                .get(vgid)
                .map(|e| e.metadata.name.clone())
                .unwrap_or_default(),
        }
    }

    pub fn vg_lookup(&self, vg: VgRef<'_>) -> Result<VgView, CacheError> {
        let vgid = self.resolve_vg(vg)?;
        let entry = &self.store.vgs[&vgid];
        let status = self.store.vg_status(&vgid).expect("resolved VG is cached");
        let in_list = |l: &[(String, u64)], p: &str| l.iter().any(|(x, _)| x == p);

        let mut metadata = (*entry.metadata).clone();
        let mut pvs = Vec::new();
        for pv in &mut metadata.pvs {
            let present = self.store.is_member(&pv.id, &vgid);
            let device = present.then(|| self.store.active(&pv.id)).flatten();
            pv.status.retain(|s| s != "MISSING");
            if !present {
                pv.status.push("MISSING".to_string());
            }
            pv.device = device.map(|d| d.hint.clone());
            pvs.push(VgPvView {
                pvid: pv.id.clone(),
                key: pv.key.clone(),
                present,
                devno: device.map(|d| d.devno),
                device_hint: device.map(|d| d.hint.clone()),
                missing_in_metadata: pv.flags.iter().any(|f| f == "MISSING"),
                outdated: in_list(&status.outdated, &pv.id),
                conflict: in_list(&status.conflicting, &pv.id),
            });
        }
        Ok(VgView {
            vg: self.ident(&vgid),
            seqno: status.seqno,
            metadata,
            complete: status.complete(),
            pvs,
            outdated: status.outdated.iter().map(|(p, _)| p.clone()).collect(),
            conflicting: status.conflicting.iter().map(|(p, _)| p.clone()).collect(),
            missing: status.missing,
            vg_invalid: entry.invalid_until.is_some(),
        })
    }

    /// Every cached VG, by UUID.
    pub fn vg_list(&self) -> Vec<VgSummary> {
        self.store
            .vgs
            .iter()
            .map(|(vgid, e)| {
                let status = self.store.vg_status(vgid).expect("listed VG is cached");
                VgSummary {
                    vg: self.ident(vgid),
                    seqno: status.seqno,
                    complete: status.complete(),
                    pv_count: e.listed.len(),
                    missing_count: status.missing.len(),
                }
            })
            .collect()
    }

    fn pv_view(&self, pvid: &str, entry: &PvEntry) -> PvView {
        let device_view = |d: &super::state::Device| DeviceView {
            devno: d.devno,
            device_hint: d.hint.clone(),
            label: d.label.clone(),
        };
        let vg = self.store.membership(pvid);
        let carries = entry.active().metadata.as_ref();
        let status = carries.and_then(|m| self.store.vg_status(&m.id));
        let in_list =
            |l: Option<&Vec<(String, u64)>>| l.is_some_and(|l| l.iter().any(|(p, _)| p == pvid));
        PvView {
            pvid: pvid.to_string(),
            device: device_view(entry.active()),
            duplicates: entry.devices[1..].iter().map(device_view).collect(),
            vg: vg.map(|v| self.ident(v)),
            carries: carries.map(|m| (self.ident(&m.id), m.seqno)),
            orphan: vg.is_none() && carries.is_none(),
            outdated: in_list(status.as_ref().map(|s| &s.outdated)),
            conflict: in_list(status.as_ref().map(|s| &s.conflicting)),
        }
    }

    pub fn pv_lookup(&self, pv: PvRef<'_>) -> Result<PvView, CacheError> {
        let pvid = match pv {
            PvRef::Id(id) => lookup_id(id),
            PvRef::Devno(d) => self
                .store
                .devices
                .get(&d)
                .cloned()
                .ok_or(CacheError::DeviceNotFound)?,
        };
        let entry = self.store.pvs.get(&pvid).ok_or(CacheError::PvNotFound)?;
        Ok(self.pv_view(&pvid, entry))
    }

    /// Every present PV, by UUID.
    pub fn pv_list(&self) -> Vec<PvView> {
        self.store
            .pvs
            .iter()
            .map(|(pvid, e)| self.pv_view(pvid, e))
            .collect()
    }

    pub fn is_complete(&self, vg: VgRef<'_>) -> Result<bool, CacheError> {
        let vgid = self.resolve_vg(vg)?;
        Ok(self.store.vg_status(&vgid).is_some_and(|s| s.complete()))
    }

    /// For clients waiting until a VG is complete: an unknown VG is not an
    /// error (its first PV may not have been seen yet); an ambiguous name
    /// is.
    pub fn completion(&self, vg: VgRef<'_>) -> Result<Completion, CacheError> {
        let vgid = match self.resolve_vg(vg) {
            Ok(v) => v,
            Err(CacheError::VgNotFound) => return Ok(Completion::Unknown),
            Err(e) => return Err(e),
        };
        let status = self.store.vg_status(&vgid).expect("resolved VG is cached");
        Ok(if status.complete() {
            Completion::Complete
        } else {
            Completion::Incomplete {
                missing: status.missing,
            }
        })
    }

    /// Everything the cache holds, as config-tree text (for `dump` and
    /// debugging; not a stable format).
    pub fn dump(&self) -> String {
        let int = |v: u64| Node::Value(Value::Int(v as i64));
        let str_ = |v: &str| Node::Value(Value::Str(v.to_string()));
        let list = |items: Vec<&str>| Node::Value(Value::str_array(items));
        let mut root = Section::new();

        let info = self.global.info(&self.token);
        root.items.push(("token".into(), str_(&info.token)));
        root.items
            .push(("global_invalid".into(), int(info.global_invalid as u64)));
        root.items
            .push(("global_disable".into(), int(info.global_disable as u64)));
        root.items
            .push(("disable_reason".into(), str_(&info.disable_reason_text())));

        let mut vgs = Section::new();
        for (vgid, e) in &self.store.vgs {
            let s = self.store.vg_status(vgid).expect("cached");
            let mut v = Section::new();
            v.items.push(("name".into(), str_(&s.name)));
            v.items.push(("seqno".into(), int(s.seqno)));
            v.items.push(("complete".into(), int(s.complete() as u64)));
            v.items.push((
                "missing".into(),
                list(s.missing.iter().map(String::as_str).collect()),
            ));
            v.items.push((
                "outdated".into(),
                list(s.outdated.iter().map(|(p, _)| p.as_str()).collect()),
            ));
            v.items.push((
                "conflicting".into(),
                list(s.conflicting.iter().map(|(p, _)| p.as_str()).collect()),
            ));
            if let Some(u) = e.invalid_until {
                v.items.push(("invalid_until".into(), int(u)));
            }
            v.items
                .push(("metadata".into(), Node::Section(e.metadata.to_config())));
            vgs.items.push((vgid.clone(), Node::Section(v)));
        }
        root.items
            .push(("volume_groups".into(), Node::Section(vgs)));

        let mut pvs = Section::new();
        for (pvid, e) in &self.store.pvs {
            let mut p = Section::new();
            if let Some(v) = self.store.membership(pvid) {
                p.items.push(("vgid".into(), str_(v)));
            }
            for (i, d) in e.devices.iter().enumerate() {
                let mut s = Section::new();
                s.items.push(("devno".into(), int(d.devno)));
                s.items.push(("device_name".into(), str_(&d.hint)));
                s.items.push(("dev_size".into(), int(d.label.dev_size)));
                s.items.push(("pe_start".into(), int(d.label.pe_start)));
                s.items
                    .push(("mda_count".into(), int(d.label.mdas.len() as u64)));
                if let Some(m) = &d.metadata {
                    s.items.push(("metadata_vgid".into(), str_(&m.id)));
                    s.items.push(("metadata_seqno".into(), int(m.seqno)));
                }
                let key = if i == 0 {
                    "device".to_string()
                } else {
                    format!("duplicate{i}")
                };
                p.items.push((key, Node::Section(s)));
            }
            pvs.items.push((pvid.clone(), Node::Section(p)));
        }
        root.items
            .push(("physical_volumes".into(), Node::Section(pvs)));
        config::print(&root)
    }
}
