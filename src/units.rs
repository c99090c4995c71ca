//! Size units the way lvm2 reads and prints them.
//!
//! Two unrelated jobs share this file because they share the unit letters:
//!
//! * **Parsing size arguments** (`-L 8m`, `--size +10G`, `-l 100%FREE`):
//!   every unit letter is a power of 1024 whatever its case, `s` means
//!   512-byte sectors, `b` bytes, and a bare number takes the option's
//!   default unit (MiB for `-L`). The result is in sectors, truncated the
//!   way lvm2 truncates its `double` (lvm2's `_size_arg`).
//! * **Formatting sizes for reports** (`--units`, `--nosuffix`): lower-case
//!   letters are powers of 1024, upper-case ones powers of 1000, `h`/`H`
//!   pick a unit per value and `r`/`R` additionally mark values that were
//!   rounded up with `<` (lvm2's default since 2.02.169). This follows
//!   libdm's `dm_size_to_string` with lvm2's default
//!   `si_unit_consistency = 1`, including its quirks (zero prints as `0`
//!   plus suffix with no decimals; human units print zero as `"0 "`).

use std::fmt;

/// Bytes per sector; every size inside LVM is counted in these.
pub const SECTOR_SIZE: u64 = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    #[error("Size requires number argument.")]
    NoNumber,
    #[error("Multiple sign symbols detected.")]
    MultipleSigns,
    #[error("Can't parse size argument.")]
    BadSuffix,
    #[error("Size is not a multiple of 512. Try using {0} or {1}.")]
    NotSectorMultiple(u64, u64),
    #[error("Size is too big (>=16EiB).")]
    TooBig,
    #[error("Specified %{0} is unknown.")]
    UnknownPercent(String),
    #[error("Percentage is too big (>=4294967295%).")]
    PercentTooBig,
    #[error("Invalid extents argument: {0}")]
    BadExtents(String),
    #[error("Invalid units specification")]
    BadUnits,
}

/// A leading `+` or `-` on a size or extents argument (lvextend/lvreduce).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sign {
    #[default]
    None,
    Plus,
    Minus,
}

/// A parsed size argument, always in 512-byte sectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeArg {
    pub sign: Sign,
    pub sectors: u64,
}

impl SizeArg {
    pub fn bytes(&self) -> u64 {
        self.sectors.saturating_mul(SECTOR_SIZE)
    }
}

/// The default unit applied to a bare number: lvm2 declares each size
/// option as either `size_mb` (`-L`, `--size`, `--poolmetadatasize`) or
/// `size_kb` (`--stripesize`, `--regionsize`, `--chunksize`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultUnit {
    KiB,
    MiB,
    Sectors,
}

impl DefaultUnit {
    fn sectors(self) -> f64 {
        match self {
            DefaultUnit::KiB => 2.0,
            DefaultUnit::MiB => 2048.0,
            DefaultUnit::Sectors => 1.0,
        }
    }
}

fn split_sign(arg: &str) -> Result<(Sign, &str), UnitsError> {
    let (sign, rest) = match arg.as_bytes().first() {
        Some(b'+') => (Sign::Plus, &arg[1..]),
        Some(b'-') => (Sign::Minus, &arg[1..]),
        _ => (Sign::None, arg),
    };
    if rest.starts_with(['+', '-']) {
        return Err(UnitsError::MultipleSigns);
    }
    Ok((sign, rest))
}

/// Longest prefix of `s` that `strtod` would read as a plain decimal number
/// (digits, one point, optional exponent), and its value.
fn leading_float(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        frac_digits = j - i - 1;
        if int_digits + frac_digits > 0 {
            i = j;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    // An exponent only counts when digits follow it ("1e3" yes, "1e" no;
    // "8e" never reaches here as a size because 'e' is also exbibytes and
    // strtod leaves a bare 'e' alone, just as we do).
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > start {
            i = j;
        }
    }
    s[..i].parse::<f64>().ok().map(|v| (v, &s[i..]))
}

/// Parse a size argument like lvm2: `8m`, `10G`, `1.5g`, `512b`, `100s`,
/// `+10m`; a bare number is in `default` units. Units are case-insensitive
/// powers of 1024. Only the first character after the number is looked at,
/// so `10GiB` and `10gb` read as `10g`, as in lvm2.
pub fn parse_size(arg: &str, default: DefaultUnit) -> Result<SizeArg, UnitsError> {
    let (sign, rest) = split_sign(arg)?;
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(UnitsError::NoNumber);
    }
    let (mut v, tail) = leading_float(rest).ok_or(UnitsError::NoNumber)?;
    match tail.chars().next() {
        None => v *= default.sectors(),
        Some(c) => match c.to_ascii_lowercase() {
            's' => {}
            'b' => {
                let bytes = v as u64;
                let adjustment = bytes % SECTOR_SIZE;
                if adjustment != 0 {
                    let up = bytes + (SECTOR_SIZE - adjustment);
                    return Err(UnitsError::NotSectorMultiple(up - SECTOR_SIZE, up));
                }
                v /= SECTOR_SIZE as f64;
            }
            u => {
                // KiB is two sectors; each further letter is 1024 times more.
                let power = match u {
                    'k' => 0,
                    'm' => 1,
                    'g' => 2,
                    't' => 3,
                    'p' => 4,
                    'e' => 5,
                    _ => return Err(UnitsError::BadSuffix),
                };
                for _ in 0..power {
                    v *= 1024.0;
                }
                v *= 2.0;
            }
        },
    }
    if v >= (u64::MAX >> 9) as f64 {
        return Err(UnitsError::TooBig);
    }
    Ok(SizeArg {
        sign,
        sectors: v as u64,
    })
}

/// `-L`/`--size`: a bare number is MiB.
pub fn parse_size_mb(arg: &str) -> Result<SizeArg, UnitsError> {
    parse_size(arg, DefaultUnit::MiB)
}

/// `--stripesize`, `--regionsize`, ...: a bare number is KiB.
pub fn parse_size_kb(arg: &str) -> Result<SizeArg, UnitsError> {
    parse_size(arg, DefaultUnit::KiB)
}

/// What a `-l N%WHAT` percentage is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentOf {
    Vg,
    Free,
    Pvs,
    Lv,
    Origin,
}

/// A parsed `-l`/`--extents` argument: a count of extents, or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtentsArg {
    pub sign: Sign,
    /// Extents, or the percentage when `percent` is set.
    pub value: u64,
    pub percent: Option<PercentOf>,
}

/// Parse `-l 10`, `-l +5`, `-l 100%FREE`, `-l 50%VG` like lvm2's
/// `_extents_arg` (the letters after `%` are case-insensitive and may be
/// abbreviated: `V`, `F`/`FR`, `P`/`PV`, `L`, `O`/`OR`).
pub fn parse_extents(arg: &str) -> Result<ExtentsArg, UnitsError> {
    let (sign, rest) = split_sign(arg)?;
    let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(UnitsError::BadExtents(arg.to_string()));
    }
    let value: u64 = rest[..digits].parse().unwrap_or(u64::MAX);
    let tail = &rest[digits..];
    if tail.is_empty() {
        return Ok(ExtentsArg {
            sign,
            value,
            percent: None,
        });
    }
    let what = tail
        .strip_prefix('%')
        .ok_or_else(|| UnitsError::BadExtents(arg.to_string()))?;
    let percent = match what.to_ascii_uppercase().as_str() {
        "V" | "VG" => PercentOf::Vg,
        "L" | "LV" => PercentOf::Lv,
        "P" | "PV" | "PVS" => PercentOf::Pvs,
        "F" | "FR" | "FREE" => PercentOf::Free,
        "O" | "OR" | "ORIGIN" => PercentOf::Origin,
        _ => return Err(UnitsError::UnknownPercent(what.to_string())),
    };
    if value >= u32::MAX as u64 {
        return Err(UnitsError::PercentTooBig);
    }
    Ok(ExtentsArg {
        sign,
        value,
        percent: Some(percent),
    })
}

/// The `--units` setting of a report: which unit to print sizes in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Units {
    /// The unit letter as lvm2 keeps it: one of `hHrR` (human), `bBsS`,
    /// `kmgtpe` (1024-based), `KMGTPE` (1000-based), or `U` for a custom
    /// multiple such as `--units 4m`.
    unit_type: char,
    /// Bytes per printed unit; 0 for the human-readable styles.
    factor: u64,
}

impl Default for Units {
    /// lvm2's `global/units = "r"`: human-readable, 1024-based, with `<`
    /// marking values rounded up.
    fn default() -> Self {
        Units {
            unit_type: 'r',
            factor: 0,
        }
    }
}

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.unit_type)
    }
}

const KIB: u64 = 1024;
const KB: u64 = 1000;

impl Units {
    /// Parse a `--units` argument the way libdm's `dm_units_to_factor`
    /// does in strict mode: one unit letter, optionally preceded by a
    /// number (`4m`, `1.5g`). A number other than 1 makes the unit custom
    /// (printed with suffix `U`); a fractional number whose integer part is
    /// 1 keeps the letter, exactly like lvm2 (`--units 1.5m` prints `m`).
    pub fn parse(s: &str) -> Result<Units, UnitsError> {
        let (mut custom, int_part, rest) = if s.starts_with(|c: char| c.is_ascii_digit()) {
            let (v, rest) = leading_float(s).ok_or(UnitsError::BadUnits)?;
            let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
            let int_part: u64 = s[..digits].parse().map_err(|_| UnitsError::BadUnits)?;
            (Some(v), int_part, rest)
        } else {
            (None, 1, s)
        };
        if custom.is_some_and(|v| (v - int_part as f64).abs() < f64::EPSILON) {
            custom = None; // integral: use integer arithmetic
        }
        let mut chars = rest.chars();
        let c = chars.next().ok_or(UnitsError::BadUnits)?;
        if chars.next().is_some() {
            return Err(UnitsError::BadUnits);
        }
        let mut unit_type = if int_part == 1 { c } else { 'U' };
        let multiplier = match c {
            'h' | 'H' | 'r' | 'R' => {
                // A number in front of a human unit is ignored.
                return Ok(Units {
                    unit_type: c,
                    factor: 0,
                });
            }
            'b' | 'B' => 1,
            's' | 'S' => SECTOR_SIZE,
            'k' => KIB,
            'm' => KIB.pow(2),
            'g' => KIB.pow(3),
            't' => KIB.pow(4),
            'p' => KIB.pow(5),
            'e' => KIB.pow(6),
            'K' => KB,
            'M' => KB.pow(2),
            'G' => KB.pow(3),
            'T' => KB.pow(4),
            'P' => KB.pow(5),
            'E' => KB.pow(6),
            _ => return Err(UnitsError::BadUnits),
        };
        let factor = match custom {
            Some(v) => (v * multiplier as f64) as u64,
            None => int_part.saturating_mul(multiplier),
        };
        if factor == 0 {
            return Err(UnitsError::BadUnits);
        }
        // libdm keeps an explicit unit letter only for a count of one.
        if int_part != 1 {
            unit_type = 'U';
        }
        Ok(Units { unit_type, factor })
    }

    /// True for the human-readable styles (`h`, `H`, `r`, `R`).
    pub fn is_human(&self) -> bool {
        self.factor == 0
    }

    /// Format a size given in 512-byte sectors; `suffix` is false for
    /// `--nosuffix` (which human-readable units ignore, as in lvm2).
    pub fn format_sectors(&self, sectors: u64, suffix: bool) -> String {
        self.format(sectors as u128 * SECTOR_SIZE as u128, suffix)
    }

    /// Format a size given in bytes (rounded down to whole sectors first,
    /// because lvm2 only ever formats sector counts).
    pub fn format_bytes(&self, bytes: u64, suffix: bool) -> String {
        self.format_sectors(bytes / SECTOR_SIZE, suffix)
    }

    fn fixed_suffix(&self) -> &'static str {
        // dm_size_to_string: with SI consistency the letter's case chooses
        // the base; b/s/U are "special" and print upper-case.
        match self.unit_type {
            'b' | 'B' => "B",
            's' | 'S' => "S",
            'U' => "U",
            'k' => "k",
            'm' => "m",
            'g' => "g",
            't' => "t",
            'p' => "p",
            'e' => "e",
            'K' => "K",
            'M' => "M",
            'G' => "G",
            'T' => "T",
            'P' => "P",
            'E' => "E",
            _ => "",
        }
    }

    fn format(&self, bytes: u128, suffix: bool) -> String {
        if !self.is_human() {
            let sfx = if suffix { self.fixed_suffix() } else { "" };
            if bytes == 0 {
                return format!("0{sfx}");
            }
            let v = bytes as f64 / self.factor as f64;
            return match self.unit_type {
                'b' | 'B' | 's' | 'S' => format!("{v:.0}{sfx}"),
                _ => format!("{v:.2}{sfx}"),
            };
        }
        // Human-readable: the suffix is always printed.
        if bytes == 0 {
            return "0 ".to_string();
        }
        let si = matches!(self.unit_type, 'H' | 'R');
        let (base, letters): (u128, [&str; 7]) = if si {
            (1000, ["E", "P", "T", "G", "M", "K", "B"])
        } else {
            (1024, ["e", "p", "t", "g", "m", "k", "b"])
        };
        let mut byte = base.pow(6);
        let mut s = 0;
        while s < 6 && bytes < byte {
            byte /= base;
            s += 1;
        }
        let mut prefix = "";
        if s < 6 && matches!(self.unit_type, 'r' | 'R') {
            // Mark values that %.2f would round up: "<2.00g" for 2043m.
            let d = 100.0 * bytes as f64 / byte as f64;
            if (d.floor() - d.round_ties_even()).abs() >= f64::EPSILON {
                prefix = "<";
            }
        }
        let v = bytes as f64 / byte as f64;
        if s == 6 {
            format!("{prefix}{v:.0}{}", letters[s])
        } else {
            format!("{prefix}{v:.2}{}", letters[s])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sz(s: &str) -> u64 {
        parse_size_mb(s).unwrap().sectors
    }

    #[test]
    fn size_args() {
        assert_eq!(sz("8m"), 8 * 2048);
        assert_eq!(sz("8"), 8 * 2048);
        assert_eq!(sz("8M"), 8 * 2048);
        assert_eq!(sz("10G"), 10 * 1024 * 2048);
        assert_eq!(sz("1.5g"), 3 * 1024 * 1024);
        assert_eq!(sz("512b"), 1);
        assert_eq!(sz("1024B"), 2);
        assert_eq!(sz("100s"), 100);
        assert_eq!(sz("100S"), 100);
        assert_eq!(sz("4k"), 8);
        assert_eq!(sz("1t"), 1 << 31);
        assert_eq!(sz(".5m"), 1024);
        assert_eq!(sz("10GiB"), 10 * 1024 * 2048);
        assert_eq!(
            parse_size_mb("+10m").unwrap(),
            SizeArg {
                sign: Sign::Plus,
                sectors: 20480
            }
        );
        assert_eq!(parse_size_mb("-1g").unwrap().sign, Sign::Minus);
        assert_eq!(parse_size_kb("64").unwrap().sectors, 128);
        assert_eq!(parse_size_kb("64").unwrap().bytes(), 65536);
    }

    #[test]
    fn size_arg_errors() {
        assert_eq!(parse_size_mb("m"), Err(UnitsError::NoNumber));
        assert_eq!(parse_size_mb("++1"), Err(UnitsError::MultipleSigns));
        assert_eq!(parse_size_mb("10x"), Err(UnitsError::BadSuffix));
        assert_eq!(
            parse_size_mb("1000b"),
            Err(UnitsError::NotSectorMultiple(512, 1024))
        );
        assert_eq!(parse_size_mb("16e"), Err(UnitsError::TooBig));
        assert_eq!(
            UnitsError::NotSectorMultiple(512, 1024).to_string(),
            "Size is not a multiple of 512. Try using 512 or 1024."
        );
    }

    #[test]
    fn extents_args() {
        assert_eq!(
            parse_extents("100%FREE").unwrap(),
            ExtentsArg {
                sign: Sign::None,
                value: 100,
                percent: Some(PercentOf::Free)
            }
        );
        assert_eq!(parse_extents("50%vg").unwrap().percent, Some(PercentOf::Vg));
        assert_eq!(parse_extents("+5").unwrap().sign, Sign::Plus);
        assert_eq!(parse_extents("5").unwrap().value, 5);
        assert!(parse_extents("5%X").is_err());
        assert!(parse_extents("x").is_err());
        assert!(parse_extents("5m").is_err());
    }

    fn u(s: &str) -> Units {
        Units::parse(s).unwrap()
    }

    /// Values from real lvm2 2.03.16: `vgs -o vg_size,vg_free,vg_extent_size
    /// --units X` on a VG of 248 4 MiB extents with 91 free.
    #[test]
    fn formats_like_lvm2() {
        let size = 2031616; // 992 MiB in sectors
        let free = 745472; // 364 MiB
        let ext = 8192; // 4 MiB
        let cases: &[(&str, [&str; 3])] = &[
            ("r", ["992.00m", "364.00m", "4.00m"]),
            ("R", ["1.04G", "381.68M", "4.19M"]),
            ("h", ["992.00m", "364.00m", "4.00m"]),
            ("H", ["1.04G", "381.68M", "4.19M"]),
            ("b", ["1040187392B", "381681664B", "4194304B"]),
            ("B", ["1040187392B", "381681664B", "4194304B"]),
            ("s", ["2031616S", "745472S", "8192S"]),
            ("S", ["2031616S", "745472S", "8192S"]),
            ("k", ["1015808.00k", "372736.00k", "4096.00k"]),
            ("K", ["1040187.39K", "381681.66K", "4194.30K"]),
            ("m", ["992.00m", "364.00m", "4.00m"]),
            ("M", ["1040.19M", "381.68M", "4.19M"]),
            ("g", ["0.97g", "0.36g", "0.00g"]),
            ("G", ["1.04G", "0.38G", "0.00G"]),
            ("t", ["0.00t", "0.00t", "0.00t"]),
            ("e", ["0.00e", "0.00e", "0.00e"]),
            ("4m", ["248.00U", "91.00U", "1.00U"]),
            ("3k", ["338602.67U", "124245.33U", "1365.33U"]),
            ("1.5m", ["661.33m", "242.67m", "2.67m"]),
        ];
        for (unit, want) in cases {
            let got = [size, free, ext].map(|s| u(unit).format_sectors(s, true));
            assert_eq!(&got, want, "--units {unit}");
        }
        assert_eq!(u("b").format_sectors(size, false), "1040187392");
        assert_eq!(u("m").format_sectors(size, false), "992.00");
        // --nosuffix does not apply to human units.
        assert_eq!(u("r").format_sectors(size, false), "992.00m");
    }

    #[test]
    fn zero_like_lvm2() {
        for (unit, want) in [
            ("r", "0 "),
            ("H", "0 "),
            ("m", "0m"),
            ("M", "0M"),
            ("k", "0k"),
            ("s", "0S"),
            ("b", "0B"),
            ("4m", "0U"),
        ] {
            assert_eq!(u(unit).format_sectors(0, true), want, "--units {unit}");
        }
        assert_eq!(u("b").format_sectors(0, false), "0");
    }

    #[test]
    fn rounding_marker() {
        let r = Units::default();
        // 2043 MiB is 1.995 GiB: %.2f rounds it up, so lvm2 prints "<2.00g".
        assert_eq!(r.format_sectors(2043 * 2048, true), "<2.00g");
        assert_eq!(u("h").format_sectors(2043 * 2048, true), "2.00g");
        // 1.994 GiB rounds down: no marker.
        assert_eq!(r.format_sectors(4_181_770, true), "1.99g");
        // Just under 1.99 GiB rounds up to it: marked.
        assert_eq!(r.format_sectors(4_173_332, true), "<1.99g");
        assert_eq!(r.format_sectors(1, true), "512b");
        assert_eq!(r.format_sectors(3 * 2048 * 1024 * 1024, true), "3.00t");
        assert_eq!(r.format_bytes(124 * 1024 * 1024, true), "124.00m");
    }

    #[test]
    fn bad_units() {
        for s in ["", "x", "u", "U", "mm", "0m"] {
            assert_eq!(Units::parse(s), Err(UnitsError::BadUnits), "{s:?}");
        }
    }
}
