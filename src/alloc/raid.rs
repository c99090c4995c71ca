//! Allocation for RAID LVs: every image (data stripes, parity devices,
//! mirror legs) is a parallel area, and each image of a new LV gets its
//! metadata area in front of its first data area, allocated as one unit on
//! one PV and then split (the RAID design's "alloc_and_split_meta").
//!
//! The search follows lvm2 2.03's `_allocate` closely enough that the same
//! request on the same VG lands on the same extents (the lvm2 fixture
//! replays and the lvextend comparisons in tests/raid_*.rs check this):
//!
//! * candidate PVs in VG (or command line) order; a PV's free areas
//!   largest first; in a plain round each PV offers the smallest area that
//!   holds everything still needed, or else its largest;
//! * offers are ranked by how much of the request they can take (stable,
//!   so equal offers keep PV order) and handed out image 0 first;
//! * each round gives every image the same length (the smallest of the
//!   chosen areas), and rounds repeat until the request is met;
//! * passes as in lvm2, up to the policy: `contiguous` (one round; for an
//!   extension every image must continue where it ends), `cling`
//!   (positional: each image on the PV it already starts on — for a new LV,
//!   the PVs this allocation gave it; an extension then takes any area on
//!   the LV's PVs), `normal` (alternating a round restricted to PVs already
//!   in use with a plain round);
//! * with `approx` (sizes in %FREE, %VG, %PVS) as much as can be found is
//!   taken, up to the request.
//!
//! One rule is stricter than lvm2 2.03, which can put two images of one LV
//! on one PV when it extends: a PV that holds extents of one image (data or
//! metadata, in any segment, including the LV's existing extents when
//! extending) is never used for another image of the same LV, whatever the
//! policy — so losing one PV never costs two images.

use std::collections::{BTreeMap, BTreeSet};

use super::{usable, AllocError, Candidate, Chunk, FreeArea, Policy};
use crate::model::Vg;

/// What to allocate for a RAID LV (creation or extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaidRequest {
    /// Parallel images: data stripes plus parity devices (raid1: legs).
    pub images: usize,
    /// Images that hold data (not parity); lvm2 only lets these "cling".
    pub data_images: usize,
    /// Data extents each image gets (an upper bound with `approx`).
    pub extents_per_image: u64,
    /// Metadata extents each image gets in front of its first data
    /// extents (0 = none: raid0, or an extension).
    pub meta_extents: u64,
    pub policy: Policy,
    /// Take what can be found, up to the request (percentage sizes).
    pub approx: bool,
    /// Extension: per image, the PV and PE right after its last data
    /// extent (where a contiguous extension continues).
    pub previous_end: Vec<Option<(String, u64)>>,
    /// Extension: per image, every PV it already uses. Those PVs belong to
    /// that image and to no other.
    pub existing: Vec<Vec<String>>,
    /// Extension: per image, the PVs lvm2's `cling` looks at (the PV of
    /// the image's first data segment).
    pub cling_to: Vec<Vec<String>>,
}

/// Where each image's extents go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RaidAllocation {
    /// Metadata area per image (`None` when none was asked for).
    pub meta: Vec<Option<Chunk>>,
    /// Data chunks per image, in logical order. Every image gets the same
    /// total.
    pub data: Vec<Vec<Chunk>>,
}

impl RaidAllocation {
    /// Data extents each image got.
    pub fn extents_per_image(&self) -> u64 {
        self.data
            .first()
            .map(|d| d.iter().map(|c| c.len).sum())
            .unwrap_or(0)
    }
}

/// One PV's free areas in lvm2's order: largest first, equal sizes in the
/// order they were inserted (PE order at the start).
struct PvFree {
    key: String,
    areas: Vec<FreeArea>,
}

impl PvFree {
    fn insert(&mut self, a: FreeArea) {
        let i = self
            .areas
            .iter()
            .position(|x| a.len > x.len)
            .unwrap_or(self.areas.len());
        self.areas.insert(i, a);
    }

    fn total(&self) -> u64 {
        self.areas.iter().map(|a| a.len).sum()
    }
}

/// A free area picked for one image in one round.
#[derive(Debug, Clone, Copy)]
struct Pick {
    pv: usize,
    area: usize,
    /// How much of the request this area can take.
    used: u64,
}

struct State<'a> {
    req: &'a RaidRequest,
    pvs: Vec<PvFree>,
    /// Which images own each PV (by PV index).
    owners: BTreeMap<usize, BTreeSet<usize>>,
    /// PVs each image used in this allocation (cling to allocated).
    alloced: Vec<Vec<usize>>,
    result: RaidAllocation,
    /// Extents allocated to every image so far (data + metadata).
    done: u64,
}

impl State<'_> {
    fn meta_pending(&self) -> bool {
        self.req.meta_extents > 0 && self.done == 0
    }

    /// Per image: what is still needed, metadata included.
    fn need(&self) -> u64 {
        self.req.extents_per_image + self.req.meta_extents - self.done
    }

    fn finished(&self) -> bool {
        self.need() == 0
    }

    fn free_total(&self) -> u64 {
        self.pvs.iter().map(PvFree::total).sum()
    }

    /// May image `s` use PV `pv`? Not if another image owns it.
    fn allowed(&self, pv: usize, s: usize) -> bool {
        self.owners
            .get(&pv)
            .is_none_or(|o| o.iter().all(|&x| x == s))
    }

    /// lvm2's per-PV choice: the smallest area that holds `need` (the last
    /// of the big-enough prefix of the largest-first list), else the
    /// largest. Without `can_split` an area must hold everything. While the
    /// metadata is pending an area must also leave room for data.
    fn pick_on(&self, pv: usize, need: u64, can_split: bool) -> Option<Pick> {
        let min_len = if self.meta_pending() {
            self.req.meta_extents + 1
        } else {
            1
        };
        let areas = &self.pvs[pv].areas;
        let mut found: Option<usize> = None;
        for (i, a) in areas.iter().enumerate() {
            if a.len < min_len {
                break;
            }
            if a.len < need && (found.is_some() || !can_split) {
                break;
            }
            found = Some(i);
        }
        found.map(|area| Pick {
            pv,
            area,
            used: areas[area].len.min(need),
        })
    }

    /// Non-positional candidates: one per PV not in `skip`, ranked by
    /// usable length (stable).
    fn ranked(&self, need: u64, can_split: bool, skip: &BTreeSet<usize>) -> Vec<Pick> {
        let mut c: Vec<Pick> = (0..self.pvs.len())
            .filter(|pv| !skip.contains(pv))
            .filter_map(|pv| self.pick_on(pv, need, can_split))
            .collect();
        c.sort_by_key(|p| std::cmp::Reverse(p.used));
        c
    }

    /// Fill the empty slots in image order from ranked candidates, each
    /// taking the first candidate it may use.
    fn fill(&self, slots: &mut [Option<Pick>], mut cands: Vec<Pick>) -> bool {
        for (s, slot) in slots.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            let Some(i) = cands.iter().position(|c| self.allowed(c.pv, s)) else {
                return false;
            };
            *slot = Some(cands.remove(i));
        }
        true
    }

    /// A round that ranks areas on every PV (lvm2's normal placement).
    fn plain_round(&self, can_split: bool) -> Option<Vec<Pick>> {
        let need = self.need();
        let cands = self.ranked(need, can_split, &BTreeSet::new());
        let mut slots = vec![None; self.req.images];
        self.fill(&mut slots, cands)
            .then(|| slots.into_iter().flatten().collect())
    }

    /// A round restricted to the PVs in `only` (lvm2's non-positional
    /// cling: every free area of such a PV qualifies, and the last one
    /// looked at — its smallest — is kept), ranked and filled in image
    /// order.
    fn restricted_round(&self, only: &BTreeSet<usize>) -> Option<Vec<Pick>> {
        let need = self.need();
        let min_len = if self.meta_pending() {
            self.req.meta_extents + 1
        } else {
            1
        };
        let mut cands: Vec<Pick> = only
            .iter()
            .filter_map(|&pv| {
                let areas = &self.pvs[pv].areas;
                let area = areas.iter().rposition(|a| a.len >= min_len)?;
                Some(Pick {
                    pv,
                    area,
                    used: areas[area].len.min(need),
                })
            })
            .collect();
        cands.sort_by_key(|p| std::cmp::Reverse(p.used));
        let mut slots = vec![None; self.req.images];
        self.fill(&mut slots, cands)
            .then(|| slots.into_iter().flatten().collect())
    }

    /// Positional round: image `s` (for `s < positional`) takes the largest
    /// area of the first PV, in order, that `lists[s]` names. All images
    /// must be served this way: lvm2's positional fill only completes when
    /// every slot is preferred (so never with parity images, which are not
    /// positional).
    fn positional_round(&self, lists: &[Vec<usize>], positional: usize) -> Option<Vec<Pick>> {
        let mut slots: Vec<Option<Pick>> = vec![None; self.req.images];
        for pv in 0..self.pvs.len() {
            if self.pvs[pv].areas.is_empty() {
                continue;
            }
            let Some(s) = (0..positional).find(|&s| slots[s].is_none() && lists[s].contains(&pv))
            else {
                continue;
            };
            if !self.allowed(pv, s) {
                continue;
            }
            let a = self.pvs[pv].areas[0];
            if self.meta_pending() && a.len <= self.req.meta_extents {
                continue;
            }
            slots[s] = Some(Pick {
                pv,
                area: 0,
                used: a.len,
            });
        }
        slots.into_iter().collect()
    }

    /// Contiguous extension: every image continues right where it ends.
    fn contiguous_round(&self) -> Option<Vec<Pick>> {
        let mut picks = Vec::new();
        for (s, end) in self.req.previous_end.iter().enumerate() {
            let (key, next) = end.as_ref()?;
            let pv = self.pvs.iter().position(|p| &p.key == key)?;
            if !self.allowed(pv, s) {
                return None;
            }
            let area = self.pvs[pv].areas.iter().position(|a| a.start == *next)?;
            picks.push(Pick {
                pv,
                area,
                used: self.pvs[pv].areas[area].len,
            });
        }
        (picks.len() == self.req.images).then_some(picks)
    }

    /// Take the round's extents: the smallest chosen area (at most what is
    /// needed) from every image's area, metadata first while pending.
    fn apply(&mut self, picks: Vec<Pick>) {
        let len = picks
            .iter()
            .map(|p| p.used)
            .min()
            .unwrap_or(0)
            .min(self.need());
        if len == 0 {
            return;
        }
        let meta = if self.meta_pending() {
            self.req.meta_extents
        } else {
            0
        };
        // Consume PV by PV: indices of areas shift as areas are reinserted,
        // so resolve every pick to a start first.
        let starts: Vec<(usize, u64)> = picks
            .iter()
            .map(|p| (p.pv, self.pvs[p.pv].areas[p.area].start))
            .collect();
        for (s, (pv, start)) in starts.into_iter().enumerate() {
            let key = self.pvs[pv].key.clone();
            let i = self.pvs[pv]
                .areas
                .iter()
                .position(|a| a.start == start)
                .expect("picked area is still free");
            let a = self.pvs[pv].areas.remove(i);
            debug_assert!(a.len >= len);
            if a.len > len {
                self.pvs[pv].insert(FreeArea {
                    start: a.start + len,
                    len: a.len - len,
                });
            }
            if meta > 0 {
                self.result.meta[s] = Some(Chunk {
                    pv: key.clone(),
                    pe: a.start,
                    len: meta,
                });
            }
            let data = &mut self.result.data[s];
            let (pe, dlen) = (a.start + meta, len - meta);
            match data.last_mut() {
                Some(c) if c.pv == key && c.pe + c.len == pe => c.len += dlen,
                _ => data.push(Chunk {
                    pv: key.clone(),
                    pe,
                    len: dlen,
                }),
            }
            self.owners.entry(pv).or_default().insert(s);
            if !self.alloced[s].contains(&pv) {
                self.alloced[s].push(pv);
            }
        }
        self.done += len;
    }
}

/// Allocate a RAID request. Nothing is changed (the VG is only read); the
/// result lists, per image, its metadata area and its data chunks.
pub fn allocate_raid(
    vg: &Vg,
    req: &RaidRequest,
    candidates: Option<&[Candidate]>,
) -> Result<RaidAllocation, AllocError> {
    assert!(req.images > 0 && req.data_images <= req.images);
    let pvs: Vec<PvFree> = usable(vg, candidates)?
        .into_iter()
        .map(|(key, areas)| {
            let mut p = PvFree {
                key,
                areas: Vec::new(),
            };
            for a in areas {
                p.insert(a);
            }
            p
        })
        .collect();
    let mut owners: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (s, list) in req.existing.iter().enumerate() {
        for key in list {
            if let Some(pv) = pvs.iter().position(|p| &p.key == key) {
                owners.entry(pv).or_default().insert(s);
            }
        }
    }
    let mut st = State {
        req,
        pvs,
        owners,
        alloced: vec![Vec::new(); req.images],
        result: RaidAllocation {
            meta: vec![None; req.images],
            data: vec![Vec::new(); req.images],
        },
        done: 0,
    };
    if st.finished() {
        return Ok(st.result);
    }
    let per_image = req.extents_per_image + req.meta_extents;
    let available = st.free_total();
    if !req.approx && per_image * req.images as u64 > available {
        return Err(AllocError::NoSpace {
            needed: per_image * req.images as u64,
            available,
        });
    }
    // Every image needs a PV of its own with free space.
    let usable_pvs = (0..st.pvs.len())
        .filter(|&pv| !st.pvs[pv].areas.is_empty())
        .filter(|&pv| (0..req.images).any(|s| st.allowed(pv, s)))
        .count();
    if usable_pvs < req.images {
        return Err(AllocError::NotEnoughPvs {
            areas: req.images,
            per_area: per_image,
            pvs: usable_pvs,
        });
    }

    let extending = req.existing.iter().any(|e| !e.is_empty());
    let positional_ok = extending && req.previous_end.len() == req.images;
    let index_of = |keys: &[String], st: &State| -> Vec<usize> {
        keys.iter()
            .filter_map(|k| st.pvs.iter().position(|p| &p.key == k))
            .collect()
    };
    // Extension: the PV of each image's first data segment (what lvm2's
    // maximise_cling compares with) and the PVs where images end.
    let cling_lists: Vec<Vec<usize>> = req.cling_to.iter().map(|l| index_of(l, &st)).collect();
    let mut lv_pvs: BTreeSet<usize> = cling_lists.iter().flatten().copied().collect();
    let ends: Vec<String> = req
        .previous_end
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    lv_pvs.extend(index_of(&ends, &st));
    let can_split = req.policy != Policy::Contiguous;
    let mut passes = vec![Policy::Contiguous];
    match req.policy {
        Policy::Contiguous => {}
        Policy::Cling | Policy::ClingByTags => passes.push(Policy::Cling),
        Policy::Normal | Policy::Anywhere => {
            passes.push(Policy::Cling);
            passes.push(Policy::Normal);
        }
    }
    for pass in passes {
        if st.finished() {
            break;
        }
        match pass {
            Policy::Contiguous => {
                let picks = if positional_ok {
                    st.contiguous_round()
                } else {
                    st.plain_round(can_split)
                };
                if let Some(p) = picks {
                    st.apply(p);
                }
            }
            Policy::Cling => {
                // Positional first; for an extension lvm2 then drops the
                // positions and takes any area on the LV's PVs.
                let mut positional = true;
                while !st.finished() {
                    let picks = if extending {
                        if positional {
                            st.positional_round(&cling_lists, req.images)
                        } else {
                            st.restricted_round(&cling_lists.iter().flatten().copied().collect())
                        }
                    } else {
                        let lists = st.alloced.clone();
                        st.positional_round(&lists, req.data_images)
                    };
                    match picks {
                        Some(p) => st.apply(p),
                        None if extending && positional => positional = false,
                        None => break,
                    }
                }
            }
            _ => {
                // lvm2's normal policy: first stay on PVs already used (by
                // this allocation, or the LV being extended), else anywhere;
                // back to the first after each success.
                let mut cling = true;
                while !st.finished() {
                    let picks = if cling {
                        let mut only = lv_pvs.clone();
                        only.extend(st.alloced.iter().flatten().copied());
                        st.restricted_round(&only)
                    } else {
                        st.plain_round(true)
                    };
                    match picks {
                        Some(p) => {
                            st.apply(p);
                            cling = true;
                        }
                        None if cling => cling = false,
                        None => break,
                    }
                }
            }
        }
    }
    if !st.finished() {
        if req.approx && st.result.extents_per_image() > 0 {
            return Ok(st.result);
        }
        let missing = st.need();
        return Err(if req.policy == Policy::Contiguous {
            AllocError::NotContiguous {
                areas: req.images,
                per_area: missing,
            }
        } else {
            AllocError::Insufficient {
                more: missing * req.images as u64,
                images: req.images,
            }
        });
    }
    Ok(st.result)
}

#[cfg(test)]
#[path = "raid_tests.rs"]
mod tests;
