//! `pvck --dump headers` as a pure function of a device's bytes, printing
//! exactly what lvm2 2.03.16's `tools/pvck.c` prints (`_dump_headers`,
//! `_dump_label_and_pv_header`, `_dump_mda_header`, `_dump_raw_locn`,
//! `_dump_current_text` and their `_check_*` helpers), including the
//! `CHECK:` lines for damaged or missing headers.
//!
//! Unlike lvm2's reader this follows the headers even when they are wrong
//! (it is a diagnostic): the label is read from `label_sector` (pvck's
//! default 1) whatever is there, the area lists are walked up to their
//! offset-0 terminators, and each metadata area's header is dumped.
//! Where lvm2 would read past its 512-byte sector buffer (a list without
//! terminator, a pv_uuid not followed by a NUL) this treats the bytes past
//! the sector as zero.

use super::crc::lvm_crc;
use super::mda::{FMTT_MAGIC, FMTT_VERSION, MDA_HEADER_SIZE, RAW_LOCN_IGNORED};

/// What `pvck --dump headers` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvckDump {
    /// The lines lvm2 prints with `log_print` (stdout), without the two
    /// spaces of indentation lvm2 adds.
    pub lines: Vec<String>,
    /// lvm2 then fails with [`BAD_HEADERS_MESSAGE`] on stderr (exit 5).
    pub bad: bool,
}

/// lvm2's `log_error` at the end of a dump that found problems.
pub const BAD_HEADERS_MESSAGE: &str = "Found bad header or metadata values.";

impl PvckDump {
    /// The stdout text as lvm2 prints it: each line indented by two spaces.
    pub fn output(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str("  ");
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

/// Characters allowed in an lvm2 id (`_c` in lvm2's uuid.c).
const ID_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#";

/// `_chars_to_str`: printable ASCII kept, anything else as '?'.
fn chars_to_str(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

/// `_chars_to_hexstr`: each byte as `%x`, no padding (so 0x05 is "5").
fn chars_to_hexstr(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:x}")).collect()
}

/// A 512-byte sector buffer; reads past its end give zeros (see module doc).
struct Sector<'a>(&'a [u8]);

impl Sector<'_> {
    fn u32(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        for (i, x) in b.iter_mut().enumerate() {
            *x = self.0.get(at + i).copied().unwrap_or(0);
        }
        u32::from_le_bytes(b)
    }
    fn u64(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        for (i, x) in b.iter_mut().enumerate() {
            *x = self.0.get(at + i).copied().unwrap_or(0);
        }
        u64::from_le_bytes(b)
    }
}

/// lvm2's `id_read_format_try` applied to `pv_header.pv_uuid` as pvck calls
/// it: the bytes are read as a C string (so past the 32 id bytes, into
/// device_size, up to the first NUL), dashes are skipped, and exactly 32
/// characters from the id alphabet must remain.
fn pv_uuid_valid(sector: &[u8], at: usize) -> bool {
    let mut n = 0;
    for &c in sector.get(at..).unwrap_or(&[]) {
        if c == 0 {
            break;
        }
        if c == b'-' {
            continue;
        }
        if n >= 32 || !ID_CHARS.contains(&c) {
            return false;
        }
        n += 1;
    }
    n == 32
}

/// pvck's summary of the text: the name of the first section (the VG name)
/// and the `seqno` directly inside it. pvck gets these from the config
/// parser; this scans for them (skipping comments and strings).
fn text_summary(text: &[u8]) -> (Option<String>, u32) {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || b"._-+".contains(&c);
    let mut i = 0;
    let mut depth = 0usize;
    let mut vgname: Option<String> = None;
    let mut seqno = 0u32;
    while i < text.len() {
        let c = text[i];
        match c {
            0 => break,
            b'#' => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    if text[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && vgname.is_some() {
                    break;
                }
                i += 1;
            }
            c if is_ident(c) => {
                let start = i;
                while i < text.len() && is_ident(text[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                let mut j = i;
                while j < text.len() && text[j].is_ascii_whitespace() {
                    j += 1;
                }
                let next = text.get(j).copied();
                if depth == 0 && vgname.is_none() && next == Some(b'{') {
                    vgname = Some(String::from_utf8_lossy(word).into_owned());
                } else if depth == 1 && vgname.is_some() && word == b"seqno" && next == Some(b'=') {
                    j += 1;
                    while j < text.len() && text[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    let ds = j;
                    while j < text.len() && text[j].is_ascii_digit() {
                        j += 1;
                    }
                    if let Ok(n) = std::str::from_utf8(&text[ds..j]).unwrap_or("").parse() {
                        seqno = n;
                    }
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    (vgname, seqno)
}

struct Dumper<F> {
    read: F,
    lines: Vec<String>,
}

/// Location/size of mda 1 and mda 2 from the pv_header (pvck keeps the
/// first and the last metadata area it sees).
#[derive(Default)]
struct Mdas {
    count: usize,
    mda1: (u64, u64),
    mda2: (u64, u64),
}

impl<F: FnMut(u64, usize) -> Option<Vec<u8>>> Dumper<F> {
    fn p(&mut self, s: String) {
        self.lines.push(s);
    }

    /// `_dump_label_and_pv_header`; returns whether it found no problem.
    fn label_and_pv_header(&mut self, labelsector: u64, mdas: &mut Mdas) -> bool {
        let lh_offset = labelsector.wrapping_mul(512);
        let Some(buf) = (self.read)(lh_offset, 512) else {
            self.p(format!("CHECK: failed to read label_header at {lh_offset}"));
            return false;
        };
        let s = Sector(&buf);
        let mut bad = 0;

        self.p(format!("label_header at {lh_offset}"));
        self.p(format!("label_header.id {}", chars_to_str(&buf[0..8])));
        self.p(format!("label_header.sector {}", s.u64(8)));
        self.p(format!("label_header.crc 0x{:x}", s.u32(16)));
        self.p(format!("label_header.offset {}", s.u32(20)));
        self.p(format!("label_header.type {}", chars_to_str(&buf[24..32])));

        // _check_label_header
        if &buf[0..8] != b"LABELONE" {
            self.p("CHECK: label_header.id expected LABELONE".into());
            bad += 1;
        }
        if s.u64(8) != labelsector {
            // lvm2 prints the expected sector with "%d" of an int cast.
            self.p(format!(
                "CHECK: label_header.sector expected {}",
                labelsector as i32
            ));
            bad += 1;
        }
        let crc = lvm_crc(&buf[20..512]);
        if crc != s.u32(16) {
            self.p(format!("CHECK: label_header.crc expected 0x{crc:x}"));
            bad += 1;
        }
        if s.u32(20) != 32 {
            self.p("CHECK: label_header.offset expected 32".into());
            bad += 1;
        }
        if &buf[24..32] != b"LVM2 001" {
            self.p("CHECK: label_header.type expected LVM2 001".into());
            bad += 1;
        }

        // The pv_header is read at 32 whatever label_header.offset says.
        let pvh_offset = lh_offset + 32;
        self.p(format!("pv_header at {pvh_offset}"));
        self.p(format!("pv_header.pv_uuid {}", chars_to_str(&buf[32..64])));
        self.p(format!("pv_header.device_size {}", s.u64(64)));
        if !pv_uuid_valid(&buf, 32) {
            self.p("CHECK: pv_header.pv_uuid invalid format".into());
            bad += 1;
        }

        let mut di = 0;
        let mut at = 72usize;
        while s.u64(at) != 0 {
            let off = lh_offset + at as u64;
            self.p(format!(
                "pv_header.disk_locn[{di}] at {off} # location of data area"
            ));
            self.p(format!("pv_header.disk_locn[{di}].offset {}", s.u64(at)));
            self.p(format!("pv_header.disk_locn[{di}].size {}", s.u64(at + 8)));
            di += 1;
            at += 16;
        }
        self.list_end("pv_header", di, lh_offset, &s, at);
        di += 1;
        at += 16;

        while s.u64(at) != 0 {
            let off = lh_offset + at as u64;
            let (o, z) = (s.u64(at), s.u64(at + 8));
            self.p(format!(
                "pv_header.disk_locn[{di}] at {off} # location of metadata area"
            ));
            self.p(format!("pv_header.disk_locn[{di}].offset {o}"));
            self.p(format!("pv_header.disk_locn[{di}].size {z}"));
            if mdas.count == 0 {
                mdas.mda1 = (o, z);
                // mda 1 sits at the page size of the machine that made it.
                if o != 4096 && o != 8192 && o != 65536 {
                    self.p(format!(
                        "WARNING: pv_header.disk_locn[{di}].offset {o} is unexpected # for first mda"
                    ));
                }
            } else {
                mdas.mda2 = (o, z);
            }
            di += 1;
            at += 16;
            mdas.count += 1;
        }
        self.list_end("pv_header", di, lh_offset, &s, at);
        at += 16;

        let pvhe_offset = lh_offset + at as u64;
        self.p(format!("pv_header_extension at {pvhe_offset}"));
        self.p(format!("pv_header_extension.version {}", s.u32(at)));
        self.p(format!("pv_header_extension.flags {}", s.u32(at + 4)));
        let mut di = 0;
        at += 8;
        while s.u64(at) != 0 {
            let off = lh_offset + at as u64;
            self.p(format!(
                "pv_header_extension.disk_locn[{di}] at {off} # bootloader area"
            ));
            self.p(format!(
                "pv_header_extension.disk_locn[{di}].offset {}",
                s.u64(at)
            ));
            self.p(format!(
                "pv_header_extension.disk_locn[{di}].size {}",
                s.u64(at + 8)
            ));
            di += 1;
            at += 16;
        }
        self.list_end("pv_header_extension", di, lh_offset, &s, at);

        bad == 0
    }

    fn list_end(&mut self, what: &str, di: usize, base: u64, s: &Sector, at: usize) {
        let off = base + at as u64;
        self.p(format!(
            "{what}.disk_locn[{di}] at {off} # location list end"
        ));
        self.p(format!("{what}.disk_locn[{di}].offset {}", s.u64(at)));
        self.p(format!("{what}.disk_locn[{di}].size {}", s.u64(at + 8)));
    }

    /// `_dump_mda_header`; returns (ok, raw_locn[0].checksum).
    fn mda_header(&mut self, mda_offset: u64, mda_size: u64) -> (bool, u32) {
        // pvck names the area by where it is, not by its index.
        let mn = if mda_offset == 4096 { 1 } else { 2 };
        let Some(buf) = (self.read)(mda_offset, 512) else {
            self.p(format!("CHECK: failed to read mda_header at {mda_offset}"));
            return (false, 0);
        };
        let s = Sector(&buf);
        let mut bad = 0;

        self.p(format!("mda_header_{mn} at {mda_offset} # metadata area"));
        self.p(format!("mda_header_{mn}.checksum 0x{:x}", s.u32(0)));
        self.p(format!(
            "mda_header_{mn}.magic 0x{}",
            chars_to_hexstr(&buf[4..20])
        ));
        self.p(format!("mda_header_{mn}.version {}", s.u32(20)));
        self.p(format!("mda_header_{mn}.start {}", s.u64(24)));
        self.p(format!("mda_header_{mn}.size {}", s.u64(32)));

        // _check_mda_header
        let crc = lvm_crc(&buf[4..512]);
        if crc != s.u32(0) {
            self.p(format!(
                "CHECK: mda_header_{mn}.checksum expected 0x{crc:x}"
            ));
            bad += 1;
        }
        if &buf[4..20] != FMTT_MAGIC {
            self.p(format!(
                "CHECK: mda_header_{mn}.magic expected 0x{}",
                chars_to_hexstr(FMTT_MAGIC)
            ));
            bad += 1;
        }
        if s.u32(20) != FMTT_VERSION {
            self.p(format!(
                "CHECK: mda_header_{mn}.version expected {FMTT_VERSION}"
            ));
            bad += 1;
        }
        if s.u64(24) != mda_offset {
            self.p(format!(
                "CHECK: mda_header_{mn}.start does not match pv_header.disk_locn.offset {mda_offset}"
            ));
            bad += 1;
        }
        if s.u64(32) != mda_size {
            self.p(format!(
                "CHECK: mda_header_{mn}.size does not match pv_header.disk_locn.size {mda_size}"
            ));
            bad += 1;
        }

        let text = self.raw_locn(&s, 0, mda_offset, mda_size, mn);
        self.raw_locn(&s, 1, mda_offset, mda_size, mn);
        let checksum0 = text.map_or(0, |t| t.2);
        if let Some((meta_offset, meta_size, meta_checksum)) = text {
            if meta_offset != 0
                && !self.current_text(
                    mn,
                    mda_offset,
                    mda_size,
                    meta_offset,
                    meta_size,
                    meta_checksum,
                )
            {
                bad += 1;
            }
        }
        (bad == 0, checksum0)
    }

    /// `_dump_raw_locn`: prints slot `ri`; for a used slot returns
    /// (offset, size clamped to the buffer, checksum).
    fn raw_locn(
        &mut self,
        s: &Sector,
        ri: usize,
        mda_offset: u64,
        mda_size: u64,
        mn: u32,
    ) -> Option<(u64, u64, u32)> {
        let at = 40 + 24 * ri;
        let rlocn_offset = mda_offset.wrapping_add(at as u64);
        let meta_offset = s.u64(at);
        let mut meta_size = s.u64(at + 8);
        let meta_checksum = s.u32(at + 16);
        let meta_flags = s.u32(at + 20);
        let wrapped = meta_offset.wrapping_add(meta_size) > mda_size;

        self.p(format!(
            "mda_header_{mn}.raw_locn[{ri}] at {rlocn_offset} # {}{}",
            if ri == 0 { "commit" } else { "precommit" },
            if wrapped { " wrapped" } else { "" }
        ));
        self.p(format!(
            "mda_header_{mn}.raw_locn[{ri}].offset {meta_offset}"
        ));
        self.p(format!("mda_header_{mn}.raw_locn[{ri}].size {meta_size}"));
        self.p(format!(
            "mda_header_{mn}.raw_locn[{ri}].checksum 0x{meta_checksum:x}"
        ));
        if meta_flags & RAW_LOCN_IGNORED != 0 {
            self.p(format!(
                "mda_header_{mn}.raw_locn[{ri}].flags 0x{meta_flags:x} # RAW_LOCN_IGNORED"
            ));
        } else {
            self.p(format!(
                "mda_header_{mn}.raw_locn[{ri}].flags 0x{meta_flags:x}"
            ));
        }
        if ri == 1 && meta_offset != 0 {
            self.p(format!(
                "CHECK: mda_header_{mn}.raw_locn[{ri}] for precommit not empty"
            ));
        }
        if meta_flags & RAW_LOCN_IGNORED != 0 {
            return None;
        }
        let buffer = mda_size.wrapping_sub(MDA_HEADER_SIZE);
        if meta_size > buffer {
            self.p(format!(
                "CHECK: mda_header_{mn}.raw_locn[{ri}].size larger than metadata area size"
            ));
            meta_size = buffer;
        }
        Some((meta_offset, meta_size, meta_checksum))
    }

    /// `_dump_current_text`: reads the committed text (following a wrap),
    /// checks its checksum and prints the summary line.
    fn current_text(
        &mut self,
        mn: u32,
        mda_offset: u64,
        mda_size: u64,
        meta_offset: u64,
        meta_size: u64,
        meta_checksum: u32,
    ) -> bool {
        let ri = 0;
        let mut bad = 0;
        // lvm2 does this arithmetic in unsigned C (wrapping), partly in 32 bits.
        let text = if meta_offset.wrapping_add(meta_size) > mda_size {
            let wrap = meta_offset.wrapping_add(meta_size).wrapping_sub(mda_size) as u32 as u64;
            let offset_a = mda_offset.wrapping_add(meta_offset);
            let size_a = meta_size.wrapping_sub(wrap) as u32 as usize;
            let offset_b = mda_offset.wrapping_add(512);
            let Some(mut a) = (self.read)(offset_a, size_a) else {
                self.p(format!(
                    "CHECK: failed to read metadata text at mda_header_{mn}.raw_locn[{ri}].offset {meta_offset} size {meta_size} part_a {offset_a} {size_a}"
                ));
                return false;
            };
            let Some(b) = (self.read)(offset_b, wrap as usize) else {
                self.p(format!(
                    "CHECK: failed to read metadata text at mda_header_{mn}.raw_locn[{ri}].offset {meta_offset} size {meta_size} part_b {offset_b} {wrap}"
                ));
                return false;
            };
            a.extend_from_slice(&b);
            a
        } else {
            let at = mda_offset.wrapping_add(meta_offset);
            let Some(t) = (self.read)(at, meta_size as usize) else {
                self.p(format!(
                    "CHECK: failed to read metadata text at mda_header_{mn}.raw_locn[{ri}].offset {meta_offset} size {meta_size}"
                ));
                return false;
            };
            t
        };
        let crc = lvm_crc(&text);
        let at = mda_offset.wrapping_add(meta_offset);
        if crc != meta_checksum {
            self.p(format!(
                "CHECK: metadata text at {at} crc does not match mda_header_{mn}.raw_locn[{ri}].checksum"
            ));
            bad += 1;
        }
        let (vgname, seqno) = text_summary(&text);
        self.p(format!(
            "metadata text at {at} crc 0x{crc:x} # vgname {} seqno {seqno}",
            vgname.as_deref().unwrap_or("?")
        ));
        bad == 0
    }
}

/// `pvck --dump headers [--labelsector N]` over a device read through
/// `read(offset, len)`, which returns `None` when the range cannot be read
/// (e.g. past the end of the device).
pub fn dump_headers<F>(read: F, label_sector: u64) -> PvckDump
where
    F: FnMut(u64, usize) -> Option<Vec<u8>>,
{
    let mut d = Dumper {
        read,
        lines: Vec::new(),
    };
    let mut mdas = Mdas::default();
    let mut bad = !d.label_and_pv_header(label_sector, &mut mdas);

    if mdas.count == 0 {
        // lvm2 returns success here even when the label was bad.
        d.p("zero metadata copies".into());
        return PvckDump {
            lines: d.lines,
            bad: false,
        };
    }

    let (ok1, checksum1) = d.mda_header(mdas.mda1.0, mdas.mda1.1);
    bad |= !ok1;
    if mdas.mda2.0 != 0 {
        let (ok2, checksum2) = d.mda_header(mdas.mda2.0, mdas.mda2.1);
        bad |= !ok2;
        // Probably one area committed and the other not.
        if checksum1 != 0 && checksum2 != 0 && checksum1 != checksum2 {
            d.p("CHECK: mdas have different raw_locn[0].checksum values".into());
        }
    }
    PvckDump {
        lines: d.lines,
        bad,
    }
}

/// [`dump_headers`] over a whole device image in memory, label sector 1.
pub fn dump_headers_image(image: &[u8]) -> PvckDump {
    dump_headers(
        |offset, len| {
            let start = usize::try_from(offset).ok()?;
            let end = start.checked_add(len)?;
            image.get(start..end).map(<[u8]>::to_vec)
        },
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_device() {
        let img = vec![0u8; 8192];
        let d = dump_headers_image(&img);
        assert!(!d.bad);
        assert_eq!(d.lines.last().unwrap(), "zero metadata copies");
        assert!(d
            .lines
            .contains(&"CHECK: label_header.crc expected 0x2c81f10".to_string()));
        assert_eq!(d.lines[1], "label_header.id ????????");
    }

    #[test]
    fn too_short_to_read() {
        let d = dump_headers_image(&[0u8; 100]);
        assert_eq!(
            d.lines,
            vec![
                "CHECK: failed to read label_header at 512".to_string(),
                "zero metadata copies".to_string()
            ]
        );
    }

    #[test]
    fn summary() {
        let t = b"# comment {\nvg0 {\nid = \"a{b\"\nx { seqno = 9 }\nseqno = 42\n}\n\0";
        assert_eq!(text_summary(t), (Some("vg0".into()), 42));
        assert_eq!(text_summary(b"garbage"), (None, 0));
    }

    #[test]
    fn uuid_format() {
        let mut s = [0u8; 512];
        s[32..64].copy_from_slice(b"ZcxgJ1FdxecIvblEqxOeszfntFhaTD2h");
        assert!(pv_uuid_valid(&s, 32));
        // A non-zero low byte of device_size makes lvm2 read 33 chars.
        s[64] = 1;
        assert!(!pv_uuid_valid(&s, 32));
        s[64] = 0;
        s[40] = b'$';
        assert!(!pv_uuid_valid(&s, 32));
    }

    #[test]
    fn hexstr_no_padding() {
        assert_eq!(chars_to_hexstr(&[0x20, 0x05, 0x00]), "2050");
        assert_eq!(
            chars_to_hexstr(FMTT_MAGIC),
            "204c564d3220785b35412572304e2a3e"
        );
    }
}
