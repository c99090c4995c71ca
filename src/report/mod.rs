//! lvm2-compatible `pvs`, `vgs` and `lvs` reports: pure functions from the
//! metadata model plus what the scan and device-mapper know, to the exact
//! text lvm2 2.03.16 prints.
//!
//! The caller (the CLI) builds a [`ReportInput`] — every VG with the
//! devices found for its PVs and the activation state of its LVs, plus the
//! labelled devices that belong to no VG — and calls [`render`] with the
//! [`ReportKind`] and [`ReportOptions`] taken from the command line.
//!
//! Field names, headings, default columns and sort orders, value formats,
//! column alignment and the JSON layout all follow lvm2 (see
//! `lib/report/columns.h`, `lib/report/report.c`, `libdm/libdm-report.c`).

mod attr;
mod derive;
mod fields;
mod output;

use std::collections::HashMap;

use crate::model::Vg;
pub use crate::units::Units;

use derive::VgCtx;
use fields::{value, Cell, FieldDef, Fmt, Obj, Row, SortKey, FIELDS};
use output::{Layout, Table};

/// What the label scan found on a device that carries a PV label.
/// All sizes are in bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PvDevice {
    /// Device path, e.g. `/dev/loop0` (`pv_name`).
    pub name: String,
    /// PV UUID as lvm2 prints it (with dashes).
    pub uuid: String,
    /// Size of the block device (`dev_size`).
    pub dev_size: u64,
    /// `device_size` from the pv_header; an orphan PV reports this as its
    /// `pv_size`. 0 means "same as `dev_size`".
    pub label_dev_size: u64,
    /// Offset of the first data area from the pv_header (`pe_start` of an
    /// orphan; a PV in a VG reports the metadata's `pe_start`).
    pub pe_start: u64,
    /// Metadata areas on the device (`pv_mda_count`).
    pub mda_count: u32,
    /// Metadata areas not marked ignored; `None` when all are in use.
    pub mda_used: Option<u32>,
    /// Size of the smallest metadata area (`pv_mda_size`), 0 without one.
    pub mda_size: u64,
    /// Free space in the smallest metadata area (`pv_mda_free`).
    pub mda_free: u64,
    /// pv_header extension version (`pv_ext_vsn`, 2 for lvm2 2.03).
    pub ext_version: u32,
    /// The extension's PV_EXT_USED flag: this orphan-looking PV belongs to
    /// a VG whose metadata is elsewhere (`pv_attr` `u--`, `pv_in_use`).
    pub in_use: bool,
    /// Bootloader area (bytes), when the header declares one.
    pub ba_start: u64,
    pub ba_size: u64,
    pub major: u32,
    pub minor: u32,
}

impl PvDevice {
    fn mda_used_count(&self) -> u32 {
        self.mda_used.unwrap_or(self.mda_count)
    }
}

/// What device-mapper says about a RAID LV (`dmsetup status` of dm-raid).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RaidStatus {
    /// One character per image: `A` alive and in sync, `a` alive but not
    /// in sync, `D` dead/failed.
    pub health: String,
    pub in_sync: u64,
    pub total: u64,
    /// `idle`, `resync`, `recover`, `check`, `repair`, `reshape`, `frozen`.
    pub sync_action: String,
    pub mismatch_count: u64,
}

/// Device-mapper info about an active LV.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActiveInfo {
    pub open_count: u32,
    pub suspended: bool,
    /// Activated read-only although the metadata allows writes.
    pub read_only: bool,
    pub major: u32,
    pub minor: u32,
    /// Kernel read-ahead in sectors.
    pub read_ahead: Option<u64>,
    /// The dm-raid status, for RAID LVs.
    pub raid: Option<RaidStatus>,
}

/// Activation state of one LV as a report sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LvState {
    /// No device-mapper device for the LV.
    #[default]
    Inactive,
    /// Device-mapper cannot be asked (activation disabled): lvm2 prints
    /// `X` in the state/open/health columns and "unknown" in lv_active.
    Unknown,
    Active(ActiveInfo),
}

/// One VG and what was found for it.
#[derive(Debug, Clone)]
pub struct VgView {
    pub vg: Vg,
    /// The device found for each PV, by PV key (`pv0`, ...). A PV without
    /// an entry is missing (`[unknown]`, `pv_attr` `a-m`).
    pub devices: HashMap<String, PvDevice>,
    /// Activation state by LV name; LVs not listed are inactive.
    pub lv_states: HashMap<String, LvState>,
}

impl VgView {
    pub fn new(vg: Vg) -> VgView {
        VgView {
            vg,
            devices: HashMap::new(),
            lv_states: HashMap::new(),
        }
    }
}

/// Everything a report is made from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub vgs: Vec<VgView>,
    /// Labelled PVs that belong to no VG.
    pub orphans: Vec<PvDevice>,
    /// False when device-mapper is unavailable or `activation = 0`: every
    /// LV is then [`LvState::Unknown`], whatever `lv_states` says.
    pub activation: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Pvs,
    Vgs,
    Lvs,
    /// `lvs --segments`: one row per segment, segment default columns.
    Segs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// `--reportformat basic` (the default): columns.
    #[default]
    Basic,
    /// `--reportformat json`.
    Json,
}

/// Report options from the command line.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Each `-o` argument in order: `a,b` replaces the columns, `+a,b`
    /// appends, `-a,b` removes. Empty: the default columns.
    pub fields: Vec<String>,
    /// The `-O` argument (`a,-b`: `-` for descending). Empty: default order.
    pub sort: Vec<String>,
    /// `-v`: the verbose default columns.
    pub verbose: bool,
    /// `-a`: include hidden sub-LVs (lvs only).
    pub all: bool,
    /// The command's positional names, restricting the rows: VG names for
    /// vgs; `vg` or `vg/lv` (or `/dev/vg/lv`) for lvs; device names for
    /// pvs. Empty: everything. See [`unmatched_names`] for the ones that
    /// select nothing (lvm2 reports those as errors).
    pub select: Vec<String>,
    pub units: Units,
    /// False for `--nosuffix`.
    pub suffix: bool,
    /// False for `--noheadings`.
    pub headings: bool,
    /// `--separator`: unaligned output joined by this string.
    pub separator: Option<String>,
    /// `--aligned`: keep columns aligned even with `--separator`.
    pub aligned: bool,
    /// `--nameprefixes`: `LVM2_FIELD='value'` pairs.
    pub name_prefixes: bool,
    /// `--unquoted` (with `--nameprefixes`).
    pub unquoted: bool,
    /// `--rows`: one line per field.
    pub rows: bool,
    /// `--binary`: binary fields as 0/1.
    pub binary: bool,
    pub format: OutputFormat,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            fields: Vec::new(),
            sort: Vec::new(),
            verbose: false,
            all: false,
            select: Vec::new(),
            units: Units::default(),
            suffix: true,
            headings: true,
            separator: None,
            aligned: false,
            name_prefixes: false,
            unquoted: false,
            rows: false,
            binary: false,
            format: OutputFormat::Basic,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("Unrecognised field: {0}")]
    UnknownField(String),
    #[error("dm_report: Unrecognised field: {0}")]
    UnknownSortField(String),
    #[error("dm_report: Missing sort field name")]
    MissingSortField,
    #[error("Invalid options string: {0}")]
    InvalidOptions(String),
}

const LVS_COLS: &str = "lv_name,vg_name,lv_attr,lv_size,pool_lv,origin,data_percent,metadata_percent,move_pv,mirror_log,copy_percent,convert_lv";
const VGS_COLS: &str = "vg_name,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free";
const PVS_COLS: &str = "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free";
const SEGS_COLS: &str = "lv_name,vg_name,lv_attr,stripes,segtype,seg_size";
// lvm2's verbose defaults also name lv_profile and vg_profile; profiles
// are not supported here so they print blank, as lvm2 does without one.
const LVS_COLS_VERB: &str = "lv_name,vg_name,seg_count,lv_attr,lv_size,lv_major,lv_minor,lv_kernel_major,lv_kernel_minor,pool_lv,origin,data_percent,metadata_percent,move_pv,copy_percent,mirror_log,convert_lv,lv_uuid,lv_profile";
const VGS_COLS_VERB: &str =
    "vg_name,vg_attr,vg_extent_size,pv_count,lv_count,snap_count,vg_size,vg_free,vg_uuid,vg_profile";
const PVS_COLS_VERB: &str = "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,dev_size,pv_uuid";
const SEGS_COLS_VERB: &str =
    "lv_name,vg_name,lv_attr,seg_start,seg_size,stripes,segtype,stripesize,chunksize";

impl ReportKind {
    fn default_cols(self, verbose: bool) -> &'static str {
        match (self, verbose) {
            (ReportKind::Pvs, false) => PVS_COLS,
            (ReportKind::Pvs, true) => PVS_COLS_VERB,
            (ReportKind::Vgs, false) => VGS_COLS,
            (ReportKind::Vgs, true) => VGS_COLS_VERB,
            (ReportKind::Lvs, false) => LVS_COLS,
            (ReportKind::Lvs, true) => LVS_COLS_VERB,
            (ReportKind::Segs, false) => SEGS_COLS,
            (ReportKind::Segs, true) => SEGS_COLS_VERB,
        }
    }

    fn default_sort(self) -> &'static str {
        match self {
            ReportKind::Pvs => "pv_name",
            ReportKind::Vgs => "vg_name",
            ReportKind::Lvs => "vg_name,lv_name",
            ReportKind::Segs => "vg_name,lv_name,seg_start",
        }
    }

    /// The prefix a bare field name may leave out (`-o size` in lvs is
    /// `lv_size`), and the JSON object name.
    fn prefix(self) -> &'static str {
        match self {
            ReportKind::Pvs => "pv",
            ReportKind::Vgs => "vg",
            ReportKind::Lvs => "lv",
            ReportKind::Segs => "seg",
        }
    }

    /// Which objects' fields the report can show.
    fn allows(self, obj: Obj) -> bool {
        match self {
            ReportKind::Pvs => matches!(obj, Obj::Label | Obj::Pv | Obj::Vg),
            ReportKind::Vgs => obj == Obj::Vg,
            ReportKind::Lvs | ReportKind::Segs => matches!(obj, Obj::Lv | Obj::Vg | Obj::Seg),
        }
    }
}

/// Find a field by name like libdm: underscores and case do not matter,
/// and the report's own prefix may be left out.
fn find_field(kind: ReportKind, name: &str) -> Option<&'static FieldDef> {
    let canon = name.replace('_', "").to_ascii_lowercase();
    let prefix = kind.prefix();
    FIELDS.iter().filter(|f| kind.allows(f.obj)).find(|f| {
        let id = f.canonical();
        id == canon || (id.starts_with(prefix) && id[prefix.len()..] == canon)
    })
}

/// `pv_all`, `lv_all`, ...: every field of that object, in table order.
fn all_fields(kind: ReportKind, name: &str) -> Option<Vec<&'static FieldDef>> {
    let canon = name.replace('_', "").to_ascii_lowercase();
    let objs: &[Obj] = match canon.as_str() {
        "pvall" => &[Obj::Label, Obj::Pv],
        "vgall" => &[Obj::Vg],
        "lvall" => &[Obj::Lv],
        "segall" => &[Obj::Seg],
        _ => return None,
    };
    if !objs.iter().all(|o| kind.allows(*o)) {
        return None;
    }
    Some(FIELDS.iter().filter(|f| objs.contains(&f.obj)).collect())
}

fn parse_field_list(kind: ReportKind, list: &str) -> Result<Vec<&'static FieldDef>, ReportError> {
    let mut out = Vec::new();
    // Consecutive and trailing commas are allowed.
    for name in list.split(',').filter(|s| !s.is_empty()) {
        if let Some(all) = all_fields(kind, name) {
            out.extend(all);
        } else {
            out.push(find_field(kind, name).ok_or_else(|| ReportError::UnknownField(name.into()))?);
        }
    }
    Ok(out)
}

/// The columns after applying every `-o` argument to the defaults.
fn columns(kind: ReportKind, opts: &ReportOptions) -> Result<Vec<&'static FieldDef>, ReportError> {
    let mut cols = parse_field_list(kind, kind.default_cols(opts.verbose))?;
    for arg in &opts.fields {
        if arg.is_empty() {
            return Err(ReportError::InvalidOptions(arg.clone()));
        }
        if let Some(rest) = arg.strip_prefix('+') {
            cols.extend(parse_field_list(kind, rest)?);
        } else if let Some(rest) = arg.strip_prefix('-') {
            let drop = parse_field_list(kind, rest)?;
            cols.retain(|c| !drop.iter().any(|d| std::ptr::eq(*c, *d)));
        } else if arg.starts_with('#') {
            // Compacting blank columns is not supported: show them.
            continue;
        } else {
            cols = parse_field_list(kind, arg)?;
        }
    }
    Ok(cols)
}

/// Sort keys as (field, descending).
fn sort_keys(
    kind: ReportKind,
    opts: &ReportOptions,
) -> Result<Vec<(&'static FieldDef, bool)>, ReportError> {
    let spec = opts
        .sort
        .last()
        .map(String::as_str)
        .unwrap_or(kind.default_sort());
    let mut keys: Vec<(&'static FieldDef, bool)> = Vec::new();
    for k in spec.split(',').filter(|s| !s.is_empty()) {
        let (desc, name) = match k.as_bytes()[0] {
            b'-' => (true, &k[1..]),
            b'+' => (false, &k[1..]),
            _ => (false, k),
        };
        if name.is_empty() {
            return Err(ReportError::MissingSortField);
        }
        let f = find_field(kind, name).ok_or_else(|| ReportError::UnknownSortField(name.into()))?;
        // lvm2 ignores a field named twice as a key.
        if !keys.iter().any(|(g, _)| std::ptr::eq(*g, f)) {
            keys.push((f, desc));
        }
    }
    Ok(keys)
}

/// Render a `pvs`/`vgs`/`lvs` report as lvm2 prints it on stdout.
pub fn render(
    kind: ReportKind,
    input: &ReportInput,
    opts: &ReportOptions,
) -> Result<String, ReportError> {
    let cols = columns(kind, opts)?;
    let keys = sort_keys(kind, opts)?;

    // Sort keys that are not columns become hidden columns.
    let mut fields = cols.clone();
    let mut hidden = vec![false; cols.len()];
    let mut key_pos = Vec::new();
    for (f, desc) in &keys {
        let pos = match fields.iter().position(|c| std::ptr::eq(*c, *f)) {
            Some(p) => p,
            None => {
                fields.push(f);
                hidden.push(true);
                fields.len() - 1
            }
        };
        key_pos.push((pos, *desc));
    }

    let ctxs: Vec<VgCtx> = input
        .vgs
        .iter()
        .map(|v| VgCtx::new(v, input.activation))
        .collect();
    let per_segment = kind == ReportKind::Segs || fields.iter().any(|f| f.obj == Obj::Seg);
    let mut rows: Vec<Row> = Vec::new();
    let sel = Selection::new(kind, &opts.select);
    match kind {
        ReportKind::Pvs => {
            for vg in &ctxs {
                rows.extend(
                    (0..vg.view.vg.pvs.len())
                        .filter(|&pv| sel.pv(&pv_row_name(vg, pv)))
                        .map(|pv| Row::Pv { vg, pv }),
                );
            }
            rows.extend(
                input
                    .orphans
                    .iter()
                    .filter(|d| sel.pv(&d.name))
                    .map(|dev| Row::Orphan { dev }),
            );
        }
        ReportKind::Vgs => rows.extend(
            ctxs.iter()
                .filter(|vg| sel.vg(&vg.view.vg.name))
                .map(|vg| Row::Vg { vg }),
        ),
        ReportKind::Lvs | ReportKind::Segs => {
            for vg in &ctxs {
                for (lv, l) in vg.view.vg.lvs.iter().enumerate() {
                    // The internal `snapshotN` LV is never listed, not even
                    // with -a: its COW store stands for it.
                    if vg.is_snapshot(lv) {
                        continue;
                    }
                    let named = sel.names_lv(&vg.view.vg.name, &l.name);
                    // Hidden sub-LVs need -a, unless named explicitly.
                    if !opts.all && !vg.is_visible(lv) && !named {
                        continue;
                    }
                    if !sel.vg(&vg.view.vg.name) && !named {
                        continue;
                    }
                    if per_segment {
                        rows.extend((0..l.segments.len()).map(|s| Row::Lv {
                            vg,
                            lv,
                            seg: Some(s),
                        }));
                    } else {
                        rows.push(Row::Lv { vg, lv, seg: None });
                    }
                }
            }
        }
    }

    let fmt = Fmt {
        units: opts.units,
        suffix: opts.suffix,
        binary: opts.binary,
    };
    let mut cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| fields.iter().map(|f| value(f, r, &fmt)).collect())
        .collect();
    // A stable sort, so rows that compare equal keep metadata order.
    cells.sort_by(|a, b| {
        for &(pos, desc) in &key_pos {
            let ord = match (&a[pos].sort, &b[pos].sort) {
                (SortKey::Num(x), SortKey::Num(y)) => x.cmp(y),
                (SortKey::Str(x), SortKey::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
                (x, y) => x.cmp(y),
            };
            let ord = if desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });

    let table = Table {
        fields,
        hidden,
        rows: cells,
    };
    Ok(match opts.format {
        OutputFormat::Json => table.json(kind.prefix()),
        OutputFormat::Basic => {
            let separator = opts.separator.clone().unwrap_or_else(|| " ".to_string());
            let mut aligned = opts.separator.is_none() || opts.aligned;
            // --nameprefixes and --rows never align (reporter.c, libdm).
            if opts.name_prefixes || opts.rows {
                aligned = false;
            }
            table.basic(&Layout {
                headings: opts.headings,
                separator,
                aligned,
                name_prefixes: opts.name_prefixes,
                quoted: !opts.unquoted,
                columns_as_rows: opts.rows,
            })
        }
    })
}

/// The name a PV row shows (and is selected by).
fn pv_row_name(vg: &VgCtx, pv: usize) -> String {
    match vg.device(pv) {
        Some(d) => d.name.clone(),
        None => "[unknown]".into(),
    }
}

/// Positional names of a report command, split into what they select.
struct Selection {
    any: bool,
    vgs: Vec<String>,
    lvs: Vec<(String, String)>,
    pvs: Vec<String>,
}

impl Selection {
    fn new(kind: ReportKind, names: &[String]) -> Selection {
        let mut s = Selection {
            any: names.is_empty(),
            vgs: Vec::new(),
            lvs: Vec::new(),
            pvs: Vec::new(),
        };
        for n in names {
            match kind {
                ReportKind::Pvs => s.pvs.push(n.clone()),
                ReportKind::Vgs => s.vgs.push(n.trim_end_matches('/').to_string()),
                ReportKind::Lvs | ReportKind::Segs => {
                    let n = n.strip_prefix("/dev/").unwrap_or(n).trim_end_matches('/');
                    match n.split_once('/') {
                        Some((vg, lv)) => s.lvs.push((vg.to_string(), lv.to_string())),
                        None => s.vgs.push(n.to_string()),
                    }
                }
            }
        }
        s
    }

    fn vg(&self, name: &str) -> bool {
        self.any || self.vgs.iter().any(|v| v == name)
    }

    fn names_lv(&self, vg: &str, lv: &str) -> bool {
        self.lvs.iter().any(|(v, l)| v == vg && l == lv)
    }

    fn lv(&self, vg: &str, lv: &str) -> bool {
        self.vg(vg) || self.names_lv(vg, lv)
    }

    fn pv(&self, name: &str) -> bool {
        self.any || self.pvs.iter().any(|p| p == name)
    }
}

/// The positional names in `opts.select` that match nothing in `input`,
/// for the caller to report the way lvm2 does (`Volume group "x" not
/// found`, `Failed to find logical volume "vg/lv"`, `Failed to find
/// physical volume "/dev/x".`).
pub fn unmatched_names(kind: ReportKind, input: &ReportInput, opts: &ReportOptions) -> Vec<String> {
    opts.select
        .iter()
        .filter(|n| {
            let sel = Selection::new(kind, std::slice::from_ref(*n));
            match kind {
                ReportKind::Pvs => {
                    !input.orphans.iter().any(|d| sel.pv(&d.name))
                        && !input
                            .vgs
                            .iter()
                            .any(|v| v.devices.values().any(|d| sel.pv(&d.name)))
                }
                ReportKind::Vgs => !input.vgs.iter().any(|v| sel.vg(&v.vg.name)),
                // A bare name is a VG: one without LVs is no error (lvm2
                // prints an empty report).
                ReportKind::Lvs | ReportKind::Segs if !n.contains('/') => {
                    !input.vgs.iter().any(|v| v.vg.name == **n)
                }
                ReportKind::Lvs | ReportKind::Segs => !input
                    .vgs
                    .iter()
                    .any(|v| v.vg.lvs.iter().any(|l| sel.lv(&v.vg.name, &l.name))),
            }
        })
        .cloned()
        .collect()
}

/// `-o help`: the field names a report accepts, with their headings.
pub fn field_names(kind: ReportKind) -> Vec<(&'static str, &'static str)> {
    FIELDS
        .iter()
        .filter(|f| kind.allows(f.obj))
        .map(|f| (f.id, f.heading))
        .collect()
}

#[cfg(test)]
mod tests;
