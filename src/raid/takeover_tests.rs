use super::*;
use crate::activate::table::{lv_tables, TableOptions};
use crate::raid::create;
use crate::raid::test_support::{fixture, ids, spec};

fn empty_vg() -> Vg {
    fixture("02-vgcreate")
}

/// `lvcreate --type T -i stripes [-m mirrors] -l extents -n lv`.
fn with_raid(t: RaidType, stripes: u64, mirrors: u64, extents: u64) -> Vg {
    let spec = spec("lv", t, stripes, mirrors, extents);
    create(&empty_vg(), &spec, None, &mut ids()).unwrap().vg
}

/// `lvcreate -i stripes -I 64k -l extents -n lv`: one striped segment on
/// pv0, pv1, ... from PE 0.
fn with_striped(stripes: usize, extents: u64) -> Vg {
    let mut vg = empty_vg();
    let areas = (0..stripes)
        .map(|s| Area::Pv {
            pv: format!("pv{s}"),
            pe: 0,
        })
        .collect();
    let status = ["READ", "WRITE", "VISIBLE"].map(String::from).to_vec();
    vg.lvs.push(Lv {
        segments: vec![Segment {
            start_extent: 0,
            extent_count: extents,
            segtype: SegType::Striped,
            tags: vec![],
            areas,
            stripe_size: Some(128),
            raid: None,
            extra: vec![],
        }],
        ..crate::raid::chunks_lv("lv".into(), ids()(), status, &[], None, None)
    });
    vg
}

fn req(to: &str) -> TakeoverRequest<'static> {
    TakeoverRequest {
        creation_time: Some(1),
        creation_host: Some("host".into()),
        ..TakeoverRequest::new("lv", SegT::from_name(to).unwrap(), 4096)
    }
}

#[track_caller]
fn ok(vg: &Vg, to: &str) -> TakeoverPlan {
    let p = plan(vg, &req(to)).unwrap_or_else(|e| panic!("{to}: {e}"));
    for s in &p.steps {
        s.vg.validate().unwrap_or_else(|e| panic!("{to}: {e:?}"));
    }
    lv_tables_ok(p.final_vg());
    p
}

#[track_caller]
fn refused(vg: &Vg, r: &TakeoverRequest) -> String {
    match plan(vg, r) {
        Err(RaidError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The final LV still activates: every table renders.
#[track_caller]
fn lv_tables_ok(vg: &Vg) {
    let mut n = 0u32;
    let mut resolve = |_: &crate::activate::table::DevRef| {
        n += 1;
        Some(crate::activate::table::DevNum::new(253, n))
    };
    let _ = &mut resolve;
    let devs = crate::activate::table::lv_devices(vg, "lv", &TableOptions::default())
        .unwrap_or_else(|e| panic!("tables: {e:?}"));
    assert!(!devs.is_empty());
    let _ = lv_tables;
}

fn seg(vg: &Vg) -> &Segment {
    &vg.lv("lv").unwrap().segments[0]
}

fn raid(vg: &Vg) -> &RaidSeg {
    seg(vg).raid.as_ref().unwrap()
}

fn images(vg: &Vg) -> Vec<String> {
    raid(vg).images.iter().map(|i| i.clone().unwrap()).collect()
}

fn metas(vg: &Vg) -> Vec<Option<String>> {
    raid(vg).meta.clone()
}

/// First PV of a sub-LV.
fn pv_of(vg: &Vg, lv: &str) -> String {
    match &vg.lv(lv).unwrap().segments[0].areas[0] {
        Area::Pv { pv, .. } => pv.clone(),
        a => panic!("{a:?}"),
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn warns(p: &TakeoverPlan) -> Vec<String> {
    p.messages
        .iter()
        .filter_map(|m| match m {
            Msg::Warn(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn striped_to_raid0_wraps_each_stripe_in_an_image() {
    let vg = with_striped(3, 30);
    let p = ok(&vg, "raid0");
    assert_eq!(p.steps.len(), 1, "nothing allocated, nothing removed");
    let v = p.final_vg();
    assert_eq!(seg(v).segtype, SegType::Raid(RaidType::Raid0));
    assert_eq!(seg(v).stripe_size, Some(128));
    assert_eq!(
        images(v),
        names(&["lv_rimage_0", "lv_rimage_1", "lv_rimage_2"])
    );
    assert_eq!(metas(v), vec![None, None, None]);
    assert_eq!(raid(v).region_size, None);
    for (s, i) in images(v).iter().enumerate() {
        let l = v.lv(i).unwrap();
        assert!(!l.is_visible());
        assert_eq!(l.size_extents(), 10);
        assert_eq!(pv_of(v, i), format!("pv{s}"));
    }
    assert_eq!(p.result_type, "raid0");
    assert!(p.interim_for.is_none());
    assert_eq!(
        p.prompt.as_deref(),
        Some("Are you sure you want to convert striped LV vgraid/lv to raid0 type? [y/n]: ")
    );
}

#[test]
fn striped_to_raid0_meta_puts_each_rmeta_on_its_image_pv_and_wipes_it() {
    let vg = with_striped(2, 20);
    let p = ok(&vg, "raid0_meta");
    assert_eq!(p.steps.len(), 2);
    // First commit: the new metadata LVs alone, visible; the LV unchanged.
    let first = &p.steps[0].vg;
    assert_eq!(first.lv("lv"), vg.lv("lv"));
    for m in ["lv_rmeta_0", "lv_rmeta_1"] {
        assert!(first.lv(m).unwrap().is_visible());
    }
    let v = p.final_vg();
    assert_eq!(seg(v).segtype, SegType::Raid(RaidType::Raid0Meta));
    assert_eq!(
        metas(v),
        vec![Some("lv_rmeta_0".into()), Some("lv_rmeta_1".into())]
    );
    for s in 0..2 {
        let m = format!("lv_rmeta_{s}");
        assert_eq!(pv_of(v, &m), pv_of(v, &format!("lv_rimage_{s}")));
        assert!(!v.lv(&m).unwrap().is_visible());
        assert!(!v.lv(&m).unwrap().has_status("REBUILD"));
    }
    assert_eq!(p.steps[1].wipe_first.len(), 2);
    assert_eq!(p.steps[1].wipe_first[0].pv, "pv0");
    assert_eq!(p.steps[1].wipe_first[0].pe, 10);
}

#[test]
fn raid0_meta_to_raid0_extracts_then_removes_the_metadata() {
    let vg = with_raid(RaidType::Raid0Meta, 2, 1, 20);
    let p = ok(&vg, "raid0");
    assert_eq!(p.steps.len(), 2);
    let mid = &p.steps[0].vg;
    assert_eq!(seg(mid).segtype, SegType::Raid(RaidType::Raid0));
    let ex = mid.lv("lv_rmeta_0_extracted").unwrap();
    assert!(ex.is_visible());
    assert!(ex.segments[0].is_linear(), "no error target");
    let v = p.final_vg();
    assert!(v.lvs.iter().all(|l| !l.name.contains("rmeta")));
    assert_eq!(metas(v), vec![None, None]);
}

#[test]
fn raid0_to_raid0_meta_and_back_to_striped_gives_the_stripes_back() {
    let vg = with_striped(3, 30);
    let r0 = ok(&vg, "raid0");
    let r0m = ok(r0.final_vg(), "raid0_meta");
    assert_eq!(r0m.steps.len(), 2);
    let back = ok(r0m.final_vg(), "striped");
    let v = back.final_vg();
    assert_eq!(v.lv("lv").unwrap().segments, vg.lv("lv").unwrap().segments);
    assert_eq!(
        v.lvs.len(),
        1,
        "{:?}",
        v.lvs.iter().map(|l| &l.name).collect::<Vec<_>>()
    );
    assert_eq!(back.result_type, "striped");
    // The metadata LVs leave with their extents, the images with none.
    assert!(back.steps[0].vg.lv("lv_rmeta_2_extracted").is_some());
    assert!(back.steps[0].vg.lv("lv_rimage_2").is_none());
}

#[test]
fn striped_to_raid5_is_replaced_by_raid5_n_with_parity_at_the_end() {
    let vg = with_striped(2, 20);
    let p = ok(&vg, "raid5");
    assert_eq!(
        warns(&p),
        vec![
            "Replaced LV type raid5 (same as raid5_ls) with possible type raid5_n.".to_string(),
            "Repeat this command to convert to raid5 after an interim conversion has finished."
                .to_string()
        ]
    );
    assert_eq!(p.interim_for.as_deref(), Some("raid5"));
    assert_eq!(p.result_type, "raid5_n");
    let v = p.final_vg();
    assert_eq!(
        images(v),
        names(&["lv_rimage_0", "lv_rimage_1", "lv_rimage_2"])
    );
    assert_eq!(raid(v).region_size, Some(4096));
    assert_eq!(seg(v).stripe_size, Some(128));
    let parity = v.lv("lv_rimage_2").unwrap();
    assert!(parity.has_status("REBUILD"));
    assert!(v.lv("lv_rmeta_2").unwrap().has_status("REBUILD"));
    assert!(!v.lv("lv_rimage_0").unwrap().has_status("REBUILD"));
    // Parity pair on a PV of its own, metadata and data together.
    let pvp = pv_of(v, "lv_rimage_2");
    assert_eq!(pvp, pv_of(v, "lv_rmeta_2"));
    assert!(pvp != "pv0" && pvp != "pv1");
    // Commits: new LVs (3 rmeta + parity image), array.
    assert_eq!(p.steps.len(), 2);
    assert_eq!(p.steps[1].wipe_first.len(), 3);
}

#[test]
fn raid0_meta_to_raid4_puts_parity_first_and_wipes_every_rmeta() {
    let vg = with_raid(RaidType::Raid0Meta, 2, 1, 20);
    let old0 = vg.lv("lv_rimage_0").unwrap().segments.clone();
    let p = ok(&vg, "raid4");
    let v = p.final_vg();
    assert_eq!(seg(v).segtype, SegType::Raid(RaidType::Raid4));
    assert_eq!(
        images(v),
        names(&["lv_rimage_0", "lv_rimage_1", "lv_rimage_2"])
    );
    // The old first stripe is in slot 1 now, renamed after it.
    assert_eq!(v.lv("lv_rimage_1").unwrap().segments, old0);
    assert!(v.lv("lv_rimage_0").unwrap().has_status("REBUILD"));
    assert_eq!(p.steps.last().unwrap().wipe_first.len(), 3);
}

#[test]
fn raid4_and_raid5_n_are_reshapes_but_raid6_to_raid4_moves_parity_first() {
    // lvm2 reshapes raid4 <-> raid5_n (the kernel moves the parity).
    let vg = with_raid(RaidType::Raid4, 3, 1, 30);
    assert!(refused(&vg, &req("raid5_n")).contains("must be active"));
    let vg5 = with_raid(RaidType::Raid5N, 3, 1, 30);
    assert!(refused(&vg5, &req("raid4")).contains("must be active"));
    // raid6_n_6 -> raid4: Q goes, then P moves from the last slot to the
    // first (lvm2's _raid45_to_raid54_wrapper inside the downconvert).
    let vg6 = with_raid(RaidType::Raid6N6, 3, 1, 30);
    let p_seg = vg6.lv("lv_rimage_3").unwrap().segments.clone();
    let d0 = vg6.lv("lv_rimage_0").unwrap().segments.clone();
    let p = ok(&vg6, "raid4");
    let v = p.final_vg();
    assert_eq!(seg(v).segtype, SegType::Raid(RaidType::Raid4));
    assert_eq!(v.lv("lv_rimage_0").unwrap().segments, p_seg);
    assert_eq!(v.lv("lv_rimage_1").unwrap().segments, d0);
    assert_eq!(images(v).len(), 4);
    assert_eq!(p.steps.len(), 2);
    assert_eq!(
        p.steps[0].wipe_first.len(),
        4,
        "roles change: every rmeta wiped"
    );
    assert!(p.steps[0].vg.lv("lv_rimage_4_extracted").is_some());
    assert_eq!(raid(v).region_size, Some(4096));
}

#[test]
fn raid5_n_to_raid6_adds_q_and_keeps_the_region_size() {
    let mut vg = with_raid(RaidType::Raid5N, 3, 1, 30);
    vg.lv_mut("lv").unwrap().segments[0]
        .raid
        .as_mut()
        .unwrap()
        .region_size = Some(2048);
    let p = ok(&vg, "raid6");
    assert_eq!(p.result_type, "raid6_n_6");
    assert_eq!(
        warns(&p)[0],
        "Replaced LV type raid6 (same as raid6_zr) with possible type raid6_n_6."
    );
    let v = p.final_vg();
    assert_eq!(images(v).len(), 5);
    assert_eq!(raid(v).region_size, Some(2048));
    assert!(v.lv("lv_rimage_4").unwrap().has_status("REBUILD"));
}

#[test]
fn raid4_to_raid6_moves_parity_then_adds_q() {
    let vg = with_raid(RaidType::Raid4, 3, 1, 30);
    let parity = vg.lv("lv_rimage_0").unwrap().segments.clone();
    let p = ok(&vg, "raid6");
    assert_eq!(p.result_type, "raid6_n_6");
    let v = p.final_vg();
    assert_eq!(v.lv("lv_rimage_3").unwrap().segments, parity);
    assert!(v.lv("lv_rimage_4").unwrap().has_status("REBUILD"));
    assert!(!v.lv("lv_rimage_3").unwrap().has_status("REBUILD"));
}

#[test]
fn raid5_layouts_go_to_their_raid6_6_layout_and_back() {
    for (r5, r6) in [
        (RaidType::Raid5Ls, "raid6_ls_6"),
        (RaidType::Raid5Rs, "raid6_rs_6"),
        (RaidType::Raid5La, "raid6_la_6"),
        (RaidType::Raid5Ra, "raid6_ra_6"),
        (RaidType::Raid5, "raid6_ls_6"),
    ] {
        let vg = with_raid(r5, 3, 1, 30);
        let p = ok(&vg, "raid6");
        assert_eq!(p.result_type, r6, "{r5}");
        let v = p.final_vg();
        assert_eq!(images(v).len(), 5);
        let down = ok(v, "raid5");
        let expect = if r5 == RaidType::Raid5 {
            "raid5_ls"
        } else {
            r5.name()
        };
        assert_eq!(down.result_type, expect);
        assert_eq!(
            down.steps.len(),
            2,
            "array, then the extracted pair removed"
        );
        assert!(down.steps[0].vg.lv("lv_rimage_4_extracted").is_some());
        assert!(down.steps[0].vg.lv("lv_rmeta_4_extracted").is_some());
        assert_eq!(images(down.final_vg()).len(), 4);
    }
}

#[test]
fn raid5_with_two_stripes_to_raid6_asks_for_a_restripe_first() {
    let vg = with_raid(RaidType::Raid5Ls, 2, 1, 20);
    let m = refused(&vg, &req("raid6"));
    assert!(
        m.contains("Converting raid5_ls LV vgraid/lv to 4 stripes first."),
        "{m}"
    );
    assert!(m.contains("must be active"), "{m}");
}

#[test]
fn striped_with_two_stripes_to_raid6_goes_through_raid5_n() {
    let vg = with_striped(2, 20);
    let p = ok(&vg, "raid6");
    assert_eq!(p.result_type, "raid5_n");
    assert_eq!(
        warns(&p)[0],
        "Replaced LV type raid6 (same as raid6_zr) with possible type raid5_n."
    );
    let vg3 = with_striped(3, 30);
    let p3 = ok(&vg3, "raid6");
    assert_eq!(p3.result_type, "raid6_n_6");
    assert_eq!(images(p3.final_vg()).len(), 5);
}

#[test]
fn raid6_n_6_to_striped_drops_both_parities() {
    let vg = with_raid(RaidType::Raid6N6, 3, 1, 30);
    let data: Vec<_> = (0..3)
        .map(|s| vg.lv(&format!("lv_rimage_{s}")).unwrap().segments[0].areas[0].clone())
        .collect();
    let p = ok(&vg, "striped");
    let v = p.final_vg();
    let lv = v.lv("lv").unwrap();
    assert_eq!(lv.segments.len(), 1);
    assert_eq!(lv.segments[0].areas, data);
    assert_eq!(lv.segments[0].extent_count, 30);
    assert_eq!(v.lvs.len(), 1);
    assert_eq!(p.steps.len(), 2);
}

#[test]
fn raid6_ls_6_to_striped_goes_through_raid6_n_6() {
    let vg = with_raid(RaidType::Raid6Ls6, 3, 1, 30);
    let m = refused(&vg, &req("striped"));
    assert!(
        m.contains("Replaced LV type striped with possible type raid6_n_6."),
        "{m}"
    );
    assert!(
        m.contains("must be active"),
        "a layout change is a reshape: {m}"
    );
}

#[test]
fn raid0_to_raid10_mirrors_each_stripe_next_to_it() {
    let vg = with_raid(RaidType::Raid0, 2, 1, 20);
    let p = ok(&vg, "raid10");
    let v = p.final_vg();
    assert_eq!(seg(v).segtype, SegType::Raid(RaidType::Raid10));
    assert_eq!(
        images(v),
        names(&["lv_rimage_0", "lv_rimage_2", "lv_rimage_1", "lv_rimage_3"])
    );
    assert_eq!(raid(v).data_copies, Some(2));
    let rebuild: Vec<bool> = images(v)
        .iter()
        .map(|i| v.lv(i).unwrap().has_status("REBUILD"))
        .collect();
    assert_eq!(rebuild, vec![false, true, false, true]);
    assert!(metas(v)
        .iter()
        .all(|m| !v.lv(m.as_deref().unwrap()).unwrap().has_status("REBUILD")));
    let back = ok(v, "raid0");
    let bv = back.final_vg();
    assert_eq!(images(bv), names(&["lv_rimage_0", "lv_rimage_1"]));
    assert_eq!(
        bv.lv("lv_rimage_1").unwrap().segments,
        vg.lv("lv_rimage_1").unwrap().segments
    );
    assert!(back.steps[0].vg.lv("lv_rimage_2_extracted").is_some());
}

#[test]
fn raid10_to_raid5_goes_through_raid0_meta() {
    let vg = with_raid(RaidType::Raid10, 2, 2, 20);
    let p = ok(&vg, "raid5");
    assert_eq!(p.result_type, "raid0_meta");
    assert_eq!(images(p.final_vg()).len(), 2);
}

#[test]
fn raid1_with_two_legs_and_raid5_take_each_other_over() {
    let vg = with_raid(RaidType::Raid1, 1, 2, 20);
    let p = ok(&vg, "raid5");
    assert_eq!(p.steps.len(), 1);
    let v = p.final_vg();
    assert_eq!(seg(v).segtype, SegType::Raid(RaidType::Raid5));
    assert_eq!(seg(v).stripe_size, Some(128));
    assert_eq!(raid(v).region_size, Some(4096));
    let back = ok(v, "raid1");
    assert_eq!(seg(back.final_vg()).segtype, SegType::Raid(RaidType::Raid1));
    assert_eq!(seg(back.final_vg()).stripe_size, None);

    let vg3 = with_raid(RaidType::Raid1, 1, 3, 20);
    let m = refused(&vg3, &req("raid5"));
    assert!(
        m.starts_with("Convert raid1 LV vgraid/lv to 2 images first."),
        "{m}"
    );
}

#[test]
fn raid1_to_raid6_goes_through_raid5_ls() {
    let vg = with_raid(RaidType::Raid1, 1, 2, 20);
    let p = ok(&vg, "raid6");
    assert_eq!(p.result_type, "raid5_ls");
}

#[test]
fn layout_and_stripe_changes_are_reshapes_refused_offline() {
    let vg = with_raid(RaidType::Raid5Ls, 3, 1, 30);
    let m = refused(&vg, &req("raid5_n"));
    assert!(m.contains("vgraid/lv must be active"), "{m}");
    let mut r = req("raid5_ls");
    r.stripes = Some(4);
    assert!(refused(&vg, &r).contains("must be active"));
    let mut r = req("raid5_ls");
    r.stripe_size = Some(256);
    assert!(refused(&vg, &r).contains("must be active"));
    // Active: the reshape planner (src/raid/reshape.rs) takes it.
    let mut r = req("raid5_n");
    r.active = true;
    r.kernel = Some(crate::raid::reshape::KernelState {
        devices: 4,
        health_devices: 4,
        devices_in_sync: 4,
        in_sync: true,
        data_offset: 0,
        open: false,
    });
    let p = plan(&vg, &r).unwrap();
    assert_eq!(p.result_type, "raid5_n");
    assert_eq!(p.steps.len(), 3);
}

#[test]
fn refusals_name_the_lv_and_list_what_is_possible() {
    let vg = with_raid(RaidType::Raid1, 1, 2, 20);
    let m = refused(&vg, &req("raid1"));
    assert!(
        m.starts_with("Logical volume vgraid/lv already is type raid1."),
        "{m}"
    );
    assert!(
        m.contains("is directly possible to the following layouts:"),
        "{m}"
    );
    assert!(m.contains("  raid5_ls"), "{m}");

    let vg = with_raid(RaidType::Raid0, 2, 1, 20);
    let m = refused(&vg, &req("raid0"));
    assert!(m.contains("already of requested type raid0"), "{m}");

    let vg = with_striped(1, 10);
    let m = refused(&vg, &req("striped"));
    assert_eq!(
        m,
        "Logical volume vgraid/lv is already of requested type linear."
    );

    assert!(matches!(
        plan(
            &vg,
            &TakeoverRequest {
                lv: "nope",
                ..req("raid0")
            }
        ),
        Err(RaidError::NoSuchLv(_))
    ));
}

#[test]
fn not_enough_pvs_for_new_parity_writes_nothing() {
    // Fill every PV but the striped LV's two.
    let mut vg = with_striped(2, 20);
    for p in 2..8 {
        vg.pvs[p].status.retain(|s| s != "ALLOCATABLE");
    }
    let e = plan(&vg, &req("raid5_n")).unwrap_err();
    assert!(matches!(e, RaidError::Alloc(_)), "{e:?}");
}

#[test]
fn new_images_use_only_the_pvs_given() {
    let vg = with_striped(2, 20);
    let c = [Candidate {
        pv: "pv5".into(),
        ranges: vec![],
    }];
    let mut r = req("raid5_n");
    r.candidates = Some(&c);
    let p = plan(&vg, &r);
    // The metadata LVs may not use pv5 (another image's PV) and pv0/pv1
    // are not candidates: lvm2 falls back to the image's own PV only when
    // no PV list is given.
    assert!(p.is_err(), "{p:?}");
    let c = [
        Candidate {
            pv: "pv0".into(),
            ranges: vec![],
        },
        Candidate {
            pv: "pv1".into(),
            ranges: vec![],
        },
        Candidate {
            pv: "pv5".into(),
            ranges: vec![],
        },
    ];
    r.candidates = Some(&c);
    let p = plan(&vg, &r).unwrap();
    assert_eq!(pv_of(p.final_vg(), "lv_rimage_2"), "pv5");
}

#[test]
fn region_size_is_raised_for_big_lvs_and_checked_against_stripes() {
    let vg = with_striped(2, 20);
    let mut r = req("raid5_n");
    r.region_size = Some(64);
    let m = refused(&vg, &r);
    assert!(
        m.contains("Region size may not be smaller than stripe size on raid5_n LV vgraid/lv."),
        "{m}"
    );
    let mut r = req("raid0");
    r.region_size = Some(8192);
    let p = plan(&vg, &r).unwrap();
    assert!(p.messages.contains(&Msg::Error(
        "-R/--regionsize not allowed for LV vgraid/lv when converting from striped to raid0."
            .into()
    )));
}

#[test]
fn linear_goes_to_raid1_first_as_lvm2_does() {
    let vg = with_striped(1, 10);
    let p = plan(&vg, &req("raid5")).unwrap();
    assert_eq!(
        warns(&p)[0],
        "Replaced LV type raid5 (same as raid5_ls) with possible type raid1."
    );
    assert_eq!(p.linear_to_raid1, Some(4096));
    assert!(p.steps.is_empty());
    assert_eq!(p.interim_for.as_deref(), Some("raid5"));
    let p = plan(&vg, &req("raid1")).unwrap();
    assert!(p.messages.is_empty());
    assert_eq!(
        p.prompt.as_deref(),
        Some("Are you sure you want to convert linear LV vgraid/lv to raid1 type? [y/n]: ")
    );
    // linear -> raid0 is "linear -> linear" for lvm2.
    let m = refused(&vg, &req("raid0"));
    assert_eq!(
        m,
        "Logical volume vgraid/lv is already of requested type linear."
    );
}

#[test]
fn a_tracked_split_image_refuses_takeover() {
    let mut vg = with_raid(RaidType::Raid1, 1, 2, 10);
    let img = vg.lv_mut("lv_rimage_1").unwrap();
    img.status = vec!["READ".into(), "VISIBLE".into()];
    let m = refused(&vg, &req("raid5"));
    assert_eq!(
        m,
        "Conversion of tracking raid1 LV vgraid/lv is not supported."
    );
}

#[test]
fn region_size_option_on_upconvert_and_kept_on_downconvert() {
    let vg = with_raid(RaidType::Raid0, 3, 1, 30);
    let mut r = req("raid6_n_6");
    r.region_size = Some(1024);
    let p = plan(&vg, &r).unwrap();
    let v = p.final_vg();
    assert_eq!(raid(v).region_size, Some(1024));
    let down = ok(v, "raid5_n");
    assert_eq!(raid(down.final_vg()).region_size, Some(1024));
    // Without -R a raid0 gets the default region size.
    assert_eq!(raid(ok(&vg, "raid5_n").final_vg()).region_size, Some(4096));
}

#[test]
fn stripes_on_a_takeover_are_ignored_with_lvm2_warning() {
    let vg = with_raid(RaidType::Raid0, 2, 1, 20);
    let mut r = req("raid5_n");
    r.stripes = Some(3);
    let p = plan(&vg, &r).unwrap();
    assert!(p.messages.contains(&Msg::Warn(
        "WARNING: ignoring --stripes option on takeover of vgraid/lv (reshape afterwards).".into()
    )));
    assert_eq!(images(p.final_vg()).len(), 3);
}

#[test]
fn same_type_requests() {
    let vg = with_raid(RaidType::Raid5Ls, 3, 1, 30);
    let m = refused(&vg, &req("raid5_ls"));
    assert_eq!(
        m,
        "Logical volume vgraid/lv is already of requested type raid5_ls."
    );
    // A region size change through --type is lvm2's reshape path.
    let mut r = req("raid5_ls");
    r.region_size = Some(8192);
    assert!(refused(&vg, &r).contains("must be active"));
    // raid5 and raid5_ls are one layout but two segment types for lvm2.
    let vg = with_raid(RaidType::Raid5, 3, 1, 30);
    assert!(refused(&vg, &req("raid5_ls")).contains("must be active"));
}

/// Every source type × every requested type: no panic; a plan's every
/// commit validates and its LV still has device-mapper tables; a refusal
/// is an lvm2-style message.
#[test]
fn every_pair_plans_or_refuses_cleanly() {
    let mut sources: Vec<(String, Vg)> = vec![
        ("striped".into(), with_striped(3, 30)),
        ("linear".into(), with_striped(1, 10)),
    ];
    for t in RaidType::ALL {
        let (stripes, mirrors) = match t {
            RaidType::Raid1 => (1, 2),
            RaidType::Raid10 => (2, 2),
            _ => (3, 1),
        };
        sources.push((t.name().into(), with_raid(t, stripes, mirrors, 30)));
    }
    let targets: Vec<&str> = RaidType::ALL
        .iter()
        .map(|t| t.name())
        .chain(["striped", "linear"])
        .collect();
    let mut planned = 0;
    for (from, vg) in &sources {
        for to in &targets {
            match plan(vg, &req(to)) {
                Ok(p) if p.linear_to_raid1.is_some() => assert_eq!(from, "linear"),
                Ok(p) => {
                    for s in &p.steps {
                        s.vg.validate()
                            .unwrap_or_else(|e| panic!("{from} -> {to}: {e:?}"));
                    }
                    lv_tables_ok(p.final_vg());
                    planned += 1;
                }
                Err(RaidError::Invalid(m)) => assert!(!m.is_empty(), "{from} -> {to}"),
                Err(e) => panic!("{from} -> {to}: {e:?}"),
            }
        }
    }
    assert!(planned > 40, "{planned}");
}
