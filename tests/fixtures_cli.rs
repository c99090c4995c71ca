//! The lvm2-written fixture disks, read by this project's `lvm` binary the
//! way an administrator would: every state's `lvs` and `pvs` JSON equals
//! lvm2's own, its vgcfgbackup equals lvm2's, and a write through this
//! project loses nothing of what lvm2 wrote. Image files are used as
//! devices, so no root is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

const LVS: &str =
    "lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,seg_pe_ranges,lv_size";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lvm2")
}

/// Every state folder with an lvs JSON, and the VG it shows.
fn states() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for group in std::fs::read_dir(fixtures()).unwrap().flatten() {
        if !group.path().is_dir() {
            continue;
        }
        for state in std::fs::read_dir(group.path()).unwrap().flatten() {
            for f in std::fs::read_dir(state.path()).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().to_string();
                if let Some(vg) = name
                    .strip_prefix("lvs.")
                    .and_then(|n| n.strip_suffix(".json"))
                {
                    out.push((state.path(), vg.to_string()));
                }
            }
        }
    }
    out.sort();
    out
}

struct Disks {
    _dir: tempfile::TempDir,
    /// (image path, the /dev/loopN name lvm2 saw it as)
    images: Vec<(PathBuf, String)>,
    etc: PathBuf,
}

fn unpack(state: &Path) -> Disks {
    let dir = tempfile::tempdir().unwrap();
    let mut images = Vec::new();
    for i in 0..16 {
        let zst = state.join(format!("p{i}.img.zst"));
        if !zst.exists() {
            continue;
        }
        let img = dir.path().join(format!("p{i}.img"));
        let st = Command::new("zstd")
            .args(["-q", "-d", "--sparse", "-o"])
            .arg(&img)
            .arg(&zst)
            .status()
            .expect("zstd");
        assert!(st.success());
        images.push((img, format!("/dev/loop{i}")));
    }
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("lvm.conf"), "global { activation = 0 }\n").unwrap();
    Disks {
        _dir: dir,
        images,
        etc,
    }
}

impl Disks {
    fn lvm(&self, args: &[&str]) -> String {
        let list: Vec<String> = self
            .images
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(args)
            .args(["--devices", &list.join(",")])
            .env("LVM_SYSTEM_DIR", &self.etc)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        // Our devices are image files; lvm2's were loop devices.
        for (p, name) in &self.images {
            text = text.replace(&p.display().to_string(), name);
        }
        text
    }
}

/// The fakedm states show LVs active and in sync; here device-mapper is
/// not asked (activation = 0), as for the noact states: compare everything
/// but the state, open and health characters of lv_attr, and whether a
/// RAID image is known to be in sync (`i` vs `I`).
fn normalise(mut v: serde_json::Value) -> serde_json::Value {
    for lv in v["report"][0]["lv"].as_array_mut().unwrap() {
        let attr: Vec<char> = lv["lv_attr"].as_str().unwrap().chars().collect();
        let masked: String = attr
            .iter()
            .enumerate()
            .map(|(i, c)| match (i, c) {
                (4 | 5 | 8, _) => '?',
                (0, 'I') => 'i',
                _ => *c,
            })
            .collect();
        lv["lv_attr"] = masked.into();
    }
    v
}

#[test]
fn every_fixture_state_reports_like_lvm2() {
    let states = states();
    assert!(states.len() >= 30, "fixtures missing: {}", states.len());
    for (state, vg) in states {
        let disks = unpack(&state);
        let want: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(state.join(format!("lvs.{vg}.json"))).unwrap(),
        )
        .unwrap();
        let got = disks.lvm(&[
            "lvs",
            "-a",
            "-o",
            LVS,
            "--units",
            "b",
            "--reportformat",
            "json",
            &vg,
        ]);
        let got: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(normalise(got), normalise(want), "{}", state.display());

        let pvs_file = state.join("pvs.json");
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(pvs_file).unwrap()).unwrap();
        let got = disks.lvm(&[
            "pvs",
            "-o+pv_uuid,pe_start,pv_mda_count,pv_mda_size",
            "--units",
            "b",
            "--reportformat",
            "json",
        ]);
        let got: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(got, want, "{}", state.display());
    }
}

/// The parts of a backup that say who wrote it when.
fn body(backup: &str) -> String {
    backup
        .lines()
        .filter(|l| {
            !(l.starts_with("# Generated by")
                || l.starts_with("description =")
                || l.starts_with("creation_host =")
                || l.starts_with("creation_time ="))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn backups_equal_lvm2s_and_a_rewrite_loses_nothing() {
    for (state, vg) in states() {
        let backup_file = state.join(format!("vgcfgbackup.{vg}.vg"));
        let Ok(theirs) = std::fs::read_to_string(&backup_file) else {
            continue;
        };
        let disks = unpack(&state);
        let out = disks.etc.join("backup.vg");
        disks.lvm(&["vgcfgbackup", "-f", out.to_str().unwrap(), &vg]);
        let ours = std::fs::read_to_string(&out).unwrap();
        assert_eq!(body(&ours), body(&theirs), "{}", state.display());

        // A write through this project (create and remove an LV) keeps
        // every byte of lvm2's metadata but the seqno.
        disks.lvm(&["lvcreate", "-n", "probe", "-l", "1", &vg]);
        disks.lvm(&["lvremove", "-y", &format!("{vg}/probe")]);
        disks.lvm(&["vgcfgbackup", "-f", out.to_str().unwrap(), &vg]);
        let after = std::fs::read_to_string(&out).unwrap();
        let seqno = |t: &str| {
            t.lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("seqno = ")
                        .map(|s| s.parse::<u64>().unwrap())
                })
                .unwrap()
        };
        assert_eq!(seqno(&after), seqno(&theirs) + 2);
        let strip = |t: &str| {
            body(t)
                .lines()
                .filter(|l| !l.trim().starts_with("seqno ="))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&after), strip(&theirs), "{}", state.display());
    }
}
