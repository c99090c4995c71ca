//! Unit tests: one per rule in the module documentation.

use super::*;
use crate::model::{Lv, Pv, Vg};

// --- builders ------------------------------------------------------------

/// A dashed UUID made from a letter and a number.
pub(super) fn uid(kind: char, n: u32) -> String {
    crate::uuid::format(&format!("{kind}{n:031}"))
}

pub(super) fn pvid(n: u32) -> String {
    uid('P', n)
}

pub(super) fn vgid(n: u32) -> String {
    uid('V', n)
}

pub(super) fn make_pv(n: u32, i: usize) -> Pv {
    Pv {
        key: format!("pv{i}"),
        id: pvid(n),
        device: Some(format!("/dev/disk{n}")),
        status: vec!["ALLOCATABLE".into()],
        flags: vec![],
        tags: vec![],
        dev_size: 2048 * 100,
        pe_start: 2048,
        pe_count: 24,
        ba_start: None,
        ba_size: None,
        extra: vec![],
    }
}

/// VG number `n`, named `vg<n>`, at `seqno`, listing PVs `pvs`.
pub(super) fn make_vg(n: u32, seqno: u64, pvs: &[u32]) -> Vg {
    Vg {
        name: format!("vg{n}"),
        id: vgid(n),
        seqno,
        format: Some("lvm2".into()),
        status: vec!["RESIZEABLE".into(), "READ".into(), "WRITE".into()],
        flags: vec![],
        tags: vec![],
        system_id: None,
        extent_size: 8192,
        max_lv: 0,
        max_pv: 0,
        metadata_copies: 0,
        pvs: pvs
            .iter()
            .enumerate()
            .map(|(i, p)| make_pv(*p, i))
            .collect(),
        lvs: vec![],
        historical_lvs: None,
        extra: vec![],
    }
}

pub(super) fn with_lv(mut vg: Vg, name: &str) -> Vg {
    vg.lvs.push(Lv {
        name: name.into(),
        id: uid('L', 1),
        status: vec!["READ".into(), "WRITE".into(), "VISIBLE".into()],
        flags: vec![],
        tags: vec![],
        creation_time: None,
        creation_host: None,
        allocation_policy: None,
        read_ahead: None,
        segments: vec![],
        extra: vec![],
    });
    vg
}

pub(super) fn label(mdas: usize) -> LabelFacts {
    LabelFacts {
        dev_size: 100 << 20,
        label_sector: 1,
        pe_start: 1 << 20,
        mdas: (0..mdas)
            .map(|_| MdaFacts {
                offset: 4096,
                size: 1 << 20,
                ignored: false,
            })
            .collect(),
        ext_version: 2,
        ext_flags: 1,
    }
}

/// PV `n` on device `devno`, carrying `vg` (one metadata area).
pub(super) fn with_md(n: u32, devno: u64, vg: &Vg) -> PvFound {
    PvFound {
        pvid: pvid(n),
        devno,
        device_hint: format!("/dev/sd{devno}"),
        label: label(1),
        metadata: Some(vg.clone()),
    }
}

/// PV `n` on device `devno`, without metadata areas.
pub(super) fn bare(n: u32, devno: u64) -> PvFound {
    PvFound {
        pvid: pvid(n),
        devno,
        device_hint: format!("/dev/sd{devno}"),
        label: label(0),
        metadata: None,
    }
}

fn ident(n: u32) -> VgIdent {
    VgIdent {
        uuid: vgid(n),
        name: format!("vg{n}"),
    }
}

fn found(c: &mut Cache, f: PvFound) -> Outcome<PvFoundReply> {
    let o = c.pv_found(f).expect("pv_found");
    c.check_consistency();
    o
}

fn gone(c: &mut Cache, r: PvRef<'_>) -> Outcome<PvGoneReply> {
    let o = c.pv_gone(r).expect("pv_gone");
    c.check_consistency();
    o
}

fn lookup(c: &Cache, n: u32) -> VgView {
    c.vg_lookup(VgRef::Uuid(&vgid(n))).expect("VG cached")
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::PvAdded { .. } => "PvAdded",
            Event::PvRemoved { .. } => "PvRemoved",
            Event::PvDuplicate { .. } => "PvDuplicate",
            Event::PvActiveDeviceChanged { .. } => "PvActiveDeviceChanged",
            Event::PvAttached { .. } => "PvAttached",
            Event::PvDetached { .. } => "PvDetached",
            Event::PvOrphaned { .. } => "PvOrphaned",
            Event::PvOutdated { .. } => "PvOutdated",
            Event::PvConflict { .. } => "PvConflict",
            Event::VgAdded { .. } => "VgAdded",
            Event::VgRenamed { .. } => "VgRenamed",
            Event::VgChanged { .. } => "VgChanged",
            Event::VgComplete { .. } => "VgComplete",
            Event::VgIncomplete { .. } => "VgIncomplete",
            Event::VgRemoved { .. } => "VgRemoved",
        })
        .collect()
}

// --- assembly --------------------------------------------------------------

#[test]
fn single_pv_vg_is_complete_at_once() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1]);
    let o = found(&mut c, with_md(1, 10, &vg));
    assert_eq!(
        o.events,
        vec![
            Event::PvAdded {
                pvid: pvid(1),
                devno: 10
            },
            Event::VgAdded {
                vg: ident(1),
                seqno: 1
            },
            Event::VgComplete { vg: ident(1) },
            Event::PvAttached {
                pvid: pvid(1),
                vg: ident(1)
            },
        ]
    );
    assert_eq!(o.reply.status, PvFoundStatus::Complete);
    assert_eq!(o.reply.vg, Some(ident(1)));
    assert_eq!(o.reply.seqno_before, None);
    assert_eq!(o.reply.seqno_after, Some(1));
    assert!(o.reply.changed);
    assert!(c.is_complete(VgRef::Name("vg1")).unwrap());
}

#[test]
fn vg_created_by_first_pv_is_incomplete_until_the_others_arrive() {
    let mut c = Cache::new();
    let vg = make_vg(1, 3, &[1, 2, 3]);
    let o = found(&mut c, with_md(1, 10, &vg));
    assert_eq!(
        kinds(&o.events),
        ["PvAdded", "VgAdded", "VgIncomplete", "PvAttached"]
    );
    assert!(o.events.contains(&Event::VgIncomplete {
        vg: ident(1),
        missing: vec![pvid(2), pvid(3)]
    }));
    assert_eq!(o.reply.status, PvFoundStatus::Incomplete);

    let view = lookup(&c, 1);
    assert!(!view.complete);
    assert_eq!(view.missing, vec![pvid(2), pvid(3)]);
    // Absent PVs are MISSING_PV in the metadata handed out.
    assert!(view.metadata.pvs[1].status.contains(&"MISSING".to_string()));
    assert!(!view.metadata.pvs[0].status.contains(&"MISSING".to_string()));
    assert_eq!(view.metadata.pvs[0].device.as_deref(), Some("/dev/sd10"));
    assert_eq!(view.metadata.pvs[1].device, None);

    let o = found(&mut c, with_md(2, 11, &vg));
    assert_eq!(kinds(&o.events), ["PvAdded", "PvAttached"]);
    assert_eq!(o.reply.status, PvFoundStatus::Incomplete);
    assert_eq!(
        c.completion(VgRef::Name("vg1")).unwrap(),
        Completion::Incomplete {
            missing: vec![pvid(3)]
        }
    );

    let o = found(&mut c, with_md(3, 12, &vg));
    assert_eq!(kinds(&o.events), ["PvAdded", "VgComplete", "PvAttached"]);
    assert_eq!(o.reply.status, PvFoundStatus::Complete);
    let view = lookup(&c, 1);
    assert!(view.complete && view.missing.is_empty());
    assert!(view
        .metadata
        .pvs
        .iter()
        .all(|p| !p.status.contains(&"MISSING".into())));

    // Reporting a PV again changes nothing and emits nothing.
    let o = found(&mut c, with_md(3, 12, &vg));
    assert!(o.events.is_empty());
    assert!(!o.reply.changed);
    assert_eq!(o.reply.status, PvFoundStatus::Complete);
}

#[test]
fn metadata_less_pv_seen_before_its_vg_is_an_orphan_then_attached() {
    let mut c = Cache::new();
    let o = found(&mut c, bare(2, 11));
    assert_eq!(kinds(&o.events), ["PvAdded", "PvOrphaned"]);
    assert_eq!(o.reply.status, PvFoundStatus::Orphan);
    assert_eq!(o.reply.vg, None);
    assert!(c.pv_lookup(PvRef::Id(&pvid(2))).unwrap().orphan);

    let vg = make_vg(1, 1, &[1, 2]);
    let o = found(&mut c, with_md(1, 10, &vg));
    assert_eq!(
        kinds(&o.events),
        [
            "PvAdded",
            "VgAdded",
            "VgComplete",
            "PvAttached",
            "PvAttached"
        ]
    );
    let pv2 = c.pv_lookup(PvRef::Devno(11)).unwrap();
    assert!(!pv2.orphan);
    assert_eq!(pv2.vg, Some(ident(1)));
    assert_eq!(pv2.carries, None);
}

#[test]
fn metadata_less_pv_seen_after_its_vg_completes_it() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1, 2]);
    let o = found(&mut c, with_md(1, 10, &vg));
    assert!(o.events.contains(&Event::VgIncomplete {
        vg: ident(1),
        missing: vec![pvid(2)]
    }));
    let o = found(&mut c, bare(2, 11));
    assert_eq!(kinds(&o.events), ["PvAdded", "VgComplete", "PvAttached"]);
    assert_eq!(o.reply.status, PvFoundStatus::Complete);
    assert_eq!(o.reply.vg, Some(ident(1)));
}

#[test]
fn missing_flag_stored_in_metadata_is_kept_when_the_pv_shows_up() {
    let mut c = Cache::new();
    let mut vg = make_vg(1, 5, &[1, 2]);
    vg.pvs[1].flags = vec!["MISSING".into()];
    found(&mut c, with_md(1, 10, &vg));

    let view = lookup(&c, 1);
    assert!(view.pvs[1].missing_in_metadata && !view.pvs[1].present);
    assert_eq!(view.metadata.pvs[1].flags, vec!["MISSING".to_string()]);
    assert!(view.metadata.pvs[1].status.contains(&"MISSING".to_string()));
    assert!(!view.complete);

    let o = found(&mut c, bare(2, 11));
    assert!(o.events.contains(&Event::VgComplete { vg: ident(1) }));
    let view = lookup(&c, 1);
    assert!(view.pvs[1].present);
    // Still flagged: only a command rewriting the metadata clears it.
    assert!(view.pvs[1].missing_in_metadata);
    assert_eq!(view.metadata.pvs[1].flags, vec!["MISSING".to_string()]);
    assert!(view.metadata.pvs[1].is_missing());
    assert!(!view.metadata.pvs[1].status.contains(&"MISSING".to_string()));
}

// --- seqno rules ------------------------------------------------------------

#[test]
fn newer_seqno_replaces_cached_metadata() {
    let mut c = Cache::new();
    let v1 = make_vg(1, 1, &[1, 2]);
    let v2 = with_lv(make_vg(1, 2, &[1, 2]), "lv0");
    found(&mut c, with_md(1, 10, &v1));
    found(&mut c, with_md(2, 11, &v1));
    let o = found(&mut c, with_md(2, 11, &v2));
    assert_eq!(
        o.events,
        vec![
            Event::VgChanged {
                vg: ident(1),
                seqno: 2
            },
            Event::PvOutdated {
                pvid: pvid(1),
                vg: ident(1),
                seqno: 1,
                cached_seqno: 2
            },
        ]
    );
    assert_eq!(o.reply.seqno_before, Some(1));
    assert_eq!(o.reply.seqno_after, Some(2));
    let view = lookup(&c, 1);
    assert_eq!(view.seqno, 2);
    assert!(view.metadata.lv("lv0").is_some());
    assert_eq!(view.outdated, vec![pvid(1)]);
    // Outdated is not missing: the VG stays complete.
    assert!(view.complete);

    // PV 1 catching up clears its outdated state, silently.
    let o = found(&mut c, with_md(1, 10, &v2));
    assert!(o.events.is_empty());
    assert!(lookup(&c, 1).outdated.is_empty());
}

#[test]
fn older_seqno_marks_the_pv_outdated_and_is_not_applied() {
    let mut c = Cache::new();
    let v1 = make_vg(1, 1, &[1, 2]);
    let v2 = with_lv(make_vg(1, 2, &[1, 2]), "lv0");
    found(&mut c, with_md(1, 10, &v2));
    let o = found(&mut c, with_md(2, 11, &v1));
    assert!(o.reply.outdated);
    assert!(!o.reply.conflict);
    assert_eq!(o.reply.seqno_after, Some(2));
    assert_eq!(
        kinds(&o.events),
        ["PvAdded", "VgComplete", "PvOutdated", "PvAttached"]
    );
    let view = lookup(&c, 1);
    assert_eq!(view.seqno, 2);
    assert_eq!(view.outdated, vec![pvid(2)]);
    assert!(view.pvs[1].outdated && view.pvs[1].present);
    assert!(c.pv_lookup(PvRef::Id(&pvid(2))).unwrap().outdated);
}

#[test]
fn same_seqno_different_content_is_a_conflict_and_keeps_the_cached_copy() {
    let mut c = Cache::new();
    let a = make_vg(1, 4, &[1, 2]);
    let b = with_lv(make_vg(1, 4, &[1, 2]), "other");
    found(&mut c, with_md(1, 10, &a));
    let o = found(&mut c, with_md(2, 11, &b));
    assert!(o.reply.conflict);
    assert!(o.events.contains(&Event::PvConflict {
        pvid: pvid(2),
        vg: ident(1),
        seqno: 4
    }));
    let view = lookup(&c, 1);
    assert_eq!(view.metadata.lvs.len(), 0, "the copy seen first stays");
    assert_eq!(view.conflicting, vec![pvid(2)]);
    assert!(view.pvs[1].conflict);

    // Reported once per transition.
    let o = found(&mut c, with_md(2, 11, &b));
    assert!(o.events.is_empty());
    assert!(o.reply.conflict);

    // A command writing newer metadata resolves it.
    let o = c.vg_update(make_vg(1, 5, &[1, 2])).unwrap();
    assert_eq!(kinds(&o.events), ["VgChanged"]);
    assert!(lookup(&c, 1).conflicting.is_empty());
    c.check_consistency();
}

#[test]
fn device_hints_do_not_make_a_conflict() {
    let mut c = Cache::new();
    let a = make_vg(1, 4, &[1, 2]);
    let mut b = a.clone();
    b.pvs[0].device = Some("/dev/elsewhere".into());
    found(&mut c, with_md(1, 10, &a));
    let o = found(&mut c, with_md(2, 11, &b));
    assert!(!o.reply.conflict);
    assert!(lookup(&c, 1).conflicting.is_empty());
}

// --- duplicates ------------------------------------------------------------

#[test]
fn duplicate_pv_keeps_the_first_device_and_the_other_takes_over() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1]);
    found(&mut c, with_md(1, 10, &vg));
    let o = found(&mut c, with_md(1, 20, &vg));
    assert_eq!(
        o.events,
        vec![Event::PvDuplicate {
            pvid: pvid(1),
            active: 10,
            duplicates: vec![20]
        }]
    );
    assert_eq!(o.reply.duplicate_of, Some(10));
    assert_eq!(o.reply.status, PvFoundStatus::Complete);
    assert!(!c.global_disabled(), "duplicates do not disable the cache");
    let pv = c.pv_lookup(PvRef::Devno(20)).unwrap();
    assert_eq!(pv.device.devno, 10);
    assert_eq!(pv.duplicates.len(), 1);
    assert_eq!(pv.duplicates[0].devno, 20);

    // The device in use goes: the duplicate takes over, the VG stays whole.
    let o = gone(&mut c, PvRef::Devno(10));
    assert_eq!(
        o.events,
        vec![Event::PvActiveDeviceChanged {
            pvid: pvid(1),
            from: 10,
            to: 20
        }]
    );
    assert_eq!(o.reply.still_present_on, Some(20));
    assert!(c.is_complete(VgRef::Uuid(&vgid(1))).unwrap());
    assert_eq!(lookup(&c, 1).pvs[0].devno, Some(20));

    // The first device coming back is now the duplicate.
    let o = found(&mut c, with_md(1, 10, &vg));
    assert_eq!(o.reply.duplicate_of, Some(20));
}

#[test]
fn duplicate_metadata_is_applied_when_it_takes_over() {
    let mut c = Cache::new();
    let v1 = make_vg(1, 1, &[1]);
    let v2 = with_lv(make_vg(1, 2, &[1]), "lv0");
    found(&mut c, with_md(1, 10, &v1));
    found(&mut c, with_md(1, 20, &v2));
    assert_eq!(lookup(&c, 1).seqno, 1, "a duplicate does not count");
    let o = gone(&mut c, PvRef::Devno(10));
    assert!(o.events.contains(&Event::VgChanged {
        vg: ident(1),
        seqno: 2
    }));
    assert_eq!(lookup(&c, 1).seqno, 2);
}

#[test]
fn reused_device_drops_the_pv_it_held_before() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 1, &[1])));
    // /dev/sd10 was pvcreate'd again: a new PV, no VG.
    let o = found(&mut c, bare(7, 10));
    assert_eq!(
        kinds(&o.events),
        ["PvRemoved", "PvAdded", "VgRemoved", "PvOrphaned"]
    );
    assert!(c.pv_lookup(PvRef::Id(&pvid(1))).is_err());
    assert_eq!(c.pv_lookup(PvRef::Devno(10)).unwrap().pvid, pvid(7));
    assert!(c.vg_list().is_empty());
}

// --- membership --------------------------------------------------------------

#[test]
fn pv_moving_to_another_vg_leaves_the_old_one() {
    let mut c = Cache::new();
    let x = make_vg(1, 1, &[1, 2]);
    found(&mut c, with_md(1, 10, &x));
    found(&mut c, with_md(2, 11, &x));
    // vgsplit moved PV 2 into vg2; PV 1 was not rescanned yet.
    let y = make_vg(2, 1, &[2]);
    let o = found(&mut c, with_md(2, 11, &y));
    assert_eq!(
        o.events,
        vec![
            Event::VgIncomplete {
                vg: ident(1),
                missing: vec![pvid(2)]
            },
            Event::VgAdded {
                vg: ident(2),
                seqno: 1
            },
            Event::VgComplete { vg: ident(2) },
            Event::PvDetached {
                pvid: pvid(2),
                vg: ident(1)
            },
            Event::PvAttached {
                pvid: pvid(2),
                vg: ident(2)
            },
        ]
    );
    assert_eq!(o.reply.vg, Some(ident(2)));
    // vg1's new metadata arrives: complete again without PV 2.
    let o = found(&mut c, with_md(1, 10, &make_vg(1, 2, &[1])));
    assert_eq!(kinds(&o.events), ["VgChanged", "VgComplete"]);
}

#[test]
fn pv_carrying_metadata_that_no_longer_lists_it_is_outdated_not_orphan() {
    let mut c = Cache::new();
    // vgreduce removed PV 2 while it was unplugged.
    found(&mut c, with_md(1, 10, &make_vg(1, 2, &[1])));
    let o = found(&mut c, with_md(2, 11, &make_vg(1, 1, &[1, 2])));
    assert_eq!(o.reply.status, PvFoundStatus::Stale);
    assert_eq!(o.reply.vg, Some(ident(1)));
    assert!(o.reply.outdated);
    assert_eq!(kinds(&o.events), ["PvAdded", "PvOutdated"]);
    let pv = c.pv_lookup(PvRef::Id(&pvid(2))).unwrap();
    assert!(!pv.orphan && pv.vg.is_none() && pv.outdated);
    assert_eq!(lookup(&c, 1).outdated, vec![pvid(2)]);
}

// --- pv_gone ----------------------------------------------------------------

#[test]
fn complete_incomplete_events_alternate_with_pv_gone_and_found() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1, 2]);
    let mut seq = Vec::new();
    let mut push = |events: Vec<Event>| {
        seq.extend(events.into_iter().filter(|e| {
            matches!(
                e,
                Event::VgComplete { .. } | Event::VgIncomplete { .. } | Event::VgRemoved { .. }
            )
        }))
    };
    push(found(&mut c, with_md(1, 10, &vg)).events);
    push(found(&mut c, bare(2, 11)).events);
    push(found(&mut c, bare(2, 11)).events);
    let o = gone(&mut c, PvRef::Devno(11));
    assert_eq!(o.reply.vg, Some(ident(1)));
    assert_eq!(o.reply.still_present_on, None);
    push(o.events);
    push(found(&mut c, bare(2, 11)).events);
    push(gone(&mut c, PvRef::Id(&pvid(1))).events);
    push(gone(&mut c, PvRef::Devno(11)).events);
    assert_eq!(
        seq,
        vec![
            Event::VgIncomplete {
                vg: ident(1),
                missing: vec![pvid(2)]
            },
            Event::VgComplete { vg: ident(1) },
            Event::VgIncomplete {
                vg: ident(1),
                missing: vec![pvid(2)]
            },
            Event::VgComplete { vg: ident(1) },
            Event::VgIncomplete {
                vg: ident(1),
                missing: vec![pvid(1)]
            },
            Event::VgRemoved {
                vg: ident(1),
                reason: RemoveReason::NoPvsLeft
            },
        ]
    );
}

#[test]
fn vg_whose_last_pv_is_gone_is_dropped_and_comes_back_with_it() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1]);
    found(&mut c, with_md(1, 10, &vg));
    let o = gone(&mut c, PvRef::Devno(10));
    assert_eq!(kinds(&o.events), ["PvRemoved", "VgRemoved"]);
    assert_eq!(c.vg_lookup(VgRef::Name("vg1")), Err(CacheError::VgNotFound));
    assert_eq!(
        c.completion(VgRef::Name("vg1")).unwrap(),
        Completion::Unknown
    );
    assert!(c.vg_list().is_empty());
    let o = found(&mut c, with_md(1, 10, &vg));
    assert_eq!(
        kinds(&o.events),
        ["PvAdded", "VgAdded", "VgComplete", "PvAttached"]
    );
}

#[test]
fn vg_with_only_a_metadata_less_pv_left_stays() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1, 2]);
    found(&mut c, with_md(1, 10, &vg));
    found(&mut c, bare(2, 11));
    let o = gone(&mut c, PvRef::Devno(10));
    assert_eq!(kinds(&o.events), ["PvRemoved", "VgIncomplete"]);
    assert_eq!(lookup(&c, 1).missing, vec![pvid(1)]);
    let o = gone(&mut c, PvRef::Devno(11));
    assert_eq!(kinds(&o.events), ["PvRemoved", "VgRemoved"]);
}

#[test]
fn vg_with_only_an_outdated_pv_left_keeps_the_newest_metadata() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 2, &[1, 2])));
    found(&mut c, with_md(2, 11, &make_vg(1, 1, &[1, 2])));
    gone(&mut c, PvRef::Devno(10));
    let view = lookup(&c, 1);
    assert_eq!(view.seqno, 2);
    assert_eq!(view.missing, vec![pvid(1)]);
    assert_eq!(view.outdated, vec![pvid(2)]);
}

#[test]
fn pv_gone_of_unknown_things_is_refused() {
    let mut c = Cache::new();
    assert_eq!(
        c.pv_gone(PvRef::Devno(99)).unwrap_err(),
        CacheError::DeviceNotFound
    );
    assert_eq!(
        c.pv_gone(PvRef::Id(&pvid(9))).unwrap_err(),
        CacheError::PvNotFound
    );
    assert!(CacheError::PvNotFound.is_unknown());
}

// --- input validation --------------------------------------------------------

#[test]
fn invalid_input_is_refused_without_change() {
    let mut c = Cache::new();
    let mut f = bare(1, 10);
    f.pvid = "not-a-uuid".into();
    assert!(matches!(c.pv_found(f), Err(CacheError::Invalid(_))));
    let f = with_md(1, 10, &make_vg(1, 0, &[1]));
    assert!(matches!(c.pv_found(f), Err(CacheError::Invalid(_))));
    let mut vg = make_vg(1, 1, &[1]);
    vg.pvs[0].id = "bad".into();
    assert!(matches!(
        c.pv_found(with_md(1, 10, &vg)),
        Err(CacheError::Invalid(_))
    ));
    assert!(c.pv_list().is_empty());
    c.check_consistency();
}

#[test]
fn raw_uuids_are_accepted_and_stored_dashed() {
    let mut c = Cache::new();
    let mut f = bare(1, 10);
    f.pvid = f.pvid.replace('-', "");
    let o = found(&mut c, f);
    assert_eq!(o.reply.pvid, pvid(1));
    assert!(c.pv_lookup(PvRef::Id(&pvid(1).replace('-', ""))).is_ok());
}

// --- vg_update / vg_remove / pv_clear_all -------------------------------------

#[test]
fn vg_update_seqno_rules() {
    let mut c = Cache::new();
    let v3 = make_vg(1, 3, &[1]);
    found(&mut c, with_md(1, 10, &v3));
    let dump = c.dump();

    assert_eq!(
        c.vg_update(make_vg(1, 2, &[1])).unwrap_err(),
        CacheError::SeqnoOlder {
            vg: "vg1".into(),
            new: 2,
            cached: 3
        }
    );
    assert_eq!(
        c.vg_update(with_lv(make_vg(1, 3, &[1]), "x")).unwrap_err(),
        CacheError::SeqnoConflict {
            vg: "vg1".into(),
            seqno: 3
        }
    );
    assert_eq!(c.dump(), dump, "refused updates change nothing");

    let o = c.vg_update(v3.clone()).unwrap();
    assert!(!o.reply.changed && o.events.is_empty());

    let o = c.vg_update(with_lv(make_vg(1, 4, &[1]), "lv0")).unwrap();
    assert!(o.reply.changed);
    assert_eq!(o.reply.seqno_before, Some(3));
    assert_eq!(o.reply.seqno_after, 4);
    assert_eq!(
        o.events,
        vec![Event::VgChanged {
            vg: ident(1),
            seqno: 4
        }]
    );
    // The command wrote the PV: it is not outdated.
    assert!(lookup(&c, 1).outdated.is_empty());
    assert_eq!(
        c.pv_lookup(PvRef::Devno(10)).unwrap().carries,
        Some((ident(1), 4))
    );
    c.check_consistency();
}

#[test]
fn vg_update_of_a_vg_without_present_pvs_is_kept() {
    let mut c = Cache::new();
    let o = c.vg_update(make_vg(1, 1, &[1, 2])).unwrap();
    assert_eq!(kinds(&o.events), ["VgAdded", "VgIncomplete"]);
    assert_eq!(lookup(&c, 1).missing, vec![pvid(1), pvid(2)]);
    let o = found(&mut c, bare(1, 10));
    assert_eq!(kinds(&o.events), ["PvAdded", "PvAttached"]);
}

#[test]
fn vg_update_extend_reduce_and_rename() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 1, &[1])));
    // pvcreate'd orphan with a metadata area.
    let mut orphan = bare(2, 11);
    orphan.label = label(1);
    assert_eq!(
        kinds(&found(&mut c, orphan).events),
        ["PvAdded", "PvOrphaned"]
    );

    // vgextend
    let o = c.vg_update(make_vg(1, 2, &[1, 2])).unwrap();
    assert_eq!(kinds(&o.events), ["VgChanged", "PvAttached"]);
    assert_eq!(
        c.pv_lookup(PvRef::Devno(11)).unwrap().carries,
        Some((ident(1), 2))
    );

    // vgreduce
    let o = c.vg_update(make_vg(1, 3, &[1])).unwrap();
    assert_eq!(kinds(&o.events), ["VgChanged", "PvDetached", "PvOrphaned"]);
    let pv = c.pv_lookup(PvRef::Devno(11)).unwrap();
    assert!(pv.orphan && pv.carries.is_none());

    // vgrename
    let mut renamed = make_vg(1, 4, &[1]);
    renamed.name = "data".into();
    let o = c.vg_update(renamed).unwrap();
    let data = VgIdent {
        uuid: vgid(1),
        name: "data".into(),
    };
    assert_eq!(
        o.events,
        vec![
            Event::VgRenamed {
                vg: data.clone(),
                old_name: "vg1".into()
            },
            Event::VgChanged {
                vg: data.clone(),
                seqno: 4
            },
        ]
    );
    assert_eq!(c.vg_lookup(VgRef::Name("vg1")), Err(CacheError::VgNotFound));
    assert_eq!(c.vg_lookup(VgRef::Name("data")).unwrap().vg, data);
    c.check_consistency();
}

#[test]
fn vg_remove_orphans_its_pvs_and_is_idempotent() {
    let mut c = Cache::new();
    let vg = make_vg(1, 1, &[1, 2]);
    found(&mut c, with_md(1, 10, &vg));
    found(&mut c, bare(2, 11));
    let o = c.vg_remove(&vgid(1));
    assert!(o.reply);
    assert_eq!(
        o.events,
        vec![
            Event::VgRemoved {
                vg: ident(1),
                reason: RemoveReason::Removed
            },
            Event::PvDetached {
                pvid: pvid(1),
                vg: ident(1)
            },
            Event::PvOrphaned { pvid: pvid(1) },
            Event::PvDetached {
                pvid: pvid(2),
                vg: ident(1)
            },
            Event::PvOrphaned { pvid: pvid(2) },
        ]
    );
    c.check_consistency();
    assert!(c.pv_list().iter().all(|p| p.orphan));
    let o = c.vg_remove(&vgid(1));
    assert!(!o.reply && o.events.is_empty());
}

#[test]
fn pv_clear_all_reports_everything_removed() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 1, &[1])));
    found(&mut c, bare(2, 11));
    let o = c.pv_clear_all();
    assert_eq!(
        o.events,
        vec![
            Event::PvRemoved {
                pvid: pvid(1),
                devno: 10
            },
            Event::PvRemoved {
                pvid: pvid(2),
                devno: 11
            },
            Event::VgRemoved {
                vg: ident(1),
                reason: RemoveReason::Cleared
            },
        ]
    );
    c.check_consistency();
    assert!(c.pv_list().is_empty() && c.vg_list().is_empty());
}

// --- lookups -------------------------------------------------------------------

#[test]
fn lookups_by_name_uuid_and_both() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 1, &[1])));
    let mut twin = make_vg(2, 1, &[2]);
    twin.name = "vg1".into();
    found(&mut c, with_md(2, 11, &twin));
    assert_eq!(
        c.vg_lookup(VgRef::Name("vg1")).unwrap_err(),
        CacheError::MultipleVgs("vg1".into())
    );
    assert!(c.vg_lookup(VgRef::Uuid(&vgid(2))).is_ok());
    assert!(c.vg_lookup(VgRef::UuidAndName(&vgid(2), "vg1")).is_ok());
    assert!(matches!(
        c.vg_lookup(VgRef::UuidAndName(&vgid(2), "vg9")),
        Err(CacheError::VgMismatch { .. })
    ));
    assert_eq!(VgRef::from_options(None, Some("x")), Some(VgRef::Name("x")));
    let list = c.vg_list();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s.complete && s.pv_count == 1));
    assert_eq!(c.pv_list().len(), 2);
}

#[test]
fn dump_is_config_text_naming_everything() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 1, &[1, 2])));
    let text = c.dump();
    let tree = crate::format::config::parse(&text).expect("dump parses");
    let vgs = tree.get_section("volume_groups").unwrap();
    let vg = vgs.get_section(&vgid(1)).unwrap();
    assert_eq!(vg.get_str("name"), Some("vg1"));
    assert_eq!(vg.get_int("complete"), Some(0));
    assert!(vg.get_section("metadata").is_some());
    assert!(tree
        .get_section("physical_volumes")
        .unwrap()
        .get_section(&pvid(1))
        .is_some());
    assert_eq!(tree.get_str("token"), Some("none"));
}

#[test]
fn set_vg_info_marks_vg_invalid_until_newer_metadata_is_cached() {
    let mut c = Cache::new();
    found(&mut c, with_md(1, 10, &make_vg(1, 3, &[1])));
    assert!(!c.set_vg_info(VgRef::Uuid(&vgid(1)), 3), "not newer");
    assert!(!lookup(&c, 1).vg_invalid);
    assert!(c.set_vg_info(VgRef::Name("vg1"), 5));
    assert!(lookup(&c, 1).vg_invalid);
    c.vg_update(make_vg(1, 4, &[1])).unwrap();
    assert!(lookup(&c, 1).vg_invalid, "4 < 5");
    c.vg_update(make_vg(1, 5, &[1])).unwrap();
    assert!(!lookup(&c, 1).vg_invalid);
    assert!(!c.set_vg_info(VgRef::Name("nope"), 1));
}

// --- token and global info ----------------------------------------------------

#[test]
fn token_update_protocol() {
    let mut c = Cache::new();
    assert_eq!(c.token(), "");
    let mismatch = c.check_token("filter:1", 100).unwrap_err();
    assert_eq!(mismatch.expected, "");
    assert!(c.check_token(TOKEN_SKIP, 100).is_ok());

    let upd = |token, pid| TokenUpdate {
        token,
        pid,
        cmd: "pvscan",
        update_timeout: 10,
    };
    // A rescan starts.
    let r = c
        .token_update(upd(TOKEN_UPDATE_IN_PROGRESS, 100), 1000)
        .unwrap();
    assert_eq!(r.prev_token, "");
    assert_eq!(r.update_pid, 100);
    assert!(c.check_token(TOKEN_UPDATE_IN_PROGRESS, 100).is_ok());
    // Another updater's requests are refused...
    assert!(c.check_token(TOKEN_UPDATE_IN_PROGRESS, 200).is_err());
    // ... and it may not start its own while ours is young.
    assert_eq!(
        c.token_update(upd(TOKEN_UPDATE_IN_PROGRESS, 200), 1005),
        Err(TokenUpdateRefused::Updating {
            expected: TOKEN_UPDATE_IN_PROGRESS.into(),
            update_pid: 100
        })
    );
    let info = c.global_info(1005);
    assert_eq!(info.update_pid, 100);
    assert_eq!(info.update_cmd, "pvscan");
    assert_eq!(info.token, TOKEN_UPDATE_IN_PROGRESS);
    // The rescan ends.
    let r = c.token_update(upd("filter:1", 100), 1006).unwrap();
    assert_eq!(r.prev_token, TOKEN_UPDATE_IN_PROGRESS);
    assert_eq!(r.update_pid, 0);
    assert_eq!(c.token(), "filter:1");
    assert!(c.check_token("filter:1", 5).is_ok());
    // A direct change outside a rescan is ignored, as in 2.02.
    c.token_update(upd("filter:2", 5), 1007).unwrap();
    assert_eq!(c.token(), "filter:1");
}

#[test]
fn a_stuck_update_is_taken_over_or_expires() {
    let mut c = Cache::new();
    let upd = |token, pid| TokenUpdate {
        token,
        pid,
        cmd: "pvscan",
        update_timeout: 10,
    };
    c.token_update(upd(TOKEN_UPDATE_IN_PROGRESS, 100), 0)
        .unwrap();
    // After the timeout, a second updater replaces the first...
    let r = c
        .token_update(upd(TOKEN_UPDATE_IN_PROGRESS, 200), 10)
        .unwrap();
    assert_eq!(r.update_pid, 200);
    // ... whose final token is then refused.
    assert!(matches!(
        c.token_update(upd("filter:1", 100), 11),
        Err(TokenUpdateRefused::Mismatch(_))
    ));
    // The second one dies too: reading global info after its timeout
    // resets the token so that someone repopulates the cache.
    assert_eq!(c.global_info(15).token, TOKEN_UPDATE_IN_PROGRESS);
    let info = c.global_info(20);
    assert_eq!(info.token, "none");
    assert_eq!(info.update_pid, 0);
    assert_eq!(c.token(), "");
}

#[test]
fn global_flags() {
    let mut c = Cache::new();
    let info = c.global_info(0);
    assert!(!info.global_invalid && !info.global_disable);
    assert_eq!(info.disable_reason_text(), "none");
    c.set_global_info(SetGlobalInfo {
        global_invalid: Some(true),
        global_disable: Some(true),
        disable_reason: Some("DIRECT"),
    });
    c.set_global_info(SetGlobalInfo {
        global_disable: Some(true),
        disable_reason: Some("REPAIR"),
        ..Default::default()
    });
    let info = c.global_info(0);
    assert!(info.global_invalid && info.global_disable && c.global_invalid());
    assert_eq!(info.disable_reason_text(), "DIRECT,REPAIR,");
    c.set_global_info(SetGlobalInfo {
        global_invalid: Some(false),
        global_disable: Some(false),
        disable_reason: None,
    });
    let info = c.global_info(0);
    assert!(!info.global_invalid && !info.global_disable);
    assert!(info.disable_reasons.is_empty());
}

#[test]
fn a_large_vg_assembles_in_reasonable_time() {
    // ~0.7 ms per report at 1,000 PVs in release builds; kept smaller here
    // so that debug test runs stay quick.
    let mut c = Cache::new();
    let ids: Vec<u32> = (1..=400).collect();
    let vg = make_vg(1, 1, &ids);
    let start = std::time::Instant::now();
    let mut completes = 0;
    for n in &ids {
        let f = if n % 2 == 0 {
            bare(*n, *n as u64)
        } else {
            with_md(*n, *n as u64, &vg)
        };
        let o = c.pv_found(f).unwrap();
        completes += o
            .events
            .iter()
            .filter(|e| matches!(e, Event::VgComplete { .. }))
            .count();
    }
    assert_eq!(completes, 1);
    c.check_consistency();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}
