//! Crash consistency of the commit protocol: cut the power after every
//! single write of a VG commit, then check that this project and real
//! lvm2 both read the VG as either the old or the new version.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{lvm2, ours, require_root, write_vg_text, LoopDev};
use lvmetad::device::scan::scan_devices;
use lvmetad::device::{BlockIo, Device, DeviceError};
use lvmetad::model::{vg_to_text, TextHeader, TextStyle};

/// A device that stops writing after a shared budget of writes is spent:
/// the write that exceeds it fails and nothing after it reaches the disk.
struct PowerCut<'a> {
    inner: Device,
    budget: &'a AtomicUsize,
}

impl BlockIo for PowerCut<'_> {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        self.inner.read_at(offset, len)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        if self.budget.load(Ordering::SeqCst) == 0 {
            return Err(DeviceError::Write {
                path: self.inner.path().to_path_buf(),
                offset,
                len: data.len(),
                source: std::io::Error::other("power cut"),
            });
        }
        self.budget.fetch_sub(1, Ordering::SeqCst);
        self.inner.write_at(offset, data)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.inner.flush()
    }
}

fn seqno_read_by_us(images: &[PathBuf]) -> u64 {
    let scan = scan_devices(images);
    // Between the commit rounds some areas hold the new copy and some the
    // old: that is reported (and repaired by the next write), nothing else.
    assert!(
        scan.warnings
            .iter()
            .all(|w| w.contains("has older metadata")),
        "{:?}",
        scan.warnings
    );
    assert_eq!(scan.vgs.len(), 1);
    scan.vgs[0].vg.seqno
}

/// Make a VG with one LV on two image files (one PV with two mdas).
fn setup(dir: &Path) -> Vec<PathBuf> {
    let imgs: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("d{i}.img"))).collect();
    for p in &imgs {
        std::fs::File::create(p).unwrap().set_len(32 << 20).unwrap();
    }
    let list = format!("{},{}", imgs[0].display(), imgs[1].display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(args)
            .args(["--devices", &list])
            .env(
                "LVM_SYSTEM_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/etc"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let a = imgs[0].display().to_string();
    let b = imgs[1].display().to_string();
    run(&["pvcreate", &a]);
    run(&["pvcreate", "--metadatacopies", "2", &b]);
    run(&["vgcreate", "vgcrash", &a, &b]);
    run(&["lvcreate", "-n", "first", "-L", "4m", "vgcrash"]);
    imgs
}

/// Restore the pristine images, then commit the VG with its first LV
/// renamed, each device failing its writes once its budget is spent.
fn cut_commit(
    imgs: &[PathBuf],
    pristine: &[Vec<u8>],
    new_name: &str,
    budgets: [&AtomicUsize; 2],
) -> Result<(), String> {
    for (p, data) in imgs.iter().zip(pristine) {
        std::fs::write(p, data).unwrap();
    }
    let scan = scan_devices(imgs);
    let mut vg = scan.vgs[0].vg.clone();
    vg.lvs[0].name = new_name.into();
    vg.seqno += 1;
    let text = vg_to_text(&vg, &TextHeader::new("crash test", 0), TextStyle::Disk);
    let mut devs: Vec<PowerCut> = imgs
        .iter()
        .zip(budgets)
        .map(|(p, budget)| PowerCut {
            inner: Device::open(p, true).unwrap(),
            budget,
        })
        .collect();
    write_vg_text(&scan, imgs, &mut devs, "vgcrash", &text).map_err(|e| e.to_string())
}

#[test]
fn every_write_boundary_leaves_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = setup(dir.path());
    let pristine: Vec<Vec<u8>> = imgs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let old = seqno_read_by_us(&imgs);

    let mut n = 0;
    loop {
        let budget = AtomicUsize::new(n);
        let done = cut_commit(&imgs, &pristine, "renamed", [&budget, &budget]).is_ok();
        let seen = seqno_read_by_us(&imgs);
        assert!(
            seen == old || seen == old + 1,
            "after {n} writes we read seqno {seen}"
        );
        if done {
            assert_eq!(seen, old + 1);
            break;
        }
        // Real lvm2 agrees, on loop devices over the same images.
        if require_root() {
            let loops: Vec<LoopDev> = imgs.iter().map(|p| LoopDev::from_image_copy(p)).collect();
            let refs: Vec<&LoopDev> = loops.iter().collect();
            let r = lvm2(&refs, &["vgs", "--noheadings", "-o", "vg_seqno", "vgcrash"]).ok();
            let theirs: u64 = r.stdout.trim().parse().unwrap();
            assert!(theirs == old || theirs == old + 1, "lvm2 read {theirs}");
            lvm2(&refs, &["vgck", "vgcrash"]).ok();
            let mine = ours(&refs, &["vgs", "--noheadings", "-o", "vg_seqno", "vgcrash"]).ok();
            assert_eq!(mine.stdout.trim(), r.stdout.trim());
        }
        n += 1;
        assert!(n < 100, "the commit never completes");
    }
    // the text, precommit and commit rounds over 3 areas: at least 9 writes.
    assert!(n >= 8, "only {n} write boundaries were tested");
}

/// One disk vanishes in the middle of a commit (every later write to it
/// fails): the error names that disk, the VG still reads as old or new, and
/// once the disk is back the next write brings every area up to date.
#[test]
fn a_disk_vanishing_mid_commit_is_named_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = setup(dir.path());
    let pristine: Vec<Vec<u8>> = imgs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let old = seqno_read_by_us(&imgs);
    for k in 0..4 {
        let plenty = AtomicUsize::new(usize::MAX);
        let vanishing = AtomicUsize::new(k);
        let err = cut_commit(
            &imgs,
            &pristine,
            &format!("renamed{k}"),
            [&plenty, &vanishing],
        )
        .unwrap_err();
        assert!(err.contains(&imgs[1].display().to_string()), "{err}");
        let seen = seqno_read_by_us(&imgs);
        assert!(seen == old || seen == old + 1, "k={k}: seqno {seen}");
        // The disk is back: one more write through the CLI repairs it.
        let list = format!("{},{}", imgs[0].display(), imgs[1].display());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args([
                "lvcreate",
                "-n",
                "after",
                "-L",
                "4m",
                "vgcrash",
                "--devices",
                &list,
            ])
            .env(
                "LVM_SYSTEM_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/etc"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let scan = scan_devices(&imgs);
        assert!(scan.warnings.is_empty(), "k={k}: {:?}", scan.warnings);
        assert_eq!(scan.vgs[0].vg.seqno, seen + 1);
    }
}
