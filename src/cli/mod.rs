//! The `lvm` command line: one binary, lvm2's command names and options.
//!
//! `lvm pvs ...` and a symlink named `pvs` both work (multi-call). Each
//! command lives in its own file with its clap arguments and a `run`
//! function; [`context::Ctx`] carries what every command shares (config,
//! device list, scan results).

use std::ffi::OsString;
use std::path::Path;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub mod args;
pub mod context;
pub mod error;

mod lvchange;
mod lvconvert;
mod lvconvert_takeover;
mod lvcreate;
mod lvextend;
mod lvops;
mod lvreduce;
mod lvremove;
mod lvrename;
mod lvwait;
mod pvck;
mod pvcreate;
mod pvremove;
mod pvscan;
mod reports;
mod vgcfgbackup;
mod vgchange;
mod vgck;
mod vgcreate;
mod vgextend;
mod vgreduce;
mod vgremove;
mod vgwait;
mod vgwrite;

pub use error::CmdError;

use context::{Common, Ctx};

/// lvm2's exit codes (tools/errors.h): success, failed, invalid command line.
pub const ECMD_PROCESSED: i32 = 0;
pub const ECMD_FAILED: i32 = 5;
pub const EINVALID_CMD_LINE: i32 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "lvm",
    version,
    about = "Logical Volume Manager (lvm2-compatible) with lvmetad and RAID tools",
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Initialize physical volume(s) for use by LVM
    Pvcreate(pvcreate::Args),
    /// Remove LVM label(s) from physical volume(s)
    Pvremove(pvremove::Args),
    /// Display information about physical volumes
    Pvs(reports::PvsArgs),
    /// Check metadata on physical volumes
    Pvck(pvck::Args),
    /// List physical volumes, or update lvmetad's cache (--cache)
    Pvscan(pvscan::Args),
    /// Create a volume group
    Vgcreate(vgcreate::Args),
    /// Add physical volumes to a volume group
    Vgextend(vgextend::Args),
    /// Remove physical volume(s) from a volume group
    Vgreduce(vgreduce::Args),
    /// Remove volume group(s)
    Vgremove(vgremove::Args),
    /// Display information about volume groups
    Vgs(reports::VgsArgs),
    /// Check the consistency of volume group(s)
    Vgck(vgck::Args),
    /// Activate or deactivate the logical volumes of volume groups
    Vgchange(vgchange::Args),
    /// Wait until a volume group is complete (every PV present)
    Vgwait(vgwait::Args),
    /// Backup volume group configuration(s)
    Vgcfgbackup(vgcfgbackup::Args),
    /// Create a logical volume
    Lvcreate(lvcreate::Args),
    /// Remove logical volume(s) from the system
    Lvremove(lvremove::Args),
    /// Add space to a logical volume
    Lvextend(lvextend::Args),
    /// Reduce the size of a logical volume
    Lvreduce(lvreduce::Args),
    /// Rename a logical volume
    Lvrename(lvrename::Args),
    /// Change attributes of logical volumes (activation, RAID sync and recovery)
    Lvchange(lvchange::Args),
    /// Change logical volume layout (RAID images, split/merge, replace, type)
    Lvconvert(lvconvert::Args),
    /// Wait until RAID logical volumes are in sync (progress bar on a terminal)
    Lvwait(lvwait::Args),
    /// Display information about logical volumes
    Lvs(reports::LvsArgs),
}

/// The names a symlink to the binary may have (argv[0] dispatch).
pub fn command_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Turn `pvs -a` invoked through a symlink into `lvm pvs -a`.
pub fn normalize_argv(mut argv: Vec<OsString>) -> Vec<OsString> {
    let invoked = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if invoked != "lvm" && command_names().contains(&invoked) {
        argv[0] = "lvm".into();
        argv.insert(1, invoked.into());
    }
    argv
}

/// Parse, run, and map the outcome to lvm2's exit codes.
pub fn main(argv: Vec<OsString>) -> i32 {
    let argv = normalize_argv(argv);
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() { EINVALID_CMD_LINE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return EINVALID_CMD_LINE;
        }
    };
    crate::cli::context::init_logging(&cli.common);
    let mut ctx = match Ctx::new(cli.common) {
        Ok(c) => c,
        Err(e) => {
            e.report();
            return e.code;
        }
    };
    match run(&mut ctx, cli.command) {
        Ok(()) => ECMD_PROCESSED,
        Err(e) => {
            e.report();
            e.code
        }
    }
}

fn run(ctx: &mut Ctx, cmd: Command) -> Result<(), CmdError> {
    match cmd {
        Command::Pvcreate(a) => pvcreate::run(ctx, a),
        Command::Pvremove(a) => pvremove::run(ctx, a),
        Command::Pvs(a) => reports::pvs(ctx, a),
        Command::Pvck(a) => pvck::run(ctx, a),
        Command::Pvscan(a) => pvscan::run(ctx, a),
        Command::Vgcreate(a) => vgcreate::run(ctx, a),
        Command::Vgextend(a) => vgextend::run(ctx, a),
        Command::Vgreduce(a) => vgreduce::run(ctx, a),
        Command::Vgremove(a) => vgremove::run(ctx, a),
        Command::Vgs(a) => reports::vgs(ctx, a),
        Command::Vgck(a) => vgck::run(ctx, a),
        Command::Vgwait(a) => vgwait::run(ctx, a),
        Command::Vgchange(a) => vgchange::run(ctx, a),
        Command::Vgcfgbackup(a) => vgcfgbackup::run(ctx, a),
        Command::Lvcreate(a) => lvcreate::run(ctx, a),
        Command::Lvremove(a) => lvremove::run(ctx, a),
        Command::Lvextend(a) => lvextend::run(ctx, a),
        Command::Lvreduce(a) => lvreduce::run(ctx, a),
        Command::Lvrename(a) => lvrename::run(ctx, a),
        Command::Lvconvert(a) => lvconvert::run(ctx, a),
        Command::Lvchange(a) => lvchange::run(ctx, a),
        Command::Lvwait(a) => lvwait::run(ctx, a),
        Command::Lvs(a) => reports::lvs(ctx, a),
    }
}
