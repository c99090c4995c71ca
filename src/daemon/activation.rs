//! Auto-activation decisions, pure: which unit to start for a VG, the
//! `systemd-escape` of its name, and the degraded fallback (a VG that stays
//! incomplete for `lvmetad/degraded_activation_timeout` after its first PV
//! appeared is activated degraded when every RAID LV in it can run with
//! the PVs present).
//!
//! The timer task that drives [`Planner`] (sleeping until
//! [`Planner::next_deadline`]) and the StartUnit call are the thin I/O edge;
//! everything here is values in, actions out.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use crate::cache::Event;
use crate::model::{Area, Lv, RaidType, SegType, Vg};

/// Default for lvm.conf `lvmetad/degraded_activation_timeout`, seconds.
pub const DEFAULT_DEGRADED_TIMEOUT: Duration = Duration::from_secs(30);

/// Escape a string as `systemd-escape` (without `--path`) does: `/` → `-`,
/// every byte outside `[A-Za-z0-9:_.]` (and a leading `.`) → `\xNN`.
pub fn systemd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, &b) in s.as_bytes().iter().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i == 0 => out.push_str("\\x2e"),
            b if b.is_ascii_alphanumeric() || b == b':' || b == b'_' || b == b'.' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// The inverse of [`systemd_escape`] (`systemd-escape --unescape`).
pub fn systemd_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' => {
                out.push(b'/');
                i += 1;
            }
            b'\\' => {
                if b.get(i + 1) != Some(&b'x') || i + 4 > b.len() {
                    return None;
                }
                let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `lvm-activate@<escaped vg>.service`.
pub fn activate_unit(vg: &str) -> String {
    format!("lvm-activate@{}.service", systemd_escape(vg))
}

/// `lvm-activate-degraded@<escaped vg>.service`.
pub fn degraded_unit(vg: &str) -> String {
    format!("lvm-activate-degraded@{}.service", systemd_escape(vg))
}

/// Is the image/meta sub-LV `name` fully on present PVs? An LV whose
/// segments are themselves on LVs is followed recursively; an unknown LV
/// name counts as absent.
fn lv_present(vg: &Vg, name: &str, missing_keys: &HashSet<&str>, depth: u32) -> bool {
    let Some(lv) = vg.lvs.iter().find(|l| l.name == name) else {
        return false;
    };
    if depth > 8 {
        return false;
    }
    lv_areas_present(vg, lv, missing_keys, depth)
}

fn lv_areas_present(vg: &Vg, lv: &Lv, missing_keys: &HashSet<&str>, depth: u32) -> bool {
    lv.segments.iter().all(|seg| {
        let areas_ok = seg.areas.iter().all(|a| match a {
            Area::Pv { pv, .. } => !missing_keys.contains(pv.as_str()),
            Area::Lv { lv, .. } => lv_present(vg, lv, missing_keys, depth + 1),
        });
        let raid_ok = seg.raid.as_ref().is_none_or(|r| {
            r.images
                .iter()
                .flatten()
                .all(|i| lv_present(vg, i, missing_keys, depth + 1))
        });
        areas_ok && raid_ok
    })
}

/// Can the RAID segment of type `t` with per-image presence `present` run?
pub fn raid_can_run(t: RaidType, present: &[bool], data_copies: Option<u64>) -> bool {
    let missing = present.iter().filter(|p| !**p).count() as u64;
    if t.is_any_raid0() {
        return missing == 0;
    }
    if t.is_raid1() {
        return missing < present.len() as u64;
    }
    if t.is_raid10() {
        // Images are laid out in mirror groups of `copies` adjacent images
        // (lvm2's raid10 "near" layout): each group needs one survivor.
        let copies = data_copies.unwrap_or(2).max(1) as usize;
        return present.chunks(copies).all(|g| g.iter().any(|p| *p));
    }
    // raid4/5/6: the parity device count is how many may be missing.
    missing <= t.parity_devs()
}

/// Can every RAID LV of `vg` run with the PVs whose *ids* are in
/// `missing_pvids` absent? Non-RAID LVs with an area on a missing PV are
/// not a reason to refuse: `--activationmode degraded` leaves those
/// inactive, as lvm2 does.
pub fn can_run_degraded(vg: &Vg, missing_pvids: &[String]) -> bool {
    let keys: HashSet<&str> = vg
        .pvs
        .iter()
        .filter(|p| missing_pvids.iter().any(|m| same_id(m, &p.id)))
        .map(|p| p.key.as_str())
        .collect();
    vg.lvs.iter().all(|lv| {
        lv.segments
            .iter()
            .all(|seg| match (&seg.segtype, &seg.raid) {
                (SegType::Raid(t), Some(r)) => {
                    let present: Vec<bool> = r
                        .images
                        .iter()
                        .map(|i| i.as_deref().is_some_and(|i| lv_present(vg, i, &keys, 0)))
                        .collect();
                    raid_can_run(*t, &present, r.data_copies)
                }
                _ => true,
            })
    })
}

/// PV ids compared without their dashes (the cache uses the dashed form,
/// metadata may too; be lenient).
fn same_id(a: &str, b: &str) -> bool {
    a.chars()
        .filter(|c| *c != '-')
        .eq(b.chars().filter(|c| *c != '-'))
}

/// What the daemon must do after feeding the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Emit VolumeGroupComplete and start `lvm-activate@`.
    Complete { name: String, uuid: String },
    /// Emit VolumeGroupDegraded and start `lvm-activate-degraded@`.
    Degraded { name: String, uuid: String },
}

impl Action {
    pub fn unit(&self) -> String {
        match self {
            Action::Complete { name, .. } => activate_unit(name),
            Action::Degraded { name, .. } => degraded_unit(name),
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    name: String,
    deadline: Instant,
    /// The degraded unit was started (or judged impossible) for this
    /// incomplete period.
    fired: bool,
}

/// Tracks incomplete VGs and their degraded deadlines. Keyed by VG UUID.
#[derive(Debug, Clone)]
pub struct Planner {
    timeout: Duration,
    pending: BTreeMap<String, Pending>,
    complete: HashSet<String>,
}

impl Planner {
    pub fn new(timeout: Duration) -> Planner {
        Planner {
            timeout,
            pending: BTreeMap::new(),
            complete: HashSet::new(),
        }
    }

    /// Feed one cache event at time `now`; returns the actions due now.
    /// A VG's completion gives exactly one [`Action::Complete`] per
    /// incomplete→complete (or new→complete) transition.
    pub fn on_event(&mut self, ev: &Event, now: Instant) -> Vec<Action> {
        match ev {
            Event::VgComplete { vg } => {
                self.pending.remove(&vg.uuid);
                if self.complete.insert(vg.uuid.clone()) {
                    vec![Action::Complete {
                        name: vg.name.clone(),
                        uuid: vg.uuid.clone(),
                    }]
                } else {
                    vec![]
                }
            }
            Event::VgIncomplete { vg, .. } => {
                self.complete.remove(&vg.uuid);
                let timeout = self.timeout;
                let p = self.pending.entry(vg.uuid.clone()).or_insert(Pending {
                    name: vg.name.clone(),
                    deadline: now + timeout,
                    fired: false,
                });
                p.name = vg.name.clone();
                vec![]
            }
            Event::VgRenamed { vg, .. } => {
                if let Some(p) = self.pending.get_mut(&vg.uuid) {
                    p.name = vg.name.clone();
                }
                vec![]
            }
            Event::VgRemoved { vg, .. } => {
                self.pending.remove(&vg.uuid);
                self.complete.remove(&vg.uuid);
                vec![]
            }
            _ => vec![],
        }
    }

    /// The earliest deadline still to fire.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .filter(|p| !p.fired)
            .map(|p| p.deadline)
            .min()
    }

    /// VGs whose deadline passed at `now` (name, uuid); each is returned
    /// once per incomplete period. The caller looks the VG up and calls
    /// [`Planner::degraded_action`] with what it finds.
    pub fn expired(&mut self, now: Instant) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (uuid, p) in self.pending.iter_mut() {
            if !p.fired && p.deadline <= now {
                p.fired = true;
                out.push((p.name.clone(), uuid.clone()));
            }
        }
        out
    }

    /// Decide for an expired VG given its metadata and missing PV ids.
    pub fn degraded_action(vg: &Vg, missing_pvids: &[String]) -> Option<Action> {
        can_run_degraded(vg, missing_pvids).then(|| Action::Degraded {
            name: vg.name.clone(),
            uuid: vg.id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::VgIdent;

    #[test]
    fn escape_like_systemd() {
        assert_eq!(systemd_escape("vg0"), "vg0");
        assert_eq!(systemd_escape("my-vg"), "my\\x2dvg");
        assert_eq!(systemd_escape("a+b"), "a\\x2bb");
        assert_eq!(systemd_escape("a.b"), "a.b");
        assert_eq!(systemd_escape(".a"), "\\x2ea");
        assert_eq!(activate_unit("my-vg"), "lvm-activate@my\\x2dvg.service");
        for n in ["my-vg", "a+b", "x.y", ".h", "a_b-c+d.e"] {
            assert_eq!(systemd_unescape(&systemd_escape(n)).as_deref(), Some(n));
        }
    }

    #[test]
    fn escape_matches_systemd_escape_tool() {
        let names = ["my-vg", "a+b", "x.y", "vg_0", "a b"];
        let Ok(out) = std::process::Command::new("systemd-escape")
            .args(names)
            .output()
        else {
            return; // systemd not installed
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let got: Vec<&str> = text.split_whitespace().collect();
        let ours: Vec<String> = names.iter().map(|n| systemd_escape(n)).collect();
        assert_eq!(got, ours);
    }

    #[test]
    fn raid_rules() {
        use RaidType::*;
        assert!(raid_can_run(Raid1, &[true, false], None));
        assert!(!raid_can_run(Raid1, &[false, false], None));
        assert!(raid_can_run(Raid5Ls, &[true, false, true], None));
        assert!(!raid_can_run(Raid5Ls, &[false, false, true], None));
        assert!(raid_can_run(Raid4, &[true, true, false], None));
        assert!(raid_can_run(
            Raid6Zr,
            &[false, false, true, true, true],
            None
        ));
        assert!(!raid_can_run(
            Raid6Zr,
            &[false, false, false, true, true],
            None
        ));
        assert!(raid_can_run(Raid10, &[true, false, false, true], Some(2)));
        assert!(!raid_can_run(Raid10, &[false, false, true, true], Some(2)));
        assert!(!raid_can_run(Raid0, &[true, false], None));
    }

    fn ident(n: &str) -> VgIdent {
        VgIdent {
            uuid: format!("uuid-{n}"),
            name: n.into(),
        }
    }

    #[test]
    fn complete_in_time_gives_no_degraded() {
        let t0 = Instant::now();
        let mut p = Planner::new(Duration::from_secs(30));
        let inc = Event::VgIncomplete {
            vg: ident("vg"),
            missing: vec!["x".into()],
        };
        assert!(p.on_event(&inc, t0).is_empty());
        assert_eq!(p.next_deadline(), Some(t0 + Duration::from_secs(30)));
        let a = p.on_event(&Event::VgComplete { vg: ident("vg") }, t0);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].unit(), "lvm-activate@vg.service");
        assert_eq!(p.next_deadline(), None);
        assert!(p.expired(t0 + Duration::from_secs(60)).is_empty());
        // A second VgComplete without an incomplete period: no new start.
        assert!(p
            .on_event(&Event::VgComplete { vg: ident("vg") }, t0)
            .is_empty());
    }

    #[test]
    fn deadline_counts_from_first_pv() {
        let t0 = Instant::now();
        let mut p = Planner::new(Duration::from_secs(10));
        let inc = Event::VgIncomplete {
            vg: ident("vg"),
            missing: vec!["x".into()],
        };
        p.on_event(&inc, t0);
        // A later PV (still incomplete) does not push the deadline.
        p.on_event(&inc, t0 + Duration::from_secs(5));
        assert!(p.expired(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(
            p.expired(t0 + Duration::from_secs(10)),
            vec![("vg".to_string(), "uuid-vg".to_string())]
        );
        // Fired once only.
        assert!(p.expired(t0 + Duration::from_secs(20)).is_empty());
        assert_eq!(p.next_deadline(), None);
        // Completing later still gives the normal activation.
        let a = p.on_event(&Event::VgComplete { vg: ident("vg") }, t0);
        assert_eq!(a.len(), 1);
    }
}
