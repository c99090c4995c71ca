//! pvcreate: write an LVM2 label and empty metadata areas to devices.

use std::path::PathBuf;

use super::context::Ctx;
use super::vgwrite::{lookup_device, take_lock};
use super::CmdError;
use crate::commit::lock::{GLOBAL, ORPHANS};
use crate::device::scan::{scan_device, DevScan, PvScan};
use crate::device::{BlockIo, Device};
use crate::format::label::ID_LEN;
use crate::format::layout::{pvcreate_layout, PvcreateOptions};
use crate::units::parse_size_kb;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PvOpts {
    /// Number of metadata areas on each PV: 0, 1 or 2 (the second at the end)
    #[arg(
        long = "metadatacopies",
        alias = "pvmetadatacopies",
        value_name = "0|1|2"
    )]
    pub metadatacopies: Option<u32>,
    /// Size of each metadata area (default: so that data starts at 1 MiB)
    #[arg(long = "metadatasize", alias = "pvmetadatasize", value_name = "SIZE")]
    pub metadatasize: Option<String>,
    /// Align the start of the data area to a multiple of SIZE
    #[arg(long = "dataalignment", value_name = "SIZE")]
    pub dataalignment: Option<String>,
    /// Shift the start of the data area by SIZE
    #[arg(long = "dataalignmentoffset", value_name = "SIZE")]
    pub dataalignmentoffset: Option<String>,
    /// Reserve SIZE for a bootloader after the metadata area
    #[arg(long = "bootloaderareasize", value_name = "SIZE")]
    pub bootloaderareasize: Option<String>,
    /// Sector (0-3) to write the label in
    #[arg(long = "labelsector", value_name = "N")]
    pub labelsector: Option<u64>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Devices to initialize
    #[arg(required = true, value_name = "PV")]
    pub pvs: Vec<PathBuf>,
    #[command(flatten)]
    pub pv: PvOpts,
    /// Force: -ff overwrites a PV that belongs to a volume group
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    pub force: u8,
    /// Use this UUID for the new PV (one device only)
    #[arg(short = 'u', long = "uuid", value_name = "UUID")]
    pub uuid: Option<String>,
    /// Zero the first 4 sectors of the device (default y)
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    pub zero: Option<String>,
    /// Accepted for compatibility with lvm2 (no restore file is used)
    #[arg(long = "norestorefile")]
    pub norestorefile: bool,
}

fn size_opt(name: &str, v: &Option<String>) -> Result<Option<u64>, CmdError> {
    v.as_ref()
        .map(|s| {
            parse_size_kb(s)
                .map(|a| a.bytes())
                .map_err(|e| CmdError::usage(format!("Invalid --{name} \"{s}\": {e}")))
        })
        .transpose()
}

impl PvOpts {
    pub fn layout_options(&self) -> Result<PvcreateOptions, CmdError> {
        let mut o = PvcreateOptions::default();
        if let Some(c) = self.metadatacopies {
            if c > 2 {
                return Err(CmdError::usage(format!(
                    "Invalid --metadatacopies {c}: a PV holds 0, 1 or 2 metadata areas."
                )));
            }
            o.metadata_copies = c;
        }
        o.metadata_size = size_opt("metadatasize", &self.metadatasize)?;
        o.data_alignment = size_opt("dataalignment", &self.dataalignment)?;
        o.data_alignment_offset =
            size_opt("dataalignmentoffset", &self.dataalignmentoffset)?.unwrap_or(0);
        o.bootloader_area_size =
            size_opt("bootloaderareasize", &self.bootloaderareasize)?.unwrap_or(0);
        if let Some(s) = self.labelsector {
            o.label_sector = s;
        }
        Ok(o)
    }
}

/// Check that `path` may be made into a new PV, with lvm2's refusals.
pub fn check_device_free(ctx: &mut Ctx, path: &std::path::Path, force: u8) -> Result<(), CmdError> {
    let scan = ctx.scan().clone();
    let (idx, state) = lookup_device(ctx, &scan, path)?;
    match state {
        DevScan::NotPv => Ok(()),
        DevScan::Error(e) if force == 0 => Err(CmdError::failed(format!(
            "Cannot use {}: its LVM label is damaged ({e}).\n\
             Run with -f to overwrite it if the device holds nothing you need.",
            path.display()
        ))),
        DevScan::Error(_) => Ok(()),
        DevScan::Pv(pv) => {
            if let Some((vg, _)) = scan.vg_of_device(idx) {
                if force < 2 {
                    return Err(CmdError::failed(format!(
                        "Cannot use {}: physical volume is in volume group \"{}\".\n\
                         Remove it with vgreduce first, or use -ff to overwrite it (destroys that VG's use of it).",
                        path.display(),
                        vg.vg.name
                    )));
                }
                if !ctx.common.yes {
                    return Err(CmdError::failed(format!(
                        "Really initialize physical volume {} of volume group \"{}\"? Refusing without --yes.",
                        path.display(),
                        vg.vg.name
                    )));
                }
                ctx.warn(format!(
                    "Forcing physical volume creation on {} of volume group \"{}\"",
                    path.display(),
                    vg.vg.name
                ));
            } else if pv.label.is_used() && force < 2 {
                return Err(CmdError::failed(format!(
                    "Cannot use {}: PV is marked as used by a volume group whose metadata was not found.\n\
                     Use -ff to overwrite it if that VG is gone for good.",
                    path.display()
                )));
            }
            Ok(())
        }
    }
}

/// Write a new PV onto `path`; returns what the new PV reads back as.
pub fn create_pv(
    ctx: &Ctx,
    path: &std::path::Path,
    opts: &PvcreateOptions,
    uuid: Option<&str>,
) -> Result<PvScan, CmdError> {
    let mut dev = Device::open(path, true)?;
    let id: String = match uuid {
        Some(u) => crate::uuid::parse(u).map_err(|e| CmdError::usage(e.to_string()))?,
        None => crate::uuid::generate(),
    };
    let mut raw = [0u8; ID_LEN];
    raw.copy_from_slice(id.as_bytes());
    let layout = pvcreate_layout(dev.size(), raw, opts)
        .map_err(|e| CmdError::failed(format!("Cannot use {}: {e}", path.display())))?;
    if !ctx.common.test {
        for z in &layout.zero_ranges {
            dev.write_at(z.offset, &vec![0u8; z.size as usize])?;
        }
        for h in &layout.mda_headers {
            dev.write_at(h.start, &crate::format::mda::encode_mda_header(h))?;
        }
        let sector = crate::format::label::encode_label(&layout.label)
            .map_err(|e| CmdError::failed(format!("{}: {e}", path.display())))?;
        dev.write_at(layout.label.sector * 512, &sector)?;
        dev.flush()?;
    }
    drop(dev);
    match scan_device(path) {
        DevScan::Pv(pv) if !ctx.common.test => Ok(*pv),
        _ if ctx.common.test => Err(CmdError::failed("TEST MODE: nothing was written.")),
        other => Err(CmdError::failed(format!(
            "{}: the new label does not read back: {other:?}",
            path.display()
        ))),
    }
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let opts = args.pv.layout_options()?;
    if let Some(z) = &args.zero {
        match z.as_str() {
            "y" => {}
            "n" => {}
            _ => {
                return Err(CmdError::usage(format!(
                    "Invalid --zero \"{z}\": use y or n."
                )))
            }
        }
    }
    let mut opts = opts;
    opts.zero = args.zero.as_deref() != Some("n");
    if args.uuid.is_some() && args.pvs.len() != 1 {
        return Err(CmdError::usage("--uuid can only be used with one device."));
    }
    let _g = take_lock(ctx, GLOBAL)?;
    let _o = take_lock(ctx, ORPHANS)?;
    // Check every device before writing any, so a refusal changes nothing.
    for d in &args.pvs {
        check_device_free(ctx, d, args.force)?;
    }
    for d in &args.pvs {
        let pv = create_pv(ctx, d, &opts, args.uuid.as_deref())?;
        ctx.notify_lvmetad(&format!("PV {}", d.display()), |l| {
            l.pv_found(&pv).map(|_| ())
        });
        ctx.say(format!(
            "Physical volume \"{}\" successfully created.",
            d.display()
        ));
    }
    ctx.invalidate();
    Ok(())
}
