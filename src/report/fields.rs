//! The field registry (names, headings and widths from lvm2's
//! `lib/report/columns.h`, in the same order) and the value of each field
//! for one report row.

use super::attr::{first_unknown, has_flag, lv_flag, orphan_pv_attr};
use super::derive::{extra_int, extra_str, segtype_name, SubRole, VgCtx};
use super::{LvState, PvDevice};
use crate::format::config::Value;
use crate::model::{extra_get, Area, SegType, Segment};
use crate::units::Units;

/// Which object a field describes (lvm2's report object types). `Label`
/// fields come from the device's label, `Pv` fields from the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Obj {
    Lv,
    Label,
    Pv,
    Vg,
    Seg,
}

/// How a field's values align and sort (lvm2's `DM_REPORT_FIELD_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    /// Numbers, and binary fields (lvm2 declares `BIN` as a number).
    Num,
    Size,
    Pct,
    StrList,
    Time,
}

impl Kind {
    /// Numbers and sizes are right-aligned, everything else left-aligned.
    pub fn right_aligned(self) -> bool {
        matches!(self, Kind::Num | Kind::Size)
    }
}

#[derive(Debug)]
pub(crate) struct FieldDef {
    pub obj: Obj,
    pub kind: Kind,
    pub heading: &'static str,
    /// lvm2's declared minimum width; 0 means the heading's length.
    width: usize,
    pub id: &'static str,
}

impl FieldDef {
    pub fn width(&self) -> usize {
        if self.width == 0 {
            self.heading.len()
        } else {
            self.width
        }
    }

    /// The id without underscores, which is what lvm2 matches names on.
    pub fn canonical(&self) -> String {
        self.id.replace('_', "")
    }
}

macro_rules! f {
    ($obj:ident, $kind:ident, $head:expr, $width:expr, $id:expr) => {
        FieldDef {
            obj: Obj::$obj,
            kind: Kind::$kind,
            heading: $head,
            width: $width,
            id: $id,
        }
    };
}

/// Every field this implementation can report, in lvm2's order (which is
/// the order of `-o lv_all` and the order names are matched in).
pub(crate) static FIELDS: &[FieldDef] = &[
    f!(Lv, Str, "LV UUID", 38, "lv_uuid"),
    f!(Lv, Str, "LV", 4, "lv_name"),
    f!(Lv, Str, "LV", 4, "lv_full_name"),
    f!(Lv, Str, "Path", 0, "lv_path"),
    f!(Lv, Str, "DMPath", 0, "lv_dm_path"),
    f!(Lv, Str, "Parent", 0, "lv_parent"),
    f!(Lv, Str, "AllocPol", 10, "lv_allocation_policy"),
    f!(Lv, Num, "AllocLock", 10, "lv_allocation_locked"),
    f!(Lv, Num, "FixMin", 10, "lv_fixed_minor"),
    f!(Lv, Num, "SkipAct", 15, "lv_skip_activation"),
    f!(Lv, Num, "AutoAct", 0, "lv_autoactivation"),
    f!(Lv, Str, "Active", 0, "lv_active"),
    f!(Lv, Num, "ActLocal", 10, "lv_active_locally"),
    f!(Lv, Num, "ActRemote", 10, "lv_active_remotely"),
    f!(Lv, Num, "ActExcl", 10, "lv_active_exclusively"),
    f!(Lv, Num, "Maj", 0, "lv_major"),
    f!(Lv, Num, "Min", 0, "lv_minor"),
    f!(Lv, Size, "Rahead", 0, "lv_read_ahead"),
    f!(Lv, Size, "LSize", 0, "lv_size"),
    f!(Lv, Num, "#Seg", 0, "seg_count"),
    f!(Lv, Str, "Origin", 0, "origin"),
    f!(Lv, Str, "Origin UUID", 38, "origin_uuid"),
    f!(Lv, Size, "OSize", 0, "origin_size"),
    f!(Lv, Num, "Mismatches", 0, "raid_mismatch_count"),
    f!(Lv, Str, "SyncAction", 0, "raid_sync_action"),
    f!(Lv, Num, "WBehind", 0, "raid_write_behind"),
    f!(Lv, Num, "MinSync", 0, "raid_min_recovery_rate"),
    f!(Lv, Num, "MaxSync", 0, "raid_max_recovery_rate"),
    f!(Lv, Str, "Move", 0, "move_pv"),
    f!(Lv, Str, "Move UUID", 38, "move_pv_uuid"),
    f!(Lv, Str, "Convert", 0, "convert_lv"),
    f!(Lv, Str, "Convert UUID", 38, "convert_lv_uuid"),
    f!(Lv, Str, "Log", 0, "mirror_log"),
    f!(Lv, Str, "Log UUID", 38, "mirror_log_uuid"),
    f!(Lv, Str, "Data", 0, "data_lv"),
    f!(Lv, Str, "Data UUID", 38, "data_lv_uuid"),
    f!(Lv, Str, "Meta", 0, "metadata_lv"),
    f!(Lv, Str, "Meta UUID", 38, "metadata_lv_uuid"),
    f!(Lv, Str, "Pool", 0, "pool_lv"),
    f!(Lv, Str, "Pool UUID", 38, "pool_lv_uuid"),
    f!(Lv, StrList, "LV Tags", 0, "lv_tags"),
    f!(Lv, Str, "LProfile", 0, "lv_profile"),
    f!(Lv, Time, "CTime", 26, "lv_time"),
    f!(Lv, Str, "Host", 10, "lv_host"),
    f!(Lv, Num, "KMaj", 0, "lv_kernel_major"),
    f!(Lv, Num, "KMin", 0, "lv_kernel_minor"),
    f!(Lv, Size, "KRahead", 0, "lv_kernel_read_ahead"),
    f!(Lv, Str, "LPerms", 8, "lv_permissions"),
    f!(Lv, Num, "Suspended", 10, "lv_suspended"),
    f!(Lv, Num, "LiveTable", 20, "lv_live_table"),
    f!(Lv, Num, "InactiveTable", 20, "lv_inactive_table"),
    f!(Lv, Num, "DevOpen", 10, "lv_device_open"),
    f!(Lv, Pct, "Data%", 6, "data_percent"),
    f!(Lv, Pct, "Snap%", 6, "snap_percent"),
    f!(Lv, Pct, "Meta%", 6, "metadata_percent"),
    f!(Lv, Pct, "Cpy%Sync", 0, "copy_percent"),
    f!(Lv, Pct, "Cpy%Sync", 0, "sync_percent"),
    f!(Lv, Str, "Health", 15, "lv_health_status"),
    f!(Lv, Str, "Attr", 0, "lv_attr"),
    f!(Label, Str, "Fmt", 0, "pv_fmt"),
    f!(Label, Str, "PV UUID", 38, "pv_uuid"),
    f!(Label, Size, "DevSize", 0, "dev_size"),
    f!(Label, Str, "PV", 10, "pv_name"),
    f!(Label, Str, "Maj", 0, "pv_major"),
    f!(Label, Str, "Min", 0, "pv_minor"),
    f!(Label, Size, "PMdaFree", 9, "pv_mda_free"),
    f!(Label, Size, "PMdaSize", 9, "pv_mda_size"),
    f!(Label, Num, "PExtVsn", 0, "pv_ext_vsn"),
    f!(Pv, Num, "1st PE", 7, "pe_start"),
    f!(Pv, Size, "PSize", 0, "pv_size"),
    f!(Pv, Size, "PFree", 0, "pv_free"),
    f!(Pv, Size, "Used", 0, "pv_used"),
    f!(Pv, Str, "Attr", 0, "pv_attr"),
    f!(Pv, Num, "Allocatable", 0, "pv_allocatable"),
    f!(Pv, Num, "Exported", 10, "pv_exported"),
    f!(Pv, Num, "Missing", 10, "pv_missing"),
    f!(Pv, Num, "PE", 3, "pv_pe_count"),
    f!(Pv, Num, "Alloc", 0, "pv_pe_alloc_count"),
    f!(Pv, StrList, "PV Tags", 0, "pv_tags"),
    f!(Pv, Num, "#PMda", 0, "pv_mda_count"),
    f!(Pv, Num, "#PMdaUse", 0, "pv_mda_used_count"),
    f!(Pv, Size, "BA Start", 0, "pv_ba_start"),
    f!(Pv, Size, "BA Size", 0, "pv_ba_size"),
    f!(Pv, Num, "PInUse", 0, "pv_in_use"),
    f!(Pv, Num, "Duplicate", 0, "pv_duplicate"),
    f!(Pv, Str, "DeviceID", 0, "pv_device_id"),
    f!(Pv, Str, "DeviceIDType", 0, "pv_device_id_type"),
    f!(Vg, Str, "Fmt", 0, "vg_fmt"),
    f!(Vg, Str, "VG UUID", 38, "vg_uuid"),
    f!(Vg, Str, "VG", 0, "vg_name"),
    f!(Vg, Str, "Attr", 5, "vg_attr"),
    f!(Vg, Str, "VPerms", 10, "vg_permissions"),
    f!(Vg, Num, "Extendable", 0, "vg_extendable"),
    f!(Vg, Num, "Exported", 10, "vg_exported"),
    f!(Vg, Num, "AutoAct", 0, "vg_autoactivation"),
    f!(Vg, Num, "Partial", 10, "vg_partial"),
    f!(Vg, Str, "AllocPol", 10, "vg_allocation_policy"),
    f!(Vg, Num, "Clustered", 10, "vg_clustered"),
    f!(Vg, Num, "Shared", 7, "vg_shared"),
    f!(Vg, Size, "VSize", 0, "vg_size"),
    f!(Vg, Size, "VFree", 0, "vg_free"),
    f!(Vg, Str, "SYS ID", 0, "vg_sysid"),
    f!(Vg, Str, "System ID", 0, "vg_systemid"),
    f!(Vg, Str, "LockType", 0, "vg_lock_type"),
    f!(Vg, Str, "VLockArgs", 0, "vg_lock_args"),
    f!(Vg, Size, "Ext", 0, "vg_extent_size"),
    f!(Vg, Num, "#Ext", 0, "vg_extent_count"),
    f!(Vg, Num, "Free", 0, "vg_free_count"),
    f!(Vg, Num, "MaxLV", 0, "max_lv"),
    f!(Vg, Num, "MaxPV", 0, "max_pv"),
    f!(Vg, Num, "#PV", 0, "pv_count"),
    f!(Vg, Num, "#PV Missing", 0, "vg_missing_pv_count"),
    f!(Vg, Num, "#LV", 0, "lv_count"),
    f!(Vg, Num, "#SN", 0, "snap_count"),
    f!(Vg, Num, "Seq", 0, "vg_seqno"),
    f!(Vg, StrList, "VG Tags", 0, "vg_tags"),
    f!(Vg, Str, "VProfile", 0, "vg_profile"),
    f!(Vg, Num, "#VMda", 0, "vg_mda_count"),
    f!(Vg, Num, "#VMdaUse", 0, "vg_mda_used_count"),
    f!(Vg, Size, "VMdaFree", 9, "vg_mda_free"),
    f!(Vg, Size, "VMdaSize", 9, "vg_mda_size"),
    f!(Vg, Num, "#VMdaCps", 0, "vg_mda_copies"),
    f!(Seg, Str, "Type", 0, "segtype"),
    f!(Seg, Num, "#Str", 0, "stripes"),
    f!(Seg, Num, "#DStr", 0, "data_stripes"),
    f!(Seg, Num, "#Cpy", 0, "data_copies"),
    f!(Seg, Num, "#Par", 0, "parity_chunks"),
    f!(Seg, Size, "Stripe", 0, "stripe_size"),
    f!(Seg, Size, "Region", 0, "region_size"),
    f!(Seg, Size, "Chunk", 0, "chunk_size"),
    f!(Seg, Size, "Start", 0, "seg_start"),
    f!(Seg, Num, "Start", 0, "seg_start_pe"),
    f!(Seg, Size, "SSize", 0, "seg_size"),
    f!(Seg, Num, "SSize", 0, "seg_size_pe"),
    f!(Seg, Size, "RSize", 0, "reshape_len"),
    f!(Seg, Num, "RSize", 0, "reshape_len_le"),
    f!(Seg, StrList, "Seg Tags", 0, "seg_tags"),
    f!(Seg, StrList, "PE Ranges", 0, "seg_pe_ranges"),
    f!(Seg, StrList, "LE Ranges", 0, "seg_le_ranges"),
    f!(
        Seg,
        StrList,
        "Metadata LE Ranges",
        0,
        "seg_metadata_le_ranges"
    ),
    f!(Seg, StrList, "Devices", 0, "devices"),
    f!(Seg, StrList, "Metadata Devs", 0, "metadata_devices"),
];

/// The value of one field in one row: what is printed and what sorts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub text: String,
    pub sort: SortKey,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SortKey {
    Num(u64),
    Str(String),
}

/// The object one report row is about.
#[derive(Clone, Copy)]
pub(crate) enum Row<'a> {
    /// A PV listed in a VG's metadata (its device may be missing).
    Pv {
        vg: &'a VgCtx<'a>,
        pv: usize,
    },
    /// A labelled device that belongs to no VG.
    Orphan {
        dev: &'a PvDevice,
    },
    Vg {
        vg: &'a VgCtx<'a>,
    },
    /// An LV, or one of its segments when segment fields are reported.
    Lv {
        vg: &'a VgCtx<'a>,
        lv: usize,
        seg: Option<usize>,
    },
}

/// Output settings that change values (not layout).
pub(crate) struct Fmt {
    pub units: Units,
    pub suffix: bool,
    /// `--binary`: binary fields print 0/1 instead of blank/word.
    pub binary: bool,
}

const UNKNOWN: &str = "unknown";

impl Fmt {
    fn size(&self, sectors: u64) -> Cell {
        Cell {
            text: self.units.format_sectors(sectors, self.suffix),
            sort: SortKey::Num(sectors),
        }
    }

    fn bin(&self, v: bool, word: &str) -> Cell {
        let text = match (self.binary, v) {
            (true, true) => "1",
            (true, false) => "0",
            (false, true) => word,
            (false, false) => "",
        };
        Cell {
            text: text.into(),
            sort: SortKey::Num(v as u64),
        }
    }

    /// A binary field whose value is not known (no device-mapper info).
    fn bin_undef(&self) -> Cell {
        Cell {
            text: if self.binary { "-1" } else { UNKNOWN }.into(),
            sort: SortKey::Num(u64::MAX),
        }
    }
}

fn num(v: u64) -> Cell {
    Cell {
        text: v.to_string(),
        sort: SortKey::Num(v),
    }
}

fn snum(v: i64) -> Cell {
    Cell {
        text: v.to_string(),
        sort: SortKey::Num(v as u64),
    }
}

/// A number field with no value: printed blank, sorted as undefined.
fn num_undef() -> Cell {
    Cell {
        text: String::new(),
        sort: SortKey::Num(u64::MAX),
    }
}

fn text(s: impl Into<String>) -> Cell {
    let s = s.into();
    Cell {
        sort: SortKey::Str(s.clone()),
        text: s,
    }
}

/// Tags: sorted and comma-separated, like lvm2's sorted string lists.
fn tags(t: &[String], sep: &str) -> Cell {
    let mut t = t.to_vec();
    t.sort();
    text(t.join(sep))
}

/// lvm2's `dm_percent_t` from a ratio, then formatted as `%.2f` of its
/// float value, never showing 0.00 or 100.00 for values that are not.
pub(crate) fn percent(numerator: u64, denominator: u64) -> Cell {
    const P1: i64 = 1_000_000;
    const P100: i64 = 100 * P1;
    let p: i64 = if denominator == 0 || numerator == denominator {
        P100
    } else if numerator == 0 {
        0
    } else {
        match (P100 as f64 * (numerator as f64 / denominator as f64)) as i64 {
            P100 => P100 - 1,
            0 => 1,
            p => p,
        }
    };
    // dm_percent_to_round_float works in single precision.
    let mut f = p as f32 / P1 as f32 + 0.0;
    let r = P1 as f32 * 0.01f32;
    if (p as f32) < r && p > 0 {
        f = 0.01;
    } else if (p as f32) > (P100 as f32 - r) && p < P100 {
        f = (P100 as f32 - r) / P1 as f32;
    }
    Cell {
        text: format!("{:.2}", f as f64),
        sort: SortKey::Num(p as u64),
    }
}

fn pct_undef() -> Cell {
    Cell {
        text: String::new(),
        sort: SortKey::Num(u64::MAX),
    }
}

/// Creation time as lvm2 prints it: local time, `%Y-%m-%d %H:%M:%S %z`.
fn format_time(t: i64) -> String {
    let tt = t as libc::time_t;
    // SAFETY: localtime_r and strftime only write into the buffers given.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&tt, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%Y-%m-%d %H:%M:%S %z".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// Facts about a PV row, whether it is in a VG or an orphan.
struct PvFacts<'a> {
    dev: Option<&'a PvDevice>,
    uuid: String,
    name: String,
    /// All in sectors.
    size: u64,
    free: u64,
    used: u64,
    pe_start: u64,
    pe_count: u64,
    alloc_count: u64,
    attr: String,
    tags: &'a [String],
    allocatable: bool,
    exported: bool,
    missing: bool,
    in_use: bool,
    ba_start: u64,
    ba_size: u64,
}

fn pv_facts<'a>(row: &Row<'a>) -> Option<PvFacts<'a>> {
    match *row {
        Row::Pv { vg, pv } => {
            let p = &vg.view.vg.pvs[pv];
            let dev = vg.device(pv);
            let ext = vg.view.vg.extent_size;
            let alloc = vg.pvs[pv].alloc_count;
            // A PV with extents reports its usable size; without any, the
            // size recorded for the device (lvm2's pv_size_field).
            let size = if p.pe_count > 0 {
                p.pe_count * ext
            } else {
                p.dev_size
            };
            let free = if p.pe_count > 0 {
                p.pe_count.saturating_sub(alloc) * ext
            } else {
                p.dev_size
            };
            Some(PvFacts {
                dev,
                uuid: p.id.clone(),
                name: dev.map_or("[unknown]".into(), |d| d.name.clone()),
                size,
                free,
                used: if p.pe_count > 0 { alloc * ext } else { 0 },
                pe_start: p.pe_start,
                pe_count: p.pe_count,
                alloc_count: alloc,
                attr: vg.pv_attr(pv),
                tags: &p.tags,
                allocatable: has_flag(&p.status, &p.flags, "ALLOCATABLE"),
                exported: has_flag(&p.status, &p.flags, "EXPORTED") || vg.vg_exported(),
                missing: vg.pvs[pv].missing,
                in_use: true,
                ba_start: p.ba_start.unwrap_or(0),
                ba_size: p.ba_size.unwrap_or(0),
            })
        }
        Row::Orphan { dev } => {
            let label_size = if dev.label_dev_size > 0 {
                dev.label_dev_size
            } else {
                dev.dev_size
            } / 512;
            Some(PvFacts {
                dev: Some(dev),
                uuid: dev.uuid.clone(),
                name: dev.name.clone(),
                size: label_size,
                free: if dev.in_use { 0 } else { label_size },
                used: 0,
                pe_start: dev.pe_start / 512,
                pe_count: 0,
                alloc_count: 0,
                attr: orphan_pv_attr(dev.in_use),
                tags: &[],
                allocatable: false,
                exported: false,
                missing: false,
                in_use: dev.in_use,
                ba_start: dev.ba_start / 512,
                ba_size: dev.ba_size / 512,
            })
        }
        _ => None,
    }
}

fn pv_value(id: &str, row: &Row, fmt: &Fmt) -> Option<Cell> {
    let f = pv_facts(row)?;
    let dev = f.dev;
    Some(match id {
        "pv_fmt" => text("lvm2"),
        "pv_uuid" => text(f.uuid),
        "dev_size" => fmt.size(dev.map_or(0, |d| d.dev_size / 512)),
        "pv_name" => text(f.name),
        "pv_major" => dev.map_or(text(""), |d| snum(d.major as i64)),
        "pv_minor" => dev.map_or(text(""), |d| snum(d.minor as i64)),
        "pv_mda_free" => fmt.size(dev.map_or(0, |d| d.mda_free / 512)),
        "pv_mda_size" => fmt.size(dev.map_or(0, |d| d.mda_size / 512)),
        "pv_ext_vsn" => dev.map_or(num_undef(), |d| num(d.ext_version as u64)),
        "pe_start" => fmt.size(f.pe_start),
        "pv_size" => fmt.size(f.size),
        "pv_free" => fmt.size(f.free),
        "pv_used" => fmt.size(f.used),
        "pv_attr" => text(f.attr),
        "pv_allocatable" => fmt.bin(f.allocatable, "allocatable"),
        "pv_exported" => fmt.bin(f.exported, "exported"),
        "pv_missing" => fmt.bin(f.missing, "missing"),
        "pv_pe_count" => num(f.pe_count),
        "pv_pe_alloc_count" => num(f.alloc_count),
        "pv_tags" => tags(f.tags, ","),
        "pv_mda_count" => num(dev.map_or(0, |d| d.mda_count as u64)),
        "pv_mda_used_count" => num(dev.map_or(0, |d| d.mda_used_count() as u64)),
        "pv_ba_start" => fmt.size(f.ba_start),
        "pv_ba_size" => fmt.size(f.ba_size),
        "pv_in_use" => fmt.bin(f.in_use, "used"),
        "pv_duplicate" => fmt.bin(false, "duplicate"),
        "pv_device_id" | "pv_device_id_type" => text(""),
        _ => return None,
    })
}

/// VG fields of an orphan PV's row: lvm2 reports its internal, nameless
/// orphan VG.
fn orphan_vg_value(id: &str, fmt: &Fmt) -> Option<Cell> {
    Some(match id {
        "vg_fmt" => text("lvm2"),
        "vg_attr" => text("r-----"),
        "vg_permissions" => text("read-only"),
        "vg_autoactivation" => fmt.bin(true, "enabled"),
        "vg_allocation_policy" => text(UNKNOWN),
        "vg_extendable" | "vg_exported" | "vg_partial" | "vg_clustered" | "vg_shared" => {
            fmt.bin(false, "")
        }
        "vg_size" | "vg_free" | "vg_extent_size" | "vg_mda_free" | "vg_mda_size" => fmt.size(0),
        "vg_extent_count"
        | "vg_free_count"
        | "max_lv"
        | "max_pv"
        | "pv_count"
        | "vg_missing_pv_count"
        | "lv_count"
        | "snap_count"
        | "vg_seqno"
        | "vg_mda_count"
        | "vg_mda_used_count" => num(0),
        "vg_mda_copies" => Cell {
            text: "unmanaged".into(),
            sort: SortKey::Num(u64::MAX),
        },
        _ => text(""),
    })
}

fn vg_value(id: &str, vg: &VgCtx, fmt: &Fmt) -> Cell {
    let v = &vg.view.vg;
    let f = |n: &str| has_flag(&v.status, &v.flags, n);
    let devs = || {
        v.pvs
            .iter()
            .enumerate()
            .filter_map(|(i, _)| vg.device(i))
            .collect::<Vec<_>>()
    };
    match id {
        "vg_fmt" => text(v.format.clone().unwrap_or_else(|| "lvm2".into())),
        "vg_uuid" => text(v.id.clone()),
        "vg_name" => text(v.name.clone()),
        "vg_attr" => text(vg.vg_attr()),
        "vg_permissions" => text(if f("WRITE") { "writeable" } else { "read-only" }),
        "vg_extendable" => fmt.bin(f("RESIZEABLE"), "extendable"),
        "vg_exported" => fmt.bin(vg.vg_exported(), "exported"),
        "vg_autoactivation" => fmt.bin(!f("NOAUTOACTIVATE"), "enabled"),
        "vg_partial" => fmt.bin(vg.missing_pv_count() > 0, "partial"),
        "vg_allocation_policy" => text(vg.vg_alloc_policy()),
        "vg_clustered" => fmt.bin(vg.vg_clustered(), "clustered"),
        "vg_shared" => fmt.bin(vg.vg_shared(), "shared"),
        "vg_size" => fmt.size(vg.extent_count() * v.extent_size),
        "vg_free" => fmt.size(vg.free_count() * v.extent_size),
        "vg_sysid" | "vg_systemid" => text(v.system_id.clone().unwrap_or_default()),
        "vg_lock_type" => text(vg.vg_lock_type()),
        "vg_lock_args" => text(match extra_get(&v.extra, "lock_args") {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        }),
        "vg_extent_size" => fmt.size(v.extent_size),
        "vg_extent_count" => num(vg.extent_count()),
        "vg_free_count" => num(vg.free_count()),
        "max_lv" => num(v.max_lv),
        "max_pv" => num(v.max_pv),
        "pv_count" => num(v.pvs.len() as u64),
        "vg_missing_pv_count" => num(vg.missing_pv_count() as u64),
        "lv_count" => num((0..v.lvs.len()).filter(|&i| vg.is_visible(i)).count() as u64),
        "snap_count" => num((0..v.lvs.len()).filter(|&i| vg.is_cow(i)).count() as u64),
        "vg_seqno" => num(v.seqno),
        "vg_tags" => tags(&v.tags, ","),
        "vg_profile" => text(match extra_get(&v.extra, "profile") {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        }),
        "vg_mda_count" => num(devs().iter().map(|d| d.mda_count as u64).sum()),
        "vg_mda_used_count" => num(devs().iter().map(|d| d.mda_used_count() as u64).sum()),
        // The smallest metadata area among PVs that have one in use.
        "vg_mda_size" => fmt.size(
            devs()
                .iter()
                .filter(|d| d.mda_used_count() > 0)
                .map(|d| d.mda_size / 512)
                .min()
                .unwrap_or(0),
        ),
        "vg_mda_free" => fmt.size(
            devs()
                .iter()
                .filter(|d| d.mda_used_count() > 0)
                .map(|d| d.mda_free / 512)
                .min()
                .unwrap_or(0),
        ),
        "vg_mda_copies" => match v.metadata_copies {
            0 => Cell {
                text: "unmanaged".into(),
                sort: SortKey::Num(u64::MAX),
            },
            n => num(n),
        },
        _ => text(""),
    }
}

/// An LV name as lvm2 shows it in name fields: hidden LVs in brackets. The
/// sort value is the bare name.
fn lv_name_cell(vg: &VgCtx, i: usize) -> Cell {
    let name = &vg.lv(i).name;
    Cell {
        text: if vg.is_visible(i) {
            name.clone()
        } else {
            format!("[{name}]")
        },
        sort: SortKey::Str(name.clone()),
    }
}

fn related_lv(vg: &VgCtx, other: Option<usize>, uuid: bool) -> Cell {
    match other {
        None => text(""),
        Some(o) if uuid => text(vg.lv(o).id.clone()),
        Some(o) => lv_name_cell(vg, o),
    }
}

fn first_seg_str<'v>(vg: &'v VgCtx, i: usize, key: &str) -> Option<&'v str> {
    vg.lv(i).segments.first().and_then(|s| extra_str(s, key))
}

fn lv_value(id: &str, vg: &VgCtx, i: usize, fmt: &Fmt) -> Cell {
    let lv = vg.lv(i);
    let info = &vg.lvs[i];
    let ext = vg.view.vg.extent_size;
    let first = lv.segments.first();
    let raid = first.and_then(|s| s.raid.as_ref());
    let active = matches!(info.state, LvState::Active(_));
    let act = match &info.state {
        LvState::Active(a) => Some(a),
        _ => None,
    };
    let unknown = info.state == LvState::Unknown;
    let by_name = |n: Option<&str>| n.and_then(|n| vg.lv_index(n));
    // origin_uuid, pool_lv_uuid, ...: the same lookup as the name field,
    // reporting the related LV's UUID instead of its name.
    let uuid = id != "lv_uuid" && id.ends_with("_uuid");
    let base = if uuid {
        id.trim_end_matches("_uuid")
    } else {
        id
    };
    match base {
        "lv_uuid" => text(lv.id.clone()),
        "lv_name" => lv_name_cell(vg, i),
        "lv_full_name" => text(format!("{}/{}", vg.view.vg.name, lv.name)),
        "lv_path" => text(if vg.is_visible(i) && !vg.is_thin_pool(i) {
            format!("/dev/{}/{}", vg.view.vg.name, lv.name)
        } else {
            String::new()
        }),
        "lv_dm_path" => text(format!(
            "/dev/mapper/{}-{}",
            vg.view.vg.name.replace('-', "--"),
            lv.name.replace('-', "--")
        )),
        "lv_parent" => match info.parent {
            Some(p) => text(vg.lv(p.lv).name.clone()),
            None => text(""),
        },
        "lv_allocation_policy" => text(
            lv.allocation_policy
                .clone()
                .unwrap_or_else(|| "inherit".into()),
        ),
        "lv_allocation_locked" => fmt.bin(lv_flag(lv, "LOCKED"), "allocation locked"),
        "lv_fixed_minor" => fmt.bin(lv_flag(lv, "FIXED_MINOR"), "fixed minor"),
        "lv_skip_activation" => fmt.bin(lv_flag(lv, "ACTIVATION_SKIP"), "skip activation"),
        "lv_autoactivation" => fmt.bin(!lv_flag(lv, "NOAUTOACTIVATE"), "enabled"),
        "lv_active" => text(match info.state {
            LvState::Unknown => UNKNOWN,
            LvState::Inactive => "",
            LvState::Active(_) => "active",
        }),
        "lv_active_locally" | "lv_active_exclusively" | "lv_active_remotely" => {
            if unknown {
                fmt.bin_undef()
            } else {
                let word = match id {
                    "lv_active_locally" => "active locally",
                    "lv_active_exclusively" => "active exclusively",
                    _ => "active remotely",
                };
                fmt.bin(active && id != "lv_active_remotely", word)
            }
        }
        "lv_major" | "lv_minor" => {
            let key = if id == "lv_major" { "major" } else { "minor" };
            match extra_get(&lv.extra, key) {
                Some(Value::Int(n)) if lv_flag(lv, "FIXED_MINOR") => snum(*n),
                _ => snum(-1),
            }
        }
        "lv_read_ahead" => match lv.read_ahead {
            None | Some(-1) => Cell {
                text: "auto".into(),
                sort: SortKey::Num(u64::MAX),
            },
            Some(n) => fmt.size(n as u64),
        },
        "lv_size" => fmt.size((info.le_count - info.reshape_le) * ext),
        "seg_count" => num(lv.segments.len() as u64),
        "origin" => {
            // Snapshots (COW) and thin snapshots/external origins name one.
            let o = info
                .cow_of
                .or_else(|| by_name(first_seg_str(vg, i, "origin")))
                .or_else(|| by_name(first_seg_str(vg, i, "external_origin")));
            let o = if vg.is_cache(i) { None } else { o };
            related_lv(vg, o, uuid)
        }
        "origin_size" => {
            // lv_origin_size: a COW reports its snapshot's size, an origin
            // its own, a thin volume its external origin's.
            let ext_origin = if vg.is_thin_volume(i) {
                by_name(first_seg_str(vg, i, "external_origin"))
            } else {
                None
            };
            let size = if let Some(s) = info.snapshot {
                vg.lvs[s].le_count
            } else if let Some(e) = ext_origin {
                vg.lvs[e].le_count
            } else if vg.is_origin(i) {
                info.le_count
            } else {
                0
            };
            if size > 0 {
                fmt.size(size * ext)
            } else {
                Cell {
                    text: String::new(),
                    sort: SortKey::Num(0),
                }
            }
        }
        "raid_mismatch_count" => match vg.raid_status(i) {
            Some(s) if vg.is_raid(i) => num(s.mismatch_count),
            _ => num_undef(),
        },
        "raid_sync_action" => match vg.raid_status(i) {
            Some(s) if vg.is_raid(i) => text(s.sync_action.clone()),
            _ => text(""),
        },
        "raid_write_behind" | "raid_min_recovery_rate" | "raid_max_recovery_rate" => {
            // lvm2 reads these from the first segment of the LV itself, so
            // only the top-level RAID LV has them.
            let v = raid.and_then(|r| match id {
                "raid_write_behind" => r.writebehind,
                "raid_min_recovery_rate" => r.min_recovery_rate,
                _ => r.max_recovery_rate,
            });
            match v {
                Some(v) if v > 0 && vg.is_raid_type(i) => num(v),
                _ => num_undef(),
            }
        }
        "move_pv" => {
            // A pvmove LV's first segment is a mirror whose first area is
            // the source PV.
            let src = if vg.is_pvmove(i) {
                first.and_then(|s| {
                    vg.seg_areas(s).into_iter().find_map(|a| match a {
                        Area::Pv { pv, .. } => Some(pv),
                        _ => None,
                    })
                })
            } else {
                None
            };
            match src.and_then(|k| vg.pv_index(&k)) {
                Some(p) if uuid => text(vg.view.vg.pvs[p].id.clone()),
                Some(p) => text(vg.pv_dev_name(&vg.view.vg.pvs[p].key)),
                None => text(""),
            }
        }
        "convert_lv" => related_lv(vg, None, uuid),
        "mirror_log" => related_lv(
            vg,
            if vg.is_mirror(i) || vg.is_pvmove(i) {
                by_name(first_seg_str(vg, i, "mirror_log"))
            } else {
                None
            },
            uuid,
        ),
        "data_lv" => related_lv(
            vg,
            match first_unknown(lv) {
                Some("thin-pool" | "cache-pool") => by_name(first_seg_str(vg, i, "pool")),
                Some("vdo-pool") => by_name(first_seg_str(vg, i, "vdo_pool_data")),
                _ => None,
            },
            uuid,
        ),
        "metadata_lv" => related_lv(
            vg,
            match first_unknown(lv) {
                Some("thin-pool" | "cache-pool") => by_name(first_seg_str(vg, i, "metadata")),
                _ => None,
            },
            uuid,
        ),
        "pool_lv" => related_lv(
            vg,
            match first_unknown(lv) {
                Some("thin") => by_name(first_seg_str(vg, i, "thin_pool")),
                Some("cache") => by_name(first_seg_str(vg, i, "cache_pool")),
                Some("writecache") => by_name(first_seg_str(vg, i, "writecache")),
                Some("vdo") => by_name(first_seg_str(vg, i, "vdo_pool")),
                _ => None,
            },
            uuid,
        ),
        "lv_tags" => tags(&lv.tags, ","),
        "lv_profile" => text(match extra_get(&lv.extra, "profile") {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        }),
        "lv_time" => match lv.creation_time {
            Some(t) => Cell {
                text: format_time(t),
                sort: SortKey::Num(t as u64),
            },
            None => Cell {
                text: String::new(),
                sort: SortKey::Num(0),
            },
        },
        "lv_host" => text(lv.creation_host.clone().unwrap_or_default()),
        "lv_kernel_major" => act.map_or(snum(-1), |a| snum(a.major as i64)),
        "lv_kernel_minor" => act.map_or(snum(-1), |a| snum(a.minor as i64)),
        "lv_kernel_read_ahead" => match act.and_then(|a| a.read_ahead) {
            Some(ra) => fmt.size(ra),
            None => snum(-1),
        },
        "lv_permissions" => text(if vg.is_pvmove(i) {
            ""
        } else if lv_flag(lv, "WRITE") {
            match act {
                None => UNKNOWN,
                Some(a) if a.read_only => "read-only-override",
                Some(_) => "writeable",
            }
        } else if lv_flag(lv, "READ") {
            "read-only"
        } else {
            UNKNOWN
        }),
        "lv_suspended" | "lv_live_table" | "lv_inactive_table" | "lv_device_open" => match act {
            None => fmt.bin_undef(),
            Some(a) => match id {
                "lv_suspended" => fmt.bin(a.suspended, "suspended"),
                "lv_live_table" => fmt.bin(true, "live table present"),
                "lv_inactive_table" => fmt.bin(false, "inactive table present"),
                _ => fmt.bin(a.open_count > 0, "open"),
            },
        },
        "data_percent" | "snap_percent" | "metadata_percent" => pct_undef(),
        "copy_percent" | "sync_percent" => {
            let is_sync_raid = vg.is_raid(i)
                && !matches!(first.map(|s| &s.segtype), Some(SegType::Raid(t)) if t.is_any_raid0());
            match vg.raid_status(i) {
                Some(s) if is_sync_raid => percent(s.in_sync, s.total),
                _ => pct_undef(),
            }
        }
        "lv_health_status" => text(if info.partial {
            "partial"
        } else if vg.is_raid_type(i) {
            if unknown {
                UNKNOWN
            } else if lv.segments.is_empty() {
                ""
            } else {
                // Reuse the attr's health character: same rules.
                match vg.lv_attr(i).as_bytes()[8] {
                    b'r' => "refresh needed",
                    b'm' => "mismatches exist",
                    b'w' => "writemostly",
                    _ => "",
                }
            }
        } else {
            ""
        }),
        "lv_attr" => text(vg.lv_attr(i)),
        _ => text(""),
    }
}

/// `devices`/`seg_pe_ranges`/... of a segment: each area as `name(start)`
/// or `name:first-last`.
fn seg_area_list(
    vg: &VgCtx,
    seg: &Segment,
    ranges: bool,
    metadata: bool,
    mark_hidden: bool,
) -> Vec<String> {
    let areas: Vec<Area> = if metadata {
        // Only RAID types with metadata sub-LVs list them, and not for the
        // sub-LVs themselves.
        match &seg.raid {
            Some(r) => r
                .meta
                .iter()
                .flatten()
                .map(|m| Area::Lv {
                    lv: m.clone(),
                    le: 0,
                })
                .collect(),
            None => Vec::new(),
        }
    } else {
        vg.seg_areas(seg)
    };
    let area_len = vg.area_len(seg, areas.len());
    areas
        .iter()
        .map(|a| {
            let (name, start, len) = match a {
                Area::Pv { pv, pe } => (vg.pv_dev_name(pv), *pe, area_len),
                Area::Lv { lv, le } if lv.is_empty() => ("unassigned".to_string(), *le, 0),
                Area::Lv { lv, le } => {
                    let idx = vg.lv_index(lv);
                    // LV areas span the whole sub-LV; `devices` shows its
                    // first extent as 0 except for metadata lists.
                    let len = idx.map_or(0, |c| vg.lvs[c].le_count);
                    let hidden = idx.is_some_and(|c| !vg.is_visible(c));
                    let name = if hidden && mark_hidden {
                        format!("[{lv}]")
                    } else {
                        lv.clone()
                    };
                    (name, if metadata { *le } else { 0 }, len)
                }
            };
            if ranges {
                format!("{}:{}-{}", name, start, (start + len).wrapping_sub(1))
            } else {
                format!("{name}({start})")
            }
        })
        .collect()
}

/// lvseg_chunksize: a COW's snapshot chunk, a pool's own chunk, a cached
/// LV's pool chunk; 0 for everything else.
fn chunk_size(vg: &VgCtx, lv: usize, seg: &Segment) -> u64 {
    let own = |s: &Segment| extra_int(s, "chunk_size").unwrap_or(0) as u64;
    if let Some(snap) = vg.lvs[lv].snapshot {
        return vg.lv(snap).segments.first().map_or(0, own);
    }
    match seg.segtype {
        SegType::Unknown(ref n) if n.starts_with("thin-pool") || n.starts_with("cache-pool") => {
            own(seg)
        }
        SegType::Unknown(ref n) if n.starts_with("cache") => extra_str(seg, "cache_pool")
            .and_then(|p| vg.lv_index(p))
            .and_then(|p| vg.lv(p).segments.first())
            .map_or(own(seg), own),
        _ => 0,
    }
}

fn seg_value(id: &str, vg: &VgCtx, lv: usize, s: usize, fmt: &Fmt) -> Cell {
    let seg = &vg.lv(lv).segments[s];
    let ext = vg.view.vg.extent_size;
    let raid_t = match &seg.segtype {
        SegType::Raid(t) => Some(*t),
        _ => None,
    };
    let area_count = vg.seg_areas(seg).len() as u64;
    // lvm2's seg->data_copies: 1 for plain types, all legs for raid1, the
    // metadata value or 2 for raid10, parity + 1 for raid4/5/6.
    let data_copies = match raid_t {
        None => 1,
        Some(t) => seg
            .raid
            .as_ref()
            .and_then(|r| r.data_copies)
            .unwrap_or_else(|| t.default_data_copies(area_count)),
    };
    // RAID segments with metadata sub-LVs have a metadata area list.
    let has_meta = seg
        .raid
        .as_ref()
        .is_some_and(|r| r.meta.iter().any(|m| m.is_some()));
    let is_sub = vg.lvs[lv]
        .parent
        .is_some_and(|p| matches!(p.role, SubRole::RaidImage | SubRole::RaidMeta));
    match id {
        "segtype" => text(segtype_name(seg)),
        "stripes" => num(area_count),
        "data_stripes" => {
            let mut n = area_count.saturating_sub(raid_t.map_or(0, |t| t.parity_devs()));
            if raid_t == Some(crate::model::RaidType::Raid10) {
                n /= data_copies.max(1);
            }
            num(n)
        }
        "data_copies" => num(data_copies),
        "parity_chunks" => {
            let p = match raid_t {
                Some(t) if t.parity_devs() > 0 => t.parity_devs(),
                _ => data_copies.saturating_sub(1),
            };
            if p > 0 {
                num(p)
            } else {
                num_undef()
            }
        }
        "stripe_size" => fmt.size(seg.stripe_size.unwrap_or(0)),
        "region_size" => fmt.size(
            seg.raid
                .as_ref()
                .and_then(|r| r.region_size)
                .or_else(|| extra_int(seg, "region_size").map(|r| r as u64))
                .unwrap_or(0),
        ),
        "chunk_size" => fmt.size(chunk_size(vg, lv, seg)),
        "reshape_len" | "reshape_len_le" => {
            // lvm2's _lv_for_raid_image_seg: a raid4/5/6/10 segment (space
            // of all its images) or the first segment of one of its images.
            let reshapable = |t: Option<crate::model::RaidType>| {
                t.is_some_and(|t| !t.is_any_raid0() && !t.is_raid1())
            };
            let len = if reshapable(raid_t) {
                Some(seg.raid.as_ref().and_then(|r| r.reshape_count).unwrap_or(0) * area_count)
            } else {
                match vg.lvs[lv].parent {
                    Some(p)
                        if p.role == SubRole::RaidImage
                            && seg.start_extent == 0
                            && reshapable(vg.lv(p.lv).raid_type()) =>
                    {
                        Some(
                            seg.extra
                                .iter()
                                .find(|(k, _)| k == "reshape_count")
                                .and_then(|(_, v)| v.as_value().and_then(|v| v.as_u64()))
                                .unwrap_or(0),
                        )
                    }
                    _ => None,
                }
            };
            match len {
                None => num_undef(),
                Some(n) if id == "reshape_len" => fmt.size(n * ext),
                Some(n) => num(n),
            }
        }
        "seg_start" => fmt.size(seg.start_extent * ext),
        "seg_start_pe" => num(seg.start_extent),
        "seg_size" => fmt.size(seg.extent_count * ext),
        "seg_size_pe" => num(seg.extent_count),
        "seg_tags" => tags(&seg.tags, ","),
        "devices" => text(seg_area_list(vg, seg, false, false, false).join(",")),
        "seg_pe_ranges" => text(seg_area_list(vg, seg, true, false, false).join(" ")),
        "seg_le_ranges" => text(seg_area_list(vg, seg, true, false, true).join(",")),
        "metadata_devices" if has_meta && !is_sub => {
            text(seg_area_list(vg, seg, false, true, false).join(","))
        }
        "seg_metadata_le_ranges" if has_meta && !is_sub => {
            text(seg_area_list(vg, seg, true, true, true).join(","))
        }
        _ => text(""),
    }
}

/// The value of field `def` in `row`.
pub(crate) fn value(def: &FieldDef, row: &Row, fmt: &Fmt) -> Cell {
    match (def.obj, *row) {
        (Obj::Label | Obj::Pv, _) => pv_value(def.id, row, fmt).unwrap_or_else(|| text("")),
        (Obj::Vg, Row::Orphan { .. }) => orphan_vg_value(def.id, fmt).unwrap_or_else(|| text("")),
        (Obj::Vg, Row::Pv { vg, .. } | Row::Vg { vg } | Row::Lv { vg, .. }) => {
            vg_value(def.id, vg, fmt)
        }
        (Obj::Lv, Row::Lv { vg, lv, .. }) => lv_value(def.id, vg, lv, fmt),
        (
            Obj::Seg,
            Row::Lv {
                vg,
                lv,
                seg: Some(s),
            },
        ) => seg_value(def.id, vg, lv, s, fmt),
        _ => text(""),
    }
}
