//! Helpers the raid unit tests (tests.rs, convert_tests.rs,
//! takeover_tests.rs) share.

use super::{CreateSpec, Layout};
use crate::alloc::Policy;
use crate::model::{parse_vg_text, RaidType, Vg};

/// The VG lvm2 wrote at fixture state `state` of the lvtypes capture.
pub fn fixture(state: &str) -> Vg {
    let path = format!(
        "{}/tests/fixtures/lvm2/lvtypes/{state}/vgcfgbackup.vgraid.vg",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_vg_text(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .0
}

/// Fresh random LV ids.
pub fn ids() -> impl FnMut() -> String {
    || crate::uuid::format(&crate::uuid::generate())
}

/// `lvcreate --type T -i stripes [-m mirrors] -l extents -n name`, region
/// size 2 MiB, stripe size 64 KiB (none for raid1).
pub fn spec(name: &str, t: RaidType, stripes: u64, mirrors: u64, extents: u64) -> CreateSpec {
    CreateSpec {
        name: name.into(),
        layout: Layout {
            raid_type: t,
            stripes,
            mirrors,
        },
        stripe_size: (t != RaidType::Raid1).then_some(128),
        region_size: 4096,
        default_region_size: 4096,
        extents,
        approx: false,
        nosync: false,
        min_recovery_rate: None,
        max_recovery_rate: None,
        policy: Policy::Normal,
        allocation_policy: None,
        read_only: false,
        tags: vec![],
        creation_time: None,
        creation_host: None,
    }
}
