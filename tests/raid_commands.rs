//! RAID commands against real lvm2 on loop devices: refusals (with lvm2's
//! messages and exit codes, nothing written), lvextend/lvrename/lvremove of
//! RAID LVs giving exactly what lvm2 gives on a copy of the same disks,
//! lvm2's own `100%FREE` arithmetic (test/shell/lvcreate-raid.sh), stripe
//! counts from lvm.conf, recovery rates, and big LVs raising the region size.

mod common;

use common::{lv_shape, lvm2, lvm2_accepts, names, our_vg, ours, require_root, LoopDev, Run};
use lvmetad::model::Vg;
fn vgcreate(devs: &[&LoopDev], vg: &str, extra: &[&str]) {
    let n = names(devs);
    let mut a = vec!["vgcreate"];
    a.extend(extra);
    a.push(vg);
    a.extend(n.iter().map(String::as_str));
    ours(devs, &a).ok();
}

/// (LV, PV) pairs where a PV holds extents of two images of a RAID LV.
fn shared_pvs(vg: &Vg) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for lv in &vg.lvs {
        let Some(r) = lv.segments.first().and_then(|s| s.raid.as_ref()) else {
            continue;
        };
        let mut owner: std::collections::BTreeMap<String, usize> = Default::default();
        for (i, (m, d)) in r.meta.iter().zip(&r.images).enumerate() {
            for sub in m.iter().chain(d.iter()) {
                for seg in &vg.lv(sub).unwrap().segments {
                    for a in &seg.areas {
                        if let lvmetad::model::Area::Pv { pv, .. } = a {
                            if *owner.entry(pv.clone()).or_insert(i) != i {
                                out.push((lv.name.clone(), pv.clone()));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn lines(s: &str) -> Vec<&str> {
    s.lines()
        .filter(|l| {
            !l.contains("leaked on lvm invocation")
                && !l.contains("Activation disabled")
                && !l.contains("NOT backed up")
        })
        .collect()
}

fn size_of(devs: &[&LoopDev], lv: &str) -> u64 {
    let r = ours(
        devs,
        &[
            "lvs",
            "--noheadings",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            "lv_size",
            lv,
        ],
    )
    .ok();
    r.stdout.trim().parse().unwrap()
}

#[test]
fn refusals_match_lvm2_and_write_nothing() {
    if !require_root() {
        return;
    }
    let d: Vec<LoopDev> = (0..4).map(|_| LoopDev::new(32 << 20)).collect();
    let devs: Vec<&LoopDev> = d.iter().collect();
    let n = names(&devs);
    vgcreate(&devs, "vgr", &[]);
    ours(
        &devs,
        &["lvcreate", "-n", "r1", "--type", "raid1", "-L", "8m", "vgr"],
    )
    .ok();
    let before: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();

    // Refused before anything is allocated, by lvm2 as by us: same first
    // error line, same exit code.
    let same_as_lvm2: &[&[&str]] = &[
        &["--type", "raid7", "-L", "4m"],
        &["--type", "raid5", "-m", "1", "-L", "4m"],
        &["--type", "raid6", "--nosync", "-L", "4m"],
        &["--type", "raid1", "-i", "2", "-L", "4m"],
        &["--type", "raid1", "-m", "0", "-L", "4m"],
        &["--type", "raid10", "-m", "2", "-L", "4m"],
        &["--type", "raid0", "-i", "1", "-L", "4m"],
        &["--type", "raid6", "-i", "2", "-L", "4m"],
        &["--type", "raid1", "--minrecoveryrate", "50", "-L", "4m"],
        &["--type", "raid1", "-R", "3k", "-L", "4m"],
        &["--nosync", "-L", "4m"],
    ];
    for extra in same_as_lvm2 {
        let mut a = vec!["lvcreate", "-n", "x"];
        a.extend(*extra);
        a.push("vgr");
        let mine = ours(&devs, &a);
        let theirs = lvm2(&devs, &a);
        assert_ne!(mine.code, 0, "{a:?}");
        assert_eq!(mine.code, theirs.code, "{a:?}: {}", mine.stderr);
        let want = lines(&theirs.stderr)
            .into_iter()
            .find(|l| !l.contains("Unrecognised") && !l.starts_with("  Using default"))
            .unwrap()
            .to_string();
        assert!(
            mine.stderr.contains(want.trim()),
            "{a:?}: lvm2 says {want:?}, we say {}",
            mine.stderr
        );
    }

    // Refused by us where lvm2 here cannot even try (no device-mapper):
    // clear messages.
    let ours_only: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "lvcreate", "-n", "x", "--type", "raid6", "-i", "3", "-L", "12m", "vgr",
            ],
            "5 distinct PVs",
        ),
        (
            vec![
                "lvcreate", "-n", "x", "--type", "raid5", "-i", "4", "-L", "8m", "vgr",
            ],
            "5 distinct PVs",
        ),
        (
            vec![
                "lvcreate", "-n", "x", "--type", "raid5", "-i", "5", "-L", "8m", "vgr",
            ],
            "must not exceed",
        ),
        (
            vec!["lvcreate", "-n", "x", "--type", "raid1", "-L", "1g", "vgr"],
            "insufficient free space",
        ),
        (
            vec!["lvcreate", "-n", "x", "--type", "raid5", "-L", "40m", "vgr"],
            "Insufficient",
        ),
        (
            vec!["lvcreate", "-n", "r1", "--type", "raid1", "-L", "4m", "vgr"],
            "already exists",
        ),
        (
            vec![
                "lvcreate",
                "-n",
                "x",
                "-m",
                "1",
                "-L",
                "4m",
                "vgr",
                "--config",
                "global{mirror_segtype_default=\"mirror\"}",
            ],
            "mirror",
        ),
        (
            vec![
                "lvcreate", "-n", "x", "--type", "raid1", "-L", "4m", "vgr", &n[0],
            ],
            "2 distinct PVs",
        ),
        (vec!["lvextend", "-L", "+1g", "vgr/r1"], "Insufficient"),
        (
            vec!["lvextend", "-L", "+4m", "vgr/r1_rimage_0"],
            "Cannot resize a RAID image directly",
        ),
        (
            vec!["lvreduce", "-L", "-4m", "vgr/r1_rmeta_1"],
            "Cannot resize a RAID metadata area directly",
        ),
        (
            vec!["lvrename", "vgr/r1_rimage_0", "vgr/y"],
            "Cannot rename internal LV",
        ),
        (vec!["lvremove", "-y", "vgr/r1_rmeta_0"], "hidden sub-LV"),
        (
            vec![
                "lvcreate",
                "-n",
                "x_rimage_0",
                "--type",
                "raid1",
                "-L",
                "4m",
                "vgr",
            ],
            "reserved",
        ),
    ];
    for (a, needle) in ours_only {
        let r = ours(&devs, &a);
        assert_ne!(r.code, 0, "{a:?} should fail");
        assert!(
            r.stderr.contains(needle),
            "{a:?}: expected {needle:?} in {}",
            r.stderr
        );
    }
    let after: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    assert!(before == after, "a refused command changed the disks");
    lvm2_accepts(&devs, "vgr");
}

/// Our RAID resizes, renames and removals give exactly lvm2's result on a
/// copy of the same disks (lvm2 can change RAID metadata without
/// device-mapper; only creating most types needs it).
#[test]
fn resizing_renaming_removing_like_lvm2() {
    if !require_root() {
        return;
    }
    let a: Vec<LoopDev> = (0..8).map(|_| LoopDev::new(128 << 20)).collect();
    let da: Vec<&LoopDev> = a.iter().collect();
    let na = names(&da);
    vgcreate(&da, "vgx", &[]);
    for cmd in [
        "-L 8m --type raid1 -m1 -n r1",
        "-L 8m --type raid1 -m2 -n r1m2",
        "-L 8m --type raid5 -i2 -n r5",
        "-L 8m --type raid4 -n r4",
        "-L 12m --type raid6 -i3 -n r6",
        "-L 8m --type raid10 -n r10",
        "-L 8m --type raid0 -i2 -n r0",
        "-L 8m --type raid0_meta -i3 -n r0m",
        "-L 8m -n lin",
    ] {
        let mut args = vec!["lvcreate", "-y"];
        args.extend(cmd.split(' '));
        args.push("vgx");
        ours(&da, &args).ok();
    }
    lvm2_accepts(&da, "vgx");
    let mut b: Vec<LoopDev> = a
        .iter()
        .map(|x| LoopDev::from_image_copy(&x.image))
        .collect();
    let steps: Vec<Vec<String>> = [
        "lvextend -L+12m vgx/r6",
        "lvextend -l+1 vgx/r10",
        "lvextend -l 10%VG vgx/r5",
        "lvextend -l +10%FREE vgx/r1m2",
        "lvextend -l+3 vgx/r0m",
        "lvextend -L+4m vgx/r0",
        "lvextend -L 20m vgx/r4",
        "lvextend -l+2 vgx/r1 @5 @6",
        "lvextend -L+8m vgx/r1",
        "lvextend -l+1 vgx/lin",
        "lvrename vgx/r1 vgx/mirror",
        "lvrename vgx r5 parity",
        "lvremove -y vgx/r10",
        "lvextend -l +50%FREE vgx/r6",
        "lvextend -l+1 --alloc contiguous vgx/mirror",
    ]
    .iter()
    .map(|s| s.split(' ').map(str::to_string).collect())
    .collect();
    let mut compared = 0;
    for step in steps {
        let db: Vec<&LoopDev> = b.iter().collect();
        let nb = names(&db);
        let shared_before = shared_pvs(&our_vg(&db, "vgx"));
        let lvm2_shared_before = shared_pvs(&our_vg(&da, "vgx"));
        let map = |names: &[String]| -> Vec<String> {
            step.iter()
                .map(|s| match s.strip_prefix('@') {
                    Some(i) => names[i.parse::<usize>().unwrap()].clone(),
                    None => s.clone(),
                })
                .collect()
        };
        let (sa, sb) = (map(&na), map(&nb));
        let theirs = lvm2(&da, &sa.iter().map(String::as_str).collect::<Vec<_>>());
        let mine = ours(&db, &sb.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            mine.code, theirs.code,
            "{step:?}: lvm2 {} / ours {}",
            theirs.stderr, mine.stderr
        );
        assert_eq!(
            lines(&mine.stdout),
            lines(&theirs.stdout),
            "{step:?}: stdout"
        );
        let (vb, va) = (our_vg(&db, "vgx"), our_vg(&da, "vgx"));
        let new_shared: Vec<_> = shared_pvs(&vb)
            .into_iter()
            .filter(|x| !shared_before.contains(x))
            .collect();
        assert!(
            new_shared.is_empty(),
            "{step:?}: we put two images on one PV: {new_shared:?}"
        );
        let lvm2_new: Vec<_> = shared_pvs(&va)
            .into_iter()
            .filter(|x| !lvm2_shared_before.contains(x))
            .collect();
        if !lvm2_new.is_empty() {
            // lvm2 2.03 put two images of one LV on one PV, which this
            // project never does: only the sizes can agree. Continue from
            // lvm2's disks.
            eprintln!("{step:?}: lvm2 shares PVs between images: {lvm2_new:?}");
            let sizes = |vg: &Vg| -> Vec<(String, u64)> {
                vg.lvs
                    .iter()
                    .map(|l| (l.name.clone(), l.size_extents()))
                    .collect()
            };
            assert_eq!(sizes(&vb), sizes(&va), "{step:?}: sizes");
            lvm2_accepts(&db, "vgx");
            drop(db);
            b = a
                .iter()
                .map(|x| LoopDev::from_image_copy(&x.image))
                .collect();
            continue;
        }
        let (got, want) = (lv_shape(&vb, &[]), lv_shape(&va, &[]));
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{step:?}: metadata");
        }
        assert_eq!(got.len(), want.len(), "{step:?}: LVs");
        compared += 1;
        lvm2_accepts(&db, "vgx");
    }
    assert!(compared >= 10, "{compared} steps compared exactly");
}

/// lvm2's test/shell/lvcreate-raid.sh "Create RAID using 100%FREE": six
/// PVs of 20 MiB, 512 KiB extents; the sizes lvm2's test expects.
#[test]
fn hundred_percent_free_like_lvm2_test_suite() {
    if !require_root() {
        return;
    }
    let d: Vec<LoopDev> = (0..6).map(|_| LoopDev::new(20 << 20)).collect();
    let devs: Vec<&LoopDev> = d.iter().collect();
    let n = names(&devs);
    vgcreate(&devs, "vgf", &["-s", "512k"]);
    let mib = |m: f64| (m * 1048576.0) as u64;
    let check = |args: &[&str], lv: &str, want: u64| {
        let mut a = vec!["lvcreate", "-Zn", "-n", lv];
        a.extend(args);
        ours(&devs, &a).ok();
        assert_eq!(size_of(&devs, &format!("vgf/{lv}")), want, "{args:?}");
        lvm2_accepts(&devs, "vgf");
    };
    check(
        &["--type", "raid1", "-m", "1", "-l", "100%FREE", "vgf"],
        "raid1",
        mib(56.5),
    );
    ours(&devs, &["lvremove", "-y", "vgf"]).ok();
    check(
        &["--type", "raid5", "-i", "5", "-l", "100%FREE", "vgf"],
        "raid5",
        mib(92.5),
    );
    ours(&devs, &["lvremove", "-y", "vgf"]).ok();
    check(
        &["--type", "raid5", "-i", "2", "-l", "100%FREE", "vgf"],
        "raid5",
        mib(75.0),
    );
    ours(&devs, &["lvremove", "-y", "vgf"]).ok();
    check(
        &["--type", "raid6", "-i", "4", "-l", "100%FREE", "vgf"],
        "raid6",
        mib(74.0),
    );
    ours(&devs, &["lvremove", "-y", "vgf"]).ok();

    ours(
        &devs,
        &[
            "lvcreate",
            "-l",
            "18",
            "-Zn",
            "-n",
            "eat_space",
            "vgf",
            &n[0],
        ],
    )
    .ok();
    check(
        &[
            "--type", "raid1", "-m", "1", "-l", "100%FREE", "vgf", &n[0], &n[1],
        ],
        "raid1",
        mib(9.5),
    );
    let pvs = ours(
        &devs,
        &[
            "pvs",
            "--noheadings",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            "pv_free",
            &n[1],
        ],
    )
    .ok();
    assert_eq!(
        pvs.stdout.trim().parse::<u64>().unwrap(),
        mib(9.0),
        "dev2 keeps what dev1 gave away"
    );
    ours(&devs, &["lvremove", "-y", "vgf/raid1"]).ok();
    check(
        &["--type", "raid5", "-i", "5", "-l", "100%FREE", "vgf"],
        "raid5",
        mib(47.5),
    );
    ours(&devs, &["lvremove", "-y", "vgf/raid5"]).ok();
    check(
        &["--type", "raid5", "-i", "2", "-l", "100%FREE", "vgf"],
        "raid5",
        mib(57.0),
    );
    ours(&devs, &["lvremove", "-y", "vgf"]).ok();

    // Stripe count: two data stripes by default even with more PVs given;
    // all devices with allocation/raid_stripe_all_devices (lvm2's old way).
    let count = |lv: &str| {
        our_vg(&devs, "vgf").lv(lv).unwrap().segments[0]
            .raid
            .as_ref()
            .unwrap()
            .images
            .len()
    };
    ours(
        &devs,
        &[
            "lvcreate", "--type", "raid5", "-l2", "-n", "p3", "vgf", &n[0], &n[1], &n[2],
        ],
    )
    .ok();
    assert_eq!(count("p3"), 3);
    ours(
        &devs,
        &["lvcreate", "--type", "raid6", "-l3", "-n", "r6", "vgf"],
    )
    .ok();
    assert_eq!(count("r6"), 5);
    let all = "allocation{raid_stripe_all_devices=1}";
    ours(
        &devs,
        &[
            "lvcreate", "--config", all, "--type", "raid5", "-l2", "-n", "all5", "vgf",
        ],
    )
    .ok();
    assert_eq!(count("all5"), 6);
    ours(
        &devs,
        &[
            "lvcreate", "--config", all, "--type", "raid1", "-l1", "-n", "all1", "vgf",
        ],
    )
    .ok();
    assert_eq!(count("all1"), 2);
    // Not enough PVs listed for the type.
    for (t, k) in [("raid1", 1), ("raid5", 2), ("raid6", 4)] {
        let mut a = vec!["lvcreate", "--type", t, "-l", "3", "-n", "few", "vgf"];
        a.extend(n[..k].iter().map(String::as_str));
        assert_ne!(ours(&devs, &a).code, 0, "{t} on {k} PVs");
    }
    lvm2_accepts(&devs, "vgf");
}

/// `--min/--maxrecoveryrate` are stored in KiB/s and lvm2 reports them.
#[test]
fn recovery_rates_and_region_sizes_as_lvm2_reports_them() {
    if !require_root() {
        return;
    }
    let d: Vec<LoopDev> = (0..4).map(|_| LoopDev::new(64 << 20)).collect();
    let devs: Vec<&LoopDev> = d.iter().collect();
    vgcreate(&devs, "vgq", &[]);
    ours(
        &devs,
        &[
            "lvcreate",
            "--type",
            "raid1",
            "-m",
            "2",
            "-l",
            "2",
            "--minrecoveryrate",
            "50",
            "--maxrecoveryrate",
            "1M",
            "-n",
            "r",
            "vgq",
        ],
    )
    .ok();
    ours(
        &devs,
        &[
            "lvcreate",
            "--type",
            "raid5",
            "-i",
            "3",
            "-l",
            "3",
            "--minrecoveryrate",
            "50",
            "--maxrecoveryrate",
            "1M",
            "-n",
            "p",
            "vgq",
        ],
    )
    .ok();
    // A region size bigger than the LV shrinks to it, with lvm2's notice.
    let r = ours(
        &devs,
        &[
            "lvcreate", "--type", "raid1", "-l", "1", "-R", "8m", "-n", "small", "vgq",
        ],
    )
    .ok();
    assert!(
        r.stdout
            .contains("Using reduced mirror region size of 4.00 MiB"),
        "{}",
        r.stdout
    );
    // A region size below the stripe size is raised to it.
    let r = ours(
        &devs,
        &[
            "lvcreate", "--type", "raid5", "-I", "128k", "-R", "64k", "-l", "2", "-n", "adj", "vgq",
        ],
    )
    .ok();
    assert!(
        r.stdout.contains(
            "Adjusting raid5 64.00 KiB region size to required minimum of stripe size 128.00 KiB."
        ),
        "{}",
        r.stdout
    );
    let rep: Run = lvm2(
        &devs,
        &[
            "lvs",
            "--reportformat",
            "json",
            "--units",
            "k",
            "--nosuffix",
            "-o",
            "lv_name,raid_min_recovery_rate,raid_max_recovery_rate,region_size",
            "vgq",
        ],
    )
    .ok();
    let rows = rep.json()["report"][0]["lv"].as_array().unwrap().clone();
    let row = |n: &str| rows.iter().find(|r| r["lv_name"] == n).unwrap().clone();
    for lv in ["r", "p"] {
        assert_eq!(row(lv)["raid_min_recovery_rate"], "50", "{rows:?}");
        assert_eq!(row(lv)["raid_max_recovery_rate"], "1024");
    }
    assert_eq!(row("small")["region_size"], "4096.00");
    assert_eq!(row("adj")["region_size"], "128.00");
    lvm2_accepts(&devs, "vgq");
}

/// 10 TiB raid1 (sparse loop devices): more than 2^21 regions of the
/// default 2 MiB, so the region size is raised to 8 MiB; lvm2 agrees.
#[test]
fn big_raid1_raises_the_region_size() {
    if !require_root() {
        return;
    }
    let d: Vec<LoopDev> = (0..2).map(|_| LoopDev::new(11 << 40)).collect();
    let devs: Vec<&LoopDev> = d.iter().collect();
    vgcreate(&devs, "vgbig", &[]);
    ours(
        &devs,
        &[
            "lvcreate", "--type", "raid1", "-L", "10t", "-n", "big", "vgbig",
        ],
    )
    .ok();
    let vg = our_vg(&devs, "vgbig");
    let r = vg.lv("big").unwrap().segments[0].raid.clone().unwrap();
    assert_eq!(r.region_size, Some(16384));
    let rep = lvm2(
        &devs,
        &[
            "lvs",
            "--noheadings",
            "--units",
            "b",
            "--nosuffix",
            "-o",
            "region_size",
            "vgbig/big",
        ],
    )
    .ok();
    assert_eq!(rep.stdout.trim(), (8u64 << 20).to_string());
    lvm2_accepts(&devs, "vgbig");
}

/// The creations of lvm2's test/shell/lvcreate-raid.sh (6 PVs, 512 KiB
/// extents): image counts, every raid4/5/6 layout with 3 stripes, raid10
/// with 2 and 3 stripes, --nosync where lvm2 allows it (NOTSYNCED, shown
/// as `R` by real lvm2), each accepted by lvm2's vgck and removed again.
#[test]
fn create_scenarios_of_lvm2_test_suite() {
    if !require_root() {
        return;
    }
    let d: Vec<LoopDev> = (0..6).map(|_| LoopDev::new(20 << 20)).collect();
    let devs: Vec<&LoopDev> = d.iter().collect();
    vgcreate(&devs, "vgs", &["-s", "512k"]);
    let cases: &[(&str, usize)] = &[
        ("--type raid1 -l 2", 2),
        ("--type raid1 -m 1 -l 2", 2),
        ("--type raid1 -m 2 -l 2", 3),
        ("-m 1 -l 2", 2),
        ("-m 1 -i 2 -l 2", 4),
        ("--type raid4 -l 3 -i 3", 4),
        ("--type raid5 -l 3 -i 3", 4),
        ("--type raid5_ls -l 3 -i 3", 4),
        ("--type raid5_la -l 3 -i 3", 4),
        ("--type raid5_rs -l 3 -i 3", 4),
        ("--type raid5_ra -l 3 -i 3", 4),
        ("--type raid6 -l 3 -i 3", 5),
        ("--type raid6_zr -l 3 -i 3", 5),
        ("--type raid6_nr -l 3 -i 3", 5),
        ("--type raid6_nc -l 3 -i 3", 5),
        ("--type raid10 -m 1 -i 2 -l 4", 4),
        ("--type raid10 -m 1 -i 3 -l 3", 6),
        ("--type raid10 -l 4", 4),
        ("--type raid1 -m 1 --nosync -l 2", 2),
        ("--type raid4 --nosync -l 2", 3),
        ("--type raid5 --nosync -l 2", 3),
        ("--type raid10 --nosync -l 2", 4),
    ];
    for (cmd, images) in cases {
        let mut a = vec!["lvcreate", "-n", "lv"];
        a.extend(cmd.split(' '));
        a.push("vgs");
        let r = ours(&devs, &a).ok();
        let vg = our_vg(&devs, "vgs");
        let lv = vg.lv("lv").unwrap();
        assert_eq!(
            lv.segments[0].raid.as_ref().unwrap().images.len(),
            *images,
            "{cmd}"
        );
        let nosync = cmd.contains("--nosync");
        assert_eq!(lv.has_status("NOTSYNCED"), nosync, "{cmd}");
        if nosync {
            assert!(
                r.stderr.contains("won't be synchronised"),
                "{cmd}: {}",
                r.stderr
            );
        }
        let attr = lvm2(&devs, &["lvs", "--noheadings", "-o", "lv_attr", "vgs/lv"]).ok();
        assert_eq!(
            attr.stdout.trim().starts_with('R'),
            nosync,
            "{cmd}: {}",
            attr.stdout
        );
        lvm2_accepts(&devs, "vgs");
        ours(&devs, &["lvremove", "-y", "vgs/lv"]).ok();
        assert!(our_vg(&devs, "vgs").lvs.is_empty(), "{cmd}");
    }
}
