//! Transitions the cache reports. Front-ends turn them into D-Bus signals,
//! activation triggers and wake-ups of `vg_wait` clients.
//!
//! Events are computed by comparing what was last reported about a PV or VG
//! with what the cache now derives for it (see `reconcile.rs`), so each is
//! emitted exactly once per transition: `VgComplete` only when a VG goes
//! from incomplete (or unknown) to complete, and again only after a
//! `VgIncomplete`.

use super::types::VgIdent;

/// Why a VG left the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveReason {
    /// `vg_remove`: a command removed the VG.
    Removed,
    /// No PV of the VG is present any more (its last device went away, or
    /// its last PV moved to another VG).
    NoPvsLeft,
    /// `pv_clear_all`: the cache was emptied for a full rescan.
    Cleared,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A PV became present, on device `devno`.
    PvAdded { pvid: String, devno: u64 },
    /// A PV is no longer present on any device; `devno` is the device it
    /// was last used on.
    PvRemoved { pvid: String, devno: u64 },
    /// A PV was seen on one more device. `active` is the device in use
    /// (the one seen first), `duplicates` all the others.
    PvDuplicate {
        pvid: String,
        active: u64,
        duplicates: Vec<u64>,
    },
    /// The device in use for a PV went away and a duplicate took over.
    PvActiveDeviceChanged { pvid: String, from: u64, to: u64 },
    /// A present PV now belongs to `vg` (it appeared, or metadata now
    /// lists it).
    PvAttached { pvid: String, vg: VgIdent },
    /// A present PV no longer belongs to `vg`.
    PvDetached { pvid: String, vg: VgIdent },
    /// A present PV became an orphan: no VG lists it and it carries no VG
    /// metadata. Free for vgcreate/vgextend.
    PvOrphaned { pvid: String },
    /// A PV's metadata for `vg` is older than the cached one (`seqno` <
    /// `cached_seqno`), or no longer lists the PV. Not applied.
    PvOutdated {
        pvid: String,
        vg: VgIdent,
        seqno: u64,
        cached_seqno: u64,
    },
    /// A PV's metadata for `vg` has the cached seqno but other content.
    /// The cached copy is kept; the conflict stays visible in lookups.
    PvConflict {
        pvid: String,
        vg: VgIdent,
        seqno: u64,
    },
    /// A VG entered the cache. Always followed by `VgComplete` or
    /// `VgIncomplete` stating its initial state.
    VgAdded { vg: VgIdent, seqno: u64 },
    /// A cached VG got a new name (its metadata changed too: a `VgChanged`
    /// follows).
    VgRenamed { vg: VgIdent, old_name: String },
    /// The cached metadata was replaced by a newer one.
    VgChanged { vg: VgIdent, seqno: u64 },
    /// Every PV the cached metadata lists is present.
    VgComplete { vg: VgIdent },
    /// Some listed PVs are missing (their ids).
    VgIncomplete { vg: VgIdent, missing: Vec<String> },
    /// The VG left the cache.
    VgRemoved { vg: VgIdent, reason: RemoveReason },
}

impl Event {
    /// The UUID of the VG the event is about, if any.
    pub fn vg_uuid(&self) -> Option<&str> {
        match self {
            Event::PvAttached { vg, .. }
            | Event::PvDetached { vg, .. }
            | Event::PvOutdated { vg, .. }
            | Event::PvConflict { vg, .. }
            | Event::VgAdded { vg, .. }
            | Event::VgRenamed { vg, .. }
            | Event::VgChanged { vg, .. }
            | Event::VgComplete { vg }
            | Event::VgIncomplete { vg, .. }
            | Event::VgRemoved { vg, .. } => Some(&vg.uuid),
            _ => None,
        }
    }

    /// The PV the event is about, if any.
    pub fn pvid(&self) -> Option<&str> {
        match self {
            Event::PvAdded { pvid, .. }
            | Event::PvRemoved { pvid, .. }
            | Event::PvDuplicate { pvid, .. }
            | Event::PvActiveDeviceChanged { pvid, .. }
            | Event::PvAttached { pvid, .. }
            | Event::PvDetached { pvid, .. }
            | Event::PvOrphaned { pvid }
            | Event::PvOutdated { pvid, .. }
            | Event::PvConflict { pvid, .. } => Some(pvid),
            _ => None,
        }
    }
}

/// `major:minor` of a device number in glibc's `makedev` encoding (the
/// encoding lvm2 sends); image files get numbers with bit 62 set.
fn devno(d: u64) -> String {
    if d & (1 << 62) != 0 {
        return format!("image#{:x}", d & !(1 << 62));
    }
    let major = ((d >> 8) & 0xfff) | ((d >> 32) & !0xfff);
    let minor = (d & 0xff) | ((d >> 12) & !0xff);
    format!("{major}:{minor}")
}

impl std::fmt::Display for VgIdent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VG {} ({})", self.name, self.uuid)
    }
}

/// One line for the daemon's log.
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::PvAdded { pvid, devno: d } => write!(f, "PV {pvid} appeared on {}", devno(*d)),
            Event::PvRemoved { pvid, devno: d } => write!(f, "PV {pvid} gone from {}", devno(*d)),
            Event::PvDuplicate {
                pvid,
                active,
                duplicates,
            } => write!(
                f,
                "PV {pvid} is duplicated: using {}, not {}",
                devno(*active),
                duplicates.iter().map(|d| devno(*d)).collect::<Vec<_>>().join(", ")
            ),
            Event::PvActiveDeviceChanged { pvid, from, to } => {
                write!(f, "PV {pvid} now used on {} instead of {}", devno(*to), devno(*from))
            }
            Event::PvAttached { pvid, vg } => write!(f, "PV {pvid} belongs to {vg}"),
            Event::PvDetached { pvid, vg } => write!(f, "PV {pvid} left {vg}"),
            Event::PvOrphaned { pvid } => write!(f, "PV {pvid} is an orphan"),
            Event::PvOutdated {
                pvid,
                vg,
                seqno,
                cached_seqno,
            } => write!(
                f,
                "PV {pvid} holds old metadata of {vg} (seqno {seqno}, cached {cached_seqno})"
            ),
            Event::PvConflict { pvid, vg, seqno } => write!(
                f,
                "PV {pvid} holds different metadata of {vg} with the same seqno {seqno}; keeping the cached copy"
            ),
            Event::VgAdded { vg, seqno } => write!(f, "{vg} found (seqno {seqno})"),
            Event::VgRenamed { vg, old_name } => write!(f, "{vg} renamed from {old_name}"),
            Event::VgChanged { vg, seqno } => write!(f, "{vg} changed (seqno {seqno})"),
            Event::VgComplete { vg } => write!(f, "{vg} is complete"),
            Event::VgIncomplete { vg, missing } => {
                write!(f, "{vg} is incomplete, missing PVs {}", missing.join(", "))
            }
            Event::VgRemoved { vg, reason } => write!(f, "{vg} removed ({reason:?})"),
        }
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn log_lines_name_devices_as_major_minor() {
        assert_eq!(devno(1792), "7:0");
        // makedev(259, 300): major above 255 and minor above 255.
        let d = ((259u64 & 0xfff) << 8) | (300u64 & 0xff) | ((300u64 & !0xff) << 12);
        assert_eq!(devno(d), "259:300");
        let e = Event::VgComplete {
            vg: VgIdent {
                uuid: "u".into(),
                name: "vg0".into(),
            },
        };
        assert_eq!(e.to_string(), "VG vg0 (u) is complete");
    }
}
