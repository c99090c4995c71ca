//! Property tests: random sequences of pv_found / pv_gone over a small
//! synthetic world, checked against a model recomputed from scratch, and
//! order-independence of assembly.
//!
//! The world (no conflicts: each (VG, seqno) has one content):
//! * vg1: PVs 1, 2 (with metadata) and 3 (without); seqno 1 and seqno 2
//!   (which adds an LV);
//! * vg2: PVs 4 (with metadata) and 5 (without); seqno 2 drops PV 5 (which
//!   then is an orphan);
//! * vg3: PV 6 alone, seqno 1;
//! * PV 7: an orphan.
//!
//! Each PV may show up on two devices (duplicates).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::tests::{bare, make_vg, pvid, vgid, with_lv, with_md};
use super::*;
use crate::model::Vg;

const PVS: [u32; 7] = [1, 2, 3, 4, 5, 6, 7];
const VGS: [u32; 3] = [1, 2, 3];

/// The VG a PV's metadata area names (None: the PV has no metadata).
fn carrier_of(pv: u32) -> Option<u32> {
    match pv {
        1 | 2 => Some(1),
        4 => Some(2),
        6 => Some(3),
        _ => None,
    }
}

fn max_seqno(vg: u32) -> u64 {
    if vg == 3 {
        1
    } else {
        2
    }
}

fn listed(vg: u32, seqno: u64) -> Vec<u32> {
    match (vg, seqno) {
        (1, _) => vec![1, 2, 3],
        (2, 1) => vec![4, 5],
        (2, _) => vec![4],
        _ => vec![6],
    }
}

fn metadata(vg: u32, seqno: u64) -> Vg {
    let base = make_vg(vg, seqno, &listed(vg, seqno));
    if vg == 1 && seqno == 2 {
        with_lv(base, "lv0")
    } else {
        base
    }
}

fn devno(pv: u32, dev: u8) -> u64 {
    pv as u64 * 10 + dev as u64
}

fn report(pv: u32, dev: u8, seqno: u64) -> PvFound {
    match carrier_of(pv) {
        Some(vg) => with_md(pv, devno(pv, dev), &metadata(vg, seqno.min(max_seqno(vg)))),
        None => bare(pv, devno(pv, dev)),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Found { pv: u32, dev: u8, seqno: u64 },
    GoneDev { pv: u32, dev: u8 },
    GonePv { pv: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let pv = prop::sample::select(PVS.to_vec());
    prop_oneof![
        6 => (pv.clone(), 0u8..2, 1u64..=2).prop_map(|(pv, dev, seqno)| Op::Found { pv, dev, seqno }),
        3 => (pv.clone(), 0u8..2).prop_map(|(pv, dev)| Op::GoneDev { pv, dev }),
        1 => pv.prop_map(|pv| Op::GonePv { pv }),
    ]
}

/// The model: present devices per PV (first seen first, with the seqno of
/// the metadata each reported) and the cached seqno per VG.
#[derive(Debug, Default)]
struct Model {
    devices: BTreeMap<u32, Vec<(u8, u64)>>,
    cached: BTreeMap<u32, u64>,
}

impl Model {
    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Found { pv, dev, seqno } => {
                let seqno = carrier_of(pv).map_or(0, |vg| seqno.min(max_seqno(vg)));
                let list = self.devices.entry(pv).or_default();
                match list.iter_mut().find(|(d, _)| *d == dev) {
                    Some(slot) => slot.1 = seqno,
                    None => list.push((dev, seqno)),
                }
            }
            Op::GoneDev { pv, dev } => {
                if let Some(list) = self.devices.get_mut(&pv) {
                    list.retain(|(d, _)| *d != dev);
                    if list.is_empty() {
                        self.devices.remove(&pv);
                    }
                }
            }
            Op::GonePv { pv } => {
                self.devices.remove(&pv);
            }
        }
        // Cached metadata only moves up, to the newest copy a device in use
        // carries; a VG no present PV belongs to or carries is dropped.
        for vg in VGS {
            let newest = self
                .devices
                .iter()
                .filter(|(pv, _)| carrier_of(**pv) == Some(vg))
                .map(|(_, list)| list[0].1)
                .max();
            if let Some(s) = newest {
                let c = self.cached.entry(vg).or_insert(s);
                *c = (*c).max(s);
            }
            if let Some(&s) = self.cached.get(&vg) {
                let members = listed(vg, s).iter().any(|p| self.devices.contains_key(p));
                if newest.is_none() && !members {
                    self.cached.remove(&vg);
                }
            }
        }
    }

    fn vg_of(&self, pv: u32) -> Option<u32> {
        VGS.into_iter().find(|vg| {
            self.cached
                .get(vg)
                .is_some_and(|s| listed(*vg, *s).contains(&pv))
        })
    }

    fn carried_seqno(&self, pv: u32) -> Option<u64> {
        carrier_of(pv).and(self.devices.get(&pv).map(|l| l[0].1))
    }

    /// The cache agrees with the model.
    fn check(&self, c: &Cache) {
        for vg in VGS {
            let Some(&seqno) = self.cached.get(&vg) else {
                assert_eq!(
                    c.vg_lookup(VgRef::Uuid(&vgid(vg))),
                    Err(CacheError::VgNotFound),
                    "vg{vg} should not be cached"
                );
                continue;
            };
            let view = c.vg_lookup(VgRef::Uuid(&vgid(vg))).expect("VG cached");
            assert_eq!(view.seqno, seqno, "vg{vg} seqno");
            let missing: Vec<String> = listed(vg, seqno)
                .into_iter()
                .filter(|p| !self.devices.contains_key(p))
                .map(pvid)
                .collect();
            assert_eq!(view.missing, missing, "vg{vg} missing");
            // Completeness is exactly "every listed PV is present".
            assert_eq!(view.complete, missing.is_empty());
            assert_eq!(
                c.is_complete(VgRef::Uuid(&vgid(vg))),
                Ok(missing.is_empty())
            );
            let outdated: Vec<String> = PVS
                .into_iter()
                .filter(|p| carrier_of(*p) == Some(vg))
                .filter(|p| self.carried_seqno(*p).is_some_and(|s| s < seqno))
                .map(pvid)
                .collect();
            assert_eq!(view.outdated, outdated, "vg{vg} outdated");
            assert!(view.conflicting.is_empty());
        }
        for pv in PVS {
            let Some(list) = self.devices.get(&pv) else {
                assert_eq!(
                    c.pv_lookup(PvRef::Id(&pvid(pv))),
                    Err(CacheError::PvNotFound)
                );
                continue;
            };
            let view = c.pv_lookup(PvRef::Id(&pvid(pv))).expect("PV present");
            assert_eq!(view.device.devno, devno(pv, list[0].0));
            let dups: Vec<u64> = list[1..].iter().map(|(d, _)| devno(pv, *d)).collect();
            assert_eq!(
                view.duplicates.iter().map(|d| d.devno).collect::<Vec<_>>(),
                dups
            );
            assert_eq!(
                view.vg.map(|v| v.uuid),
                self.vg_of(pv).map(vgid),
                "PV {pv} VG"
            );
            assert_eq!(
                view.orphan,
                self.vg_of(pv).is_none() && carrier_of(pv).is_none()
            );
        }
        c.check_consistency();
    }
}

/// What the events said so far, per VG and PV.
#[derive(Debug, Default)]
struct Announced {
    /// VG uuid → (seqno, complete).
    vgs: BTreeMap<String, (u64, Option<bool>)>,
    pvs: BTreeSet<String>,
    /// Whether commands (vg_remove, pv_clear_all) take part.
    commands: bool,
}

impl Announced {
    fn apply(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::VgAdded { vg, seqno } => {
                    assert!(self.vgs.insert(vg.uuid.clone(), (*seqno, None)).is_none());
                }
                Event::VgRemoved { vg, reason } => {
                    assert!(self.commands || *reason == RemoveReason::NoPvsLeft);
                    assert!(self.vgs.remove(&vg.uuid).is_some());
                }
                Event::VgChanged { vg, seqno } => {
                    let s = self.vgs.get_mut(&vg.uuid).expect("changed VG announced");
                    assert!(*seqno > s.0, "seqno goes up");
                    s.0 = *seqno;
                }
                Event::VgComplete { vg } | Event::VgIncomplete { vg, .. } => {
                    let now = matches!(e, Event::VgComplete { .. });
                    let s = self.vgs.get_mut(&vg.uuid).expect("VG announced");
                    assert_ne!(s.1, Some(now), "completeness events alternate");
                    s.1 = Some(now);
                }
                Event::PvAdded { pvid, .. } => assert!(self.pvs.insert(pvid.clone())),
                Event::PvRemoved { pvid, .. } => assert!(self.pvs.remove(pvid)),
                Event::PvConflict { .. } | Event::VgRenamed { .. } if !self.commands => {
                    panic!("no conflicts or renames in this world: {e:?}")
                }
                _ => {}
            }
        }
        // Every VG's initial state came with its VgAdded.
        assert!(self.vgs.values().all(|(_, c)| c.is_some()));
    }

    fn check(&self, c: &Cache) {
        let vgs: BTreeMap<String, (u64, Option<bool>)> = c
            .vg_list()
            .into_iter()
            .map(|s| (s.vg.uuid, (s.seqno, Some(s.complete))))
            .collect();
        assert_eq!(self.vgs, vgs, "events agree with lookups");
        let pvs: BTreeSet<String> = c.pv_list().into_iter().map(|p| p.pvid).collect();
        assert_eq!(self.pvs, pvs);
    }
}

fn apply(c: &mut Cache, op: &Op) -> Vec<Event> {
    match *op {
        Op::Found { pv, dev, seqno } => c.pv_found(report(pv, dev, seqno)).unwrap().events,
        Op::GoneDev { pv, dev } => c
            .pv_gone(PvRef::Devno(devno(pv, dev)))
            .map(|o| o.events)
            .unwrap_or_default(),
        Op::GonePv { pv } => c
            .pv_gone(PvRef::Id(&pvid(pv)))
            .map(|o| o.events)
            .unwrap_or_default(),
    }
}

#[derive(Debug, Clone)]
enum Command {
    /// vg_update of the cached metadata with seqno + `bump`, optionally
    /// without its last PV (a vgreduce).
    Update {
        vg: u32,
        bump: u64,
        drop_last: bool,
    },
    Remove {
        vg: u32,
    },
    ClearAll,
}

fn command(c: &mut Cache, cmd: &Command) -> Vec<Event> {
    match *cmd {
        Command::Update {
            vg,
            bump,
            drop_last,
        } => {
            let mut m = match c.vg_lookup(VgRef::Uuid(&vgid(vg))) {
                Ok(view) => view.metadata,
                Err(_) => metadata(vg, 1),
            };
            m.seqno += bump;
            if drop_last && m.pvs.len() > 1 {
                m.pvs.pop();
            }
            for pv in &mut m.pvs {
                pv.status.retain(|s| s != "MISSING");
            }
            match c.vg_update(m) {
                Ok(o) => o.events,
                Err(e) => {
                    assert!(matches!(
                        e,
                        CacheError::SeqnoOlder { .. } | CacheError::SeqnoConflict { .. }
                    ));
                    Vec::new()
                }
            }
        }
        Command::Remove { vg } => c.vg_remove(&vgid(vg)).events,
        Command::ClearAll => c.pv_clear_all().events,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_reports_agree_with_the_model(ops in prop::collection::vec(op(), 0..60)) {
        let mut cache = Cache::new();
        let mut model = Model::default();
        let mut announced = Announced::default();
        for op in &ops {
            let events = apply(&mut cache, op);
            model.apply(op);
            announced.apply(&events);
            model.check(&cache);
            announced.check(&cache);
        }
    }

    /// With commands mixed in (which the model does not cover), the
    /// derived state stays consistent and the events still tell the truth.
    #[test]
    fn commands_keep_events_and_state_consistent(
        ops in prop::collection::vec(
            prop_oneof![
                8 => op().prop_map(Ok),
                2 => (prop::sample::select(VGS.to_vec()), 0u64..4, any::<bool>())
                    .prop_map(|(vg, bump, drop_last)| Err(Command::Update { vg, bump, drop_last })),
                1 => prop::sample::select(VGS.to_vec()).prop_map(|vg| Err(Command::Remove { vg })),
                1 => Just(Err(Command::ClearAll)),
            ],
            0..50,
        )
    ) {
        let mut cache = Cache::new();
        let mut announced = Announced { commands: true, ..Default::default() };
        for op in &ops {
            let events = match op {
                Ok(op) => apply(&mut cache, op),
                Err(cmd) => command(&mut cache, cmd),
            };
            announced.apply(&events);
            announced.check(&cache);
            cache.check_consistency();
        }
    }

    #[test]
    fn assembly_does_not_depend_on_report_order(
        present in prop::collection::btree_map(prop::sample::select(PVS.to_vec()), 1u64..=2, 0..8),
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let reports: Vec<Op> = present
            .iter()
            .map(|(&pv, &seqno)| Op::Found { pv, dev: 0, seqno })
            .collect();
        let mut shuffled = reports.clone();
        // A deterministic permutation from the seed.
        let mut seed = order;
        for i in (1..shuffled.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut a = Cache::new();
        let mut b = Cache::new();
        let mut model = Model::default();
        for op in &reports {
            apply(&mut a, op);
            model.apply(op);
        }
        for op in &shuffled {
            apply(&mut b, op);
        }
        model.check(&a);
        model.check(&b);
        prop_assert_eq!(a.dump(), b.dump());
        prop_assert_eq!(a.vg_list(), b.vg_list());
        prop_assert_eq!(a.pv_list(), b.pv_list());
        for vg in VGS {
            prop_assert_eq!(
                a.vg_lookup(VgRef::Uuid(&vgid(vg))),
                b.vg_lookup(VgRef::Uuid(&vgid(vg)))
            );
        }
    }
}
