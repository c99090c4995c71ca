//! LVM's CRC-32.
//!
//! lvm2 (`lib/misc/crc.c`) uses the ordinary reflected CRC-32 polynomial
//! (0xEDB88320) but starts from `INITIAL_CRC` and applies **no** final xor.
//! crc32fast implements the standard CRC-32, whose register starts at the
//! complement of the seed it is given and whose result is complemented on the
//! way out; seeding it with `!initial` and complementing the result gives
//! exactly lvm2's function.
//!
//! Every checksum on disk uses it: the label header (bytes 20..512 of the
//! label sector), the mda header (bytes 4..512) and the metadata text.

/// The seed lvm2 uses for every checksum (`INITIAL_CRC` in lvm2's crc.h).
pub const INITIAL_CRC: u32 = 0xf597_a6cf;

/// lvm2's `calc_crc(initial, buf, size)`.
///
/// Chaining works as in lvm2: `calc_crc(calc_crc(i, a), b) == calc_crc(i, a ++ b)`.
pub fn calc_crc(initial: u32, data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(!initial);
    hasher.update(data);
    !hasher.finalize()
}

/// Shorthand for `calc_crc(INITIAL_CRC, data)`, the only seed lvm2 uses.
pub fn lvm_crc(data: &[u8]) -> u32 {
    calc_crc(INITIAL_CRC, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(calc_crc(INITIAL_CRC, b""), 0xf597_a6cf);
        assert_eq!(calc_crc(INITIAL_CRC, b"123456789"), 0x4991_cf02);
        assert_eq!(lvm_crc(b"123456789"), 0x4991_cf02);
    }

    #[test]
    fn zeroed_label_sector_tail() {
        // pvck prints this for an all-zero sector 1 ("CHECK: label_header.crc
        // expected 0x2c81f10"): the CRC of the 492 bytes after the crc field.
        assert_eq!(lvm_crc(&[0u8; 492]), 0x02c8_1f10);
    }

    #[test]
    fn chains() {
        let data = b"the quick brown fox jumps over the lazy dog";
        for split in 0..data.len() {
            let (a, b) = data.split_at(split);
            assert_eq!(calc_crc(calc_crc(INITIAL_CRC, a), b), lvm_crc(data));
        }
    }

    #[test]
    fn matches_bitwise_reference() {
        // A direct transcription of the algorithm (reflected 0xEDB88320,
        // no final xor) to make sure the crc32fast trick is right.
        fn reference(mut crc: u32, data: &[u8]) -> u32 {
            for &b in data {
                crc ^= b as u32;
                for _ in 0..8 {
                    crc = if crc & 1 != 0 {
                        (crc >> 1) ^ 0xedb8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            crc
        }
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 2, 3, 15, 16, 17, 511, 512, 1000] {
            assert_eq!(
                calc_crc(INITIAL_CRC, &data[..len]),
                reference(INITIAL_CRC, &data[..len])
            );
            assert_eq!(calc_crc(0, &data[..len]), reference(0, &data[..len]));
        }
    }
}
