//! The report module against real lvm2 output.
//!
//! 1. Every state in `tests/fixtures/lvm2` holds the VG metadata lvm2 wrote
//!    (`vgcfgbackup.<vg>.vg`) and what lvm2's own `lvs`/`pvs` printed for it
//!    (`lvs.<vg>.json`, `pvs.json`). We render the same reports from the
//!    metadata and compare byte for byte. The `fakedm` states ran with a
//!    userspace device-mapper stand-in, so every LV was active (inactive
//!    after `vgchange -an`); the `noact` states ran with `activation = 0`,
//!    where lvm2 reports the state as unknown (`X`).
//! 2. `tests/report_oracle/*` holds plain, JSON and option variants that
//!    real lvm2 2.03.16 printed on this project's build host for the
//!    `lvtypes/28-vgchange-an` disks with `activation = 0` (see
//!    `tests/report_oracle/README.md`).

use std::fs;
use std::path::{Path, PathBuf};

use lvmetad::model::{parse_vg_text, Vg};
use lvmetad::report::{
    render, ActiveInfo, LvState, OutputFormat, PvDevice, ReportInput, ReportKind, ReportOptions,
    VgView,
};
use lvmetad::units::Units;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lvm2")
}

fn state_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for group in fs::read_dir(fixtures()).unwrap() {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        for state in fs::read_dir(&group).unwrap() {
            let state = state.unwrap().path();
            if state.join("command.txt").exists() {
                dirs.push(state);
            }
        }
    }
    dirs.sort();
    assert!(dirs.len() > 40, "fixtures missing: {dirs:?}");
    dirs
}

/// Strip a `"1234B"` size as printed with `--units b`.
fn bytes(v: &serde_json::Value) -> u64 {
    v.as_str().unwrap().trim_end_matches('B').parse().unwrap()
}

/// The label facts of each device from the state's `pvs.json`, by UUID.
/// Orphan PVs report their whole device as `pv_size`; that is all the
/// label-derived size an orphan row shows.
fn devices_from_pvs_json(dir: &Path) -> Vec<(PvDevice, String)> {
    let text = fs::read_to_string(dir.join("pvs.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = json["report"][0]["pv"].as_array().unwrap();
    rows.iter()
        .map(|r| {
            let dev = PvDevice {
                name: r["pv_name"].as_str().unwrap().to_string(),
                uuid: r["pv_uuid"].as_str().unwrap().to_string(),
                dev_size: bytes(&r["pv_size"]),
                label_dev_size: bytes(&r["pv_size"]),
                pe_start: bytes(&r["pe_start"]),
                mda_count: r["pv_mda_count"].as_str().unwrap().parse().unwrap(),
                mda_used: None,
                mda_size: bytes(&r["pv_mda_size"]),
                ext_version: 2,
                ..Default::default()
            };
            (dev, r["vg_name"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Compare outputs line by line so a failure names the first differing
/// line instead of dumping two walls of text.
fn assert_same(got: &str, want: &str, what: &str) {
    if got != want {
        // Leave both for `diff` when a case fails.
        let dir = std::env::temp_dir();
        let _ = fs::write(dir.join("report_got.txt"), got);
        let _ = fs::write(dir.join("report_want.txt"), want);
    }
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{what}: line {} differs", n + 1);
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "{what}: line count differs"
    );
    assert_eq!(got, want, "{what}");
}

fn mode(dir: &Path) -> (bool, bool) {
    let cmd = fs::read_to_string(dir.join("command.txt")).unwrap();
    let fakedm = cmd.starts_with("# mode: fakedm");
    let deactivated = cmd.contains("vgchange -an");
    (fakedm, deactivated)
}

fn input_for(dir: &Path) -> ReportInput {
    let devs = devices_from_pvs_json(dir);
    let (fakedm, deactivated) = mode(dir);
    let mut vgs = Vec::new();
    let mut in_vg = Vec::new();
    let mut backups: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("vgcfgbackup.")
        })
        .collect();
    backups.sort();
    for b in backups {
        let (vg, _) = parse_vg_text(&fs::read_to_string(&b).unwrap()).unwrap();
        let mut view = VgView::new(vg.clone());
        for pv in &vg.pvs {
            if let Some((d, _)) = devs.iter().find(|(d, _)| d.uuid == pv.id) {
                view.devices.insert(pv.key.clone(), d.clone());
                in_vg.push(d.uuid.clone());
            }
        }
        if fakedm && !deactivated {
            for lv in &vg.lvs {
                view.lv_states
                    .insert(lv.name.clone(), LvState::Active(ActiveInfo::default()));
            }
        }
        vgs.push(view);
    }
    let orphans = devs
        .into_iter()
        .filter(|(d, vg)| vg.is_empty() && !in_vg.contains(&d.uuid))
        .map(|(d, _)| d)
        .collect();
    ReportInput {
        vgs,
        orphans,
        activation: fakedm,
    }
}

fn json_opts(fields: &str) -> ReportOptions {
    ReportOptions {
        fields: vec![fields.to_string()],
        units: Units::parse("b").unwrap(),
        format: OutputFormat::Json,
        ..Default::default()
    }
}

#[test]
fn lvs_json_matches_every_fixture_state() {
    let mut checked = 0;
    for dir in state_dirs() {
        let input = input_for(&dir);
        for view in &input.vgs {
            let want = dir.join(format!("lvs.{}.json", view.vg.name));
            let Ok(want) = fs::read_to_string(&want) else {
                continue;
            };
            let one = ReportInput {
                vgs: vec![view.clone()],
                ..input.clone()
            };
            let mut opts = json_opts(
                "lv_name,lv_attr,segtype,stripes,stripe_size,region_size,devices,seg_pe_ranges,lv_size",
            );
            opts.all = true;
            let got = render(ReportKind::Lvs, &one, &opts).unwrap();
            assert_same(&got, &want, &format!("lvs of {}", dir.display()));
            checked += 1;
        }
    }
    assert!(checked >= 39, "only {checked} lvs fixtures compared");
}

#[test]
fn pvs_json_matches_every_fixture_state() {
    let mut checked = 0;
    for dir in state_dirs() {
        let Ok(want) = fs::read_to_string(dir.join("pvs.json")) else {
            continue;
        };
        let input = input_for(&dir);
        let opts = json_opts("+pv_uuid,pe_start,pv_mda_count,pv_mda_size");
        let got = render(ReportKind::Pvs, &input, &opts).unwrap();
        assert_same(&got, &want, &format!("pvs of {}", dir.display()));
        checked += 1;
    }
    assert!(checked > 40, "only {checked} pvs fixtures compared");
}

/// Parse the argument list an oracle case was run with into options.
fn parse_args(args: &[&str]) -> (ReportKind, ReportOptions) {
    let kind = match args[0] {
        "pvs" => ReportKind::Pvs,
        "vgs" => ReportKind::Vgs,
        "lvs" => ReportKind::Lvs,
        other => panic!("unknown command {other}"),
    };
    let mut o = ReportOptions::default();
    let mut kind = kind;
    let mut it = args[1..].iter();
    while let Some(&a) = it.next() {
        let mut val = || it.next().unwrap().to_string();
        match a {
            "-o" => o.fields.push(val()),
            "-O" => o.sort.push(val()),
            "-a" => o.all = true,
            "-v" => o.verbose = true,
            "--segments" => kind = ReportKind::Segs,
            "--units" => o.units = Units::parse(&val()).unwrap(),
            "--nosuffix" => o.suffix = false,
            "--noheadings" => o.headings = false,
            "--separator" => o.separator = Some(val()),
            "--aligned" => o.aligned = true,
            "--nameprefixes" => o.name_prefixes = true,
            "--unquoted" => o.unquoted = true,
            "--rows" => o.rows = true,
            "--binary" => o.binary = true,
            "--reportformat" => {
                o.format = match val().as_str() {
                    "json" => OutputFormat::Json,
                    _ => OutputFormat::Basic,
                }
            }
            other if other.starts_with('-') => panic!("unsupported option {other}"),
            name => o.select.push(name.to_string()),
        }
    }
    (kind, o)
}

/// Metadata and device facts of an oracle set: `<set>/<set>.vg`, or for
/// `vgraid` the 28-vgchange-an fixture, and the devices lvm2 saw as
/// recorded in `devices.json`.
fn oracle_input(dir: &Path, drop_device: Option<&str>) -> ReportInput {
    let set = dir.file_name().unwrap().to_str().unwrap();
    let own = dir.join(format!("{set}.vg"));
    let vg_file = if own.exists() {
        own
    } else {
        fixtures().join(format!("lvtypes/28-vgchange-an/vgcfgbackup.{set}.vg"))
    };
    let text = fs::read_to_string(vg_file).unwrap();
    let (vg, _): (Vg, _) = parse_vg_text(&text).unwrap();
    let devs: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("devices.json")).unwrap()).unwrap();
    let mut view = VgView::new(vg.clone());
    let mut orphans = Vec::new();
    for d in devs.as_array().unwrap() {
        let s = |k: &str| d[k].as_str().unwrap().to_string();
        let n = |k: &str| d[k].as_u64().unwrap();
        let dev = PvDevice {
            name: s("name"),
            uuid: s("uuid"),
            dev_size: n("dev_size"),
            label_dev_size: n("dev_size"),
            pe_start: n("pe_start"),
            mda_count: n("mda_count") as u32,
            mda_used: None,
            mda_size: n("mda_size"),
            mda_free: n("mda_free"),
            ext_version: 2,
            in_use: false,
            ba_start: 0,
            ba_size: 0,
            major: n("major") as u32,
            minor: n("minor") as u32,
        };
        if Some(dev.name.as_str()) == drop_device {
            continue;
        }
        match vg.pvs.iter().find(|p| p.id == dev.uuid) {
            Some(pv) => {
                view.devices.insert(pv.key.clone(), dev);
            }
            None => orphans.push(dev),
        }
    }
    ReportInput {
        vgs: vec![view],
        orphans,
        activation: false,
    }
}

fn oracle_sets() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_oracle");
    let mut sets: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cases.txt").exists())
        .collect();
    sets.sort();
    sets
}

#[test]
fn matches_real_lvm2_without_activation() {
    let mut checked = 0;
    for root in oracle_sets() {
        checked += check_oracle_set(&root);
    }
    assert!(checked > 40, "only {checked} oracle cases");
}

fn check_oracle_set(root: &Path) -> usize {
    let cases = fs::read_to_string(root.join("cases.txt")).unwrap();
    let mut checked = 0;
    for line in cases
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        // "<name>|<drop device or ->|<args separated by \t>"
        let parts: Vec<&str> = line.splitn(3, '|').collect();
        let (name, drop, args) = (parts[0], parts[1], parts[2]);
        let args: Vec<&str> = args.split('\t').collect();
        let (kind, opts) = parse_args(&args);
        let drop = (drop != "-").then_some(drop);
        let input = oracle_input(root, drop);
        let want = fs::read_to_string(root.join("out").join(format!("{name}.txt"))).unwrap();
        let got = render(kind, &input, &opts).unwrap_or_else(|e| format!("error: {e}\n"));
        assert_same(
            &got,
            &want,
            &format!("case {}/{name}: {args:?}", root.display()),
        );
        checked += 1;
    }
    checked
}

#[test]
fn unknown_fields_are_refused() {
    let input = oracle_input(&oracle_sets()[0], None);
    let opts = ReportOptions {
        fields: vec!["lv_name,bogus".into()],
        ..Default::default()
    };
    let err = render(ReportKind::Lvs, &input, &opts).unwrap_err();
    assert_eq!(err.to_string(), "Unrecognised field: bogus");
}
