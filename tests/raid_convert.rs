//! `lvm lvconvert` RAID image operations on loop devices, offline (the
//! host has no device-mapper): our lvcreate + our lvconvert, then
//!
//! * the full metadata after every conversion equals what real lvm2
//!   2.03.16 wrote doing the same conversion ONLINE in the QEMU guest
//!   (tests/fixtures/convert-golden/<case>/<step>/vgcfg): LV names and
//!   order, status and flags, segments, areas, region sizes — everything
//!   but ids, creation times/hosts and `REBUILD`, which lvm2 clears once
//!   the kernel has seen it and an offline conversion keeps for the next
//!   activation (checked separately); and every lvconvert's exit code,
//!   stdout and stderr equal lvm2's word for word;
//! * real lvm2's `vgck` accepts the result (the golden harness,
//!   tests/raid_convert_golden.rs, compares real lvm2's `lvs` reports);
//! * new metadata areas are wiped on their PVs before they join, new
//!   images carry `REBUILD`;
//! * refused conversions name the problem and leave every disk byte as it
//!   was.

mod common;

use std::path::{Path, PathBuf};

use common::{
    from_placeholders, lv_shape, lvconvert_y, lvm2, lvm2_accepts, names, our_vg, ours,
    require_root, to_placeholders, LoopDev,
};
use lvmetad::model::{parse_vg_text, Area, Vg};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert-golden")
}

/// Replay a golden case with our lvm and compare the whole metadata after
/// every successful lvconvert with lvm2's, and every lvconvert's exit code
/// and messages. Returns the lvconvert steps checked.
fn replay_metadata(case: &str) -> usize {
    let dir = golden_dir().join(case);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let n = m["disks"].as_u64().unwrap() as usize;
    let size = m["disk_size"].as_u64().unwrap();
    let vg = m["vg"].as_str().unwrap();
    let disks: Vec<LoopDev> = (0..n).map(|_| LoopDev::new(size)).collect();
    let devs: Vec<&LoopDev> = disks.iter().collect();
    let nm = names(&devs);
    let mut checked = 0;
    for step in m["steps"].as_array().unwrap() {
        let argv: Vec<String> = step["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| from_placeholders(a.as_str().unwrap(), &nm))
            .collect();
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let rc = step["rc"].as_i64().unwrap() as i32;
        let r = ours(&devs, &args);
        assert_eq!(
            r.code, rc,
            "{case} {:?}: exit code\n{}{}",
            args, r.stdout, r.stderr
        );
        if args[0] == "lvconvert" {
            checked += 1;
            // lvm2's messages, word for word (device names as placeholders).
            let want_out = step["stdout"].as_str().unwrap();
            let want_err = step["stderr"].as_str().unwrap();
            assert_eq!(
                to_placeholders(&r.stdout, &nm),
                want_out,
                "{case} {args:?}: stdout"
            );
            assert_eq!(
                to_placeholders(&r.stderr, &nm),
                want_err,
                "{case} {args:?}: stderr"
            );
        }
        if rc != 0 || args[0] != "lvconvert" {
            continue;
        }
        let golden =
            std::fs::read_to_string(dir.join(step["dir"].as_str().unwrap()).join("vgcfg")).unwrap();
        let want = parse_vg_text(&golden).unwrap().0;
        let got = our_vg(&devs, vg);
        let (w, g) = (lv_shape(&want, &["REBUILD"]), lv_shape(&got, &["REBUILD"]));
        if w != g {
            let mut msg = format!("{case} {args:?}: metadata differs from lvm2's\n");
            for i in 0..w.len().max(g.len()) {
                let a = w.get(i).map_or("-", String::as_str);
                let b = g.get(i).map_or("-", String::as_str);
                if a != b {
                    msg += &format!("lvm2: {a}\nours: {b}\n");
                }
            }
            panic!("{msg}");
        }
        let ck = lvm2(&devs, &["vgck", vg]);
        assert_eq!(ck.code, 0, "{case} {args:?}: lvm2 vgck: {}", ck.stderr);
    }
    checked
}

macro_rules! metadata_cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                if !require_root() {
                    return;
                }
                assert!(replay_metadata($case) > 0, "{} has no conversion", $case);
            }
        )*
    };
}

metadata_cases! {
    metadata_linear_to_raid1_m1 => "linear_to_raid1_m1",
    metadata_linear_to_raid1_m2 => "linear_to_raid1_m2",
    metadata_linear_to_raid1_pv => "linear_to_raid1_pv",
    metadata_raid1_up_down => "raid1_up_down",
    metadata_raid1_plus2 => "raid1_plus2",
    metadata_raid1_remove_pv => "raid1_remove_pv",
    metadata_split_3way => "split_3way",
    metadata_split_2way => "split_2way",
    metadata_split_pv => "split_pv",
    metadata_split_track_merge => "split_track_merge",
    metadata_split_track_2way => "split_track_2way",
    metadata_replace_raid1 => "replace_raid1",
    metadata_replace_raid5 => "replace_raid5",
    metadata_replace_raid6 => "replace_raid6",
    metadata_replace_raid10 => "replace_raid10",
    metadata_region_raid1 => "region_raid1",
    metadata_region_raid5 => "region_raid5",
    messages_raid1_refusals => "raid1_refusals",
    messages_split_track_then_split => "split_track_then_split",
    messages_split_track_other_pv => "split_track_other_pv",
    messages_replace_refusals => "replace_refusals",
    messages_raid10_m => "images_raid10_m",
    metadata_linear_to_raid1_region => "linear_to_raid1_region",
    messages_split_4way_2 => "split_4way_2",
}

fn setup(n: usize) -> (Vec<LoopDev>, Vec<String>) {
    let d: Vec<LoopDev> = (0..n).map(|_| LoopDev::new(64 << 20)).collect();
    let devs: Vec<&LoopDev> = d.iter().collect();
    let nm = names(&devs);
    let mut a = vec!["vgcreate", "-s", "4m", "vgt"];
    a.extend(nm.iter().map(String::as_str));
    ours(&devs, &a).ok();
    (d, nm)
}

/// Bytes `len` at `pe` of PV `key` (PV `key` is the device its hint names).
fn read_extent(vg: &Vg, key: &str, pe: u64, len: usize) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let pv = vg.pv_by_key(key).unwrap();
    let dev = pv.device.clone().unwrap();
    let f = std::fs::File::open(dev).unwrap();
    let mut buf = vec![0u8; len];
    f.read_exact_at(&mut buf, (pv.pe_start + pe * vg.extent_size) * 512)
        .unwrap();
    buf
}

fn fill_free_with_ones(vg: &Vg) {
    use std::os::unix::fs::FileExt;
    for (key, runs) in vg.free_extents() {
        let pv = vg.pv_by_key(&key).unwrap();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(pv.device.clone().unwrap())
            .unwrap();
        for r in runs {
            for pe in r {
                f.write_all_at(&[0xffu8; 8192], (pv.pe_start + pe * vg.extent_size) * 512)
                    .unwrap();
            }
        }
    }
}

#[test]
fn offline_add_wipes_new_metadata_and_flags_rebuild() {
    if !require_root() {
        return;
    }
    let (d, _) = setup(4);
    let devs: Vec<&LoopDev> = d.iter().collect();
    ours(&devs, &["lvcreate", "-n", "lin", "-L", "8m", "vgt"]).ok();
    fill_free_with_ones(&our_vg(&devs, "vgt"));
    let r = lvconvert_y(&devs, &["-m", "2", "vgt/lin"]).ok();
    assert!(
        r.stdout
            .contains("Logical volume vgt/lin successfully converted."),
        "{}",
        r.stdout
    );
    let vg = our_vg(&devs, "vgt");
    for m in ["lin_rmeta_0", "lin_rmeta_1", "lin_rmeta_2"] {
        let lv = vg.lv(m).unwrap();
        assert!(lv.has_status("REBUILD"), "{m}");
        let Area::Pv { pv, pe } = &lv.segments[0].areas[0] else {
            panic!()
        };
        let b = read_extent(&vg, pv, *pe, 8192);
        assert!(b[..4096].iter().all(|x| *x == 0), "{m} not wiped");
        assert!(
            b[4096..].iter().all(|x| *x == 0xff),
            "{m}: wiped more than 4 KiB"
        );
    }
    assert!(vg.lv("lin_rimage_1").unwrap().has_status("REBUILD"));
    assert!(vg.lv("lin_rimage_2").unwrap().has_status("REBUILD"));
    assert!(!vg.lv("lin_rimage_0").unwrap().has_status("REBUILD"));
    // lvm2 reads it and reports a 3-way raid1.
    let l = lvm2(
        &devs,
        &["lvs", "--noheadings", "-o", "segtype,devices", "vgt/lin"],
    );
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(l.stdout.contains("raid1"), "{}", l.stdout);
    lvm2_accepts(&devs, "vgt");
    // Replace an image by naming its sub-LV (lvm2 takes PVs only): the
    // slot keeps its name, the new image lands on the free PV.
    let old = vg.lv("lin_rimage_1").unwrap().clone();
    lvconvert_y(&devs, &["--replace", "vgt/lin_rimage_1", "vgt/lin"]).ok();
    let vg = our_vg(&devs, "vgt");
    let new = vg.lv("lin_rimage_1").unwrap();
    assert_ne!(new.id, old.id);
    assert_ne!(new.segments[0].areas, old.segments[0].areas);
    assert!(new.has_status("REBUILD"));
    assert!(!vg.lvs.iter().any(|l| l.name.ends_with("_extracted")));
    lvm2_accepts(&devs, "vgt");
    // And back down to linear.
    lvconvert_y(&devs, &["-m", "0", "vgt/lin"]).ok();
    let vg = our_vg(&devs, "vgt");
    assert!(vg.lv("lin").unwrap().segments[0].is_linear());
    assert_eq!(vg.lvs.len(), 1);
    lvm2_accepts(&devs, "vgt");
}

#[test]
fn tracked_image_can_be_split_for_good_by_naming_it() {
    if !require_root() {
        return;
    }
    let (d, _) = setup(4);
    let devs: Vec<&LoopDev> = d.iter().collect();
    ours(
        &devs,
        &[
            "lvcreate", "--type", "raid1", "-m", "2", "-n", "r", "-L", "8m", "vgt",
        ],
    )
    .ok();
    lvconvert_y(&devs, &["--splitmirrors", "1", "--trackchanges", "vgt/r"]).ok();
    // lvm2 2.03.16 refuses splitting the LV while it tracks...
    let r = lvconvert_y(&devs, &["--splitmirrors", "1", "-n", "keep", "vgt/r"]);
    assert_eq!(r.code, 5);
    assert!(r
        .stderr
        .contains("Conversion of tracking raid1 LV vgt/r is not supported."));
    // ...naming the tracked image splits it off for good.
    lvconvert_y(
        &devs,
        &["--splitmirrors", "1", "-n", "keep", "vgt/r_rimage_2"],
    )
    .ok();
    let vg = our_vg(&devs, "vgt");
    let keep = vg.lv("keep").unwrap();
    assert!(keep.is_visible() && !keep.has_status("WRITE"));
    assert!(vg.lv("r_rmeta_2").is_none());
    // No longer tracking: other conversions work again.
    lvconvert_y(&devs, &["-m", "+1", "vgt/r"]).ok();
    lvm2_accepts(&devs, "vgt");
    // `--type linear` on raid1 is `-m 0`.
    lvconvert_y(&devs, &["--type", "linear", "vgt/r"]).ok();
    let vg = our_vg(&devs, "vgt");
    assert!(vg.lv("r").unwrap().segments[0].is_linear());
    assert!(!vg.lvs.iter().any(|l| l.name.starts_with("r_")));
    lvm2_accepts(&devs, "vgt");
}

#[test]
fn refused_conversions_name_the_problem_and_write_nothing() {
    if !require_root() {
        return;
    }
    let (d, nm) = setup(4);
    let devs: Vec<&LoopDev> = d.iter().collect();
    let c = |a: &[&str]| ours(&devs, a).ok();
    c(&["lvcreate", "-n", "lin", "-L", "8m", "vgt"]);
    c(&[
        "lvcreate", "--type", "raid1", "-n", "r1", "-L", "8m", "vgt", &nm[0], &nm[1],
    ]);
    c(&[
        "lvcreate", "--type", "raid1", "-n", "rt", "-L", "8m", "vgt", &nm[2], &nm[3],
    ]);
    c(&[
        "lvcreate", "--type", "raid5", "-i", "2", "-n", "r5", "-L", "8m", "vgt",
    ]);
    c(&[
        "lvconvert",
        "-y",
        "--splitmirrors",
        "1",
        "--trackchanges",
        "vgt/rt",
    ]);
    let before: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-m", "1", "vgt/r5"], "raid5 LV vgt/r5"),
        (
            vec!["--merge", "vgt/r1_rimage_1"],
            "vgt/r1_rimage_1 cannot be merged because --trackchanges was not used.",
        ),
        (
            vec!["-m", "+1", "vgt/rt"],
            "Conversion of tracking raid1 LV vgt/rt is not supported.",
        ),
        (
            vec!["-R", "1m", "vgt/rt"],
            "Conversion of tracking raid1 LV vgt/rt is not supported.",
        ),
        (
            vec!["--replace", &nm[2], "vgt/rt"],
            "Conversion of tracking raid1 LV vgt/rt is not supported.",
        ),
        (
            vec!["--type", "raid5", "vgt/rt"],
            "Conversion of tracking raid1 LV vgt/rt is not supported.",
        ),
        (vec!["-m", "+3", "vgt/r1"], "Insufficient"),
        (
            vec!["--splitmirrors", "2", "-n", "x", "vgt/r1"],
            "Unable to split images by specified amount.",
        ),
        (
            vec!["--splitmirrors", "1", "vgt/r1"],
            "Please name the new logical volume using '--name'",
        ),
        (
            vec!["--splitmirrors", "1", "-n", "lin", "vgt/r1"],
            "Logical Volume \"lin\" already exists in vgt.",
        ),
        (
            vec!["--splitmirrors", "1", "--trackchanges", "vgt/r5"],
            "Unable to split images from non-mirrored RAID.",
        ),
        (vec!["--repair", "vgt/r1"], "must be active"),
        (
            vec!["-R", "2m", "vgt/r1"],
            "Region size is already 2.00 MiB on raid1 LV vgt/r1.",
        ),
        (
            vec!["--replace", &nm[3], "vgt/r1"],
            "Logical volume vgt/r1 does not contain devices specified to replace.",
        ),
        (
            vec!["--replace", &nm[0], "--replace", &nm[1], "vgt/r1"],
            "Unable to replace all PVs from vgt/r1 at once.",
        ),
        (vec!["--type", "raid7", "vgt/r1"], ""),
        (
            vec!["-m", "-2", "vgt/r1"],
            "Unable to reduce images by specified amount.",
        ),
        (
            vec!["-m", "1", "vgt/r1_rimage_0"],
            "Cannot convert a RAID image",
        ),
    ];
    for (extra, want) in &cases {
        let mut a = vec!["lvconvert", "-y"];
        a.extend(extra);
        let r = ours(&devs, &a);
        assert_ne!(r.code, 0, "{a:?} was accepted");
        assert!(
            r.stderr.contains(want),
            "{a:?}: want {want:?}, got {}",
            r.stderr
        );
    }
    // Without -y and without a terminal the question is answered "no".
    let r = ours(&devs, &["lvconvert", "-m", "1", "vgt/lin"]);
    assert_eq!(r.code, 5);
    assert!(
        r.stderr.contains("Logical volume vgt/lin NOT converted."),
        "{}",
        r.stderr
    );
    let after: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    assert!(before == after, "a refused lvconvert wrote to the disks");
}

/// `lvconvert --repair` with a PV missing: the VG is opened for the repair
/// (beyond `VgForWrite::open`'s refusal), but an inactive LV is refused
/// with lvm2's message and nothing is written — the present PVs keep every
/// byte, the metadata does not get the MISSING flag.
#[test]
fn repair_refuses_inactive_lv_and_writes_nothing() {
    if !require_root() {
        return;
    }
    let (d, nm) = setup(4);
    let devs: Vec<&LoopDev> = d.iter().collect();
    let c = |a: &[&str]| ours(&devs, a).ok();
    c(&["lvcreate", "-n", "lin", "-L", "8m", "vgt", &nm[3]]);
    c(&[
        "lvcreate", "--type", "raid1", "-n", "r1", "-L", "8m", "vgt", &nm[0], &nm[1],
    ]);
    // nm[1] is gone: only the other three are seen.
    let present: Vec<&LoopDev> = vec![&d[0], &d[2], &d[3]];
    let before: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    // A plain write still refuses a VG with a missing PV.
    let r = ours(&present, &["lvconvert", "-y", "-m", "2", "vgt/r1", &nm[2]]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("while PVs are missing"), "{}", r.stderr);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--repair", "-y", "vgt/r1"],
            "vgt/r1 must be active to perform this operation.",
        ),
        (
            vec!["--repair", "-y", "vgt/r1", &nm[2]],
            "vgt/r1 must be active to perform this operation.",
        ),
        (vec!["--repair", "-y", "vgt/lin"], "is not a RAID LV"),
        (
            vec!["--repair", "-y", "vgt/nosuch"],
            "Failed to find logical volume \"vgt/nosuch\"",
        ),
        (
            vec!["--repair", "--replace", &nm[0], "vgt/r1"],
            "Only one of",
        ),
    ];
    for (a, want) in &cases {
        let mut args = vec!["lvconvert"];
        args.extend(a);
        let r = ours(&present, &args);
        assert_ne!(r.code, 0, "{args:?} was accepted");
        assert!(
            r.stderr.contains(want),
            "{args:?}: want {want:?}, got {}",
            r.stderr
        );
    }
    let after: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    assert!(
        before == after,
        "a refused lvconvert --repair wrote to the disks"
    );
    let vg = our_vg(&devs, "vgt");
    assert!(vg.pvs.iter().all(|p| !p.is_missing()));
}
