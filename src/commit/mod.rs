//! The metadata write protocol.
//!
//! A VG write, as lvm2 2.03 does it, in three rounds over every in-use
//! metadata area of every PV of the VG:
//!
//! 1. write the new text into free space of the circular buffer (never over
//!    the committed copy), flush;
//! 2. write each mda header with the new text in the precommitted slot,
//!    flush;
//! 3. write each mda header with the new text in the committed slot (and
//!    the precommitted slot cleared), flush.
//!
//! A header is one sector, written in one go, so a crash at any point leaves
//! every area readable as the old VG (committed slot untouched) or the new
//! one. Every step is planned before the first byte is written, so a plan
//! that cannot work (metadata too large for an area) changes nothing.
//!
//! All writes go through [`BlockIo`], so the tests can cut the power after
//! any write (see `tests/commit_crash.rs`).

pub mod lock;

use thiserror::Error;

use crate::device::{BlockIo, DeviceError};
use crate::format::label::{encode_label, DiskLocn, LabelError, PvLabel};
use crate::format::mda::{
    decode_mda_header, encode_mda_header, plan_text_write, MdaError, MdaHeader, TextWritePlan,
    MDA_HEADER_SIZE,
};

#[derive(Debug, Error)]
pub enum CommitError {
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("{path}: metadata area at offset {offset}: {source}")]
    Mda {
        path: String,
        offset: u64,
        source: MdaError,
    },
    #[error("{path}: {source}")]
    Label { path: String, source: LabelError },
    #[error("volume group {vg}: no metadata area is in use on any of its PVs, the metadata cannot be stored")]
    NoMetadataAreas { vg: String },
}

/// One PV to write: its device, the metadata areas from its label, and
/// (optionally) a new label to write first.
pub struct PvWrite<'a> {
    /// `Send` so the flushes of many PVs can run in parallel.
    pub dev: &'a mut (dyn BlockIo + Send),
    pub mdas: Vec<DiskLocn>,
    /// Whether the VG stores metadata in this PV's areas (`false` for PVs
    /// whose areas lvm2 marks ignored with `--vgmetadatacopies`).
    pub in_use: bool,
    /// A label sector to write before the metadata (new PV in the VG:
    /// PV_EXT_USED set), with fresh empty mda headers.
    pub new_label: Option<PvLabel>,
}

/// The planned writes for one metadata area.
struct AreaPlan {
    dev: usize,
    header: MdaHeader,
    plan: Option<TextWritePlan>,
}

fn mda_err(dev: &dyn BlockIo, offset: u64) -> impl Fn(MdaError) -> CommitError + '_ {
    move |source| CommitError::Mda {
        path: dev.path().display().to_string(),
        offset,
        source,
    }
}

fn write_header(dev: &mut dyn BlockIo, h: &MdaHeader) -> Result<(), CommitError> {
    dev.write_at(h.start, &encode_mda_header(h))?;
    Ok(())
}

/// Write a new empty metadata-area header (pvcreate, or a PV joining a VG
/// with areas that were never written).
pub fn init_mda(dev: &mut dyn BlockIo, locn: DiskLocn, ignored: bool) -> Result<(), CommitError> {
    write_header(dev, &MdaHeader::new_empty(locn.offset, locn.size, ignored))
}

/// Write a label sector where the label says.
pub fn write_label(dev: &mut dyn BlockIo, label: &PvLabel) -> Result<(), CommitError> {
    let sector = encode_label(label).map_err(|source| CommitError::Label {
        path: dev.path().display().to_string(),
        source,
    })?;
    dev.write_at(label.sector * 512, &sector)?;
    Ok(())
}

/// Store `text` (the metadata text, without NUL) as the new committed
/// metadata in every in-use area of `pvs`.
pub fn write_vg(vg_name: &str, pvs: &mut [PvWrite<'_>], text: &str) -> Result<(), CommitError> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0); // lvm2 stores the text with its terminating NUL

    // New PVs get their label and empty headers first: a crash after this
    // leaves a PV marked used whose VG does not list it yet, which the
    // next pvcreate/vgextend reports rather than silently reuses.
    for pv in pvs.iter_mut() {
        if let Some(label) = pv.new_label.take() {
            for locn in &pv.mdas {
                init_mda(pv.dev, *locn, !pv.in_use)?;
            }
            write_label(pv.dev, &label)?;
            pv.dev.flush()?;
        }
    }

    // Plan everything before writing anything.
    let mut plans = Vec::new();
    for (i, pv) in pvs.iter().enumerate() {
        for locn in &pv.mdas {
            let raw = pv.dev.read_at(locn.offset, MDA_HEADER_SIZE as usize)?;
            let header =
                decode_mda_header(&raw, locn.offset).map_err(mda_err(pv.dev, locn.offset))?;
            let plan = if pv.in_use {
                Some(plan_text_write(&header, &bytes).map_err(mda_err(pv.dev, locn.offset))?)
            } else {
                None
            };
            plans.push(AreaPlan {
                dev: i,
                header,
                plan,
            });
        }
    }
    if !plans.iter().any(|p| p.plan.is_some()) {
        return Err(CommitError::NoMetadataAreas {
            vg: vg_name.to_string(),
        });
    }

    // 1. the text
    for p in &plans {
        if let Some(plan) = &p.plan {
            for w in &plan.writes {
                pvs[p.dev]
                    .dev
                    .write_at(p.header.start + w.offset, &w.data)?;
            }
        }
    }
    flush_all(pvs)?;
    // 2. precommit
    for p in &plans {
        if let Some(plan) = &p.plan {
            write_header(pvs[p.dev].dev, &p.header.precommit(&plan.new_locn, false))?;
        }
    }
    flush_all(pvs)?;
    // 3. commit. Areas the VG ignores (--vgmetadatacopies) are left
    // untouched, as lvm2 leaves them.
    for p in &plans {
        if let Some(plan) = &p.plan {
            write_header(pvs[p.dev].dev, &p.header.commit(&plan.new_locn, false))?;
        }
    }
    flush_all(pvs)
}

/// Flush every PV, in parallel: each flush waits for its own device only,
/// and a VG on hundreds of PVs would otherwise wait for them one by one.
/// The next round starts only when every device has finished.
fn flush_all(pvs: &mut [PvWrite<'_>]) -> Result<(), CommitError> {
    const THREADS: usize = 16;
    let per = pvs.len().div_ceil(THREADS).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = pvs
            .chunks_mut(per)
            .map(|chunk| {
                s.spawn(move || {
                    for pv in chunk.iter_mut() {
                        pv.dev.flush()?;
                    }
                    Ok::<(), CommitError>(())
                })
            })
            .collect();
        // The scope joins any thread left when an error returns early.
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("flush thread panicked"))
    })
}

/// Remove a VG's metadata from a PV's areas (vgremove, vgreduce): both
/// slots cleared, so the PV reads as an orphan; the label's "used" flag is
/// cleared too.
pub fn clear_vg(pv: &mut PvWrite<'_>, label: &PvLabel) -> Result<(), CommitError> {
    for locn in &pv.mdas {
        let raw = pv.dev.read_at(locn.offset, MDA_HEADER_SIZE as usize)?;
        let h = match decode_mda_header(&raw, locn.offset) {
            Ok(h) => h.removed(false),
            // An unreadable header is rewritten empty: the PV is being
            // released, its old metadata is not wanted.
            Err(_) => MdaHeader::new_empty(locn.offset, locn.size, false),
        };
        write_header(pv.dev, &h)?;
    }
    pv.dev.flush()?;
    write_label(pv.dev, label)?;
    pv.dev.flush()?;
    Ok(())
}
