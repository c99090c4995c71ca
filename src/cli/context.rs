//! What every command shares: the options lvm2 accepts on every command,
//! the merged configuration, and the devices to look at.

use std::path::PathBuf;

use clap::Args;

use super::CmdError;
use crate::config::{system_config_path, Config};
use crate::device::list::{self, Filter};
use crate::device::scan::{self, Scan};

/// Options every lvm2 command accepts.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Set debug level (repeat for more)
    #[arg(short = 'd', long = "debug", action = clap::ArgAction::Count, global = true)]
    pub debug: u8,
    /// Set verbose level (repeat for more)
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Suppress output and log messages
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// Answer yes to every prompt
    #[arg(short = 'y', long = "yes", global = true)]
    pub yes: bool,
    /// Run in test mode: nothing is written
    #[arg(short = 't', long = "test", global = true)]
    pub test: bool,
    /// Config settings that override lvm.conf (config-tree syntax)
    #[arg(long = "config", value_name = "STRING", global = true)]
    pub config: Vec<String>,
    /// Restrict the command to these devices (comma separated or repeated)
    #[arg(
        long = "devices",
        value_name = "PV",
        value_delimiter = ',',
        global = true
    )]
    pub devices: Vec<PathBuf>,
}

pub fn init_logging(common: &Common) {
    let level = match (common.quiet, common.debug.max(common.verbose)) {
        (q, _) if q > 0 => log::LevelFilter::Error,
        (_, 0) => log::LevelFilter::Warn,
        (_, 1) => log::LevelFilter::Info,
        (_, 2) => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .format(|buf, record| {
            use std::io::Write;
            writeln!(buf, "  {}", record.args())
        })
        .parse_env("LVM_LOG")
        .try_init();
}

pub struct Ctx {
    pub common: Common,
    pub config: Config,
    filter: Filter,
    scan: Option<Scan>,
    /// Scan warnings already shown (a rescan under a lock finds them again).
    warned: std::collections::BTreeSet<String>,
}

impl Ctx {
    pub fn new(common: Common) -> Result<Ctx, CmdError> {
        let config = Config::load(&system_config_path(), &common.config)?;
        // global_filter applies first, then filter; both are lists of a|re| / r|re|.
        let mut patterns = config.str_list("devices/global_filter").unwrap_or_default();
        patterns.extend(config.str_list("devices/filter").unwrap_or_default());
        let filter = Filter::parse("filter", &patterns)?;
        Ok(Ctx {
            common,
            config,
            filter,
            scan: None,
            warned: Default::default(),
        })
    }

    /// The devices this command may look at: `--devices` when given (lvm2
    /// then ignores the filter for them only if they pass it), else every
    /// block device of the system, filtered by lvm.conf.
    pub fn candidate_devices(&self) -> Vec<PathBuf> {
        let all = if self.common.devices.is_empty() {
            list::system_devices()
        } else {
            self.common.devices.clone()
        };
        all.into_iter()
            .filter(|p| {
                let ok = self.filter.accepts(p);
                if !ok {
                    log::debug!("{}: rejected by the lvm.conf filter", p.display());
                }
                ok
            })
            .collect()
    }

    /// Whether a device may be used by this command at all.
    pub fn device_allowed(&self, path: &std::path::Path) -> bool {
        (self.common.devices.is_empty() || self.common.devices.iter().any(|d| d == path))
            && self.filter.accepts(path)
    }

    /// Scan every candidate device once per command.
    pub fn scan(&mut self) -> &Scan {
        if self.scan.is_none() {
            let devs = self.candidate_devices();
            let scan = scan::scan_devices(&devs);
            for w in &scan.warnings {
                if self.warned.insert(w.clone()) && self.common.quiet == 0 {
                    eprintln!("  WARNING: {w}");
                }
            }
            self.scan = Some(scan);
        }
        self.scan.as_ref().expect("scanned above")
    }

    /// Forget the scan (after a write, before reading the result again).
    pub fn invalidate(&mut self) {
        self.scan = None;
    }

    /// Print an lvm2-style message on stdout unless --quiet.
    pub fn say(&self, msg: impl AsRef<str>) {
        if self.common.quiet == 0 {
            println!("  {}", msg.as_ref());
        }
    }

    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("  WARNING: {}", msg.as_ref());
    }
}
