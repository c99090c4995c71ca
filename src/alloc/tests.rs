use super::*;
use crate::model::{Area, Lv, Pv, SegType};

pub(crate) fn vg_with(pe_counts: &[u64]) -> Vg {
    Vg {
        name: "vg".into(),
        id: "x".into(),
        seqno: 1,
        format: Some("lvm2".into()),
        status: vec!["RESIZEABLE".into(), "READ".into(), "WRITE".into()],
        flags: vec![],
        tags: vec![],
        system_id: None,
        extent_size: 8192,
        max_lv: 0,
        max_pv: 0,
        metadata_copies: 0,
        pvs: pe_counts
            .iter()
            .enumerate()
            .map(|(i, &n)| Pv {
                key: format!("pv{i}"),
                id: format!("id{i}"),
                device: None,
                status: vec!["ALLOCATABLE".into()],
                flags: vec![],
                tags: vec![],
                dev_size: n * 8192 + 2048,
                pe_start: 2048,
                pe_count: n,
                ba_start: None,
                ba_size: None,
                extra: vec![],
            })
            .collect(),
        lvs: vec![],
        historical_lvs: None,
        extra: vec![],
    }
}

pub(crate) fn add_lv(vg: &mut Vg, name: &str, chunks: &[Vec<Chunk>]) {
    let mut segments = Vec::new();
    let mut le = 0;
    for i in 0..chunks[0].len() {
        let len = chunks[0][i].len;
        let areas = chunks
            .iter()
            .map(|a| Area::Pv {
                pv: a[i].pv.clone(),
                pe: a[i].pe,
            })
            .collect::<Vec<_>>();
        let n = areas.len() as u64;
        segments.push(Segment {
            start_extent: le,
            extent_count: len * n,
            segtype: SegType::Striped,
            tags: vec![],
            areas,
            stripe_size: (n > 1).then_some(128),
            raid: None,
            extra: vec![],
        });
        le += len * n;
    }
    vg.lvs.push(Lv {
        name: name.into(),
        id: name.into(),
        status: vec!["READ".into(), "WRITE".into(), "VISIBLE".into()],
        flags: vec![],
        tags: vec![],
        creation_time: None,
        creation_host: None,
        allocation_policy: None,
        read_ahead: None,
        segments,
        extra: vec![],
    });
}

fn req(areas: usize, n: u64) -> Request {
    Request {
        areas,
        extents_per_area: n,
        policy: Policy::Normal,
        previous: vec![],
    }
}

fn chunk(pv: &str, pe: u64, len: u64) -> Chunk {
    Chunk {
        pv: pv.into(),
        pe,
        len,
    }
}

#[test]
fn matches_lvm2_fixture_placement() {
    // lvtypes fixture: lin on loop0(0), striped -i2 on loop0(2),loop1(0).
    let mut vg = vg_with(&[31; 8]);
    let lin = allocate(&vg, &req(1, 2), None).unwrap();
    assert_eq!(lin, vec![vec![chunk("pv0", 0, 2)]]);
    add_lv(&mut vg, "lin", &lin);
    let st = allocate(&vg, &req(2, 1), None).unwrap();
    assert_eq!(st, vec![vec![chunk("pv0", 2, 1)], vec![chunk("pv1", 0, 1)]]);
}

#[test]
fn stripes_need_distinct_pvs_unless_anywhere() {
    let vg = vg_with(&[10, 10]);
    let e = allocate(&vg, &req(3, 2), None).unwrap_err();
    assert!(matches!(e, AllocError::NotEnoughPvs { pvs: 2, .. }), "{e}");
    let mut r = req(3, 2);
    r.policy = Policy::Anywhere;
    let got = allocate(&vg, &r, None).unwrap();
    assert_eq!(got.len(), 3);
}

#[test]
fn fragmented_space_makes_more_segments() {
    let mut vg = vg_with(&[10]);
    add_lv(&mut vg, "a", &[vec![chunk("pv0", 3, 2)]]);
    // free: 0-2 (3), 5-9 (5); 7 extents -> biggest first, then the rest.
    let got = allocate(&vg, &req(1, 7), None).unwrap();
    assert_eq!(got, vec![vec![chunk("pv0", 5, 5), chunk("pv0", 0, 2)]]);
    assert!(matches!(
        allocate(&vg, &req(1, 9), None),
        Err(AllocError::NoSpace {
            needed: 9,
            available: 8
        })
    ));
}

#[test]
fn pe_ranges_restrict_the_allocation() {
    let vg = vg_with(&[31, 31]);
    let c = [Candidate {
        pv: "pv1".into(),
        ranges: vec![(20, 24), (22, 29)],
    }];
    let got = allocate(&vg, &req(1, 10), Some(&c)).unwrap();
    assert_eq!(got, vec![vec![chunk("pv1", 20, 10)]]);
    assert!(allocate(&vg, &req(1, 11), Some(&c)).is_err());
    let bad = [Candidate {
        pv: "pv1".into(),
        ranges: vec![(30, 31)],
    }];
    assert!(matches!(
        allocate(&vg, &req(1, 1), Some(&bad)),
        Err(AllocError::RangeBeyondPv { .. })
    ));
}

#[test]
fn extension_continues_contiguously_first() {
    let mut vg = vg_with(&[20, 20]);
    add_lv(&mut vg, "a", &[vec![chunk("pv0", 0, 4)]]);
    let mut r = req(1, 4);
    r.previous = vec![Some(("pv0".into(), 4))];
    assert_eq!(
        allocate(&vg, &r, None).unwrap(),
        vec![vec![chunk("pv0", 4, 4)]]
    );
    // contiguous policy with the next extent taken fails by name.
    add_lv(&mut vg, "b", &[vec![chunk("pv0", 4, 1)]]);
    r.policy = Policy::Contiguous;
    assert!(matches!(
        allocate(&vg, &r, None),
        Err(AllocError::NotContiguous { .. })
    ));
    // cling stays on pv0 even though pv1 is emptier.
    r.policy = Policy::Cling;
    assert_eq!(
        allocate(&vg, &r, None).unwrap(),
        vec![vec![chunk("pv0", 5, 4)]]
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_allocates_an_extent_twice(
            pes in proptest::collection::vec(1u64..40, 1..6),
            reqs in proptest::collection::vec((1usize..4, 1u64..15), 1..8),
        ) {
            let mut vg = vg_with(&pes);
            for (i, (areas, n)) in reqs.into_iter().enumerate() {
                let before = vg.clone();
                match allocate(&vg, &req(areas, n), None) {
                    Ok(chunks) => {
                        // sizes add up, parallel chunks have equal lengths,
                        // and distinct PVs within one segment.
                        prop_assert_eq!(chunks.len(), areas);
                        for a in &chunks {
                            prop_assert_eq!(a.iter().map(|c| c.len).sum::<u64>(), n);
                        }
                        for s in 0..chunks[0].len() {
                            let pvs: BTreeSet<_> = chunks.iter().map(|a| &a[s].pv).collect();
                            prop_assert_eq!(pvs.len(), areas);
                        }
                        add_lv(&mut vg, &format!("lv{i}"), &chunks);
                    }
                    Err(_) => prop_assert_eq!(&vg, &before),
                }
                // no extent used twice, none beyond its PV.
                let mut seen = BTreeSet::new();
                for lv in &vg.lvs {
                    for seg in &lv.segments {
                        let len = area_len(seg);
                        for a in &seg.areas {
                            if let Area::Pv { pv, pe } = a {
                                let count = vg.pvs.iter().find(|p| &p.key == pv).unwrap().pe_count;
                                prop_assert!(pe + len <= count);
                                for x in *pe..pe + len {
                                    prop_assert!(seen.insert((pv.clone(), x)));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
