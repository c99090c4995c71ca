//! Structural checks of a VG: what lvm2 refuses to read or to write
//! (`import_vsn1.c`, `vg_validate`, `check_lv_segments`), plus the
//! invariants the rest of this project relies on. Every problem is
//! reported, each naming the object (`vg/lv/segment2`) and the field.

use std::collections::{HashMap, HashSet};

use super::flags::{self, LV_FLAGS, PV_FLAGS, VG_FLAGS};
use super::{Area, Lv, RaidType, SegType, Segment, Vg};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ValidationError {
    /// The object: `vg`, `vg/pv0`, `vg/lv`, `vg/lv/segment1`.
    pub at: String,
    pub message: String,
}

/// `Ok` when `vg` is structurally sound, otherwise every error found.
pub fn validate(vg: &Vg) -> Result<(), Vec<ValidationError>> {
    let errors = errors(vg);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Every structural error of `vg` (empty when it is fine).
pub fn errors(vg: &Vg) -> Vec<ValidationError> {
    let mut v = Validator {
        vg,
        errors: Vec::new(),
    };
    v.vg();
    v.pvs();
    v.lvs();
    v.extents();
    v.errors
}

struct Validator<'a> {
    vg: &'a Vg,
    errors: Vec<ValidationError>,
}

/// lvm2's name alphabet for VGs and LVs (`_validate_name`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name != "."
        && name != ".."
        && name.len() <= 127
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'_' | b'.' | b'-'))
}

/// lvm2's tag alphabet (`validate_tag`).
fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 1024
        && !tag.starts_with('-')
        && tag.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'_' | b'+' | b'.' | b'-' | b'/' | b'=' | b'!' | b':' | b'&' | b'#'
                )
        })
}

impl Validator<'_> {
    fn err(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ValidationError {
            at: at.into(),
            message: message.into(),
        });
    }

    fn tags(&mut self, at: &str, tags: &[String]) {
        for t in tags {
            if !valid_tag(t) {
                self.err(at, format!("tag {t:?} has invalid characters"));
            }
        }
    }

    fn id(&mut self, at: &str, id: &str) {
        if let Err(e) = crate::uuid::parse(id) {
            self.err(at, format!("id: {e}"));
        }
    }

    fn status(&mut self, at: &str, table: &[(&str, flags::FlagKind)], status: &[String]) {
        for s in status {
            if !flags::is_status(table, s) {
                self.err(at, format!("unknown status flag {s:?}"));
            }
        }
    }

    fn vg(&mut self) {
        let vg = self.vg;
        let at = vg.name.as_str();
        if !valid_name(&vg.name) {
            self.err(at, format!("invalid VG name {:?}", vg.name));
        }
        self.id(at, &vg.id);
        self.status(at, VG_FLAGS, &vg.status);
        self.tags(at, &vg.tags);
        if vg.extent_size == 0 {
            self.err(at, "extent_size is 0");
        }
        let visible = vg.lvs.iter().filter(|l| l.is_visible()).count() as u64;
        if vg.max_lv != 0 && visible > vg.max_lv {
            self.err(at, format!("{visible} LVs exceed max_lv {}", vg.max_lv));
        }
        if vg.max_pv != 0 && vg.pvs.len() as u64 > vg.max_pv {
            self.err(
                at,
                format!("{} PVs exceed max_pv {}", vg.pvs.len(), vg.max_pv),
            );
        }
        if vg.pvs.is_empty() {
            self.err(at, "no physical volumes");
        }
    }

    fn pvs(&mut self) {
        let vg = self.vg;
        let mut keys = HashSet::new();
        let mut ids: HashMap<String, &str> = HashMap::new();
        for pv in &vg.pvs {
            let at = format!("{}/{}", vg.name, pv.key);
            if !keys.insert(pv.key.as_str()) {
                self.err(&at, "duplicate PV key");
            }
            self.id(&at, &pv.id);
            let raw: String = pv.id.chars().filter(|c| *c != '-').collect();
            if let Some(other) = ids.insert(raw, &pv.key) {
                self.err(&at, format!("duplicate PV id {} (also {other})", pv.id));
            }
            self.status(&at, PV_FLAGS, &pv.status);
            self.tags(&at, &pv.tags);
            let end = vg
                .extent_size
                .checked_mul(pv.pe_count)
                .and_then(|s| s.checked_add(pv.pe_start));
            match end {
                None => self.err(&at, "pe_start + pe_count * extent_size overflows"),
                Some(end) if pv.dev_size != 0 && end > pv.dev_size => self.err(
                    &at,
                    format!(
                        "extents end at sector {end}, beyond dev_size {}",
                        pv.dev_size
                    ),
                ),
                _ => {}
            }
            let ba = (pv.ba_start.unwrap_or(0), pv.ba_size.unwrap_or(0));
            if (ba.0 == 0) != (ba.1 == 0) {
                self.err(
                    &at,
                    "incomplete bootloader area (ba_start and ba_size go together)",
                );
            }
        }
    }

    fn lvs(&mut self) {
        let vg = self.vg;
        let mut names = HashSet::new();
        let mut ids: HashMap<String, &str> = HashMap::new();
        // Which segment uses each sub-LV: a sub-LV belongs to one parent.
        let mut users: HashMap<&str, String> = HashMap::new();
        for lv in &vg.lvs {
            let at = format!("{}/{}", vg.name, lv.name);
            if !valid_name(&lv.name) {
                self.err(&at, format!("invalid LV name {:?}", lv.name));
            }
            if !names.insert(lv.name.as_str()) {
                self.err(&at, "duplicate LV name");
            }
            self.id(&at, &lv.id);
            let raw: String = lv.id.chars().filter(|c| *c != '-').collect();
            if let Some(other) = ids.insert(raw, &lv.name) {
                self.err(&at, format!("duplicate LV id {} (also {other})", lv.id));
            }
            self.status(&at, LV_FLAGS, &lv.status);
            self.tags(&at, &lv.tags);
            if lv.segments.is_empty() {
                self.err(&at, "no segments");
            }
            // lvm2 reads the two together and refuses one without the other.
            match (lv.creation_time, &lv.creation_host) {
                (Some(_), None) => self.err(&at, "creation_time without creation_host"),
                (None, Some(_)) => self.err(&at, "creation_host without creation_time"),
                _ => {}
            }
            let mut next = 0;
            for (i, seg) in lv.segments.iter().enumerate() {
                let sat = format!("{at}/segment{}", i + 1);
                if seg.start_extent != next {
                    self.err(
                        &sat,
                        format!(
                            "start_extent is {} but the previous segments end at {next} \
                             (segments must be contiguous)",
                            seg.start_extent
                        ),
                    );
                }
                next = seg.start_extent.saturating_add(seg.extent_count);
                if seg.extent_count == 0 {
                    self.err(&sat, "extent_count is 0");
                }
                self.tags(&sat, &seg.tags);
                for name in seg.sub_lv_names() {
                    if name == lv.name {
                        self.err(&sat, format!("refers to its own LV {name}"));
                    } else if let Some(prev) = users.insert(name, sat.clone()) {
                        self.err(&sat, format!("sub-LV {name} is also used by {prev}"));
                    }
                }
                match &seg.segtype {
                    SegType::Striped => self.striped(&sat, seg),
                    SegType::Raid(t) => self.raid(&sat, *t, seg),
                    SegType::Unknown(_) => {}
                }
            }
        }
    }

    fn lv_area(&mut self, at: &str, what: &str, name: &str, le: u64, len: u64) {
        match self.vg.lv(name) {
            None => self.err(
                at,
                format!("{what} refers to LV {name}, which does not exist"),
            ),
            Some(sub) => {
                let size = sub.size_extents();
                if le.saturating_add(len) > size {
                    self.err(
                        at,
                        format!(
                            "{what} uses extents {le}..{} of LV {name}, which has {size}",
                            le.saturating_add(len)
                        ),
                    );
                }
            }
        }
    }

    fn striped(&mut self, at: &str, seg: &Segment) {
        let n = seg.areas.len() as u64;
        if n == 0 {
            self.err(at, "striped segment without stripes");
            return;
        }
        if n > 1 && seg.stripe_size.unwrap_or(0) == 0 {
            self.err(at, format!("{n} stripes but no stripe_size"));
        }
        if !seg.extent_count.is_multiple_of(n) {
            self.err(
                at,
                format!(
                    "extent_count {} is not a multiple of the {n} stripes",
                    seg.extent_count
                ),
            );
        }
        let len = seg.area_len();
        for (i, a) in seg.areas.iter().enumerate() {
            let what = format!("stripe {i}");
            match a {
                Area::Pv { pv, pe } => match self.vg.pv_by_key(pv) {
                    None => self.err(at, format!("{what} refers to unknown PV {pv}")),
                    Some(p) => {
                        if pe.saturating_add(len) > p.pe_count {
                            self.err(
                                at,
                                format!(
                                    "{what} uses extents {pe}..{} of {pv}, which has pe_count {}",
                                    pe.saturating_add(len),
                                    p.pe_count
                                ),
                            );
                        }
                    }
                },
                Area::Lv { lv, le } => self.lv_area(at, &what, lv, *le, len),
            }
        }
    }

    fn raid(&mut self, at: &str, t: RaidType, seg: &Segment) {
        let Some(r) = &seg.raid else {
            self.err(at, format!("{} segment without RAID fields", t.name()));
            return;
        };
        let n = r.device_count;
        if r.images.len() as u64 != n || r.meta.len() as u64 != n {
            self.err(
                at,
                format!(
                    "{} is {n} but there are {} images and {} metadata slots",
                    t.count_key(),
                    r.images.len(),
                    r.meta.len()
                ),
            );
        }
        if n == 0 || n <= t.parity_devs() || (t.is_raid10() && n < 2) {
            self.err(at, format!("{} cannot have {n} devices", t.name()));
        }
        if n > 253 {
            self.err(at, format!("{n} devices exceed the kernel's limit of 253"));
        }
        if let (Some(min), Some(max)) = (r.min_recovery_rate, r.max_recovery_rate) {
            if max != 0 && min > max {
                self.err(at, "min_recovery_rate is above max_recovery_rate");
            }
        }
        let stripes = t.data_stripes(n).max(1);
        if t.is_striped_layout() && !t.is_raid10() && !seg.extent_count.is_multiple_of(stripes) {
            self.err(
                at,
                format!(
                    "extent_count {} is not a multiple of the {stripes} data stripes",
                    seg.extent_count
                ),
            );
        }
        // Extents each image must provide for the segment's data.
        let copies = r.data_copies.unwrap_or(t.default_data_copies(n));
        let per_image = match t {
            RaidType::Raid1 => seg.extent_count,
            RaidType::Raid10 => seg.extent_count.saturating_mul(copies).div_ceil(n.max(1)),
            _ => seg.extent_count.div_ceil(stripes),
        };
        for (i, image) in r.images.iter().enumerate() {
            match image {
                None => self.err(at, format!("image slot {i} is unassigned")),
                Some(name) => {
                    if name.contains("_rmeta_") {
                        // lvm2 would read it back as a metadata LV.
                        self.err(at, format!("image {name} has \"_rmeta_\" in its name"));
                    }
                    match self.vg.lv(name) {
                        None => self.err(
                            at,
                            format!("image {i} refers to LV {name}, which does not exist"),
                        ),
                        Some(lv) => self.image_size(at, lv, per_image),
                    }
                }
            }
        }
        for (i, meta) in r.meta.iter().enumerate() {
            let Some(name) = meta else { continue };
            if t == RaidType::Raid0 {
                self.err(
                    at,
                    format!("raid0 has no metadata LVs, slot {i} has {name}"),
                );
            }
            if !name.contains("_rmeta_") {
                // lvm2 pairs the list by this substring.
                self.err(
                    at,
                    format!("metadata LV {name} lacks \"_rmeta_\" in its name"),
                );
            }
            if self.vg.lv(name).is_none() {
                self.err(
                    at,
                    format!("metadata slot {i} refers to LV {name}, which does not exist"),
                );
            }
        }
    }

    fn image_size(&mut self, at: &str, lv: &Lv, needed: u64) {
        let size = lv.size_extents();
        if size < needed {
            self.err(
                at,
                format!(
                    "image {} has {size} extents, the segment needs {needed}",
                    lv.name
                ),
            );
        }
    }

    /// No PV extent may belong to two areas.
    fn extents(&mut self) {
        let vg = self.vg;
        for (pv, runs) in vg.used_extents() {
            if vg.pv_by_key(&pv).is_none() {
                continue; // reported with the segment
            }
            let mut last: Option<&super::ExtentUse> = None;
            for run in &runs {
                if let Some(prev) = last {
                    if run.pe < prev.pe + prev.len {
                        self.err(
                            format!("{}/{pv}", vg.name),
                            format!(
                                "extents {}..{} are used by both {}/segment{} and {}/segment{}",
                                run.pe,
                                (prev.pe + prev.len).min(run.pe + run.len),
                                prev.lv,
                                prev.segment + 1,
                                run.lv,
                                run.segment + 1
                            ),
                        );
                    }
                }
                if last.is_none_or(|p| run.pe + run.len > p.pe + p.len) {
                    last = Some(run);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_vg_text, RaidSeg};

    /// lvm2's own metadata: linear, striped, raid0, raid0_meta and raid1.
    const FIXTURE: &str = include_str!(
        "../../tests/fixtures/lvm2/lvtypes/07-lvcreate-raid1-m1/vgcfgbackup.vgraid.vg"
    );

    fn vg() -> Vg {
        parse_vg_text(FIXTURE).unwrap().0
    }

    fn messages(vg: &Vg) -> Vec<String> {
        errors(vg).iter().map(|e| e.to_string()).collect()
    }

    fn has(vg: &Vg, needle: &str) {
        let m = messages(vg);
        assert!(
            m.iter().any(|e| e.contains(needle)),
            "{needle:?} not in {m:#?}"
        );
    }

    #[test]
    fn lvm2_metadata_is_valid() {
        assert_eq!(messages(&vg()), Vec::<String>::new());
        assert!(validate(&vg()).is_ok());
    }

    #[test]
    fn extent_problems() {
        let mut v = vg();
        // lin uses pv0 0..2; put striped's first stripe on top of it.
        v.lv_mut("striped").unwrap().segments[0].areas[0] = Area::Pv {
            pv: "pv0".into(),
            pe: 1,
        };
        has(
            &v,
            "vgraid/pv0: extents 1..2 are used by both lin/segment1 and striped/segment1",
        );
        let mut v = vg();
        v.lv_mut("lin").unwrap().segments[0].areas[0] = Area::Pv {
            pv: "pv0".into(),
            pe: 30,
        };
        has(
            &v,
            "vgraid/lin/segment1: stripe 0 uses extents 30..32 of pv0, which has pe_count 31",
        );
        let mut v = vg();
        v.lv_mut("lin").unwrap().segments[0].areas[0] = Area::Pv {
            pv: "pv9".into(),
            pe: 0,
        };
        has(&v, "vgraid/lin/segment1: stripe 0 refers to unknown PV pv9");
        let mut v = vg();
        v.lv_mut("lin").unwrap().segments[0].start_extent = 1;
        has(
            &v,
            "vgraid/lin/segment1: start_extent is 1 but the previous segments end at 0",
        );
        let mut v = vg();
        v.extent_size = 0;
        has(&v, "vgraid: extent_size is 0");
        let mut v = vg();
        v.pvs[0].dev_size = 1000;
        has(&v, "vgraid/pv0: extents end at sector");
    }

    #[test]
    fn identity_problems() {
        let mut v = vg();
        let pv = v.pvs[1].clone();
        v.pvs.push(pv);
        has(&v, "vgraid/pv1: duplicate PV key");
        has(&v, "duplicate PV id");
        let mut v = vg();
        v.lvs[1].name = "lin".into();
        has(&v, "vgraid/lin: duplicate LV name");
        let mut v = vg();
        v.lvs[1].id = v.lvs[0].id.clone();
        has(&v, "duplicate LV id");
        let mut v = vg();
        v.lvs[0].name = "bad/name".into();
        has(&v, "invalid LV name");
        let mut v = vg();
        v.lvs[0].status.push("BOGUS".into());
        has(&v, "vgraid/lin: unknown status flag \"BOGUS\"");
        let mut v = vg();
        v.tags.push("no spaces".into());
        has(&v, "tag \"no spaces\" has invalid characters");
        let mut v = vg();
        v.pvs[0].id = "short".into();
        has(&v, "vgraid/pv0: id: UUID \"short\"");
    }

    #[test]
    fn raid_problems() {
        let mut v = vg();
        v.lv_mut("raid1m1").unwrap().segments[0]
            .raid
            .as_mut()
            .unwrap()
            .device_count = 3;
        has(
            &v,
            "vgraid/raid1m1/segment1: device_count is 3 but there are 2 images",
        );
        let mut v = vg();
        v.lvs.retain(|l| l.name != "raid1m1_rimage_1");
        has(
            &v,
            "image 1 refers to LV raid1m1_rimage_1, which does not exist",
        );
        let mut v = vg();
        let r: &mut RaidSeg = v.lv_mut("raid0m").unwrap().segments[0]
            .raid
            .as_mut()
            .unwrap();
        r.images[1] = Some("raid0m_rimage_0".into());
        has(
            &v,
            "sub-LV raid0m_rimage_0 is also used by vgraid/raid0m/segment1",
        );
        let mut v = vg();
        v.lv_mut("raid0").unwrap().segments[0]
            .raid
            .as_mut()
            .unwrap()
            .meta[0] = Some("raid0m_rmeta_0".into());
        has(&v, "raid0 has no metadata LVs");
        let mut v = vg();
        v.lv_mut("raid1m1").unwrap().segments[0].extent_count = 3;
        has(
            &v,
            "image raid1m1_rimage_0 has 2 extents, the segment needs 3",
        );
    }
}
