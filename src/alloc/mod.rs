//! Extent allocation: where the extents of a new or extended LV go.
//!
//! Pure functions over the VG: the caller turns the result into segments.
//! This follows lvm2's allocator where it matters to an administrator:
//!
//! * candidate PVs are taken in VG metadata order (or the order of the PVs
//!   named on the command line), free areas in PE order;
//! * parallel areas (stripes, RAID images) go on distinct PVs unless the
//!   policy is `anywhere`;
//! * areas big enough for the whole request rank equal, so the first such
//!   PV wins; otherwise the biggest area is used first and the rest is
//!   allocated in further segments (lvm2 sorts by "usable length");
//! * `contiguous` needs each parallel area in one piece adjacent to the
//!   previous segment; `cling` keeps new areas on the PVs the LV already
//!   uses; `normal` tries contiguous extension first, as lvm2 does.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::model::{Segment, Vg};

pub mod raid;
pub use raid::{allocate_raid, RaidAllocation, RaidRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    #[default]
    Normal,
    Anywhere,
    Contiguous,
    Cling,
    ClingByTags,
}

impl Policy {
    pub fn from_name(s: &str) -> Option<Policy> {
        Some(match s {
            "normal" => Policy::Normal,
            "anywhere" => Policy::Anywhere,
            "contiguous" => Policy::Contiguous,
            "cling" => Policy::Cling,
            "cling_by_tags" => Policy::ClingByTags,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::Normal => "normal",
            Policy::Anywhere => "anywhere",
            Policy::Contiguous => "contiguous",
            Policy::Cling => "cling",
            Policy::ClingByTags => "cling_by_tags",
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AllocError {
    #[error("Insufficient free space: {needed} extents needed, but only {available} available")]
    NoSpace { needed: u64, available: u64 },
    #[error(
        "Insufficient suitable allocatable extents: {areas} parallel areas of {per_area} extents \
         need {areas} distinct PVs with free space, only {pvs} have any"
    )]
    NotEnoughPvs {
        areas: usize,
        per_area: u64,
        pvs: usize,
    },
    #[error(
        "Insufficient suitable contiguous allocatable extents: {per_area} contiguous extents \
         needed on each of {areas} PVs"
    )]
    NotContiguous { areas: usize, per_area: u64 },
    #[error(
        "Insufficient suitable allocatable extents: {more} more required \
         ({images} parallel areas on distinct PVs)"
    )]
    Insufficient { more: u64, images: usize },
    #[error("Physical volume {0} is not in the volume group")]
    UnknownPv(String),
    #[error("PE range {first}-{last} is beyond the end of {pv} ({pe_count} extents)")]
    RangeBeyondPv {
        pv: String,
        first: u64,
        last: u64,
        pe_count: u64,
    },
}

/// A free run of extents on one PV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FreeArea {
    pub start: u64,
    pub len: u64,
}

/// One allocated run: `len` extents from `pe` on PV `pv` (its metadata key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub pv: String,
    pub pe: u64,
    pub len: u64,
}

/// A candidate PV and the PE ranges of it the command may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pv: String,
    /// Inclusive PE ranges; empty = the whole PV.
    pub ranges: Vec<(u64, u64)>,
}

/// What to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Number of parallel areas (stripes, or images of a RAID LV).
    pub areas: usize,
    /// Extents each area gets in total.
    pub extents_per_area: u64,
    pub policy: Policy,
    /// For an extension: the PV and next PE each area would continue at
    /// (the end of the LV's last segment), for contiguous/cling.
    pub previous: Vec<Option<(String, u64)>>,
}

/// Length of each area of a striped segment (extent_count / stripes).
pub fn area_len(seg: &Segment) -> u64 {
    let n = seg.areas.len().max(1) as u64;
    seg.extent_count / n
}

/// Free areas the allocator may use on every PV (keyed by PV key), in PE
/// order: the model's free extents of allocatable PVs that are present.
pub fn free_areas(vg: &Vg) -> BTreeMap<String, Vec<FreeArea>> {
    vg.free_extents()
        .into_iter()
        .map(|(key, ranges)| {
            let usable = vg
                .pv_by_key(&key)
                .is_some_and(|p| p.is_allocatable() && !p.is_missing());
            let areas = if usable {
                ranges
                    .into_iter()
                    .map(|r| FreeArea {
                        start: r.start,
                        len: r.end - r.start,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            (key, areas)
        })
        .collect()
}

/// Total free extents of the VG.
pub fn vg_free_extents(vg: &Vg) -> u64 {
    free_areas(vg).values().flatten().map(|a| a.len).sum()
}

/// Restrict a PV's free areas to the given inclusive PE ranges.
fn clip(free: &[FreeArea], ranges: &[(u64, u64)]) -> Vec<FreeArea> {
    if ranges.is_empty() {
        return free.to_vec();
    }
    let mut out = Vec::new();
    for f in free {
        for &(a, b) in ranges {
            let s = f.start.max(a);
            let e = (f.start + f.len).min(b + 1);
            if e > s {
                out.push(FreeArea {
                    start: s,
                    len: e - s,
                });
            }
        }
    }
    out.sort();
    // Overlapping ranges given twice must not be allocated twice.
    let mut merged: Vec<FreeArea> = Vec::new();
    for a in out {
        match merged.last_mut() {
            Some(m) if m.start + m.len >= a.start => {
                let end = (m.start + m.len).max(a.start + a.len);
                m.len = end - m.start;
            }
            _ => merged.push(a),
        }
    }
    merged
}

/// The free areas the request may use, per candidate PV, in candidate order.
pub(crate) fn usable(
    vg: &Vg,
    candidates: Option<&[Candidate]>,
) -> Result<Vec<(String, Vec<FreeArea>)>, AllocError> {
    let free = free_areas(vg);
    match candidates {
        None => Ok(vg
            .pvs
            .iter()
            .map(|p| (p.key.clone(), free[&p.key].clone()))
            .collect()),
        Some(cands) => {
            // The same PV named twice (with different ranges) is one candidate.
            // (PV key, ranges, whole PV named)
            type Named = (String, Vec<(u64, u64)>, bool);
            let mut out: Vec<Named> = Vec::new();
            for c in cands {
                let pv = vg
                    .pvs
                    .iter()
                    .find(|p| p.key == c.pv)
                    .ok_or_else(|| AllocError::UnknownPv(c.pv.clone()))?;
                for &(a, b) in &c.ranges {
                    if b >= pv.pe_count {
                        return Err(AllocError::RangeBeyondPv {
                            pv: c.pv.clone(),
                            first: a,
                            last: b,
                            pe_count: pv.pe_count,
                        });
                    }
                }
                match out.iter_mut().find(|(k, _, _)| *k == c.pv) {
                    Some((_, ranges, whole)) => {
                        *whole |= c.ranges.is_empty();
                        ranges.extend(&c.ranges);
                    }
                    None => out.push((c.pv.clone(), c.ranges.clone(), c.ranges.is_empty())),
                }
            }
            Ok(out
                .into_iter()
                .map(|(k, ranges, whole)| {
                    let f = &free[&k];
                    let areas = if whole { f.clone() } else { clip(f, &ranges) };
                    (k, areas)
                })
                .collect())
        }
    }
}

/// Take `len` extents at `start` out of a PV's free list.
fn take(list: &mut Vec<FreeArea>, start: u64, len: u64) {
    let i = list
        .iter()
        .position(|a| a.start <= start && start + len <= a.start + a.len)
        .expect("allocating from a free area");
    let a = list.remove(i);
    if start + len < a.start + a.len {
        list.insert(
            i,
            FreeArea {
                start: start + len,
                len: a.start + a.len - start - len,
            },
        );
    }
    if start > a.start {
        list.insert(
            i,
            FreeArea {
                start: a.start,
                len: start - a.start,
            },
        );
    }
}

/// Allocate `req`. The result has one list of chunks per parallel area;
/// chunk `i` of every area has the same length, so each index is one
/// segment. Nothing is changed on failure (the VG is only read).
pub fn allocate(
    vg: &Vg,
    req: &Request,
    candidates: Option<&[Candidate]>,
) -> Result<Vec<Vec<Chunk>>, AllocError> {
    let mut pvs = usable(vg, candidates)?;
    let total_needed = req.extents_per_area * req.areas as u64;
    let available: u64 = pvs.iter().flat_map(|(_, f)| f).map(|a| a.len).sum();
    if total_needed > available {
        return Err(AllocError::NoSpace {
            needed: total_needed,
            available,
        });
    }
    let distinct = req.policy != Policy::Anywhere;
    let mut result: Vec<Vec<Chunk>> = vec![Vec::new(); req.areas];
    let mut remaining = req.extents_per_area;
    let mut prev = req.previous.clone();
    prev.resize(req.areas, None);

    while remaining > 0 {
        // Contiguous extension: every area continues right after its
        // previous chunk, when that space is free.
        let contiguous: Option<Vec<(usize, u64)>> = prev
            .iter()
            .map(|p| {
                let (pv, next) = p.as_ref()?;
                let pi = pvs.iter().position(|(k, _)| k == pv)?;
                let a = pvs[pi].1.iter().find(|a| a.start == *next)?;
                Some((pi, a.len))
            })
            .collect();
        if let Some(cont) = contiguous.filter(|c| !c.is_empty()) {
            let len = cont.iter().map(|&(_, l)| l).min().unwrap().min(remaining);
            let mut chunks = Vec::new();
            for (i, &(pi, _)) in cont.iter().enumerate() {
                let next = prev[i].as_ref().unwrap().1;
                chunks.push((i, pi, next));
            }
            for (i, pi, start) in chunks {
                take(&mut pvs[pi].1, start, len);
                let key = pvs[pi].0.clone();
                result[i].push(Chunk {
                    pv: key.clone(),
                    pe: start,
                    len,
                });
                prev[i] = Some((key, start + len));
            }
            remaining -= len;
            continue;
        }
        if req.policy == Policy::Contiguous && prev.iter().any(|p| p.is_some()) {
            return Err(AllocError::NotContiguous {
                areas: req.areas,
                per_area: remaining,
            });
        }

        // One candidate area per PV: its best free area for this round.
        // "Usable length" caps at what is still needed, so every area that
        // can hold the rest ranks equal and PV order decides (lvm2).
        let cling_pvs: BTreeSet<&String> = prev.iter().flatten().map(|(k, _)| k).collect();
        let mut cands: Vec<(usize, FreeArea)> = Vec::new();
        for (pi, (key, free)) in pvs.iter().enumerate() {
            if matches!(req.policy, Policy::Cling | Policy::ClingByTags)
                && !cling_pvs.is_empty()
                && !cling_pvs.contains(key)
            {
                continue;
            }
            let mut areas: Vec<FreeArea> = free.clone();
            areas.sort_by_key(|a| std::cmp::Reverse(a.len.min(remaining)));
            if distinct {
                if let Some(a) = areas.first() {
                    cands.push((pi, *a));
                }
            } else {
                // `anywhere` may put several parallel areas on one PV, even
                // in one free run: offer the run in pieces of what is needed.
                for a in areas {
                    let mut start = a.start;
                    let end = a.start + a.len;
                    while start < end {
                        let len = remaining.min(end - start);
                        cands.push((pi, FreeArea { start, len }));
                        start += len;
                    }
                }
            }
        }
        if req.policy == Policy::Contiguous {
            cands.retain(|(_, a)| a.len >= remaining);
        }
        cands.sort_by_key(|(_, a)| std::cmp::Reverse(a.len.min(remaining)));
        if cands.len() < req.areas {
            if req.policy == Policy::Contiguous {
                return Err(AllocError::NotContiguous {
                    areas: req.areas,
                    per_area: remaining,
                });
            }
            let pvs_with_space = pvs.iter().filter(|(_, f)| !f.is_empty()).count();
            return Err(if pvs_with_space < req.areas {
                AllocError::NotEnoughPvs {
                    areas: req.areas,
                    per_area: req.extents_per_area,
                    pvs: pvs_with_space,
                }
            } else {
                AllocError::NoSpace {
                    needed: remaining * req.areas as u64,
                    available: cands.iter().map(|(_, a)| a.len).sum(),
                }
            });
        }
        let chosen: Vec<(usize, FreeArea)> = cands[..req.areas].to_vec();
        let len = chosen
            .iter()
            .map(|(_, a)| a.len)
            .min()
            .unwrap()
            .min(remaining);
        // Areas keep the PV order they were found in (lvm2 fills stripes in
        // PV order among equally good areas).
        let mut chosen = chosen;
        chosen.sort_by_key(|&(pi, a)| (pi, a.start));
        for (i, (pi, a)) in chosen.into_iter().enumerate() {
            take(&mut pvs[pi].1, a.start, len);
            let key = pvs[pi].0.clone();
            result[i].push(Chunk {
                pv: key.clone(),
                pe: a.start,
                len,
            });
            prev[i] = Some((key, a.start + len));
        }
        remaining -= len;
    }
    Ok(result)
}

#[cfg(test)]
mod tests;
