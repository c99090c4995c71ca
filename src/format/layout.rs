//! The pvcreate layout policy of lvm2 2.03.16, as a pure function: where the
//! metadata areas, the bootloader area and the first physical extent go on a
//! device of a given size (lvm2 `pv_create` → `_text_pv_initialise`,
//! `set_pe_align`, `_text_pv_add_metadata_area`, `_write_single_mda`,
//! `_text_write`).
//!
//! Defaults (4 KiB pages, `default_data_alignment = 1`):
//! - mda 1 at 4096, 2040 sectors (1044480 bytes) so that pe_start is 1 MiB;
//! - a second mda (`--metadatacopies 2`) at the end of the device, its start
//!   rounded down to the 1 MiB alignment (so it usually grows: 1048576 bytes
//!   at 66060288 on a 64 MiB device);
//! - `--metadatasize N`: mda 1 grows so that its end (= pe_start) lands on
//!   the alignment: 4 MiB gives 5238784 bytes and pe_start 5 MiB;
//! - pv_header: one data area {pe_start, 0}, the mdas, extension version 2
//!   with flags 0 (an orphan PV has PV_EXT_USED clear).
//!
//! Device topology (md chunk size, minimum/optimal I/O size, alignment
//! offset) can change lvm2's alignment; the caller passes what it detected as
//! `data_alignment` / `data_alignment_offset`.

use thiserror::Error;

use super::label::{
    DiskLocn, PvHeaderExt, PvLabel, DEFAULT_LABEL_SECTOR, ID_LEN, LABEL_SCAN_SECTORS,
    LABEL_SCAN_SIZE, PV_HEADER_EXTENSION_VSN,
};
use super::mda::MdaHeader;

const SECTOR: u64 = 512;
/// pe_start lands on 1 MiB by default (`FIRST_PE_AT_ONE_MB_IN_SECTORS`).
const ONE_MB_SECTORS: u64 = 2048;
/// `DEFAULT_PV_MIN_SIZE_KB` (devices/pv_min_size): 2 MiB.
pub const PV_MIN_SIZE: u64 = 2048 * 1024;
/// pvcreate zeroes this much of the start of each new metadata area.
const MDA_WIPE_SIZE: u64 = 8 * SECTOR;
/// `pvcreate --zero y` (the default) zeroes the label scan area.
const START_WIPE_SIZE: u64 = LABEL_SCAN_SIZE as u64;

/// pvcreate's options that shape the layout. Sizes are in bytes and must be
/// multiples of 512 (lvm2 takes them in sectors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvcreateOptions {
    /// `--pvmetadatacopies` / `--metadatacopies`: 0, 1 or 2.
    pub metadata_copies: u32,
    /// `--metadatasize`; `None` (or 0) for the default that puts pe_start
    /// at 1 MiB.
    pub metadata_size: Option<u64>,
    /// `--dataalignment`; `None` (or 0) for the default 1 MiB.
    pub data_alignment: Option<u64>,
    /// `--dataalignmentoffset`.
    pub data_alignment_offset: u64,
    /// `--bootloaderareasize`.
    pub bootloader_area_size: u64,
    /// `--metadataignore y`: mdas created with RAW_LOCN_IGNORED.
    pub metadata_ignore: bool,
    /// `--labelsector` (default 1).
    pub label_sector: u64,
    /// `--zero` (default y): zero the first 2048 bytes.
    pub zero: bool,
    /// The system page size lvm2 runs with (4096 on x86); it sets the mda 1
    /// offset and the default metadata size.
    pub page_size: u64,
}

impl Default for PvcreateOptions {
    fn default() -> Self {
        PvcreateOptions {
            metadata_copies: 1,
            metadata_size: None,
            data_alignment: None,
            data_alignment_offset: 0,
            bootloader_area_size: 0,
            metadata_ignore: false,
            label_sector: DEFAULT_LABEL_SECTOR,
            zero: true,
            page_size: 4096,
        }
    }
}

/// Everything pvcreate writes, in the order it writes it: zero
/// `zero_ranges`, write each mda header at its `start`, write the label
/// sector at `label.sector * 512`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLayout {
    pub label: PvLabel,
    pub mda_headers: Vec<MdaHeader>,
    /// First PE, bytes.
    pub pe_start: u64,
    /// Bootloader area, if one was asked for.
    pub bootloader_area: Option<DiskLocn>,
    /// Byte ranges pvcreate zeroes (device start, start of each mda).
    pub zero_ranges: Vec<DiskLocn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    #[error("{field} {value} is not a multiple of 512 bytes")]
    NotSectorMultiple { field: &'static str, value: u64 },
    #[error("metadatacopies {0} is not 0, 1 or 2")]
    BadMetadataCopies(u32),
    #[error("labelsector {0} is outside sectors 0-3")]
    BadLabelSector(u64),
    #[error("device size {size} is below the minimum PV size {min}")]
    TooSmall { size: u64, min: u64 },
    #[error("data alignment {alignment} + offset {offset} exceeds device size {size}")]
    AlignmentExceedsDevice {
        alignment: u64,
        offset: u64,
        size: u64,
    },
    #[error("data alignment {alignment} is less than data alignment offset {offset}")]
    AlignmentBelowOffset { alignment: u64, offset: u64 },
    #[error("bootloader area with data-aligned start exceeds device size {size}")]
    BootloaderExceedsDevice { size: u64 },
    #[error("not enough space for metadata area {index}")]
    NoSpaceForMda { index: u32 },
    #[error("metadata area {index} size {size} is below the minimum {min}")]
    MdaTooSmall { index: u32, size: u64, min: u64 },
}

fn sectors(field: &'static str, bytes: u64) -> Result<u64, LayoutError> {
    if !bytes.is_multiple_of(SECTOR) {
        return Err(LayoutError::NotSectorMultiple {
            field,
            value: bytes,
        });
    }
    Ok(bytes / SECTOR)
}

/// lvm2's `get_default_pvmetadatasize_sectors`: 1 MiB minus the page-sized
/// gap before mda 1, so pe_start is 1 MiB.
pub fn default_metadata_size(page_size: u64) -> u64 {
    SECTOR
        * match page_size {
            4096 => 2040,
            8192 => 2032,
            _ => 1920,
        }
}

/// The PV state the lvm2 functions thread through (sectors, as in lvm2).
struct Pv {
    size: u64,
    pe_start: u64,
    pe_align: u64,
    pe_align_offset: u64,
    ba_start: u64,
    ba_size: u64,
}

/// Computes the layout pvcreate gives a device of `device_size` bytes.
pub fn pvcreate_layout(
    device_size: u64,
    pv_uuid: [u8; ID_LEN],
    opts: &PvcreateOptions,
) -> Result<PvLayout, LayoutError> {
    if opts.metadata_copies > 2 {
        return Err(LayoutError::BadMetadataCopies(opts.metadata_copies));
    }
    if opts.label_sector >= LABEL_SCAN_SECTORS {
        return Err(LayoutError::BadLabelSector(opts.label_sector));
    }
    // dev_get_size: whole sectors only.
    let size = device_size / SECTOR;
    if size * SECTOR < PV_MIN_SIZE {
        return Err(LayoutError::TooSmall {
            size: device_size,
            min: PV_MIN_SIZE,
        });
    }
    let mda_size = match opts.metadata_size {
        Some(b) if b != 0 => sectors("metadatasize", b)?,
        _ => default_metadata_size(opts.page_size) / SECTOR,
    };
    let data_alignment = sectors("dataalignment", opts.data_alignment.unwrap_or(0))?;
    let data_alignment_offset = sectors("dataalignmentoffset", opts.data_alignment_offset)?;
    let ba_request = sectors("bootloaderareasize", opts.bootloader_area_size)?;

    // pv_create
    if size < data_alignment + data_alignment_offset {
        return Err(LayoutError::AlignmentExceedsDevice {
            alignment: data_alignment * SECTOR,
            offset: data_alignment_offset * SECTOR,
            size: device_size,
        });
    }

    // _text_pv_initialise / set_pe_align: the requested alignment, else
    // 1 MiB (never less than a page).
    let pe_align = if data_alignment != 0 {
        data_alignment
    } else {
        ONE_MB_SECTORS.max(opts.page_size / SECTOR)
    };
    let mut pv = Pv {
        size,
        pe_start: 0,
        pe_align,
        pe_align_offset: data_alignment_offset,
        ba_start: 0,
        ba_size: 0,
    };
    if pv.pe_align < pv.pe_align_offset {
        return Err(LayoutError::AlignmentBelowOffset {
            alignment: pv.pe_align * SECTOR,
            offset: pv.pe_align_offset * SECTOR,
        });
    }
    let final_alignment = pv.pe_align + pv.pe_align_offset;
    if pv.size < final_alignment {
        return Err(LayoutError::AlignmentExceedsDevice {
            alignment: pv.pe_align * SECTOR,
            offset: pv.pe_align_offset * SECTOR,
            size: device_size,
        });
    }
    if pv.size < final_alignment + ba_request {
        return Err(LayoutError::BootloaderExceedsDevice { size: device_size });
    }
    if ba_request != 0 {
        // The bootloader area is rounded up to the alignment and sits
        // between the aligned start and the first PE.
        pv.ba_start = final_alignment;
        pv.ba_size = ba_request.next_multiple_of(pv.pe_align);
        if pv.size < pv.ba_start + pv.ba_size {
            pv.ba_size = pv.size - pv.ba_start;
        }
        pv.pe_start = pv.ba_start + pv.ba_size;
    } else {
        pv.pe_start = final_alignment;
    }

    // pv_add_metadata_area for each index, in order.
    let mut mdas: Vec<DiskLocn> = Vec::new();
    for index in 0..opts.metadata_copies {
        if let Some(m) = add_metadata_area(&mut pv, &mdas, index, mda_size, opts.page_size)? {
            mdas.push(m);
        }
    }

    let bootloader_area =
        (pv.ba_size != 0).then(|| DiskLocn::new(pv.ba_start * SECTOR, pv.ba_size * SECTOR));
    let label = PvLabel {
        sector: opts.label_sector,
        pv_uuid,
        device_size: pv.size * SECTOR,
        // lvmcache_update_das: one data area {pe_start, 0}.
        data_areas: vec![DiskLocn::new(pv.pe_start * SECTOR, 0)],
        metadata_areas: mdas.clone(),
        ext: Some(PvHeaderExt {
            version: PV_HEADER_EXTENSION_VSN,
            flags: 0,
            bootloader_areas: bootloader_area.into_iter().collect(),
        }),
    };
    let mda_headers = mdas
        .iter()
        .map(|m| MdaHeader::new_empty(m.offset, m.size, opts.metadata_ignore))
        .collect();
    let mut zero_ranges: Vec<DiskLocn> = mdas
        .iter()
        .map(|m| DiskLocn::new(m.offset, m.size.min(MDA_WIPE_SIZE)))
        .collect();
    if opts.zero {
        zero_ranges.push(DiskLocn::new(0, START_WIPE_SIZE));
    }
    Ok(PvLayout {
        label,
        mda_headers,
        pe_start: pv.pe_start * SECTOR,
        bootloader_area,
        zero_ranges,
    })
}

/// `_text_pv_add_metadata_area` with pe_start not locked (pvcreate without
/// `--restorefile`). Works in bytes as lvm2 does; `mda_size` in sectors.
fn add_metadata_area(
    pv: &mut Pv,
    existing: &[DiskLocn],
    index: u32,
    mda_size: u64,
    page_size: u64,
) -> Result<Option<DiskLocn>, LayoutError> {
    let mda_size_min = 8 * page_size;
    let pe_start = pv.pe_start * SECTOR;
    let ba_size = pv.ba_size * SECTOR;
    let alignment = pv.pe_align * SECTOR;
    let alignment_offset = pv.pe_align_offset * SECTOR;
    let disk_size = pv.size * SECTOR;
    let mut mda_size = mda_size * SECTOR;
    let no_space = LayoutError::NoSpaceForMda { index };
    let mda_start;

    if index == 0 {
        // First area, right after the label scan area: its end becomes
        // pe_start. The limit is the disk end (mda 2 does not exist yet).
        let mut limit = disk_size;
        if ba_size != 0 {
            limit -= ba_size;
        }
        let mut start = LABEL_SCAN_SIZE as u64;
        // Page-align the start if that leaves room for a minimal area.
        if limit.saturating_sub(start) >= mda_size_min {
            start = start.next_multiple_of(page_size);
        }
        // Grow the area so that it ends on the alignment…
        let adjustment = (start + mda_size) % alignment;
        if adjustment != 0 {
            let tmp = mda_size + alignment - adjustment;
            if start + tmp <= limit {
                mda_size = tmp;
            }
        }
        // …plus the alignment offset.
        if alignment_offset != 0 && (start + mda_size).is_multiple_of(alignment) {
            let tmp = mda_size + alignment_offset;
            if start + tmp <= limit {
                mda_size = tmp;
            }
        }
        if start + mda_size > limit {
            // Too big: shrink to leave two alignment units, re-aligned.
            if limit < start {
                return Err(no_space);
            }
            if limit - start > alignment * 2 {
                mda_size = limit - start - alignment * 2;
                let adjustment = (start + mda_size) % alignment;
                if adjustment != 0 {
                    mda_size += alignment - adjustment;
                }
                if start + mda_size > limit {
                    return Err(no_space);
                }
            } else {
                mda_size = limit - start;
            }
        }
        // pe_start follows the area (after the bootloader area, if any).
        if ba_size != 0 {
            pv.ba_start = (start + mda_size) / SECTOR;
            pv.pe_start = pv.ba_start + pv.ba_size;
        } else {
            pv.pe_start = (start + mda_size) / SECTOR;
        }
        mda_start = start;
    } else {
        // Second area at the end of the device, above pe_start (or, with no
        // pe_start yet, above mda 1 / the label scan area).
        let limit = if pe_start != 0 {
            pe_start
        } else if let Some(m0) = existing.first() {
            m0.offset + m0.size + ba_size
        } else {
            LABEL_SCAN_SIZE as u64 + ba_size
        };
        if limit >= disk_size {
            return Err(no_space);
        }
        if mda_size > disk_size {
            mda_size = disk_size - limit;
        }
        let mut start = disk_size - mda_size;
        if disk_size - mda_size < limit {
            mda_size = disk_size - limit;
            start = disk_size - mda_size;
        } else {
            // Round the start down to the alignment, growing the area.
            let adjustment = start % alignment;
            if adjustment != 0 {
                let tmp = mda_size + adjustment;
                if tmp < disk_size && disk_size - tmp >= limit {
                    mda_size = tmp;
                    start = disk_size - mda_size;
                }
            }
        }
        mda_start = start;
    }

    if mda_size == 0 {
        return Ok(None);
    }
    if mda_size < mda_size_min {
        return Err(LayoutError::MdaTooSmall {
            index,
            size: mda_size,
            min: mda_size_min,
        });
    }
    Ok(Some(DiskLocn::new(mda_start, mda_size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;
    const UUID: [u8; 32] = *b"ZcxgJ1FdxecIvblEqxOeszfntFhaTD2h";

    #[test]
    fn default_layout() {
        let l = pvcreate_layout(64 * MIB, UUID, &PvcreateOptions::default()).unwrap();
        assert_eq!(l.pe_start, MIB);
        assert_eq!(l.label.metadata_areas, vec![DiskLocn::new(4096, 1044480)]);
        assert_eq!(l.label.data_areas, vec![DiskLocn::new(MIB, 0)]);
        assert_eq!(l.mda_headers[0].checksum, 0xdb8e_d616);
    }

    #[test]
    fn two_copies() {
        let o = PvcreateOptions {
            metadata_copies: 2,
            ..Default::default()
        };
        let l = pvcreate_layout(64 * MIB, UUID, &o).unwrap();
        assert_eq!(
            l.label.metadata_areas,
            vec![
                DiskLocn::new(4096, 1044480),
                DiskLocn::new(66060288, 1048576)
            ]
        );
        assert_eq!(l.mda_headers[1].checksum, 0x0064_6c97);
    }

    #[test]
    fn no_copies_and_4m() {
        let o = PvcreateOptions {
            metadata_copies: 0,
            ..Default::default()
        };
        let l = pvcreate_layout(64 * MIB, UUID, &o).unwrap();
        assert_eq!(l.pe_start, MIB);
        assert!(l.label.metadata_areas.is_empty());

        let o = PvcreateOptions {
            metadata_size: Some(4 * MIB),
            ..Default::default()
        };
        let l = pvcreate_layout(64 * MIB, UUID, &o).unwrap();
        assert_eq!(l.pe_start, 5 * MIB);
        assert_eq!(l.label.metadata_areas, vec![DiskLocn::new(4096, 5238784)]);
    }

    #[test]
    fn too_small() {
        assert!(matches!(
            pvcreate_layout(MIB, UUID, &PvcreateOptions::default()),
            Err(LayoutError::TooSmall { .. })
        ));
        // A 2 MiB device still gets the default layout.
        let l = pvcreate_layout(2 * MIB, UUID, &PvcreateOptions::default()).unwrap();
        assert_eq!(l.pe_start, MIB);
    }

    #[test]
    fn alignment_offset() {
        let o = PvcreateOptions {
            data_alignment_offset: 64 * 1024,
            ..Default::default()
        };
        let l = pvcreate_layout(64 * MIB, UUID, &o).unwrap();
        assert_eq!(l.pe_start, MIB + 64 * 1024);
        assert_eq!(l.label.metadata_areas[0].size, 1044480 + 65536);
    }
}
