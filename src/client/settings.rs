//! Whether and how commands use lvmetad, from lvm.conf and the environment.
//!
//! ```text
//! global  { use_lvmetad = 1 }          # lvm2 2.02's switch
//! lvmetad {                            # the design's own section
//!     enabled = 1
//!     autostart = 1                    # accepted; see below
//!     socket = "/run/lvm/lvmetad.socket"
//!     timeout = 30                     # seconds per request
//!     update_wait_time = 10            # seconds to wait for another rescan
//! }
//! ```
//!
//! * **Enabled** only when configured: `global/use_lvmetad = 1` or
//!   `lvmetad/enabled = 1`. Either one set to 0 disables it, whatever the
//!   other says. Nothing set means disabled, so an lvm.conf that never heard
//!   of the daemon (lvm2 2.03's, or the test suite's) keeps scanning disks.
//! * **Socket**: `$LVM_LVMETAD_SOCKET` wins (as in lvm2 2.02, where the
//!   environment variable was the only override), then `lvmetad/socket`,
//!   then `/run/lvm/lvmetad.socket`.
//! * **autostart** has nothing left to do: the socket is socket-activated,
//!   so the first connection starts the daemon. To keep it from starting,
//!   disable `lvmetad.socket` (or set `enabled = 0`).
//! * **Token**: `filter:<crc>`, the lvm CRC of the strings of
//!   `devices/global_filter` then `devices/filter`, as lvm2 2.02 derived
//!   it. A daemon fed under another filter (or freshly started, with an
//!   empty token) answers `token_mismatch` and the client rescans.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::format::crc::calc_crc;
use crate::format::crc::INITIAL_CRC;

pub const DEFAULT_SOCKET: &str = "/run/lvm/lvmetad.socket";
pub const SOCKET_ENV: &str = "LVM_LVMETAD_SOCKET";
pub const DEFAULT_UPDATE_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    /// Which setting decided `enabled` (for log messages).
    pub decided_by: String,
    pub socket: PathBuf,
    /// Per request; zero means no limit.
    pub timeout: Duration,
    /// How long to wait for another client's rescan before doing our own.
    pub update_wait: Duration,
    pub token: String,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Settings {
        let switches = ["global/use_lvmetad", "lvmetad/enabled"];
        let set: Vec<(&str, bool)> = switches
            .iter()
            .filter(|k| cfg.value(k).is_some())
            .map(|k| (*k, cfg.bool(k, false)))
            .collect();
        let (enabled, decided_by) = match set.iter().find(|(_, v)| !v).or_else(|| set.first()) {
            Some((k, v)) => (*v, format!("{k} = {}", *v as u8)),
            None => (
                false,
                "neither global/use_lvmetad nor lvmetad/enabled is set".into(),
            ),
        };
        let socket = std::env::var_os(SOCKET_ENV)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| cfg.str("lvmetad/socket").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
        let secs = |k: &str, default: Duration| match cfg.value(k) {
            Some(_) => Duration::from_secs(cfg.int(k, 0).max(0) as u64),
            None => default,
        };
        let update_wait = if cfg.value("lvmetad/update_wait_time").is_some() {
            secs("lvmetad/update_wait_time", DEFAULT_UPDATE_WAIT)
        } else {
            secs("global/lvmetad_update_wait_time", DEFAULT_UPDATE_WAIT)
        };
        Settings {
            enabled,
            decided_by,
            socket,
            timeout: secs("lvmetad/timeout", super::socket::DEFAULT_TIMEOUT),
            update_wait,
            token: token(cfg),
        }
    }
}

/// The client token for this configuration's device filter.
pub fn token(cfg: &Config) -> String {
    let mut crc = INITIAL_CRC;
    for key in ["devices/global_filter", "devices/filter"] {
        for s in cfg.str_list(key).unwrap_or_default() {
            crc = calc_crc(crc, s.as_bytes());
        }
    }
    format!("filter:{crc}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::from_text(text).unwrap()
    }

    #[test]
    fn enabled_only_when_configured_and_zero_wins() {
        assert!(!Settings::from_config(&cfg("global { activation = 0 }")).enabled);
        assert!(Settings::from_config(&cfg("global { use_lvmetad = 1 }")).enabled);
        assert!(Settings::from_config(&cfg("lvmetad { enabled = 1 }")).enabled);
        let s = Settings::from_config(&cfg("global { use_lvmetad = 1 } lvmetad { enabled = 0 }"));
        assert!(!s.enabled);
        assert_eq!(s.decided_by, "lvmetad/enabled = 0");
        assert!(
            !Settings::from_config(&cfg("global { use_lvmetad = 0 } lvmetad { enabled = 1 }"))
                .enabled
        );
    }

    #[test]
    fn socket_timeouts_and_token() {
        let s = Settings::from_config(&cfg(
            "lvmetad { socket = \"/x/y.socket\" timeout = 5 update_wait_time = 0 }",
        ));
        if std::env::var_os(SOCKET_ENV).is_none() {
            assert_eq!(s.socket, PathBuf::from("/x/y.socket"));
        }
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.update_wait, Duration::ZERO);
        let d = Settings::from_config(&cfg(""));
        assert_eq!(d.timeout, Duration::from_secs(30));
        assert_eq!(d.update_wait, DEFAULT_UPDATE_WAIT);

        // The token follows the filter, and only the filter.
        let a = token(&cfg("devices { filter = [ \"a|.*|\" ] }"));
        let b = token(&cfg("devices { filter = [ \"r|.*|\" ] }"));
        assert!(a.starts_with("filter:") && a != b);
        assert_eq!(token(&cfg("")), format!("filter:{INITIAL_CRC}"));
        assert_eq!(
            a,
            token(&cfg("devices { filter = \"a|.*|\" } global { x = 1 }"))
        );
    }
}
