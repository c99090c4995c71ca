//! The LVM2 label sector: `label_header`, `pv_header` and
//! `pv_header_extension` (lvm2 `lib/label/label.h`, `lib/format_text/layout.h`,
//! `lib/format_text/text_label.c`).
//!
//! On-disk layout of the 512-byte label sector (all integers little-endian):
//!
//! ```text
//!   0  id[8]          "LABELONE"
//!   8  sector   u64   the sector number this label lives in (lvm2 writes 1)
//!  16  crc      u32   lvm CRC of bytes 20..512 of this sector
//!  20  offset   u32   offset of the pv_header from the start of the sector: 32
//!  24  type[8]        "LVM2 001"
//!  32  pv_uuid[32]    raw id, 32 chars, no dashes
//!  64  device_size u64 bytes
//!  72  disk_locn {offset u64, size u64} list of data areas, ended by offset 0
//!      disk_locn list of metadata areas, ended by offset 0
//!      pv_header_extension: version u32 (2), flags u32 (PV_EXT_USED = 1),
//!      disk_locn list of bootloader areas, ended by offset 0
//! ```
//!
//! lvm2 looks for the label in sectors 0..4 and, like lvm2's reader
//! (`_text_read`), every list ends at the first entry whose *offset* is 0
//! (its size is not looked at). A `pv_header_extension.version` of 0 means
//! "no extension" (PVs written before lvm2 2.02.112).

use thiserror::Error;

use super::crc::lvm_crc;

/// Bytes in a sector; the label is exactly one sector.
pub const SECTOR_SIZE: usize = 512;
/// lvm2 scans this many sectors from the start of the device for a label.
pub const LABEL_SCAN_SECTORS: u64 = 4;
/// Bytes needed to scan every possible label position.
pub const LABEL_SCAN_SIZE: usize = LABEL_SCAN_SECTORS as usize * SECTOR_SIZE;
/// The sector pvcreate writes the label to (`DEFAULT_LABELSECTOR`).
pub const DEFAULT_LABEL_SECTOR: u64 = 1;
/// `label_header.id`.
pub const LABEL_ID: &[u8; 8] = b"LABELONE";
/// `label_header.type` of the text format.
pub const LVM2_LABEL_TYPE: &[u8; 8] = b"LVM2 001";
/// `label_header.offset`: the pv_header follows the 32-byte label_header.
pub const LABEL_HEADER_SIZE: usize = 32;
/// Offset of the crc'ed range: everything from `label_header.offset` on.
const CRC_START: usize = 20;
/// Size of the fixed part of pv_header (uuid + device_size).
const PV_HEADER_FIXED: usize = 40;
/// Size of one disk_locn.
const DISK_LOCN_SIZE: usize = 16;
/// Size of the fixed part of pv_header_extension (version + flags).
const PV_EXT_FIXED: usize = 8;
/// Length of a raw PV/VG id.
pub const ID_LEN: usize = 32;

/// The pv_header_extension version lvm2 2.03 writes.
pub const PV_HEADER_EXTENSION_VSN: u32 = 2;
/// pv_header_extension.flags: the PV belongs to a VG (cleared for orphans).
pub const PV_EXT_USED: u32 = 0x1;

/// One `disk_locn`: a byte range on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DiskLocn {
    pub offset: u64,
    pub size: u64,
}

impl DiskLocn {
    pub const fn new(offset: u64, size: u64) -> Self {
        DiskLocn { offset, size }
    }
}

/// `pv_header_extension` (present when its version is non-zero).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PvHeaderExt {
    pub version: u32,
    pub flags: u32,
    pub bootloader_areas: Vec<DiskLocn>,
}

/// A decoded label sector: label_header + pv_header (+ extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvLabel {
    /// Sector the label was found in / is to be written to (0..4).
    pub sector: u64,
    /// The raw 32-character PV id, no dashes (not validated: lvm2 doesn't).
    pub pv_uuid: [u8; ID_LEN],
    /// `pv_header.device_size` in bytes.
    pub device_size: u64,
    /// Data areas; lvm2 writes exactly one: {pe_start, 0}.
    pub data_areas: Vec<DiskLocn>,
    /// Metadata areas (0, 1 or 2): {mda start, mda size} in bytes.
    pub metadata_areas: Vec<DiskLocn>,
    /// The extension; `None` when its version is 0 (old lvm2).
    pub ext: Option<PvHeaderExt>,
}

impl PvLabel {
    /// The PV id as text, if it is valid UTF-8 (it always is for lvm2 ids).
    pub fn pv_uuid_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.pv_uuid).ok()
    }

    /// The PV id as a String, replacing invalid bytes.
    pub fn pv_uuid_string(&self) -> String {
        String::from_utf8_lossy(&self.pv_uuid).into_owned()
    }

    /// Extension flags, 0 without an extension.
    pub fn ext_flags(&self) -> u32 {
        self.ext.as_ref().map_or(0, |e| e.flags)
    }

    /// Whether `PV_EXT_USED` is set (the PV is in a VG).
    pub fn is_used(&self) -> bool {
        self.ext_flags() & PV_EXT_USED != 0
    }

    /// `pe_start` in bytes: the offset of the first data area.
    pub fn pe_start(&self) -> Option<u64> {
        self.data_areas.first().map(|d| d.offset)
    }
}

/// What is wrong with a label sector. Every variant names the sector.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LabelError {
    #[error("label in sector {sector}: label_header.crc 0x{stored:x} does not match computed 0x{computed:x}")]
    BadCrc {
        sector: u64,
        stored: u32,
        computed: u32,
    },
    #[error("label in sector {found_at}: label_header.sector is {claimed}")]
    WrongSector { found_at: u64, claimed: u64 },
    #[error("label in sector {sector}: label_header.type {found:?} is not \"LVM2 001\"")]
    WrongType { sector: u64, found: String },
    #[error("label in sector {sector}: label_header.offset {offset} is not 32")]
    BadOffset { sector: u64, offset: u32 },
    #[error("label in sector {sector}: pv_header {list} list runs past the end of the sector")]
    TruncatedList { sector: u64, list: &'static str },
    #[error("label in sector {sector}: pv_header has no data area")]
    NoDataArea { sector: u64 },
    #[error("label sector {sector} is outside sectors 0-3")]
    SectorOutOfRange { sector: u64 },
    #[error(
        "label for sector {sector}: {list} entry {index} has offset 0, which would end the list"
    )]
    ZeroOffset {
        sector: u64,
        list: &'static str,
        index: usize,
    },
    #[error("label for sector {sector}: {count} areas do not fit in one sector")]
    TooManyAreas { sector: u64, count: usize },
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The label CRC as lvm2 computes it: over bytes 20..512 of the sector.
pub fn label_crc(sector_bytes: &[u8]) -> u32 {
    lvm_crc(&sector_bytes[CRC_START..SECTOR_SIZE])
}

/// Reads a disk_locn list starting at `at`, up to its offset-0 terminator.
/// Returns the entries and the position just after the terminator.
fn read_list(
    s: &[u8],
    mut at: usize,
    sector: u64,
    list: &'static str,
) -> Result<(Vec<DiskLocn>, usize), LabelError> {
    let mut out = Vec::new();
    loop {
        if at + DISK_LOCN_SIZE > SECTOR_SIZE {
            return Err(LabelError::TruncatedList { sector, list });
        }
        let offset = le_u64(s, at);
        let size = le_u64(s, at + 8);
        at += DISK_LOCN_SIZE;
        if offset == 0 {
            return Ok((out, at));
        }
        out.push(DiskLocn { offset, size });
    }
}

/// Decodes one 512-byte sector that is expected to hold a label at sector
/// number `sector`. `Ok(None)` when the sector has no "LABELONE" id.
///
/// Checks in lvm2's order (`_find_lvm_header`): sector number, CRC, type.
pub fn decode_label_sector(s: &[u8], sector: u64) -> Result<Option<PvLabel>, LabelError> {
    assert!(s.len() >= SECTOR_SIZE, "a label sector is 512 bytes");
    if &s[0..8] != LABEL_ID {
        return Ok(None);
    }
    let claimed = le_u64(s, 8);
    if claimed != sector {
        return Err(LabelError::WrongSector {
            found_at: sector,
            claimed,
        });
    }
    let stored = le_u32(s, 16);
    let computed = label_crc(s);
    if stored != computed {
        return Err(LabelError::BadCrc {
            sector,
            stored,
            computed,
        });
    }
    if &s[24..32] != LVM2_LABEL_TYPE {
        return Err(LabelError::WrongType {
            sector,
            found: String::from_utf8_lossy(&s[24..32]).into_owned(),
        });
    }
    // lvm2 follows label_header.offset to find the pv_header, but has only
    // ever written 32; anything else is treated as damage.
    let offset = le_u32(s, 20);
    if offset as usize != LABEL_HEADER_SIZE {
        return Err(LabelError::BadOffset { sector, offset });
    }

    let ph = LABEL_HEADER_SIZE;
    let mut pv_uuid = [0u8; ID_LEN];
    pv_uuid.copy_from_slice(&s[ph..ph + ID_LEN]);
    let device_size = le_u64(s, ph + ID_LEN);

    let (data_areas, at) = read_list(s, ph + PV_HEADER_FIXED, sector, "data area")?;
    let (metadata_areas, at) = read_list(s, at, sector, "metadata area")?;
    // lvm2's label writer refuses a PV without a data area ("label header
    // currently requires a data area"), so a label without one is damaged.
    if data_areas.is_empty() {
        return Err(LabelError::NoDataArea { sector });
    }

    if at + PV_EXT_FIXED > SECTOR_SIZE {
        return Err(LabelError::TruncatedList {
            sector,
            list: "pv_header_extension",
        });
    }
    let version = le_u32(s, at);
    let ext = if version == 0 {
        None
    } else {
        let flags = le_u32(s, at + 4);
        let (bootloader_areas, _) = read_list(s, at + PV_EXT_FIXED, sector, "bootloader area")?;
        Some(PvHeaderExt {
            version,
            flags,
            bootloader_areas,
        })
    };

    Ok(Some(PvLabel {
        sector,
        pv_uuid,
        device_size,
        data_areas,
        metadata_areas,
        ext,
    }))
}

/// Finds the PV label in the first sectors of a device.
///
/// `first_sectors` should hold at least [`LABEL_SCAN_SIZE`] (2048) bytes;
/// only whole sectors present are scanned. As lvm2 does, a sector with a
/// damaged label is skipped and the first valid label wins. Returns
/// `Ok(None)` when no sector starts with "LABELONE", and the first damaged
/// label's error when labels were present but none was valid.
pub fn find_label(first_sectors: &[u8]) -> Result<Option<PvLabel>, LabelError> {
    let mut first_err = None;
    for sector in 0..LABEL_SCAN_SECTORS {
        let start = sector as usize * SECTOR_SIZE;
        let Some(s) = first_sectors.get(start..start + SECTOR_SIZE) else {
            break;
        };
        match decode_label_sector(s, sector) {
            Ok(Some(label)) => return Ok(Some(label)),
            Ok(None) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

fn put_list(
    buf: &mut [u8; SECTOR_SIZE],
    mut at: usize,
    list: &[DiskLocn],
    sector: u64,
    name: &'static str,
) -> Result<usize, LabelError> {
    for (index, d) in list.iter().enumerate() {
        if d.offset == 0 {
            return Err(LabelError::ZeroOffset {
                sector,
                list: name,
                index,
            });
        }
        buf[at..at + 8].copy_from_slice(&d.offset.to_le_bytes());
        buf[at + 8..at + 16].copy_from_slice(&d.size.to_le_bytes());
        at += DISK_LOCN_SIZE;
    }
    // The terminator is all zero; the buffer already is.
    Ok(at + DISK_LOCN_SIZE)
}

/// Encodes the label sector image (to be written at `l.sector * 512`),
/// with the CRC filled in, exactly as lvm2's `label_write` + `_text_write`:
/// a zeroed sector, label_header, pv_header, the two lists, the extension.
/// Without an extension (`ext: None`) the extension bytes stay zero, which
/// readers take as version 0.
pub fn encode_label(l: &PvLabel) -> Result<[u8; SECTOR_SIZE], LabelError> {
    let sector = l.sector;
    if sector >= LABEL_SCAN_SECTORS {
        return Err(LabelError::SectorOutOfRange { sector });
    }
    let bas = l.ext.as_ref().map_or(0, |e| e.bootloader_areas.len() + 1);
    let needed = LABEL_HEADER_SIZE
        + PV_HEADER_FIXED
        + DISK_LOCN_SIZE * (l.data_areas.len() + 1 + l.metadata_areas.len() + 1)
        + if l.ext.is_some() {
            PV_EXT_FIXED + DISK_LOCN_SIZE * bas
        } else {
            0
        };
    if needed > SECTOR_SIZE {
        return Err(LabelError::TooManyAreas {
            sector,
            count: l.data_areas.len() + l.metadata_areas.len() + bas,
        });
    }
    if l.data_areas.is_empty() {
        return Err(LabelError::NoDataArea { sector });
    }

    let mut buf = [0u8; SECTOR_SIZE];
    buf[0..8].copy_from_slice(LABEL_ID);
    buf[8..16].copy_from_slice(&sector.to_le_bytes());
    buf[20..24].copy_from_slice(&(LABEL_HEADER_SIZE as u32).to_le_bytes());
    buf[24..32].copy_from_slice(LVM2_LABEL_TYPE);

    let ph = LABEL_HEADER_SIZE;
    buf[ph..ph + ID_LEN].copy_from_slice(&l.pv_uuid);
    buf[ph + ID_LEN..ph + PV_HEADER_FIXED].copy_from_slice(&l.device_size.to_le_bytes());
    let at = put_list(
        &mut buf,
        ph + PV_HEADER_FIXED,
        &l.data_areas,
        sector,
        "data area",
    )?;
    let at = put_list(&mut buf, at, &l.metadata_areas, sector, "metadata area")?;
    if let Some(ext) = &l.ext {
        buf[at..at + 4].copy_from_slice(&ext.version.to_le_bytes());
        buf[at + 4..at + 8].copy_from_slice(&ext.flags.to_le_bytes());
        put_list(
            &mut buf,
            at + PV_EXT_FIXED,
            &ext.bootloader_areas,
            sector,
            "bootloader area",
        )?;
    }

    let crc = label_crc(&buf);
    buf[16..20].copy_from_slice(&crc.to_le_bytes());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PvLabel {
        PvLabel {
            sector: 1,
            pv_uuid: *b"ZcxgJ1FdxecIvblEqxOeszfntFhaTD2h",
            device_size: 67108864,
            data_areas: vec![DiskLocn::new(1048576, 0)],
            metadata_areas: vec![DiskLocn::new(4096, 1044480)],
            ext: Some(PvHeaderExt {
                version: 2,
                flags: 0,
                bootloader_areas: vec![],
            }),
        }
    }

    #[test]
    fn encode_matches_lvm2_crc() {
        // pvformats/01-pvcreate-default p0: label_header.crc 0x940aedb4.
        let s = encode_label(&sample()).unwrap();
        assert_eq!(le_u32(&s, 16), 0x940a_edb4);
    }

    #[test]
    fn round_trip_in_every_sector() {
        for sector in 0..4 {
            let mut l = sample();
            l.sector = sector;
            let s = encode_label(&l).unwrap();
            let mut dev = vec![0u8; LABEL_SCAN_SIZE];
            let at = sector as usize * SECTOR_SIZE;
            dev[at..at + SECTOR_SIZE].copy_from_slice(&s);
            assert_eq!(find_label(&dev).unwrap(), Some(l));
        }
    }

    #[test]
    fn no_label() {
        assert_eq!(find_label(&[0u8; 2048]).unwrap(), None);
        assert_eq!(find_label(&[]).unwrap(), None);
    }

    #[test]
    fn errors_name_the_sector() {
        let s = encode_label(&sample()).unwrap();
        let mut dev = vec![0u8; LABEL_SCAN_SIZE];
        dev[512..1024].copy_from_slice(&s);
        dev[600] ^= 1;
        let e = find_label(&dev).unwrap_err();
        assert!(matches!(e, LabelError::BadCrc { sector: 1, .. }), "{e}");
        assert!(e.to_string().contains("sector 1"));

        // Label for sector 1 copied to sector 2.
        let mut dev = vec![0u8; LABEL_SCAN_SIZE];
        dev[1024..1536].copy_from_slice(&s);
        assert_eq!(
            find_label(&dev).unwrap_err(),
            LabelError::WrongSector {
                found_at: 2,
                claimed: 1
            }
        );
    }

    #[test]
    fn damaged_label_skipped_when_a_good_one_follows() {
        let mut l = sample();
        let bad = encode_label(&l).unwrap();
        l.sector = 2;
        let good = encode_label(&l).unwrap();
        let mut dev = vec![0u8; LABEL_SCAN_SIZE];
        dev[512..1024].copy_from_slice(&bad);
        dev[700] ^= 0xff;
        dev[1024..1536].copy_from_slice(&good);
        assert_eq!(find_label(&dev).unwrap().unwrap().sector, 2);
    }

    #[test]
    fn truncated_list() {
        // Fill the whole sector with non-zero disk_locns: no terminator.
        let mut s = encode_label(&sample()).unwrap();
        for at in (72..SECTOR_SIZE - 7).step_by(8) {
            s[at..at + 8].copy_from_slice(&4096u64.to_le_bytes());
        }
        let crc = label_crc(&s);
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        let e = decode_label_sector(&s, 1).unwrap_err();
        assert!(
            matches!(e, LabelError::TruncatedList { sector: 1, .. }),
            "{e}"
        );
    }

    #[test]
    fn wrong_type() {
        let mut s = encode_label(&sample()).unwrap();
        s[24..32].copy_from_slice(b"LVM1 001");
        let crc = label_crc(&s);
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        let e = decode_label_sector(&s, 1).unwrap_err();
        assert!(e.to_string().contains("LVM1 001"), "{e}");
    }

    #[test]
    fn no_extension() {
        let mut l = sample();
        l.ext = None;
        let s = encode_label(&l).unwrap();
        assert_eq!(decode_label_sector(&s, 1).unwrap(), Some(l));
    }

    #[test]
    fn too_many_areas() {
        let mut l = sample();
        l.metadata_areas = vec![DiskLocn::new(4096, 1); 30];
        assert!(matches!(
            encode_label(&l),
            Err(LabelError::TooManyAreas { .. })
        ));
    }
}
