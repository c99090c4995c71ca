//! lvm2's file locks: `flock(2)` on files in the locking directory
//! (`/run/lock/lvm` unless lvm.conf's `global/locking_dir` says otherwise).
//! `V_<vg>` guards one VG's metadata, `V_#orphans` the orphan PVs and
//! `P_global` the set of VGs and PVs. Using the same files as lvm2 means
//! this project and real lvm2 never write the same VG at the same time.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub const DEFAULT_LOCK_DIR: &str = "/run/lock/lvm";

#[derive(Debug, Error)]
pub enum LockError {
    #[error("cannot create the lock directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open lock file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Flock {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A held lock; released when dropped (closing the file drops the flock).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file name for a VG, as lvm2 names it.
pub fn vg_lock_name(vg: &str) -> String {
    format!("V_{vg}")
}

pub const ORPHANS: &str = "V_#orphans";
pub const GLOBAL: &str = "P_global";

/// Take `name` in `dir`, blocking until it is free.
pub fn lock(dir: &Path, name: &str, mode: LockMode) -> Result<FileLock, LockError> {
    std::fs::create_dir_all(dir).map_err(|source| LockError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| LockError::Open {
            path: path.clone(),
            source,
        })?;
    let op = match mode {
        LockMode::Shared => libc::LOCK_SH,
        LockMode::Exclusive => libc::LOCK_EX,
    };
    loop {
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(LockError::Flock { path, source: err });
        }
    }
    Ok(FileLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_locks_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path(), &vg_lock_name("vg0"), LockMode::Exclusive).unwrap();
        assert!(held.path.ends_with("V_vg0"));
        // A second descriptor cannot take it without blocking.
        let f = File::open(&held.path).unwrap();
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, -1);
        drop(held);
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0);
    }
}
