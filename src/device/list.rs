//! Which devices a command looks at: `--devices`, or every block device the
//! kernel lists in /sys, minus what lvm2 would not scan, filtered by
//! lvm.conf's `devices/global_filter` and `devices/filter`.

use std::path::{Path, PathBuf};

use regex::Regex;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FilterError {
    #[error("devices/{setting}: invalid pattern \"{pattern}\": {why}")]
    Pattern {
        setting: &'static str,
        pattern: String,
        why: String,
    },
}

/// One `a|regex|` or `r|regex|` entry of an lvm.conf filter.
#[derive(Debug, Clone)]
struct Rule {
    accept: bool,
    re: Regex,
}

/// lvm.conf's device filter: the first rule whose regex matches decides;
/// a device no rule matches is accepted (lvm2's behaviour).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    rules: Vec<Rule>,
}

impl Filter {
    pub fn parse(setting: &'static str, patterns: &[String]) -> Result<Filter, FilterError> {
        let mut rules = Vec::new();
        for p in patterns {
            let err = |why: &str| FilterError::Pattern {
                setting,
                pattern: p.clone(),
                why: why.to_string(),
            };
            let mut chars = p.chars();
            let accept = match chars.next() {
                Some('a') => true,
                Some('r') => false,
                _ => return Err(err("must start with 'a' (accept) or 'r' (reject)")),
            };
            // The delimiter is whatever character follows a/r, as in lvm2.
            let delim = chars.next().ok_or_else(|| err("missing delimiter"))?;
            let rest: String = chars.collect();
            let body = rest
                .strip_suffix(delim)
                .ok_or_else(|| err("missing closing delimiter"))?;
            let re = Regex::new(body).map_err(|e| err(&e.to_string()))?;
            rules.push(Rule { accept, re });
        }
        Ok(Filter { rules })
    }

    pub fn accepts(&self, path: &Path) -> bool {
        let name = path.to_string_lossy();
        self.rules
            .iter()
            .find(|r| r.re.is_match(&name))
            .is_none_or(|r| r.accept)
    }
}

fn read_sys(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Why lvm2 would not look at a kernel block device at all, or None.
pub fn skip_reason(sys: &Path, name: &str) -> Option<&'static str> {
    if read_sys(&sys.join("size")).and_then(|s| s.parse::<u64>().ok()) == Some(0) {
        return Some("size 0");
    }
    if name.starts_with("loop") && !sys.join("loop/backing_file").exists() {
        return Some("loop device without a backing file");
    }
    if name.starts_with("dm-") {
        // LVs are not scanned for PVs (lvm2's scan_lvs = 0 default), and a
        // DM device without a table yet is not ready.
        if read_sys(&sys.join("dm/uuid")).is_some_and(|u| u.starts_with("LVM-")) {
            return Some("LVM logical volume");
        }
        if read_sys(&sys.join("dm/suspended")).as_deref() == Some("1") {
            return Some("suspended device-mapper device");
        }
    }
    if name.starts_with("ram") || name.starts_with("zram") {
        return Some("RAM disk");
    }
    None
}

/// Every block device the kernel lists, as /dev paths, sorted by name.
pub fn system_devices() -> Vec<PathBuf> {
    let root = Path::new("/sys/class/block");
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            match skip_reason(&e.path(), &name) {
                Some(why) => {
                    log::debug!("/dev/{name}: skipped ({why})");
                    None
                }
                None => Some(Path::new("/dev").join(name)),
            }
        })
        .filter(|p| p.exists())
        .collect();
    out.sort();
    out
}

/// Device-mapper devices the kernel has, by DM UUID, with their
/// (major, minor): read from /sys, so it works without device-mapper
/// ioctls (and finds nothing on a kernel without device-mapper).
pub fn dm_devices() -> std::collections::HashMap<String, (u32, u32)> {
    let mut out = std::collections::HashMap::new();
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("dm-") {
            continue;
        }
        let (Some(uuid), Some(dev)) = (
            read_sys(&e.path().join("dm/uuid")),
            read_sys(&e.path().join("dev")),
        ) else {
            continue;
        };
        if let Some((ma, mi)) = dev.split_once(':') {
            if let (Ok(ma), Ok(mi)) = (ma.parse(), mi.parse()) {
                out.insert(uuid, (ma, mi));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &[&str]) -> Filter {
        Filter::parse(
            "filter",
            &p.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn first_matching_rule_decides() {
        let filt = f(&["a|^/dev/loop1$|", "r|^/dev/loop|"]);
        assert!(filt.accepts(Path::new("/dev/loop1")));
        assert!(!filt.accepts(Path::new("/dev/loop2")));
        assert!(filt.accepts(Path::new("/dev/sdb")));
        assert!(f(&[]).accepts(Path::new("/dev/anything")));
        assert!(!f(&["r/.*/"]).accepts(Path::new("/dev/sda")));
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = Filter::parse("global_filter", &["x|a|".into()]).unwrap_err();
        assert!(e.to_string().contains("global_filter"));
        assert!(Filter::parse("filter", &["a|(|".into()]).is_err());
        assert!(Filter::parse("filter", &["a|abc".into()]).is_err());
    }
}
