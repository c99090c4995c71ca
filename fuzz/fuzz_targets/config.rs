//! Fuzz the config-tree parser (it reads lvmetad socket requests) and the
//! metadata model built on it.
//!
//! Properties: parsing never panics; whatever parses prints back to text
//! that parses to the same tree; VG metadata that parses prints back to
//! text that parses to the same VG.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvmetad::format::config;
use lvmetad::model::{parse_vg_text, vg_to_text, TextStyle};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tree) = config::parse(text) else {
        return;
    };
    let printed = config::print(&tree);
    let again = config::parse(&printed).expect("printed config must parse");
    assert_eq!(again, tree, "print/parse changed the tree");

    if let Ok((vg, header)) = parse_vg_text(text) {
        let _ = vg.validate();
        let _ = vg.free_extents();
        let _ = vg.to_config();
        for style in [TextStyle::Backup, TextStyle::Disk] {
            // The first print normalises what lvm2 normalises too (flag
            // order, visible LVs first, +FLAG suffixes); after that,
            // printing and parsing must be a fixed point.
            let out = vg_to_text(&vg, &header, style);
            let (vg1, h1) = parse_vg_text(&out).expect("printed metadata must parse");
            let out1 = vg_to_text(&vg1, &h1, style);
            assert_eq!(out1, out, "printing is not stable");
            let (vg2, h2) = parse_vg_text(&out1).expect("printed metadata must parse");
            assert_eq!(vg2, vg1, "print/parse changed the VG");
            assert_eq!(h2, h1, "print/parse changed the header");
        }
    }
});
