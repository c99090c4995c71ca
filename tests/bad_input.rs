//! Bad input gets a clear error naming the device and what is wrong, and
//! nothing on disk changes. These tests use image files (no root needed).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

struct Disks {
    dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
}

impl Disks {
    fn new(n: usize, mib: u64) -> Disks {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..n)
            .map(|i| dir.path().join(format!("d{i}.img")))
            .collect();
        for p in &paths {
            std::fs::File::create(p)
                .unwrap()
                .set_len(mib << 20)
                .unwrap();
        }
        Disks { dir, paths }
    }

    fn p(&self, i: usize) -> String {
        self.paths[i].display().to_string()
    }

    fn lvm(&self, args: &[&str]) -> Out {
        let list = self
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let out = Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(args)
            .args(["--devices", &list])
            .env("LVM_SYSTEM_DIR", self.dir.path())
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> Out {
        let o = self.lvm(args);
        assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
        o
    }

    /// Run a command that must fail with `needle` in its message and leave
    /// every disk byte-for-byte unchanged.
    #[track_caller]
    fn refused(&self, args: &[&str], needle: &str) -> Out {
        let before: Vec<Vec<u8>> = self
            .paths
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        let o = self.lvm(args);
        assert_ne!(o.code, 0, "{args:?} should fail: {}", o.stdout);
        assert!(
            o.stderr.contains(needle),
            "{args:?}: expected \"{needle}\" in:\n{}",
            o.stderr
        );
        let after: Vec<Vec<u8>> = self
            .paths
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert!(before == after, "{args:?} changed a disk");
        o
    }

    fn patch(&self, i: usize, offset: u64, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.paths[i])
            .unwrap();
        f.write_all_at(bytes, offset).unwrap();
    }

    fn read(&self, i: usize, offset: u64, len: usize) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(&self.paths[i]).unwrap();
        let mut b = vec![0; len];
        f.read_exact_at(&mut b, offset).unwrap();
        b
    }
}

/// Where the committed text of the first mda is (offset on the device).
fn committed_text(d: &Disks, i: usize) -> (u64, u64) {
    let h = d.read(i, 4096, 512);
    let off = u64::from_le_bytes(h[40..48].try_into().unwrap());
    let size = u64::from_le_bytes(h[48..56].try_into().unwrap());
    (4096 + off, size)
}

#[test]
fn corrupt_label_crc_is_named_and_protected() {
    let d = Disks::new(2, 16);
    d.ok(&["pvcreate", &d.p(0)]);
    d.patch(0, 512 + 100, b"X"); // inside the CRC-covered pv_header
    let o = d.refused(&["pvcreate", &d.p(0)], "label");
    assert!(o.stderr.contains(&d.p(0)), "{}", o.stderr);
    assert!(o.stderr.contains("crc"), "{}", o.stderr);
    d.refused(&["vgcreate", "vgx", &d.p(0)], "label");
    // -f overwrites the damaged label deliberately.
    d.ok(&["pvcreate", "-f", &d.p(0)]);
    d.ok(&["vgcreate", "vgx", &d.p(0)]);
}

#[test]
fn torn_metadata_is_named_and_never_written_over() {
    let d = Disks::new(2, 16);
    d.ok(&["vgcreate", "vgt", &d.p(0), &d.p(1)]);
    d.ok(&["lvcreate", "-n", "a", "-L", "4m", "vgt"]);
    let (off, size) = committed_text(&d, 0);
    assert!(size > 100);
    d.patch(0, off + size / 2, b"#torn#");
    let o = d.refused(
        &["lvcreate", "-n", "b", "-L", "4m", "vgt"],
        "cannot be read fully",
    );
    assert!(
        o.stderr.contains(&d.p(0)) && o.stderr.contains("checksum"),
        "{}",
        o.stderr
    );
    let o = d.lvm(&["vgck", "vgt"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("checksum"), "{}", o.stderr);
}

#[test]
fn metadata_that_does_not_parse_is_named() {
    let d = Disks::new(1, 16);
    d.ok(&["vgcreate", "vgp", &d.p(0)]);
    // Replace the text with garbage of the same length and fix its CRC so
    // only the parser can object.
    let (off, size) = committed_text(&d, 0);
    let mut text = d.read(0, off, size as usize);
    let at = text.windows(6).position(|w| w == b"seqno ").unwrap();
    text[at..at + 6].copy_from_slice(b"seqno{");
    d.patch(0, off, &text);
    let crc = crc_lvm(&text);
    let mut h = d.read(0, 4096, 512);
    h[56..60].copy_from_slice(&crc.to_le_bytes());
    let hc = crc_lvm(&h[4..]);
    h[0..4].copy_from_slice(&hc.to_le_bytes());
    d.patch(0, 4096, &h);
    let o = d.refused(&["lvcreate", "-n", "x", "-L", "4m", "vgp"], "not found");
    assert!(
        o.stderr.contains("cannot parse the metadata"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains(&d.p(0)), "{}", o.stderr);
}

fn crc_lvm(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(!0xf597a6cfu32);
    h.update(data);
    !h.finalize()
}

#[test]
fn a_shrunk_device_is_refused() {
    let d = Disks::new(1, 32);
    d.ok(&["vgcreate", "vgs1", &d.p(0)]);
    d.ok(&["lvcreate", "-n", "a", "-L", "4m", "vgs1"]);
    std::fs::File::options()
        .write(true)
        .open(&d.paths[0])
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let o = d.refused(&["lvcreate", "-n", "b", "-L", "4m", "vgs1"], "shrunk");
    assert!(o.stderr.contains("pe_count"), "{}", o.stderr);
}

#[test]
fn duplicate_pv_ids_are_reported_and_one_is_used() {
    let d = Disks::new(2, 16);
    d.ok(&["vgcreate", "vgd", &d.p(0)]);
    std::fs::copy(&d.paths[0], &d.paths[1]).unwrap();
    let o = d.ok(&["vgck", "vgd"]);
    assert!(
        o.stderr.contains("Not using device") && o.stderr.contains(&d.p(1)),
        "{}",
        o.stderr
    );
}

#[test]
fn unknown_names_and_bad_arguments() {
    let d = Disks::new(1, 16);
    d.ok(&["vgcreate", "vgu", &d.p(0)]);
    d.refused(
        &["lvcreate", "-n", "x", "-L", "4m", "nosuch"],
        "Volume group \"nosuch\" not found",
    );
    let o = d.refused(&["lvcreate", "-n", "x", "-L", "abc", "vgu"], "Invalid size");
    assert_eq!(o.code, 3);
    // lvm2 takes -l 200%VG as "all the free space"; a malformed count is refused.
    d.refused(&["lvcreate", "-n", "x", "-l", "2x%VG", "vgu"], "extents");
    d.refused(
        &["lvcreate", "-n", "x", "-L", "4m", "--type", "bogus", "vgu"],
        "bogus",
    );
    d.refused(
        &[
            "lvcreate", "-n", "x", "-L", "4m", "-i", "2", "-I", "3k", "vgu",
        ],
        "stripe size",
    );
    d.refused(&["vgcreate", "-s", "3m", "vgv", &d.p(0)], "extent size");
    d.refused(
        &["pvcreate", "--metadatacopies", "3", &d.p(0)],
        "metadatacopies",
    );
    d.refused(&["lvextend", "-L", "+4m", "vgu"], "logical volume path");
    let o = d.refused(
        &["vgcreate", "vgw", "/nonexistent/disk"],
        "/nonexistent/disk",
    );
    assert_eq!(o.code, 5);
}

#[test]
fn symlink_multicall_works() {
    let d = Disks::new(1, 16);
    let link = d.dir.path().join("pvcreate");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lvm"), &link).unwrap();
    let out = Command::new(&link)
        .args(["--devices", &d.p(0), &d.p(0)])
        .env("LVM_SYSTEM_DIR", d.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("successfully created"));
    let _ = Path::new("unused");
}
