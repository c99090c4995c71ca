use super::test_support::{fixture, ids, spec};
use super::*;

/// The VG without what differs between any two writers: ids, creation
/// times and hosts, seqno. LVs in printed order (visible first).
fn shape(vg: &Vg) -> Vec<String> {
    let mut lvs: Vec<&Lv> = vg.lvs.iter().filter(|l| l.is_visible()).collect();
    lvs.extend(vg.lvs.iter().filter(|l| !l.is_visible()));
    lvs.iter()
        .map(|l| {
            let mut l = (*l).clone();
            l.id.clear();
            l.creation_time = None;
            l.creation_host = None;
            format!("{l:?}")
        })
        .collect()
}

/// Apply `spec` to the fixture state `before` and compare with `after`.
#[track_caller]
fn replay(before: &str, after: &str, spec: CreateSpec, pvs: Option<&[Candidate]>) {
    let vg = fixture(before);
    let got = create(&vg, &spec, pvs, &mut ids()).unwrap();
    assert_eq!(shape(&got.vg), shape(&fixture(after)), "{after}");
}

#[test]
fn every_lvm2_raid_type_is_laid_out_as_lvm2_does() {
    use RaidType::*;
    replay(
        "04-lvcreate-striped-i2-I64k",
        "05-lvcreate-raid0-i2-I64k",
        spec("raid0", Raid0, 2, 1, 2),
        None,
    );
    replay(
        "05-lvcreate-raid0-i2-I64k",
        "06-lvcreate-raid0_meta-i2-I64k",
        spec("raid0m", Raid0Meta, 2, 1, 2),
        None,
    );
    replay(
        "06-lvcreate-raid0_meta-i2-I64k",
        "07-lvcreate-raid1-m1",
        spec("raid1m1", Raid1, 1, 2, 2),
        None,
    );
    replay(
        "07-lvcreate-raid1-m1",
        "08-lvcreate-raid1-m2",
        spec("raid1m2", Raid1, 1, 3, 2),
        None,
    );
    replay(
        "08-lvcreate-raid1-m2",
        "09-lvcreate-raid4-i2",
        spec("raid4", Raid4, 2, 1, 2),
        None,
    );
    replay(
        "09-lvcreate-raid4-i2",
        "10-lvcreate-raid5-i2",
        spec("raid5", Raid5, 2, 1, 2),
        None,
    );
    replay(
        "15-lvcreate-raid5_n-i2",
        "16-lvcreate-raid6-i3",
        spec("raid6", Raid6, 3, 1, 3),
        None,
    );
    replay(
        "19-lvcreate-raid6_nc-i3",
        "20-lvcreate-raid10-i2-m1",
        spec("raid10", Raid10, 2, 2, 2),
        None,
    );
    let mut rs = spec("raid1rs", Raid1, 1, 2, 2);
    rs.region_size = 2048;
    replay(
        "20-lvcreate-raid10-i2-m1",
        "21-lvcreate-raid1-m1-regionsize1m",
        rs,
        None,
    );
    let mut ns = spec("raid1ns", Raid1, 1, 2, 2);
    ns.nosync = true;
    replay(
        "21-lvcreate-raid1-m1-regionsize1m",
        "22-lvcreate-raid1-m1-nosync",
        ns,
        None,
    );
    let mut opt = spec("raid6opt", Raid6, 3, 1, 3);
    opt.stripe_size = Some(256);
    opt.region_size = 8192;
    replay(
        "23-lvcreate-raid5-i2-nosync",
        "24-lvcreate-raid6-i3-I128k-regionsize4m",
        opt,
        None,
    );
    let c = |pv: &str, ranges: Vec<(u64, u64)>| Candidate {
        pv: pv.into(),
        ranges,
    };
    let three = [c("pv5", vec![]), c("pv6", vec![]), c("pv7", vec![])];
    replay(
        "24-lvcreate-raid6-i3-I128k-regionsize4m",
        "25-lvcreate-raid5-explicit-pvs",
        spec("raid5pv", Raid5, 2, 1, 2),
        Some(&three),
    );
    let ranged = [c("pv6", vec![(20, 25)]), c("pv7", vec![(20, 25)])];
    replay(
        "25-lvcreate-raid5-explicit-pvs",
        "26-lvcreate-raid1-explicit-pe-ranges",
        spec("raid1pe", Raid1, 1, 2, 2),
        Some(&ranged),
    );
}

#[test]
fn region_size_rules() {
    // 2048 KiB default; odd config values fall back or round down.
    assert_eq!(default_region_size(2048), 4096);
    assert_eq!(default_region_size(3000), 4096);
    assert_eq!(default_region_size(2), 2 * DEFAULT_REGION_SIZE_KIB);
    // 2^21 regions at most: 200 TiB needs 128 MiB regions.
    let tib = 2u64 << 30; // sectors
    assert_eq!(ensure_min_region_size(200 * tib, 4096), 262144);
    assert!(200 * tib / 262144 <= MAX_REGIONS);
    assert_eq!(ensure_min_region_size(2048 * tib, 4096), 2 * 1048576);
    assert_eq!(ensure_min_region_size(8 * 2048, 4096), 4096);
    // A region bigger than the LV shrinks to the LV's power of 2.
    assert_eq!(reduced_region_size(1024, 1, 4096), Some(1024));
    assert_eq!(reduced_region_size(8192, 2, 4096), None);
    // One extent of metadata for 4 MiB extents, more for tiny extents.
    assert_eq!(rmeta_extents(2, 4096, 8192), 1);
    assert_eq!(rmeta_extents(1 << 20, 128, 8), 4);
    assert_eq!(rimage_extents(RaidType::Raid5, 5, 2, 1), 3);
    assert_eq!(rimage_extents(RaidType::Raid1, 5, 1, 2), 5);
}

#[test]
fn huge_lvs_raise_the_region_size() {
    // 200 TiB raid1 on two 256 TiB PVs of 4 MiB extents.
    let mut vg = fixture("02-vgcreate");
    vg.pvs.truncate(2);
    for p in &mut vg.pvs {
        p.pe_count = 256 << 18;
        p.dev_size = p.pe_count * 8192 + 2048;
    }
    let mut s = spec("big", RaidType::Raid1, 1, 2, 200 << 18);
    s.stripe_size = None;
    let got = create(&vg, &s, None, &mut ids()).unwrap();
    assert_eq!(got.region_size, Some(262144));
    let r = got.vg.lv("big").unwrap().segments[0].raid.clone().unwrap();
    assert_eq!(r.region_size, Some(262144));
    assert!(got.vg.validate().is_ok(), "{:?}", got.vg.validate());
}

#[test]
fn remove_rename_extend_reduce() {
    let vg = fixture("27-lvcreate-linear-explicit-pe-range");
    let subs = sub_lvs(&vg, "raid5");
    assert_eq!(subs.len(), 6);
    let gone = remove(&vg, "raid5").unwrap();
    assert!(gone.lvs.iter().all(|l| !l.name.starts_with("raid5_")));
    assert!(gone.lv("raid5la").is_some());
    assert_eq!(gone.lvs.len(), vg.lvs.len() - 7);

    let r = rename(&vg, "raid1m1", "mirror").unwrap();
    assert!(r.lv("mirror_rimage_1").is_some() && r.lv("raid1m1_rmeta_0").is_none());
    let seg = &r.lv("mirror").unwrap().segments[0];
    assert_eq!(
        seg.sub_lv_names(),
        [
            "mirror_rmeta_0",
            "mirror_rmeta_1",
            "mirror_rimage_0",
            "mirror_rimage_1"
        ]
    );
    assert!(r.validate().is_ok());
    assert!(rename(&vg, "raid1m1", "raid5").is_err() || vg.lv("raid5").is_none());

    // raid5 of 2 extents (2 stripes): +2 extents is +1 per image.
    let e = extend(&vg, "raid5", 2, Policy::Normal, false, false, None).unwrap();
    assert_eq!(e.extents, 4);
    for i in 0..3 {
        assert_eq!(
            e.vg.lv(&format!("raid5_rimage_{i}"))
                .unwrap()
                .size_extents(),
            2
        );
    }
    assert!(e.vg.validate().is_ok(), "{:?}", e.vg.validate());
    assert!(extend(&vg, "raid5", 3, Policy::Normal, false, false, None).is_err());
    let back = reduce(&e.vg, "raid5", 2).unwrap();
    assert_eq!(shape(&back), shape(&vg));
    assert!(reduce(&vg, "lin", 1).is_err());
}
