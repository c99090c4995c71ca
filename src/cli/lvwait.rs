//! lvwait: wait for an active RAID LV to finish syncing.
//!
//! `lvm lvwait --sync VG/LV...` polls the dm-raid status until every named
//! LV is in sync (sync ratio complete, no resync/recover running); on a
//! terminal it shows one progress bar per LV. `--timeout SECONDS` gives up
//! (exit 5) when the LVs are still syncing then.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::context::Ctx;
use super::vgchange;
use super::CmdError;
use crate::activate;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Wait until the RAID LVs are in sync
    #[arg(long = "sync", required = true)]
    pub sync: bool,
    /// Give up after this many seconds (default: wait as long as it takes)
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Poll interval in milliseconds
    #[arg(long = "interval", value_name = "MS", default_value_t = 500)]
    pub interval: u64,
    /// RAID logical volumes (VG/LV)
    #[arg(value_name = "VG/LV", required = true)]
    pub lvs: Vec<String>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let dm = vgchange::open_dm(ctx)?;
    let mut targets = Vec::new();
    for n in &args.lvs {
        let n = n.strip_prefix("/dev/").unwrap_or(n);
        let (vg, lv) = n
            .split_once('/')
            .ok_or_else(|| CmdError::usage(format!("\"{n}\": give the LV as VG/LV.")))?;
        let scan = ctx.scan();
        let found = scan
            .vg(vg)
            .ok_or_else(|| CmdError::failed(format!("Volume group \"{vg}\" not found")))?;
        if found.vg.lv(lv).is_none() {
            return Err(CmdError::failed(format!(
                "Failed to find logical volume \"{vg}/{lv}\""
            )));
        }
        targets.push((found.vg.clone(), lv.to_string()));
    }
    let tty = std::io::stdout().is_terminal() && ctx.common.quiet == 0;
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stdout()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("  {prefix:<24} [{bar:40}] {percent:>3}% {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    let bars: Vec<ProgressBar> = targets
        .iter()
        .map(|(vg, lv)| {
            let b = multi.add(ProgressBar::new(1));
            b.set_style(style.clone());
            b.set_prefix(format!("{}/{lv}", vg.name));
            b
        })
        .collect();
    let start = Instant::now();
    loop {
        let mut all = true;
        for ((vg, lv), bar) in targets.iter().zip(&bars) {
            let st = activate::raid_status(&dm, vg, lv)
                .map_err(|e| CmdError::failed(format!("{}/{lv}: {e}", vg.name)))?;
            let Some(st) = st else {
                if activate::is_active(vg, lv) {
                    return Err(CmdError::failed(format!(
                        "{}/{lv} is not a RAID LV: nothing to sync.",
                        vg.name
                    )));
                }
                return Err(CmdError::failed(format!(
                    "{}/{lv} is not active; activate it (lvchange -ay) to let it sync.",
                    vg.name
                )));
            };
            bar.set_length(st.total.max(1));
            bar.set_position(st.in_sync.min(st.total));
            bar.set_message(st.sync_action.clone());
            let done = st.total > 0
                && st.in_sync >= st.total
                && !matches!(st.sync_action.as_str(), "resync" | "recover" | "reshape")
                && !st.health.contains('a');
            if done {
                bar.finish_with_message("in sync");
            } else {
                all = false;
            }
        }
        if all {
            break;
        }
        if args
            .timeout
            .is_some_and(|t| start.elapsed() >= Duration::from_secs(t))
        {
            for b in &bars {
                b.abandon();
            }
            return Err(CmdError::failed(format!(
                "Still syncing after {} seconds.",
                args.timeout.unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(args.interval.max(50)));
    }
    if !tty {
        for (vg, lv) in &targets {
            ctx.say(format!("{}/{lv} is in sync.", vg.name));
        }
    }
    Ok(())
}
