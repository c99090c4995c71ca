//! vgcfgbackup: write a VG's metadata to a file in lvm2's backup format.

use std::path::PathBuf;

use super::context::Ctx;
use super::CmdError;
use crate::model::{self, TextHeader, TextStyle};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// VGs to back up (default: all)
    #[arg(value_name = "VG")]
    pub vgs: Vec<String>,
    /// File to write; with several VGs "%s" is replaced by the VG name
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let backup_dir = ctx
        .config
        .str("backup/backup_dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::config::system_config_path().with_file_name("backup"));
    let scan = ctx.scan().clone();
    let names: Vec<String> = if args.vgs.is_empty() {
        scan.vgs.iter().map(|v| v.vg.name.clone()).collect()
    } else {
        args.vgs.clone()
    };
    if names.len() > 1 {
        if let Some(f) = &args.file {
            if !f.to_string_lossy().contains("%s") {
                return Err(CmdError::usage(
                    "With more than one VG, -f needs \"%s\" in the file name (replaced by the VG name).",
                ));
            }
        }
    }
    let description = super::vgwrite::command_line();
    for name in names {
        let found = scan
            .vg(&name)
            .ok_or_else(|| CmdError::failed(format!("Volume group \"{name}\" not found")))?;
        if !found.missing_pvs().is_empty() {
            ctx.warn(format!(
                "VG {name} is missing PVs; backing up the metadata as found."
            ));
        }
        let path = match &args.file {
            Some(f) => PathBuf::from(f.to_string_lossy().replace("%s", &name)),
            None => backup_dir.join(&name),
        };
        let header = TextHeader::new(&description, super::lvops::now() as u64);
        let text = model::vg_to_text(&found.vg, &header, TextStyle::Backup);
        // Write to a temporary file and rename, so a crash never leaves a
        // truncated backup where a good one was.
        let tmp = path.with_extension("tmp-lvmetad");
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                CmdError::failed(format!("Cannot write backup {}: {e}", path.display()))
            })?;
        ctx.say(format!("Volume group \"{name}\" successfully backed up."));
    }
    Ok(())
}
