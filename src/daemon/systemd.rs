//! The systemd edge: the listening socket from socket activation, or one
//! bound by the daemon itself, and sd_notify status messages.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub const DEFAULT_SOCKET: &str = "/run/lvm/lvmetad.socket";

#[derive(Debug, Error)]
pub enum ListenError {
    #[error("socket activation passed {0} file descriptors; lvmetad expects exactly one (its stream socket)")]
    FdCount(usize),
    #[error("socket activation passed a file descriptor that is not a Unix stream socket: {0}")]
    NotUnix(std::io::Error),
    #[error("cannot create {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("another lvmetad is already listening on {0}")]
    InUse(PathBuf),
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the listening socket came from (for the log and STATUS=).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Activated,
    Bound(PathBuf),
}

/// Take the socket systemd passed (LISTEN_FDS; must be called before any
/// thread starts, as listenfd clears the environment), or bind `path`.
pub fn listener(path: &Path) -> Result<(UnixListener, Origin), ListenError> {
    let mut fds = listenfd::ListenFd::from_env();
    match fds.len() {
        0 => bind(path).map(|l| (l, Origin::Bound(path.to_path_buf()))),
        1 => {
            let l = fds
                .take_unix_listener(0)
                .map_err(ListenError::NotUnix)?
                .ok_or_else(|| ListenError::NotUnix(std::io::Error::other("no listener")))?;
            Ok((l, Origin::Activated))
        }
        n => Err(ListenError::FdCount(n)),
    }
}

fn bind(path: &Path) -> Result<UnixListener, ListenError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ListenError::Dir {
            dir: dir.to_path_buf(),
            source,
        })?;
    }
    if path.exists() {
        // A socket file left by a dead daemon is removed; one that answers
        // belongs to a running daemon and is left alone.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ListenError::InUse(path.to_path_buf()));
        }
        let _ = std::fs::remove_file(path);
    }
    // Only root may talk to the daemon: its updates change what every LVM
    // command believes about the disks.
    let old = unsafe { libc::umask(0o177) };
    let r = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    r.map_err(|source| ListenError::Bind {
        path: path.to_path_buf(),
        source,
    })
}

/// Tell systemd (when NOTIFY_SOCKET is set) how we are doing.
pub fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        log::debug!("sd_notify: {e}");
    }
}
