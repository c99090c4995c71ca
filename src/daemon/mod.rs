//! lvmetad, the daemon: a socket front-end over the pure cache
//! ([`crate::cache`]).
//!
//! * [`systemd`] — the listening socket (socket activation or bound by
//!   hand) and sd_notify;
//! * [`connection`] — one task per client, framing and timeouts;
//! * [`shared`] — the state all connections share: the cache behind a
//!   mutex, and a change counter that waiters watch;
//! * [`handler`] — one request applied to the cache, giving the reply;
//! * [`wait`] — `vg_wait`, the only request that blocks.

pub mod activation;
pub mod connection;
pub mod dbus;
pub mod handler;
pub mod shared;
pub mod systemd;
pub mod wait;

use std::sync::Arc;

use thiserror::Error;

use shared::Shared;
use systemd::{notify, Origin};

/// lvmetad's command line.
#[derive(clap::Parser, Debug)]
#[command(
    name = "lvmetad",
    version,
    about = "LVM metadata cache daemon",
    long_about = "lvmetad keeps an image of every LVM volume group, fed by `lvm pvscan --cache` \
                  from udev, so that LVM commands do not have to scan the disks. It is normally \
                  started by systemd through lvmetad.socket."
)]
pub struct Args {
    /// Socket to listen on when not socket-activated (default: lvm.conf's
    /// lvmetad/socket, else /run/lvm/lvmetad.socket)
    #[arg(short = 's', long = "socket", value_name = "PATH")]
    pub socket: Option<std::path::PathBuf>,
    /// Log at debug level
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// Largest request accepted, in bytes
    #[arg(long = "max-message", value_name = "BYTES", default_value_t = crate::protocol::frame::MAX_FRAME)]
    pub max_message: usize,
}

/// lvm.conf `lvmetad/degraded_activation_timeout` in seconds (default
/// 30): how long a VG may stay incomplete after its first PV appeared
/// before a degraded activation is tried. 0 disables the fallback.
pub fn degraded_timeout() -> Option<std::time::Duration> {
    let secs = crate::config::Config::load(&crate::config::system_config_path(), &[])
        .map(|c| c.int("lvmetad/degraded_activation_timeout", 30))
        .unwrap_or(30);
    (secs > 0).then(|| std::time::Duration::from_secs(secs as u64))
}

impl Args {
    /// The socket path: --socket, else lvm.conf's `lvmetad/socket` (read
    /// with the project's config parser from $LVM_SYSTEM_DIR), else the
    /// default. The same lookup the clients make, so they meet.
    pub fn socket_path(&self) -> std::path::PathBuf {
        if let Some(p) = &self.socket {
            return p.clone();
        }
        let cfg = crate::config::Config::load(&crate::config::system_config_path(), &[]);
        match cfg {
            Ok(c) => c
                .str("lvmetad/socket")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| systemd::DEFAULT_SOCKET.into()),
            Err(e) => {
                log::warn!("{e}; using {}", systemd::DEFAULT_SOCKET);
                systemd::DEFAULT_SOCKET.into()
            }
        }
    }
}

/// At most this many clients at once; more wait in the listen backlog.
pub const MAX_CLIENTS: usize = 1024;

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("listening socket: {0}")]
    Socket(std::io::Error),
}

/// Log to the journal when started by systemd (JOURNAL_STREAM is set),
/// to stderr otherwise.
pub fn init_logging(debug: bool) {
    let level = if debug {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    };
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        if let Ok(l) = systemd_journal_logger::JournalLog::new() {
            if l.with_syslog_identifier("lvmetad".into()).install().is_ok() {
                log::set_max_level(level);
                return;
            }
        }
    }
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .parse_env("LVMETAD_LOG")
        .try_init();
}

/// Serve until SIGTERM/SIGINT.
pub fn run(
    (listener, origin): (std::os::unix::net::UnixListener, Origin),
    max_frame: usize,
) -> Result<(), DaemonError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(async move {
        listener
            .set_nonblocking(true)
            .map_err(DaemonError::Socket)?;
        let listener = tokio::net::UnixListener::from_std(listener).map_err(DaemonError::Socket)?;
        let shared = Arc::new(Shared::new());
        // The D-Bus service and auto-activation (retries the bus in the
        // background; the socket is served regardless).
        tokio::spawn(dbus::serve(shared.clone(), degraded_timeout()));
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
        let where_ = match &origin {
            Origin::Activated => "socket-activated".to_string(),
            Origin::Bound(p) => format!("listening on {}", p.display()),
        };
        log::info!("lvmetad {} {where_}", env!("CARGO_PKG_VERSION"));
        notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&format!("{where_}; cache empty, waiting for pvscan")),
        ]);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(DaemonError::Socket)?;
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = match accepted {
                        Ok(s) => s,
                        Err(e) => {
                            log::warn!("accept: {e}");
                            continue;
                        }
                    };
                    let Ok(permit) = slots.clone().acquire_owned().await else { break };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        connection::serve(stream, shared, max_frame).await;
                        drop(permit);
                    });
                }
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        notify(&[sd_notify::NotifyState::Stopping]);
        log::info!("lvmetad stopping");
        if let Origin::Bound(p) = origin {
            let _ = std::fs::remove_file(p);
        }
        Ok(())
    })
}
