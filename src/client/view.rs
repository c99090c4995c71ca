//! The daemon's image of the system turned into the same [`Scan`] a disk
//! scan gives, so every command reads lvmetad without knowing it.
//!
//! Pure: replies in, `Scan` out. Each PV the daemon knows becomes a
//! [`PvScan`] rebuilt from its [`PvMeta`] (label sector, data area,
//! metadata areas with headers whose committed slot describes the text),
//! and each PV of a VG carries the VG's metadata text in its in-use
//! metadata areas, as it would on disk. [`assemble`] then does what it
//! does for a disk scan: newest copy, missing PVs, duplicates, orphans.
//!
//! What the daemon does not keep is approximated: the label's own
//! `device_size` is taken to be the device size, bootloader areas are not
//! known, and the text header (description, creation host and time) of the
//! metadata is blank.

use std::path::{Path, PathBuf};

use crate::device::scan::{assemble, DevScan, MdaScan, PvScan, Scan};
use crate::format::config::{Node, Section, Value};
use crate::format::crc::lvm_crc;
use crate::format::label::{DiskLocn, PvHeaderExt, PvLabel, ID_LEN};
use crate::format::mda::{MdaHeader, RawLocn, FMTT_VERSION, MDA_HEADER_SIZE, RAW_LOCN_IGNORED};
use crate::model::text::LVM2_GENERATOR;
use crate::model::{vg_to_text, TextHeader, TextStyle, Vg};
use crate::protocol::{get_section, get_str, PvMeta};

/// The PVs of a `pv_list` reply (`physical_volumes { <id> { ... } }`).
/// Entries that do not decode are returned as warnings.
pub fn pvs_from_list(body: &Section) -> (Vec<PvMeta>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let Some(list) = get_section(body, "physical_volumes") else {
        return (out, warnings);
    };
    for (key, node) in &list.items {
        let Node::Section(s) = node else { continue };
        let meta = PvMeta::from_section(s).or_else(|| {
            // A daemon that keys entries by id may leave the id out.
            let mut with_id = s.clone();
            with_id
                .items
                .insert(0, ("id".into(), Node::Value(Value::Str(key.clone()))));
            PvMeta::from_section(&with_id)
        });
        match meta {
            Some(m) => out.push(m),
            None => warnings.push(format!(
                "lvmetad: PV entry \"{key}\" is incomplete; ignored."
            )),
        }
    }
    (out, warnings)
}

/// The VGs of a `vg_list` reply (`volume_groups { <vgid> { name = ... } }`):
/// (id, name).
pub fn vgs_from_list(body: &Section) -> Vec<(String, Option<String>)> {
    get_section(body, "volume_groups")
        .map(|l| {
            l.items
                .iter()
                .filter_map(|(id, n)| match n {
                    Node::Section(s) => Some((id.clone(), get_str(s, "name").map(str::to_string))),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The VG of a `vg_lookup` reply: its name and metadata section.
pub fn vg_from_lookup(body: &Section, fallback_name: Option<&str>) -> Option<(String, Section)> {
    let name = get_str(body, "name").or(fallback_name)?;
    let metadata = get_section(body, "metadata")?;
    Some((name.to_string(), metadata.clone()))
}

/// The keys lvm2's daemon merged into each PV of a looked-up VG from the
/// PV's pvmeta, which are not VG metadata.
const PVMETA_ONLY: &[&str] = &[
    "device_name",
    "format",
    "label_sector",
    "ext_version",
    "ext_flags",
    "vgid",
    "vgname",
    "devices_alternate",
];

/// The VG section without anything a daemon annotated it with: `MISSING`
/// in a PV's `status` (lookups mark absent PVs so; lvm2 stores a
/// persistent MISSING in `flags`, which stays), the integer `device` (the
/// string one is the metadata's own hint) and the pvmeta keys lvm2's
/// daemon merged into each PV.
pub fn strip_annotations(metadata: &Section) -> Section {
    let mut m = metadata.clone();
    m.items
        .retain(|(k, _)| !matches!(k.as_str(), "outdated_pvs" | "vg_invalid" | "global_invalid"));
    if let Some((_, Node::Section(pvs))) = m.items.iter_mut().find(|(k, _)| k == "physical_volumes")
    {
        for (_, pv) in pvs.items.iter_mut() {
            if let Node::Section(pv) = pv {
                if let Some(Node::Value(Value::Array(status))) = pv.get_mut("status") {
                    status.retain(|v| v.as_str() != Some("MISSING"));
                }
                pv.items.retain(|(k, n)| {
                    let numbered = |p: &str| {
                        k.strip_prefix(p)
                            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                    };
                    !(PVMETA_ONLY.contains(&k.as_str())
                        || (k == "device" && !matches!(n, Node::Value(Value::Str(_))))
                        || numbered("mda")
                        || numbered("da")
                        || numbered("ea"))
                });
            }
        }
    }
    m
}

/// A blank text header: the daemon does not keep the original one.
fn blank_header() -> TextHeader {
    TextHeader {
        generator: LVM2_GENERATOR.to_string(),
        description: String::new(),
        creation_host: String::new(),
        creation_host_uname: String::new(),
        creation_host_system_id: None,
        creation_time: 0,
        extra: Vec::new(),
    }
}

/// The PV as a disk scan would have found it, with `text` (the metadata
/// text, without NUL) in every metadata area not marked ignored.
pub fn pv_scan(meta: &PvMeta, path: PathBuf, text: Option<&str>) -> PvScan {
    let mut pv_uuid = [b'0'; ID_LEN];
    let raw: Vec<u8> = meta.id.bytes().filter(|&b| b != b'-').collect();
    let n = raw.len().min(ID_LEN);
    pv_uuid[..n].copy_from_slice(&raw[..n]);
    let label = PvLabel {
        sector: meta.label_sector,
        pv_uuid,
        device_size: meta.dev_size,
        data_areas: vec![DiskLocn::new(meta.pe_start, 0)],
        metadata_areas: meta
            .mdas
            .iter()
            .map(|&(o, s, _)| DiskLocn::new(o, s))
            .collect(),
        ext: (meta.ext_version > 0).then(|| PvHeaderExt {
            version: meta.ext_version,
            flags: meta.ext_flags,
            bootloader_areas: Vec::new(),
        }),
    };
    let stored = text.map(|t| {
        let mut bytes = t.as_bytes().to_vec();
        bytes.push(0);
        (bytes.len() as u64, lvm_crc(&bytes))
    });
    let mdas = meta
        .mdas
        .iter()
        .map(|&(offset, size, ignored)| {
            let mut committed = RawLocn::default();
            let mut mda_text = None;
            if ignored {
                committed.flags = RAW_LOCN_IGNORED;
            } else if let (Some(t), Some((len, crc))) = (text, stored) {
                committed = RawLocn {
                    offset: MDA_HEADER_SIZE,
                    size: len,
                    checksum: crc,
                    flags: 0,
                };
                mda_text = Some(Ok(t.to_string()));
            }
            MdaScan {
                locn: DiskLocn::new(offset, size),
                header: Ok(MdaHeader {
                    checksum: 0,
                    version: FMTT_VERSION,
                    start: offset,
                    size,
                    committed,
                    precommitted: RawLocn::default(),
                }),
                text: mda_text,
            }
        })
        .collect();
    PvScan {
        path,
        devno: super::pvmeta::split_devno(meta.device),
        dev_size: meta.dev_size,
        label,
        mdas,
    }
}

/// Everything the daemon knows, as a [`Scan`].
///
/// `path_of` names the device of each PV (the daemon's name hint, or the
/// current name of its device number); `accept` drops devices the lvm.conf
/// filter rejects. Problems with what the daemon sent become warnings.
pub fn build_scan(
    pvs: &[PvMeta],
    vgs: &[(String, Section)],
    path_of: impl Fn(&PvMeta) -> PathBuf,
    accept: impl Fn(&Path) -> bool,
) -> Scan {
    let mut warnings = Vec::new();
    // Each VG's text, and the PV ids it lists.
    let mut texts: Vec<(Vec<String>, String)> = Vec::new();
    for (name, metadata) in vgs {
        match Vg::from_config(name, &strip_annotations(metadata)) {
            Ok(vg) => {
                let ids = vg.pvs.iter().map(|p| p.id.clone()).collect();
                texts.push((ids, vg_to_text(&vg, &blank_header(), TextStyle::Disk)));
            }
            Err(e) => warnings.push(format!(
                "lvmetad: metadata of VG {name} does not parse: {e}"
            )),
        }
    }
    let mut devices = Vec::new();
    for meta in pvs {
        let path = path_of(meta);
        if !accept(&path) {
            log::debug!(
                "{}: rejected by the lvm.conf filter (known to lvmetad)",
                path.display()
            );
            continue;
        }
        // The newest VG claiming the PV gives its text (assemble sorts out
        // conflicts among VGs just as for a disk scan).
        let text = texts
            .iter()
            .find(|(ids, _)| ids.contains(&meta.id))
            .map(|(_, t)| t.as_str());
        let pv = pv_scan(meta, path.clone(), text);
        devices.push((path, DevScan::Pv(Box::new(pv))));
    }
    let mut scan = assemble(devices);
    warnings.append(&mut scan.warnings);
    scan.warnings = warnings;
    scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::config::parse;

    const VG: &str = r#"
id = "Yx1bQ3-Dd0A-ZC1r-mBlS-Jx6J-2Vx1-aB3cD4"
seqno = 3
format = "lvm2"
status = ["RESIZEABLE", "READ", "WRITE"]
flags = []
extent_size = 8192
max_lv = 0
max_pv = 0
metadata_copies = 0
physical_volumes {
    pv0 {
        id = "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu"
        device = "/dev/loop1"
        status = ["ALLOCATABLE"]
        flags = []
        dev_size = 204800
        pe_start = 2048
        pe_count = 24
    }
    pv1 {
        id = "a1b2c3-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu"
        device = "/dev/loop2"
        status = ["ALLOCATABLE"]
        flags = []
        dev_size = 204800
        pe_start = 2048
        pe_count = 24
    }
}
"#;

    fn meta(id: &str, dev: u64, name: &str) -> PvMeta {
        PvMeta {
            id: id.into(),
            device: dev,
            device_name: name.into(),
            dev_size: 100 << 20,
            label_sector: 1,
            pe_start: 1 << 20,
            mdas: vec![(4096, 1044480, false)],
            ext_version: 2,
            ext_flags: 1,
        }
    }

    #[test]
    fn the_daemon_view_assembles_like_a_disk_scan() {
        let vg = parse(VG).unwrap();
        let pvs = vec![
            meta(
                "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu",
                7 << 8 | 1,
                "/dev/loop1",
            ),
            meta(
                "orphan-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu",
                7 << 8 | 3,
                "/dev/loop3",
            ),
        ];
        let scan = build_scan(
            &pvs,
            &[("vg0".into(), vg)],
            |m| PathBuf::from(&m.device_name),
            |_| true,
        );
        assert_eq!(scan.vgs.len(), 1, "{:?}", scan.warnings);
        let found = &scan.vgs[0];
        assert_eq!(found.vg.name, "vg0");
        assert_eq!(found.vg.seqno, 3);
        // pv1 is not known to the daemon: missing, as a disk scan says.
        assert_eq!(found.missing_pvs(), vec!["pv1"]);
        assert_eq!(scan.orphans.len(), 1);
        assert_eq!(scan.devices[scan.orphans[0]].0, PathBuf::from("/dev/loop3"));
        let pv = scan.pv(0);
        assert_eq!(pv.devno, Some((7, 1)));
        assert_eq!(pv.uuid(), "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu");
        assert!(pv.problems().is_empty());
        assert!(pv.mdas[0].committed().unwrap().size > 100);
        // A filter rejecting a device hides it.
        let scan = build_scan(
            &pvs,
            &[],
            |m| PathBuf::from(&m.device_name),
            |p| !p.ends_with("loop3"),
        );
        assert_eq!(scan.devices.len(), 1);
    }

    #[test]
    fn daemon_annotations_are_stripped() {
        let mut vg = parse(VG).unwrap();
        if let Some(Node::Section(pvs)) = vg.get_mut("physical_volumes") {
            if let Some(Node::Section(pv0)) = pvs.get_mut("pv0") {
                pv0.items
                    .push(("device".into(), Node::Value(Value::Int(1793))));
                pv0.items
                    .push(("format".into(), Node::Value(Value::Str("lvm2".into()))));
                pv0.items
                    .push(("mda0".into(), Node::Section(Section::default())));
                if let Some(Node::Value(Value::Array(status))) = pv0.get_mut("status") {
                    status.push(Value::Str("MISSING".into()));
                }
            }
        }
        let clean = strip_annotations(&vg);
        assert_eq!(clean, parse(VG).unwrap());
    }

    #[test]
    fn list_replies_decode() {
        let body = parse(
            "physical_volumes { abc { device = 5 dev_size = 10 } xyz { id = \"xyz\" } }\n\
             volume_groups { vgid1 { name = \"vg0\" } }",
        )
        .unwrap();
        let (pvs, warnings) = pvs_from_list(&body);
        assert_eq!(pvs.len(), 1);
        assert_eq!(pvs[0].id, "abc");
        assert_eq!(warnings.len(), 1, "xyz has no device");
        assert_eq!(
            vgs_from_list(&body),
            vec![("vgid1".to_string(), Some("vg0".to_string()))]
        );
        let lookup = parse("name = \"vg0\" metadata { seqno = 1 }").unwrap();
        assert_eq!(vg_from_lookup(&lookup, None).unwrap().0, "vg0");
    }
}
