//! Which physical extents are allocated to what.
//!
//! lvm2 rebuilds this map (its "PV segments") every time it reads a VG; so
//! do we, from the segments' areas. Segment types kept verbatim count too
//! when their area lists name PVs (pvmove's `mirrors`), so that free space
//! is never overestimated.

use std::collections::BTreeMap;
use std::ops::Range;

use super::text::AREA_KEYS;
use super::{Area, Node, SegType, Value, Vg};

/// One run of physical extents used by one area of an LV segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtentUse {
    /// PV key.
    pub pv: String,
    /// First physical extent.
    pub pe: u64,
    /// Number of extents.
    pub len: u64,
    /// The LV, and the index of its segment and of the area in the segment.
    pub lv: String,
    pub segment: usize,
    pub area: usize,
}

impl ExtentUse {
    pub fn range(&self) -> Range<u64> {
        self.pe..self.pe.saturating_add(self.len)
    }
}

impl Vg {
    /// Every run of PV extents in use, per PV key (PVs with none are
    /// absent), each list sorted by first extent. Runs may overlap when the
    /// metadata is broken; [`Vg::validate`] reports that.
    pub fn used_extents(&self) -> BTreeMap<String, Vec<ExtentUse>> {
        let mut map: BTreeMap<String, Vec<ExtentUse>> = BTreeMap::new();
        for lv in &self.lvs {
            for (si, seg) in lv.segments.iter().enumerate() {
                let mut push = |area: usize, pv: &str, pe: u64, len: u64| {
                    map.entry(pv.to_string()).or_default().push(ExtentUse {
                        pv: pv.to_string(),
                        pe,
                        len,
                        lv: lv.name.clone(),
                        segment: si,
                        area,
                    })
                };
                match &seg.segtype {
                    SegType::Striped => {
                        let len = seg.area_len();
                        for (ai, a) in seg.areas.iter().enumerate() {
                            if let Area::Pv { pv, pe } = a {
                                push(ai, pv, *pe, len);
                            }
                        }
                    }
                    SegType::Raid(_) => {}
                    SegType::Unknown(_) => {
                        for (key, node) in &seg.extra {
                            let Node::Value(Value::Array(items)) = node else {
                                continue;
                            };
                            if !AREA_KEYS.contains(&key.as_str()) {
                                continue;
                            }
                            let pairs: Vec<(&str, u64)> = items
                                .chunks(2)
                                .filter_map(|c| match c {
                                    [Value::Str(n), Value::Int(o)] => Some((n.as_str(), *o as u64)),
                                    _ => None,
                                })
                                .collect();
                            // Mirror legs each hold the whole segment;
                            // stripes share it.
                            let len = if key == "mirrors" || pairs.is_empty() {
                                seg.extent_count
                            } else {
                                seg.extent_count / pairs.len() as u64
                            };
                            for (ai, (name, pe)) in pairs.into_iter().enumerate() {
                                if self.pv_by_key(name).is_some() {
                                    push(ai, name, pe, len);
                                }
                            }
                        }
                    }
                }
            }
        }
        for runs in map.values_mut() {
            runs.sort_by_key(|u| (u.pe, u.len));
        }
        map
    }

    /// The runs in use on one PV, sorted by first extent.
    pub fn used_extents_on(&self, pv_key: &str) -> Vec<ExtentUse> {
        self.used_extents().remove(pv_key).unwrap_or_default()
    }

    /// The free extent ranges of one PV, in order (empty for an unknown
    /// key). Free space is what no area uses, within `0..pe_count`.
    pub fn free_extents_on(&self, pv_key: &str) -> Vec<Range<u64>> {
        let Some(pv) = self.pv_by_key(pv_key) else {
            return Vec::new();
        };
        free_ranges(pv.pe_count, &self.used_extents_on(pv_key))
    }

    /// Free extents on every PV, per PV key (every PV is present).
    pub fn free_extents(&self) -> BTreeMap<String, Vec<Range<u64>>> {
        let used = self.used_extents();
        self.pvs
            .iter()
            .map(|pv| {
                let runs = used.get(&pv.key).map(Vec::as_slice).unwrap_or(&[]);
                (pv.key.clone(), free_ranges(pv.pe_count, runs))
            })
            .collect()
    }

    /// Number of free extents in the VG (lvm2's `vg_free_count`).
    pub fn free_extent_count(&self) -> u64 {
        self.free_extents()
            .values()
            .flatten()
            .map(|r| r.end - r.start)
            .sum()
    }
}

fn free_ranges(pe_count: u64, used: &[ExtentUse]) -> Vec<Range<u64>> {
    let mut free = Vec::new();
    let mut next = 0;
    for u in used {
        let r = u.range();
        if r.start > next {
            free.push(next..r.start.min(pe_count));
        }
        next = next.max(r.end);
        if next >= pe_count {
            break;
        }
    }
    if next < pe_count {
        free.push(next..pe_count);
    }
    free.retain(|r| r.start < r.end);
    free
}

#[cfg(test)]
// Lists of one free range are what these tests expect.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use crate::model::parse_vg_text;

    const FIXTURE: &str = include_str!(
        "../../tests/fixtures/lvm2/lvtypes/07-lvcreate-raid1-m1/vgcfgbackup.vgraid.vg"
    );

    #[test]
    fn extent_map_of_lvm2_metadata() {
        let vg = parse_vg_text(FIXTURE).unwrap().0;
        // pvs.json of that state: pv0 and pv1 hold everything so far.
        assert_eq!(vg.free_extents_on("pv0"), [9..31]);
        assert_eq!(vg.free_extents_on("pv1"), [7..31]);
        assert_eq!(vg.free_extents_on("pv2"), [0..31]);
        assert_eq!(vg.free_extents_on("nope"), []);
        assert_eq!(vg.free_extent_count(), 8 * 31 - 16);
        let pv0 = vg.used_extents_on("pv0");
        assert_eq!(pv0[0].lv, "lin");
        assert_eq!(pv0[0].range(), 0..2);
        assert_eq!((pv0[1].lv.as_str(), pv0[1].area), ("striped", 0));
        let last = pv0.last().unwrap();
        assert_eq!(
            (last.lv.as_str(), last.pe, last.len),
            ("raid1m1_rimage_0", 7, 2)
        );
    }

    #[test]
    fn free_ranges_between_runs() {
        let mut vg = parse_vg_text(FIXTURE).unwrap().0;
        vg.lvs
            .retain(|l| l.name != "striped" && !l.name.starts_with("raid0_"));
        vg.lvs.iter_mut().for_each(|l| {
            if l.name == "raid0" {
                l.segments.clear()
            }
        });
        assert_eq!(vg.free_extents_on("pv0"), [2..4, 9..31]);
    }
}
