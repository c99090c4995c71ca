//! LVM UUIDs: 32 characters from lvm2's 62-character alphabet, printed in
//! the 6-4-4-4-4-4-6 dashed form (`tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu`).
//!
//! On disk (pv_header) the id is stored raw, without dashes; in the text
//! metadata and in reports it is dashed.

use thiserror::Error;

/// lvm2's id alphabet (lib/uuid/uuid.c): digits, upper and lower case letters.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Group lengths of the dashed form.
const GROUPS: [usize; 7] = [6, 4, 4, 4, 4, 4, 6];

pub const ID_LEN: usize = 32;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UuidError {
    #[error("UUID \"{0}\" has {1} characters without dashes, expected 32")]
    Length(String, usize),
    #[error("UUID \"{0}\" contains the invalid character '{1}'")]
    Char(String, char),
}

/// A new random id (raw, 32 characters) from the kernel's random source.
pub fn generate() -> String {
    let mut bytes = [0u8; ID_LEN];
    getrandom::fill(&mut bytes).expect("the kernel's random source is unavailable");
    // 256 % 62 != 0, so reject the top values to keep every character equally likely.
    let mut out = String::with_capacity(ID_LEN);
    let mut i = 0;
    while out.len() < ID_LEN {
        if i == bytes.len() {
            getrandom::fill(&mut bytes).expect("the kernel's random source is unavailable");
            i = 0;
        }
        let b = bytes[i];
        i += 1;
        if b < 248 {
            out.push(ALPHABET[(b % 62) as usize] as char);
        }
    }
    out
}

/// Strip dashes and check the alphabet: accepts the dashed or raw form.
pub fn parse(s: &str) -> Result<String, UuidError> {
    let raw: String = s.chars().filter(|&c| c != '-').collect();
    if raw.len() != ID_LEN {
        return Err(UuidError::Length(s.to_string(), raw.chars().count()));
    }
    if let Some(c) = raw.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(UuidError::Char(s.to_string(), c));
    }
    Ok(raw)
}

/// The dashed form of a raw 32-character id. Ids of another length are
/// returned unchanged (they can only come from corrupt input, which the
/// caller has already reported).
pub fn format(raw: &str) -> String {
    if raw.len() != ID_LEN || !raw.is_ascii() {
        return raw.to_string();
    }
    let mut out = String::with_capacity(ID_LEN + GROUPS.len() - 1);
    let mut pos = 0;
    for (i, len) in GROUPS.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.push_str(&raw[pos..pos + len]);
        pos += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashed_form_matches_lvm2() {
        assert_eq!(
            format("tGrhFea9g0R42ALQUN57SKi0csXtkVLu"),
            "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu"
        );
        assert_eq!(
            parse("tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu").unwrap(),
            "tGrhFea9g0R42ALQUN57SKi0csXtkVLu"
        );
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(parse(&format(&a)).unwrap(), a);
    }

    #[test]
    fn bad_ids_are_named() {
        assert!(matches!(parse("abc"), Err(UuidError::Length(_, 3))));
        let bad = "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVL!";
        assert_eq!(parse(bad), Err(UuidError::Char(bad.into(), '!')));
    }
}
