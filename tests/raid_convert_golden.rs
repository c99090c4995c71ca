//! Replays what real lvm2 2.03.16 did on a real kernel for every RAID
//! conversion (tests/fixtures/convert-golden, recorded in the QEMU guest by
//! tests/vm/capture-convert-golden) with THIS project's `lvm`, offline, on
//! loop devices of the same number and size, and after every step compares:
//!
//! * the exit code with lvm2's (messages are NOT compared: ours may word
//!   them differently; they are printed when a step fails);
//! * what REAL lvm2 (host, activation=0) reports for our disks
//!   (`lvs -a -o lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,lv_size
//!   --units b --reportformat json`) with the golden report taken right after
//!   lvm2's step (device names mapped to the disk index; masks: see
//!   [`mask_attr`]);
//! * that real lvm2's `vgck` accepts the VG;
//! * for a step lvm2 refused: that we refuse too and write nothing (the VG's
//!   seqno and report are unchanged).
//!
//! A step where lvm2 failed only because the kernel refused a table
//! (`kernel_error` in the manifest: "device-mapper: reload ioctl ... failed",
//! "Failed to suspend") ends the replay of its case.
//!
//! A step where lvm2 reshaped the array (its metadata after the step has
//! `reshape_count`, the one before did not: the kernel moves data, e.g.
//! raid4 -> raid5_n or adding stripes) cannot be done offline: there we
//! check that our lvconvert refuses with "must be active", writes nothing,
//! and the replay of the case ends.
//!
//! One test per case, named `<family>_<case>` (families: images, split,
//! replace, region, takeover), so `cargo test --test raid_convert_golden --
//! takeover` runs one family.  `setup_states_match_golden` replays only the
//! steps before each case's first lvconvert (pvcreate, vgcreate, lvcreate):
//! it checks the harness itself and our lvcreate placement.

mod common;

use std::path::{Path, PathBuf};

use common::{
    from_placeholders, lvm2, lvm2_lvs_json, mask_attr, ours, require_root, to_placeholders, LoopDev,
};

/// The fields compared (the golden report also has seg_pe_ranges, which the
/// devices field and the size already determine).
const LVS: &str = "lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,lv_size";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert-golden")
}

struct Step {
    dir: String,
    argv: Vec<String>,
    rc: i32,
    stdout: String,
    stderr: String,
    files: Vec<String>,
    kernel_error: bool,
}

struct Case {
    name: String,
    vg: String,
    disks: usize,
    disk_size: u64,
    steps: Vec<Step>,
}

fn load_case(name: &str) -> Case {
    let path = golden_dir().join(name).join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run tests/vm/capture-convert-golden)",
            path.display()
        )
    });
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Case {
        name: name.to_string(),
        vg: s(&m["vg"]),
        disks: m["disks"].as_u64().unwrap() as usize,
        disk_size: m["disk_size"].as_u64().unwrap(),
        steps: m["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|st| Step {
                dir: s(&st["dir"]),
                argv: st["argv"].as_array().unwrap().iter().map(&s).collect(),
                rc: st["rc"].as_i64().unwrap() as i32,
                stdout: s(&st["stdout"]),
                stderr: s(&st["stderr"]),
                files: st["files"].as_array().unwrap().iter().map(&s).collect(),
                kernel_error: st["kernel_error"].as_bool().unwrap_or(false),
            })
            .collect(),
    }
}

/// An lvs JSON report reduced to the compared fields, device names mapped
/// by `map`, lv_attr masked (`common::mask_attr`: the golden reports were
/// taken with the LVs active, the host's lvm2 runs with activation=0 and
/// sees every LV inactive; `r`/`R` of a RAID LV is metadata and compared).
fn normalize(v: &serde_json::Value, map: &dyn Fn(&str) -> String) -> Vec<Vec<(String, String)>> {
    let fields: Vec<&str> = LVS.split(',').collect();
    let rows = v["report"][0]["lv"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .map(|row| {
            fields
                .iter()
                .map(|f| {
                    let s = row[*f]
                        .as_str()
                        .unwrap_or_else(|| panic!("no field {f} in {row}"));
                    let s = if *f == "lv_attr" {
                        mask_attr(s)
                    } else {
                        map(s)
                    };
                    (f.to_string(), s)
                })
                .collect()
        })
        .collect()
}

fn show(rows: &[Vec<(String, String)>]) -> String {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn seqno(devs: &[&LoopDev], vg: &str) -> Option<String> {
    let r = lvm2(devs, &["vgs", "--noheadings", "-o", "vg_seqno", vg]);
    (r.code == 0).then(|| r.stdout.trim().to_string())
}

fn our_report(devs: &[&LoopDev], names: &[String], vg: &str) -> Vec<Vec<(String, String)>> {
    normalize(&lvm2_lvs_json(devs, LVS, vg), &|s| {
        to_placeholders(s, names)
    })
}

/// Replays `case` with our lvm.  `setup_only`: stop before the first
/// lvconvert.  Returns the number of lvconvert steps replayed.
fn replay(case: &Case, setup_only: bool) -> usize {
    let disks: Vec<LoopDev> = (0..case.disks)
        .map(|_| LoopDev::new(case.disk_size))
        .collect();
    let devs: Vec<&LoopDev> = disks.iter().collect();
    let names: Vec<String> = disks.iter().map(|d| d.name()).collect();
    let vg = case.vg.as_str();
    let mut converts = 0;
    // Whether lvm2's metadata after the previous step was mid-reshape.
    let mut reshaping = false;
    for step in &case.steps {
        let is_convert = step.argv.get(1).map(String::as_str) == Some("lvconvert");
        if setup_only && is_convert {
            break;
        }
        // lvm2 failed here only because the kernel refused a table (see the
        // step's stderr): an offline tool cannot reproduce that, and what
        // follows starts from that failure.  Nothing after it is compared.
        if step.kernel_error {
            eprintln!(
                "case {}: stopping before {} (lvm2 hit a kernel error there)",
                case.name, step.dir
            );
            break;
        }
        assert_eq!(
            step.argv[0], "lvm",
            "{}/{}: argv {:?}",
            case.name, step.dir, step.argv
        );
        let args: Vec<String> = step.argv[1..]
            .iter()
            .map(|a| from_placeholders(a, &names))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before_seqno = seqno(&devs, vg);
        let before = before_seqno.as_ref().map(|_| our_report(&devs, &names, vg));
        let r = ours(&devs, &args);
        let vgcfg = golden_dir().join(&case.name).join(&step.dir).join("vgcfg");
        let now_reshaping = std::fs::read_to_string(&vgcfg)
            .map(|t| t.contains("reshape_count"))
            .unwrap_or(false);
        if is_convert && step.rc == 0 && now_reshaping && !reshaping {
            assert!(
                r.code == 5 && r.stderr.contains("must be active"),
                "case {} step {}: lvm2 reshaped here; offline we must refuse with \"must be active\", got rc {}:\n{}{}",
                case.name,
                step.dir,
                r.code,
                r.stdout,
                r.stderr
            );
            assert_eq!(
                seqno(&devs, vg),
                before_seqno,
                "case {} step {}: refused reshape wrote metadata",
                case.name,
                step.dir
            );
            eprintln!(
                "case {}: stopping at {} (lvm2 reshaped; we refuse offline)",
                case.name, step.dir
            );
            converts += 1;
            break;
        }
        reshaping = now_reshaping;
        let ctx = || {
            format!(
                "case {} step {}: lvm {}\n--- lvm2 (rc {}):\n{}{}--- ours (rc {}):\n{}{}",
                case.name,
                step.dir,
                step.argv[1..].join(" "),
                step.rc,
                step.stdout,
                step.stderr,
                r.code,
                r.stdout,
                r.stderr
            )
        };
        assert_eq!(r.code, step.rc, "exit code differs\n{}", ctx());
        if is_convert {
            converts += 1;
        }
        if !step.files.iter().any(|f| f == "vgcfg") {
            continue; // no VG yet (pvcreate)
        }
        let golden_path = golden_dir()
            .join(&case.name)
            .join(&step.dir)
            .join("lvs.json");
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
        let want = normalize(&golden, &|s| s.to_string());
        let got = our_report(&devs, &names, vg);
        assert!(
            got == want,
            "real lvm2's lvs of our result differs from the golden one\n--- golden:\n{}\n--- ours:\n{}\n{}",
            show(&want),
            show(&got),
            ctx()
        );
        let ck = lvm2(&devs, &["vgck", vg]);
        assert!(
            ck.code == 0 && !ck.stderr.contains("Internal error"),
            "lvm2 vgck {vg} after our step: {}\n{}",
            ck.stderr,
            ctx()
        );
        if step.rc != 0 {
            if let Some(s) = &before_seqno {
                assert_eq!(
                    seqno(&devs, vg).as_ref(),
                    Some(s),
                    "we refused but wrote metadata\n{}",
                    ctx()
                );
                assert!(
                    before.as_ref() == Some(&got),
                    "we refused but the LVs changed\n{}",
                    ctx()
                );
            }
        }
    }
    converts
}

fn run_case(name: &str) {
    if !require_root() {
        return;
    }
    let case = load_case(name);
    let n = replay(&case, false);
    assert!(n > 0, "case {name} has no lvconvert step");
}

/// Every case directory of the fixtures.
fn all_cases() -> Vec<String> {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden_dir().join("manifest.json")).unwrap())
            .unwrap();
    m["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

macro_rules! golden_cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_case($case);
            }
        )*
        const TESTED: &[&str] = &[$($case),*];
    };
}

golden_cases! {
    images_linear_to_raid1_type => "linear_to_raid1_type",
    images_linear_to_raid1_m1 => "linear_to_raid1_m1",
    images_linear_to_raid1_pv => "linear_to_raid1_pv",
    images_linear_to_raid1_m2 => "linear_to_raid1_m2",
    images_raid1_up_down => "raid1_up_down",
    images_raid1_plus2 => "raid1_plus2",
    images_raid1_remove_pv => "raid1_remove_pv",
    images_raid1_refusals => "raid1_refusals",
    split_3way => "split_3way",
    split_2way => "split_2way",
    split_pv => "split_pv",
    split_track_merge => "split_track_merge",
    split_track_2way => "split_track_2way",
    split_track_then_split => "split_track_then_split",
    split_track_other_pv => "split_track_other_pv",
    replace_raid1 => "replace_raid1",
    replace_raid5 => "replace_raid5",
    replace_raid6 => "replace_raid6",
    replace_raid10 => "replace_raid10",
    replace_refusals => "replace_refusals",
    region_raid1 => "region_raid1",
    region_raid5 => "region_raid5",
    takeover_striped_raid0 => "takeover_striped_raid0",
    takeover_raid0_meta_striped => "takeover_raid0_meta_striped",
    takeover_raid0_chain => "takeover_raid0_chain",
    takeover_raid0_3_raid6 => "takeover_raid0_3_raid6",
    takeover_striped_raid5 => "takeover_striped_raid5",
    takeover_striped_raid4 => "takeover_striped_raid4",
    takeover_striped_raid10 => "takeover_striped_raid10",
    takeover_raid10_raid0 => "takeover_raid10_raid0",
    takeover_raid1_raid5 => "takeover_raid1_raid5",
    takeover_raid1_raid5_n => "takeover_raid1_raid5_n",
    takeover_raid5_2_raid1 => "takeover_raid5_2_raid1",
    takeover_raid5_ls_raid6 => "takeover_raid5_ls_raid6",
    takeover_raid5_raid6 => "takeover_raid5_raid6",
    takeover_raid5_n_raid0 => "takeover_raid5_n_raid0",
    takeover_raid4_raid6 => "takeover_raid4_raid6",
    takeover_refusals => "takeover_refusals",
    images_linear_to_raid1_region => "linear_to_raid1_region",
    images_raid10_m => "images_raid10_m",
    split_4way_2 => "split_4way_2",
    takeover_raid5_ls_raid0 => "takeover_raid5_ls_raid0",
    takeover_raid6_raid5 => "takeover_raid6_raid5",
    takeover_raid6_n_6_striped => "takeover_raid6_n_6_striped",
    takeover_linear_raid0 => "takeover_linear_raid0",
    takeover_raid1_3_raid5 => "takeover_raid1_3_raid5",
    takeover_raid1_raid10 => "takeover_raid1_raid10",
    takeover_striped3_raid6 => "takeover_striped3_raid6",
    takeover_raid0_meta_raid5 => "takeover_raid0_meta_raid5",
}

#[test]
fn every_golden_case_has_a_test() {
    let mut missing: Vec<String> = all_cases()
        .into_iter()
        .filter(|c| !TESTED.contains(&c.as_str()))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "fixture cases without a test: {missing:?}"
    );
    for c in TESTED {
        assert!(
            golden_dir().join(c).join("manifest.json").exists(),
            "test for missing case {c}"
        );
    }
}

/// The harness and our pvcreate/vgcreate/lvcreate: every case's state
/// before its first lvconvert equals lvm2's.
#[test]
fn setup_states_match_golden() {
    if !require_root() {
        return;
    }
    let mut failed = Vec::new();
    for name in all_cases() {
        let case = load_case(&name);
        if let Err(e) = std::panic::catch_unwind(|| replay(&case, true)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{name}: {msg}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn mask_keeps_metadata_characters() {
    assert_eq!(mask_attr("rwi-aor---"), "rwi-??r-?-");
    assert_eq!(mask_attr("Iwi-aor---"), "iwi-??r-?-");
    assert_eq!(mask_attr("Rwi-a-r---"), "Rwi-??r-?-");
    assert_eq!(mask_attr("ewi-aor---"), "ewi-??r-?-");
}
