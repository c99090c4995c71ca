//! Opening block devices and image files, and positioned I/O on them.
//!
//! Everything that writes to a PV goes through the [`BlockIo`] trait so the
//! commit protocol can be tested with fault injection (a device that fails
//! after N writes) without touching a real disk.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DeviceError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a block device or regular file")]
    NotADevice { path: PathBuf },
    #[error("{path}: cannot get the size: {source}")]
    Size {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: read of {len} bytes at offset {offset} failed: {source}")]
    Read {
        path: PathBuf,
        offset: u64,
        len: usize,
        source: std::io::Error,
    },
    #[error("{path}: write of {len} bytes at offset {offset} failed: {source}")]
    Write {
        path: PathBuf,
        offset: u64,
        len: usize,
        source: std::io::Error,
    },
    #[error("{path}: flush failed: {source}")]
    Flush {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Positioned reads and writes on one device.
pub trait BlockIo {
    fn path(&self) -> &Path;
    /// Size in bytes.
    fn size(&self) -> u64;
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, DeviceError>;
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError>;
    /// Make every write so far durable.
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// A block device or a regular image file.
#[derive(Debug)]
pub struct Device {
    path: PathBuf,
    file: File,
    size: u64,
    /// (major, minor) of a block device; None for an image file.
    pub devno: Option<(u32, u32)>,
}

// BLKGETSIZE64 = _IOR(0x12, 114, size_t)
const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;

impl Device {
    pub fn open(path: &Path, write: bool) -> Result<Device, DeviceError> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(write);
        // O_EXCL on a block device would fail while it is mounted or held by
        // device-mapper; lvm2 does not use it for metadata I/O either.
        opts.custom_flags(libc::O_CLOEXEC);
        let file = opts.open(path).map_err(|source| DeviceError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let meta = file.metadata().map_err(|source| DeviceError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let ft = meta.file_type();
        let (size, devno) = if ft.is_block_device() {
            let mut size: u64 = 0;
            // SAFETY: BLKGETSIZE64 writes one u64 into `size`.
            let rc = unsafe {
                libc::ioctl(
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    BLKGETSIZE64,
                    &mut size,
                )
            };
            if rc != 0 {
                return Err(DeviceError::Size {
                    path: path.to_path_buf(),
                    source: std::io::Error::last_os_error(),
                });
            }
            let rdev = std::os::unix::fs::MetadataExt::rdev(&meta);
            (size, Some((libc::major(rdev), libc::minor(rdev))))
        } else if ft.is_file() {
            (meta.len(), None)
        } else {
            return Err(DeviceError::NotADevice {
                path: path.to_path_buf(),
            });
        };
        Ok(Device {
            path: path.to_path_buf(),
            file,
            size,
            devno,
        })
    }
}

impl BlockIo for Device {
    fn path(&self) -> &Path {
        &self.path
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|source| DeviceError::Read {
                path: self.path.clone(),
                offset,
                len,
                source,
            })?;
        Ok(buf)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.file
            .write_all_at(data, offset)
            .map_err(|source| DeviceError::Write {
                path: self.path.clone(),
                offset,
                len: data.len(),
                source,
            })
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.file.sync_data().map_err(|source| DeviceError::Flush {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_files_are_devices_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pv.img");
        let f = File::create(&p).unwrap();
        f.set_len(1 << 20).unwrap();
        let mut dev = Device::open(&p, true).unwrap();
        assert_eq!(dev.size(), 1 << 20);
        assert_eq!(dev.devno, None);
        dev.write_at(4096, b"hello").unwrap();
        dev.flush().unwrap();
        assert_eq!(dev.read_at(4096, 5).unwrap(), b"hello");
        let err = dev.read_at((1 << 20) - 2, 5).unwrap_err().to_string();
        assert!(err.contains("pv.img") && err.contains("offset"), "{err}");
    }

    #[test]
    fn directories_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let err = Device::open(dir.path(), false).unwrap_err();
        assert!(matches!(err, DeviceError::NotADevice { .. }));
    }
}
