//! Fuzz the label scanner and the pvck dump over arbitrary first sectors:
//! they must never panic, and a label that decodes must re-encode to the
//! same sector bytes apart from what lvm2 ignores (bytes after the lists).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvmetad::format::label::{encode_label, find_label, SECTOR_SIZE};
use lvmetad::format::pvck::dump_headers_image;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(label)) = find_label(data) {
        let sector = encode_label(&label).expect("a decoded label re-encodes");
        let at = label.sector as usize * SECTOR_SIZE;
        let again = find_label(&{
            let mut dev = vec![0u8; 2048];
            dev[at..at + SECTOR_SIZE].copy_from_slice(&sector);
            dev
        });
        assert_eq!(again, Ok(Some(label)));
    }
    let _ = dump_headers_image(data);
});
