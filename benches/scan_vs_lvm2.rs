//! `lvm vgs` in scan mode, this project against real lvm2, on the same 64
//! loop-device PVs in one run. Needs root. Prints medians and the ratio.
//! Run: `sudo cargo bench --bench scan_vs_lvm2`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

const N: usize = 64;
const ROUNDS: usize = 11;
const CFG: &str = "global{activation=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} backup{backup=0 archive=0}";

struct Loops(Vec<String>, tempfile::TempDir);

impl Drop for Loops {
    fn drop(&mut self) {
        for l in &self.0 {
            let _ = Command::new("losetup").args(["-d", l]).status();
        }
    }
}

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
    let mut loops = Loops(Vec::new(), tempfile::tempdir().unwrap());
    for i in 0..N {
        let img: PathBuf = dir.path().join(format!("d{i}.img"));
        std::fs::File::create(&img)
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&img)
            .output()
            .unwrap();
        loops
            .0
            .push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let devs = loops.0.join(",");
    let lvm2 = |args: &[&str]| {
        let mut c = Command::new("lvm");
        c.arg(args[0])
            .args(["--config", CFG, "--devices", &devs])
            .args(&args[1..])
            .env("LVM_SUPPRESS_FD_WARNINGS", "1");
        c
    };
    let mut args = vec!["vgcreate", "vgbench"];
    args.extend(loops.0.iter().map(|s| s.as_str()));
    assert!(lvm2(&args).status().unwrap().success());
    for i in 0..32 {
        let name = format!("lv{i}");
        lvm2(&["lvcreate", "-y", "-n", &name, "-l", "2", "vgbench"])
            .output()
            .unwrap();
    }
    let etc = loops.1.path().to_path_buf();
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
