//! pvck: check and dump the on-disk headers of PVs.

use std::path::PathBuf;

use super::context::Ctx;
use super::CmdError;
use crate::device::{BlockIo, Device};
use crate::format::pvck::{dump_headers, BAD_HEADERS_MESSAGE};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Devices to check
    #[arg(required = true, value_name = "PV")]
    pub pvs: Vec<PathBuf>,
    /// What to dump: headers
    #[arg(long = "dump", value_name = "headers")]
    pub dump: Option<String>,
    /// Sector the label is in (default 1)
    #[arg(long = "labelsector", value_name = "N", default_value_t = 1)]
    pub labelsector: u64,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    match args.dump.as_deref() {
        None | Some("headers") => {}
        Some(x) => {
            return Err(CmdError::usage(format!(
                "Unknown --dump value \"{x}\": this version dumps \"headers\"."
            )))
        }
    }
    let mut bad = false;
    for path in &args.pvs {
        let dev = Device::open(path, false)?;
        let dump = dump_headers(|off, len| dev.read_at(off, len).ok(), args.labelsector);
        if ctx.common.quiet == 0 {
            print!("{}", dump.output());
        }
        bad |= dump.bad;
    }
    if bad {
        return Err(CmdError::failed(BAD_HEADERS_MESSAGE));
    }
    Ok(())
}
