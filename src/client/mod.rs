//! The client half of lvmetad: what `lvm` commands use to talk to the
//! daemon over its socket (lvm2 2.02's `lib/cache/lvmetad.c`).
//!
//! * [`settings`] — whether the daemon is used, its socket, the token;
//! * [`dbus`] — reading the daemon over D-Bus, tried before the socket;
//! * [`socket`] — one blocking connection, one request → one reply;
//! * [`lvmetad`] — the session: typed requests under the token, the full
//!   rescan on `token_mismatch`, waiting out another client's rescan;
//! * [`pvmeta`] — a scanned PV as pv_found describes it, device numbers;
//! * [`view`] — the daemon's replies turned back into a device
//!   [`Scan`](crate::device::scan::Scan), so reading through the daemon
//!   changes nothing for the commands.
//!
//! Commands reach it through [`crate::cli::context::Ctx`], which reads
//! through the daemon when it is enabled and reachable and no `--devices`
//! restriction was given, and scans the disks otherwise. Writes always read
//! the disks under the VG lock and tell the daemon what they wrote.

pub mod dbus;
pub mod lvmetad;
pub mod pvmeta;
pub mod settings;
pub mod socket;
pub mod view;

pub use lvmetad::{Lvmetad, RescanReport};
pub use settings::Settings;
pub use socket::{ClientError, Connection};
