//! The status and flag words lvm2 writes (`lib/format_text/flags.c`).
//!
//! lvm2 keeps them as bits and prints them in its table order; the model
//! keeps them as strings. These tables say which words exist, where each
//! belongs (`status = [...]`, `flags = [...]` or the `+FLAG` suffix of a
//! segment's `type`) and in which order lvm2 prints them, so that our output
//! matches lvm2's for the same state.

/// Where a flag word is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// In `status = [...]`: an lvm2 that does not know it refuses the VG.
    Status,
    /// In `flags = [...]`: older lvm2 versions ignore unknown ones.
    Compatible,
    /// Appended to every segment's `type` as `+NAME`, so that older lvm2
    /// sees an unknown segment type and stays away (RAID reshaping).
    Segtype,
}

use FlagKind::*;

/// VG flags, in lvm2's print order.
pub static VG_FLAGS: &[(&str, FlagKind)] = &[
    ("EXPORTED", Status),
    ("RESIZEABLE", Status),
    ("PVMOVE", Status),
    ("READ", Status),
    ("WRITE", Status),
    ("WRITE_LOCKED", Compatible),
    ("NOAUTOACTIVATE", Compatible),
    ("CLUSTERED", Status),
    ("SHARED", Status),
];

/// PV flags, in lvm2's print order. MISSING may appear in either list.
pub static PV_FLAGS: &[(&str, FlagKind)] = &[
    ("ALLOCATABLE", Status),
    ("EXPORTED", Status),
    ("MISSING", Compatible),
    ("MISSING", Status),
];

/// LV flags, in lvm2's print order.
pub static LV_FLAGS: &[(&str, FlagKind)] = &[
    ("READ", Status),
    ("WRITE", Status),
    ("WRITE_LOCKED", Compatible),
    ("FIXED_MINOR", Status),
    ("VISIBLE", Status),
    ("PVMOVE", Status),
    ("LOCKED", Status),
    ("NOTSYNCED", Status),
    ("REBUILD", Status),
    ("RESHAPE", Segtype),
    ("RESHAPE_DATA_OFFSET", Segtype),
    ("RESHAPE_DELTA_DISKS_PLUS", Segtype),
    ("RESHAPE_DELTA_DISKS_MINUS", Segtype),
    ("REMOVE_AFTER_RESHAPE", Segtype),
    ("WRITEMOSTLY", Status),
    ("ACTIVATION_SKIP", Compatible),
    ("NOAUTOACTIVATE", Compatible),
    ("ERROR_WHEN_FULL", Compatible),
    ("METADATA_FORMAT", Segtype),
    ("CROP_METADATA", Segtype),
    ("CACHE_VOL", Compatible),
    ("CACHE_USES_CACHEVOL", Segtype),
];

/// Position of `name` in `table` (first entry of that name).
pub fn order(table: &[(&str, FlagKind)], name: &str) -> Option<usize> {
    table.iter().position(|(n, _)| *n == name)
}

/// Whether `name` is a word lvm2 accepts in a `status` list of this table.
/// lvm2 reads segtype flags from `status` too (backward compatibility),
/// CACHE_VOL from either list, and the old VG flag PARTIAL.
pub fn is_status(table: &[(&str, FlagKind)], name: &str) -> bool {
    table
        .iter()
        .any(|(n, k)| *n == name && matches!(k, Status | Segtype))
        || (std::ptr::eq(table, LV_FLAGS) && name == "CACHE_VOL")
        || (std::ptr::eq(table, VG_FLAGS) && name == "PARTIAL")
}

/// Whether `name` is a segment-type flag (`type = "raid5+RESHAPE"`).
pub fn is_segtype_flag(name: &str) -> bool {
    LV_FLAGS.iter().any(|(n, k)| *n == name && *k == Segtype)
}

/// `list` in lvm2's print order: known words by table position, unknown
/// words after them in their original order (the sort is stable).
pub fn sorted<'a>(
    table: &[(&str, FlagKind)],
    list: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut v: Vec<&str> = list.into_iter().collect();
    v.sort_by_key(|n| order(table, n).unwrap_or(usize::MAX));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvm2_order() {
        assert_eq!(
            sorted(LV_FLAGS, ["VISIBLE", "X", "NOTSYNCED", "READ", "WRITE"]),
            ["READ", "WRITE", "VISIBLE", "NOTSYNCED", "X"]
        );
        assert!(is_segtype_flag("RESHAPE"));
        assert!(!is_segtype_flag("VISIBLE"));
        assert!(is_status(LV_FLAGS, "RESHAPE"));
        assert!(is_status(LV_FLAGS, "CACHE_VOL"));
        assert!(!is_status(LV_FLAGS, "ACTIVATION_SKIP"));
        assert!(is_status(VG_FLAGS, "PARTIAL"));
        assert!(is_status(PV_FLAGS, "MISSING"));
    }
}
