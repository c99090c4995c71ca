//! The lvmetad cache: a pure state machine over values.
//!
//! It is fed what pvscan found on each device (`pv_found`, `pv_gone`) and
//! what commands wrote (`vg_update`, `vg_remove`), answers lookups, and
//! reports every transition as an [`Event`]. It does no I/O and reads no
//! clock (time is passed in where lvm2 2.02 needed it); the socket and
//! D-Bus front-ends both drive it and keep no state of their own, except
//! the clients waiting for a VG (see [`Cache::completion`]).
//!
//! # Rules
//!
//! Incremental assembly follows the lvmetad design document:
//!
//! * **A VG is created** when the first PV carrying its metadata is seen.
//!   PVs it lists that were seen earlier (with or without metadata) are
//!   attached to it; listed PVs not seen yet are *missing* and the VG is
//!   incomplete until they arrive. A listed PV counts as present only if it
//!   belongs to this VG (see membership below).
//! * **MISSING in the metadata** (`flags = ["MISSING"]`, written by lvm2
//!   while the PV was gone) is kept when the PV shows up: only a command
//!   rewriting the metadata clears it. Lookups add `MISSING` to the
//!   `status` of absent PVs and remove it from present ones, never touching
//!   `flags`. Completeness only asks whether every listed PV is present, so
//!   a flagged PV still counts when present and is still awaited when not.
//! * **Seqno**: metadata with a higher seqno than the cached copy replaces
//!   it (`VgChanged`); a lower seqno is not applied and marks that PV
//!   *outdated*; the same seqno with different content is a *conflict*:
//!   the copy already cached stays, and the PV is reported (`PvConflict`,
//!   and in lookups) until new metadata resolves it. The cached metadata
//!   of a VG never goes back to a lower seqno while the VG stays cached.
//!   Device name hints are not part of the comparison.
//! * **Duplicates**: the same PV UUID on a second device is reported
//!   (`PvDuplicate`) and the device seen first stays in use while it is
//!   present; when it goes, the next one seen takes over
//!   (`PvActiveDeviceChanged`) and its metadata is applied as if just
//!   found. Only the device in use counts for assembly. Unlike 2.02, the
//!   cache does not disable itself. A device that reports a different PV
//!   than before was reused: the old PV leaves that device.
//! * **Membership**: a present PV belongs to the VG its own metadata names
//!   if that VG's cached metadata lists it (so a PV moved to another VG
//!   follows its metadata and leaves the old VG, which then misses it until
//!   its own metadata is updated); otherwise to a cached VG listing it (the
//!   smallest UUID if several do); otherwise to none. A PV with no VG and
//!   no VG metadata is an **orphan** (`PvOrphaned`), decided immediately as
//!   the design suggests: a metadata-less PV seen before its VG is an
//!   orphan until the VG's first PV with metadata arrives. A PV carrying
//!   metadata of a VG that does not list it any more is *outdated* for that
//!   VG, not an orphan (a command has to wipe it first).
//! * **A VG whose last PV is gone is dropped** (`VgRemoved` with
//!   [`RemoveReason::NoPvsLeft`]), as 2.02 did in `vg_remove_if_missing`
//!   and as an admin expects after unplugging all of a VG's disks: `vgs`
//!   without the daemon would not show it either. "Its PVs" are the present
//!   PVs belonging to it or carrying its metadata; so a VG with only an
//!   outdated PV left stays, with the newest metadata (showing the outdated
//!   PV would otherwise resurrect old metadata). The one exception:
//!   `vg_update` keeps the VG it writes even without a present PV (the
//!   command may know devices the cache has not been told about); it is
//!   dropped when a later report about one of its PVs leaves it with none.
//! * **vg_update** needs a higher seqno than cached, or the same metadata
//!   (no change); an older seqno or the same seqno with other content is
//!   refused. The command wrote every PV of the VG with a metadata area in
//!   use, so those PVs now carry the new metadata (which clears outdated
//!   and conflicting copies); PVs that carried the VG but are no longer
//!   listed were removed from it. **vg_remove** drops the VG; PVs that
//!   carried it carry nothing now (orphans unless another VG lists them).
//! * **Events** are differences between what was last reported and what is
//!   derived now (see `reconcile.rs`): each transition once. A VG's
//!   `VgAdded` is followed by `VgComplete` or `VgIncomplete` for its
//!   initial state; after that the two alternate strictly until
//!   `VgRemoved`. `pv_clear_all` reports everything removed.
//! * **Token and global flags** follow 2.02: see [`token`].
//!
//! Errors (`Err`) never change the cache.

mod event;
mod ops;
mod reconcile;
mod state;
pub mod token;
mod types;
mod view;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use event::{Event, RemoveReason};
pub use token::{
    DisableReason, GlobalInfo, SetGlobalInfo, TokenMismatch, TokenUpdate, TokenUpdateRefused,
    TokenUpdated, TOKEN_SKIP, TOKEN_UPDATE_IN_PROGRESS,
};
pub use types::{
    CacheError, LabelFacts, MdaFacts, Outcome, PvFound, PvFoundReply, PvFoundStatus, PvGoneReply,
    PvRef, VgIdent, VgRef, VgUpdateReply,
};
pub use view::{Completion, DeviceView, PvView, VgPvView, VgSummary, VgView};

use reconcile::Reported;
use state::Store;
use token::{GlobalFlags, TokenState};

/// The whole daemon state. `Clone` so that a front-end can snapshot it.
#[derive(Debug, Clone, Default)]
pub struct Cache {
    store: Store,
    /// What events have announced so far.
    reported: Reported,
    token: TokenState,
    global: GlobalFlags,
}

impl Cache {
    pub fn new() -> Cache {
        Cache::default()
    }

    // --- token and global flags (see the `token` module) ----------------

    /// The current token; empty before the first full rescan.
    pub fn token(&self) -> &str {
        self.token.token()
    }

    /// Whether a request (other than `token_update` and `dump`, which 2.02
    /// accepts under any token) may proceed under `received`.
    pub fn check_token(&self, received: &str, pid: i64) -> Result<(), TokenMismatch> {
        self.token.check(received, pid)
    }

    /// `token_update`; `now` in monotonic seconds.
    pub fn token_update(
        &mut self,
        req: TokenUpdate<'_>,
        now: u64,
    ) -> Result<TokenUpdated, TokenUpdateRefused> {
        self.token.update(req, now)
    }

    /// `get_global_info`; cancels an update that outlived its timeout.
    pub fn global_info(&mut self, now: u64) -> GlobalInfo {
        self.token.expire(now);
        self.global.info(&self.token)
    }

    pub fn set_global_info(&mut self, req: SetGlobalInfo<'_>) {
        self.global.set(req);
    }

    /// `global_invalid`: replies to lookups and lists carry it.
    pub fn global_invalid(&self) -> bool {
        self.global.invalid()
    }

    pub fn global_disabled(&self) -> bool {
        self.global.disabled()
    }

    /// Test support: the indices and the reported state agree with a
    /// recomputation from scratch.
    #[cfg(test)]
    pub(crate) fn check_consistency(&self) {
        self.store.check_indices();
        let vgs: std::collections::BTreeMap<_, _> = self
            .store
            .vgs
            .keys()
            .map(|v| (v.clone(), self.store.vg_status(v).unwrap()))
            .collect();
        assert_eq!(vgs, self.reported.vgs, "reported VG state is stale");
        let pvs: std::collections::BTreeMap<_, _> = self
            .store
            .pvs
            .keys()
            .map(|p| (p.clone(), self.store.pv_status(p).unwrap()))
            .collect();
        assert_eq!(pvs, self.reported.pvs, "reported PV state is stale");
    }
}
