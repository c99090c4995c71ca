//! Reshapes planned against what real lvm2 2.03.16 did ONLINE on a real
//! kernel (tests/fixtures/convert-golden, captured in the QEMU guest):
//! for every step of a captured case that reshapes (or frees reshape
//! space, or takes over an LV that has some), the planner gets lvm2's VG
//! before the step and the kernel state lvm2 saw (`dmsetup status` after
//! the previous step: device count, sync, data offset) and must produce
//! lvm2's VG after the step (LV names, status words, `+FLAG` segment
//! type suffixes, `reshape_count`, segments and PV extents; ids and
//! creation times of new LVs aside), with as many commits as lvm2's seqno
//! moved, and lvm2's messages.
//!
//! Pure planner: no devices, runs anywhere. The same reshapes on a live
//! array are tests/vm/scenarios/raid-reshape.

mod common;

use std::path::{Path, PathBuf};

use common::{lvm2_accepts, lvm2_lvs_json, ours, require_root, LoopDev};

use lvmetad::activate::{parse_status_line, TargetStatus};
use lvmetad::model::{parse_vg_text, Vg};
use lvmetad::raid::reshape::{reshape_len, KernelState};
use lvmetad::raid::takeover::{self, Msg, SegT, TakeoverRequest};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert-golden")
}

fn read_vg(dir: &Path) -> (Vg, String) {
    let text = std::fs::read_to_string(dir.join("vgcfg")).unwrap();
    (parse_vg_text(&text).unwrap().0, text)
}

/// The kernel state of `vg-lv` in a captured `dmsetup status`.
fn kernel(dir: &Path, vg: &str, lv: &str) -> Option<KernelState> {
    let text = std::fs::read_to_string(dir.join("dmsetup-status.txt")).ok()?;
    let prefix = format!("{vg}-{lv}: ");
    let line = text.lines().find(|l| l.starts_with(&prefix))?;
    match parse_status_line(&line[prefix.len()..])
        .ok()?
        .status()
        .ok()?
    {
        TargetStatus::Raid(r) => Some(KernelState::from_status(&r, 0)),
        _ => None,
    }
}

/// LVs as lvm2 prints them, ids and creation stamps aside.
fn shape(vg: &Vg) -> Vec<String> {
    common::lv_shape(vg, &[])
}

fn involves_reshape(vg: &Vg, lv: &str) -> bool {
    reshape_len(vg, lv) > 0 || vg.lv(lv).is_some_and(|l| l.has_status("RESHAPE"))
}

struct Outcome {
    compared: usize,
}

fn replay(case: &str) -> Outcome {
    let dir = golden_dir().join(case);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let vgname = m["vg"].as_str().unwrap();
    let steps = m["steps"].as_array().unwrap();
    let mut compared = 0;
    for (i, st) in steps.iter().enumerate().skip(1) {
        if st["kernel_error"].as_bool() == Some(true) {
            break;
        }
        let argv: Vec<&str> = st["argv"].as_array().unwrap()[1..]
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        if argv[0] != "lvconvert" || !argv.contains(&"--type") || st["rc"] != 0 {
            continue;
        }
        let prev_dir = dir.join(steps[i - 1]["dir"].as_str().unwrap());
        let this_dir = dir.join(st["dir"].as_str().unwrap());
        let (before, _) = read_vg(&prev_dir);
        let (after, _) = read_vg(&this_dir);
        let lv_path = argv.last().unwrap();
        let lv = lv_path.rsplit('/').next().unwrap();
        if !involves_reshape(&before, lv) && !involves_reshape(&after, lv) {
            continue;
        }
        let to = argv[argv.iter().position(|a| *a == "--type").unwrap() + 1];
        let k = kernel(&prev_dir, vgname, lv)
            .unwrap_or_else(|| panic!("{case} {}: no captured status of the LV", st["dir"]));
        let mut req = TakeoverRequest::new(lv, SegT::from_name(to).unwrap(), 4096);
        req.active = true;
        req.kernel = Some(k);
        let plan = takeover::plan(&before, &req)
            .unwrap_or_else(|e| panic!("{case} {}: refused: {e}", st["dir"]));
        let label = format!("{case} {}", st["dir"].as_str().unwrap());
        assert_eq!(
            shape(plan.final_vg()).join("\n"),
            shape(&after).join("\n"),
            "{label}: our VG differs from lvm2's"
        );
        // Pure reshapes: as many commits as lvm2 made.
        let same_level = plan.result_type.split('_').next()
            == before
                .lv(lv)
                .and_then(|l| l.raid_type())
                .map(|t| t.name().split('_').next().unwrap().to_string())
                .as_deref();
        if same_level {
            assert_eq!(
                plan.steps.len() as u64,
                after.seqno - before.seqno,
                "{label}: commits"
            );
        }
        // Every line lvm2 printed about the reshape, on the same stream.
        let stdout = st["stdout"].as_str().unwrap();
        let stderr = st["stderr"].as_str().unwrap();
        for msg in &plan.messages {
            let (s, stream) = match msg {
                Msg::Print(s) => (s, stdout),
                Msg::Warn(s) | Msg::Error(s) => (s, stderr),
            };
            assert!(
                stream.contains(s.as_str()),
                "{label}: {s:?} not in lvm2's output {stream:?}"
            );
        }
        compared += 1;
    }
    Outcome { compared }
}

#[test]
fn reshapes_plan_what_lvm2_did_online() {
    let mut cases: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| golden_dir().join(n).join("manifest.json").exists())
        .collect();
    cases.sort();
    let mut total = 0;
    let mut per_case = Vec::new();
    for c in &cases {
        let o = replay(c);
        if o.compared > 0 {
            per_case.push(format!("{c}: {}", o.compared));
        }
        total += o.compared;
    }
    eprintln!("reshape steps compared: {total} ({})", per_case.join(", "));
    assert!(total >= 10, "only {total} reshape steps compared");
}

// ---------------------------------------------------------------------------
// The states lvm2 left after its reshapes (reshape space, `+RESHAPE` flags),
// written onto loop devices: real lvm2 (host, no activation) and our lvm
// report them alike — sizes without the reshape space, `reshape_len`,
// `reshape_len_le`, segment types with their flags stripped — and lvm2's
// vgck accepts them.

/// Our PVs on `devs` carrying the golden VG's text (PV ids and device
/// hints replaced by ours, in disk order).
fn golden_on_disks(case: &str, step: &str, devs: &[&LoopDev]) {
    use lvmetad::device::scan::scan_devices;
    use lvmetad::device::Device;
    use lvmetad::model::{vg_to_text, TextHeader, TextStyle};
    let dir = golden_dir().join(case);
    let (mut vg, _) = read_vg(&dir.join(step));
    let paths: Vec<PathBuf> = devs.iter().map(|d| PathBuf::from(d.name())).collect();
    let scan = scan_devices(&paths);
    let ours_vg = &scan.vgs[0].vg;
    for pv in &mut vg.pvs {
        let i: usize = pv.device.as_deref().unwrap()[2..].parse().unwrap();
        let mine = ours_vg
            .pvs
            .iter()
            .find(|p| p.device.as_deref() == Some(devs[i].name().as_str()))
            .unwrap();
        pv.id = mine.id.clone();
        pv.device = mine.device.clone();
        pv.dev_size = mine.dev_size;
        pv.pe_start = mine.pe_start;
        pv.pe_count = mine.pe_count;
    }
    vg.id = ours_vg.id.clone();
    vg.seqno = ours_vg.seqno + 1;
    let text = vg_to_text(&vg, &TextHeader::new("reshape golden", 0), TextStyle::Disk);
    let mut ds: Vec<Device> = paths
        .iter()
        .map(|p| Device::open(p, true).unwrap())
        .collect();
    common::write_vg_text(&scan, &paths, &mut ds, &vg.name, &text).unwrap();
}

#[test]
fn lvm2_and_we_report_reshaped_lvs_alike() {
    if !require_root() {
        return;
    }
    const FIELDS: &str = "lv_name,segtype,stripes,stripe_size,lv_size,seg_size,reshape_len,\
                          reshape_len_le,devices";
    for (case, step) in [
        ("takeover_raid5_raid6", "05-to-raid6-again1"),
        ("takeover_raid0_chain", "05-to-raid5_n"),
        ("takeover_raid0_chain", "06-to-raid6_n_6"),
        ("takeover_refusals", "05-raid0-to-raid6-again1"),
        ("takeover_raid1_raid10", "05-to-raid10-again1"),
    ] {
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(golden_dir().join(case).join("manifest.json")).unwrap(),
        )
        .unwrap();
        let n = m["disks"].as_u64().unwrap() as usize;
        let size = m["disk_size"].as_u64().unwrap();
        let d: Vec<LoopDev> = (0..n).map(|_| LoopDev::new(size)).collect();
        let devs: Vec<&LoopDev> = d.iter().collect();
        let names: Vec<String> = d.iter().map(|x| x.name()).collect();
        let mut args = vec!["pvcreate", "-y"];
        args.extend(names.iter().map(String::as_str));
        assert_eq!(ours(&devs, &args).code, 0);
        let mut args = vec!["vgcreate", "-s", "4m", "vgc"];
        args.extend(names.iter().map(String::as_str));
        assert_eq!(ours(&devs, &args).code, 0);
        golden_on_disks(case, step, &devs);
        lvm2_accepts(&devs, "vgc");
        let want = lvm2_lvs_json(&devs, FIELDS, "vgc");
        let r = ours(
            &devs,
            &[
                "lvs",
                "-a",
                "-o",
                FIELDS,
                "--units",
                "b",
                "--reportformat",
                "json",
                "vgc",
            ],
        );
        assert_eq!(r.code, 0, "{case} {step}: {}", r.stderr);
        assert_eq!(r.json(), want, "{case} {step}: our lvs differs from lvm2's");
    }
}
