//! pvs, vgs, lvs: lvm2's reports over what the scan found.
//!
//! The report itself (fields, attributes, units, columns, JSON) is the pure
//! `crate::report`; this file only turns the scan into its input and the
//! command line into its options.

use std::collections::HashMap;

use super::context::Ctx;
use super::CmdError;
use crate::device::scan::{PvScan, Scan};
use crate::report::{
    self, ActiveInfo, LvState, OutputFormat, PvDevice, ReportInput, ReportKind, ReportOptions,
    Units, VgView,
};

/// Options shared by the three report commands (lvm2 names).
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Columns: a,b,c replaces the defaults, +a,b appends, -a removes
    #[arg(
        short = 'o',
        long = "options",
        value_name = "FIELDS",
        allow_hyphen_values = true
    )]
    pub options: Vec<String>,
    /// Sort keys (prefix - for descending)
    #[arg(
        short = 'O',
        long = "sort",
        value_name = "FIELDS",
        allow_hyphen_values = true
    )]
    pub sort: Vec<String>,
    /// Units for sizes: hHbBsSkKmMgGtTpPeE, optionally prefixed by r (rounding) or a number
    #[arg(long = "units", value_name = "UNITS")]
    pub units: Option<String>,
    /// Do not print unit suffixes
    #[arg(long = "nosuffix")]
    pub nosuffix: bool,
    /// Do not print headings
    #[arg(long = "noheadings")]
    pub noheadings: bool,
    /// Separate columns with this string instead of aligning them
    #[arg(long = "separator", value_name = "STRING")]
    pub separator: Option<String>,
    /// Align columns even with --separator
    #[arg(long = "aligned")]
    pub aligned: bool,
    /// Print LVM2_FIELD='value' pairs
    #[arg(long = "nameprefixes")]
    pub nameprefixes: bool,
    /// With --nameprefixes, do not quote values
    #[arg(long = "unquoted")]
    pub unquoted: bool,
    /// One line per field instead of per object
    #[arg(long = "rows")]
    pub rows: bool,
    /// Print binary fields as 0/1
    #[arg(long = "binary")]
    pub binary: bool,
    /// Output format: basic or json
    #[arg(long = "reportformat", value_name = "basic|json")]
    pub reportformat: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct PvsArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    /// Show every labelled device (accepted; all PVs are always shown)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// PVs to report on (default: all)
    #[arg(value_name = "PV")]
    pub names: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct VgsArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    /// Accepted for compatibility
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// VGs to report on (default: all)
    #[arg(value_name = "VG")]
    pub names: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct LvsArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    /// Show hidden sub-LVs too
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// One row per segment, with segment columns
    #[arg(long = "segments")]
    pub segments: bool,
    /// VGs or LVs (VG/LV) to report on (default: all)
    #[arg(value_name = "VG|LV")]
    pub names: Vec<String>,
}

/// What a report knows about a scanned PV device.
pub fn pv_device(pv: &PvScan) -> PvDevice {
    let sizes: Vec<u64> = pv.mdas.iter().map(|m| m.locn.size).collect();
    let ignored = pv.mdas.iter().filter(|m| m.ignored()).count() as u32;
    let mda_count = pv.mdas.len() as u32;
    // Free space of an area as lvm2 computes pv_mda_free: the largest text
    // the area can take (half the buffer less one sector, see
    // MdaHeader::max_text_size) minus the committed text, in whole sectors;
    // the smallest over all areas.
    let free = pv
        .mdas
        .iter()
        .filter_map(|m| m.header.as_ref().ok())
        .map(|h| h.max_text_size().saturating_sub(h.committed.size) / 512 * 512)
        .min()
        .unwrap_or(0);
    let (major, minor) = pv.devno.unwrap_or((0, 0));
    PvDevice {
        name: pv.path.display().to_string(),
        uuid: pv.uuid(),
        dev_size: pv.dev_size,
        label_dev_size: pv.label.device_size,
        pe_start: pv.label.pe_start().unwrap_or(0),
        mda_count,
        mda_used: (ignored > 0).then_some(mda_count - ignored),
        mda_size: sizes.iter().copied().min().unwrap_or(0),
        mda_free: free,
        ext_version: pv.label.ext.as_ref().map_or(0, |e| e.version),
        in_use: pv.label.is_used(),
        ba_start: pv
            .label
            .ext
            .as_ref()
            .and_then(|e| e.bootloader_areas.first())
            .map_or(0, |b| b.offset),
        ba_size: pv
            .label
            .ext
            .as_ref()
            .and_then(|e| e.bootloader_areas.first())
            .map_or(0, |b| b.size),
        major,
        minor,
    }
}

/// The report input for everything a scan found.
pub fn report_input(scan: &Scan, activation: bool) -> ReportInput {
    let dm = if activation {
        crate::device::list::dm_devices()
    } else {
        Default::default()
    };
    let ioctl = if dm.is_empty() {
        None
    } else {
        crate::activate::dm::Dm::open().ok()
    };
    let vgs = scan
        .vgs
        .iter()
        .map(|v| {
            let mut view = VgView::new(v.vg.clone());
            // An LV is active when the kernel has a device-mapper device
            // with lvm2's UUID for it: LVM-<vg id><lv id>, dashes removed.
            let vg_id = v.vg.id.replace('-', "");
            for lv in &v.vg.lvs {
                let uuid = format!("LVM-{vg_id}{}", lv.id.replace('-', ""));
                if let Some(&(major, minor)) = dm.get(&uuid) {
                    // The kernel's view (open count, suspended, dm-raid
                    // status) when device-mapper can be asked.
                    let live = ioctl
                        .as_ref()
                        .and_then(|d| crate::activate::lv_info(d, &v.vg, &lv.name).ok().flatten());
                    view.lv_states.insert(
                        lv.name.clone(),
                        LvState::Active(live.unwrap_or(ActiveInfo {
                            major,
                            minor,
                            ..ActiveInfo::default()
                        })),
                    );
                }
            }
            let devices: HashMap<String, PvDevice> = v
                .pv_devices
                .iter()
                .filter_map(|(k, i)| i.map(|i| (k.clone(), pv_device(scan.pv(i)))))
                .collect();
            view.devices = devices;
            view
        })
        .collect();
    let orphans = scan
        .orphans
        .iter()
        .map(|&i| pv_device(scan.pv(i)))
        .collect();
    ReportInput {
        vgs,
        orphans,
        activation,
    }
}

fn options(
    ctx: &Ctx,
    a: &ReportArgs,
    all: bool,
    names: &[String],
) -> Result<ReportOptions, CmdError> {
    let mut o = ReportOptions {
        fields: a.options.clone(),
        sort: a.sort.clone(),
        verbose: ctx.common.verbose > 0,
        all,
        select: names.to_vec(),
        suffix: !a.nosuffix,
        headings: !a.noheadings,
        separator: a.separator.clone(),
        aligned: a.aligned,
        name_prefixes: a.nameprefixes,
        unquoted: a.unquoted,
        rows: a.rows,
        binary: a.binary,
        ..ReportOptions::default()
    };
    let units = a
        .units
        .clone()
        .or_else(|| ctx.config.str("global/units").map(str::to_string));
    if let Some(u) = units {
        o.units = Units::parse(&u)
            .map_err(|e| CmdError::usage(format!("Invalid --units \"{u}\": {e}")))?;
    }
    let fmt = a
        .reportformat
        .clone()
        .or_else(|| ctx.config.str("report/output_format").map(str::to_string));
    o.format = match fmt.as_deref() {
        None | Some("basic") => OutputFormat::Basic,
        Some("json") => OutputFormat::Json,
        Some(f) => {
            return Err(CmdError::usage(format!(
                "Invalid --reportformat \"{f}\": use basic or json."
            )))
        }
    };
    Ok(o)
}

fn run_report(ctx: &mut Ctx, kind: ReportKind, opts: ReportOptions) -> Result<(), CmdError> {
    // With activation disabled in lvm.conf lvm2 does not ask the kernel and
    // prints X for the state; otherwise the kernel's DM devices say.
    let activation = ctx.config.bool("global/activation", true);
    let scan = ctx.scan().clone();
    let input = report_input(&scan, activation);
    let text = report::render(kind, &input, &opts).map_err(|e| CmdError::usage(e.to_string()))?;
    print!("{text}");
    let unmatched = report::unmatched_names(kind, &input, &opts);
    if !unmatched.is_empty() {
        let what = match kind {
            ReportKind::Pvs => "Failed to find physical volume",
            ReportKind::Vgs => "Volume group",
            _ => "Failed to find logical volume",
        };
        let msgs: Vec<String> = unmatched
            .iter()
            .map(|n| match kind {
                ReportKind::Vgs => format!("{what} \"{n}\" not found"),
                _ => format!("{what} \"{n}\""),
            })
            .collect();
        return Err(CmdError::failed(msgs.join("\n")));
    }
    Ok(())
}

pub fn pvs(ctx: &mut Ctx, a: PvsArgs) -> Result<(), CmdError> {
    let o = options(ctx, &a.report, a.all, &a.names)?;
    run_report(ctx, ReportKind::Pvs, o)
}

pub fn vgs(ctx: &mut Ctx, a: VgsArgs) -> Result<(), CmdError> {
    let o = options(ctx, &a.report, false, &a.names)?;
    run_report(ctx, ReportKind::Vgs, o)
}

pub fn lvs(ctx: &mut Ctx, a: LvsArgs) -> Result<(), CmdError> {
    let o = options(ctx, &a.report, a.all, &a.names)?;
    let kind = if a.segments {
        ReportKind::Segs
    } else {
        ReportKind::Lvs
    };
    run_report(ctx, kind, o)
}
