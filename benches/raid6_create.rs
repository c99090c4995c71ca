//! `lvcreate --type raid6` on a big VG: 256 loop-device PVs holding 1,000
//! linear LVs. Real lvm2 cannot create RAID LVs here (no device-mapper on
//! the host), so the nearest thing it can do on the same VG — create a
//! linear LV — is timed alongside, in the same run, on the same devices.
//! Every created LV is removed again (untimed) so each round starts from the
//! same VG. Needs root. Prints medians and the ratio.
//!
//! Run: `sudo cargo bench --bench raid6_create` (`RAID6_PVS`, `RAID6_LVS`,
//! `RAID6_ROUNDS` override the defaults 256, 1000 and 7).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

mod common;

use common::Loops;
use lvmetad::model::text::{parse_vg_text, vg_to_text, TextHeader, TextStyle};
use lvmetad::model::{Area, Lv, SegType, Segment};

const CFG: &str = "global{activation=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} backup{backup=0 archive=0}";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn run(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let out = cmd.output().expect("command runs");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    ms
}

/// Add `count` one-extent linear LVs to the VG text, spread round-robin
/// over the PVs, and return the new text.
fn with_linear_lvs(text: &str, count: usize) -> String {
    let (mut vg, _) = parse_vg_text(text).expect("lvm2's vgcfgbackup parses");
    let keys: Vec<String> = vg.pvs.iter().map(|p| p.key.clone()).collect();
    let mut next_pe = vec![0u64; keys.len()];
    for i in 0..count {
        let p = i % keys.len();
        let pe = next_pe[p];
        next_pe[p] += 1;
        vg.lvs.push(Lv {
            name: format!("lin{i}"),
            id: lvmetad::uuid::generate(),
            status: vec!["READ".into(), "WRITE".into(), "VISIBLE".into()],
            flags: vec![],
            tags: vec![],
            creation_time: Some(1_700_000_000),
            creation_host: Some("bench".into()),
            allocation_policy: None,
            read_ahead: None,
            segments: vec![Segment {
                start_extent: 0,
                extent_count: 1,
                segtype: SegType::Striped,
                tags: vec![],
                areas: vec![Area::Pv {
                    pv: keys[p].clone(),
                    pe,
                }],
                stripe_size: None,
                raid: None,
                extra: vec![],
            }],
            extra: vec![],
        });
    }
    vg_to_text(
        &vg,
        &TextHeader::new("raid6_create bench", 0),
        TextStyle::Backup,
    )
}

fn main() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("raid6_create needs root (loop devices); skipped");
        return;
    }
    let npv = env_or("RAID6_PVS", 256);
    let nlv = env_or("RAID6_LVS", 1000);
    let rounds = env_or("RAID6_ROUNDS", 7);
    let dir = tempfile::tempdir().unwrap();
    let mut loops = Loops(Vec::new());
    for i in 0..npv {
        loops.attach_new(&dir.path().join(format!("d{i}.img")), 64 << 20);
    }
    let devs = loops.0.join(",");
    let lvm2 = |args: &[&str]| loops.lvm2(CFG, args);
    let mut args = vec!["vgcreate", "-y", "vgr6"];
    args.extend(loops.0.iter().map(|s| s.as_str()));
    run(&mut lvm2(&args));
    let backup = dir.path().join("vgr6.vg");
    let b = backup.to_str().unwrap();
    run(&mut lvm2(&["vgcfgbackup", "-f", b, "vgr6"]));
    let text = with_linear_lvs(&std::fs::read_to_string(&backup).unwrap(), nlv);
    std::fs::write(&backup, text).unwrap();
    run(&mut lvm2(&["vgcfgrestore", "-f", b, "vgr6"]));

    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("lvm.conf"), "global { activation = 0 }\n").unwrap();
    let ours = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lvm"));
        c.args(args)
            .args(["--devices", &devs])
            .env("LVM_SYSTEM_DIR", &etc)
            .env(
                "LVM_LVMETAD_SOCKET",
                Path::new("/nonexistent/lvmetad.socket"),
            );
        c
    };
    let (mut a, mut l) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(run(&mut ours(&[
            "lvcreate", "-y", "--type", "raid6", "-i", "3", "-l", "3", "-n", "r6", "vgr6",
        ])));
        run(&mut ours(&["lvremove", "-f", "vgr6/r6"]));
        l.push(run(&mut lvm2(&[
            "lvcreate", "-y", "-l", "1", "-n", "lin_new", "vgr6",
        ])));
        run(&mut lvm2(&["lvremove", "-f", "vgr6/lin_new"]));
    }
    let (ma, ml) = (median(a), median(l));
    println!("VG with {npv} PVs and {nlv} LVs, median of {rounds}:");
    println!("  this project, lvcreate --type raid6 -i 3: {ma:.0} ms");
    println!("  real lvm2,    lvcreate (linear):          {ml:.0} ms");
    println!("  ratio (lvm2 linear / ours raid6): {:.2}x", ml / ma);
    let _ = lvm2(&["vgremove", "-f", "vgr6"]).output();
}
