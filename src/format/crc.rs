//! LVM's CRC-32.
