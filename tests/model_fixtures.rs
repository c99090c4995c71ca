//! The model against metadata written by real lvm2 2.03.16
//! (tests/fixtures/lvm2): every vgcfgbackup file and the committed text of
//! metadata areas must parse, validate, and print back byte for byte.

use std::io::Read;
use std::path::{Path, PathBuf};

use lvmetad::model::{parse_vg_text, vg_to_disk_text, vg_to_text, TextStyle};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lvm2")
}

/// Every file under `dir` whose name satisfies `pred`, sorted.
fn find(dir: &Path, pred: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find(&p, pred, out);
        } else if pred(p.file_name().unwrap().to_str().unwrap()) {
            out.push(p);
        }
    }
}

/// The fixtures were written on a host running in UTC; lvm2 formats the
/// dates in its comments in local time, so print in UTC too.
fn utc() {
    std::env::set_var("TZ", "UTC");
}

fn backups() -> Vec<PathBuf> {
    let mut v = Vec::new();
    find(
        &fixtures(),
        &|n| n.starts_with("vgcfgbackup.") && n.ends_with(".vg"),
        &mut v,
    );
    assert!(v.len() >= 30, "fixtures missing: {}", v.len());
    v
}

/// Line-by-line difference, for readable failures.
fn diff(expected: &str, got: &str) -> String {
    for (i, (a, b)) in expected.lines().zip(got.lines()).enumerate() {
        if a != b {
            return format!("line {}:\n  lvm2: {a:?}\n  ours: {b:?}", i + 1);
        }
    }
    format!(
        "lengths differ: lvm2 {} lines / {} bytes, ours {} lines / {} bytes",
        expected.lines().count(),
        expected.len(),
        got.lines().count(),
        got.len()
    )
}

#[test]
fn vgcfgbackup_files_round_trip_byte_for_byte() {
    utc();
    for path in backups() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (vg, header) = parse_vg_text(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(errs) = vg.validate() {
            panic!("{}: {errs:#?}", path.display());
        }
        let printed = vg_to_text(&vg, &header, TextStyle::Backup);
        assert!(
            printed == text,
            "{}: {}",
            path.display(),
            diff(&text, &printed)
        );
        let (again, header_again) = parse_vg_text(&printed).unwrap();
        assert_eq!(again, vg, "{}", path.display());
        assert_eq!(header_again, header, "{}", path.display());
    }
}

/// The committed slot of one metadata area, from `pvck --dump headers`.
#[derive(Debug)]
struct Committed {
    mda_start: u64,
    mda_size: u64,
    offset: u64,
    size: u64,
    checksum: u32,
}

fn committed_slots(pvck: &str) -> Vec<Committed> {
    let mut out = Vec::new();
    let field = |name: &str, k: u32| -> Option<u64> {
        let prefix = format!("mda_header_{k}.{name} ");
        pvck.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.split_whitespace().next())
            .map(|v| match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap(),
                None => v.parse().unwrap(),
            })
    };
    for k in 1..=2 {
        let (Some(mda_start), Some(mda_size), Some(offset), Some(size), Some(sum), Some(flags)) = (
            field("start", k),
            field("size", k),
            field("raw_locn[0].offset", k),
            field("raw_locn[0].size", k),
            field("raw_locn[0].checksum", k),
            field("raw_locn[0].flags", k),
        ) else {
            continue;
        };
        // Empty or ignored (RAW_LOCN_IGNORED) slots hold no current text.
        if size == 0 || flags != 0 {
            continue;
        }
        out.push(Committed {
            mda_start,
            mda_size,
            offset,
            size,
            checksum: sum as u32,
        });
    }
    out
}

/// The byte ranges of a metadata text in the image: it may wrap from the
/// end of the area's circular buffer to its start (after the 512-byte
/// mda_header).
fn text_ranges(c: &Committed) -> Vec<(u64, u64)> {
    let first = c.size.min(c.mda_size - c.offset);
    let mut v = vec![(c.mda_start + c.offset, first)];
    if first < c.size {
        v.push((c.mda_start + 512, c.size - first));
    }
    v
}

/// Decompress just enough of an image to copy out `ranges` (in order).
fn read_ranges(image: &Path, ranges: &[(u64, u64)]) -> Vec<u8> {
    let end = ranges.iter().map(|(o, l)| o + l).max().unwrap();
    let mut dec = zstd::stream::read::Decoder::new(std::fs::File::open(image).unwrap()).unwrap();
    let mut data = Vec::new();
    (&mut dec).take(end).read_to_end(&mut data).unwrap();
    let mut out = Vec::new();
    for (o, l) in ranges {
        out.extend_from_slice(&data[*o as usize..(*o + *l) as usize]);
    }
    out
}

#[test]
fn metadata_area_text_round_trips_byte_for_byte() {
    utc();
    let mut pvcks = Vec::new();
    find(&fixtures(), &|n| n.starts_with("pvck-headers.p"), &mut pvcks);
    let mut checked = 0;
    let mut seen_wrap = false;
    for pvck_path in pvcks {
        let dir = pvck_path.parent().unwrap();
        let pv = pvck_path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_start_matches("pvck-headers.")
            .trim_end_matches(".txt");
        let pvck = std::fs::read_to_string(&pvck_path).unwrap();
        let slots = committed_slots(&pvck);
        if slots.is_empty() {
            continue;
        }
        // Images of the 8-PV lvtypes group are alike: check the first PV of
        // each state there, every PV elsewhere (mda2 at the end, wraps).
        if dir.to_str().unwrap().contains("/lvtypes/") && pv != "p0" {
            continue;
        }
        let image = dir.join(format!("{pv}.img.zst"));
        let all: Vec<(u64, u64)> = slots.iter().flat_map(text_ranges).collect();
        let data = read_ranges(&image, &all);
        let mut at = 0;
        for slot in &slots {
            let what = format!("{} mda at {}", image.display(), slot.mda_start);
            let bytes = &data[at..at + slot.size as usize];
            at += slot.size as usize;
            seen_wrap |= slot.offset + slot.size > slot.mda_size;

            // lvm2 stores the text NUL-terminated and checksums the NUL too.
            assert_eq!(
                lvmetad::format::crc::lvm_crc(bytes),
                slot.checksum,
                "{what}: checksum"
            );
            assert_eq!(bytes.last(), Some(&0), "{what}: no trailing NUL");
            let text = std::str::from_utf8(&bytes[..bytes.len() - 1]).unwrap();
            assert!(!text.contains('\0'), "{what}: NUL inside the text");

            let (vg, header) = parse_vg_text(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            if let Err(errs) = vg.validate() {
                panic!("{what}: {errs:#?}");
            }
            let printed = vg_to_disk_text(&vg, &header);
            assert!(
                printed == bytes,
                "{what}: {}",
                diff(text, std::str::from_utf8(&printed).unwrap())
            );
            assert_eq!(vg_to_text(&vg, &header, TextStyle::Disk).as_bytes(), &bytes[..bytes.len() - 1]);

            // The backup taken in the same state describes the same VG.
            let backup = dir.join(format!("vgcfgbackup.{}.vg", vg.name));
            if let Ok(b) = std::fs::read_to_string(&backup) {
                let (bvg, _) = parse_vg_text(&b).unwrap();
                if bvg.seqno == vg.seqno {
                    assert_eq!(bvg, vg, "{what}: differs from {}", backup.display());
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} metadata texts checked");
    assert!(seen_wrap, "no wrapped metadata text among the fixtures");
}
