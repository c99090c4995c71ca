//! Argument values lvm2 commands share: PV lists with PE ranges, extent
//! counts with percentages, `VG/LV` names, name validation.

use std::path::PathBuf;

use super::CmdError;

/// `/dev/sdb:0-9:20-29`: a PV and, optionally, the PE ranges to use on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvArg {
    pub path: PathBuf,
    /// Inclusive ranges `(first, last)`; empty = the whole PV.
    pub ranges: Vec<(u64, u64)>,
}

pub fn parse_pv_arg(s: &str) -> Result<PvArg, CmdError> {
    let mut parts = s.split(':');
    let path = PathBuf::from(parts.next().unwrap_or_default());
    let mut ranges = Vec::new();
    for r in parts {
        let bad = || {
            CmdError::usage(format!(
                "Invalid PE range \"{r}\" in \"{s}\": expected PE or PE-PE or PE+COUNT"
            ))
        };
        let (a, b) = if let Some((a, b)) = r.split_once('-') {
            let a: u64 = a.parse().map_err(|_| bad())?;
            let b: u64 = b.parse().map_err(|_| bad())?;
            (a, b)
        } else if let Some((a, n)) = r.split_once('+') {
            let a: u64 = a.parse().map_err(|_| bad())?;
            let n: u64 = n.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            (a, a + n - 1)
        } else {
            let a: u64 = r.parse().map_err(|_| bad())?;
            (a, a)
        };
        if b < a {
            return Err(bad());
        }
        ranges.push((a, b));
    }
    Ok(PvArg { path, ranges })
}

/// What a percentage in `-l N%WHAT` is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percent {
    Vg,
    Free,
    Pvs,
    Origin,
}

/// `-l` value: `[+|-]N[%VG|%FREE|%PVS|%ORIGIN]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtentsArg {
    pub sign: Option<char>,
    pub count: u64,
    pub percent: Option<Percent>,
}

pub fn parse_extents(s: &str) -> Result<ExtentsArg, CmdError> {
    let bad = || {
        CmdError::usage(format!(
            "Invalid extent count \"{s}\": expected [+|-]N or N%{{VG|FREE|PVS|ORIGIN}}"
        ))
    };
    let (sign, rest) = match s.chars().next() {
        Some(c @ ('+' | '-')) => (Some(c), &s[1..]),
        _ => (None, s),
    };
    let (num, percent) = match rest.split_once('%') {
        Some((n, what)) => {
            let p = match what.to_ascii_uppercase().as_str() {
                "VG" => Percent::Vg,
                "FREE" => Percent::Free,
                "PVS" => Percent::Pvs,
                "ORIGIN" => Percent::Origin,
                _ => return Err(bad()),
            };
            (n, Some(p))
        }
        None => (rest, None),
    };
    let count: u64 = num.parse().map_err(|_| bad())?;
    if percent.is_some() && count > 100 && sign.is_none() {
        return Err(CmdError::usage(format!(
            "Invalid extent count \"{s}\": a percentage cannot exceed 100"
        )));
    }
    Ok(ExtentsArg {
        sign,
        count,
        percent,
    })
}

/// lvm2's rules for VG and LV names (lib/misc/lvm-string.c): characters
/// `a-zA-Z0-9+_.-`, not starting with `-`, not `.` or `..`, at most 127.
pub fn validate_name(kind: &str, name: &str) -> Result<(), CmdError> {
    let bad = |why: &str| CmdError::usage(format!("Invalid {kind} name \"{name}\": {why}."));
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > 127 {
        return Err(bad("it is longer than 127 characters"));
    }
    if name == "." || name == ".." {
        return Err(bad("\".\" and \"..\" are reserved"));
    }
    if name.starts_with('-') {
        return Err(bad("it starts with '-'"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+_.-".contains(*c)))
    {
        return Err(bad(&format!(
            "the character '{c}' is not allowed (use a-z, A-Z, 0-9, +, _, ., -)"
        )));
    }
    Ok(())
}

/// LV names lvm2 reserves for sub-LVs and special LVs.
pub fn validate_lv_name(name: &str) -> Result<(), CmdError> {
    validate_name("logical volume", name)?;
    if name == "snapshot" || name == "pvmove" || name.starts_with("pvmove") {
        return Err(CmdError::usage(format!(
            "Invalid logical volume name \"{name}\": the name is reserved."
        )));
    }
    const RESERVED: &[&str] = &[
        "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_imeta", "_iorig", "_mimage", "_mlog",
        "_pmspare", "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig",
    ];
    if let Some(r) = RESERVED.iter().find(|r| name.contains(*r)) {
        return Err(CmdError::usage(format!(
            "Invalid logical volume name \"{name}\": names containing \"{r}\" are reserved for sub-LVs."
        )));
    }
    Ok(())
}

/// `vg/lv`, `/dev/vg/lv` or (with a default VG) `lv`.
pub fn split_lv_path(s: &str) -> Result<(String, String), CmdError> {
    let t = s.strip_prefix("/dev/").unwrap_or(s);
    match t.split_once('/') {
        Some((vg, lv)) if !vg.is_empty() && !lv.is_empty() && !lv.contains('/') => {
            Ok((vg.to_string(), lv.to_string()))
        }
        _ => Err(CmdError::usage(format!(
            "\"{s}\" is not a logical volume path: use VG/LV."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_args_with_ranges() {
        assert_eq!(
            parse_pv_arg("/dev/sdb:0-9:20+5:30").unwrap(),
            PvArg {
                path: "/dev/sdb".into(),
                ranges: vec![(0, 9), (20, 24), (30, 30)]
            }
        );
        assert!(parse_pv_arg("/dev/sdb:9-1").is_err());
        assert!(parse_pv_arg("/dev/sdb:x").is_err());
    }

    #[test]
    fn extents_with_percentages() {
        let e = parse_extents("100%FREE").unwrap();
        assert_eq!(
            (e.count, e.percent, e.sign),
            (100, Some(Percent::Free), None)
        );
        assert_eq!(parse_extents("+10").unwrap().sign, Some('+'));
        assert_eq!(parse_extents("50%vg").unwrap().percent, Some(Percent::Vg));
        assert!(parse_extents("101%VG").is_err());
        assert!(parse_extents("10%XX").is_err());
    }

    #[test]
    fn names() {
        assert!(validate_name("volume group", "vg-0_a.b+c").is_ok());
        assert!(validate_name("volume group", "-vg").is_err());
        assert!(validate_name("volume group", "a b").is_err());
        assert!(validate_lv_name("lv_rimage_0").is_err());
        assert!(validate_lv_name("snapshot").is_err());
        assert_eq!(
            split_lv_path("/dev/vg/lv").unwrap(),
            ("vg".to_string(), "lv".to_string())
        );
        assert!(split_lv_path("vg").is_err());
    }
}
