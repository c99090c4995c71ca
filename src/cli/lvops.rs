//! Pieces lvcreate and lvextend share: turning allocated chunks into
//! segments, merging adjacent segments, PV arguments → allocation
//! candidates, lvm2's long size format, zeroing the start of a new LV.

use super::args::PvArg;
use super::vgwrite::VgForWrite;
use super::CmdError;
use crate::alloc::{Candidate, Chunk};
use crate::device::{BlockIo, Device};
use crate::model::{Area, SegType, Segment, Vg};

/// lvm2's long size format: "8.00 MiB", "1.50 GiB".
pub use crate::raid::display_size_bytes as display_size;

/// lvm2's `yes_no_prompt`: y/n from the terminal; without one the answer
/// is no (use -y), after printing the question and "[n]" behind `prefix`.
pub fn confirm(question: &str, prefix: &str) -> bool {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("{prefix}{question}[n]");
        return false;
    }
    loop {
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin.lock().read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return true,
            "n" | "no" => return false,
            _ => {}
        }
    }
}

/// "8.00 MiB (2 extents)".
pub fn size_and_extents(vg: &Vg, extents: u64) -> String {
    format!(
        "{} ({extents} extents)",
        display_size(extents * vg.extent_size * 512)
    )
}

/// Striped segments from the allocator's chunks (chunk i of every area
/// forms segment i), starting at logical extent `le`.
pub fn striped_segments(
    chunks: &[Vec<Chunk>],
    mut le: u64,
    stripe_size: Option<u64>,
) -> Vec<Segment> {
    let n = chunks.len() as u64;
    let mut segs = Vec::new();
    for i in 0..chunks[0].len() {
        let len = chunks[0][i].len;
        segs.push(Segment {
            start_extent: le,
            extent_count: len * n,
            segtype: SegType::Striped,
            tags: vec![],
            areas: chunks
                .iter()
                .map(|a| Area::Pv {
                    pv: a[i].pv.clone(),
                    pe: a[i].pe,
                })
                .collect(),
            stripe_size: if n > 1 { stripe_size } else { None },
            raid: None,
            extra: vec![],
        });
        le += len * n;
    }
    segs
}

/// Merge each segment into the previous one when every area continues
/// exactly where the previous one ended (lvm2's lv_merge_segments).
pub fn merge_segments(segs: &mut Vec<Segment>) {
    let mut out: Vec<Segment> = Vec::new();
    for s in segs.drain(..) {
        if let Some(prev) = out.last_mut() {
            let n = prev.areas.len() as u64;
            let plen = prev.extent_count / n.max(1);
            let contiguous = prev.segtype == SegType::Striped
                && s.segtype == SegType::Striped
                && prev.areas.len() == s.areas.len()
                && prev.stripe_size == s.stripe_size
                && prev.tags == s.tags
                && prev.extra.is_empty()
                && s.extra.is_empty()
                && prev.areas.iter().zip(&s.areas).all(|(a, b)| match (a, b) {
                    (Area::Pv { pv: p1, pe: e1 }, Area::Pv { pv: p2, pe: e2 }) => {
                        p1 == p2 && e1 + plen == *e2
                    }
                    _ => false,
                });
            if contiguous {
                prev.extent_count += s.extent_count;
                continue;
            }
        }
        out.push(s);
    }
    *segs = out;
}

/// PV arguments (with PE ranges) → allocation candidates of the VG.
pub fn candidates(w: &VgForWrite, pvs: &[PvArg]) -> Result<Option<Vec<Candidate>>, CmdError> {
    if pvs.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for a in pvs {
        let canon = std::fs::canonicalize(&a.path).unwrap_or_else(|_| a.path.clone());
        let m = w
            .members
            .iter()
            .find(|m| {
                m.pv.path == a.path
                    || std::fs::canonicalize(&m.pv.path).ok().as_ref() == Some(&canon)
            })
            .ok_or_else(|| {
                CmdError::failed(format!(
                    "Physical Volume \"{}\" not found in Volume Group \"{}\".",
                    a.path.display(),
                    w.vg.name
                ))
            })?;
        out.push(Candidate {
            pv: m.key.clone(),
            ranges: a.ranges.clone(),
        });
    }
    Ok(Some(out))
}

/// Zero the first 4 KiB of a new linear/striped LV directly on its PV
/// (lvm2 does it through an activated LV; the mapping of the first
/// stripe is known, so no device-mapper is needed).
pub fn zero_start(w: &VgForWrite, seg: &Segment) -> Result<(), CmdError> {
    let Some(Area::Pv { pv, pe }) = seg.areas.first() else {
        return Ok(());
    };
    let entry =
        w.vg.pvs
            .iter()
            .find(|p| &p.key == pv)
            .expect("segment PV in VG");
    let path = w.path_of(pv).expect("PV of the VG has a device");
    let extent = w.vg.extent_size * 512;
    let first_area = seg.extent_count / seg.areas.len().max(1) as u64 * extent;
    // With stripes the first stripe chunk holds the LV's first bytes.
    let len = 4096u64
        .min(first_area)
        .min(seg.stripe_size.map_or(u64::MAX, |s| s * 512));
    let mut dev = Device::open(path, true)?;
    dev.write_at(entry.pe_start * 512 + pe * extent, &vec![0u8; len as usize])?;
    dev.flush()?;
    Ok(())
}

/// The host name lvm2 records as creation_host.
pub fn hostname() -> String {
    crate::model::text::nodename()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_like_lvm2() {
        assert_eq!(display_size(8 << 20), "8.00 MiB");
        assert_eq!(display_size(64 << 10), "64.00 KiB");
        assert_eq!(display_size(3 << 29), "1.50 GiB");
        assert_eq!(display_size(512), "512 B");
    }

    #[test]
    fn adjacent_segments_merge() {
        let c = |pv: &str, pe, len| Chunk {
            pv: pv.into(),
            pe,
            len,
        };
        let mut segs = striped_segments(&[vec![c("pv0", 0, 2), c("pv0", 5, 1)]], 0, None);
        segs.extend(striped_segments(&[vec![c("pv0", 6, 3)]], 3, None));
        merge_segments(&mut segs);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[1].start_extent, segs[1].extent_count), (2, 4));
    }
}
