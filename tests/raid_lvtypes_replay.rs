//! Replays lvm2's own `lvtypes` fixture sequence (every RAID type, region
//! sizes, --nosync, explicit PVs and PE ranges, cumulative on 8 PVs) with
//! THIS project's `lvm` on loop devices, and after every step compares:
//!
//! * our metadata (our vgcfgbackup) with lvm2's vgcfgbackup of that state:
//!   LV names and order, status flags, segments, RAID fields, PV placement
//!   (ids, creation times and hosts, seqno are ignored);
//! * what REAL lvm2 reports for our disks (`lvs -a ... --reportformat json`)
//!   with the fixture's lvs JSON (device names mapped; the activity, open
//!   and health characters of lv_attr masked: the fixtures were made over a
//!   fake device-mapper, here lvm2 runs with activation=0);
//! * our messages (stdout exactly, and lvm2's warnings on stderr);
//! * that real lvm2's vgck accepts the VG.
//!
//! Then the golden guest runs (tests/fixtures/dm-golden: every type lvm2
//! created on a real kernel, each on an empty VG of 8 PVs) are replayed the
//! same way, each LV removed again with our lvremove.

mod common;

use std::path::{Path, PathBuf};

use common::{lv_shape, lvm2, lvm2_accepts, mask_attr, our_vg, ours, require_root, LoopDev};
use lvmetad::model::{parse_vg_text, Vg};

const LVS: &str =
    "lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,seg_pe_ranges,lv_size";

fn lvtypes() -> PathBuf {
    common::fixtures().join("lvtypes")
}

struct Step {
    dir: PathBuf,
    args: Vec<String>,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

fn parse_command(dir: &Path) -> Step {
    let text = std::fs::read_to_string(dir.join("command.txt")).unwrap();
    let mut args = Vec::new();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut section = 0;
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("$ lvm ") {
            args = cmd.split_whitespace().map(str::to_string).collect();
        } else if line == "--- stdout ---" {
            section = 1;
        } else if line == "--- stderr ---" {
            section = 2;
        } else if section == 1 {
            stdout.push(line.to_string());
        } else if section == 2 {
            stderr.push(line.to_string());
        }
    }
    Step {
        dir: dir.to_path_buf(),
        args,
        stdout,
        stderr,
    }
}

/// The structure of a VG: everything but ids, times, hosts and seqno.
fn shape(vg: &Vg) -> Vec<String> {
    let mut out: Vec<String> = vg
        .pvs
        .iter()
        .map(|p| {
            format!(
                "{} {:?} {:?} dev_size={} pe_start={} pe_count={}",
                p.key, p.status, p.flags, p.dev_size, p.pe_start, p.pe_count
            )
        })
        .collect();
    out.extend(lv_shape(vg, &[]));
    out
}

fn read_vg(path: &Path) -> Vg {
    parse_vg_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .0
}

/// An lvs JSON report with device names mapped and lv_attr masked.
fn normalize(mut v: serde_json::Value, map: &dyn Fn(&str) -> String) -> serde_json::Value {
    for row in v["report"][0]["lv"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        for (k, val) in row.iter_mut() {
            let s = val.as_str().unwrap().to_string();
            *val = serde_json::Value::String(if k == "lv_attr" {
                mask_attr(&s)
            } else {
                map(&s)
            });
        }
    }
    v
}

/// Replace `/dev/loopN` (fixture names, N = disk index) by placeholders.
fn fixture_names(s: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"/dev/loop(\d+)").unwrap());
    re.replace_all(s, "<p$1>").into_owned()
}

/// Our device names → the same placeholders (disk index).
fn our_names(s: &str, devs: &[&LoopDev]) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"/dev/loop\d+").unwrap());
    re.replace_all(s, |c: &regex::Captures| {
        match devs.iter().position(|d| d.name() == c[0]) {
            Some(i) => format!("<p{i}>"),
            None => c[0].to_string(),
        }
    })
    .into_owned()
}

#[test]
fn lvtypes_sequence_replayed_with_our_lvcreate() {
    if !require_root() {
        return;
    }
    let disks: Vec<LoopDev> = (0..8).map(|_| LoopDev::new(128 << 20)).collect();
    let devs: Vec<&LoopDev> = disks.iter().collect();
    let names: Vec<String> = disks.iter().map(|d| d.name()).collect();
    let mut vgcreate = vec!["vgcreate", "vgraid"];
    vgcreate.extend(names.iter().map(String::as_str));
    ours(&devs, &vgcreate).ok();
    assert_eq!(
        shape(&our_vg(&devs, "vgraid")),
        shape(&read_vg(
            &lvtypes().join("02-vgcreate/vgcfgbackup.vgraid.vg")
        ))
    );

    let mut dirs: Vec<PathBuf> = std::fs::read_dir(lvtypes())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("command.txt").exists())
        .collect();
    dirs.sort();
    let mut replayed = 0;
    let re = regex::Regex::new(r"^/dev/loop(\d+)").unwrap();
    for dir in dirs {
        let step = parse_command(&dir);
        if step.args.first().map(String::as_str) != Some("lvcreate") {
            continue;
        }
        let what = dir.file_name().unwrap().to_string_lossy().to_string();
        // Map the fixture's /dev/loopN (disk N) to our disk N.
        let args: Vec<String> = step
            .args
            .iter()
            .map(|a| {
                re.replace(a, |c: &regex::Captures| {
                    names[c[1].parse::<usize>().unwrap()].clone()
                })
                .into_owned()
            })
            .collect();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = ours(&devs, &argv);
        assert_eq!(r.code, 0, "{what}: {args:?}\n{}{}", r.stdout, r.stderr);
        let stdout: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(stdout, step.stdout, "{what}: stdout");
        for want in step.stderr.iter().filter(|l| !l.contains("NOT backed up")) {
            assert!(
                r.stderr.lines().any(|l| l == want),
                "{what}: stderr lacks {want:?}:\n{}",
                r.stderr
            );
        }

        // Our metadata has lvm2's structure.
        let want = read_vg(&step.dir.join("vgcfgbackup.vgraid.vg"));
        let got = our_vg(&devs, "vgraid");
        let (a, b) = (shape(&got), shape(&want));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{what}: metadata differs");
        }
        assert_eq!(a.len(), b.len(), "{what}: number of PVs and LVs");

        // Real lvm2 reports our disks as it reported its own.
        let theirs = lvm2(
            &devs,
            &[
                "lvs",
                "-a",
                "-o",
                LVS,
                "--units",
                "b",
                "--reportformat",
                "json",
                "vgraid",
            ],
        )
        .ok();
        let got = normalize(theirs.json(), &|s| our_names(s, &devs));
        let fixture: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(step.dir.join("lvs.vgraid.json")).unwrap(),
        )
        .unwrap();
        let want = normalize(fixture, &fixture_names);
        assert_eq!(got, want, "{what}: lvm2's lvs of our metadata");
        // ... and so does our own lvs.
        let mine = ours(
            &devs,
            &[
                "lvs",
                "-a",
                "-o",
                LVS,
                "--units",
                "b",
                "--reportformat",
                "json",
                "vgraid",
            ],
        )
        .ok();
        assert_eq!(
            normalize(mine.json(), &|s| our_names(s, &devs)),
            got,
            "{what}: our lvs"
        );
        lvm2_accepts(&devs, "vgraid");
        replayed += 1;
    }
    assert_eq!(replayed, 25);

    // Every RAID LV goes with its sub-LVs; what is left is lvm2-valid.
    for lv in ["raid5", "raid6opt", "raid10", "raid0", "raid0m", "raid1pe"] {
        let r = ours(&devs, &["lvremove", "-y", &format!("vgraid/{lv}")]).ok();
        assert_eq!(
            r.stdout.trim(),
            format!("Logical volume \"{lv}\" successfully removed.")
        );
        let vg = our_vg(&devs, "vgraid");
        assert!(vg
            .lvs
            .iter()
            .all(|l| l.name != lv && !l.name.starts_with(&format!("{lv}_r"))));
        lvm2_accepts(&devs, "vgraid");
    }
    ours(&devs, &["lvremove", "-y", "vgraid"]).ok();
    assert!(our_vg(&devs, "vgraid").lvs.is_empty());
    lvm2_accepts(&devs, "vgraid");
}

/// Every type lvm2 created on a real kernel in the guest, each on an empty
/// VG of 8 PVs of 128 MiB: the same command gives the same metadata here,
/// and our lvremove takes it away again.
#[test]
fn golden_guest_lvcreates_replayed() {
    if !require_root() {
        return;
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dm-golden");
    let disks: Vec<LoopDev> = (0..8).map(|_| LoopDev::new(128 << 20)).collect();
    let devs: Vec<&LoopDev> = disks.iter().collect();
    let mut vgcreate = vec!["vgcreate".to_string(), "vg0".to_string()];
    vgcreate.extend(disks.iter().map(|d| d.name()));
    let argv: Vec<&str> = vgcreate.iter().map(String::as_str).collect();
    ours(&devs, &argv).ok();
    let log_root = Path::new("/work/shared/vm/golden/create");
    let mut count = 0;
    let mut types: Vec<PathBuf> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("1-just-created.vgcfg").exists())
        .collect();
    types.sort();
    for dir in types {
        let ty = dir.file_name().unwrap().to_string_lossy().to_string();
        let want = read_vg(&dir.join("1-just-created.vgcfg"));
        let lv = want.lvs.iter().find(|l| l.is_visible()).unwrap().clone();
        let seg = &lv.segments[0];
        if seg.raid_type().is_none() {
            continue; // linear, striped; raid10_near is not modelled
        }
        // The command, from the guest's log when present, else rebuilt.
        let cmd = std::fs::read_to_string(log_root.join(&ty).join("commands.log"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("$ lvcreate"))
                    .map(|l| l[2..].to_string())
            })
            .unwrap_or_else(|| golden_command(&ty));
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let r = ours(&devs, &args);
        assert_eq!(r.code, 0, "{ty}: {cmd}\n{}{}", r.stdout, r.stderr);
        let got = our_vg(&devs, "vg0");
        let lvs = |vg: &Vg| -> Vec<String> {
            shape(vg)
                .into_iter()
                .filter(|l| !l.starts_with("pv"))
                .collect()
        };
        assert_eq!(lvs(&got), lvs(&want), "{ty}");
        lvm2_accepts(&devs, "vg0");
        ours(&devs, &["lvremove", "-y", &format!("vg0/{}", lv.name)]).ok();
        assert!(
            our_vg(&devs, "vg0").lvs.is_empty(),
            "{ty}: lvremove left sub-LVs"
        );
        count += 1;
    }
    assert!(count >= 22, "{count}");
}

/// The guest's commands (tests/fixtures/dm-golden/README.md), for when
/// the shared golden folder is not mounted.
fn golden_command(ty: &str) -> String {
    let t = |rest: &str| format!("lvcreate -y -n {ty} {rest} vg0");
    match ty {
        "raid0" | "raid0_meta" => t(&format!("--type {ty} -i 3 -I 64k -L 24M")),
        "raid10" => t("--type raid10 -i 2 -m 1 -L 16M"),
        "raid1_m1" => t("--type raid1 -m 1 -L 16M"),
        "raid1_m2" => t("--type raid1 -m 2 -L 16M"),
        "raid1_nosync" => t("--type raid1 -m 1 --nosync -L 16M"),
        "raid4" => t("--type raid4 -i 2 -L 16M"),
        "raid5_R1M" => t("--type raid5 -i 3 -R 1M -L 24M"),
        "raid5_all" => t("--type raid5 -L 28M"),
        other => t(&format!("--type {other} -i 3 -L 24M")),
    }
}
