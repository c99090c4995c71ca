use super::*;
use crate::raid::test_support::fixture;
use proptest::prelude::*;
/// raid1m1 (2 images), raid1m2 (3 images), lin, raid5 and more on 8 PVs.
fn vg() -> Vg {
    fixture("10-lvcreate-raid5-i2")
}

fn with_env<T>(f: impl FnOnce(&mut Env) -> T) -> T {
    let mut id = || crate::uuid::format(&crate::uuid::generate());
    let mut env = Env {
        new_id: &mut id,
        creation_time: Some(1),
        creation_host: Some("host".into()),
        default_region_size: 4096,
    };
    f(&mut env)
}

fn opts() -> ImageOpts<'static> {
    ImageOpts {
        pvs: None,
        policy: Policy::Normal,
        region_size: None,
    }
}

fn images(vg: &Vg, name: &str) -> Vec<Option<String>> {
    vg.lv(name).unwrap().segments[0]
        .raid
        .as_ref()
        .unwrap()
        .images
        .clone()
}

fn metas(vg: &Vg, name: &str) -> Vec<Option<String>> {
    vg.lv(name).unwrap().segments[0]
        .raid
        .as_ref()
        .unwrap()
        .meta
        .clone()
}

/// Every invariant a committed VG must hold: lvm2-valid metadata (no
/// extent used twice, references resolve), and the images (with their
/// metadata) of every RAID LV on distinct PVs.
#[track_caller]
fn check(vg: &Vg) {
    if let Err(e) = crate::model::validate(vg) {
        panic!("invalid VG: {e:?}");
    }
    for lv in &vg.lvs {
        let Some(r) = lv.segments.first().and_then(|s| s.raid.as_ref()) else {
            continue;
        };
        let mut seen: Vec<String> = Vec::new();
        for (m, i) in r.meta.iter().zip(&r.images) {
            let mut mine = Vec::new();
            for n in [m, i].into_iter().flatten() {
                mine.extend(pvs_of(vg.lv(n).unwrap()));
            }
            mine.sort();
            mine.dedup();
            for p in &mine {
                assert!(!seen.contains(p), "{}: two images on {p}", lv.name);
            }
            seen.extend(mine);
        }
        assert_eq!(r.device_count as usize, r.images.len());
    }
}

#[track_caller]
fn check_plan(p: &Plan) {
    for s in &p.steps {
        check(&s.vg);
    }
}

#[test]
fn adding_an_image_commits_visible_sub_lvs_then_joins_them() {
    let vg = vg();
    let p = with_env(|e| change_image_count(&vg, "raid1m1", 3, &opts(), e)).unwrap();
    check_plan(&p);
    assert_eq!(p.steps.len(), 2);
    let first = &p.steps[0].vg;
    assert!(first.lv("raid1m1_rmeta_2").unwrap().is_visible());
    assert!(first.lv("raid1m1_rimage_2").unwrap().is_visible());
    assert_eq!(
        images(first, "raid1m1").len(),
        2,
        "array unchanged at first"
    );
    assert!(p.steps[0].wipe_first.is_empty());
    let last = p.final_vg().unwrap();
    assert_eq!(
        images(last, "raid1m1"),
        vec![
            Some("raid1m1_rimage_0".into()),
            Some("raid1m1_rimage_1".into()),
            Some("raid1m1_rimage_2".into())
        ]
    );
    let meta = last.lv("raid1m1_rmeta_2").unwrap();
    let img = last.lv("raid1m1_rimage_2").unwrap();
    assert!(!meta.is_visible() && !img.is_visible());
    assert!(meta.has_status("REBUILD") && img.has_status("REBUILD"));
    assert_eq!(
        img.size_extents(),
        vg.lv("raid1m1_rimage_0").unwrap().size_extents()
    );
    // The metadata area is wiped before it joins.
    let Area::Pv { pv, pe } = &meta.segments[0].areas[0] else {
        panic!()
    };
    assert_eq!(p.steps[1].wipe_first.len(), 1);
    assert_eq!(
        (&p.steps[1].wipe_first[0].pv, p.steps[1].wipe_first[0].pe),
        (pv, *pe)
    );
    // Metadata and data of the new image on one PV.
    assert_eq!(pvs_of(meta), pvs_of(img));
    assert_eq!(
        p.done,
        vec!["Logical volume vgraid/raid1m1 successfully converted."]
    );
}

#[test]
fn linear_becomes_raid1_with_its_extents_as_rimage_0() {
    let vg = vg();
    let lin = vg.lv("lin").unwrap().clone();
    let p = with_env(|e| change_image_count(&vg, "lin", 2, &opts(), e)).unwrap();
    check_plan(&p);
    let first = &p.steps[0].vg;
    assert!(first.lv("lin").unwrap().segments[0].is_linear());
    assert!(first.lv("lin_rmeta_0").unwrap().is_visible());
    assert!(first.lv("lin_rimage_1").unwrap().is_visible());
    let last = p.final_vg().unwrap();
    let top = last.lv("lin").unwrap();
    assert_eq!(top.id, lin.id);
    assert_eq!(top.raid_type(), Some(RaidType::Raid1));
    assert_eq!(
        last.lv("lin_rimage_0").unwrap().segments,
        lin.segments,
        "the data stays where it is"
    );
    assert!(!last.lv("lin_rimage_0").unwrap().has_status("REBUILD"));
    assert!(last.lv("lin_rimage_1").unwrap().has_status("REBUILD"));
    // rmeta_0 on the linear LV's PV.
    assert_eq!(pvs_of(last.lv("lin_rmeta_0").unwrap()), pvs_of(&lin));
    assert_eq!(metas(last, "lin").len(), 2);
    assert_eq!(p.steps[1].wipe_first.len(), 2);
    // lvm2's order: rmeta_0, rmeta_1, rimage_1, then the rimage_0 layer.
    let order: Vec<&str> = last
        .lvs
        .iter()
        .map(|l| l.name.as_str())
        .filter(|n| n.starts_with("lin_"))
        .collect();
    assert_eq!(
        order,
        ["lin_rmeta_0", "lin_rmeta_1", "lin_rimage_1", "lin_rimage_0"]
    );
    assert_eq!(
        last.lv("lin").unwrap().segments[0]
            .raid
            .as_ref()
            .unwrap()
            .region_size,
        Some(4096)
    );
}

#[test]
fn removing_images_shifts_and_renames_then_drops_the_extracted() {
    let vg = vg();
    // raid1m2 has images on three PVs; remove the one in slot 0.
    let pv0 = pvs_of(vg.lv("raid1m2_rimage_0").unwrap());
    let cands: Vec<Candidate> = pv0
        .iter()
        .map(|p| Candidate {
            pv: p.clone(),
            ranges: vec![],
        })
        .collect();
    let o = ImageOpts {
        pvs: Some(&cands),
        ..opts()
    };
    let old1 = vg.lv("raid1m2_rimage_1").unwrap().id.clone();
    let p = with_env(|e| change_image_count(&vg, "raid1m2", 2, &o, e)).unwrap();
    check_plan(&p);
    let mid = &p.steps[0].vg;
    assert!(mid.lv("raid1m2_rimage_0_extracted").unwrap().is_visible());
    assert!(mid.lv("raid1m2_rmeta_0_extracted").unwrap().is_visible());
    let last = p.final_vg().unwrap();
    assert!(last.lv("raid1m2_rimage_0_extracted").is_none());
    assert_eq!(
        images(last, "raid1m2"),
        vec![
            Some("raid1m2_rimage_0".into()),
            Some("raid1m2_rimage_1".into())
        ]
    );
    // The old slot 1 is now slot 0, renamed.
    assert_eq!(last.lv("raid1m2_rimage_0").unwrap().id, old1);
    assert!(last.lv("raid1m2_rimage_2").is_none());
}

#[test]
fn raid1_to_linear_keeps_the_last_image_data() {
    let vg = vg();
    let img0 = vg.lv("raid1m1_rimage_0").unwrap().segments.clone();
    let p = with_env(|e| change_image_count(&vg, "raid1m1", 1, &opts(), e)).unwrap();
    check_plan(&p);
    assert!(p
        .prompt
        .as_deref()
        .unwrap()
        .contains("to type linear losing all resilience"));
    let last = p.final_vg().unwrap();
    let top = last.lv("raid1m1").unwrap();
    assert_eq!(top.segments, img0, "the highest slot goes first");
    assert!(!last.lvs.iter().any(|l| l.name.starts_with("raid1m1_")));
    // In between: the layer with an error segment, visible.
    let mid = &p.steps[0].vg;
    assert_eq!(
        mid.lv("raid1m1_rimage_0").unwrap().segments[0].segtype,
        SegType::Unknown("error".into())
    );
}

#[test]
fn split_track_merge() {
    let vg = vg();
    let p = split_and_track(&vg, "raid1m2", None).unwrap();
    check_plan(&p);
    let t = p.final_vg().unwrap();
    let img = t.lv("raid1m2_rimage_2").unwrap();
    assert!(img.is_visible() && !img.has_status("WRITE"));
    assert_eq!(images(t, "raid1m2").len(), 3, "the slot stays");
    assert_eq!(
        tracking_image(t, "raid1m2").as_deref(),
        Some("raid1m2_rimage_2")
    );
    assert_eq!(
        p.done[0],
        "vgraid/raid1m2_rimage_2 split from vgraid/raid1m2 for read-only purposes."
    );
    // Every other conversion is refused while tracking.
    let e = with_env(|e| change_image_count(t, "raid1m2", 4, &opts(), e)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Conversion of tracking raid1 LV vgraid/raid1m2 is not supported."
    );
    assert!(split_and_track(t, "raid1m2", None).is_err());
    assert!(change_region_size(t, "raid1m2", 2048).is_err());
    // Merge back: hidden and writable again, as before.
    let m = merge(t, "raid1m2_rimage_2").unwrap();
    assert_eq!(m.final_vg().unwrap(), &vg);
    // A non-tracked image cannot be merged.
    let e = merge(&vg, "raid1m2_rimage_1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "vgraid/raid1m2_rimage_1 cannot be merged because --trackchanges was not used."
    );
    // Split the tracked image for good.
    let s = split(t, "raid1m2", 1, "gone", None).unwrap();
    check_plan(&s);
    let f = s.final_vg().unwrap();
    let gone = f.lv("gone").unwrap();
    assert_eq!(gone.id, img.id);
    assert!(gone.is_visible());
    assert_eq!(images(f, "raid1m2").len(), 2);
    assert!(f.lv("raid1m2_rmeta_2").is_none());
    assert!(tracking_image(f, "raid1m2").is_none());
}

#[test]
fn split_makes_a_top_level_lv() {
    let vg = vg();
    let p = split(&vg, "raid1m2", 1, "copy", None).unwrap();
    check_plan(&p);
    let f = p.final_vg().unwrap();
    let c = f.lv("copy").unwrap();
    assert!(c.is_visible() && c.has_status("WRITE"));
    assert_eq!(c.id, vg.lv("raid1m2_rimage_2").unwrap().id);
    assert!(f.lv("raid1m2_rmeta_2_extracted").is_none());
    assert!(p.steps[0].vg.lv("raid1m2_rmeta_2_extracted").is_some());
    assert_eq!(
        split(&vg, "raid1m2", 2, "x", None).unwrap_err().to_string(),
        "Unable to split more than one image from vgraid/raid1m2."
    );
    assert_eq!(
        split(&vg, "raid1m2", 3, "x", None).unwrap_err().to_string(),
        "Unable to split images by specified amount."
    );
    assert_eq!(
        split(&vg, "raid1m2", 1, "lin", None)
            .unwrap_err()
            .to_string(),
        "Logical Volume \"lin\" already exists in vgraid."
    );
    // Down to one image: the LV becomes linear.
    let p = split(&vg, "raid1m1", 1, "copy", None).unwrap();
    check_plan(&p);
    assert!(p.final_vg().unwrap().lv("raid1m1").unwrap().segments[0].is_linear());
}

#[test]
fn replace_puts_new_images_in_the_same_slots() {
    let vg = vg();
    let pv = pvs_of(vg.lv("raid1m2_rimage_1").unwrap());
    let rs = ReplaceSet {
        pvs: pv.clone(),
        sub_lvs: vec![],
    };
    let p = with_env(|e| replace(&vg, "raid1m2", &rs, None, Policy::Normal, e)).unwrap();
    check_plan(&p);
    assert_eq!(p.steps.len(), 3);
    let f = p.final_vg().unwrap();
    assert_eq!(images(f, "raid1m2"), images(&vg, "raid1m2"));
    let new = f.lv("raid1m2_rimage_1").unwrap();
    assert!(new.has_status("REBUILD"));
    assert_ne!(new.id, vg.lv("raid1m2_rimage_1").unwrap().id);
    assert!(!pvs_of(new).iter().any(|p| pv.contains(p)));
    assert_eq!(p.steps[1].wipe_first.len(), 1);
    // raid5 can lose one device, not two.
    let r5 = images(&vg, "raid5");
    let two: Vec<String> = r5[..2]
        .iter()
        .flat_map(|i| pvs_of(vg.lv(i.as_deref().unwrap()).unwrap()))
        .collect();
    let e = with_env(|e| {
        replace(
            &vg,
            "raid5",
            &ReplaceSet {
                pvs: two,
                sub_lvs: vec![],
            },
            None,
            Policy::Normal,
            e,
        )
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Unable to replace more than 1 PVs from (raid5) vgraid/raid5."
    );
    // By sub-LV name.
    let p = with_env(|e| {
        replace(
            &vg,
            "raid5",
            &ReplaceSet {
                pvs: vec![],
                sub_lvs: vec!["raid5_rimage_0".into()],
            },
            None,
            Policy::Normal,
            e,
        )
    })
    .unwrap();
    check_plan(&p);
}

#[test]
fn region_size_changes_and_is_already() {
    let vg = vg();
    let cur = vg.lv("raid1m1").unwrap().segments[0]
        .raid
        .as_ref()
        .unwrap()
        .region_size
        .unwrap();
    let e = change_region_size(&vg, "raid1m1", cur).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Region size is already {} on raid1 LV vgraid/raid1m1.",
            display_size(cur)
        )
    );
    let p = change_region_size(&vg, "raid1m1", cur / 2).unwrap();
    check_plan(&p);
    assert_eq!(
        p.final_vg().unwrap().lv("raid1m1").unwrap().segments[0]
            .raid
            .as_ref()
            .unwrap()
            .region_size,
        Some(cur / 2)
    );
    assert!(change_region_size(&vg, "raid0", 1024).is_err());
}

#[test]
fn mirrors_on_raid5_is_refused() {
    let vg = vg();
    let e = with_env(|e| change_image_count(&vg, "raid5", 3, &opts(), e)).unwrap_err();
    assert!(e.to_string().contains("raid5 LV vgraid/raid5"), "{e}");
}

#[test]
fn out_of_sync_lv_gets_no_new_images() {
    let mut vg = vg();
    vg.lv_mut("raid1m1")
        .unwrap()
        .status
        .push("NOTSYNCED".into());
    let e = with_env(|e| change_image_count(&vg, "raid1m1", 3, &opts(), e)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can't add image to out-of-sync RAID LV: use 'lvchange --resync' first."
    );
    // Removing images is allowed (and drops NOTSYNCED with the RAID layer).
    let p = with_env(|e| change_image_count(&vg, "raid1m1", 1, &opts(), e)).unwrap();
    assert!(!p
        .final_vg()
        .unwrap()
        .lv("raid1m1")
        .unwrap()
        .has_status("NOTSYNCED"));
}

#[test]
fn not_enough_pvs() {
    let vg = vg();
    // 8 PVs: raid1m2 uses 3, so 5 more images fit, 6 do not.
    let e = with_env(|e| change_image_count(&vg, "raid1m2", 9, &opts(), e)).unwrap_err();
    assert!(e.to_string().contains("Insufficient"), "{e}");
}

/// An LV's mapping: its segments and those of every sub-LV it uses.
fn array_of(vg: &Vg, name: &str) -> Vec<(String, Vec<Segment>, bool)> {
    let mut out = Vec::new();
    let mut names = vec![name.to_string()];
    names.extend(crate::raid::sub_lvs(vg, name));
    for n in names {
        if let Some(l) = vg.lv(&n) {
            out.push((n, l.segments.clone(), l.has_status("WRITE")));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of image operations yields valid VGs (no extent used
    /// twice, images on distinct PVs, sizes consistent), and a refused
    /// operation changes nothing.
    #[test]
    fn image_operations_keep_the_invariants(ops in proptest::collection::vec((0u8..6, 0u8..8), 1..6)) {
        let mut vg = vg();
        for (op, arg) in ops {
            let before = vg.clone();
            let lv = if arg % 2 == 0 { "raid1m2" } else { "lin" };
            let r = with_env(|e| match op {
                0 => change_image_count(&vg, lv, 1 + u64::from(arg % 4), &opts(), e),
                1 => split(&vg, lv, 1, &format!("s{arg}"), None),
                2 => split_and_track(&vg, lv, None),
                3 => merge(&vg, &format!("{lv}_rimage_{}", arg % 4)),
                4 => change_region_size(&vg, lv, 1024 << (arg % 3)),
                _ => {
                    let pv = format!("pv{arg}");
                    replace(&vg, lv, &ReplaceSet { pvs: vec![pv], sub_lvs: vec![] }, None, Policy::Normal, e)
                }
            });
            prop_assert_eq!(&vg, &before);
            if let Ok(p) = r {
                check_plan(&p);
                // Crash safety: after any commit the LV is either what it
                // was or what it will be (leftover sub-LVs aside).
                if let Some(f) = p.final_vg() {
                    for st in &p.steps {
                        let a = array_of(&st.vg, lv);
                        prop_assert!(
                            a == array_of(&before, lv) || a == array_of(f, lv),
                            "intermediate state of {} is neither before nor after", lv
                        );
                    }
                }
                if let Some(f) = p.final_vg() {
                    // Sizes add up: every raid1 image is as big as the LV.
                    for l in &f.lvs {
                        if l.raid_type() == Some(RaidType::Raid1) {
                            for i in images(f, &l.name).into_iter().flatten() {
                                prop_assert_eq!(f.lv(&i).unwrap().size_extents(), l.size_extents());
                            }
                        }
                    }
                    vg = f.clone();
                }
            }
        }
    }
}

/// `vg()` with the PVs holding `subs` flagged MISSING (as
/// `VgForWrite::open_partial` leaves them).
fn with_missing(subs: &[&str]) -> (Vg, Vec<String>) {
    let mut vg = vg();
    let mut keys: Vec<String> = subs
        .iter()
        .flat_map(|s| pvs_of(vg.lv(s).unwrap()))
        .collect();
    keys.sort();
    keys.dedup();
    for p in vg.pvs.iter_mut() {
        if keys.contains(&p.key) {
            p.flags.push("MISSING".into());
        }
    }
    (vg, keys)
}

#[test]
fn repair_replaces_images_on_missing_pvs_elsewhere() {
    let (vg, missing) = with_missing(&["raid5_rimage_1"]);
    let failed = failed_pvs(&vg);
    assert_eq!(failed, missing);
    assert_eq!(slots_on(&vg, "raid5", &failed), vec![1]);
    let p = with_env(|e| repair(&vg, "raid5", &failed, &[], None, Policy::Normal, e)).unwrap();
    check_plan(&p);
    assert_eq!(p.steps.len(), 3);
    let f = p.final_vg().unwrap();
    assert_eq!(images(f, "raid5"), images(&vg, "raid5"));
    let new = f.lv("raid5_rimage_1").unwrap();
    assert_ne!(new.id, vg.lv("raid5_rimage_1").unwrap().id);
    assert!(new.has_status("REBUILD"));
    // Nothing of the LV is on a missing PV any more, no image shares a PV.
    for sub in crate::raid::sub_lvs(f, "raid5") {
        for pv in pvs_of(f.lv(&sub).unwrap()) {
            assert!(!missing.contains(&pv), "{sub} still on missing {pv}");
        }
    }
    assert!(slots_on(f, "raid5", &failed).is_empty());
    // The old pair is gone from the metadata; the missing PV stays flagged.
    assert!(f.lvs.iter().all(|l| !l.name.ends_with("_extracted")));
    assert!(f.pv_by_key(&missing[0]).unwrap().is_missing());
    // The new metadata area is wiped before it joins.
    assert_eq!(p.steps[1].wipe_first.len(), 1);
    assert!(!missing.contains(&p.steps[1].wipe_first[0].pv));
}

#[test]
fn repair_never_allocates_on_a_missing_pv_even_when_named() {
    let (vg, missing) = with_missing(&["raid1m2_rimage_2"]);
    let failed = failed_pvs(&vg);
    // Offered only the missing PV itself: nothing suitable.
    let only_missing: Vec<Candidate> = missing
        .iter()
        .map(|k| Candidate {
            pv: k.clone(),
            ranges: vec![],
        })
        .collect();
    let e = with_env(|e| {
        repair(
            &vg,
            "raid1m2",
            &failed,
            &[],
            Some(&only_missing),
            Policy::Normal,
            e,
        )
    })
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Insufficient suitable allocatable extents"),
        "{e}"
    );
}

#[test]
fn repair_replaces_as_many_as_fit_when_space_is_short() {
    let (vg, missing) = with_missing(&["raid1m2_rimage_1", "raid1m2_rimage_2"]);
    let failed = failed_pvs(&vg);
    assert_eq!(slots_on(&vg, "raid1m2", &failed).len(), 2);
    // One spare PV the LV does not use: only one image fits.
    let used = pvs_of_tree(&vg, "raid1m2");
    let spare = vg
        .pvs
        .iter()
        .find(|p| !used.contains(&p.key) && !p.is_missing())
        .unwrap()
        .key
        .clone();
    let one = [Candidate {
        pv: spare.clone(),
        ranges: vec![],
    }];
    let p =
        with_env(|e| repair(&vg, "raid1m2", &failed, &[], Some(&one), Policy::Normal, e)).unwrap();
    check_plan(&p);
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("Attempting to replace 1 instead")));
    let f = p.final_vg().unwrap();
    assert_eq!(slots_on(f, "raid1m2", &failed).len(), 1);
    let new = f.lv("raid1m2_rimage_1").unwrap();
    assert_eq!(pvs_of(new), vec![spare]);
    assert!(!missing.is_empty());
}

#[test]
fn repair_without_failed_pvs_or_not_on_them() {
    let vg0 = vg();
    let p = with_env(|e| repair(&vg0, "raid5", &[], &[], None, Policy::Normal, e)).unwrap();
    assert!(p.steps.is_empty());
    assert_eq!(
        p.notes,
        vec!["vgraid/raid5 does not contain devices specified to replace.".to_string()]
    );
    // A missing PV the LV does not use (raid1m1 is on pv0/pv1).
    let (vg, _) = with_missing(&["raid1m2_rimage_2"]);
    let failed = failed_pvs(&vg);
    assert_eq!(failed, vec!["pv2".to_string()]);
    let e =
        with_env(|e| repair(&vg, "raid1m1", &failed, &[], None, Policy::Normal, e)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Logical volume vgraid/raid1m1 does not contain devices specified to replace."
    );
    // A missing PV without extents is not a failed PV (lvm2's _failed_pv_list).
    let mut empty = vg0.clone();
    let unused = empty
        .pvs
        .iter()
        .position(|p| !empty.lvs.iter().any(|l| pvs_of(l).contains(&p.key)))
        .expect("the fixture has unused PVs");
    empty.pvs[unused].flags.push("MISSING".into());
    assert!(failed_pvs(&empty).is_empty());
}

#[test]
fn repair_replaces_an_image_the_kernel_failed_although_its_pv_is_present() {
    let vg0 = vg();
    // raid5's slot 2 is 'D' in the kernel; every PV is there.
    let p = with_env(|e| repair(&vg0, "raid5", &[], &[2], None, Policy::Normal, e)).unwrap();
    check_plan(&p);
    let f = p.final_vg().unwrap();
    let old = vg0.lv("raid5_rimage_2").unwrap();
    let new = f.lv("raid5_rimage_2").unwrap();
    assert_ne!(new.id, old.id, "a new image in slot 2");
    assert!(new.has_status("REBUILD"));
    assert_ne!(pvs_of(new), pvs_of(old), "not back on the PV md gave up on");
    for s in [0, 1] {
        let n = format!("raid5_rimage_{s}");
        assert_eq!(f.lv(&n).unwrap().id, vg0.lv(&n).unwrap().id, "{n} kept");
    }
}
