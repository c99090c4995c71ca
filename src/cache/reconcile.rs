//! Events as differences: the cache remembers what it last reported about
//! every PV and VG, and after each operation compares that with the status
//! it now derives for whatever the operation touched. A transition is thus
//! reported exactly once, however many reports lead up to it, and nothing
//! is reported when a report changes nothing.

use std::collections::BTreeMap;

use super::event::{Event, RemoveReason};
use super::state::{PvStatus, Store, Touched, VgStatus};
use super::types::VgIdent;

#[derive(Debug, Clone, Default)]
pub(super) struct Reported {
    pub vgs: BTreeMap<String, VgStatus>,
    pub pvs: BTreeMap<String, PvStatus>,
}

impl Reported {
    /// Bring the reported state up to date for everything in `t`, returning
    /// the events, ordered: PV device events (by PV), then VG events (by
    /// VG: added/renamed/changed/removed, completeness, outdated and
    /// conflicting copies), then PV membership events (by PV).
    pub fn reconcile(&mut self, store: &Store, t: &Touched) -> Vec<Event> {
        // Names of VGs as reported before, for events about VGs that left.
        let old_names: BTreeMap<String, String> = t
            .vgs
            .iter()
            .filter_map(|v| self.vgs.get(v).map(|s| (v.clone(), s.name.clone())))
            .collect();
        let ident = |vgid: &str| VgIdent {
            uuid: vgid.to_string(),
            name: store
                .vgs
                .get(vgid)
                .map(|e| e.metadata.name.clone())
                .or_else(|| old_names.get(vgid).cloned())
                .unwrap_or_default(),
        };

        let mut device_events = Vec::new();
        let mut vg_events = Vec::new();
        let mut member_events = Vec::new();

        for vgid in &t.vgs {
            let new = store.vg_status(vgid);
            let old = self.vgs.get(vgid);
            vg_diff(vgid, old, new.as_ref(), &ident, t, &mut vg_events);
            match new {
                Some(n) => self.vgs.insert(vgid.clone(), n),
                None => self.vgs.remove(vgid),
            };
        }

        for pvid in &t.pvs {
            let new = store.pv_status(pvid);
            let old = self.pvs.get(pvid);
            pv_diff(
                pvid,
                old,
                new.as_ref(),
                &ident,
                &mut device_events,
                &mut member_events,
            );
            match new {
                Some(n) => self.pvs.insert(pvid.clone(), n),
                None => self.pvs.remove(pvid),
            };
        }

        device_events.extend(vg_events);
        device_events.extend(member_events);
        device_events
    }
}

fn vg_diff(
    vgid: &str,
    old: Option<&VgStatus>,
    new: Option<&VgStatus>,
    ident: &dyn Fn(&str) -> VgIdent,
    t: &Touched,
    out: &mut Vec<Event>,
) {
    let completeness = |n: &VgStatus| {
        if n.complete() {
            Event::VgComplete { vg: ident(vgid) }
        } else {
            Event::VgIncomplete {
                vg: ident(vgid),
                missing: n.missing.clone(),
            }
        }
    };
    match (old, new) {
        (None, None) => return,
        (Some(_), None) => {
            out.push(Event::VgRemoved {
                vg: ident(vgid),
                reason: t
                    .reasons
                    .get(vgid)
                    .copied()
                    .unwrap_or(RemoveReason::NoPvsLeft),
            });
            return;
        }
        (None, Some(n)) => {
            out.push(Event::VgAdded {
                vg: ident(vgid),
                seqno: n.seqno,
            });
            out.push(completeness(n));
        }
        (Some(o), Some(n)) => {
            if o.name != n.name {
                out.push(Event::VgRenamed {
                    vg: ident(vgid),
                    old_name: o.name.clone(),
                });
            }
            if o.seqno != n.seqno {
                out.push(Event::VgChanged {
                    vg: ident(vgid),
                    seqno: n.seqno,
                });
            }
            if o.complete() != n.complete() {
                out.push(completeness(n));
            }
        }
    }
    let Some(n) = new else { return };
    let was = |list: fn(&VgStatus) -> &Vec<(String, u64)>, item: &(String, u64)| {
        old.is_some_and(|o| list(o).contains(item))
    };
    for item in &n.outdated {
        if !was(|s| &s.outdated, item) {
            out.push(Event::PvOutdated {
                pvid: item.0.clone(),
                vg: ident(vgid),
                seqno: item.1,
                cached_seqno: n.seqno,
            });
        }
    }
    for item in &n.conflicting {
        if !was(|s| &s.conflicting, item) {
            out.push(Event::PvConflict {
                pvid: item.0.clone(),
                vg: ident(vgid),
                seqno: item.1,
            });
        }
    }
}

fn pv_diff(
    pvid: &str,
    old: Option<&PvStatus>,
    new: Option<&PvStatus>,
    ident: &dyn Fn(&str) -> VgIdent,
    device_events: &mut Vec<Event>,
    member_events: &mut Vec<Event>,
) {
    let pvid_s = || pvid.to_string();
    match (old, new) {
        (None, None) => return,
        (Some(o), None) => {
            device_events.push(Event::PvRemoved {
                pvid: pvid_s(),
                devno: o.devices[0],
            });
            return;
        }
        (None, Some(n)) => device_events.push(Event::PvAdded {
            pvid: pvid_s(),
            devno: n.devices[0],
        }),
        (Some(o), Some(n)) => {
            if o.devices[0] != n.devices[0] {
                device_events.push(Event::PvActiveDeviceChanged {
                    pvid: pvid_s(),
                    from: o.devices[0],
                    to: n.devices[0],
                });
            }
        }
    }
    let Some(n) = new else { return };
    let old_devices = old.map(|o| o.devices.as_slice()).unwrap_or(&[]);
    if n.devices.len() > 1 && n.devices.iter().any(|d| !old_devices.contains(d)) {
        device_events.push(Event::PvDuplicate {
            pvid: pvid_s(),
            active: n.devices[0],
            duplicates: n.devices[1..].to_vec(),
        });
    }
    let old_vg = old.and_then(|o| o.vg.as_deref());
    if old_vg != n.vg.as_deref() {
        if let Some(v) = old_vg {
            member_events.push(Event::PvDetached {
                pvid: pvid_s(),
                vg: ident(v),
            });
        }
        if let Some(v) = &n.vg {
            member_events.push(Event::PvAttached {
                pvid: pvid_s(),
                vg: ident(v),
            });
        }
    }
    if n.orphan() && !old.is_some_and(PvStatus::orphan) {
        member_events.push(Event::PvOrphaned { pvid: pvid_s() });
    }
}
