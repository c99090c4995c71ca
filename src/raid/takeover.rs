//! RAID takeover (`lvconvert --type X vg/lv`) planned as pure VG → VG
//! transforms, along lvm2 2.03.16's paths (`lib/metadata/raid_manip.c`:
//! `lv_raid_convert`, `_set_convenient_raid145610_segtype_to`, the
//! `_possible_takeover_reshape_types` table and the `_takeover_fns`
//! matrix):
//!
//! * striped ↔ raid0 ↔ raid0_meta ↔ raid4 ↔ raid5_n ↔ raid6_n_6, and
//!   striped/raid0* ↔ raid10 (near, 2 copies);
//! * raid1 with 2 images ↔ raid4/raid5*;
//! * raid5_{ls,rs,la,ra} ↔ raid6_{ls,rs,la,ra}_6;
//! * a request lvm2 cannot do directly is replaced by the interim type
//!   lvm2 picks ("Replaced LV type raid6 with possible type raid6_n_6.");
//!   the user repeats the command to go on.
//!
//! The result is a sequence of VGs to commit, ordered so that a crash
//! between two commits leaves either the old array or the new one plus
//! stray visible LVs the user can remove: first the VG with every newly
//! allocated sub-LV as a plain visible LV (their first 4 KiB are wiped
//! after that commit, before they join the array), then the VG with the
//! converted array, then — when sub-LVs leave the array with their
//! extents — the VG without them (lvm2 names them `<sub-LV>_extracted` in
//! between; here they keep their linear segments instead of lvm2's error
//! targets). New images carry `REBUILD` so that the next activation
//! rebuilds them (the conversion is done offline; lvm2 clears the flag
//! once the kernel has seen it). The image flag is required: dm-raid
//! refuses a new (wiped) device in an existing set unless the table says
//! `rebuild N` ("New device injected into existing raid set").
//!
//! Reshapes (same RAID level, another layout, stripe count or stripe
//! size) move data: they are refused until the LV is active.

use crate::alloc::{self, Candidate, Chunk, Policy, RaidRequest, Request};
use crate::model::{Area, Lv, RaidSeg, RaidType, SegType, Segment, Vg};

use super::{ensure_min_region_size, rmeta_extents, RaidError};

/// lvm2's `DEFAULT_RAID_MAX_IMAGES`.
const MAX_IMAGES: u64 = 64;
/// lvm2's `DEFAULT_STRIPESIZE` (KiB) × 2: the stripe size raid1 → raid5
/// gets when none is given (sectors).
const RAID1_TO_RAID5_STRIPE_SIZE: u64 = 128;

// lvm2's segment type flags (lib/metadata/segtype.h); the bit order is the
// order lvm2 lists possible conversions in.
const F_MIRROR: u64 = 1 << 15;
const F_RAID0: u64 = 1 << 18;
const F_RAID0_META: u64 = 1 << 19;
const F_RAID1: u64 = 1 << 20;
const F_RAID10: u64 = 1 << 21;
const F_RAID4: u64 = 1 << 22;
const F_RAID5_N: u64 = 1 << 23;
const F_RAID5_LA: u64 = 1 << 24;
const F_RAID5_LS: u64 = 1 << 25;
const F_RAID5_RA: u64 = 1 << 26;
const F_RAID5_RS: u64 = 1 << 27;
const F_RAID6_NC: u64 = 1 << 28;
const F_RAID6_NR: u64 = 1 << 29;
const F_RAID6_ZR: u64 = 1 << 30;
const F_RAID6_LA_6: u64 = 1 << 31;
const F_RAID6_LS_6: u64 = 1 << 32;
const F_RAID6_RA_6: u64 = 1 << 33;
const F_RAID6_RS_6: u64 = 1 << 34;
const F_RAID6_N_6: u64 = 1 << 35;
const F_STRIPED: u64 = 1 << 39;
const F_LINEAR: u64 = 1 << 40;

const ALLOW_NONE: u32 = 0;
const ALLOW_STRIPES: u32 = 2;
const ALLOW_STRIPE_SIZE: u32 = 4;
const ALLOW_REGION_SIZE: u32 = 8;

const ANY: u64 = u64::MAX;
const R5_ALL: u64 = F_RAID5_LS | F_RAID5_RS | F_RAID5_RA | F_RAID5_LA | F_RAID5_N;
const R6_ALL: u64 = F_RAID6_ZR
    | F_RAID6_NR
    | F_RAID6_NC
    | F_RAID6_LS_6
    | F_RAID6_RS_6
    | F_RAID6_RA_6
    | F_RAID6_LA_6
    | F_RAID6_N_6;
const R0_ALL: u64 = F_STRIPED | F_RAID0 | F_RAID0_META;

/// lvm2's `_possible_takeover_reshape_types`: (current types, current
/// areas, possible types, options).
const POSSIBLE: &[(u64, u64, u64, u32)] = &[
    (F_STRIPED, 1, F_RAID1, ALLOW_REGION_SIZE),
    (F_RAID0 | F_RAID0_META, 1, F_RAID1, ALLOW_REGION_SIZE),
    (F_RAID5_N, 2, F_STRIPED, ALLOW_NONE),
    (R0_ALL, ANY, R0_ALL, ALLOW_NONE),
    (
        R0_ALL,
        ANY,
        F_RAID4 | F_RAID5_N | F_RAID6_N_6 | F_RAID10,
        ALLOW_REGION_SIZE | ALLOW_STRIPES,
    ),
    (
        F_RAID4 | F_RAID5_N | F_RAID6_N_6 | F_RAID10,
        ANY,
        R0_ALL,
        ALLOW_STRIPES,
    ),
    (
        F_RAID4 | F_RAID5_N | F_RAID6_N_6,
        ANY,
        F_RAID4 | F_RAID5_N | F_RAID6_N_6,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        R5_ALL,
        ANY,
        R5_ALL,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        R6_ALL,
        ANY,
        R6_ALL,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_RAID5_LS | F_RAID6_LS_6,
        ANY,
        F_RAID5_LS | F_RAID6_LS_6,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_RAID5_RS | F_RAID6_RS_6,
        ANY,
        F_RAID5_RS | F_RAID6_RS_6,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_RAID5_LA | F_RAID6_LA_6,
        ANY,
        F_RAID5_LA | F_RAID6_LA_6,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_RAID5_RA | F_RAID6_RA_6,
        ANY,
        F_RAID5_RA | F_RAID6_RA_6,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_RAID10,
        ANY,
        F_RAID10,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_MIRROR | F_RAID1,
        ANY,
        F_MIRROR | F_RAID1,
        ALLOW_REGION_SIZE | ALLOW_STRIPES | ALLOW_STRIPE_SIZE,
    ),
    (
        F_RAID1,
        2,
        F_RAID4 | R5_ALL,
        ALLOW_REGION_SIZE | ALLOW_STRIPE_SIZE,
    ),
    (F_RAID4 | R5_ALL, 2, F_RAID1, ALLOW_REGION_SIZE),
];

/// A segment type as lvm2's takeover code sees it: the `linear` segment
/// type object (what `--type linear` names), `striped` (which lvm2 also
/// uses for linear LVs, told apart by their single area), or a RAID type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegT {
    Linear,
    Striped,
    Raid(RaidType),
}

impl SegT {
    /// `--type` argument → segment type (`None`: not one takeover knows).
    pub fn from_name(name: &str) -> Option<SegT> {
        match name {
            "linear" => Some(SegT::Linear),
            "striped" => Some(SegT::Striped),
            n => RaidType::from_name(n).map(SegT::Raid),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SegT::Linear => "linear",
            SegT::Striped => "striped",
            SegT::Raid(t) => t.name(),
        }
    }

    fn flags(self) -> u64 {
        use RaidType::*;
        match self {
            SegT::Linear => F_LINEAR,
            SegT::Striped => F_STRIPED,
            SegT::Raid(t) => match t {
                Raid0 => F_RAID0,
                Raid0Meta => F_RAID0_META,
                Raid1 => F_RAID1,
                Raid10 => F_RAID10,
                Raid4 => F_RAID4,
                Raid5N => F_RAID5_N,
                Raid5La => F_RAID5_LA,
                Raid5 | Raid5Ls => F_RAID5_LS,
                Raid5Ra => F_RAID5_RA,
                Raid5Rs => F_RAID5_RS,
                Raid6Nc => F_RAID6_NC,
                Raid6Nr => F_RAID6_NR,
                Raid6 | Raid6Zr => F_RAID6_ZR,
                Raid6La6 => F_RAID6_LA_6,
                Raid6Ls6 => F_RAID6_LS_6,
                Raid6Ra6 => F_RAID6_RA_6,
                Raid6Rs6 => F_RAID6_RS_6,
                Raid6N6 => F_RAID6_N_6,
            },
        }
    }

    /// lvm2's `get_segtype_from_flag`, which finds the explicit layout
    /// names first (`raid5_ls`, not `raid5`).
    fn from_flag(flag: u64) -> SegT {
        use RaidType::*;
        match flag {
            F_STRIPED => SegT::Striped,
            F_LINEAR => SegT::Linear,
            F_RAID0 => SegT::Raid(Raid0),
            F_RAID0_META => SegT::Raid(Raid0Meta),
            F_RAID1 => SegT::Raid(Raid1),
            F_RAID10 => SegT::Raid(Raid10),
            F_RAID4 => SegT::Raid(Raid4),
            F_RAID5_N => SegT::Raid(Raid5N),
            F_RAID5_LA => SegT::Raid(Raid5La),
            F_RAID5_LS => SegT::Raid(Raid5Ls),
            F_RAID5_RA => SegT::Raid(Raid5Ra),
            F_RAID5_RS => SegT::Raid(Raid5Rs),
            F_RAID6_NC => SegT::Raid(Raid6Nc),
            F_RAID6_NR => SegT::Raid(Raid6Nr),
            F_RAID6_ZR => SegT::Raid(Raid6Zr),
            F_RAID6_LA_6 => SegT::Raid(Raid6La6),
            F_RAID6_LS_6 => SegT::Raid(Raid6Ls6),
            F_RAID6_RA_6 => SegT::Raid(Raid6Ra6),
            F_RAID6_RS_6 => SegT::Raid(Raid6Rs6),
            _ => SegT::Raid(Raid6N6),
        }
    }

    /// The name lvm2 lists a possible conversion under.
    fn flag_name(flag: u64) -> &'static str {
        match flag {
            F_RAID10 => "raid10_near",
            F_MIRROR => "mirror",
            f => SegT::from_flag(f).name(),
        }
    }

    fn raid(self) -> Option<RaidType> {
        match self {
            SegT::Raid(t) => Some(t),
            _ => None,
        }
    }

    /// `SEG_AREAS_STRIPED`: linear, striped, raid0, raid0_meta.
    fn areas_striped(self) -> bool {
        match self {
            SegT::Linear | SegT::Striped => true,
            SegT::Raid(t) => t.is_any_raid0(),
        }
    }

    fn is(self, f: u64) -> bool {
        self.flags() & f != 0
    }

    fn any_raid0(self) -> bool {
        self.raid().is_some_and(RaidType::is_any_raid0)
    }
    fn raid1(self) -> bool {
        self.is(F_RAID1)
    }
    fn raid4(self) -> bool {
        self.is(F_RAID4)
    }
    fn raid5(self) -> bool {
        self.raid().is_some_and(RaidType::is_raid5)
    }
    fn raid6(self) -> bool {
        self.raid().is_some_and(RaidType::is_raid6)
    }
    fn raid10(self) -> bool {
        self.is(F_RAID10)
    }
    fn parity(self) -> u64 {
        self.raid().map_or(0, RaidType::parity_devs)
    }

    /// lvm2's `_is_same_level` (`strncmp(name, 5)`, raid10 apart, raid4
    /// and raid5_n alike).
    fn same_level(self, o: SegT) -> bool {
        if self.raid10() != o.raid10() {
            return false;
        }
        if (self.raid4() && o.is(F_RAID5_N)) || (self.is(F_RAID5_N) && o.raid4()) {
            return true;
        }
        let a = self.name().as_bytes();
        let b = o.name().as_bytes();
        a[..a.len().min(5)] == b[..b.len().min(5)]
    }

    /// Row/column of lvm2's takeover matrix (`_segtype_ix`).
    fn matrix_ix(self, area_count: u64) -> usize {
        match self {
            SegT::Striped => usize::from(area_count != 1),
            SegT::Linear => 8,
            SegT::Raid(t) => match t {
                RaidType::Raid0 => 3,
                RaidType::Raid0Meta => 4,
                RaidType::Raid1 => 5,
                t if t.is_raid4() || t.is_raid5() => 6,
                t if t.is_raid6() => 7,
                _ => 8,
            },
        }
    }
}

/// The raid5 ↔ raid6 layout pairs (`_r5_to_r6`).
const R5_TO_R6: [(u64, u64); 5] = [
    (F_RAID5_LS, F_RAID6_LS_6),
    (F_RAID5_LA, F_RAID6_LA_6),
    (F_RAID5_RS, F_RAID6_RS_6),
    (F_RAID5_RA, F_RAID6_RA_6),
    (F_RAID5_N, F_RAID6_N_6),
];

fn r5_to_r6(t: SegT) -> u64 {
    R5_TO_R6
        .iter()
        .rev()
        .find(|(a, _)| t.is(*a))
        .map_or(0, |p| p.1)
}

fn r6_to_r5(t: SegT) -> u64 {
    R5_TO_R6
        .iter()
        .rev()
        .find(|(_, b)| t.is(*b))
        .map_or(0, |p| p.0)
}

/// What a takeover writes to the terminal besides its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Standard output (lvm2's `log_print`).
    Print(String),
    /// Standard error, a warning.
    Warn(String),
    /// Standard error, an error lvm2 logs and goes on after.
    Error(String),
}

/// One metadata commit, the same as the image conversions': `wipe_first`
/// areas (new or re-purposed metadata sub-LVs; free or already allocated
/// to them in the VG committed before) are zeroed, then `vg` committed.
pub use super::convert::Step;

/// What [`plan`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeoverPlan {
    /// Lines to show, in order (replacement notices, region size
    /// adjustments, options lvm2 ignores).
    pub messages: Vec<Msg>,
    /// The question lvm2 asks before the conversion (`None`: none).
    pub prompt: Option<String>,
    /// The segment type the LV has after these commits (lvm2's name).
    pub result_type: String,
    /// The type asked for, when this conversion is only an interim step
    /// towards it.
    pub interim_for: Option<String>,
    /// The commits, in order (empty only with `linear_to_raid1`).
    pub steps: Vec<Step>,
    /// lvm2's `_takeover_from_linear_to_raid1`: the conversion is adding a
    /// second image to a linear LV (region size given here, sectors), which
    /// [`super::convert::change_image_count`] plans; `steps` is empty.
    pub linear_to_raid1: Option<u64>,
}

impl TakeoverPlan {
    /// The VG after the last commit.
    pub fn final_vg(&self) -> &Vg {
        &self.steps.last().expect("plan has a commit").vg
    }
}

/// A takeover request (`lvconvert --type ...`).
#[derive(Debug, Clone)]
pub struct TakeoverRequest<'a> {
    pub lv: &'a str,
    pub to: SegT,
    /// `--stripes`.
    pub stripes: Option<u64>,
    /// `-I/--stripesize`, sectors.
    pub stripe_size: Option<u64>,
    /// `-R/--regionsize`, sectors.
    pub region_size: Option<u64>,
    /// `activation/raid_region_size` as lvm2 rounds it, sectors.
    pub default_region_size: u64,
    /// PVs new sub-LVs may use (`None`: the whole VG).
    pub candidates: Option<&'a [Candidate]>,
    pub policy: Policy,
    /// Whether the LV is active (reshapes need it).
    pub active: bool,
    /// The running array's state, for reshapes (`None`: not active).
    pub kernel: Option<super::reshape::KernelState>,
    /// `--force` (removing stripes).
    pub force: bool,
    pub creation_time: Option<i64>,
    pub creation_host: Option<String>,
}

impl<'a> TakeoverRequest<'a> {
    /// `lvconvert --type TO LV` with no other option: any PV, normal
    /// allocation, LV inactive, no creation time or host.
    pub fn new(lv: &'a str, to: SegT, default_region_size: u64) -> Self {
        TakeoverRequest {
            lv,
            to,
            stripes: None,
            stripe_size: None,
            region_size: None,
            default_region_size,
            candidates: None,
            policy: Policy::Normal,
            active: false,
            kernel: None,
            force: false,
            creation_time: None,
            creation_host: None,
        }
    }
}

/// lvm2's `display_size`: "2.00 MiB".
fn size(sectors: u64) -> String {
    super::convert::display_size(sectors)
}

fn data_stripes(n: u64) -> String {
    format!("{n} data stripe{}", if n == 1 { "" } else { "s" })
}

/// Collects lvm2's log lines; a refusal carries all of them.
struct Log {
    msgs: Vec<Msg>,
}

impl Log {
    fn err(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Error(s.into()));
    }
    fn warn(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Warn(s.into()));
    }
    fn print(&mut self, s: impl Into<String>) {
        self.msgs.push(Msg::Print(s.into()));
    }
    /// Refuse: every line logged so far, then `last` lines.
    fn refuse(&mut self, last: &[String]) -> RaidError {
        for l in last {
            self.err(l.clone());
        }
        RaidError::Invalid(
            self.msgs
                .iter()
                .map(|m| match m {
                    Msg::Print(s) | Msg::Error(s) => s.clone(),
                    Msg::Warn(s) => s.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }
}

/// The LV as takeover sees it.
struct Src {
    t: SegT,
    /// lvm2's `seg->area_count` (stripes of a striped LV, images).
    n: u64,
    region: u64,
    stripe_size: u64,
}

impl Src {
    /// `lvseg_name`: "linear" for a striped segment with one area.
    fn seg_name(&self) -> &'static str {
        if self.t == SegT::Striped && self.n == 1 {
            "linear"
        } else {
            self.t.name()
        }
    }

    fn data_images(&self) -> u64 {
        self.n.saturating_sub(self.t.parity())
    }
}

/// lvm2's `_log_possible_conversion_types`.
fn possible_conversions(from: &Src, disp: &str) -> Vec<String> {
    let cur = from.t.flags();
    let mut count = 0;
    let mut names: Vec<&str> = Vec::new();
    let mut seen = 0u64;
    for &(current, areas, possible, _) in POSSIBLE {
        if !matches_entry(cur, from.n, current, areas) {
            continue;
        }
        for bit in 0..64 {
            let f = 1u64 << bit;
            if possible & f == 0 || cur & f != 0 {
                continue;
            }
            count += 1;
            if seen & f == 0 {
                seen |= f;
                names.push(SegT::flag_name(f));
            }
        }
    }
    if count == 0 {
        return vec![format!(
            "Direct conversion of {} LV {disp} is not possible.",
            from.seg_name()
        )];
    }
    let mut out = vec![format!(
        "Converting {disp} from {}{} is directly possible to the following layout{}:",
        from.seg_name(),
        alias_str(from.t),
        if count > 1 { "s" } else { "" }
    )];
    out.extend(names.iter().map(|n| format!("  {n}")));
    out
}

fn matches_entry(cur: u64, n: u64, current: u64, areas: u64) -> bool {
    cur & current != 0 && (n == areas || (n > 1 && n <= areas))
}

/// `_get_allowed_conversion_options`.
fn allowed_options(from: &Src, to: SegT) -> Option<u32> {
    POSSIBLE
        .iter()
        .find(|&&(current, areas, possible, _)| {
            matches_entry(from.t.flags(), from.n, current, areas) && to.flags() & possible != 0
        })
        .map(|e| e.3)
}

/// `_get_segtype_alias_str`: " (same as raid5_ls)".
fn alias_str(t: SegT) -> String {
    let alias = match t.name() {
        "raid5" => "raid5_ls",
        "raid6" => "raid6_zr",
        "raid5_ls" => "raid5",
        "raid6_zr" => "raid6",
        "raid10" => "raid10_near",
        _ => return String::new(),
    };
    format!(" (same as {alias})")
}

/// `_set_convenient_raid145610_segtype_to`: the interim type lvm2 picks,
/// and a new image count when it asks for a restripe first.
fn convenient(
    from: &Src,
    to: &mut SegT,
    count: &mut u64,
    stripes: u64,
    disp: &str,
    log: &mut Log,
) -> Result<(), Vec<String>> {
    let f = from.t;
    let saved = *to;
    let linear_from = f.areas_striped() && from.n == 1;
    if !(linear_from && to.areas_striped()) && f.same_level(*to) {
        return Ok(());
    }
    let mut flag = 0u64;
    let seg_name = from.seg_name();
    if linear_from {
        flag = F_RAID1;
    } else if f == SegT::Striped || f.any_raid0() {
        if to.raid6() {
            flag = if from.n < 3 { F_RAID5_N } else { F_RAID6_N_6 };
        } else if *to == SegT::Linear || (!to.raid4() && !to.raid10() && !to.areas_striped()) {
            flag = F_RAID5_N;
        }
    } else if f.raid1() {
        if from.n != 2 {
            return Err(vec![format!(
                "Convert {seg_name} LV {disp} to 2 images first."
            )]);
        }
        if to.areas_striped() || to.raid10() {
            flag = F_RAID5_N;
        } else if !to.raid4() && !to.raid5() {
            flag = F_RAID5_LS;
        }
    } else if f.raid4() || f.raid5() {
        if f.raid4() && to.raid5() {
            if !to.is(F_RAID5_N) {
                flag = F_RAID5_N;
            }
        } else if f.raid5() && to.raid4() {
            if !f.is(F_RAID5_N) {
                flag = F_RAID5_N;
            }
        } else if to.raid1() || *to == SegT::Linear {
            if from.n != 2 {
                log.err(format!(
                    "Converting {seg_name} LV {disp} to 2 stripes first."
                ));
                *count = 2;
                *to = f;
            } else {
                flag = F_RAID1;
            }
        } else if to.raid6() {
            if from.n < 4 {
                *count = if stripes > 3 { stripes + f.parity() } else { 4 };
                *to = f;
                log.err(format!(
                    "Converting {seg_name} LV {disp} to {count} stripes first."
                ));
            } else {
                flag = if f.raid4() { F_RAID6_N_6 } else { r5_to_r6(f) };
            }
        } else if to.areas_striped() || to.raid10() {
            let mut change = false;
            if !f.raid4() && !f.is(F_RAID5_N) {
                flag = F_RAID5_N;
            } else if stripes > 2 && stripes != from.n - f.parity() {
                change = true;
                *count = stripes + f.parity();
                flag = F_RAID5_N;
            } else if from.n < 3 {
                change = true;
                *count = 3;
                flag = F_RAID5_N;
            } else if !to.areas_striped() {
                flag = F_RAID0_META;
            }
            if change {
                log.err(format!(
                    "Converting {seg_name} LV {disp} to {count} stripes first."
                ));
            }
        }
    } else if f.raid6() {
        if to.raid1() {
            flag = r6_to_r5(f);
            if flag == 0 || !to.is(flag) {
                flag = F_RAID6_LS_6;
            }
        } else if to.raid10() {
            flag = if f.is(F_RAID6_N_6) {
                F_RAID0_META
            } else {
                F_RAID6_N_6
            };
        } else if *to == SegT::Linear {
            flag = if f.is(F_RAID6_N_6) {
                F_RAID5_N
            } else {
                F_RAID6_N_6
            };
        } else if to.areas_striped() {
            if !f.is(F_RAID6_N_6) {
                flag = F_RAID6_N_6;
            }
        } else if to.raid4() && !f.is(F_RAID6_N_6) {
            flag = F_RAID6_N_6;
        } else if to.raid5() {
            flag = r6_to_r5(f);
            if flag == 0 {
                flag = r5_to_r6(*to);
            }
        }
    } else if to.raid1() {
        // Only raid10 is left here (mirror is not a takeover source).
        return Err(vec![format!(
            "Convert {seg_name} LV {disp} to raid4/raid5 first."
        )]);
    } else if f.raid10() && (*to == SegT::Linear || !to.areas_striped()) {
        flag = F_RAID0_META;
    }
    if flag != 0 {
        *to = SegT::from_flag(flag);
        if saved.name() != to.name() {
            log.warn(format!(
                "Replaced LV type {}{} with possible type {}.",
                saved.name(),
                alias_str(saved),
                to.name()
            ));
            log.warn(format!(
                "Repeat this command to convert to {} after an interim conversion has finished.",
                saved.name()
            ));
        }
    }
    Ok(())
}

/// The takeover functions of lvm2's matrix this planner carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TFn {
    Noop,
    Unsupported,
    UnsupportedYet,
    /// linear → raid1, mirror paths: image count changes, not takeover.
    NotTakeover,
    StripedToRaid0,
    StripedToRaid0Meta,
    Raid0ToRaid0Meta,
    Raid0MetaToRaid0,
    Raid0ToStriped,
    /// (images to add, data copies)
    Upconvert(u64, u64),
    /// (images to keep, data copies)
    Downconvert(u64, u64),
    Raid45To54,
}

/// `_takeover_fns[from][to]`.
fn takeover_fn(from: &Src, to: SegT, new_image_count: u64) -> TFn {
    use TFn::*;
    let n = from.n;
    let row = from.t.matrix_ix(n);
    let col = to.matrix_ix(new_image_count);
    // from \ to: linear striped mirror raid0 raid0_meta raid1 raid4/5 raid6 raid10
    match (row, col) {
        (r, c) if r == c && r <= 4 => Noop,
        (0, 3) | (0, 4) | (0, 6) | (0, 8) => UnsupportedYet,
        (0, 5) | (1, 5) => NotTakeover,
        (1, 3) => StripedToRaid0,
        (1, 4) => StripedToRaid0Meta,
        (1, 6) => Upconvert(1, 2),
        (1, 7) => Upconvert(2, 3),
        (1, 8) => Upconvert(n, 2),
        (3, 0) | (3, 2) | (3, 5) | (4, 0) | (4, 2) | (4, 5) => UnsupportedYet,
        (3, 1) | (4, 1) => Raid0ToStriped,
        (3, 4) => Raid0ToRaid0Meta,
        (4, 3) => Raid0MetaToRaid0,
        (3, 6) | (4, 6) => Upconvert(1, 2),
        (3, 7) | (4, 7) => Upconvert(2, 3),
        (3, 8) | (4, 8) => Upconvert(n, 2),
        (5, 2) => NotTakeover,
        (5, 5) => Unsupported,
        (5, 6) => Upconvert(0, 2),
        (5, 7) => Unsupported,
        (5, _) if col <= 8 => UnsupportedYet,
        (6, 0) | (6, 2) => UnsupportedYet,
        (6, 1) | (6, 3) | (6, 4) => Downconvert(n - 1, 1),
        (6, 5) => Downconvert(n, 2),
        (6, 6) => Raid45To54,
        (6, 7) => Upconvert(1, 3),
        (7, 1) => Downconvert(n - 2, 2),
        (7, 3) | (7, 4) => Downconvert(n - 2, 1),
        (7, 6) => Downconvert(n - 1, 2),
        (8, 0) | (8, 2) | (8, 5) => UnsupportedYet,
        (8, 1) | (8, 3) | (8, 4) => Downconvert(n / 2, 1),
        _ => Unsupported,
    }
}

/// `_reshape_requested`: 0 no, 1 a reshape, 2 an invalid request (with
/// the reason logged).
#[allow(clippy::too_many_arguments)]
fn reshape_requested(
    from: &Src,
    to: SegT,
    region: u64,
    stripes: u64,
    stripe_size: u64,
    disp: &str,
    log: &mut Log,
) -> u8 {
    let reshapable = from
        .t
        .raid()
        .is_some_and(|t| !t.is_raid1() && !t.is_any_raid0());
    if !reshapable || !from.t.same_level(to) {
        return 0;
    }
    if from.t.raid10() && to.raid1() {
        return 0;
    }
    if from.t == to
        && region == from.region
        && stripes == from.data_images()
        && stripe_size == from.stripe_size
    {
        return 1;
    }
    if (region != 0 || stripe_size != 0)
        && (if region != 0 { region } else { from.region })
            < (if stripe_size != 0 {
                stripe_size
            } else {
                from.stripe_size
            })
    {
        log.err(format!(
            "Region size may not be smaller than stripe size on LV {disp}."
        ));
        return 2;
    }
    if from.t.raid10() && from.n > 2 && stripes != 0 && stripes < from.n - from.t.parity() {
        log.err("Can't remove stripes from raid10.");
        return 2;
    }
    if from.t != to {
        if stripes != 0 && stripes != from.data_images() {
            return 2;
        }
        return 1;
    }
    if stripes != 0
        && stripes == from.data_images()
        && stripe_size == from.stripe_size
        && region == from.region
    {
        log.err(format!("LV {disp} already has {stripes} stripes."));
        return 2;
    }
    u8::from(stripes != 0 || stripe_size != 0)
}

/// Plan `lvconvert --type` on `req.lv`: refuse as lvm2 would (with its
/// messages), or return the commits that carry the conversion out.
pub fn plan(vg: &Vg, req: &TakeoverRequest) -> Result<TakeoverPlan, RaidError> {
    let disp = format!("{}/{}", vg.name, req.lv);
    let mut log = Log { msgs: Vec::new() };
    if vg.lv(req.lv).is_some() {
        // lvm2's _raid_split_image_conversion (shared with lvconvert -m).
        super::convert::refuse_tracking(vg, req.lv)?;
    }
    let lv = vg
        .lv(req.lv)
        .ok_or_else(|| RaidError::NoSuchLv(disp.clone()))?;
    let first = lv
        .segments
        .first()
        .ok_or_else(|| RaidError::Invalid(format!("Logical volume {disp} has no segments.")))?;
    let from = match (&first.segtype, &first.raid) {
        (SegType::Striped, _) => {
            let n = first.areas.len() as u64;
            if lv
                .segments
                .iter()
                .any(|s| s.segtype != SegType::Striped || s.areas.len() as u64 != n)
            {
                return Err(log.refuse(&[format!(
                    "Cannot convert striped LV {disp} with varying stripe count to raid0."
                )]));
            }
            if lv
                .segments
                .iter()
                .flat_map(|s| &s.areas)
                .any(|a| !matches!(a, Area::Pv { .. }))
            {
                return Err(log.refuse(&[format!(
                    "Cannot convert {disp}: its stripes are on other LVs, not on PVs."
                )]));
            }
            if let Some(ss) = first.stripe_size.filter(|s| n > 1 && !s.is_power_of_two()) {
                return Err(log.refuse(&[format!(
                    "Cannot convert striped LV {disp} with non-power of 2 stripe size {ss}."
                )]));
            }
            Src {
                t: SegT::Striped,
                n,
                region: 0,
                stripe_size: first.stripe_size.unwrap_or(0),
            }
        }
        (SegType::Raid(t), Some(r)) if lv.segments.len() == 1 => Src {
            t: SegT::Raid(*t),
            n: r.images.len() as u64,
            region: r.region_size.unwrap_or(0),
            stripe_size: first.stripe_size.unwrap_or(0),
        },
        (t, _) => {
            return Err(log.refuse(&[format!(
                "Converting the segment type for {disp} from {} to {} is not supported.",
                t.name(),
                req.to.name()
            )]))
        }
    };
    if !vg.users_of(req.lv).is_empty() {
        return Err(log.refuse(&[format!(
            "Unable to convert stacked volume {disp}: convert the LV it belongs to."
        )]));
    }
    check_sub_lvs(vg, lv, &disp, &mut log)?;

    let mut to = req.to;
    let mut stripes = req.stripes.unwrap_or(0);
    if from.t.raid10() {
        stripes *= 2;
    }
    if stripes == 0 {
        stripes = from.data_images();
    }
    let stripe_size_supplied = req.stripe_size.is_some();
    let stripe_size_arg = req.stripe_size.unwrap_or(from.stripe_size);
    let mut new_image_count = from.n;
    if to.areas_striped() {
        new_image_count = if stripes > 1 { stripes } else { from.n };
    }
    if new_image_count > MAX_IMAGES {
        return Err(log.refuse(&[format!(
            "Unable to handle raid arrays with more than {MAX_IMAGES} devices."
        )]));
    }
    // lvconvert passes the default region size for striped/raid0 LVs
    // (their segment has none) and 0 ("keep") for the other RAID LVs.
    let new_region = match req.region_size {
        Some(r) => r,
        None if from.t.areas_striped() => req.default_region_size,
        None => 0,
    };
    let region = [new_region, from.region, req.default_region_size]
        .into_iter()
        .find(|&r| r != 0)
        .unwrap_or(req.default_region_size);

    // _conversion_options_allowed
    if from.t == SegT::Striped && from.n == 1 && to.areas_striped() && stripes < 2 {
        return Err(log.refuse(&[format!(
            "Logical volume {disp} is already of requested type {}.",
            from.seg_name()
        )]));
    }
    let mut count = from.n;
    if let Err(lines) = convenient(&from, &mut to, &mut count, stripes, &disp, &mut log) {
        let mut all = lines;
        all.extend(possible_conversions(&from, &disp));
        return Err(log.refuse(&all));
    }
    if count != from.n {
        stripes = count - from.t.parity();
    }
    let Some(opts) = allowed_options(&from, to) else {
        let mut lines = vec![if from.seg_name() != to.name() {
            format!(
                "Unable to convert LV {disp} from {} to {}.",
                from.seg_name(),
                to.name()
            )
        } else {
            format!(
                "Logical volume {disp} is already of requested type {}.",
                from.seg_name()
            )
        }];
        lines.extend(possible_conversions(&from, &disp));
        return Err(log.refuse(&lines));
    };
    let prohibited = |opt: &str| {
        if from.t == to {
            format!(
                "{opt} not allowed when converting {} LV {disp}.",
                from.seg_name()
            )
        } else {
            format!(
                "{opt} not allowed for LV {disp} when converting from {} to {}.",
                from.seg_name(),
                to.name()
            )
        }
    };
    if stripes > 1 && opts & ALLOW_STRIPES == 0 {
        log.err(prohibited("--stripes"));
        stripes = from.n;
    }
    if stripe_size_supplied && opts & ALLOW_STRIPE_SIZE == 0 {
        log.err(prohibited("-I/--stripesize"));
    }
    if new_region != 0 && new_region != from.region && opts & ALLOW_REGION_SIZE == 0 {
        log.err(prohibited("-R/--regionsize"));
    }
    if !from.t.same_level(to) {
        if stripes != 0 && stripes != from.data_images() {
            log.warn(format!(
                "WARNING: ignoring --stripes option on takeover of {disp} (reshape afterwards)."
            ));
        }
        if !from.t.raid1() && stripe_size_supplied {
            log.warn(format!(
                "WARNING: ignoring --stripesize option on takeover of {disp} (reshape afterwards)."
            ));
        }
    }
    let prompt = (!from.t.same_level(to)).then(|| {
        if from.t == to {
            format!(
                "Are you sure you want to convert {} LV {disp}? [y/n]: ",
                from.seg_name()
            )
        } else {
            format!(
                "Are you sure you want to convert {} LV {disp} to {} type? [y/n]: ",
                from.seg_name(),
                to.name()
            )
        }
    });

    // raid4 ↔ raid5_n is a layout change for lvm2 2.03.16 (its reshape
    // code, the kernel moves the parity): refused offline like the others.
    // Inside raid4 → raid6 and raid6 → raid4 lvm2 moves the parity pair
    // instead (`_raid45_to_raid54_wrapper`), and so does this planner.
    let reshape = reshape_requested(&from, to, region, stripes, stripe_size_arg, &disp, &mut log);
    match reshape {
        0 => {}
        1 => {
            let already = from.t == to
                && stripes == from.data_images()
                && stripe_size_arg == from.stripe_size
                && region == from.region;
            let has_space = super::reshape::reshape_len(vg, req.lv) > 0;
            if let (Some(kernel), SegT::Raid(to_t)) = (req.kernel, to) {
                if !already || has_space {
                    return reshape_plan(
                        vg,
                        req,
                        to_t,
                        stripes,
                        stripe_size_arg,
                        region,
                        kernel,
                        log,
                    );
                }
            }
            let what = if already && !has_space {
                format!(
                    "Logical volume {disp} is already of requested type {}.",
                    to.name()
                )
            } else if already {
                format!(
                    "{disp} must be active to perform this operation: freeing its reshape \
                     space needs the running array. Activate it (lvchange -ay {disp}) and \
                     repeat the command."
                )
            } else {
                format!(
                    "{disp} must be active to perform this operation: reshaping {} to {} \
                     ({}, stripe size {}) moves data. Activate it (lvchange -ay {disp}) \
                     and repeat the command.",
                    from.seg_name(),
                    to.name(),
                    data_stripes(stripes),
                    size(stripe_size_arg)
                )
            };
            return Err(log.refuse(&[what]));
        }
        _ => return Err(log.refuse(&[format!("Invalid conversion request on {disp}.")])),
    }
    if lv.segments[0].raid.as_ref().is_some_and(|r| {
        r.images.iter().flatten().any(|i| {
            vg.lv(i)
                .is_some_and(|l| l.has_status("REMOVE_AFTER_RESHAPE"))
        })
    }) {
        return Err(log.refuse(&[
            format!(
                "Can't convert {} LV {disp} to {} containing sub LVs to remove after a reshape.",
                from.seg_name(),
                to.name()
            ),
            format!(
                "Run \"lvconvert --stripes {} {disp}\" first.",
                from.n.saturating_sub(1)
            ),
        ]));
    }
    let tf = takeover_fn(&from, to, new_image_count);
    let to_name = if to == SegT::Striped && req.stripes == Some(1) {
        "linear"
    } else {
        to.name()
    };
    match tf {
        TFn::Noop => {
            return Err(log.refuse(&[format!(
                "Logical volume {disp} is already of requested type {}.",
                from.seg_name()
            )]))
        }
        TFn::Unsupported => {
            let mut lines = vec![if from.t == to {
                format!("Logical volume {disp} already is type {}.", from.seg_name())
            } else {
                format!(
                    "Converting the segment type for {disp} from {} to {to_name} is not supported.",
                    from.seg_name()
                )
            }];
            lines.extend(possible_conversions(&from, &disp));
            return Err(log.refuse(&lines));
        }
        TFn::UnsupportedYet => {
            let mut lines = vec![format!(
                "Converting the segment type for {disp} from {} to {to_name} is not supported yet.",
                from.seg_name()
            )];
            lines.extend(possible_conversions(&from, &disp));
            return Err(log.refuse(&lines));
        }
        TFn::NotTakeover if from.t == SegT::Striped && from.n == 1 && to.raid1() => {
            return Ok(TakeoverPlan {
                messages: log.msgs,
                prompt,
                result_type: "raid1".into(),
                interim_for: (req.to.name() != to.name()).then(|| req.to.name().to_string()),
                steps: vec![],
                linear_to_raid1: Some(region),
            });
        }
        TFn::NotTakeover => {
            return Err(log.refuse(&[format!(
                "Converting {} LV {disp} to {} changes its image count: use lvconvert -m.",
                from.seg_name(),
                to.name()
            )]))
        }
        _ => {}
    }

    // lvm2's takeover wrappers free the reshape space first; where the
    // data sits in it only the running array knows.
    let freed;
    let mut pre_steps = Vec::new();
    let vg = if super::reshape::reshape_len(vg, req.lv) > 0 {
        let Some(kernel) = req.kernel else {
            return Err(log.refuse(&[format!(
                "{disp} must be active to perform this operation: it has reshape space \
                 allocated, which only the running array can free. Activate it \
                 (lvchange -ay {disp}) and repeat the command."
            )]));
        };
        let mut v = vg.clone();
        pre_steps = super::reshape::free_space(&mut v, req.lv, &kernel)?.0;
        freed = v;
        &freed
    } else {
        vg
    };
    let mut w = Work::new(vg, req, &from)?;
    match tf {
        TFn::StripedToRaid0 => w.striped_to_raid0(),
        TFn::StripedToRaid0Meta => {
            w.striped_to_raid0();
            w.add_raid0_metas()?;
        }
        TFn::Raid0ToRaid0Meta => w.add_raid0_metas()?,
        TFn::Raid0MetaToRaid0 => w.extract_metas(),
        TFn::Raid0ToStriped => w.raid0_to_striped(),
        TFn::Upconvert(add, dc) => upconvert(
            &mut w,
            &from,
            to,
            add,
            dc,
            region,
            stripe_size_arg,
            &disp,
            &mut log,
        )?,
        TFn::Downconvert(keep, dc) => {
            downconvert(&mut w, &from, to, keep, dc, region, &disp, &mut log)?
        }
        TFn::Raid45To54 => {
            if !((from.t.raid4() && to.is(F_RAID5_N)) || (from.t.is(F_RAID5_N) && to.raid4())) {
                return Err(log.refuse(&[format!(
                    "LV {disp} has to be of type raid4 or raid5_n to allow for this conversion."
                )]));
            }
            w.raid45_to_raid54(to, new_region);
        }
        _ => unreachable!("refused above"),
    }
    let mut steps = pre_steps;
    steps.extend(w.finish());
    let result_type = steps
        .last()
        .and_then(|s| s.vg.lv(req.lv))
        .map(|l| {
            let s = &l.segments[0];
            if s.segtype == SegType::Striped && l.segments.iter().all(|x| x.areas.len() == 1) {
                "linear".to_string()
            } else {
                s.segtype.name().to_string()
            }
        })
        .unwrap_or_default();
    let interim_for = (req.to.name() != to.name()).then(|| req.to.name().to_string());
    Ok(TakeoverPlan {
        messages: log.msgs,
        prompt,
        result_type,
        interim_for,
        steps,
        linear_to_raid1: None,
    })
}

/// The reshape branch of [`plan`]: same level, active LV.
#[allow(clippy::too_many_arguments)]
fn reshape_plan(
    vg: &Vg,
    req: &TakeoverRequest,
    to: RaidType,
    stripes: u64,
    stripe_size: u64,
    region: u64,
    kernel: super::reshape::KernelState,
    mut log: Log,
) -> Result<TakeoverPlan, RaidError> {
    use super::reshape;
    let rr = reshape::ReshapeRequest {
        lv: req.lv,
        to,
        stripes,
        stripe_size,
        region_size: region,
        force: req.force,
        kernel,
        candidates: req.candidates,
        policy: req.policy,
        creation_time: req.creation_time,
        creation_host: req.creation_host.clone(),
    };
    let p = reshape::plan(vg, &rr).map_err(|e| log.refuse(&[e.to_string()]))?;
    log.msgs.extend(p.lines);
    Ok(TakeoverPlan {
        messages: log.msgs,
        prompt: p.prompt,
        result_type: to.name().to_string(),
        interim_for: (req.to.name() != to.name()).then(|| req.to.name().to_string()),
        steps: p.steps,
        linear_to_raid1: None,
    })
}

/// Refuse LVs whose sub-LVs takeover cannot handle: tracked split images,
/// unassigned slots, images or metadata that are not plain linear LVs.
fn check_sub_lvs(vg: &Vg, lv: &Lv, disp: &str, log: &mut Log) -> Result<(), RaidError> {
    let Some(r) = lv.segments[0].raid.as_ref() else {
        return Ok(());
    };
    for (s, img) in r.images.iter().enumerate() {
        let Some(img) = img else {
            return Err(log.refuse(&[format!(
                "Logical volume {disp} has no image in slot {s}; repair it first."
            )]));
        };
        if vg.lv(img).is_none() {
            return Err(log.refuse(&[format!("Image {img} of {disp} is missing.")]));
        }
    }
    for name in r.images.iter().chain(r.meta.iter()).flatten() {
        let ok = vg.lv(name).is_some_and(|l| {
            !l.segments.is_empty()
                && l.segments
                    .iter()
                    .all(|s| s.is_linear() && matches!(s.areas.first(), Some(Area::Pv { .. })))
        });
        if !ok {
            return Err(log.refuse(&[format!(
                "Sub-LV {name} of {disp} is missing or is not a plain linear LV; \
                 this version of lvm cannot convert it."
            )]));
        }
    }
    Ok(())
}

/// `_takeover_upconvert_wrapper`: striped/raid0* → raid4/5/6/10, raid1 →
/// raid4/5, raid4/5 → raid6.
#[allow(clippy::too_many_arguments)]
fn upconvert(
    w: &mut Work,
    from: &Src,
    to: SegT,
    add: u64,
    data_copies: u64,
    region: u64,
    stripe_size: u64,
    disp: &str,
    log: &mut Log,
) -> Result<(), RaidError> {
    let to_t = to.raid().expect("upconvert to RAID");
    let new_image_count = from.n + add;
    if to.raid6() {
        let min = if from.t.raid4() || from.t.raid5() {
            4
        } else {
            3
        };
        if from.n < min {
            return Err(log.refuse(&[format!(
                "Minimum of {min} stripes needed for conversion from {} to {}.",
                from.seg_name(),
                to.name()
            )]));
        }
    }
    let mut stripe_size = stripe_size;
    if from.t.raid1() {
        if from.n != 2 {
            return Err(log.refuse(&[format!(
                "Can't convert {} LV {disp} to {} with != 2 legs.",
                from.seg_name(),
                to.name()
            )]));
        }
        if !to.raid4() && !to.raid5() {
            return Err(log.refuse(&[format!(
                "Can't convert {} LV {disp} to {}.",
                from.seg_name(),
                to.name()
            )]));
        }
        if stripe_size == 0 {
            stripe_size = RAID1_TO_RAID5_STRIPE_SIZE;
        }
    }
    let lv_sectors = w.lv_extents() * w.vg.extent_size;
    if region < stripe_size {
        return Err(log.refuse(&[format!(
            "Region size may not be smaller than stripe size on {} LV {disp}.",
            to.name()
        )]));
    }
    if region > lv_sectors {
        return Err(log.refuse(&[format!(
            "Region size is too large for {} LV {disp}.",
            to.name()
        )]));
    }
    if add > 0
        && w.vg
            .lv(w.name.as_str())
            .is_some_and(|l| l.has_status("NOTSYNCED"))
    {
        return Err(log.refuse(&[
            "Can't add image to out-of-sync RAID LV: use 'lvchange --resync' first.".to_string(),
        ]));
    }
    if from.t == SegT::Striped {
        w.striped_to_raid0();
    }
    if w.t == RaidType::Raid0 {
        w.add_raid0_metas()?;
    }
    if from.t.raid() == Some(RaidType::Raid0Meta) && to.raid4() {
        w.clear_all_metas();
    }
    if add > 0 {
        w.add_images(add)?;
    }
    if from.t.raid4() && to.raid6() {
        // The new pair waits while raid4 becomes raid5_n (parity moved
        // from the first to the last slot), then joins for rebuild.
        let meta = w.metas.pop().expect("added pair");
        let image = w.images.pop().expect("added pair");
        w.raid45_to_raid54(SegT::Raid(RaidType::Raid5N), region);
        w.images.push(image);
        w.metas.push(meta);
    }
    w.data_copies = Some(data_copies);
    if to.raid4() && w.images.len() != 2 {
        // raid4 keeps its parity in the first slot ("PDD...").
        let last = w.images.len() - 1;
        w.shift(last, 0);
        w.rename_by_position();
    } else if to.raid10() {
        w.reorder_to_raid10(data_copies as usize);
        for s in 0..w.images.len() {
            w.set_rebuild(s, false, s % data_copies as usize != 0);
        }
    }
    debug_assert_eq!(w.images.len() as u64, new_image_count);
    w.t = to_t;
    w.stripe_size = (stripe_size > 0).then_some(stripe_size);
    let adjusted = ensure_min_region_size(lv_sectors, region);
    if adjusted != region {
        log.print(format!(
            "Adjusting region size of {disp} LV from {} to {}.",
            size(region),
            size(adjusted)
        ));
    }
    w.region = Some(adjusted);
    Ok(())
}

/// `_takeover_downconvert_wrapper`: raid4/5/6/10 → raid0*/striped,
/// raid5 → raid1, raid6 → raid4/5.
#[allow(clippy::too_many_arguments)]
fn downconvert(
    w: &mut Work,
    from: &Src,
    to: SegT,
    keep: u64,
    data_copies: u64,
    region: u64,
    disp: &str,
    log: &mut Log,
) -> Result<(), RaidError> {
    let to_raid0 = to.areas_striped();
    // lvm2 passes no region size for raid0/striped results.
    let new_region = if to_raid0 { 0 } else { region };
    if new_region > w.lv_extents() * w.vg.extent_size {
        return Err(log.refuse(&[format!(
            "Region size is too large for {} LV {disp}.",
            to.name()
        )]));
    }
    if from.t.raid10() && !from.n.is_multiple_of(2) {
        return Err(log.refuse(&[format!(
            "Can't convert {} LV {disp} to {} with odd number of stripes.",
            from.seg_name(),
            to.name()
        )]));
    }
    if from.t.raid4() || from.t.raid5() {
        if to.raid1() && from.n != 2 {
            return Err(log.refuse(&[format!(
                "Can't convert {} LV {disp} to {} with != 2 legs.",
                from.seg_name(),
                to.name()
            )]));
        }
        if to_raid0 && from.n < 3 {
            return Err(log.refuse(&[format!(
                "Can't convert {} LV {disp} to {} with < 3 legs.",
                from.seg_name(),
                to.name()
            )]));
        }
    }
    if from.t.raid4() {
        let last = w.images.len() - 1;
        w.shift(0, last);
    } else if from.t.raid10() {
        w.reorder_from_raid10(2);
    }
    let rename = to.any_raid0();
    while w.images.len() as u64 > keep {
        w.extract_last_pair();
    }
    if to_raid0 {
        w.region = None;
        w.t = RaidType::Raid0Meta;
    } else {
        w.region = Some(new_region);
    }
    let mut final_t = to;
    if to == SegT::Striped {
        w.raid0_to_striped();
        return Ok(());
    } else if to.raid() == Some(RaidType::Raid0) {
        w.extract_metas();
    }
    if to.raid4() {
        w.t = RaidType::Raid5N;
    } else {
        w.t = to.raid().expect("RAID result");
    }
    if w.t.is_raid1() {
        w.stripe_size = None;
    }
    w.data_copies = Some(data_copies);
    if rename {
        if to.raid() == Some(RaidType::Raid0Meta) {
            w.clear_all_metas();
        }
        w.rename_by_position();
    }
    if to.raid4() {
        w.raid45_to_raid54(SegT::Raid(RaidType::Raid4), 0);
        final_t = to;
    }
    w.t = final_t.raid().expect("RAID result");
    Ok(())
}

/// The LV being converted, as lvm2's segment in memory: the VG with the
/// sub-LVs, the slots, the segment fields; plus what the commits need.
struct Work<'a> {
    orig: &'a Vg,
    vg: Vg,
    name: String,
    req: &'a TakeoverRequest<'a>,
    t: RaidType,
    images: Vec<String>,
    metas: Vec<Option<String>>,
    region: Option<u64>,
    stripe_size: Option<u64>,
    data_copies: Option<u64>,
    /// New sub-LVs as first committed: plain visible LVs.
    new_lvs: Vec<Lv>,
    /// Areas to wipe before the array commit.
    wipe: Vec<Chunk>,
    /// Sub-LVs leaving the array with their extents (current names).
    extracted: Vec<String>,
    /// Set when the LV ends striped (its segments rebuilt from images).
    striped_result: Option<Vec<Segment>>,
}

impl<'a> Work<'a> {
    fn new(vg: &'a Vg, req: &'a TakeoverRequest<'a>, from: &Src) -> Result<Work<'a>, RaidError> {
        let lv = vg.lv(req.lv).expect("checked");
        let seg = &lv.segments[0];
        let (t, images, metas) = match (&from.t, &seg.raid) {
            (SegT::Raid(t), Some(r)) => (
                *t,
                r.images
                    .iter()
                    .map(|i| i.clone().expect("checked"))
                    .collect(),
                r.meta.clone(),
            ),
            _ => (RaidType::Raid0, Vec::new(), Vec::new()),
        };
        let mut metas: Vec<Option<String>> = metas;
        metas.resize(images.len(), None);
        Ok(Work {
            orig: vg,
            vg: vg.clone(),
            name: req.lv.to_string(),
            req,
            t,
            images,
            metas,
            region: seg.raid.as_ref().and_then(|r| r.region_size),
            stripe_size: seg.stripe_size,
            data_copies: seg.raid.as_ref().and_then(|r| r.data_copies),
            new_lvs: Vec::new(),
            wipe: Vec::new(),
            extracted: Vec::new(),
            striped_result: None,
        })
    }

    fn lv_extents(&self) -> u64 {
        self.orig.lv(&self.name).expect("checked").size_extents()
    }

    /// lvm2's `generate_lv_name(vg, "<lv>_<suffix>_%d")`: one more than
    /// the highest number in use.
    fn gen_name(&self, suffix: &str) -> String {
        let prefix = format!("{}_{suffix}_", self.name);
        let high = self
            .vg
            .lvs
            .iter()
            .filter_map(|l| l.name.strip_prefix(&prefix))
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<i64>().ok()
            })
            .max()
            .unwrap_or(-1);
        format!("{prefix}{}", high + 1)
    }

    fn new_lv(&self, name: String, chunks: &[Chunk]) -> Lv {
        super::chunks_lv(
            name,
            crate::uuid::format(&crate::uuid::generate()),
            vec!["READ".into(), "WRITE".into()],
            chunks,
            self.req.creation_time,
            self.req.creation_host.clone(),
        )
    }

    /// Add a newly allocated sub-LV: visible in the first commit, hidden
    /// (with `REBUILD` when asked) in the array.
    fn add_new_lv(&mut self, name: &str, chunks: &[Chunk], rebuild: bool) {
        let mut first = self.new_lv(name.to_string(), chunks);
        first.status.push("VISIBLE".into());
        self.new_lvs.push(first);
        let mut lv = self.new_lv(name.to_string(), chunks);
        lv.id = self.new_lvs.last().expect("pushed").id.clone();
        if rebuild {
            lv.status.push("REBUILD".into());
        }
        self.vg.lvs.push(lv);
    }

    fn pvs_of(&self, names: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if let Some(l) = self.vg.lv(n) {
                for s in &l.segments {
                    for a in &s.areas {
                        if let Area::Pv { pv, .. } = a {
                            if !out.contains(pv) {
                                out.push(pv.clone());
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The allowed PVs minus `avoid`, as allocation candidates.
    fn candidates(&self, avoid: &[String]) -> Vec<Candidate> {
        match self.req.candidates {
            Some(c) => c
                .iter()
                .filter(|c| !avoid.contains(&c.pv))
                .cloned()
                .collect(),
            None => self
                .vg
                .pvs
                .iter()
                .filter(|p| !avoid.contains(&p.key))
                .map(|p| Candidate {
                    pv: p.key.clone(),
                    ranges: vec![],
                })
                .collect(),
        }
    }

    /// `_convert_striped_to_raid0`: one linear image LV per stripe holding
    /// that stripe's areas; the LV becomes one raid0 segment.
    fn striped_to_raid0(&mut self) {
        let lv = self.orig.lv(&self.name).expect("checked").clone();
        let n = lv.segments[0].areas.len();
        self.stripe_size = lv.segments[0].stripe_size;
        for s in 0..n {
            let name = self.gen_name("rimage");
            let mut img = self.new_lv(name.clone(), &[]);
            let mut le = 0;
            for seg in &lv.segments {
                let len = seg.extent_count / n as u64;
                let mut piece = Segment {
                    start_extent: le,
                    extent_count: len,
                    segtype: SegType::Striped,
                    tags: vec![],
                    areas: vec![seg.areas[s].clone()],
                    stripe_size: None,
                    raid: None,
                    extra: vec![],
                };
                le += len;
                // lv_merge_segments: join runs that continue on one PV.
                if let Some(last) = img.segments.last_mut() {
                    if let (Area::Pv { pv: a, pe: ap }, Area::Pv { pv: b, pe: bp }) =
                        (&last.areas[0], &piece.areas[0])
                    {
                        if a == b && ap + last.extent_count == *bp {
                            last.extent_count += len;
                            continue;
                        }
                    }
                }
                piece.start_extent = le - len;
                img.segments.push(piece);
            }
            self.vg.lvs.push(img);
            self.images.push(name);
            self.metas.push(None);
        }
        self.t = RaidType::Raid0;
    }

    /// `_raid0_add_or_remove_metadata_lvs` (add): a metadata LV per image,
    /// on the image's PV (else on a PV no other image uses).
    fn add_raid0_metas(&mut self) -> Result<(), RaidError> {
        let region = self.req.default_region_size;
        for s in 0..self.images.len() {
            let image = self.images[s].clone();
            let len = self.vg.lv(&image).expect("image").size_extents();
            let m = rmeta_extents(len, region, self.vg.extent_size);
            let others: Vec<&str> = self
                .images
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != s)
                .map(|(_, n)| n.as_str())
                .chain(
                    self.metas
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != s)
                        .filter_map(|(_, m)| m.as_deref()),
                )
                .collect();
            let avoid = self.pvs_of(&others);
            let own = self.pvs_of(&[image.as_str()]);
            let first: Vec<Candidate> = match self.req.candidates {
                Some(_) => self.candidates(&avoid),
                None => own
                    .iter()
                    .map(|pv| Candidate {
                        pv: pv.clone(),
                        ranges: vec![],
                    })
                    .collect(),
            };
            let req = Request {
                areas: 1,
                extents_per_area: m,
                policy: self.req.policy,
                previous: vec![],
            };
            let got = match alloc::allocate(&self.vg, &req, Some(&first)) {
                Ok(c) => c,
                Err(_) => alloc::allocate(&self.vg, &req, Some(&self.candidates(&avoid)))?,
            };
            let name = self.gen_name("rmeta");
            self.wipe.push(got[0][0].clone());
            self.add_new_lv(&name, &got[0], false);
            self.metas[s] = Some(name);
        }
        self.t = RaidType::Raid0Meta;
        Ok(())
    }

    /// `_alloc_image_components` + `_raid_add_images`: `count` new
    /// metadata/data pairs at the end, each pair on one PV that no image
    /// of the LV uses, flagged for rebuild.
    fn add_images(&mut self, count: u64) -> Result<(), RaidError> {
        let per_image = self.vg.lv(&self.images[0]).expect("image").size_extents();
        let mine: Vec<&str> = self
            .images
            .iter()
            .map(String::as_str)
            .chain(self.metas.iter().flatten().map(String::as_str))
            .collect();
        let avoid = self.pvs_of(&mine);
        let cands = self.candidates(&avoid);
        // lvm2 sizes the metadata for all new images together and with
        // the default region size (the segment has none at this point).
        let meta = rmeta_extents(
            per_image * count,
            self.req.default_region_size,
            self.vg.extent_size,
        );
        let req = RaidRequest {
            images: count as usize,
            data_images: count as usize,
            extents_per_image: per_image,
            meta_extents: meta,
            policy: self.req.policy,
            approx: false,
            previous_end: vec![],
            existing: vec![],
            cling_to: vec![],
        };
        let a = alloc::allocate_raid(&self.vg, &req, Some(&cands))?;
        for s in 0..count as usize {
            let m = a.meta[s].clone().expect("meta asked for");
            let meta_name = self.gen_name("rmeta");
            self.wipe.push(m.clone());
            self.add_new_lv(&meta_name, std::slice::from_ref(&m), true);
            let image_name = self.gen_name("rimage");
            self.add_new_lv(&image_name, &a.data[s], true);
            self.images.push(image_name);
            self.metas.push(Some(meta_name));
        }
        Ok(())
    }

    fn set_rebuild(&mut self, s: usize, meta: bool, image: bool) {
        let set = |lv: Option<&mut Lv>, on: bool| {
            if let Some(lv) = lv {
                lv.status.retain(|f| f != "REBUILD");
                if on {
                    lv.status.push("REBUILD".into());
                }
            }
        };
        let img = self.images[s].clone();
        set(self.vg.lv_mut(&img), image);
        if let Some(m) = self.metas[s].clone() {
            set(self.vg.lv_mut(&m), meta);
        }
    }

    /// `_clear_meta_lvs`: every metadata LV is wiped before the array
    /// changes its device roles.
    fn clear_all_metas(&mut self) {
        for m in self.metas.clone().into_iter().flatten() {
            if let Some(Area::Pv { pv, pe }) = self
                .vg
                .lv(&m)
                .and_then(|l| l.segments.first())
                .and_then(|s| s.areas.first())
            {
                let c = Chunk {
                    pv: pv.clone(),
                    pe: *pe,
                    len: 1,
                };
                if !self.wipe.contains(&c) {
                    self.wipe.push(c);
                }
            }
        }
    }

    /// Rename a sub-LV leaving the array to `<name>_extracted` and make it
    /// visible (it stays until the last commit).
    fn extract(&mut self, name: &str) {
        let new = format!("{name}_extracted");
        let lv = self.vg.lv_mut(name).expect("sub-LV");
        lv.name = new.clone();
        lv.status.retain(|f| f != "REBUILD");
        if !lv.status.iter().any(|f| f == "VISIBLE") {
            lv.status.push("VISIBLE".into());
        }
        self.extracted.push(new);
    }

    fn extract_last_pair(&mut self) {
        let image = self.images.pop().expect("image");
        let meta = self.metas.pop().flatten();
        if let Some(m) = meta {
            self.extract(&m);
        }
        self.extract(&image);
    }

    /// `_raid0_add_or_remove_metadata_lvs` (remove).
    fn extract_metas(&mut self) {
        for m in std::mem::take(&mut self.metas).into_iter().flatten() {
            self.extract(&m);
        }
        self.metas = vec![None; self.images.len()];
        self.t = RaidType::Raid0;
    }

    /// `_shift_area_lvs(seg, s1, s2)`: move the pair at `s1` to `s2`.
    fn shift(&mut self, s1: usize, s2: usize) {
        let image = self.images.remove(s1);
        self.images.insert(s2, image);
        let meta = self.metas.remove(s1);
        self.metas.insert(s2, meta);
    }

    /// `_rename_area_lvs(lv, NULL)`: each pair named after its slot.
    fn rename_by_position(&mut self) {
        let mut map: Vec<(String, String)> = Vec::new();
        for s in 0..self.images.len() {
            map.push((self.images[s].clone(), format!("{}_rimage_{s}", self.name)));
            if let Some(m) = &self.metas[s] {
                map.push((m.clone(), format!("{}_rmeta_{s}", self.name)));
            }
        }
        for lv in &mut self.vg.lvs {
            if let Some((_, to)) = map.iter().find(|(from, _)| *from == lv.name) {
                lv.name = to.clone();
            }
        }
        for s in 0..self.images.len() {
            self.images[s] = format!("{}_rimage_{s}", self.name);
            if self.metas[s].is_some() {
                self.metas[s] = Some(format!("{}_rmeta_{s}", self.name));
            }
        }
    }

    /// `_reorder_raid10_near_seg_areas(reorder_to_raid10_near)`: stripes
    /// then their new mirrors → each mirror next to its stripe.
    fn reorder_to_raid10(&mut self, copies: usize) {
        let n = self.images.len();
        let stripes = n / copies;
        let mut idx = vec![0; n];
        let mut ss = 0;
        for (s, slot) in idx.iter_mut().enumerate() {
            if s < stripes {
                *slot = s * copies;
            } else {
                let factor = s % stripes;
                if factor == 0 {
                    ss += 1;
                }
                *slot = ss + factor * copies;
            }
        }
        self.permute(&idx);
    }

    /// `_reorder_raid10_near_seg_areas(reorder_from_raid10_near)`: the
    /// first copy of each stripe first, the other copies after them.
    fn reorder_from_raid10(&mut self, copies: usize) {
        let n = self.images.len();
        let stripes = n / copies;
        let mut idx = vec![0; n];
        let (mut i1, mut i2) = (0, stripes);
        for st in 0..stripes {
            for dc in 0..copies {
                let s = st * copies + dc;
                if dc == 0 {
                    idx[s] = i1;
                    i1 += 1;
                } else {
                    idx[s] = i2;
                    i2 += 1;
                }
            }
        }
        self.permute(&idx);
    }

    /// Move the pair at `s` to `idx[s]`.
    fn permute(&mut self, idx: &[usize]) {
        let mut images = self.images.clone();
        let mut metas = self.metas.clone();
        for (s, &d) in idx.iter().enumerate() {
            images[d] = self.images[s].clone();
            metas[d] = self.metas[s].clone();
        }
        self.images = images;
        self.metas = metas;
    }

    /// `_raid45_to_raid54_wrapper`: move the parity pair between the first
    /// (raid4) and the last (raid5_n) slot, wipe the metadata (the device
    /// roles change) and rename the pairs after their slots.
    fn raid45_to_raid54(&mut self, to: SegT, new_region: u64) {
        let last = self.images.len() - 1;
        if self.t.is_raid4() {
            self.shift(0, last);
        } else {
            self.shift(last, 0);
        }
        self.clear_all_metas();
        if new_region != 0 {
            self.region = Some(new_region);
        }
        self.t = to.raid().expect("raid4/raid5_n");
        self.rename_by_position();
    }

    /// `_convert_raid0_to_striped`: striped segments cut where any image's
    /// segment ends; the image LVs go (their extents are the LV's now),
    /// metadata LVs leave the array.
    fn raid0_to_striped(&mut self) {
        if self.metas.iter().any(Option::is_some) {
            self.extract_metas();
        }
        let n = self.images.len() as u64;
        let imgs: Vec<Lv> = self
            .images
            .iter()
            .map(|i| self.vg.lv(i).expect("image").clone())
            .collect();
        let area_len = imgs[0].size_extents();
        let at = |lv: &Lv, le: u64| -> (Area, u64) {
            let seg = lv
                .segments
                .iter()
                .find(|s| s.start_extent <= le && le < s.start_extent + s.extent_count)
                .expect("image covers the LV");
            let off = le - seg.start_extent;
            let area = match &seg.areas[0] {
                Area::Pv { pv, pe } => Area::Pv {
                    pv: pv.clone(),
                    pe: pe + off,
                },
                a => a.clone(),
            };
            (area, seg.extent_count - off)
        };
        let mut segs = Vec::new();
        let mut le = 0;
        while le < area_len {
            let parts: Vec<(Area, u64)> = imgs.iter().map(|l| at(l, le)).collect();
            let len = parts.iter().map(|p| p.1).min().expect("images");
            segs.push(Segment {
                start_extent: le * n,
                extent_count: len * n,
                segtype: SegType::Striped,
                tags: vec![],
                areas: parts.into_iter().map(|p| p.0).collect(),
                stripe_size: self.stripe_size,
                raid: None,
                extra: vec![],
            });
            le += len;
        }
        let gone = std::mem::take(&mut self.images);
        self.vg.lvs.retain(|l| !gone.contains(&l.name));
        self.metas.clear();
        self.striped_result = Some(segs);
    }

    /// The commits: new sub-LVs, the array, the extracted sub-LVs gone.
    fn finish(mut self) -> Vec<Step> {
        let mut steps = Vec::new();
        if !self.new_lvs.is_empty() {
            let mut vg = self.orig.clone();
            vg.lvs.extend(self.new_lvs.iter().cloned());
            steps.push(Step {
                wipe_first: vec![],
                vg,
            });
        }
        // Sub-LVs in the array are hidden.
        let members: Vec<String> = self
            .images
            .iter()
            .cloned()
            .chain(self.metas.iter().flatten().cloned())
            .collect();
        for lv in &mut self.vg.lvs {
            if members.contains(&lv.name) {
                lv.status.retain(|f| f != "VISIBLE");
            }
        }
        let name = self.name.clone();
        let lv = self.vg.lv_mut(&name).expect("LV");
        let extents = lv.size_extents();
        if let Some(segs) = self.striped_result.take() {
            lv.segments = segs;
        } else {
            let t = self.t;
            let old = lv.segments[0].clone();
            let old_raid = old.raid.clone().unwrap_or_default();
            let raid0 = t.is_any_raid0();
            lv.segments = vec![Segment {
                start_extent: 0,
                extent_count: extents,
                segtype: SegType::Raid(t),
                tags: old.tags.clone(),
                areas: vec![],
                stripe_size: self.stripe_size.filter(|_| t.is_striped_layout()),
                raid: Some(RaidSeg {
                    meta: if t == RaidType::Raid0 {
                        vec![None; self.images.len()]
                    } else {
                        self.metas.clone()
                    },
                    images: self.images.iter().cloned().map(Some).collect(),
                    device_count: self.images.len() as u64,
                    region_size: if raid0 { None } else { self.region },
                    data_copies: if t.is_raid10() {
                        self.data_copies
                    } else {
                        None
                    },
                    writebehind: old_raid.writebehind.filter(|_| t.is_raid1()),
                    min_recovery_rate: old_raid.min_recovery_rate.filter(|_| !raid0),
                    max_recovery_rate: old_raid.max_recovery_rate.filter(|_| !raid0),
                    data_offset: None,
                    reshape_count: None,
                }),
                extra: vec![],
            }];
        }
        steps.push(Step {
            wipe_first: std::mem::take(&mut self.wipe),
            vg: self.vg.clone(),
        });
        if !self.extracted.is_empty() {
            let mut vg = self.vg;
            vg.lvs.retain(|l| !self.extracted.contains(&l.name));
            steps.push(Step {
                wipe_first: vec![],
                vg,
            });
        }
        steps
    }
}

#[cfg(test)]
#[path = "takeover_tests.rs"]
mod tests;
