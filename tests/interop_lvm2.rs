//! Real lvm2 is the oracle: what it writes we read and report the same,
//! and what we write it accepts (vgck, pvck) and reports the same.
//! Every test makes its own loop devices and detaches exactly those.

mod common;

use common::{lvm2, ours, require_root, LoopDev};

const LVS: &str =
    "lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,seg_pe_ranges,lv_size,lv_uuid";
const PVS: &str = "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,pv_uuid,pe_start,pv_mda_count,pv_mda_size,pv_mda_free,dev_size,pv_pe_count,pv_pe_alloc_count";
const VGS: &str = "vg_name,vg_uuid,vg_size,vg_free,vg_seqno,pv_count,lv_count,vg_attr,vg_extent_size,vg_mda_free,vg_mda_count,vg_free_count";

fn disks(n: usize, mib: u64) -> Vec<LoopDev> {
    (0..n).map(|_| LoopDev::new(mib << 20)).collect()
}

/// Both tools' reports of the same devices must be equal.
#[track_caller]
fn same_reports(devs: &[&LoopDev]) {
    for (cmd, fields) in [("lvs", LVS), ("pvs", PVS), ("vgs", VGS)] {
        let mut args = vec![cmd, "-o", fields, "--units", "b", "--reportformat", "json"];
        if cmd == "lvs" {
            args.push("-a");
        }
        let theirs = lvm2(devs, &args).ok().json();
        let mine = ours(devs, &args).ok().json();
        assert_eq!(mine, theirs, "{cmd} differs");
    }
}

#[track_caller]
fn lvm2_accepts(devs: &[&LoopDev], vg: &str) {
    lvm2(devs, &["vgck", vg]).ok();
    for d in devs {
        let r = lvm2(devs, &["pvck", &d.name()]).ok();
        assert!(!r.stderr.contains("CHECK"), "{}", r.stderr);
    }
}

#[test]
fn lvm2_writes_we_read() {
    if !require_root() {
        return;
    }
    let d = disks(3, 64);
    let refs: Vec<&LoopDev> = d.iter().collect();
    let names: Vec<String> = d.iter().map(|x| x.name()).collect();
    let mut pvcreate = vec!["pvcreate"];
    pvcreate.extend(names.iter().map(|s| s.as_str()));
    lvm2(&refs, &pvcreate).ok();
    let mut vgcreate = vec!["vgcreate", "-s", "1m", "vgi1"];
    vgcreate.extend(names.iter().map(|s| s.as_str()));
    lvm2(&refs, &vgcreate).ok();
    lvm2(&refs, &["lvcreate", "-y", "-n", "lin", "-L", "5m", "vgi1"]).ok();
    lvm2(
        &refs,
        &[
            "lvcreate", "-y", "-n", "str", "-i", "3", "-I", "8k", "-L", "9m", "vgi1",
        ],
    )
    .ok();
    lvm2(
        &refs,
        &["lvextend", "-y", "-L", "+3m", "vgi1/lin", &names[2]],
    )
    .ok();
    lvm2(
        &refs,
        &[
            "lvcreate", "-y", "-n", "r0", "--type", "raid0", "-i", "2", "-L", "4m", "vgi1",
        ],
    )
    .ok();
    same_reports(&refs);
    // our own check of the VG and our pvck dump match lvm2's
    ours(&refs, &["vgck", "vgi1"]).ok();
    for x in &d {
        let a = lvm2(&refs, &["pvck", "--dump", "headers", &x.name()]).ok();
        let b = ours(&refs, &["pvck", "--dump", "headers", &x.name()]).ok();
        assert_eq!(b.stdout, a.stdout);
    }
}

#[test]
fn we_write_lvm2_reads() {
    if !require_root() {
        return;
    }
    let d = disks(4, 64);
    let refs: Vec<&LoopDev> = d.iter().collect();
    let n: Vec<String> = d.iter().map(|x| x.name()).collect();
    ours(&refs, &["pvcreate", &n[0]]).ok();
    ours(&refs, &["pvcreate", "--metadatacopies", "2", &n[1]]).ok();
    ours(&refs, &["pvcreate", "--metadatacopies", "0", &n[2]]).ok();
    ours(
        &refs,
        &[
            "pvcreate",
            "--metadatasize",
            "4m",
            "--dataalignment",
            "2m",
            &n[3],
        ],
    )
    .ok();
    // pvs of fresh PVs (orphans) agree
    same_reports(&refs);
    ours(
        &refs,
        &["vgcreate", "-s", "2m", "vgw1", &n[0], &n[1], &n[2]],
    )
    .ok();
    ours(&refs, &["vgextend", "vgw1", &n[3]]).ok();
    ours(&refs, &["lvcreate", "-n", "lin", "-L", "6m", "vgw1"]).ok();
    ours(
        &refs,
        &[
            "lvcreate", "-n", "str", "-i", "2", "-I", "16k", "-l", "6", "vgw1",
        ],
    )
    .ok();
    ours(
        &refs,
        &[
            "lvcreate",
            "-n",
            "pe",
            "-l",
            "3",
            "vgw1",
            &format!("{}:10-12", n[2]),
        ],
    )
    .ok();
    ours(&refs, &["lvextend", "-L", "+4m", "vgw1/lin"]).ok();
    ours(&refs, &["lvextend", "-l", "+2", "vgw1/str", &n[2], &n[3]]).ok();
    ours(&refs, &["lvcreate", "-n", "big", "-l", "50%FREE", "vgw1"]).ok();
    ours(&refs, &["lvremove", "-y", "vgw1/pe"]).ok();
    lvm2_accepts(&refs, "vgw1");
    same_reports(&refs);
    // lvm2 can keep working on what we wrote, and we on what it wrote.
    lvm2(
        &refs,
        &["lvcreate", "-y", "-n", "theirs", "-L", "2m", "vgw1"],
    )
    .ok();
    ours(&refs, &["lvextend", "-L", "+2m", "vgw1/theirs"]).ok();
    lvm2_accepts(&refs, "vgw1");
    same_reports(&refs);
    ours(&refs, &["lvremove", "-y", "vgw1"]).ok();
    ours(&refs, &["vgreduce", "vgw1", &n[3]]).ok();
    same_reports(&refs);
    ours(&refs, &["vgremove", "vgw1"]).ok();
    same_reports(&refs);
    ours(&refs, &["pvremove", &n[0], &n[1]]).ok();
    let pvs = lvm2(&refs, &["pvs", "--reportformat", "json", "-o", "pv_name"])
        .ok()
        .json();
    let listed = pvs["report"][0]["pv"].as_array().unwrap().len();
    assert_eq!(listed, 2, "{pvs}");
}

#[test]
fn many_commits_wrap_the_buffer_and_lvm2_still_reads_it() {
    if !require_root() {
        return;
    }
    let d = disks(2, 64);
    let refs: Vec<&LoopDev> = d.iter().collect();
    let n: Vec<String> = d.iter().map(|x| x.name()).collect();
    ours(
        &refs,
        &[
            "pvcreate",
            "--metadatasize",
            "64k",
            "--dataalignment",
            "64k",
            &n[0],
        ],
    )
    .ok();
    ours(
        &refs,
        &[
            "pvcreate",
            "--metadatasize",
            "64k",
            "--dataalignment",
            "64k",
            "--metadatacopies",
            "2",
            &n[1],
        ],
    )
    .ok();
    ours(&refs, &["vgcreate", "-s", "1m", "vgwr", &n[0], &n[1]]).ok();
    // ~2 KiB of text per commit in a 63 KiB buffer: wraps several times.
    for i in 0..12 {
        ours(
            &refs,
            &["lvcreate", "-n", &format!("l{i}"), "-L", "4m", "vgwr"],
        )
        .ok();
    }
    // Watch the committed slot of the first PV's area: it must wrap past
    // the end of the buffer (text split in two) and restart at the front.
    let slot = || {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(&d[0].image).unwrap();
        let mut h = [0u8; 512];
        f.read_exact_at(&mut h, 4096).unwrap();
        let size_of_area = u64::from_le_bytes(h[32..40].try_into().unwrap());
        let off = u64::from_le_bytes(h[40..48].try_into().unwrap());
        let len = u64::from_le_bytes(h[48..56].try_into().unwrap());
        (off, off + len > size_of_area)
    };
    let (mut last, mut split, mut restarted) = (slot().0, 0, 0);
    for _round in 0..5 {
        for i in 0..12 {
            ours(&refs, &["lvextend", "-l", "+1", &format!("vgwr/l{i}")]).ok();
            let (off, wrapped) = slot();
            split += wrapped as u32;
            restarted += (off < last) as u32;
            last = off;
            if wrapped {
                // lvm2 reads a text split across the end of the buffer.
                lvm2_accepts(&refs, "vgwr");
                same_reports(&refs);
            }
        }
        lvm2_accepts(&refs, "vgwr");
    }
    assert!(
        split >= 1 && restarted >= 2,
        "split {split} restarted {restarted}"
    );
    let dump = ours(&refs, &["pvck", "--dump", "headers", &n[0]]).ok();
    assert!(dump.stdout.contains("seqno"), "{}", dump.stdout);
    same_reports(&refs);
}

#[test]
fn refusals_change_nothing() {
    if !require_root() {
        return;
    }
    let d = disks(2, 32);
    let refs: Vec<&LoopDev> = d.iter().collect();
    let n: Vec<String> = d.iter().map(|x| x.name()).collect();
    ours(&refs, &["vgcreate", "vgr", &n[0]]).ok();
    let before: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    let beyond = format!("{}:100-200", n[0]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["lvcreate", "-n", "x", "-L", "1g", "vgr"],
            "Insufficient free space",
        ),
        (
            vec!["lvcreate", "-n", "x", "-i", "2", "-L", "8m", "vgr"],
            "distinct PVs",
        ),
        (vec!["pvcreate", &n[0]], "volume group \"vgr\""),
        (vec!["vgcreate", "vgr", &n[1]], "already exists"),
        (vec!["vgextend", "nosuch", &n[1]], "not found"),
        (
            vec!["lvcreate", "-n", "bad name", "-L", "4m", "vgr"],
            "Invalid logical volume name",
        ),
        (
            vec!["lvcreate", "-n", "y", "-L", "4m", "vgr", &beyond],
            "beyond the end",
        ),
        (vec!["vgreduce", "vgr", &n[0]], "last physical volume"),
        (vec!["lvextend", "-L", "+4m", "vgr/nosuch"], "not found"),
    ];
    for (args, needle) in cases {
        let r = ours(&refs, &args);
        assert_ne!(r.code, 0, "{args:?} should fail");
        assert!(
            r.stderr.contains(needle),
            "{args:?}: expected \"{needle}\" in:\n{}",
            r.stderr
        );
    }
    let after: Vec<Vec<u8>> = d.iter().map(|x| std::fs::read(&x.image).unwrap()).collect();
    assert!(before == after, "a refused command changed the disks");
}
