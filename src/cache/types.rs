//! The plain values the cache takes and gives: inputs (what a scan of one
//! device found), references to PVs and VGs, errors and the outcome of an
//! operation. None of them holds a path, a file or a clock: the front-ends
//! translate their own types onto these.

use thiserror::Error;

use crate::model::Vg;

use super::event::Event;

/// A metadata area, as the PV label lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MdaFacts {
    /// Byte offset of the area on the device.
    pub offset: u64,
    /// Size of the area in bytes.
    pub size: u64,
    /// `metadataignore`: the area exists but lvm2 neither reads nor writes it.
    pub ignored: bool,
}

/// What a PV's label says (label sector, pv_header and its extension).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelFacts {
    /// Device size in bytes, as the pv_header records it.
    pub dev_size: u64,
    /// The sector (0-3) the label was found in.
    pub label_sector: u64,
    /// Start of the first data area, in bytes.
    pub pe_start: u64,
    pub mdas: Vec<MdaFacts>,
    /// pv_header_extension version (0 when there is none) and flags.
    pub ext_version: u32,
    pub ext_flags: u32,
}

impl LabelFacts {
    /// Whether a command writing the VG writes to this PV: it has at least
    /// one metadata area that is not ignored.
    pub fn has_used_mda(&self) -> bool {
        self.mdas.iter().any(|m| !m.ignored)
    }
}

/// One device reporting a PV label (the input of [`super::Cache::pv_found`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PvFound {
    /// PV UUID, dashed or raw (it is stored dashed).
    pub pvid: String,
    /// Kernel device number, opaque to the cache (lvm2 encodes it with
    /// glibc's `makedev`). It identifies the device; a PV seen on two
    /// devnos is a duplicate.
    pub devno: u64,
    /// The device's name (`/dev/sdb`), a hint for humans only.
    pub device_hint: String,
    pub label: LabelFacts,
    /// The VG metadata read from the PV's metadata area(s), when it has one
    /// in use that holds a VG. `None` for a PV without metadata areas, with
    /// ignored ones, or an orphan. The seqno is `metadata.seqno`.
    pub metadata: Option<Vg>,
}

/// Names a PV: by UUID or by the device it was seen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvRef<'a> {
    Id(&'a str),
    Devno(u64),
}

/// Names a VG. With both, they must agree (lvm2 2.02's vg_lookup checks
/// the two mappings against each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VgRef<'a> {
    Uuid(&'a str),
    Name(&'a str),
    UuidAndName(&'a str, &'a str),
}

impl<'a> VgRef<'a> {
    /// From the optional `uuid` and `name` fields of a request.
    pub fn from_options(uuid: Option<&'a str>, name: Option<&'a str>) -> Option<VgRef<'a>> {
        match (uuid, name) {
            (Some(u), Some(n)) => Some(VgRef::UuidAndName(u, n)),
            (Some(u), None) => Some(VgRef::Uuid(u)),
            (None, Some(n)) => Some(VgRef::Name(n)),
            (None, None) => None,
        }
    }
}

/// A VG as events and replies name it: the UUID identifies it, the name is
/// what admins and systemd unit names use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VgIdent {
    /// Dashed form.
    pub uuid: String,
    pub name: String,
}

/// Why an operation was refused. An `Err` never changes the cache.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CacheError {
    #[error("VG not found")]
    VgNotFound,
    #[error("PV not found")]
    PvNotFound,
    #[error("device not in cache")]
    DeviceNotFound,
    #[error("multiple VGs found with name {0}")]
    MultipleVgs(String),
    #[error("VG name {name} does not belong to UUID {uuid}")]
    VgMismatch { uuid: String, name: String },
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("VG {vg}: seqno {new} is older than the cached seqno {cached}")]
    SeqnoOlder { vg: String, new: u64, cached: u64 },
    #[error("VG {vg}: seqno {seqno} is already cached with different content")]
    SeqnoConflict { vg: String, seqno: u64 },
}

impl CacheError {
    /// lvm2 2.02 answers lookups of things it does not know with `response
    /// = "unknown"` and everything else with `"failed"`; this tells which.
    pub fn is_unknown(&self) -> bool {
        matches!(
            self,
            CacheError::VgNotFound
                | CacheError::PvNotFound
                | CacheError::DeviceNotFound
                | CacheError::VgMismatch { .. }
        )
    }
}

/// What a successful operation gives: its reply and the transitions it
/// caused, in a deterministic order.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<R> {
    pub reply: R,
    pub events: Vec<Event>,
}

/// Where the PV reported by `pv_found` stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PvFoundStatus {
    /// It belongs to a VG, and that VG is complete.
    Complete,
    /// It belongs to a VG that still misses PVs.
    Incomplete,
    /// No VG lists it and it carries no VG metadata.
    Orphan,
    /// It carries metadata of a VG whose cached metadata does not list it
    /// (left over from before the PV was removed from that VG).
    Stale,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PvFoundReply {
    pub pvid: String,
    pub status: PvFoundStatus,
    /// The VG the PV belongs to, or for [`PvFoundStatus::Stale`] the VG its
    /// metadata names.
    pub vg: Option<VgIdent>,
    /// Cached seqno of that VG before and after this report (lvm2 2.02's
    /// seqno_before/seqno_after).
    pub seqno_before: Option<u64>,
    pub seqno_after: Option<u64>,
    /// Whether the cache changed at all (new device, new label facts, new
    /// metadata, or any event).
    pub changed: bool,
    /// This device is a duplicate of the PV seen first on another device;
    /// the other one is in use (its devno).
    pub duplicate_of: Option<u64>,
    /// The PV's metadata is older than the cached one (or no longer lists
    /// it): it was not applied.
    pub outdated: bool,
    /// The PV's metadata has the cached seqno but other content: it was not
    /// applied, the cached copy stays.
    pub conflict: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PvGoneReply {
    pub pvid: String,
    /// The VG the PV belonged to before it went.
    pub vg: Option<VgIdent>,
    /// The PV is still present on another (duplicate) device, which is now
    /// the one in use.
    pub still_present_on: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VgUpdateReply {
    pub vg: VgIdent,
    pub seqno_before: Option<u64>,
    pub seqno_after: u64,
    /// False when the same metadata was already cached.
    pub changed: bool,
}
