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

// ---- RAID test helpers (raid_*.rs): metadata shape, lvs reports, vgck ----

/// The loop device paths of `devs`, in order (`@dN` / `dN` is index N).
pub fn names(devs: &[&LoopDev]) -> Vec<String> {
    devs.iter().map(|d| d.name()).collect()
}

/// Our metadata of `vg`, through our own vgcfgbackup.
pub fn our_vg(devs: &[&LoopDev], vg: &str) -> lvmetad::model::Vg {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("backup.vg");
    ours(devs, &["vgcfgbackup", "-f", f.to_str().unwrap(), vg]).ok();
    lvmetad::model::parse_vg_text(&std::fs::read_to_string(f).unwrap())
        .unwrap()
        .0
}

/// The LVs of `vg` as lvm2 prints them (visible first), without what
/// differs between any two writers (ids, creation times and hosts) and
/// without the status flags in `drop_status`.
pub fn lv_shape(vg: &lvmetad::model::Vg, drop_status: &[&str]) -> Vec<String> {
    let mut lvs: Vec<_> = vg.lvs.iter().filter(|l| l.is_visible()).collect();
    lvs.extend(vg.lvs.iter().filter(|l| !l.is_visible()));
    lvs.into_iter()
        .map(|l| {
            let mut l = l.clone();
            l.id.clear();
            l.creation_time = None;
            l.creation_host = None;
            l.status.retain(|s| !drop_status.contains(&s.as_str()));
            format!("{l:?}")
        })
        .collect()
}

/// Our loop device names → the golden fixtures' `@dN` (disk index).
pub fn to_placeholders(s: &str, names: &[String]) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"/dev/loop\d+").unwrap());
    re.replace_all(s, |c: &regex::Captures| {
        match names.iter().position(|n| *n == c[0]) {
            Some(i) => format!("@d{i}"),
            None => c[0].to_string(),
        }
    })
    .into_owned()
}

/// The golden fixtures' `@dN` → our loop device N.
pub fn from_placeholders(s: &str, names: &[String]) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"@d(\d+)").unwrap());
    re.replace_all(s, |c: &regex::Captures| {
        names[c[1].parse::<usize>().unwrap()].clone()
    })
    .into_owned()
}

/// lv_attr without what comes from the kernel (unknown with
/// activation=0): the 5th (state), 6th (open) and 9th (health) characters
/// become `?`; a RAID image's 1st character is `i` in sync and `I` while
/// syncing (always `I` when lvm2 cannot ask the kernel), so both become `i`.
pub fn mask_attr(attr: &str) -> String {
    attr.chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (4 | 5 | 8, _) => '?',
            (0, 'i' | 'I') => 'i',
            _ => c,
        })
        .collect()
}

/// Real lvm2's `lvs -a -o FIELDS --units b --reportformat json VG` on
/// `devs`; asserts it succeeds.
#[track_caller]
pub fn lvm2_lvs_json(devs: &[&LoopDev], fields: &str, vg: &str) -> serde_json::Value {
    let r = lvm2(
        devs,
        &[
            "lvs",
            "-a",
            "-o",
            fields,
            "--units",
            "b",
            "--reportformat",
            "json",
            vg,
        ],
    );
    assert_eq!(r.code, 0, "real lvm2 lvs {vg}: {}", r.stderr);
    r.json()
}

/// Real lvm2's `vgck` accepts our metadata of `vg`, without an internal
/// error.
#[track_caller]
pub fn lvm2_accepts(devs: &[&LoopDev], vg: &str) {
    let r = lvm2(devs, &["vgck", vg]);
    assert!(
        r.code == 0 && !r.stderr.contains("Internal error"),
        "real lvm2 vgck {vg}: {}",
        r.stderr
    );
}

/// Commit `text` of VG `vg_name` through the metadata areas `scan` found on
/// `paths`, writing through `devs` (one per path, in order).
pub fn write_vg_text<D: lvmetad::device::BlockIo + Send>(
    scan: &lvmetad::device::scan::Scan,
    paths: &[PathBuf],
    devs: &mut [D],
    vg_name: &str,
    text: &str,
) -> Result<(), lvmetad::commit::CommitError> {
    use lvmetad::commit::{write_vg, PvWrite};
    use lvmetad::device::scan::DevScan;
    let mut writes: Vec<PvWrite> = devs
        .iter_mut()
        .zip(paths)
        .map(|(d, p)| PvWrite {
            mdas: match &scan.devices[scan.device_index(p).unwrap()].1 {
                DevScan::Pv(pv) => pv.label.metadata_areas.clone(),
                _ => panic!("{} is not a PV", p.display()),
            },
            dev: d as &mut (dyn lvmetad::device::BlockIo + Send),
            in_use: true,
            new_label: None,
        })
        .collect();
    write_vg(vg_name, &mut writes, text)
}

/// Our `lvm lvconvert -y ARGS` on `devs`.
#[track_caller]
pub fn lvconvert_y(devs: &[&LoopDev], args: &[&str]) -> Run {
    let mut a = vec!["lvconvert", "-y"];
    a.extend(args);
    ours(devs, &a)
}
