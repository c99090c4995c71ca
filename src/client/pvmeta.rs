//! What a scanned PV tells lvmetad: [`PvMeta`] and the VG metadata found in
//! its metadata areas, plus the device numbers the protocol keys PVs by.
//!
//! Device numbers are lvm2's `dev_t` (glibc `makedev`). Regular image
//! files (accepted with `--devices`, used by tests) have none; they get a
//! synthetic number with bit 62 set, made of the file's `st_dev` and
//! `st_ino`, which no kernel device number reaches (majors have 12 bits
//! and minors 20, so real numbers stay below 2^44) and which stays a
//! positive integer on the wire.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::device::scan::PvScan;
use crate::format::config::Section;
use crate::model::parse_vg_text;
use crate::protocol::PvMeta;

/// Marks a synthetic device number of a regular file.
pub const FILE_DEVNO_FLAG: u64 = 1 << 62;

/// glibc's `makedev`.
pub fn makedev(major: u32, minor: u32) -> u64 {
    libc::makedev(major, minor)
}

/// The (major, minor) of a kernel device number; None for a synthetic one.
pub fn split_devno(dev: u64) -> Option<(u32, u32)> {
    if dev & FILE_DEVNO_FLAG != 0 {
        None
    } else {
        Some((libc::major(dev), libc::minor(dev)))
    }
}

/// The synthetic device number of a regular file.
pub fn file_devno(meta: &std::fs::Metadata) -> u64 {
    FILE_DEVNO_FLAG | ((meta.dev() & 0x3fff) << 48) | (meta.ino() & ((1 << 48) - 1))
}

/// The device number lvmetad knows `path` by: the block device's, or the
/// synthetic one of an image file. None when the path cannot be stat'ed.
pub fn devno_of_path(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    use std::os::unix::fs::FileTypeExt;
    if meta.file_type().is_block_device() {
        let rdev = meta.rdev();
        Some(makedev(libc::major(rdev), libc::minor(rdev)))
    } else if meta.is_file() {
        Some(file_devno(&meta))
    } else {
        None
    }
}

/// The device number of a scanned PV.
pub fn devno_of(pv: &PvScan) -> u64 {
    match pv.devno {
        Some((major, minor)) => makedev(major, minor),
        None => devno_of_path(&pv.path).unwrap_or(FILE_DEVNO_FLAG),
    }
}

/// The /dev path of a kernel device number, from sysfs
/// (`/sys/dev/block/M:m/uevent` DEVNAME), else `/dev/block/M:m` if it
/// exists.
pub fn path_of_devno(major: u32, minor: u32) -> Option<PathBuf> {
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).ok();
    if let Some(name) = uevent
        .as_deref()
        .and_then(|u| u.lines().find_map(|l| l.strip_prefix("DEVNAME=")))
    {
        return Some(Path::new("/dev").join(name.trim()));
    }
    let p = PathBuf::from(format!("/dev/block/{major}:{minor}"));
    p.exists().then_some(p)
}

/// The label part of pv_found for a scanned PV.
pub fn pv_meta(pv: &PvScan) -> PvMeta {
    let ignored = |i: usize| pv.mdas.get(i).is_some_and(|m| m.ignored());
    PvMeta {
        id: pv.uuid(),
        device: devno_of(pv),
        device_name: pv.path.display().to_string(),
        dev_size: pv.dev_size,
        label_sector: pv.label.sector,
        pe_start: pv.label.pe_start().unwrap_or(0),
        mdas: pv
            .label
            .metadata_areas
            .iter()
            .enumerate()
            .map(|(i, l)| (l.offset, l.size, ignored(i)))
            .collect(),
        ext_version: pv.label.ext.as_ref().map_or(0, |e| e.version),
        ext_flags: pv.label.ext_flags(),
    }
}

/// The VG metadata a PV carries, as pv_found sends it: the VG name and its
/// section (the model's normal form, the same value `vg_update` sends),
/// from the newest readable copy in the PV's metadata areas. `Ok(None)`
/// for a PV without metadata (orphan, no or ignored areas); `Err` when
/// the text is there but does not parse.
pub fn vg_metadata(pv: &PvScan) -> Result<Option<(String, Section)>, String> {
    let mut best: Option<crate::model::Vg> = None;
    let mut error = None;
    for m in &pv.mdas {
        let Some(Ok(text)) = &m.text else { continue };
        match parse_vg_text(text) {
            Ok((vg, _)) => {
                if best.as_ref().is_none_or(|b| vg.seqno > b.seqno) {
                    best = Some(vg);
                }
            }
            Err(e) => {
                error = Some(format!(
                    "{}: metadata area at offset {}: {e}",
                    pv.path.display(),
                    m.locn.offset
                ))
            }
        }
    }
    match (best, error) {
        (Some(vg), _) => Ok(Some((vg.name.clone(), vg.to_config()))),
        (None, Some(e)) => Err(e),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnos_round_trip_and_files_are_marked() {
        let d = makedev(8, 16);
        assert_eq!(d, 8 << 8 | 16);
        assert_eq!(split_devno(d), Some((8, 16)));
        let big = makedev(259, 1 << 19);
        assert_eq!(split_devno(big), Some((259, 1 << 19)));
        assert!(big < 1 << 44);

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("img");
        std::fs::write(&f, b"x").unwrap();
        let n = devno_of_path(&f).unwrap();
        assert_eq!(split_devno(n), None);
        assert!(n < 1 << 63, "stays a positive i64 on the wire");
        let g = dir.path().join("img2");
        std::fs::write(&g, b"x").unwrap();
        assert_ne!(n, devno_of_path(&g).unwrap());
        assert_eq!(devno_of_path(&dir.path().join("missing")), None);
    }
}
