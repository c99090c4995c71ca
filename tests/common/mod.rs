//! Shared helpers for integration tests: loop devices the test creates and
//! removes itself (by name, also when the test fails), real lvm2 as the
//! oracle, and this project's `lvm` binary.
#![allow(dead_code)]

pub mod dbus;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The config real lvm2 runs with here: the host kernel has no
/// device-mapper, udev may not know our loop devices, and backups would
/// litter /etc/lvm.
pub const LVM2_CONFIG: &str = "global{activation=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0} backup{backup=0 archive=0}";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lvm2")
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Loop-device tests need root and losetup; CI runs as root. Outside CI a
/// non-root developer gets a loud skip rather than a false failure.
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("this test needs root (loop devices) and CI runs as root");
    }
    eprintln!("SKIPPED: needs root for loop devices");
    false
}

/// A loop device over an image file in a private temp dir; detached by
/// name on drop.
pub struct LoopDev {
    pub path: PathBuf,
    pub image: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopDev {
    /// A sparse image of `size` bytes.
    pub fn new(size: u64) -> LoopDev {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(size).unwrap();
        drop(f);
        Self::attach(dir, image)
    }

    /// A fixture image (`pN.img.zst`), decompressed sparse.
    pub fn from_zst(zst: &Path) -> LoopDev {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        let st = Command::new("zstd")
            .args(["-q", "-d", "--sparse", "-o"])
            .arg(&image)
            .arg(zst)
            .status()
            .expect("zstd is installed");
        assert!(st.success(), "zstd -d {}", zst.display());
        Self::attach(dir, image)
    }

    fn attach(dir: tempfile::TempDir, image: PathBuf) -> LoopDev {
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
            .expect("losetup");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        LoopDev {
            path,
            image,
            _dir: dir,
        }
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.path).status();
    }
}

pub fn devices_arg(devs: &[&LoopDev]) -> String {
    devs.iter().map(|d| d.name()).collect::<Vec<_>>().join(",")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Real lvm2 restricted to `devs`.
pub fn lvm2(devs: &[&LoopDev], args: &[&str]) -> Run {
    let mut cmd = Command::new("lvm");
    cmd.env("LVM_SUPPRESS_FD_WARNINGS", "1");
    cmd.arg(args[0]);
    if args[0] == "pvck" {
        // lvm2 2.03.16's pvck refuses devices given with --devices ("not in
        // devices list"); a filter restricts it to our devices instead.
        let accept: Vec<String> = devs
            .iter()
            .map(|d| format!("\"a|^{}$|\"", d.name()))
            .collect();
        let cfg = format!(
            "global{{activation=0}} backup{{backup=0 archive=0}} devices{{obtain_device_list_from_udev=0 use_devicesfile=0 global_filter=[{},\"r|.*|\"]}}",
            accept.join(",")
        );
        cmd.args(["--config", &cfg]);
    } else {
        cmd.args(["--config", LVM2_CONFIG, "--devices", &devices_arg(devs)]);
    }
    cmd.args(&args[1..]);
    Run::from(cmd.output().expect("real lvm2 is installed"))
}

/// This project's `lvm`, restricted to `devs`, with an empty lvm.conf dir.
pub fn ours(devs: &[&LoopDev], args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvm"));
    cmd.arg(args[0]);
    if !devs.is_empty() {
        cmd.args(["--devices", &devices_arg(devs)]);
    }
    cmd.args(&args[1..]);
    cmd.env(
        "LVM_SYSTEM_DIR",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/etc"),
    );
    Run::from(cmd.output().expect("our lvm binary"))
}

impl LoopDev {
    /// A loop device over a copy of an existing image file.
    pub fn from_image_copy(src: &Path) -> LoopDev {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disk.img");
        let st = Command::new("cp")
            .args(["--sparse=always"])
            .arg(src)
            .arg(&image)
            .status()
            .unwrap();
        assert!(st.success());
        Self::attach(dir, image)
    }
}
