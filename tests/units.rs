//! The systemd units and the udev rule, checked with systemd's and udev's
//! own tools.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The units as installed, with ExecStart pointing at the built daemon.
fn staged_units(dir: &Path) {
    let service = std::fs::read_to_string(repo().join("units/lvmetad.service")).unwrap();
    std::fs::write(
        dir.join("lvmetad.service"),
        service.replace("/usr/sbin/lvmetad", env!("CARGO_BIN_EXE_lvmetad")),
    )
    .unwrap();
    std::fs::copy(
        repo().join("units/lvmetad.socket"),
        dir.join("lvmetad.socket"),
    )
    .unwrap();
}

#[test]
fn units_verify_clean() {
    let dir = tempfile::tempdir().unwrap();
    staged_units(dir.path());
    // man(1) wants manN/ sections: lay the project's pages out that way.
    let mandir = dir.path().join("man");
    for e in std::fs::read_dir(repo().join("man")).unwrap() {
        let p = e.unwrap().path();
        let section = p.extension().unwrap().to_string_lossy().to_string();
        let sub = mandir.join(format!("man{section}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::copy(&p, sub.join(p.file_name().unwrap())).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("lvmetad.socket"))
        .arg(dir.path().join("lvmetad.service"))
        .env("MANPATH", &mandir)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .expect("systemd-analyze (package systemd)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
}

#[test]
fn service_exposure_is_low() {
    let dir = tempfile::tempdir().unwrap();
    staged_units(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(dir.path().join("lvmetad.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    let level: f64 = line
        .split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(level <= 2.0, "exposure {level}: {line}");
}

/// `udevadm test` on a loop device carrying a PV runs our pvscan; on one
/// without a PV label it runs nothing. Needs root (loop devices, /run/udev).
#[test]
fn udev_rule_runs_pvscan_for_pvs_only() {
    if unsafe { libc::geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("SKIPPED: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("pv.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let blank = dir.path().join("blank.img");
    std::fs::File::create(&blank)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_lvm"))
        .args(["pvcreate", "--devices"])
        .arg(&img)
        .arg(&img)
        .env("LVM_SYSTEM_DIR", repo().join("tests/etc"))
        .status()
        .unwrap();
    assert!(st.success());
    let attach = |p: &Path| {
        let o = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let (pv, other) = (attach(&img), attach(&blank));
    // A runtime rules file (removed at the end) so udevadm test sees ours.
    let rules = Path::new("/run/udev/rules.d/69-lvmetad-selftest.rules");
    std::fs::create_dir_all(rules.parent().unwrap()).unwrap();
    std::fs::copy(repo().join("rules.d/69-lvmetad.rules"), rules).unwrap();
    let test = |dev: &str, action: &str| {
        let name = Path::new(dev)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let o = Command::new("udevadm")
            .args(["test", &format!("--action={action}")])
            .arg(format!("/sys/class/block/{name}"))
            .output()
            .expect("udevadm (package udev)");
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
    };
    let on_pv = test(&pv, "add");
    let on_blank = test(&other, "add");
    let _ = std::fs::remove_file(rules);
    for l in [&pv, &other] {
        let _ = Command::new("losetup").args(["-d", l]).status();
    }
    assert!(on_pv.contains("pvscan --cache --major 7"), "{on_pv}");
    assert!(!on_blank.contains("pvscan --cache"), "{on_blank}");
}
