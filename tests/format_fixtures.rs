//! The on-disk format against images written by real lvm2 2.03.16
//! (tests/fixtures/lvm2, see its README): every label, mda header and
//! committed metadata text decodes, re-encodes to the same bytes, and our
//! `pvck --dump headers` prints exactly what lvm2's did. Plus corrupt-input
//! tests, the pvcreate layout against the pvformats fixtures, and property
//! tests of the encoders and the circular-buffer write plan.

use std::path::{Path, PathBuf};

use lvmetad::format::crc::lvm_crc;
use lvmetad::format::label::{
    self, encode_label, find_label, DiskLocn, LabelError, PvHeaderExt, PvLabel,
};
use lvmetad::format::layout::{pvcreate_layout, PvcreateOptions};
use lvmetad::format::mda::{
    decode_mda_header, encode_mda_header, plan_text_write, read_text, MdaError, MdaHeader, RawLocn,
    MDA_HEADER_SIZE, RAW_LOCN_IGNORED,
};
use lvmetad::format::pvck::dump_headers_image;
use proptest::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lvm2")
}

/// Every `pN.img.zst` under the fixtures, sorted.
fn images() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('p') && n.ends_with(".img.zst"))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&fixtures(), &mut out);
    out.sort();
    out
}

fn load(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    zstd::stream::decode_all(f).unwrap()
}

fn image(rel: &str) -> Vec<u8> {
    load(&fixtures().join(rel))
}

/// `pvck-headers.pN.txt` next to `pN.img.zst`: lvm2's stdout lines, i.e.
/// without the `$ pvck` line and the stderr warning lvm2 adds at the end,
/// and the exit code.
fn expected_pvck(img: &Path) -> (String, i32) {
    let name = img.file_name().unwrap().to_str().unwrap();
    let p = name.trim_end_matches(".img.zst");
    let txt = std::fs::read_to_string(img.with_file_name(format!("pvck-headers.{p}.txt"))).unwrap();
    let mut lines = txt.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("$ pvck --dump headers"), "{first}");
    let rc: i32 = first
        .rsplit_once("(rc=")
        .unwrap()
        .1
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let mut out = String::new();
    for l in lines {
        if l.starts_with("  WARNING: Activation disabled") {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    (out, rc)
}

/// Everything we can check about one lvm2-written image.
fn check_image(path: &Path) -> Result<(), String> {
    let img = load(path);
    let ctx = |what: &str| format!("{}: {what}", path.display());

    // pvck --dump headers, byte for byte.
    let (want, rc) = expected_pvck(path);
    let got = dump_headers_image(&img);
    if got.output() != want {
        return Err(ctx(&format!(
            "pvck output differs\n--- lvm2\n{want}--- ours\n{}",
            got.output()
        )));
    }
    if got.bad != (rc != 0) {
        return Err(ctx(&format!("pvck bad={} but lvm2 rc={rc}", got.bad)));
    }

    let Some(l) = find_label(&img[..2048]).map_err(|e| ctx(&e.to_string()))? else {
        // A blank image: nothing else to check.
        return Ok(());
    };
    let at = l.sector as usize * 512;
    let enc = encode_label(&l).map_err(|e| ctx(&e.to_string()))?;
    if enc[..] != img[at..at + 512] {
        return Err(ctx("label sector does not re-encode to the same bytes"));
    }
    if l.data_areas.len() != 1 || l.data_areas[0].size != 0 {
        return Err(ctx(&format!("unexpected data areas {:?}", l.data_areas)));
    }
    if l.ext.as_ref().map(|e| e.version) != Some(2) {
        return Err(ctx("no version 2 pv_header_extension"));
    }
    if l.device_size != img.len() as u64 {
        return Err(ctx("device_size is not the image size"));
    }

    let mut texts = Vec::new();
    for m in &l.metadata_areas {
        let start = m.offset as usize;
        let area = &img[start..start + m.size as usize];
        let h = decode_mda_header(&area[..512], m.offset).map_err(|e| ctx(&e.to_string()))?;
        if h.size != m.size {
            return Err(ctx("mda_header.size differs from the pv_header"));
        }
        if encode_mda_header(&h)[..] != area[..512] {
            return Err(ctx("mda header does not re-encode to the same bytes"));
        }
        if !h.precommitted.is_empty() {
            return Err(ctx("precommit slot left set"));
        }
        if let Some(locn) = h.committed_text() {
            let text = read_text(area, locn).map_err(|e| ctx(&e.to_string()))?;
            // The stored size counts a terminating NUL, and nothing before it.
            if text.last() != Some(&0) || text[..text.len() - 1].contains(&0) {
                return Err(ctx("metadata text is not NUL-terminated text"));
            }
            texts.push(text);
        }
    }
    // Every used area on a PV holds the same text.
    if texts.windows(2).any(|w| w[0] != w[1]) {
        return Err(ctx("metadata areas hold different texts"));
    }
    Ok(())
}

#[test]
fn every_fixture_image() {
    let all = images();
    assert!(all.len() > 200, "found only {} images", all.len());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = all.len().div_ceil(threads);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = all
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|p| check_image(p).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} images failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

// ---- specific lvm2 behaviour seen in the fixtures ----

#[test]
fn wrapped_text_is_read_across_the_end() {
    let img = image("wrap/10-wrapped-split/p0.img.zst");
    let l = find_label(&img[..2048]).unwrap().unwrap();
    let m = l.metadata_areas[0];
    let area = &img[m.offset as usize..(m.offset + m.size) as usize];
    let h = decode_mda_header(&area[..512], m.offset).unwrap();
    assert!(h.committed.wraps(h.size));
    assert_eq!((h.committed.offset, h.committed.size), (1040896, 6228));
    let text = read_text(area, &h.committed).unwrap();
    assert!(text.starts_with(b"vgwrap {"));

    // What lvm2 did next (wrap/11): the next copy goes right after the
    // wrapped tail, rounded up to 512.
    let next = image("wrap/11-after-wrap-commit/p0.img.zst");
    let h2 = decode_mda_header(&next[4096..4608], 4096).unwrap();
    let new_text = read_text(&next[4096..4096 + 1044480], &h2.committed).unwrap();
    let plan = plan_text_write(&h, &new_text).unwrap();
    assert_eq!(plan.new_locn, h2.committed);
    // Our commit header equals lvm2's, byte for byte.
    let ours = h
        .precommit(&plan.new_locn, false)
        .commit(&plan.new_locn, false);
    assert_eq!(encode_mda_header(&ours)[..], next[4096..4608]);
    // And our writes reproduce lvm2's area bytes for the new copy,
    // including the zero padding to the next sector.
    let mut area2 = area.to_vec();
    plan.apply(&mut area2);
    for w in &plan.writes {
        let at = w.offset as usize;
        assert_eq!(
            area2[at..at + w.data.len()],
            next[4096 + at..4096 + at + w.data.len()]
        );
    }
}

#[test]
fn ignored_area_keeps_its_pointer_with_the_flag() {
    // vgchange --vgmetadatacopies 2: p3's area is now ignored; lvm2 still
    // wrote the text there and committed the pointer, flagged.
    let img = image("pvformats/07-vgchange-metadatacopies/p3.img.zst");
    let h = decode_mda_header(&img[4096..4608], 4096).unwrap();
    assert_eq!(h.committed.flags, RAW_LOCN_IGNORED);
    assert_eq!((h.committed.offset, h.committed.size), (4096, 1612));
    assert!(h.is_ignored() && h.committed_text().is_none());
}

#[test]
fn first_commit_matches_vgcreate() {
    // pvformats/04 -> 05: vgcreate writes the first text at 512 in p3's
    // fresh area; the committed header is what we compute.
    let before = image("pvformats/04-pvcreate-metadatasize4m/p3.img.zst");
    let after = image("pvformats/05-vgcreate-mixed/p3.img.zst");
    let h0 = decode_mda_header(&before[4096..4608], 4096).unwrap();
    let h1 = decode_mda_header(&after[4096..4608], 4096).unwrap();
    let area = &after[4096..4096 + h1.size as usize];
    let text = read_text(area, &h1.committed).unwrap();
    let plan = plan_text_write(&h0, &text).unwrap();
    assert_eq!(plan.new_locn.offset, 512);
    let committed = h0
        .precommit(&plan.new_locn, false)
        .commit(&plan.new_locn, false);
    assert_eq!(encode_mda_header(&committed)[..], after[4096..4608]);
    // The label gained PV_EXT_USED and nothing else changed.
    let mut l0 = find_label(&before[..2048]).unwrap().unwrap();
    let l1 = find_label(&after[..2048]).unwrap().unwrap();
    l0.ext.as_mut().unwrap().flags |= label::PV_EXT_USED;
    assert_eq!(l0, l1);
}

// ---- corrupt input ----

#[test]
fn corrupt_label_names_the_sector() {
    let mut img = image("pvformats/05-vgcreate-mixed/p3.img.zst");
    img[512 + 100] ^= 0x01;
    let e = find_label(&img[..2048]).unwrap_err();
    assert!(matches!(e, LabelError::BadCrc { sector: 1, .. }), "{e}");
    assert!(e.to_string().contains("sector 1"), "{e}");
    // pvck reports it the way lvm2 does.
    let d = dump_headers_image(&img);
    assert!(d.bad);
    assert!(d
        .lines
        .iter()
        .any(|l| l.starts_with("CHECK: label_header.crc expected 0x")));
}

#[test]
fn corrupt_mda_header() {
    let img = image("pvformats/05-vgcreate-mixed/p3.img.zst");
    let mut hdr = img[4096..4608].to_vec();
    hdr[4] = b'X';
    assert!(matches!(
        decode_mda_header(&hdr, 4096),
        Err(MdaError::BadChecksum { start: 4096, .. })
    ));
    // With a matching checksum the magic itself is reported.
    let crc = lvm_crc(&hdr[4..512]);
    hdr[0..4].copy_from_slice(&crc.to_le_bytes());
    let e = decode_mda_header(&hdr, 4096).unwrap_err();
    assert!(matches!(e, MdaError::BadMagic { start: 4096, .. }), "{e}");
    // pvck on the image with that header.
    let mut bad = img.clone();
    bad[4096..4608].copy_from_slice(&hdr);
    let d = dump_headers_image(&bad);
    assert!(d.bad);
    assert!(d.lines.contains(
        &"CHECK: mda_header_1.magic expected 0x204c564d3220785b35412572304e2a3e".to_string()
    ));
}

#[test]
fn truncated_text() {
    let img = image("pvformats/05-vgcreate-mixed/p3.img.zst");
    let h = decode_mda_header(&img[4096..4608], 4096).unwrap();
    let area = &img[4096..4096 + h.size as usize];
    // A size that stops short of the real end: checksum mismatch.
    let short = RawLocn {
        size: h.committed.size - 10,
        ..h.committed
    };
    let e = read_text(area, &short).unwrap_err();
    assert!(
        matches!(e, MdaError::TextChecksum { wrapped: false, .. }),
        "{e}"
    );
    // The area cut before the text ends.
    let e = read_text(&area[..1024], &h.committed).unwrap_err();
    assert!(matches!(e, MdaError::TextTooLarge { .. }), "{e}");
    // A text overwritten in place (torn write of the same area).
    let mut torn = area.to_vec();
    torn[512 + 700] = b'#';
    assert!(read_text(&torn, &h.committed).is_err());
}

#[test]
fn torn_wrap() {
    let img = image("wrap/10-wrapped-split/p0.img.zst");
    let mut area = img[4096..4096 + 1044480].to_vec();
    let h = decode_mda_header(&area[..512], 4096).unwrap();
    assert!(read_text(&area, &h.committed).is_ok());
    // The part after the wrap point (at offset 512) never made it to disk.
    area[512..1024].fill(0);
    let e = read_text(&area, &h.committed).unwrap_err();
    assert!(
        matches!(e, MdaError::TextChecksum { wrapped: true, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("wrapped"), "{e}");
    // pvck says the same.
    let mut bad = img.clone();
    bad[4096..4096 + 1044480].copy_from_slice(&area);
    let d = dump_headers_image(&bad);
    assert!(d.bad);
    assert!(d.lines.contains(
        &"CHECK: metadata text at 1044992 crc does not match mda_header_1.raw_locn[0].checksum"
            .to_string()
    ));
}

// ---- the pvcreate layout ----

fn check_layout(rel: &str, opts: PvcreateOptions) {
    let img = image(rel);
    let l = find_label(&img[..2048]).unwrap().unwrap();
    let layout = pvcreate_layout(img.len() as u64, l.pv_uuid, &opts).unwrap();
    assert_eq!(layout.label, l, "{rel}");
    assert_eq!(encode_label(&layout.label).unwrap()[..], img[512..1024]);
    assert_eq!(layout.mda_headers.len(), l.metadata_areas.len());
    for h in &layout.mda_headers {
        let at = h.start as usize;
        assert_eq!(encode_mda_header(h)[..], img[at..at + 512], "{rel}");
    }
    assert_eq!(Some(layout.pe_start), l.pe_start());
}

#[test]
fn layout_reproduces_pvcreate() {
    check_layout(
        "pvformats/01-pvcreate-default/p0.img.zst",
        PvcreateOptions::default(),
    );
    check_layout(
        "pvformats/02-pvcreate-metadatacopies2/p1.img.zst",
        PvcreateOptions {
            metadata_copies: 2,
            ..Default::default()
        },
    );
    check_layout(
        "pvformats/03-pvcreate-pvmetadatacopies0/p2.img.zst",
        PvcreateOptions {
            metadata_copies: 0,
            ..Default::default()
        },
    );
    check_layout(
        "pvformats/04-pvcreate-metadatasize4m/p3.img.zst",
        PvcreateOptions {
            metadata_size: Some(4 << 20),
            ..Default::default()
        },
    );
}

// ---- property tests ----

fn arb_locn() -> impl Strategy<Value = DiskLocn> {
    (1u64.., any::<u64>()).prop_map(|(offset, size)| DiskLocn { offset, size })
}

fn arb_label() -> impl Strategy<Value = PvLabel> {
    (
        0u64..4,
        proptest::array::uniform32(any::<u8>()),
        any::<u64>(),
        proptest::collection::vec(arb_locn(), 1..4),
        proptest::collection::vec(arb_locn(), 0..4),
        proptest::option::of((
            1u32..,
            any::<u32>(),
            proptest::collection::vec(arb_locn(), 0..4),
        )),
    )
        .prop_map(|(sector, pv_uuid, device_size, data, meta, ext)| PvLabel {
            sector,
            pv_uuid,
            device_size,
            data_areas: data,
            metadata_areas: meta,
            ext: ext.map(|(version, flags, bootloader_areas)| PvHeaderExt {
                version,
                flags,
                bootloader_areas,
            }),
        })
}

fn arb_rlocn() -> impl Strategy<Value = RawLocn> {
    // Mostly any values, sometimes values that land inside a small area.
    let any_u64 = prop_oneof![any::<u64>(), 0u64..70_000];
    (any_u64.clone(), any_u64, any::<u32>(), 0u32..3).prop_map(|(offset, size, checksum, flags)| {
        RawLocn {
            offset,
            size,
            checksum,
            flags,
        }
    })
}

proptest! {
    #[test]
    fn label_round_trip(l in arb_label()) {
        let s = encode_label(&l).unwrap();
        let mut dev = vec![0u8; 2048];
        let at = l.sector as usize * 512;
        dev[at..at + 512].copy_from_slice(&s);
        prop_assert_eq!(find_label(&dev).unwrap(), Some(l));
    }

    #[test]
    fn label_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2100)) {
        let _ = find_label(&bytes);
        let _ = dump_headers_image(&bytes);
    }

    #[test]
    fn mda_header_round_trip(start in any::<u64>(), size in any::<u64>(),
                             c in arb_rlocn(), p in arb_rlocn()) {
        let mut h = MdaHeader::new_empty(start, size, false);
        h.committed = c;
        h.precommitted = p;
        let b = encode_mda_header(&h);
        let mut d = decode_mda_header(&b, start).unwrap();
        prop_assert_eq!(d.checksum, lvm_crc(&b[4..512]));
        d.checksum = h.checksum;
        prop_assert_eq!(d, h);
    }

    /// Successive commits of random-size texts: each new copy is readable,
    /// never touches the header sector or the committed copy, and the
    /// buffer wraps around many times.
    #[test]
    fn write_plan_never_overlaps(sectors in 6u64..200,
                                 sizes in proptest::collection::vec(1usize..100_000, 1..60),
                                 seed in any::<u8>()) {
        let size = sectors * 512;
        let mut h = MdaHeader::new_empty(4096, size, false);
        let mut area = vec![0u8; size as usize];
        area[..512].copy_from_slice(&encode_mda_header(&h));
        let max = h.max_text_size() as usize;
        prop_assume!(max > 0);
        let mut committed: Option<Vec<u8>> = None;
        for (i, n) in sizes.iter().enumerate() {
            let n = 1 + n % max;
            let text: Vec<u8> = (0..n).map(|j| (j as u8).wrapping_mul(31) ^ seed ^ i as u8).collect();
            let plan = plan_text_write(&h, &text).unwrap();
            for w in &plan.writes {
                prop_assert!(w.offset >= MDA_HEADER_SIZE);
                prop_assert!(w.offset + w.data.len() as u64 <= size);
            }
            plan.apply(&mut area);
            // The committed copy survives the new write.
            if let Some(old) = &committed {
                prop_assert_eq!(&read_text(&area, &h.committed).unwrap(), old);
            }
            h = h.precommit(&plan.new_locn, false);
            area[..512].copy_from_slice(&encode_mda_header(&h));
            h = decode_mda_header(&area[..512], 4096).unwrap().commit(&plan.new_locn, false);
            area[..512].copy_from_slice(&encode_mda_header(&h));
            let back = decode_mda_header(&area[..512], 4096).unwrap();
            prop_assert_eq!(&read_text(&area, &back.committed).unwrap(), &text);
            committed = Some(text);
        }
    }

    /// Damaged but checksummed headers (any sizes and slots) never make the
    /// reader, the planner or pvck panic.
    #[test]
    fn garbage_headers_never_panic(area_size in any::<u64>(), hdr_size in any::<u64>(),
                                   c in arb_rlocn(), p in arb_rlocn(),
                                   small in 1u64..70_000, text_len in 1usize..5000) {
        let mut img = vec![0u8; 64 * 1024];
        for size in [area_size, small] {
            let l = PvLabel {
                sector: 1,
                pv_uuid: *b"ZcxgJ1FdxecIvblEqxOeszfntFhaTD2h",
                device_size: img.len() as u64,
                data_areas: vec![DiskLocn { offset: 1 << 20, size: 0 }],
                metadata_areas: vec![DiskLocn { offset: 4096, size }],
                ext: None,
            };
            img[512..1024].copy_from_slice(&encode_label(&l).unwrap());
            for hsize in [hdr_size, size] {
                let mut h = MdaHeader::new_empty(4096, hsize, false);
                h.committed = c;
                h.precommitted = p;
                img[4096..4608].copy_from_slice(&encode_mda_header(&h));
                let _ = dump_headers_image(&img);
                let _ = read_text(&img[4096..], &h.committed);
                let _ = plan_text_write(&h, &vec![b'x'; text_len]);
            }
        }
    }

    /// A text one byte over the limit is refused.
    #[test]
    fn write_plan_refuses_too_large(sectors in 6u64..200) {
        let h = MdaHeader::new_empty(4096, sectors * 512, false);
        let text = vec![1u8; h.max_text_size() as usize + 1];
        prop_assert!(
            matches!(plan_text_write(&h, &text), Err(MdaError::TooLarge { .. })),
            "too large text was accepted"
        );
    }
}
