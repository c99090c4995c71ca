//! The ioctl edge: device-mapper devices through the `devicemapper`
//! crate's low-level [`DM`] interface (create, load, suspend, resume,
//! remove, status, message), plus the device nodes lvm2 maintains.
//!
//! udev: the crate follows libdevmapper's `dm_udev_sync` cookie protocol
//! when udev runs (`/run/udev/control` exists): a resume, remove or
//! rename carries a cookie (a SysV semaphore) in the ioctl's `event_nr`,
//! together with lvm2's udev flags (sub-LVs: no subsystem/disk/other
//! rules, so only `/dev/mapper/<name>` appears for them), and the call
//! returns once udev's `95-dm-notify.rules` released the cookie, i.e.
//! once `/dev/mapper/<name>` and `/dev/<vg>/<lv>` exist. As lvm2 does with
//! `verify_udev_operations = 1`, and always without udev (lvm2's
//! `udev_sync = 0` fallback), the nodes are then checked and made here:
//! `/dev/mapper/<name>` as a block node, `/dev/<vg>/<lv>` as a symlink to
//! it (lvm2's lib/activate/fs.c and libdm's `_add_dev_node`).

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use devicemapper::{DevId, DmFlags, DmName, DmOptions, DmUdevFlags, DmUuid, DM};

use super::table::{DevNum, Target};

pub const DM_DIR: &str = "/dev/mapper";
const UDEV_CONTROL: &str = "/run/udev/control";

/// `DM_SUBSYSTEM_UDEV_FLAG0` (libdevmapper.h): lvm2's "do not scan"
/// flag for devices that are not ready to be read.
pub const SUBSYSTEM_UDEV_FLAG0: u32 = 0x0100;

#[derive(Debug, thiserror::Error)]
pub enum DmError {
    #[error(
        "device-mapper is not available on this system ({0}); activation needs the dm-mod \
         kernel module and /dev/mapper/control (load it with `modprobe dm-mod`)"
    )]
    Unavailable(String),
    #[error("device-mapper: {op} of {name} failed: {message}")]
    Ioctl {
        op: &'static str,
        name: String,
        message: String,
        errno: Option<i32>,
    },
    #[error("invalid device-mapper name or UUID {0:?}")]
    BadId(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DmError {
    /// The kernel's errno, when the ioctl itself failed.
    pub fn errno(&self) -> Option<i32> {
        match self {
            DmError::Ioctl { errno, .. } => *errno,
            _ => None,
        }
    }
}

fn io_err(path: &Path, source: std::io::Error) -> DmError {
    DmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the kernel says about one DM device (`dmsetup info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevInfo {
    pub name: String,
    pub uuid: String,
    pub dev: DevNum,
    pub open_count: i32,
    pub suspended: bool,
    pub read_only: bool,
    pub live_table: bool,
    pub inactive_table: bool,
    pub event_nr: u32,
}

/// One line of a table or status: start, length, target type, parameters.
pub type TargetLine = (u64, u64, String, String);

/// A handle on the kernel's device-mapper.
pub struct Dm {
    dm: DM,
    udev: bool,
}

fn errno_of(e: &devicemapper::DmError) -> Option<i32> {
    match e {
        devicemapper::DmError::Core(devicemapper::errors::Error::Ioctl(_, _, _, errno)) => {
            Some(**errno as i32)
        }
        _ => None,
    }
}

fn ioctl_err(op: &'static str, name: &str, e: devicemapper::DmError) -> DmError {
    let errno = errno_of(&e);
    let message = match errno {
        Some(n) => std::io::Error::from_raw_os_error(n).to_string(),
        None => e.to_string(),
    };
    DmError::Ioctl {
        op,
        name: name.to_string(),
        message,
        errno,
    }
}

fn dm_name(name: &str) -> Result<&DmName, DmError> {
    DmName::new(name).map_err(|_| DmError::BadId(name.to_string()))
}

fn dm_uuid(uuid: &str) -> Result<&DmUuid, DmError> {
    DmUuid::new(uuid).map_err(|_| DmError::BadId(uuid.to_string()))
}

/// Longest target type name the ioctl struct holds (the crate panics on
/// longer ones).
const TARGET_TYPE_MAX: usize = 15;

impl Dm {
    /// Open `/dev/mapper/control`; a clear [`DmError::Unavailable`] where
    /// the kernel has no device-mapper (the build host).
    pub fn open() -> Result<Dm, DmError> {
        let control = Path::new(DM_DIR).join("control");
        if !Path::new("/proc/misc").exists() {
            return Err(DmError::Unavailable("/proc is not mounted".into()));
        }
        let has_dm = |m: &str| m.lines().any(|l| l.trim_end().ends_with("device-mapper"));
        let mut misc = std::fs::read_to_string("/proc/misc").unwrap_or_default();
        if !has_dm(&misc) && modprobe("dm-mod") {
            // lvm2 loads the module itself when the kernel lacks it.
            misc = std::fs::read_to_string("/proc/misc").unwrap_or_default();
        }
        if !has_dm(&misc) {
            return Err(DmError::Unavailable(
                "the kernel lists no device-mapper in /proc/misc".into(),
            ));
        }
        if !control.exists() {
            // lvm2 creates the control node itself when it is missing.
            if let Some(minor) = misc
                .lines()
                .find(|l| l.trim_end().ends_with("device-mapper"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|m| m.parse::<u32>().ok())
            {
                let _ = std::fs::create_dir_all(DM_DIR);
                mknod(&control, libc::S_IFCHR, DevNum::new(10, minor))?;
            }
        }
        let dm =
            DM::new().map_err(|e| DmError::Unavailable(format!("{}: {e}", control.display())))?;
        Ok(Dm {
            dm,
            udev: Path::new(UDEV_CONTROL).exists(),
        })
    }

    /// Whether udev runs (and so creates the nodes, synchronised by cookie).
    pub fn udev_running(&self) -> bool {
        self.udev
    }

    /// The kernel's device-mapper version.
    pub fn version(&self) -> Result<(u32, u32, u32), DmError> {
        self.dm
            .version()
            .map_err(|e| ioctl_err("version", "device-mapper", e))
    }

    /// Version of a target type (`raid`), loading its module (`dm-raid`)
    /// when the kernel does not have it yet, as lvm2's `target_present`.
    pub fn target_version_load(&self, target: &str) -> Result<Option<(u32, u32, u32)>, DmError> {
        if let Some(v) = self.target_version(target)? {
            return Ok(Some(v));
        }
        if modprobe(&format!("dm-{target}")) {
            return self.target_version(target);
        }
        Ok(None)
    }

    /// Version of a loaded target type (`raid`), None if not loaded.
    pub fn target_version(&self, target: &str) -> Result<Option<(u32, u32, u32)>, DmError> {
        let v = self
            .dm
            .list_versions()
            .map_err(|e| ioctl_err("list versions", "device-mapper", e))?;
        Ok(v.into_iter()
            .find(|(n, ..)| n == target)
            .map(|(_, a, b, c)| (a, b, c)))
    }

    fn info_of(i: &devicemapper::DeviceInfo) -> DevInfo {
        let f = i.flags();
        let dev = i.device();
        DevInfo {
            name: i.name().map(|n| n.to_string()).unwrap_or_default(),
            uuid: i.uuid().map(|n| n.to_string()).unwrap_or_default(),
            dev: DevNum::new(dev.major, dev.minor),
            open_count: i.open_count(),
            suspended: f.contains(DmFlags::DM_SUSPEND),
            read_only: f.contains(DmFlags::DM_READONLY),
            live_table: f.contains(DmFlags::DM_ACTIVE_PRESENT),
            inactive_table: f.contains(DmFlags::DM_INACTIVE_PRESENT),
            event_nr: i.event_nr(),
        }
    }

    fn info_id(&self, id: &DevId<'_>, what: &str) -> Result<Option<DevInfo>, DmError> {
        match self.dm.device_info(id) {
            Ok(i) => Ok(Some(Self::info_of(&i))),
            Err(e) if errno_of(&e) == Some(libc::ENXIO) => Ok(None),
            Err(e) => Err(ioctl_err("info", what, e)),
        }
    }

    /// The device named `name`, if it exists.
    pub fn info(&self, name: &str) -> Result<Option<DevInfo>, DmError> {
        self.info_id(&DevId::Name(dm_name(name)?), name)
    }

    /// The device with DM UUID `uuid`, if it exists.
    pub fn info_by_uuid(&self, uuid: &str) -> Result<Option<DevInfo>, DmError> {
        self.info_id(&DevId::Uuid(dm_uuid(uuid)?), uuid)
    }

    /// Every DM device: name and number.
    pub fn list(&self) -> Result<Vec<(String, DevNum)>, DmError> {
        let l = self
            .dm
            .list_devices()
            .map_err(|e| ioctl_err("list", "device-mapper", e))?;
        Ok(l.into_iter()
            .map(|(n, d, _)| (n.to_string(), DevNum::new(d.major, d.minor)))
            .collect())
    }

    /// Every DM device with its info (one ioctl each).
    pub fn list_info(&self) -> Result<Vec<DevInfo>, DmError> {
        let mut out = Vec::new();
        for (name, _) in self.list()? {
            if let Some(i) = self.info(&name)? {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Create an empty device (no table yet).
    pub fn create(&self, name: &str, uuid: &str) -> Result<DevInfo, DmError> {
        let u = if uuid.is_empty() {
            None
        } else {
            Some(dm_uuid(uuid)?)
        };
        let i = self
            .dm
            .device_create(dm_name(name)?, u, DmOptions::default())
            .map_err(|e| ioctl_err("create", name, e))?;
        Ok(Self::info_of(&i))
    }

    /// Load `targets` into the inactive table slot.
    pub fn load(&self, name: &str, targets: &[Target], read_only: bool) -> Result<(), DmError> {
        let lines: Vec<TargetLine> = targets
            .iter()
            .map(|t| (t.start, t.length, t.target_type.clone(), t.params.clone()))
            .collect();
        if let Some(t) = lines.iter().find(|t| t.2.len() > TARGET_TYPE_MAX) {
            return Err(DmError::Ioctl {
                op: "table load",
                name: name.to_string(),
                message: format!("target type name {:?} is longer than 15 bytes", t.2),
                errno: None,
            });
        }
        let mut opts = DmOptions::default();
        if read_only {
            opts = opts.set_flags(DmFlags::DM_READONLY);
        }
        self.dm
            .table_load(&DevId::Name(dm_name(name)?), &lines, opts)
            .map_err(|e| ioctl_err("table load", name, e))?;
        Ok(())
    }

    /// Drop a loaded but not yet resumed table.
    pub fn clear(&self, name: &str) -> Result<(), DmError> {
        self.dm
            .table_clear(&DevId::Name(dm_name(name)?))
            .map_err(|e| ioctl_err("table clear", name, e))?;
        Ok(())
    }

    fn udev_opts(&self, udev_flags: u32) -> DmOptions {
        let mut f = DmUdevFlags::from_bits_retain(udev_flags);
        if self.udev {
            // Nodes are udev's job; our check afterwards stands in for
            // libdm's fallback (lvm2's verify_udev_operations).
            f |= DmUdevFlags::DM_UDEV_DISABLE_LIBRARY_FALLBACK;
        }
        DmOptions::default().set_udev_flags(f)
    }

    /// Resume: the inactive table (if any) becomes live. With udev, waits
    /// for udev to process the device's uevent (cookie).
    pub fn resume(&self, name: &str, udev_flags: u32) -> Result<DevInfo, DmError> {
        let i = self
            .dm
            .device_suspend(&DevId::Name(dm_name(name)?), self.udev_opts(udev_flags))
            .map_err(|e| ioctl_err("resume", name, e))?;
        Ok(Self::info_of(&i))
    }

    /// Suspend (flushing I/O unless `noflush`).
    pub fn suspend(&self, name: &str, noflush: bool) -> Result<(), DmError> {
        let mut flags = DmFlags::DM_SUSPEND;
        if noflush {
            flags |= DmFlags::DM_NOFLUSH;
        }
        self.dm
            .device_suspend(
                &DevId::Name(dm_name(name)?),
                DmOptions::default().set_flags(flags),
            )
            .map_err(|e| ioctl_err("suspend", name, e))?;
        Ok(())
    }

    /// Remove the device (retried a few times while busy, as libdm does).
    pub fn remove(&self, name: &str, udev_flags: u32) -> Result<(), DmError> {
        self.dm
            .device_remove(&DevId::Name(dm_name(name)?), self.udev_opts(udev_flags))
            .map_err(|e| ioctl_err("remove", name, e))?;
        Ok(())
    }

    /// Rename a device (lvm2 renames sub-LV devices when LVs are renamed).
    pub fn rename(&self, old: &str, new: &str) -> Result<(), DmError> {
        self.dm
            .device_rename(dm_name(old)?, &DevId::Name(dm_name(new)?))
            .map_err(|e| ioctl_err("rename", old, e))?;
        Ok(())
    }

    /// The live table (`dmsetup table`).
    pub fn table(&self, name: &str) -> Result<Vec<TargetLine>, DmError> {
        let (_, t) = self
            .dm
            .table_status(
                &DevId::Name(dm_name(name)?),
                DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE),
            )
            .map_err(|e| ioctl_err("table", name, e))?;
        Ok(t)
    }

    /// The live status (`dmsetup status`).
    pub fn status(&self, name: &str) -> Result<Vec<TargetLine>, DmError> {
        let (_, t) = self
            .dm
            .table_status(&DevId::Name(dm_name(name)?), DmOptions::default())
            .map_err(|e| ioctl_err("status", name, e))?;
        Ok(t)
    }

    /// The devices the live table uses (`dmsetup deps`).
    pub fn deps(&self, name: &str) -> Result<Vec<DevNum>, DmError> {
        let d = self
            .dm
            .table_deps(&DevId::Name(dm_name(name)?), DmOptions::default())
            .map_err(|e| ioctl_err("deps", name, e))?;
        Ok(d.into_iter()
            .map(|d| DevNum::new(d.major, d.minor))
            .collect())
    }

    /// Send a target message (`dmsetup message name 0 msg`).
    pub fn message(&self, name: &str, msg: &str) -> Result<Option<String>, DmError> {
        let (_, out) = self
            .dm
            .target_msg(&DevId::Name(dm_name(name)?), Some(0), msg)
            .map_err(|e| ioctl_err("message", name, e))?;
        Ok(out)
    }
}

/// `modprobe NAME`; whether it succeeded.
fn modprobe(name: &str) -> bool {
    std::process::Command::new("modprobe")
        .arg(name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn mknod(path: &Path, kind: libc::mode_t, dev: DevNum) -> Result<(), DmError> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| DmError::BadId(path.display().to_string()))?;
    let devt = libc::makedev(dev.major, dev.minor);
    // SAFETY: c is a valid NUL-terminated path.
    let rc = unsafe { libc::mknod(c.as_ptr(), kind | 0o600, devt) };
    if rc != 0 {
        return Err(io_err(path, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// `/dev/mapper/<name>`.
pub fn mapper_path(name: &str) -> PathBuf {
    Path::new(DM_DIR).join(name)
}

/// `/dev/<vg>/<lv>`.
pub fn lv_link_path(vg: &str, lv: &str) -> PathBuf {
    Path::new("/dev").join(vg).join(lv)
}

fn rdev_of(path: &Path) -> Option<DevNum> {
    let m = std::fs::metadata(path).ok()?;
    if !m.file_type().is_block_device() {
        return None;
    }
    let r = m.rdev();
    Some(DevNum::new(libc::major(r), libc::minor(r)))
}

/// Make sure `/dev/mapper/<name>` is a block node of `dev` (libdm's
/// `_add_dev_node`): created when missing, replaced when wrong.
pub fn ensure_mapper_node(name: &str, dev: DevNum) -> Result<(), DmError> {
    let p = mapper_path(name);
    if rdev_of(&p) == Some(dev) {
        return Ok(());
    }
    std::fs::create_dir_all(DM_DIR).map_err(|e| io_err(Path::new(DM_DIR), e))?;
    if std::fs::symlink_metadata(&p).is_ok() {
        std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
    }
    mknod(&p, libc::S_IFBLK, dev)
}

/// Make sure `/dev/<vg>/<lv>` leads to the device `dev` (lvm2's
/// `_mk_link`: a symlink to `/dev/mapper/<name>`).
pub fn ensure_lv_link(vg: &str, lv: &str, name: &str, dev: DevNum) -> Result<(), DmError> {
    let link = lv_link_path(vg, lv);
    if rdev_of(&link) == Some(dev) {
        return Ok(());
    }
    let dir = link.parent().expect("/dev/<vg>");
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    if std::fs::symlink_metadata(&link).is_ok() {
        std::fs::remove_file(&link).map_err(|e| io_err(&link, e))?;
    }
    std::os::unix::fs::symlink(mapper_path(name), &link).map_err(|e| io_err(&link, e))
}

/// Remove what [`ensure_mapper_node`] and [`ensure_lv_link`] made, if
/// still there after the device is gone (udev normally removes them).
pub fn remove_nodes(vg: &str, lv: Option<&str>, name: &str) {
    let p = mapper_path(name);
    if std::fs::symlink_metadata(&p).is_ok() {
        let _ = std::fs::remove_file(&p);
    }
    if let Some(lv) = lv {
        let link = lv_link_path(vg, lv);
        if std::fs::symlink_metadata(&link).is_ok() {
            let _ = std::fs::remove_file(&link);
        }
        // lvm2 removes /dev/<vg> once its last link is gone.
        if let Some(dir) = link.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Read-ahead of a block device in sectors (sysfs `read_ahead_kb`).
pub fn read_ahead(dev: DevNum) -> Option<u64> {
    let base = PathBuf::from(format!("/sys/dev/block/{dev}"));
    for p in [
        base.join("queue/read_ahead_kb"),
        base.join("../queue/read_ahead_kb"),
    ] {
        if let Ok(s) = std::fs::read_to_string(&p) {
            if let Ok(kb) = s.trim().parse::<u64>() {
                return Some(kb * 2);
            }
        }
    }
    None
}

/// Set the read-ahead of a DM device in sectors.
pub fn set_read_ahead(dev: DevNum, sectors: u64) -> Result<(), DmError> {
    let p = PathBuf::from(format!("/sys/dev/block/{dev}/queue/read_ahead_kb"));
    std::fs::write(&p, format!("{}\n", sectors.div_ceil(2))).map_err(|e| io_err(&p, e))
}

/// The kernel's DM devices by UUID (name, number), read from sysfs
/// without ioctls; empty where there is no device-mapper.
pub fn sysfs_uuids() -> HashMap<String, (String, DevNum)> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return out;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if !n.starts_with("dm-") {
            continue;
        }
        let rd = |f: &str| {
            std::fs::read_to_string(e.path().join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let (Some(uuid), Some(name), Some(dev)) = (rd("dm/uuid"), rd("dm/name"), rd("dev")) else {
            continue;
        };
        if let Ok(d) = dev.parse::<DevNum>() {
            out.insert(uuid, (name, d));
        }
    }
    out
}
