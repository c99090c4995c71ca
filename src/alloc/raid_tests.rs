use super::*;
use crate::alloc::tests::{add_lv, vg_with};

fn chunk(pv: &str, pe: u64, len: u64) -> Chunk {
    Chunk {
        pv: pv.into(),
        pe,
        len,
    }
}

fn req(images: usize, parity: usize, per_image: u64, meta: u64) -> RaidRequest {
    RaidRequest {
        images,
        data_images: images - parity,
        extents_per_image: per_image,
        meta_extents: meta,
        policy: Policy::Normal,
        approx: false,
        previous_end: vec![],
        existing: vec![],
        cling_to: vec![],
    }
}

/// Record an allocation in the VG as linear sub-LVs (enough for the extent
/// map: the allocator only looks at used extents).
fn record(vg: &mut Vg, name: &str, a: &RaidAllocation) {
    for (s, m) in a.meta.iter().enumerate() {
        if let Some(m) = m {
            add_lv(vg, &format!("{name}_rmeta_{s}"), &[vec![m.clone()]]);
        }
    }
    for (s, d) in a.data.iter().enumerate() {
        for (i, c) in d.iter().enumerate() {
            add_lv(vg, &format!("{name}_rimage_{s}.{i}"), &[vec![c.clone()]]);
        }
    }
}

#[test]
fn meta_goes_in_front_of_data_on_the_same_pv() {
    // lvtypes state 06 -> 07: raid1 -m1 of 2 extents after lin, striped,
    // raid0 and raid0_meta: lvm2 put rmeta_0 at pv0:6, rimage_0 at pv0:7-8,
    // rmeta_1 at pv1:4, rimage_1 at pv1:5-6.
    let mut vg = vg_with(&[31; 8]);
    add_lv(&mut vg, "used0", &[vec![chunk("pv0", 0, 6)]]);
    add_lv(&mut vg, "used1", &[vec![chunk("pv1", 0, 4)]]);
    let got = allocate_raid(&vg, &req(2, 0, 2, 1), None).unwrap();
    assert_eq!(
        got.meta,
        vec![Some(chunk("pv0", 6, 1)), Some(chunk("pv1", 4, 1))]
    );
    assert_eq!(
        got.data,
        vec![vec![chunk("pv0", 7, 2)], vec![chunk("pv1", 5, 2)]]
    );
}

/// lvm2's test/shell/lvcreate-raid.sh, "Create RAID using 100%FREE": six
/// PVs of 38 extents; sizes lvm2 gets.
#[test]
fn hundred_percent_free_like_lvm2() {
    let vg = vg_with(&[38; 6]);
    let approx = |images, parity, per_image| {
        let mut r = req(images, parity, per_image, 1);
        r.approx = true;
        allocate_raid(&vg, &r, None).unwrap()
    };
    // raid1 -m1: 228/2 = 114 per image asked; 113 data + 1 meta on 3 PVs each.
    let a = approx(2, 0, 114);
    assert_eq!(a.extents_per_image(), 113);
    let pvs0: Vec<&str> = a.data[0].iter().map(|c| c.pv.as_str()).collect();
    let pvs1: Vec<&str> = a.data[1].iter().map(|c| c.pv.as_str()).collect();
    assert_eq!(pvs0, ["pv0", "pv2", "pv4"]);
    assert_eq!(pvs1, ["pv1", "pv3", "pv5"]);
    // raid5 -i5: 37 per image (92.50m with 512k extents).
    assert_eq!(approx(6, 1, 45).extents_per_image(), 37);
    // raid5 -i2: 75 per image (75.00m).
    assert_eq!(approx(3, 1, 114).extents_per_image(), 75);
    // raid6 -i4: 37 per image (74.00m).
    assert_eq!(approx(6, 2, 57).extents_per_image(), 37);

    // Eat 18 extents of the first PV.
    let mut vg = vg;
    add_lv(&mut vg, "eat", &[vec![chunk("pv0", 0, 18)]]);
    let approx = |images, parity, per_image, c: Option<&[Candidate]>| {
        let mut r = req(images, parity, per_image, 1);
        r.approx = true;
        allocate_raid(&vg, &r, c).unwrap()
    };
    let two = [
        Candidate {
            pv: "pv0".into(),
            ranges: vec![],
        },
        Candidate {
            pv: "pv1".into(),
            ranges: vec![],
        },
    ];
    // raid1 on the first two PVs: 19 (9.50m), and pv1 keeps 18 free. The
    // bigger free area ranks first, so image 0 goes to pv1.
    let a = approx(2, 0, 29, Some(&two));
    assert_eq!(a.extents_per_image(), 19);
    assert_eq!(a.data[0], vec![chunk("pv1", 1, 19)]);
    assert_eq!(a.data[1], vec![chunk("pv0", 19, 19)]);
    // raid5 -i5: 19 per image (47.50m).
    assert_eq!(approx(6, 1, 42, None).extents_per_image(), 19);
    // raid5 -i2: 57 per image (57.00m).
    assert_eq!(approx(3, 1, 105, None).extents_per_image(), 57);
}

#[test]
fn not_enough_pvs_or_space_is_refused() {
    let vg = vg_with(&[10; 4]);
    // raid6 -i3 needs 5 PVs.
    let e = allocate_raid(&vg, &req(5, 2, 1, 1), None).unwrap_err();
    assert!(
        matches!(
            e,
            AllocError::NotEnoughPvs {
                areas: 5,
                pvs: 4,
                ..
            }
        ),
        "{e}"
    );
    let e = allocate_raid(&vg, &req(2, 0, 20, 1), None).unwrap_err();
    assert!(
        matches!(
            e,
            AllocError::NoSpace {
                needed: 42,
                available: 40
            }
        ),
        "{e}"
    );
    // Space enough in total, but images cannot share PVs: 3 images of 12
    // on 4 PVs of 10 would need a fourth and fifth PV.
    let e = allocate_raid(&vg, &req(3, 1, 12, 1), None).unwrap_err();
    assert!(matches!(e, AllocError::Insufficient { .. }), "{e}");
}

#[test]
fn extension_continues_then_clings_and_never_shares() {
    // raid1 with images on pv0 (meta 0, data 1-2) and pv1 (0, 1-2).
    let mut vg = vg_with(&[6, 6, 20, 20]);
    add_lv(
        &mut vg,
        "r",
        &[vec![chunk("pv0", 0, 3)], vec![chunk("pv1", 0, 3)]],
    );
    let mut r = req(2, 0, 2, 0);
    r.previous_end = vec![Some(("pv0".into(), 3)), Some(("pv1".into(), 3))];
    r.existing = vec![vec!["pv0".into()], vec!["pv1".into()]];
    r.cling_to = r.existing.clone();
    let a = allocate_raid(&vg, &r, None).unwrap();
    assert_eq!(
        a.data,
        vec![vec![chunk("pv0", 3, 2)], vec![chunk("pv1", 3, 2)]]
    );
    assert_eq!(a.meta, vec![None, None]);
    // 5 more: 3 left on each own PV (cling), then pv2/pv3 for the rest.
    r.extents_per_image = 5;
    let a = allocate_raid(&vg, &r, None).unwrap();
    assert_eq!(
        a.data,
        vec![
            vec![chunk("pv0", 3, 3), chunk("pv2", 0, 2)],
            vec![chunk("pv1", 3, 3), chunk("pv3", 0, 2)]
        ]
    );
    // Only the other image's PV has space left: refused, not shared.
    let mut full = vg_with(&[3, 10]);
    add_lv(&mut full, "r0", &[vec![chunk("pv0", 0, 3)]]);
    add_lv(&mut full, "r1", &[vec![chunk("pv1", 0, 3)]]);
    let mut r = req(2, 0, 1, 0);
    r.existing = vec![vec!["pv0".into()], vec!["pv1".into()]];
    r.previous_end = vec![Some(("pv0".into(), 3)), Some(("pv1".into(), 3))];
    assert!(allocate_raid(&full, &r, None).is_err());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn raid_allocations_are_sound(
            pes in proptest::collection::vec(1u64..30, 2..9),
            reqs in proptest::collection::vec((2usize..6, 0usize..3, 1u64..20, 0u64..3, any::<bool>()), 1..6),
        ) {
            let mut vg = vg_with(&pes);
            for (i, (images, parity, n, meta, approx)) in reqs.into_iter().enumerate() {
                let parity = parity.min(images - 1);
                let mut r = req(images, parity, n, meta);
                r.approx = approx;
                let before = vg.clone();
                match allocate_raid(&vg, &r, None) {
                    Ok(a) => {
                        let per = a.extents_per_image();
                        prop_assert!(per > 0 && per <= n);
                        if !approx {
                            prop_assert_eq!(per, n);
                        }
                        // every image the same size; metadata as asked, on
                        // the PV of the image's first data chunk, in front.
                        let mut owner: BTreeMap<String, usize> = BTreeMap::new();
                        for s in 0..images {
                            prop_assert_eq!(a.data[s].iter().map(|c| c.len).sum::<u64>(), per);
                            match &a.meta[s] {
                                Some(m) => {
                                    prop_assert_eq!(m.len, meta);
                                    prop_assert_eq!(&m.pv, &a.data[s][0].pv);
                                    prop_assert_eq!(m.pe + m.len, a.data[s][0].pe);
                                }
                                None => prop_assert_eq!(meta, 0),
                            }
                            // images never share a PV, across all chunks.
                            for c in a.data[s].iter().chain(a.meta[s].iter()) {
                                let o = *owner.entry(c.pv.clone()).or_insert(s);
                                prop_assert_eq!(o, s);
                            }
                        }
                        record(&mut vg, &format!("lv{i}"), &a);
                    }
                    Err(_) => prop_assert_eq!(&vg, &before),
                }
                // no extent used twice, none beyond its PV.
                let mut seen = BTreeSet::new();
                for u in vg.used_extents().values().flatten() {
                    let count = vg.pv_by_key(&u.pv).unwrap().pe_count;
                    prop_assert!(u.pe + u.len <= count);
                    for x in u.range() {
                        prop_assert!(seen.insert((u.pv.clone(), x)));
                    }
                }
            }
        }
    }
}
