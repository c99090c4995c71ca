//! Pieces the loop-device benchmarks (scan_vs_lvm2, raid6_create) share.

use std::path::Path;
use std::process::Command;

/// Loop devices this run attached; detached (by name) on drop, also when
/// the bench panics.
pub struct Loops(pub Vec<String>);

impl Loops {
    /// A sparse image file `img` of `size` bytes, attached to a free loop
    /// device (kept in the list).
    pub fn attach_new(&mut self, img: &Path, size: u64) {
        std::fs::File::create(img).unwrap().set_len(size).unwrap();
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(img)
            .output()
            .unwrap();
        assert!(out.status.success(), "losetup failed");
        self.0
            .push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }

    /// Real lvm2 (`lvm ARGS`) with config `cfg`, restricted to these
    /// devices.
    pub fn lvm2(&self, cfg: &str, args: &[&str]) -> Command {
        let mut c = Command::new("lvm");
        c.arg(args[0])
            .args(["--config", cfg, "--devices", &self.0.join(",")])
            .args(&args[1..])
            .env("LVM_SUPPRESS_FD_WARNINGS", "1");
        c
    }
}

impl Drop for Loops {
    fn drop(&mut self) {
        for l in &self.0 {
            let _ = Command::new("losetup").args(["-d", l]).status();
        }
    }
}
