//! The attribute strings: `lv_attr` (10 characters), `pv_attr` (3) and
//! `vg_attr` (6), character by character as lvm2 2.03.16 builds them
//! (`lv_attr_dup_with_info_and_seg_status`, `pv_attr_dup`, `vg_attr_dup`).

use super::derive::{SubRole, VgCtx};
use super::LvState;
use crate::model::{Lv, SegType, Segment};

pub(crate) fn has_flag(status: &[String], flags: &[String], name: &str) -> bool {
    status.iter().chain(flags).any(|f| f == name)
}

pub(crate) fn lv_flag(lv: &Lv, name: &str) -> bool {
    has_flag(&lv.status, &lv.flags, name)
}

/// lvm2's `alloc_policy_char`; `cling_by_tags` reads back as `cling`.
pub(crate) fn alloc_policy_char(policy: &str) -> char {
    match policy {
        "contiguous" => 'c',
        "cling" | "cling_by_tags" => 'l',
        "normal" | "next free" => 'n',
        "anywhere" => 'a',
        "inherit" => 'i',
        _ => '-',
    }
}

fn first_seg(lv: &Lv) -> Option<&Segment> {
    lv.segments.first()
}

/// Base name of the first segment's type when it is one this project does
/// not model (thin, cache, mirror, ...).
pub(crate) fn first_unknown(lv: &Lv) -> Option<&str> {
    match first_seg(lv).map(|s| &s.segtype) {
        Some(SegType::Unknown(n)) => Some(n.split('+').next().unwrap_or(n)),
        _ => None,
    }
}

/// The classification predicates lvm2 spells `lv_is_*`.
impl VgCtx<'_> {
    fn role(&self, i: usize) -> Option<SubRole> {
        self.lvs[i].parent.map(|p| p.role)
    }

    fn parent_type(&self, i: usize) -> Option<&str> {
        self.lvs[i]
            .parent
            .and_then(|p| first_unknown(self.lv(p.lv)))
    }

    /// lvm2's `lv_is_visible`: the internal `snapshotN` LV never is, a
    /// snapshot's COW store is as visible as its origin (lvm2 does not
    /// store VISIBLE for it), everything else follows the VISIBLE flag.
    pub fn is_snapshot(&self, i: usize) -> bool {
        first_unknown(self.lv(i)) == Some("snapshot")
    }

    pub fn is_visible(&self, i: usize) -> bool {
        if self.is_snapshot(i) {
            return false;
        }
        if let Some(origin) = self.lvs[i].cow_of {
            if first_unknown(self.lv(origin)) == Some("zero") {
                return true; // a virtual origin (--virtualsize snapshot)
            }
            if self.lvs[i].merging_cow {
                return false;
            }
            return origin != i && lv_flag(self.lv(origin), "VISIBLE");
        }
        lv_flag(self.lv(i), "VISIBLE")
    }

    pub fn is_raid(&self, i: usize) -> bool {
        matches!(
            first_seg(self.lv(i)).map(|s| &s.segtype),
            Some(SegType::Raid(_))
        )
    }

    pub fn is_raid_image(&self, i: usize) -> bool {
        self.role(i) == Some(SubRole::RaidImage)
    }

    pub fn is_raid_meta(&self, i: usize) -> bool {
        self.role(i) == Some(SubRole::RaidMeta)
    }

    pub fn is_raid_type(&self, i: usize) -> bool {
        self.is_raid(i) || self.is_raid_image(i) || self.is_raid_meta(i)
    }

    pub fn is_pvmove(&self, i: usize) -> bool {
        lv_flag(self.lv(i), "PVMOVE")
    }

    pub fn is_mirror(&self, i: usize) -> bool {
        first_unknown(self.lv(i)) == Some("mirror") && !self.is_pvmove(i)
    }

    pub fn is_mirror_image(&self, i: usize) -> bool {
        self.role(i) == Some(SubRole::MirrorImage)
    }

    pub fn is_mirror_log(&self, i: usize) -> bool {
        self.role(i) == Some(SubRole::MirrorLog)
    }

    pub fn is_thin_volume(&self, i: usize) -> bool {
        first_unknown(self.lv(i)) == Some("thin")
    }

    pub fn is_thin_pool(&self, i: usize) -> bool {
        first_unknown(self.lv(i)) == Some("thin-pool")
    }

    fn is_pool_data_of(&self, i: usize, pool_type: &str) -> bool {
        self.role(i) == Some(SubRole::PoolData) && self.parent_type(i) == Some(pool_type)
    }

    pub fn is_pool_metadata(&self, i: usize) -> bool {
        self.role(i) == Some(SubRole::PoolMeta)
    }

    pub fn is_cache(&self, i: usize) -> bool {
        first_unknown(self.lv(i)) == Some("cache")
    }

    pub fn is_writecache(&self, i: usize) -> bool {
        first_unknown(self.lv(i)) == Some("writecache")
    }

    fn is_cache_type(&self, i: usize) -> bool {
        self.is_cache(i)
            || first_unknown(self.lv(i)) == Some("cache-pool")
            || self.is_pool_data_of(i, "cache-pool")
            || lv_flag(self.lv(i), "CACHE_VOL")
    }

    fn is_cache_origin(&self, i: usize) -> bool {
        self.role(i) == Some(SubRole::CacheOrigin)
    }

    pub fn is_origin(&self, i: usize) -> bool {
        self.lvs[i].origin_count > 0
    }

    pub fn is_cow(&self, i: usize) -> bool {
        self.lvs[i].cow_of.is_some()
    }

    fn is_virtual(&self, i: usize) -> bool {
        matches!(first_unknown(self.lv(i)), Some("zero" | "error" | "vdo"))
    }

    pub fn is_active(&self, i: usize) -> bool {
        matches!(self.lvs[i].state, LvState::Active(_))
    }

    /// `lv_raid_healthy`: not active counts as healthy; otherwise the
    /// array's health characters (`D` = dead) decide. Without a status from
    /// the kernel an active LV is taken as healthy.
    fn raid_healthy(&self, i: usize) -> bool {
        if !self.is_active(i) {
            return true;
        }
        if self.is_raid(i) {
            return self.raid_status(i).is_none_or(|s| !s.health.contains('D'));
        }
        match self.lvs[i].parent {
            Some(p) => match self.raid_status(p.lv) {
                Some(s) => s.health.as_bytes().get(p.slot) != Some(&b'D'),
                None => true,
            },
            None => true,
        }
    }

    /// `lv_raid_image_in_sync`: an active image whose array reports it
    /// `A`live. An active array without a kernel status is taken as synced.
    pub fn raid_image_in_sync(&self, i: usize) -> bool {
        if !self.is_active(i) {
            return false;
        }
        match self.lvs[i].parent {
            Some(p) if p.role == SubRole::RaidImage => match &self.lvs[p.lv].state {
                LvState::Active(info) => match &info.raid {
                    Some(s) => s.health.as_bytes().get(p.slot) == Some(&b'A'),
                    None => true,
                },
                _ => false,
            },
            _ => false,
        }
    }

    pub fn raid_status(&self, i: usize) -> Option<&super::RaidStatus> {
        match &self.lvs[i].state {
            LvState::Active(info) => info.raid.as_ref(),
            _ => None,
        }
    }

    /// Thin pool or thin volume whose pool zeroes new blocks.
    fn zeroes(&self, i: usize) -> bool {
        let pool = if self.is_thin_pool(i) {
            Some(i)
        } else if self.is_thin_volume(i) {
            first_seg(self.lv(i))
                .and_then(|s| super::derive::extra_str(s, "thin_pool"))
                .and_then(|p| self.lv_index(p))
        } else {
            None
        };
        pool.and_then(|p| first_seg(self.lv(p)))
            .and_then(|s| super::derive::extra_int(s, "zero_new_blocks"))
            == Some(1)
    }

    /// The 10-character `lv_attr`.
    pub fn lv_attr(&self, i: usize) -> String {
        let lv = self.lv(i);
        let info = &self.lvs[i];
        let not_synced = lv_flag(lv, "NOTSYNCED");
        let mut a = ['-'; 10];

        a[0] = if self.is_pvmove(i) {
            'p'
        } else if lv_flag(lv, "CONVERTING") {
            'c'
        } else if self.is_origin(i) {
            if info.merging_origin {
                'O'
            } else {
                'o'
            }
        } else if self.is_pool_metadata(i) || self.is_raid_meta(i) || lv.name.ends_with("_pmspare")
        {
            'e'
        } else if self.is_cache_type(i) || self.is_writecache(i) {
            'C'
        } else if first_unknown(lv) == Some("integrity") {
            'g'
        } else if self.is_raid(i) {
            if not_synced {
                'R'
            } else {
                'r'
            }
        } else if self.is_mirror(i) {
            if not_synced {
                'M'
            } else {
                'm'
            }
        } else if self.is_thin_volume(i) {
            'V'
        } else if first_unknown(lv) == Some("vdo-pool") {
            'd'
        } else if self.is_pool_data_of(i, "vdo-pool") {
            'D'
        } else if self.is_virtual(i) {
            'v'
        } else if self.is_thin_pool(i) {
            't'
        } else if self.is_pool_data_of(i, "thin-pool") {
            'T'
        } else if self.is_mirror_image(i) {
            // Without a kernel status an active mirror is taken as synced.
            if self.is_active(i) {
                'i'
            } else {
                'I'
            }
        } else if self.is_raid_image(i) {
            // Visible images were split off with --trackchanges: always 'I'.
            if !self.is_visible(i) && self.raid_image_in_sync(i) {
                'i'
            } else {
                'I'
            }
        } else if self.is_mirror_log(i) {
            'l'
        } else if self.is_cow(i) {
            if info.merging_cow {
                'S'
            } else {
                's'
            }
        } else if self.is_cache_origin(i) {
            'o'
        } else {
            '-'
        };

        a[1] = if self.is_pvmove(i) {
            '-'
        } else if lv_flag(lv, "WRITE") {
            'w'
        } else if lv_flag(lv, "READ") {
            'r'
        } else {
            '-'
        };

        a[2] = alloc_policy_char(lv.allocation_policy.as_deref().unwrap_or("inherit"));
        if lv_flag(lv, "LOCKED") {
            a[2] = a[2].to_ascii_uppercase();
        }
        a[3] = if lv_flag(lv, "FIXED_MINOR") { 'm' } else { '-' };

        match &info.state {
            LvState::Unknown => {
                a[4] = 'X';
                a[5] = 'X';
            }
            LvState::Inactive => {}
            LvState::Active(act) => {
                a[4] = if act.suspended { 's' } else { 'a' };
                if a[1] != 'r' && act.read_only {
                    a[1] = 'R';
                }
                a[5] = if act.open_count > 0 { 'o' } else { '-' };
            }
        }

        a[6] = if self.is_thin_pool(i) || self.is_thin_volume(i) {
            't'
        } else if self.is_cache_type(i)
            || self.is_cache_origin(i)
            || self.is_writecache(i)
            || (self.role(i) == Some(SubRole::CacheOrigin))
        {
            'C'
        } else if self.is_raid_type(i) {
            'r'
        } else if self.is_mirror(i)
            || self.is_mirror_image(i)
            || self.is_mirror_log(i)
            || self.is_pvmove(i)
        {
            'm'
        } else if self.is_cow(i) || self.is_origin(i) {
            's'
        } else if self.is_virtual(i) {
            'v'
        } else {
            '-'
        };

        a[7] = if self.zeroes(i) { 'z' } else { '-' };

        a[8] = if info.partial {
            'p'
        } else if self.is_raid_type(i) {
            if info.state == LvState::Unknown {
                'X'
            } else if !self.raid_healthy(i) {
                'r'
            } else if self.is_raid(i) {
                let status = self.raid_status(i);
                if status.is_some_and(|s| s.mismatch_count > 0) {
                    'm'
                } else if status.is_some_and(|s| s.sync_action == "reshape") {
                    's'
                } else if self.sublvs_remove_after_reshape(i) {
                    'R'
                } else {
                    '-'
                }
            } else if lv_flag(lv, "WRITEMOSTLY") {
                'w'
            } else if lv_flag(lv, "REMOVE_AFTER_RESHAPE") {
                'R'
            } else {
                '-'
            }
        } else {
            '-'
        };

        a[9] = if lv_flag(lv, "ACTIVATION_SKIP") {
            'k'
        } else {
            '-'
        };
        a.iter().collect()
    }

    /// Trailing images of a RAID LV marked to be removed after a reshape.
    fn sublvs_remove_after_reshape(&self, i: usize) -> bool {
        let Some(raid) = first_seg(self.lv(i)).and_then(|s| s.raid.as_ref()) else {
            return false;
        };
        raid.images
            .iter()
            .skip(1)
            .flatten()
            .filter_map(|n| self.lv_index(n))
            .any(|c| lv_flag(self.lv(c), "REMOVE_AFTER_RESHAPE"))
    }

    /// The 3-character `pv_attr` of a PV in this VG.
    pub fn pv_attr(&self, p: usize) -> String {
        let pv = &self.view.vg.pvs[p];
        let exported = has_flag(&pv.status, &pv.flags, "EXPORTED") || self.vg_exported();
        let a0 = if has_flag(&pv.status, &pv.flags, "ALLOCATABLE") {
            'a'
        } else {
            'u' // a PV in a VG is always in use
        };
        format!(
            "{}{}{}",
            a0,
            if exported { 'x' } else { '-' },
            if self.pvs[p].missing { 'm' } else { '-' }
        )
    }

    pub fn vg_exported(&self) -> bool {
        let vg = &self.view.vg;
        has_flag(&vg.status, &vg.flags, "EXPORTED")
    }

    pub fn vg_alloc_policy(&self) -> String {
        match crate::model::extra_get(&self.view.vg.extra, "allocation_policy") {
            Some(crate::format::config::Value::Str(s)) => s.clone(),
            _ => "normal".to_string(),
        }
    }

    pub fn vg_lock_type(&self) -> String {
        match crate::model::extra_get(&self.view.vg.extra, "lock_type") {
            Some(crate::format::config::Value::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }

    pub fn vg_clustered(&self) -> bool {
        let vg = &self.view.vg;
        has_flag(&vg.status, &vg.flags, "CLUSTERED")
    }

    pub fn vg_shared(&self) -> bool {
        let vg = &self.view.vg;
        has_flag(&vg.status, &vg.flags, "SHARED")
            || matches!(self.vg_lock_type().as_str(), "sanlock" | "dlm" | "idm")
    }

    /// The 6-character `vg_attr`.
    pub fn vg_attr(&self) -> String {
        let vg = &self.view.vg;
        let f = |n: &str| has_flag(&vg.status, &vg.flags, n);
        let policy = self.vg_alloc_policy();
        let mut p = alloc_policy_char(&policy);
        if policy == "inherit" {
            p = '-'; // a VG cannot inherit; lvm2 treats it as invalid
        }
        format!(
            "{}{}{}{}{}{}",
            if f("WRITE") { 'w' } else { 'r' },
            if f("RESIZEABLE") { 'z' } else { '-' },
            if self.vg_exported() { 'x' } else { '-' },
            if self.missing_pv_count() > 0 {
                'p'
            } else {
                '-'
            },
            p,
            if self.vg_clustered() {
                'c'
            } else if self.vg_shared() {
                's'
            } else {
                '-'
            }
        )
    }
}

/// `pv_attr` of a PV that belongs to no VG: `u` when its header says it is
/// used by a VG we could not read, else `---`.
pub(crate) fn orphan_pv_attr(in_use: bool) -> String {
    if in_use {
        "u--".into()
    } else {
        "---".into()
    }
}
