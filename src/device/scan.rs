//! Reading devices: one device → [`DevScan`] (its label, metadata areas and
//! the metadata text in each), and many → [`Scan`], with the VGs assembled
//! from the newest copy of each VG's metadata.
//!
//! The I/O half ([`scan_device`]) reads only what lvm2 reads: the first
//! four sectors, each mda header and the committed text. The assembly half
//! ([`assemble`]) is a pure function of the scanned devices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::format::label::{find_label, DiskLocn, PvLabel, LABEL_SCAN_SIZE};
use crate::format::mda::{decode_mda_header, read_text, MdaHeader, RawLocn, MDA_HEADER_SIZE};
use crate::model::{parse_vg_text, TextHeader, Vg};
use crate::uuid;

use super::io::{BlockIo, Device};

/// One metadata area of a PV as found on disk.
#[derive(Debug, Clone)]
pub struct MdaScan {
    /// Where the pv_header says the area is.
    pub locn: DiskLocn,
    /// The header, or why it could not be read.
    pub header: Result<MdaHeader, String>,
    /// The committed text (without its NUL), or why it could not be read;
    /// None when the area holds no text (orphan PV, ignored area).
    pub text: Option<Result<String, String>>,
}

impl MdaScan {
    pub fn ignored(&self) -> bool {
        self.header.as_ref().is_ok_and(|h| h.is_ignored())
    }

    /// The committed slot, when the header is readable.
    pub fn committed(&self) -> Option<RawLocn> {
        self.header.as_ref().ok().map(|h| h.committed)
    }
}

/// A device carrying an LVM2 label.
#[derive(Debug, Clone)]
pub struct PvScan {
    pub path: PathBuf,
    pub devno: Option<(u32, u32)>,
    /// Size of the device in bytes (which may differ from the label's).
    pub dev_size: u64,
    pub label: PvLabel,
    pub mdas: Vec<MdaScan>,
}

impl PvScan {
    /// A copy without the metadata texts (headers and locations kept):
    /// what a writer needs, at a fraction of the size.
    pub fn without_texts(&self) -> PvScan {
        PvScan {
            path: self.path.clone(),
            devno: self.devno,
            dev_size: self.dev_size,
            label: self.label.clone(),
            mdas: self
                .mdas
                .iter()
                .map(|m| MdaScan {
                    locn: m.locn,
                    header: m.header.clone(),
                    text: None,
                })
                .collect(),
        }
    }

    /// The PV id in lvm2's dashed form.
    pub fn uuid(&self) -> String {
        uuid::format(&self.label.pv_uuid_string())
    }

    /// Whether every part of the PV could be read: a command must not write
    /// over a PV it could not read fully.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.mdas {
            if let Err(e) = &m.header {
                out.push(format!("{}: {e}", self.path.display()));
            }
            if let Some(Err(e)) = &m.text {
                out.push(format!("{}: {e}", self.path.display()));
            }
        }
        out
    }
}

/// What one device turned out to be.
#[derive(Debug, Clone)]
pub enum DevScan {
    /// Readable, no LVM2 label.
    NotPv,
    Pv(Box<PvScan>),
    /// Could not be opened or read, or the label is corrupt.
    Error(String),
}

/// Read one device: label, then every metadata area and its committed text.
pub fn scan_device(path: &Path) -> DevScan {
    match Device::open(path, false) {
        Ok(dev) => scan_io(&dev, dev.devno),
        Err(e) => DevScan::Error(e.to_string()),
    }
}

/// [`scan_device`] over any [`BlockIo`].
pub fn scan_io(dev: &dyn BlockIo, devno: Option<(u32, u32)>) -> DevScan {
    let path = dev.path().to_path_buf();
    let size = dev.size();
    if size < LABEL_SCAN_SIZE as u64 {
        return DevScan::NotPv;
    }
    let first = match dev.read_at(0, LABEL_SCAN_SIZE) {
        Ok(b) => b,
        Err(e) => return DevScan::Error(e.to_string()),
    };
    let label = match find_label(&first) {
        Ok(Some(l)) => l,
        Ok(None) => return DevScan::NotPv,
        Err(e) => return DevScan::Error(format!("{}: {e}", path.display())),
    };
    let mdas = label
        .metadata_areas
        .iter()
        .map(|locn| read_mda(dev, *locn))
        .collect();
    DevScan::Pv(Box::new(PvScan {
        path,
        devno,
        dev_size: size,
        label,
        mdas,
    }))
}

fn read_mda(dev: &dyn BlockIo, locn: DiskLocn) -> MdaScan {
    let fail = |e: String| MdaScan {
        locn,
        header: Err(e),
        text: None,
    };
    if locn.size < MDA_HEADER_SIZE * 2 || locn.offset.saturating_add(locn.size) > dev.size() {
        return fail(format!(
            "metadata area at offset {} size {} is outside the device ({} bytes)",
            locn.offset,
            locn.size,
            dev.size()
        ));
    }
    let hbuf = match dev.read_at(locn.offset, MDA_HEADER_SIZE as usize) {
        Ok(b) => b,
        Err(e) => return fail(e.to_string()),
    };
    let header = match decode_mda_header(&hbuf, locn.offset) {
        Ok(h) => h,
        Err(e) => return fail(e.to_string()),
    };
    if header.size != locn.size {
        return fail(format!(
            "mda header at {}: mda_header.size {} differs from the pv_header's {}",
            locn.offset, header.size, locn.size
        ));
    }
    let text = header
        .committed_text()
        .copied()
        .map(|rl| read_committed(dev, &header, &rl));
    MdaScan {
        locn,
        header: Ok(header),
        text,
    }
}

/// Read just the bytes of the committed text (one or two ranges when it
/// wraps) into a sparse copy of the area, and let the format layer check it.
fn read_committed(dev: &dyn BlockIo, h: &MdaHeader, rl: &RawLocn) -> Result<String, String> {
    let size = h.size as usize;
    let mut area = vec![0u8; size];
    let mut ranges = Vec::new();
    if rl.offset < h.size && rl.size <= h.size {
        let first_len = (rl.size).min(h.size - rl.offset);
        ranges.push((rl.offset, first_len));
        if first_len < rl.size {
            ranges.push((MDA_HEADER_SIZE, rl.size - first_len));
        }
    }
    for (off, len) in ranges {
        let end = (off + len).min(h.size);
        if end <= off {
            continue;
        }
        let bytes = dev
            .read_at(h.start + off, (end - off) as usize)
            .map_err(|e| e.to_string())?;
        area[off as usize..end as usize].copy_from_slice(&bytes);
    }
    let text =
        read_text(&area, rl).map_err(|e| format!("metadata area at offset {}: {e}", h.start))?;
    // The stored copy ends with a NUL that is part of size and checksum.
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    String::from_utf8(text[..end].to_vec()).map_err(|_| {
        format!(
            "metadata area at offset {}: metadata text is not valid UTF-8",
            h.start
        )
    })
}

/// A VG assembled from the newest copy of its metadata.
#[derive(Debug, Clone)]
pub struct VgFound {
    pub vg: Vg,
    pub header: TextHeader,
    /// The metadata text it was parsed from (without the NUL).
    pub text: String,
    /// Per PV key: the index into [`Scan::devices`] of the device that
    /// carries it, or None when the PV is missing.
    pub pv_devices: BTreeMap<String, Option<usize>>,
    /// Devices whose metadata areas hold an older seqno of this VG; the
    /// next write brings them up to date.
    pub outdated: Vec<PathBuf>,
}

impl VgFound {
    pub fn missing_pvs(&self) -> Vec<&str> {
        self.pv_devices
            .iter()
            .filter(|(_, d)| d.is_none())
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// Every device looked at, and what the devices add up to.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub devices: Vec<(PathBuf, DevScan)>,
    pub vgs: Vec<VgFound>,
    /// Indices into `devices` of PVs no VG references.
    pub orphans: Vec<usize>,
    /// Warnings about what was found (duplicates, conflicts, bad metadata).
    pub warnings: Vec<String>,
}

impl Scan {
    pub fn pv(&self, idx: usize) -> &PvScan {
        match &self.devices[idx].1 {
            DevScan::Pv(p) => p,
            _ => panic!("device {idx} is not a PV"),
        }
    }

    /// Look a device up by the path it was scanned under, or by a path that
    /// resolves to the same file (symlinks such as /dev/disk/by-id/...).
    pub fn device_index(&self, path: &Path) -> Option<usize> {
        if let Some(i) = self.devices.iter().position(|(p, _)| p == path) {
            return Some(i);
        }
        let canon = std::fs::canonicalize(path).ok()?;
        self.devices
            .iter()
            .position(|(p, _)| std::fs::canonicalize(p).ok().as_ref() == Some(&canon))
    }

    pub fn vg(&self, name: &str) -> Option<&VgFound> {
        self.vgs.iter().find(|v| v.vg.name == name)
    }

    /// The VG a scanned PV belongs to, and its key there.
    pub fn vg_of_device(&self, idx: usize) -> Option<(&VgFound, &str)> {
        self.vgs.iter().find_map(|v| {
            v.pv_devices
                .iter()
                .find(|(_, d)| **d == Some(idx))
                .map(|(k, _)| (v, k.as_str()))
        })
    }

    /// Device path of a PV of a VG, when present.
    pub fn pv_path(&self, vg: &VgFound, key: &str) -> Option<&Path> {
        vg.pv_devices
            .get(key)
            .copied()
            .flatten()
            .map(|i| self.devices[i].0.as_path())
    }
}

/// Scan every device and assemble the VGs.
pub fn scan_devices(paths: &[PathBuf]) -> Scan {
    let devices = paths.iter().map(|p| (p.clone(), scan_device(p))).collect();
    assemble(devices)
}

/// One readable copy of some VG's metadata. It borrows: a VG on hundreds of
/// PVs has hundreds of identical copies, parsed once and never cloned until
/// one is chosen.
struct Copy<'a> {
    vg: &'a Vg,
    header: &'a TextHeader,
    text: &'a str,
    checksum: u32,
    dev: usize,
}

/// Put the scanned devices together into VGs (pure).
///
/// * the newest seqno of each VG id wins; devices holding older copies are
///   reported as outdated (the next write repairs them);
/// * two different texts with the same seqno are a conflict: reported, and
///   the copy found on more devices is used (ties: the first device);
/// * a PV id found on two devices is a duplicate: reported, and the first
///   device in scan order is used;
/// * labelled devices no VG references are orphans.
pub fn assemble(devices: Vec<(PathBuf, DevScan)>) -> Scan {
    let mut warnings = Vec::new();
    let mut parsed: BTreeMap<(u32, u64), Result<(Vg, TextHeader), String>> = BTreeMap::new();
    // (device, text, checksum, parse key) of every committed copy.
    let mut found: Vec<(usize, &str, u32, (u32, u64))> = Vec::new();
    for (i, (path, d)) in devices.iter().enumerate() {
        let DevScan::Pv(pv) = d else {
            if let DevScan::Error(e) = d {
                warnings.push(e.clone());
            }
            continue;
        };
        for w in pv.problems() {
            warnings.push(w);
        }
        for m in &pv.mdas {
            let (Some(Ok(text)), Some(rl)) = (&m.text, m.committed()) else {
                continue;
            };
            // Identical copies on many PVs are parsed once.
            let key = (rl.checksum, rl.size);
            let result = parsed
                .entry(key)
                .or_insert_with(|| parse_vg_text(text).map_err(|e| e.to_string()));
            match result {
                Ok(_) => found.push((i, text.as_str(), rl.checksum, key)),
                Err(e) => warnings.push(format!(
                    "{}: metadata area at offset {}: cannot parse the metadata: {e}",
                    path.display(),
                    m.locn.offset
                )),
            }
        }
    }
    let copies: Vec<Copy> = found
        .into_iter()
        .filter_map(|(dev, text, checksum, key)| match parsed.get(&key) {
            Some(Ok((vg, header))) => Some(Copy {
                vg,
                header,
                text,
                checksum,
                dev,
            }),
            _ => None,
        })
        .collect();

    // Which device carries each PV id (first one wins; others are duplicates).
    let mut by_pvid: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (path, d)) in devices.iter().enumerate() {
        if let DevScan::Pv(pv) = d {
            let id = pv.uuid();
            match by_pvid.get(&id) {
                Some(&first) => warnings.push(format!(
                    "Not using device {} for PV {id}: it duplicates {} (remove or rename the clone).",
                    path.display(),
                    devices[first].0.display()
                )),
                None => {
                    by_pvid.insert(id, i);
                }
            }
        }
    }

    let mut ids: Vec<String> = Vec::new();
    for c in &copies {
        if !ids.contains(&c.vg.id) {
            ids.push(c.vg.id.clone());
        }
    }
    let mut vgs = Vec::new();
    for id in ids {
        let of_vg: Vec<&Copy> = copies.iter().filter(|c| c.vg.id == id).collect();
        let max = of_vg.iter().map(|c| c.vg.seqno).max().unwrap_or(0);
        let newest: Vec<&&Copy> = of_vg.iter().filter(|c| c.vg.seqno == max).collect();
        let mut variants: Vec<(u32, usize)> = Vec::new();
        for c in &newest {
            match variants.iter_mut().find(|(k, _)| *k == c.checksum) {
                Some(v) => v.1 += 1,
                None => variants.push((c.checksum, 1)),
            }
        }
        let best_sum = variants
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(std::cmp::Ordering::Greater))
            .map(|v| v.0)
            .unwrap_or(0);
        let chosen = newest
            .iter()
            .find(|c| c.checksum == best_sum)
            .expect("a copy with the chosen checksum");
        if variants.len() > 1 {
            warnings.push(format!(
                "VG {}: metadata seqno {max} differs between devices ({}); using the copy on {}.",
                chosen.vg.name,
                newest
                    .iter()
                    .map(|c| devices[c.dev].0.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                devices[chosen.dev].0.display()
            ));
        }
        let mut outdated: Vec<PathBuf> = of_vg
            .iter()
            .filter(|c| c.vg.seqno < max)
            .map(|c| devices[c.dev].0.clone())
            .collect();
        outdated.dedup();
        for p in &outdated {
            warnings.push(format!(
                "VG {}: {} has older metadata than seqno {max}; it is updated on the next write.",
                chosen.vg.name,
                p.display()
            ));
        }
        let pv_devices: BTreeMap<String, Option<usize>> = chosen
            .vg
            .pvs
            .iter()
            .map(|p| (p.key.clone(), by_pvid.get(&p.id).copied()))
            .collect();
        // The metadata must fit the device it describes: extents past the
        // end of a (shrunk or truncated) device would lose data.
        for p in &chosen.vg.pvs {
            let Some(Some(i)) = pv_devices.get(&p.key) else {
                continue;
            };
            if let DevScan::Pv(pv) = &devices[*i].1 {
                let end = (p.pe_start + p.pe_count * chosen.vg.extent_size) * 512;
                if end > pv.dev_size {
                    warnings.push(format!(
                        "VG {}: PV {} ({}): pe_start {} + pe_count {} extents end at byte {end}, beyond the end of the device ({} bytes).",
                        chosen.vg.name,
                        devices[*i].0.display(),
                        p.key,
                        p.pe_start,
                        p.pe_count,
                        pv.dev_size
                    ));
                }
            }
        }
        vgs.push(VgFound {
            vg: chosen.vg.clone(),
            header: chosen.header.clone(),
            text: chosen.text.to_string(),
            pv_devices,
            outdated,
        });
    }

    let referenced: Vec<usize> = vgs
        .iter()
        .flat_map(|v| v.pv_devices.values().flatten().copied())
        .collect();
    let orphans = by_pvid
        .values()
        .copied()
        .filter(|i| !referenced.contains(i))
        .collect::<Vec<_>>();
    let mut orphans = orphans;
    orphans.sort();

    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &vgs {
        *names.entry(&v.vg.name).or_default() += 1;
    }
    for (n, c) in names {
        if c > 1 {
            warnings.push(format!(
                "{c} volume groups are named \"{n}\": rename one with vgrename using its UUID."
            ));
        }
    }
    Scan {
        devices,
        vgs,
        orphans,
        warnings,
    }
}
