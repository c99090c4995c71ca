//! Device-mapper tables against what real lvm2 2.03.16 loaded on Debian's
//! 6.1 kernel (dm-raid 1.15.1), captured in the QEMU guest
//! (tests/fixtures/dm-golden/<type>/, copied from the shared golden run):
//! for every LV type lvm2 created there, the VG metadata right after
//! `lvcreate` must give exactly the golden `dmsetup table` (every device:
//! name, start, length, target, parameters), the names, UUIDs and creation
//! order of `dmsetup info`, and the device tree of `dmsetup tree`; and the
//! golden `dmsetup status` lines must parse.
//!
//! `mirror` is not in the fixtures: this project does not activate the
//! old mirror target (its metadata is kept verbatim, SegType::Unknown).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use lvmetad::activate::{
    lv_devices, parse_status_line, DevNum, MapResolver, ReadAhead, TableOptions, TargetStatus,
};
use lvmetad::model::parse_vg_text;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dm-golden")
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

/// `dmsetup info`: name → (device number, UUID, read-ahead).
fn parse_info(text: &str) -> BTreeMap<String, (DevNum, String, u64)> {
    let mut out = BTreeMap::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .unwrap_or_else(|| panic!("no {k} in {block}"))
                .trim()
                .to_string()
        };
        let (ma, mi) = field("Major, minor:")
            .split_once(", ")
            .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
            .unwrap();
        out.insert(
            field("Name:"),
            (
                DevNum::new(ma, mi),
                field("UUID:"),
                field("Read Ahead:").parse().unwrap(),
            ),
        );
    }
    out
}

/// `dmsetup table`: name → its lines after `name: `.
fn parse_table(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.is_empty()) {
        let (name, rest) = l.split_once(": ").unwrap();
        out.entry(name.to_string())
            .or_default()
            .push(rest.to_string());
    }
    out
}

/// `dmsetup tree`: the named devices with their numbers, and the root.
fn parse_tree(text: &str) -> (String, BTreeMap<String, DevNum>) {
    let mut named = BTreeMap::new();
    let mut root = None;
    for l in text.lines() {
        let (left, num) = l.rsplit_once(" (").unwrap();
        let num: DevNum = num.trim_end_matches(')').parse().unwrap();
        let name = left.trim_start_matches([' ', '|', '`', '-']).to_string();
        if name.is_empty() {
            continue; // a PV
        }
        if root.is_none() {
            root = Some(name.clone());
        }
        named.insert(name, num);
    }
    (root.unwrap(), named)
}

/// The guest's disks are virtio (`/dev/vdX`: major 254, 16 minors each);
/// the PVs' device hints say which disk each PV was.
fn pv_devnum(hint: &str) -> DevNum {
    let letter = hint.strip_prefix("/dev/vd").unwrap();
    assert_eq!(letter.len(), 1, "{hint}");
    DevNum::new(254, 16 * (letter.as_bytes()[0] - b'a') as u32)
}

fn check_type(dir: &Path) -> usize {
    let ty = dir.file_name().unwrap().to_str().unwrap();
    let (vg, _) = parse_vg_text(&read(dir, "1-just-created.vgcfg")).unwrap();
    let visible: Vec<_> = vg.lvs.iter().filter(|l| l.is_visible()).collect();
    assert_eq!(visible.len(), 1, "{ty}: one LV per golden VG");
    let lv = visible[0];

    let info = parse_info(&read(dir, "1-just-created.dmsetup-info.txt"));
    let table = parse_table(&read(dir, "1-just-created.dmsetup-table.txt"));
    let (root, tree) = parse_tree(&read(dir, "1-just-created.dmsetup-tree.txt"));

    // Just created: lvm2 activates with `nosync` when lvcreate had --nosync.
    let opts = TableOptions {
        nosync: lv.has_status("NOTSYNCED"),
        ..Default::default()
    };
    let devs = lv_devices(&vg, &lv.name, &opts).unwrap_or_else(|e| panic!("{ty}: {e}"));

    let mut resolver = MapResolver::default();
    for pv in &vg.pvs {
        resolver
            .pvs
            .insert(pv.key.clone(), pv_devnum(pv.device.as_deref().unwrap()));
    }
    for d in &devs {
        let (num, _, _) = info
            .get(&d.name)
            .unwrap_or_else(|| panic!("{ty}: {} not in the golden info", d.name));
        resolver.dms.insert(d.key.clone(), *num);
    }

    // Exactly the golden devices.
    let names: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        info.keys().map(String::as_str).collect::<Vec<_>>(),
        "{ty}: device names"
    );
    assert_eq!(sorted, table.keys().map(String::as_str).collect::<Vec<_>>());

    // Creation order: the guest had no other DM devices, so lvm2's
    // creation order is the order of the minors.
    let minors: Vec<u32> = devs.iter().map(|d| info[&d.name].0.minor).collect();
    let mut in_order = minors.clone();
    in_order.sort();
    assert_eq!(minors, in_order, "{ty}: creation order {names:?}");
    assert_eq!(devs.last().unwrap().lv, lv.name, "{ty}: the LV comes last");

    let mut rendered = String::new();
    for d in &devs {
        let t = d.render(&resolver).unwrap();
        rendered.push_str(&t.to_string());
        assert_eq!(t.uuid, info[&d.name].1, "{ty}: UUID of {}", d.name);
        let got: Vec<String> = t.targets.iter().map(|t| t.to_string()).collect();
        // dmsetup prints a target without parameters with a trailing blank.
        let want: Vec<String> = table[&d.name]
            .iter()
            .map(|l| l.trim_end().to_string())
            .collect();
        let got_trim: Vec<String> = got.iter().map(|l| l.trim_end().to_string()).collect();
        assert_eq!(got_trim, want, "{ty}: table of {}", d.name);
        assert!(!d.read_only);
        // Read-ahead: the guest's virtio disks had 256 sectors.
        let ra = info[&d.name].2;
        match d.read_ahead.as_ref().unwrap() {
            ReadAhead::Minimum(n) => assert_eq!(*n, ra, "{ty}: read-ahead of {}", d.name),
            ReadAhead::MinimumOfPvs(pvs) => {
                assert!(!pvs.is_empty());
                assert_eq!(ra, 256, "{ty}: read-ahead of {}", d.name);
            }
            ReadAhead::Fixed(n) => panic!("{ty}: fixed read-ahead {n}"),
        }
    }

    // The whole `dmsetup table` output (sorted by name, as dmsetup lists).
    let mut got: Vec<&str> = rendered.lines().collect();
    got.sort_by_key(|l| l.split_once(": ").unwrap().0);
    let golden_table = read(dir, "1-just-created.dmsetup-table.txt");
    let want: Vec<&str> = golden_table.lines().map(str::trim_end).collect();
    let got: Vec<&str> = got.into_iter().map(str::trim_end).collect();
    assert_eq!(got, want, "{ty}: dmsetup table");

    // The tree: same devices and numbers, the LV at the root.
    assert_eq!(root, devs.last().unwrap().name, "{ty}: tree root");
    let ours: BTreeMap<String, DevNum> = devs
        .iter()
        .map(|d| (d.name.clone(), info[&d.name].0))
        .collect();
    assert_eq!(ours, tree, "{ty}: tree");

    // Status lines parse, and the raid line matches the table.
    let top_spec = devs.last().unwrap();
    let images = (top_spec.targets[0].target_type == "raid")
        .then(|| devs.iter().filter(|d| d.name.contains("_rimage_")).count());
    for f in [
        "1-just-created.dmsetup-status.txt",
        "2-synced.dmsetup-status.txt",
    ] {
        let mut by_name = HashMap::new();
        for l in read(dir, f).lines() {
            let s = parse_status_line(l).unwrap_or_else(|e| panic!("{ty}/{f}: {e}"));
            let st = s.status().unwrap_or_else(|e| panic!("{ty}/{f}: {e}"));
            by_name.insert(s.name.clone().unwrap(), (s, st));
        }
        let top = &by_name[&devs.last().unwrap().name];
        assert_eq!(
            top.0.length,
            devs.last().unwrap().targets[0].length,
            "{ty}/{f}"
        );
        match (&top.1, images) {
            (TargetStatus::Raid(r), Some(n)) => {
                assert_eq!(r.devices as usize, n, "{ty}/{f}");
                assert_eq!(r.health.len(), n);
                let tt = devs.last().unwrap().targets[0].render(&resolver).unwrap();
                assert!(tt.params.starts_with(&r.raid_type), "{ty}/{f}");
                if f.starts_with('2') {
                    assert!(r.is_in_sync(), "{ty}/{f}: {r:?}");
                }
            }
            (TargetStatus::Linear, None) => {}
            (TargetStatus::Striped { devices, health }, None) => {
                assert_eq!(devices.len(), lv.segments[0].areas.len());
                assert!(health.chars().all(|c| c == 'A'));
            }
            (s, _) => panic!("{ty}/{f}: unexpected status {s:?}"),
        }
        for d in &devs[..devs.len() - 1] {
            assert_eq!(by_name[&d.name].1, TargetStatus::Linear, "{ty}/{f}");
        }
    }
    devs.len()
}

#[test]
fn tables_match_lvm2_for_every_type() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(golden())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut checked = Vec::new();
    for d in &dirs {
        let n = check_type(d);
        checked.push((d.file_name().unwrap().to_str().unwrap().to_string(), n));
    }
    let types: Vec<&str> = checked.iter().map(|(t, _)| t.as_str()).collect();
    for must in [
        "linear",
        "striped",
        "raid0",
        "raid0_meta",
        "raid1_m1",
        "raid1_m2",
        "raid1_nosync",
        "raid4",
        "raid5",
        "raid5_n",
        "raid5_la",
        "raid5_ra",
        "raid5_ls",
        "raid5_rs",
        "raid6",
        "raid6_zr",
        "raid6_nr",
        "raid6_nc",
        "raid6_n_6",
        "raid6_la_6",
        "raid6_ra_6",
        "raid6_ls_6",
        "raid6_rs_6",
        "raid10",
        "raid10_near",
    ] {
        assert!(types.contains(&must), "no golden for {must}");
    }
    assert_eq!(checked.len(), 27, "{checked:?}");
}
