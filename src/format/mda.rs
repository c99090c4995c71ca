//! Metadata areas: the `mda_header` sector, its `raw_locn` slots, and the
//! circular text buffer behind it (lvm2 `lib/format_text/layout.h`,
//! `lib/format_text/format-text.c`).
//!
//! On-disk layout of the 512-byte mda_header at the start of a metadata area
//! (little-endian):
//!
//! ```text
//!   0  checksum u32     lvm CRC of bytes 4..512
//!   4  magic[16]        " LVM2 x[5A%r0N*>"
//!  20  version  u32     1
//!  24  start    u64     absolute byte offset of this header (= area start)
//!  32  size     u64     size of the whole area, header included
//!  40  raw_locn[0]      committed metadata   {offset u64, size u64, checksum u32, flags u32}
//!  64  raw_locn[1]      precommitted metadata
//!  88  zero             (lvm2's list terminator; lvm2 never uses more slots)
//! ```
//!
//! `raw_locn.offset` is relative to the area start; the text lives in a
//! circular buffer from area offset 512 to `size`, and a text that runs past
//! `size` continues at offset 512. `raw_locn.size` counts the text **and its
//! terminating NUL byte** (lvm2's `text_vg_export_raw` returns "amount of
//! buffer used incl. terminating NUL"), and `checksum` covers the same bytes.
//! Flag `RAW_LOCN_IGNORED` in slot 0 marks an area the VG does not use
//! (`vgchange --vgmetadatacopies`); its old text may still be there.
//!
//! The commit protocol, as lvm2 2.03's `vg_write` / `vg_commit` run it for
//! each metadata area in use:
//!
//! 1. `_vg_write_raw`: write the new text after the committed text (see
//!    [`plan_text_write`]); no header is written.
//! 2. `_vg_precommit_raw`: re-read the header, put the new location in slot 1
//!    ([`MdaHeader::precommit`]), write the header.
//! 3. `_vg_commit_raw`: re-read the header, put the new location in slot 0 and
//!    clear slot 1 ([`MdaHeader::commit`]), write the header. lvm2 commits
//!    the areas being switched to "ignored" first.
//!
//! A failed write is undone with [`MdaHeader::revert`] (slot 1 cleared).

use thiserror::Error;

use super::crc::lvm_crc;

/// The header occupies the first sector of the area; text starts after it.
pub const MDA_HEADER_SIZE: u64 = 512;
/// `FMTT_MAGIC`.
pub const FMTT_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// `FMTT_VERSION`.
pub const FMTT_VERSION: u32 = 1;
/// `raw_locn.flags`: this metadata area is not used by the VG.
pub const RAW_LOCN_IGNORED: u32 = 0x1;
/// Metadata text copies start on this alignment (`MDA_ORIGINAL_ALIGNMENT`).
pub const MDA_ALIGNMENT: u64 = 512;

const HDR: usize = MDA_HEADER_SIZE as usize;
const SLOT0: usize = 40;
const SLOT1: usize = 64;

/// One `raw_locn` slot: where a copy of the metadata text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RawLocn {
    /// Offset of the text from the start of the metadata area.
    pub offset: u64,
    /// Text size in bytes, including the terminating NUL.
    pub size: u64,
    /// lvm CRC of the text (same bytes as `size`).
    pub checksum: u32,
    pub flags: u32,
}

impl RawLocn {
    /// lvm2's "no metadata here": offset and size both 0.
    pub fn is_empty(&self) -> bool {
        self.offset == 0 && self.size == 0
    }

    pub fn is_ignored(&self) -> bool {
        self.flags & RAW_LOCN_IGNORED != 0
    }

    /// Whether the text runs past the end of an area of `mda_size` bytes
    /// and continues at offset 512.
    pub fn wraps(&self, mda_size: u64) -> bool {
        self.offset.saturating_add(self.size) > mda_size
    }

    fn decode(b: &[u8]) -> RawLocn {
        RawLocn {
            offset: le_u64(b, 0),
            size: le_u64(b, 8),
            checksum: le_u32(b, 16),
            flags: le_u32(b, 20),
        }
    }

    fn encode(&self, b: &mut [u8]) {
        b[0..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..16].copy_from_slice(&self.size.to_le_bytes());
        b[16..20].copy_from_slice(&self.checksum.to_le_bytes());
        b[20..24].copy_from_slice(&self.flags.to_le_bytes());
    }

    /// Clears where/what but keeps the flags, as lvm2 does when it empties a
    /// slot (it zeroes offset, size and checksum, never flags).
    fn clear_location(&mut self) {
        self.offset = 0;
        self.size = 0;
        self.checksum = 0;
    }

    fn set_location(&mut self, new: &RawLocn) {
        self.offset = new.offset;
        self.size = new.size;
        self.checksum = new.checksum;
    }

    fn set_ignored(&mut self, ignored: bool) {
        if ignored {
            self.flags |= RAW_LOCN_IGNORED;
        } else {
            self.flags &= !RAW_LOCN_IGNORED;
        }
    }
}

/// A decoded mda_header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdaHeader {
    /// The stored checksum (decode) — [`encode_mda_header`] recomputes it.
    pub checksum: u32,
    pub version: u32,
    /// Absolute byte offset of the area on the device.
    pub start: u64,
    /// Size of the area in bytes, header sector included.
    pub size: u64,
    /// Slot 0.
    pub committed: RawLocn,
    /// Slot 1; normally empty between commands.
    pub precommitted: RawLocn,
}

/// What is wrong with an mda header or the text it points to.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MdaError {
    #[error("mda header: buffer of {len} bytes is shorter than 512")]
    ShortBuffer { len: usize },
    #[error("mda header at {start}: checksum 0x{stored:x} does not match computed 0x{computed:x}")]
    BadChecksum {
        start: u64,
        stored: u32,
        computed: u32,
    },
    #[error("mda header at {start}: bad magic {found:02x?}")]
    BadMagic { start: u64, found: [u8; 16] },
    #[error("mda header at {start}: version {version} is not 1")]
    BadVersion { start: u64, version: u32 },
    #[error("mda header at {expected}: mda_header.start is {found}")]
    WrongStart { expected: u64, found: u64 },
    #[error("metadata area: raw_locn is empty (no metadata text)")]
    NoText,
    #[error("metadata text offset {offset} is outside the circular buffer 512..{mda_size}")]
    TextOffsetOutOfRange { offset: u64, mda_size: u64 },
    #[error("metadata text size {size} at offset {offset} is larger than the circular buffer ({buffer} bytes)")]
    TextTooLarge { offset: u64, size: u64, buffer: u64 },
    #[error("metadata area: {len} bytes given but the area is {mda_size} bytes")]
    AreaLength { len: usize, mda_size: u64 },
    #[error(
        "metadata text at offset {offset} size {size}{}: checksum 0x{computed:x} does not match raw_locn.checksum 0x{stored:x}",
        if *wrapped { " (wrapped: parts at offset 512 torn?)" } else { "" }
    )]
    TextChecksum {
        offset: u64,
        size: u64,
        wrapped: bool,
        stored: u32,
        computed: u32,
    },
    #[error("metadata text is empty")]
    EmptyText,
    #[error("mda header at {start}: area size {size} is impossible")]
    AreaSize { start: u64, size: u64 },
    #[error("mda header at {start}: committed raw_locn offset {offset} size {size} is outside the area of {mda_size} bytes")]
    CommittedOutOfRange {
        start: u64,
        offset: u64,
        size: u64,
        mda_size: u64,
    },
    #[error("metadata too large for area: {size} bytes exceeds the maximum {max} for an area of {mda_size} bytes")]
    TooLarge { size: u64, max: u64, mda_size: u64 },
    #[error("metadata too large for area: {size} bytes at offset {new_offset} would overlap the committed copy at offset {old_offset} size {old_size} (circular buffer {buffer} bytes)")]
    Overlap {
        size: u64,
        new_offset: u64,
        old_offset: u64,
        old_size: u64,
        buffer: u64,
    },
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The header checksum lvm2 computes: over bytes 4..512.
pub fn mda_header_crc(buf: &[u8]) -> u32 {
    lvm_crc(&buf[4..HDR])
}

impl MdaHeader {
    /// The header pvcreate writes for a new area (`_write_single_mda`): all
    /// zero except magic, version, start, size and, for an area created
    /// ignored (`--metadataignore y`), the ignored flag in slot 0.
    pub fn new_empty(start: u64, size: u64, ignored: bool) -> MdaHeader {
        let mut h = MdaHeader {
            checksum: 0,
            version: FMTT_VERSION,
            start,
            size,
            committed: RawLocn::default(),
            precommitted: RawLocn::default(),
        };
        h.committed.set_ignored(ignored);
        h.checksum = mda_header_crc(&encode_mda_header(&h));
        h
    }

    /// Reads the fields without any check (pvck prints damaged headers).
    pub fn parse_unchecked(buf: &[u8]) -> Result<MdaHeader, MdaError> {
        if buf.len() < HDR {
            return Err(MdaError::ShortBuffer { len: buf.len() });
        }
        Ok(MdaHeader {
            checksum: le_u32(buf, 0),
            version: le_u32(buf, 20),
            start: le_u64(buf, 24),
            size: le_u64(buf, 32),
            committed: RawLocn::decode(&buf[SLOT0..SLOT0 + 24]),
            precommitted: RawLocn::decode(&buf[SLOT1..SLOT1 + 24]),
        })
    }

    /// Whether the area is marked ignored (flag in slot 0, as lvm2 reads it).
    pub fn is_ignored(&self) -> bool {
        self.committed.is_ignored()
    }

    /// The committed text location, if the area is in use and holds text
    /// (lvm2's `_read_metadata_location_vg` / `read_metadata_location_summary`).
    pub fn committed_text(&self) -> Option<&RawLocn> {
        if self.is_ignored() || self.committed.is_empty() {
            None
        } else {
            Some(&self.committed)
        }
    }

    /// The circular buffer size: the area minus its header sector.
    pub fn buffer_size(&self) -> u64 {
        self.size.saturating_sub(MDA_HEADER_SIZE)
    }

    /// lvm2's largest single copy of text for this area: two copies must
    /// fit in the buffer, each may lose up to 512 bytes to alignment
    /// (`max_size` in `_vg_write_raw`).
    pub fn max_text_size(&self) -> u64 {
        (self.buffer_size() / 2).saturating_sub(MDA_ALIGNMENT)
    }

    /// `_vg_commit_raw_rlocn` as a value: the header lvm2 writes in
    /// precommit (`precommit`), commit, or revert (`new` = `None`).
    fn commit_rlocn(&self, new: Option<&RawLocn>, precommit: bool, ignored: bool) -> MdaHeader {
        let mut h = self.clone();
        // A previously ignored or never-written area has no committed copy
        // to keep: both slots start from scratch (flags survive).
        if h.committed.is_ignored() || h.committed.is_empty() {
            h.committed.clear_location();
            h.precommitted.clear_location();
        }
        match new {
            // Revert: drop the precommitted copy, keep the committed one.
            None => h.precommitted.clear_location(),
            Some(n) if precommit => h.precommitted.set_location(n),
            Some(n) => {
                h.committed.set_location(n);
                h.precommitted.clear_location();
            }
        }
        h.committed.set_ignored(ignored);
        // `_raw_write_mda_header` always rewrites magic and version.
        h.version = FMTT_VERSION;
        h.checksum = mda_header_crc(&encode_mda_header(&h));
        h
    }

    /// The header written by `vg_precommit`: slot 1 = `new`, slot 0 kept.
    /// `ignored` is whether the VG now ignores this area.
    pub fn precommit(&self, new: &RawLocn, ignored: bool) -> MdaHeader {
        self.commit_rlocn(Some(new), true, ignored)
    }

    /// The header written by `vg_commit`: slot 0 = `new`, slot 1 cleared.
    pub fn commit(&self, new: &RawLocn, ignored: bool) -> MdaHeader {
        self.commit_rlocn(Some(new), false, ignored)
    }

    /// The header written by `vg_revert`: slot 1 cleared, slot 0 kept.
    pub fn revert(&self, ignored: bool) -> MdaHeader {
        self.commit_rlocn(None, false, ignored)
    }

    /// The header written by `vgremove` (`_vg_remove_raw`): both slots'
    /// locations cleared, slot 0 ignored flag set per `ignored`; the text
    /// itself is left in the buffer.
    pub fn removed(&self, ignored: bool) -> MdaHeader {
        let mut h = self.clone();
        h.committed.clear_location();
        h.committed.set_ignored(ignored);
        h.precommitted.clear_location();
        h.version = FMTT_VERSION;
        h.checksum = mda_header_crc(&encode_mda_header(&h));
        h
    }
}

/// Decodes and checks an mda header read from `expected_start` (the
/// metadata area offset from the pv_header), with lvm2's checks in lvm2's
/// order (`_raw_read_mda_header`): checksum, magic, version, start.
pub fn decode_mda_header(buf: &[u8], expected_start: u64) -> Result<MdaHeader, MdaError> {
    let h = MdaHeader::parse_unchecked(buf)?;
    let computed = mda_header_crc(buf);
    if computed != h.checksum {
        return Err(MdaError::BadChecksum {
            start: expected_start,
            stored: h.checksum,
            computed,
        });
    }
    if &buf[4..20] != FMTT_MAGIC {
        return Err(MdaError::BadMagic {
            start: expected_start,
            found: buf[4..20].try_into().unwrap(),
        });
    }
    if h.version != FMTT_VERSION {
        return Err(MdaError::BadVersion {
            start: expected_start,
            version: h.version,
        });
    }
    if h.start != expected_start {
        return Err(MdaError::WrongStart {
            expected: expected_start,
            found: h.start,
        });
    }
    Ok(h)
}

/// Encodes a header sector with magic, the given version/start/size/slots
/// and a freshly computed checksum (`h.checksum` is not used).
pub fn encode_mda_header(h: &MdaHeader) -> [u8; HDR] {
    let mut b = [0u8; HDR];
    b[4..20].copy_from_slice(FMTT_MAGIC);
    b[20..24].copy_from_slice(&h.version.to_le_bytes());
    b[24..32].copy_from_slice(&h.start.to_le_bytes());
    b[32..40].copy_from_slice(&h.size.to_le_bytes());
    h.committed.encode(&mut b[SLOT0..SLOT0 + 24]);
    h.precommitted.encode(&mut b[SLOT1..SLOT1 + 24]);
    let crc = mda_header_crc(&b);
    b[0..4].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Reads the text `locn` points to out of `area` (the whole metadata area,
/// from its header to its end: `area.len()` is taken as the area size),
/// following a wrap back to offset 512, and checks its checksum.
/// The returned bytes are exactly `locn.size` long (NUL included).
pub fn read_text(area: &[u8], locn: &RawLocn) -> Result<Vec<u8>, MdaError> {
    let mda_size = area.len() as u64;
    if locn.is_empty() {
        return Err(MdaError::NoText);
    }
    if locn.offset < MDA_HEADER_SIZE || locn.offset >= mda_size {
        return Err(MdaError::TextOffsetOutOfRange {
            offset: locn.offset,
            mda_size,
        });
    }
    let buffer = mda_size - MDA_HEADER_SIZE;
    if locn.size > buffer {
        return Err(MdaError::TextTooLarge {
            offset: locn.offset,
            size: locn.size,
            buffer,
        });
    }
    let start = locn.offset as usize;
    let size = locn.size as usize;
    let wrapped = locn.wraps(mda_size);
    let text = if wrapped {
        // The first part runs to the end of the area, the rest continues
        // right after the header sector (lvm2's `_read_metadata_location`).
        let wrap = (locn.offset + locn.size - mda_size) as usize;
        let mut t = Vec::with_capacity(size);
        t.extend_from_slice(&area[start..]);
        t.extend_from_slice(&area[HDR..HDR + wrap]);
        t
    } else {
        area[start..start + size].to_vec()
    };
    let computed = lvm_crc(&text);
    if computed != locn.checksum {
        return Err(MdaError::TextChecksum {
            offset: locn.offset,
            size: locn.size,
            wrapped,
            stored: locn.checksum,
            computed,
        });
    }
    Ok(text)
}

/// One write into a metadata area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaWrite {
    /// Offset from the start of the metadata area (add `MdaHeader::start`
    /// for the device offset).
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Where and how to write a new copy of the metadata text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextWritePlan {
    /// One write, or two when the text wraps (end of area, then offset 512).
    /// The last write is padded with zeros to a 512-byte boundary, as lvm2
    /// pads it, so the gap before the next copy is zeroed.
    pub writes: Vec<AreaWrite>,
    /// The location to put in slot 1 (precommit) and then slot 0 (commit).
    /// Its flags are 0: lvm2 copies only offset, size and checksum.
    pub new_locn: RawLocn,
}

impl TextWritePlan {
    /// Applies the writes to an in-memory copy of the area.
    pub fn apply(&self, area: &mut [u8]) {
        for w in &self.writes {
            let at = w.offset as usize;
            area[at..at + w.data.len()].copy_from_slice(&w.data);
        }
    }
}

/// lvm2's `_next_rlocn_offset`: where the next copy starts, given the last
/// byte (`old_last`, area-relative, inclusive) of the committed copy.
fn next_offset(old_last: Option<u64>, mda_size: u64) -> u64 {
    let Some(old_last) = old_last else {
        // Nothing committed (or the area was ignored): start at the buffer.
        return MDA_HEADER_SIZE;
    };
    // Less than one alignment unit left after the old copy: go back to 512.
    if mda_size.saturating_sub(old_last) < MDA_ALIGNMENT {
        return MDA_HEADER_SIZE;
    }
    let next = (old_last + 1).next_multiple_of(MDA_ALIGNMENT);
    if next > mda_size - MDA_ALIGNMENT {
        return MDA_HEADER_SIZE;
    }
    next
}

/// Plans the text write of `_vg_write_raw` for the area described by
/// `header` (as read from disk just before): the new copy starts after the
/// end of the committed copy, rounded up to 512, or back at offset 512 when
/// fewer than 512 bytes are left; it may wrap. `text` must be the bytes to
/// store, its terminating NUL included.
///
/// Errors as lvm2 refuses: a text larger than [`MdaHeader::max_text_size`],
/// or one that would overlap the committed copy.
pub fn plan_text_write(header: &MdaHeader, text: &[u8]) -> Result<TextWritePlan, MdaError> {
    let mda_size = header.size;
    let new_size = text.len() as u64;
    if new_size == 0 {
        return Err(MdaError::EmptyText);
    }
    // No device is 2^63 bytes; refusing such sizes keeps the sums below
    // (at most twice the area size) from overflowing.
    if mda_size > i64::MAX as u64 {
        return Err(MdaError::AreaSize {
            start: header.start,
            size: mda_size,
        });
    }
    let max = header.max_text_size();
    if new_size > max || mda_size < 3 * MDA_HEADER_SIZE {
        return Err(MdaError::TooLarge {
            size: new_size,
            max,
            mda_size,
        });
    }

    // The committed copy: first/last byte, and whether it wraps. An ignored
    // slot counts as nothing committed, as in lvm2.
    let old = header.committed_text().copied();
    if let Some(o) = old {
        // lvm2 trusts the header here; a damaged one must not make us
        // compute nonsense (or overflow), so refuse it.
        if o.offset < MDA_HEADER_SIZE || o.offset >= mda_size || o.size > mda_size - MDA_HEADER_SIZE
        {
            return Err(MdaError::CommittedOutOfRange {
                start: header.start,
                offset: o.offset,
                size: o.size,
                mda_size,
            });
        }
    }
    let (old_start, old_last, old_wrap) = match old {
        None => (0, None, false),
        Some(o) => {
            if o.offset + o.size > mda_size {
                let wrap = o.offset + o.size - mda_size;
                (o.offset, Some(wrap + MDA_HEADER_SIZE - 1), true)
            } else {
                (o.offset, Some(o.offset + o.size - 1), false)
            }
        }
    };

    let new_start = next_offset(old_last, mda_size);
    let (new_last, new_wrap) = if new_start + new_size > mda_size {
        let wrap = new_start + new_size - mda_size;
        (wrap + MDA_HEADER_SIZE - 1, wrap)
    } else {
        (new_start + new_size - 1, 0)
    };

    // lvm2's overlap test, case by case (the max_size limit above should
    // make it unreachable; lvm2 keeps it as a sanity check, so do we).
    if let Some(old_last) = old_last {
        let overlap = match (old_wrap, new_wrap != 0) {
            // Two wrapped copies always overlap.
            (true, true) => true,
            // Neither wraps: new entirely after, or entirely before, old.
            (false, false) => {
                !((new_start > old_last && new_last >= new_start)
                    || (new_start < old_start && new_last < old_start))
            }
            // Old wraps: old_last < new_start <= new_last < old_start.
            (true, false) => {
                !(old_last < new_start && new_start <= new_last && new_last < old_start)
            }
            // New wraps: new_last < old_start <= old_last < new_start.
            (false, true) => {
                !(new_last < old_start && old_start <= old_last && old_last < new_start)
            }
        };
        if overlap {
            return Err(MdaError::Overlap {
                size: new_size,
                new_offset: new_start,
                old_offset: old_start,
                old_size: old.map_or(0, |o| o.size),
                buffer: mda_size - MDA_HEADER_SIZE,
            });
        }
    }

    // lvm2 extends the (last) write with zeros to the next 512-byte
    // boundary; when the text wraps, the first part ends exactly at the end
    // of the area. Never pad past the end of the area.
    let pad = |end: u64| -> u64 { end.next_multiple_of(MDA_ALIGNMENT).min(mda_size) - end };
    let mut writes = Vec::with_capacity(2);
    if new_wrap == 0 {
        let mut data = text.to_vec();
        data.resize(data.len() + pad(new_start + new_size) as usize, 0);
        writes.push(AreaWrite {
            offset: new_start,
            data,
        });
    } else {
        let first = (new_size - new_wrap) as usize;
        writes.push(AreaWrite {
            offset: new_start,
            data: text[..first].to_vec(),
        });
        let mut data = text[first..].to_vec();
        data.resize(data.len() + pad(MDA_HEADER_SIZE + new_wrap) as usize, 0);
        writes.push(AreaWrite {
            offset: MDA_HEADER_SIZE,
            data,
        });
    }

    Ok(TextWritePlan {
        writes,
        new_locn: RawLocn {
            offset: new_start,
            size: new_size,
            checksum: lvm_crc(text),
            flags: 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_header_checksum_matches_lvm2() {
        // pvformats/01 p0: mda_header_1.checksum 0xdb8ed616.
        let h = MdaHeader::new_empty(4096, 1044480, false);
        assert_eq!(h.checksum, 0xdb8e_d616);
        let b = encode_mda_header(&h);
        assert_eq!(decode_mda_header(&b, 4096).unwrap(), h);
        // pvformats/02 p1 mda2.
        assert_eq!(
            MdaHeader::new_empty(66060288, 1048576, false).checksum,
            0x0064_6c97
        );
    }

    #[test]
    fn decode_errors() {
        let b = encode_mda_header(&MdaHeader::new_empty(4096, 1044480, false));
        let mut bad = b;
        bad[100] = 1;
        assert!(matches!(
            decode_mda_header(&bad, 4096),
            Err(MdaError::BadChecksum { start: 4096, .. })
        ));
        let mut bad = b;
        bad[5] = b'X';
        let crc = mda_header_crc(&bad);
        bad[0..4].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            decode_mda_header(&bad, 4096),
            Err(MdaError::BadMagic { .. })
        ));
        assert_eq!(
            decode_mda_header(&b, 8192),
            Err(MdaError::WrongStart {
                expected: 8192,
                found: 4096
            })
        );
    }

    fn text(n: usize, seed: u8) -> Vec<u8> {
        let mut t: Vec<u8> = (0..n - 1).map(|i| b'a' + ((i as u8) ^ seed) % 26).collect();
        t.push(0);
        t
    }

    #[test]
    fn first_write_at_512_then_after() {
        let size = 1044480u64;
        let h = MdaHeader::new_empty(4096, size, false);
        let mut area = vec![0u8; size as usize];
        let t1 = text(1338, 1);
        let p = plan_text_write(&h, &t1).unwrap();
        assert_eq!(p.new_locn.offset, 512);
        assert_eq!(p.writes.len(), 1);
        assert_eq!(p.writes[0].data.len(), 1536);
        p.apply(&mut area);
        let pre = h.precommit(&p.new_locn, false);
        assert_eq!(pre.committed, RawLocn::default());
        assert_eq!(pre.precommitted.offset, 512);
        let h = pre.commit(&p.new_locn, false);
        assert_eq!(h.committed.offset, 512);
        assert!(h.precommitted.is_empty());
        assert_eq!(read_text(&area, &h.committed).unwrap(), t1);
        // Next copy at 512 + 1536.
        let p = plan_text_write(&h, &text(100, 2)).unwrap();
        assert_eq!(p.new_locn.offset, 2048);
    }

    #[test]
    fn wraps_like_lvm2_fixture() {
        // wrap/10 -> wrap/11: committed 1040896 size 6228 in an area of
        // 1044480 wraps; the next copy (6238 bytes) lands at 3584.
        let size = 1044480u64;
        let mut h = MdaHeader::new_empty(4096, size, false);
        h.committed = RawLocn {
            offset: 1040896,
            size: 6228,
            checksum: 0,
            flags: 0,
        };
        let p = plan_text_write(&h, &text(6238, 3)).unwrap();
        assert_eq!(p.new_locn.offset, 3584);
    }

    #[test]
    fn wrapped_write_and_read() {
        let size = 8192u64;
        let mut h = MdaHeader::new_empty(0, size, false);
        let mut area = vec![0u8; size as usize];
        h.committed = RawLocn {
            offset: 6144,
            size: 1000,
            checksum: 0,
            flags: 0,
        };
        // Next at 7168, 1500 bytes: 1024 to the end, 476 from 512.
        let t = text(1500, 9);
        let p = plan_text_write(&h, &t).unwrap();
        assert_eq!(p.new_locn.offset, 7168);
        assert_eq!(p.writes.len(), 2);
        assert_eq!(p.writes[0].data.len(), 1024);
        assert_eq!(p.writes[1].offset, 512);
        assert_eq!(p.writes[1].data.len(), 512);
        p.apply(&mut area);
        assert_eq!(read_text(&area, &p.new_locn).unwrap(), t);
        // Tear the second part.
        area[600] ^= 1;
        let e = read_text(&area, &p.new_locn).unwrap_err();
        assert!(
            matches!(e, MdaError::TextChecksum { wrapped: true, .. }),
            "{e}"
        );
    }

    #[test]
    fn too_large() {
        let h = MdaHeader::new_empty(4096, 1044480, false);
        assert_eq!(h.max_text_size(), 521472);
        assert!(plan_text_write(&h, &text(521472, 0)).is_ok());
        let e = plan_text_write(&h, &text(521473, 0)).unwrap_err();
        assert!(e.to_string().contains("metadata too large for area"));
    }

    #[test]
    fn ignored_area_restarts_at_512() {
        let mut h = MdaHeader::new_empty(4096, 1044480, false);
        h.committed = RawLocn {
            offset: 4096,
            size: 1612,
            checksum: 1,
            flags: RAW_LOCN_IGNORED,
        };
        assert!(h.committed_text().is_none());
        let p = plan_text_write(&h, &text(100, 0)).unwrap();
        assert_eq!(p.new_locn.offset, 512);
        // Committing into a previously ignored area clears the old pointer
        // first, and un-ignoring clears the flag.
        let c = h.commit(&p.new_locn, false);
        assert_eq!(c.committed.offset, 512);
        assert_eq!(c.committed.flags, 0);
        // Committing while ignored keeps the new pointer but flags it
        // (pvformats/07: offset 4096 size 1612 flags 0x1).
        let c = h.commit(&p.new_locn, true);
        assert_eq!(c.committed.flags, RAW_LOCN_IGNORED);
        assert_eq!(c.committed.offset, 512);
    }

    #[test]
    fn revert_and_remove() {
        let h = MdaHeader::new_empty(4096, 1044480, false);
        let p = plan_text_write(&h, &text(100, 0)).unwrap();
        let c = h.commit(&p.new_locn, false);
        let p2 = plan_text_write(&c, &text(200, 1)).unwrap();
        let pre = c.precommit(&p2.new_locn, false);
        assert_eq!(pre.revert(false), c);
        let r = c.removed(false);
        assert!(r.committed.is_empty() && r.precommitted.is_empty());
    }
}
