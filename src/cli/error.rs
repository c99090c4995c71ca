//! The error a command ends with: a human message (naming the device, VG or
//! LV and, where there is one, the fix) and lvm2's exit code.

use super::{ECMD_FAILED, EINVALID_CMD_LINE};

#[derive(Debug)]
pub struct CmdError {
    pub msg: String,
    pub code: i32,
}

impl CmdError {
    pub fn failed(msg: impl Into<String>) -> CmdError {
        CmdError {
            msg: msg.into(),
            code: ECMD_FAILED,
        }
    }

    pub fn usage(msg: impl Into<String>) -> CmdError {
        CmdError {
            msg: msg.into(),
            code: EINVALID_CMD_LINE,
        }
    }

    /// Print as lvm2 does: two spaces of indentation on stderr.
    pub fn report(&self) {
        for line in self.msg.lines() {
            eprintln!("  {line}");
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Library errors already name what is wrong; at the CLI they become failures.
macro_rules! from_lib_error {
    ($($t:ty),*) => {$(
        impl From<$t> for CmdError {
            fn from(e: $t) -> CmdError {
                CmdError::failed(e.to_string())
            }
        }
    )*};
}

from_lib_error!(
    crate::device::DeviceError,
    crate::config::ConfigError,
    crate::device::list::FilterError
);
