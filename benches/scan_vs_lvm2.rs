//! `lvm vgs` in scan mode, this project against real lvm2, on the same 64
//! loop-device PVs in one run. Needs root. Prints medians and the ratio.
//! Run: `sudo cargo bench --bench scan_vs_lvm2`.

use std::process::Command;
use std::time::Instant;

mod common;

use common::Loops;

const N: usize = 64;
const ROUNDS: usize = 11;
const CFG: &str = "global{activation=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} backup{backup=0 archive=0}";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("scan_vs_lvm2 needs root (loop devices); skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut loops = Loops(Vec::new());
    let etc_dir = tempfile::tempdir().unwrap();
    for i in 0..N {
        loops.attach_new(&dir.path().join(format!("d{i}.img")), 16 << 20);
    }
    let devs = loops.0.join(",");
    let lvm2 = |args: &[&str]| loops.lvm2(CFG, args);
    let mut args = vec!["vgcreate", "vgbench"];
    args.extend(loops.0.iter().map(|s| s.as_str()));
    assert!(lvm2(&args).status().unwrap().success());
    for i in 0..32 {
        let name = format!("lv{i}");
        lvm2(&["lvcreate", "-y", "-n", &name, "-l", "2", "vgbench"])
            .output()
            .unwrap();
    }
    let etc = etc_dir.path().to_path_buf();
    std::fs::write(etc.join("lvm.conf"), "global { activation = 0 }\n").unwrap();
    let ours = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lvm"));
        c.args(["vgs", "--devices", &devs])
            .env("LVM_SYSTEM_DIR", &etc);
        c
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..ROUNDS {
        a.push(time(&mut ours()));
        b.push(time(&mut lvm2(&["vgs"])));
    }
    let (ma, mb) = (median(a), median(b));
    println!("vgs on {N} loop-device PVs (one VG, 32 LVs), median of {ROUNDS}:");
    println!("  this project: {ma:.1} ms");
    println!("  real lvm2:    {mb:.1} ms");
    println!("  ratio (lvm2 / ours): {:.2}x", mb / ma);
}
