//! What every command shares: the options lvm2 accepts on every command,
//! the merged configuration, and the devices to look at.
//!
//! # Reading through lvmetad
//!
//! When lvm.conf enables the daemon ([`crate::client::settings`]),
//! [`Ctx::scan`] asks it for every PV and VG instead of reading the disks
//! and builds the same [`Scan`] from the answers, so every command works
//! unchanged. It reads the disks itself instead when
//!
//! * `--devices` was given: the restriction is the caller's view of the
//!   system, not the daemon's, so the listed devices are read directly;
//! * the command took a write lock ([`Ctx::begin_write`], called by
//!   `take_lock`): metadata is never written from a cached copy; or it
//!   asked for the disks ([`Ctx::read_disks`], for checking commands);
//! * the daemon is disabled or cannot be reached (logged once at debug
//!   level), or answers something unusable (a warning).
//!
//! The daemon is read over D-Bus first (`org.lvm.Lvmetad1` on the system
//! bus, `$DBUS_SYSTEM_BUS_ADDRESS` respected) when its token matches this
//! command's; otherwise over its socket (whose session rebuilds a daemon
//! with another token), then from the disks. Each fallback is logged once
//! at debug level.
//!
//! Writes tell the daemon what they wrote ([`Ctx::notify_lvmetad`]); a
//! notification that fails is a warning, and the daemon's token is then
//! invalidated so the next command rebuilds its cache from the disks.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use clap::Args;

use super::CmdError;
use crate::client::{ClientError, Lvmetad, Settings};
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
    /// Whether `scan` came from lvmetad rather than the disks.
    scan_from_daemon: bool,
    /// Scan warnings already shown (a rescan under a lock finds them again).
    warned: std::collections::BTreeSet<String>,
    /// lvmetad's settings from lvm.conf and the environment.
    pub lvmetad: Settings,
    daemon: RefCell<Daemon>,
    /// Set once the command takes a write lock (or asks for the disks):
    /// from then on every scan reads the disks.
    writing: Cell<bool>,
    /// The D-Bus → socket fallback was logged (once per command).
    dbus_fallback_logged: Cell<bool>,
}

/// The command's session with lvmetad, opened on first use.
enum Daemon {
    Untried,
    /// Disabled, unreachable, or dropped after a broken exchange (why).
    Off(String),
    On(Box<Lvmetad>),
}

impl Ctx {
    pub fn new(common: Common) -> Result<Ctx, CmdError> {
        let config = Config::load(&system_config_path(), &common.config)?;
        // global_filter applies first, then filter; both are lists of a|re| / r|re|.
        let mut patterns = config.str_list("devices/global_filter").unwrap_or_default();
        patterns.extend(config.str_list("devices/filter").unwrap_or_default());
        let filter = Filter::parse("filter", &patterns)?;
        let lvmetad = Settings::from_config(&config);
        Ok(Ctx {
            common,
            config,
            filter,
            scan: None,
            scan_from_daemon: false,
            warned: Default::default(),
            lvmetad,
            daemon: RefCell::new(Daemon::Untried),
            writing: Cell::new(false),
            dbus_fallback_logged: Cell::new(false),
        })
    }

    /// The devices a full lvmetad rescan reads: the whole system filtered
    /// by lvm.conf, whatever `--devices` says (the daemon holds the
    /// system's view).
    pub fn lvmetad_devices(&self) -> crate::client::lvmetad::DeviceLister {
        let filter = self.filter.clone();
        Box::new(move || {
            list::system_devices()
                .into_iter()
                .filter(|p| filter.accepts(p))
                .collect()
        })
    }

    /// Run `f` on the lvmetad session, connecting on first use. None when
    /// the daemon is disabled or cannot be reached. A session whose
    /// exchange broke (I/O error, timeout, garbage) is dropped: later calls
    /// get None.
    pub fn with_lvmetad<T>(
        &self,
        f: impl FnOnce(&mut Lvmetad) -> Result<T, ClientError>,
    ) -> Option<Result<T, ClientError>> {
        let mut slot = self.daemon.borrow_mut();
        if let Daemon::Untried = *slot {
            *slot = if !self.lvmetad.enabled {
                log::debug!("lvmetad not used ({})", self.lvmetad.decided_by);
                Daemon::Off(format!(
                    "lvmetad is not in use ({})",
                    self.lvmetad.decided_by
                ))
            } else {
                match Lvmetad::connect(&self.lvmetad, self.lvmetad_devices()) {
                    Ok(d) => {
                        log::debug!("using lvmetad at {}", self.lvmetad.socket.display());
                        Daemon::On(Box::new(d))
                    }
                    Err(e) => {
                        log::debug!("{e}; scanning devices instead");
                        Daemon::Off(e.to_string())
                    }
                }
            };
        }
        let Daemon::On(d) = &mut *slot else {
            return None;
        };
        let result = f(d);
        if let Err(e) = &result {
            if !matches!(
                e,
                ClientError::Refused { .. }
                    | ClientError::TokenMismatch { .. }
                    | ClientError::UpdateInProgress { .. }
            ) {
                *slot = Daemon::Off(e.to_string());
            }
        }
        Some(result)
    }

    /// Whether lvmetad is enabled and answered the connection.
    pub fn lvmetad_reachable(&self) -> bool {
        self.with_lvmetad(|_| Ok(())).is_some()
    }

    /// Why the command does not (or no longer) use lvmetad.
    pub fn lvmetad_off_reason(&self) -> Option<String> {
        match &*self.daemon.borrow() {
            Daemon::Off(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Tell lvmetad about a change this command made on disk. Nothing in
    /// test mode or without a daemon. A failure is a warning, not a
    /// command failure; the daemon's token is then invalidated (on a new
    /// connection if the old one broke) so that the next command rebuilds
    /// its cache instead of trusting what the daemon missed.
    pub fn notify_lvmetad(
        &self,
        what: &str,
        f: impl FnOnce(&mut Lvmetad) -> Result<(), ClientError>,
    ) {
        if self.common.test {
            return;
        }
        let Some(Err(e)) = self.with_lvmetad(f) else {
            return;
        };
        self.warn(format!("Failed to update lvmetad ({what}): {e}"));
        let invalidated = match self.with_lvmetad(|d| d.invalidate()) {
            Some(r) => r,
            None => Lvmetad::connect(&self.lvmetad, self.lvmetad_devices())
                .and_then(|mut d| d.invalidate()),
        };
        match invalidated {
            Ok(()) => self.warn("lvmetad will rebuild its cache from the disks on the next command."),
            Err(e) => self.warn(format!(
                "lvmetad may hold outdated metadata ({e}); run `lvm pvscan --cache` once it is reachable."
            )),
        }
    }

    /// The command is about to write: from now on every scan reads the
    /// disks (called by `take_lock`).
    pub fn begin_write(&self) {
        self.writing.set(true);
    }

    /// The command checks what is on the disks (vgck, pvck): every scan
    /// reads them, never lvmetad. Same effect as [`Ctx::begin_write`].
    pub fn read_disks(&self) {
        self.writing.set(true);
    }

    /// Whether the current scan came from lvmetad.
    pub fn scan_from_lvmetad(&self) -> bool {
        self.scan.is_some() && self.scan_from_daemon
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

    /// Scan every candidate device once per command (or ask lvmetad, see
    /// the module documentation).
    pub fn scan(&mut self) -> &Scan {
        if self.scan_from_daemon && self.writing.get() {
            self.scan = None;
        }
        if self.scan.is_none() {
            let scan = match self.daemon_scan() {
                Some(s) => {
                    self.scan_from_daemon = true;
                    s
                }
                None => {
                    self.scan_from_daemon = false;
                    scan::scan_devices(&self.candidate_devices())
                }
            };
            for w in &scan.warnings {
                if self.warned.insert(w.clone()) && self.common.quiet == 0 {
                    eprintln!("  WARNING: {w}");
                }
            }
            self.scan = Some(scan);
        }
        self.scan.as_ref().expect("scanned above")
    }

    /// The daemon's view as a scan, when the daemon may be read from.
    fn daemon_scan(&self) -> Option<Scan> {
        if !self.common.devices.is_empty() || self.writing.get() {
            return None;
        }
        let filter = self.filter.clone();
        // D-Bus first (the daemon's name on the system bus), then its
        // socket; each fallback is logged once, at debug level.
        if self.lvmetad.enabled {
            match crate::client::dbus::scan(&self.lvmetad.token, |p| filter.accepts(p)) {
                Ok(scan) => {
                    log::debug!("read lvmetad over D-Bus");
                    return Some(scan);
                }
                Err(e) => {
                    if !self.dbus_fallback_logged.replace(true) {
                        log::debug!("{e}; asking lvmetad over its socket");
                    }
                }
            }
        }
        let result = self.with_lvmetad(|d| {
            let mut scan = d.scan(|p| filter.accepts(p))?;
            // What the token protocol's rescan could not read, a disk scan
            // would have reported too.
            scan.warnings.extend(std::mem::take(&mut d.rescan_problems));
            Ok(scan)
        })?;
        match result {
            Ok(scan) => Some(scan),
            Err(e) => {
                self.warn(format!(
                    "Reading from lvmetad failed: {e}. Falling back to scanning devices."
                ));
                None
            }
        }
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
