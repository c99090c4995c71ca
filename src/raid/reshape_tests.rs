//! Tests of the reshape planner (lvm2's commit sequences; the comparison
//! with what lvm2 wrote online is tests/raid_reshape_golden.rs).
use super::*;
use crate::model::SegType;
use crate::raid::create;
use crate::raid::test_support::{fixture, ids, spec};

fn with_raid(t: RaidType, stripes: u64, extents: u64) -> Vg {
    let spec = spec("lv", t, stripes, 1, extents);
    create(&fixture("02-vgcreate"), &spec, None, &mut ids())
        .unwrap()
        .vg
}

fn kernel(devices: u64, data_offset: u64) -> KernelState {
    KernelState {
        devices,
        health_devices: devices,
        devices_in_sync: devices,
        in_sync: true,
        data_offset,
        open: false,
    }
}

fn req(to: RaidType, stripes: u64, stripe_size: u64, k: KernelState) -> ReshapeRequest<'static> {
    ReshapeRequest {
        lv: "lv",
        to,
        stripes,
        stripe_size,
        region_size: 4096,
        force: false,
        kernel: k,
        candidates: None,
        policy: Policy::Normal,
        creation_time: None,
        creation_host: None,
    }
}

fn size(vg: &Vg) -> u64 {
    let lv = vg.lv("lv").unwrap();
    lv.size_extents() - lv.reshape_extents()
}

fn image_chunks(vg: &Vg, s: usize) -> Vec<Chunk> {
    chunks_of(vg.lv(&images_of(vg, "lv")[s]).unwrap()).unwrap()
}

fn lines_of(p: &ReshapePlan) -> Vec<String> {
    p.lines
        .iter()
        .map(|l| match l {
            Msg::Print(s) | Msg::Warn(s) | Msg::Error(s) => s.clone(),
        })
        .collect()
}

#[track_caller]
fn valid(p: &ReshapePlan) {
    for s in &p.steps {
        s.vg.validate().unwrap_or_else(|e| panic!("{e:?}"));
        crate::activate::table::lv_devices(&s.vg, "lv", &Default::default())
            .unwrap_or_else(|e| panic!("tables: {e:?}"));
    }
}

#[test]
fn layout_change_allocates_space_then_reshapes_then_clears_the_offset() {
    let vg = with_raid(RaidType::Raid5Ls, 3, 6);
    let es = vg.extent_size;
    let p = plan(&vg, &req(RaidType::Raid5N, 3, 128, kernel(4, 0))).unwrap();
    valid(&p);
    assert_eq!(p.steps.len(), 3, "allocate, reshape, clear");
    let r = needed_len(128, es);
    // 1: reshape space at the end of every image, nothing else.
    let a = &p.steps[0].vg;
    assert_eq!(reshape_len(a, "lv"), r);
    assert_eq!(a.lv("lv").unwrap().raid_type(), Some(RaidType::Raid5Ls));
    assert!(!a.lv("lv").unwrap().has_status("RESHAPE"));
    assert_eq!(size(a), size(&vg), "the LV size stays");
    for s in 0..4 {
        let before = image_chunks(&vg, s);
        let after = image_chunks(a, s);
        assert_eq!(after[0].pe, before[0].pe, "data first, space appended");
        assert_eq!(
            after.iter().map(|c| c.len).sum::<u64>(),
            before.iter().map(|c| c.len).sum::<u64>() + r
        );
    }
    // 2: the new layout with the flags and the data offset for dm-raid.
    let b = &p.steps[1].vg;
    let lv = b.lv("lv").unwrap();
    assert_eq!(lv.raid_type(), Some(RaidType::Raid5N));
    assert!(lv.has_status("RESHAPE") && lv.has_status("RESHAPE_DATA_OFFSET"));
    assert_eq!(
        lv.segments[0].raid.as_ref().unwrap().data_offset,
        Some(r * es)
    );
    // 3: the same without the offset.
    let c = &p.steps[2].vg;
    assert_eq!(
        c.lv("lv").unwrap().segments[0]
            .raid
            .as_ref()
            .unwrap()
            .data_offset,
        None
    );
    assert_eq!(
        lines_of(&p),
        ["Converting raid5_ls LV vgraid/lv to raid5_n.".to_string()]
    );
}

#[test]
fn adding_a_stripe_grows_the_lv_with_delta_disks_on_the_new_image() {
    let vg = with_raid(RaidType::Raid5Ls, 3, 6);
    let es = vg.extent_size;
    let r = needed_len(128, es);
    let p = plan(&vg, &req(RaidType::Raid5Ls, 4, 128, kernel(4, 0))).unwrap();
    valid(&p);
    assert_eq!(p.steps.len(), 4, "new sub-LVs, space, reshape, clear");
    // 1: the new pair as visible LVs outside the array.
    let a = &p.steps[0].vg;
    assert!(a.lv("lv_rimage_4").unwrap().is_visible());
    assert_eq!(images_of(a, "lv").len(), 4);
    // 2: in the array (wiped first), rebuild asked, reshape space.
    let b = &p.steps[1];
    assert_eq!(b.wipe_first.len(), 1);
    assert_eq!(images_of(&b.vg, "lv").len(), 5);
    assert!(b.vg.lv("lv_rimage_4").unwrap().has_status("REBUILD"));
    assert_eq!(reshape_len(&b.vg, "lv"), r);
    // 3: delta_disks +1, the space moved to the beginning of the images.
    let c = &p.steps[2].vg;
    let new_img = c.lv("lv_rimage_4").unwrap();
    assert!(new_img.has_status("RESHAPE_DELTA_DISKS_PLUS"));
    assert!(!new_img.has_status("REBUILD"));
    assert!(c.lv("lv_rmeta_4").unwrap().has_status("REBUILD"), "as lvm2");
    assert_eq!(
        c.lv("lv").unwrap().segments[0]
            .raid
            .as_ref()
            .unwrap()
            .data_offset,
        Some(r * es)
    );
    for s in 0..4 {
        let before = image_chunks(&vg, s);
        let after = image_chunks(c, s);
        assert_ne!(after[0].pe, before[0].pe, "image {s}: space first");
        assert_eq!(
            after.last().unwrap().pe + after.last().unwrap().len,
            before.last().unwrap().pe + before.last().unwrap().len
        );
    }
    // 4: flags cleared; the LV is 4/3 of its size.
    let d = &p.steps[3].vg;
    assert!(!d
        .lv("lv_rimage_4")
        .unwrap()
        .has_status("RESHAPE_DELTA_DISKS_PLUS"));
    assert_eq!(size(d), size(&vg) * 4 / 3);
    let l = lines_of(&p);
    assert!(l[0].starts_with("WARNING: Adding stripes to active logical volume vgraid/lv"));
    assert_eq!(
        p.prompt.as_deref(),
        Some("Are you sure you want to add 1 images to raid5_ls LV vgraid/lv? [y/n]: ")
    );
}

#[test]
fn removing_a_stripe_takes_two_commands() {
    let vg = with_raid(RaidType::Raid5Ls, 4, 8);
    let mut rq = req(RaidType::Raid5Ls, 3, 128, kernel(5, 0));
    let e = plan(&vg, &rq).unwrap_err().to_string();
    assert!(
        e.contains("Can't remove stripes without --force option."),
        "{e}"
    );
    assert!(e.contains("THIS MAY DESTROY (PARTS OF) YOUR DATA!"), "{e}");
    rq.force = true;
    let p = plan(&vg, &rq).unwrap();
    valid(&p);
    assert_eq!(p.steps.len(), 3, "space, reshape, clear");
    let b = &p.steps[1].vg;
    assert!(b
        .lv("lv_rimage_4")
        .unwrap()
        .has_status("RESHAPE_DELTA_DISKS_MINUS"));
    let c = &p.steps[2].vg;
    for n in ["lv_rimage_4", "lv_rmeta_4"] {
        assert!(c.lv(n).unwrap().has_status("REMOVE_AFTER_RESHAPE"), "{n}");
    }
    assert_eq!(pending_removal(c, "lv"), Some((1, 3)));
    assert_eq!(pending_removal(&vg, "lv"), None);
    assert_eq!(size(c), size(&vg), "the size changes with step 2");
    // The kernel now runs 4 devices: the second command drops the pair.
    let p2 = plan(c, &req(RaidType::Raid5Ls, 3, 128, kernel(4, 0))).unwrap();
    valid(&p2);
    assert_eq!(p2.steps.len(), 2);
    assert!(p2.steps[0]
        .vg
        .lv("lv_rimage_4_extracted")
        .unwrap()
        .is_visible());
    let d = &p2.steps[1].vg;
    assert!(d.lv("lv_rimage_4_extracted").is_none() && d.lv("lv_rimage_4").is_none());
    assert_eq!(images_of(d, "lv").len(), 4);
    assert_eq!(size(d), size(&vg) * 3 / 4);
    // A kernel that has not finished: refused with lvm2's hint.
    let e = plan(c, &req(RaidType::Raid5Ls, 2, 128, kernel(4, 0)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Forgotten \"lvconvert --stripes 3 vgraid/lv\""),
        "{e}"
    );
}

#[test]
fn no_change_frees_the_space_moving_it_off_the_front_first() {
    let vg = with_raid(RaidType::Raid5Ls, 3, 6);
    let keep = plan(&vg, &req(RaidType::Raid5N, 3, 128, kernel(4, 0))).unwrap();
    let shaped = keep.steps.last().unwrap().vg.clone();
    // The kernel put the data behind the space: data_offset > 0.
    let es = vg.extent_size;
    let p = plan(&shaped, &req(RaidType::Raid5N, 3, 128, kernel(4, es))).unwrap();
    valid(&p);
    assert_eq!(p.steps.len(), 3);
    assert_eq!(
        lines_of(&p),
        ["No change in RAID LV vgraid/lv layout, freeing reshape space.".to_string()]
    );
    let r0 = p.steps[0].vg.lv("lv").unwrap().segments[0]
        .raid
        .clone()
        .unwrap();
    assert_eq!(
        r0.data_offset,
        Some(0),
        "tells the kernel the data is at 0 now"
    );
    let last = &p.steps[2].vg;
    assert_eq!(reshape_len(last, "lv"), 0);
    let lv = last.lv("lv").unwrap();
    assert!(!lv.has_status("RESHAPE") && !lv.has_status("RESHAPE_DATA_OFFSET"));
    assert_eq!(lv.size_extents(), vg.lv("lv").unwrap().size_extents());
    // Without space: lvm2's error.
    let e = plan(&vg, &req(RaidType::Raid5Ls, 3, 128, kernel(4, 0)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not have reshape space allocated"), "{e}");
}

#[test]
fn relocation_there_and_back_restores_the_images() {
    let vg = with_raid(RaidType::Raid6Zr, 3, 6);
    let mut v = vg.clone();
    grow_images(&mut v, "lv", 2, Policy::Normal, None).unwrap();
    set_reshape_len(&mut v, "lv", 2);
    let end = v.clone();
    relocate(&mut v, "lv", Where::Begin).unwrap();
    assert_ne!(v, end);
    relocate(&mut v, "lv", Where::End).unwrap();
    assert_eq!(v, end);
}

#[test]
fn refusals_name_the_reason() {
    let vg = with_raid(RaidType::Raid6Zr, 3, 6);
    let mut k = kernel(5, 0);
    k.in_sync = false;
    let e = plan(&vg, &req(RaidType::Raid6N6, 3, 128, k))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "Unable to convert vgraid/lv while it is not in-sync.");
    let e = plan(&vg, &req(RaidType::Raid6Zr, 2, 128, kernel(5, 0)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Minimum 3 stripes required for raid6_zr LV vgraid/lv."),
        "{e}"
    );
    let e = plan(&vg, &req(RaidType::Raid6Zr, 4, 128, kernel(6, 0)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("refresh it first"), "{e}");
    let mut lvx = vg.clone();
    lvx.lv_mut("lv").unwrap().segments[0].segtype = SegType::Raid(RaidType::Raid6Zr);
    let e = plan(&lvx, &req(RaidType::Raid6Zr, 3, 64, kernel(5, 0)));
    assert!(e.is_ok(), "a stripe size change is a reshape: {e:?}");
}

#[test]
fn raid10_reshapes_are_refused_with_a_reason() {
    let vg = with_raid(RaidType::Raid10, 2, 4);
    let e = plan(&vg, &req(RaidType::Raid10, 6, 128, kernel(4, 0)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Reshaping raid10 LV vgraid/lv"), "{e}");
}
