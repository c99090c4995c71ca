//! Unit tests: the states real lvm2 cannot show on a host without
//! device-mapper (active LVs with a dm-raid status), attribute characters,
//! option handling and the output layouts. Whole-report comparisons with
//! real lvm2 output are in `tests/report_fixtures.rs`.

use super::*;
use crate::model::parse_vg_text;

/// The fixture VG with one LV of every RAID type, linear and striped LVs.
const RAID_VG: &str = include_str!(
    "../../tests/fixtures/lvm2/lvtypes/27-lvcreate-linear-explicit-pe-range/vgcfgbackup.vgraid.vg"
);

fn raid_view() -> VgView {
    let (vg, _) = parse_vg_text(RAID_VG).unwrap();
    let mut view = VgView::new(vg.clone());
    for (i, pv) in vg.pvs.iter().enumerate() {
        view.devices.insert(
            pv.key.clone(),
            PvDevice {
                name: format!("/dev/loop{i}"),
                uuid: pv.id.clone(),
                dev_size: 128 << 20,
                pe_start: 1 << 20,
                mda_count: 1,
                mda_size: 1044480,
                ext_version: 2,
                ..Default::default()
            },
        );
    }
    view
}

fn input(view: VgView) -> ReportInput {
    ReportInput {
        vgs: vec![view],
        orphans: Vec::new(),
        activation: true,
    }
}

/// All LVs active; `raid` gives the dm-raid status of named RAID LVs.
fn all_active(mut view: VgView, raid: &[(&str, RaidStatus)]) -> VgView {
    for lv in &view.vg.lvs {
        let status = raid
            .iter()
            .find(|(n, _)| *n == lv.name)
            .map(|(_, s)| s.clone());
        view.lv_states.insert(
            lv.name.clone(),
            LvState::Active(ActiveInfo {
                raid: status,
                ..Default::default()
            }),
        );
    }
    view
}

fn status(health: &str, in_sync: u64, total: u64, action: &str, mismatches: u64) -> RaidStatus {
    RaidStatus {
        health: health.into(),
        in_sync,
        total,
        sync_action: action.into(),
        mismatch_count: mismatches,
    }
}

fn opts(fields: &str) -> ReportOptions {
    ReportOptions {
        fields: vec![fields.into()],
        all: true,
        headings: false,
        separator: Some("|".into()),
        ..Default::default()
    }
}

/// `lvs -a --noheadings --separator '|' -o <fields>` as (row, ...) lines
/// without the two-space indent.
fn lvs(input: &ReportInput, fields: &str) -> Vec<String> {
    render(ReportKind::Lvs, input, &opts(fields))
        .unwrap()
        .lines()
        .map(|l| l.trim_start().to_string())
        .collect()
}

fn row<'a>(rows: &'a [String], name: &str) -> &'a str {
    rows.iter()
        .find(|r| r.split('|').next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}

#[test]
fn active_raid_with_kernel_status() {
    let view = all_active(
        raid_view(),
        &[
            ("raid1m1", status("aA", 1, 4, "recover", 0)),
            ("raid1m2", status("ADA", 4, 4, "idle", 0)),
            ("raid5", status("AAA", 4, 4, "check", 3)),
            ("raid6", status("AAAAA", 1, 2, "reshape", 0)),
            ("raid0", status("AA", 2, 2, "", 0)),
        ],
    );
    let rows = lvs(
        &input(view),
        "lv_name,lv_attr,copy_percent,raid_sync_action,raid_mismatch_count,lv_health_status,lv_active",
    );
    // Syncing raid1: the image not yet in sync is 'I'.
    assert_eq!(
        row(&rows, "raid1m1"),
        "raid1m1|rwi-a-r---|25.00|recover|0||active"
    );
    assert_eq!(
        row(&rows, "[raid1m1_rimage_0]"),
        "[raid1m1_rimage_0]|Iwi-a-r---|||||active"
    );
    assert_eq!(
        row(&rows, "[raid1m1_rimage_1]"),
        "[raid1m1_rimage_1]|iwi-a-r---|||||active"
    );
    // A dead leg: the array and that leg (image and meta) need a refresh.
    assert_eq!(
        row(&rows, "raid1m2"),
        "raid1m2|rwi-a-r-r-|100.00|idle|0|refresh needed|active"
    );
    assert_eq!(
        row(&rows, "[raid1m2_rimage_1]"),
        "[raid1m2_rimage_1]|Iwi-a-r-r-||||refresh needed|active"
    );
    assert_eq!(
        row(&rows, "[raid1m2_rmeta_1]"),
        "[raid1m2_rmeta_1]|ewi-a-r-r-||||refresh needed|active"
    );
    assert_eq!(
        row(&rows, "[raid1m2_rimage_0]"),
        "[raid1m2_rimage_0]|iwi-a-r---|||||active"
    );
    // Mismatches found by a check, and a reshape in progress.
    assert_eq!(
        row(&rows, "raid5"),
        "raid5|rwi-a-r-m-|100.00|check|3|mismatches exist|active"
    );
    assert_eq!(
        row(&rows, "raid6"),
        "raid6|rwi-a-r-s-|50.00|reshape|0||active"
    );
    // raid0 has no sync percentage even with a status.
    assert_eq!(row(&rows, "raid0"), "raid0|rwi-a-r---|||0||active");
    // Without a kernel status an active array is taken as healthy.
    assert_eq!(row(&rows, "raid4"), "raid4|rwi-a-r---|||||active");
    assert_eq!(
        row(&rows, "[raid4_rimage_2]"),
        "[raid4_rimage_2]|iwi-a-r---|||||active"
    );
    assert_eq!(row(&rows, "lin"), "lin|-wi-a-----|||||active");
}

#[test]
fn inactive_and_unknown_states() {
    let inactive = input(raid_view());
    let rows = lvs(
        &inactive,
        "lv_name,lv_attr,lv_active,lv_health_status,lv_permissions",
    );
    assert_eq!(row(&rows, "lin"), "lin|-wi-------|||unknown");
    assert_eq!(row(&rows, "raid1ns"), "raid1ns|Rwi---r---|||unknown");
    assert_eq!(
        row(&rows, "[raid1ns_rimage_0]"),
        "[raid1ns_rimage_0]|Iwi---r---|||unknown"
    );
    assert_eq!(
        row(&rows, "[raid1ns_rmeta_0]"),
        "[raid1ns_rmeta_0]|ewi---r---|||unknown"
    );

    let mut unknown = input(raid_view());
    unknown.activation = false;
    let rows = lvs(&unknown, "lv_name,lv_attr,lv_active,lv_health_status");
    assert_eq!(row(&rows, "lin"), "lin|-wi-XX----|unknown|");
    assert_eq!(row(&rows, "raid10"), "raid10|rwi-XXr-X-|unknown|unknown");
}

#[test]
fn open_suspended_and_read_only_override() {
    let mut view = raid_view();
    view.lv_states.insert(
        "lin".into(),
        LvState::Active(ActiveInfo {
            open_count: 2,
            read_only: true,
            major: 253,
            minor: 4,
            read_ahead: Some(256),
            ..Default::default()
        }),
    );
    view.lv_states.insert(
        "striped".into(),
        LvState::Active(ActiveInfo {
            suspended: true,
            ..Default::default()
        }),
    );
    let o = ReportOptions {
        units: Units::parse("s").unwrap(),
        ..opts("lv_name,lv_attr,lv_permissions,lv_kernel_major,lv_kernel_minor,lv_kernel_read_ahead,lv_device_open,lv_suspended")
    };
    let rows: Vec<String> = render(ReportKind::Lvs, &input(view), &o)
        .unwrap()
        .lines()
        .map(|l| l.trim_start().to_string())
        .collect();
    assert_eq!(
        row(&rows, "lin"),
        "lin|-Ri-ao----|read-only-override|253|4|256S|open|"
    );
    assert_eq!(
        row(&rows, "striped"),
        "striped|-wi-s-----|writeable|0|0|-1||suspended"
    );
    assert_eq!(
        row(&rows, "linpe"),
        "linpe|-wi-------|unknown|-1|-1|-1|unknown|unknown"
    );
}

#[test]
fn percent_rounding_like_libdm() {
    let p = |n, d| fields::percent(n, d).text;
    assert_eq!(p(0, 10), "0.00");
    assert_eq!(p(10, 10), "100.00");
    assert_eq!(p(0, 0), "100.00");
    assert_eq!(p(1, 3), "33.33");
    assert_eq!(p(2, 3), "66.67");
    // Never 0.00 or 100.00 for a value that is not exactly that.
    assert_eq!(p(1, 1_000_000), "0.01");
    assert_eq!(p(999_999, 1_000_000), "99.99");
    assert_eq!(p(1, 8), "12.50");
}

#[test]
fn orphans_and_missing_pvs() {
    let mut view = raid_view();
    view.devices.remove("pv7");
    let input = ReportInput {
        vgs: vec![view],
        orphans: vec![
            PvDevice {
                name: "/dev/sdz".into(),
                uuid: "aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg".into(),
                dev_size: 64 << 20,
                pe_start: 1 << 20,
                mda_count: 1,
                mda_size: 1044480,
                in_use: true,
                ..Default::default()
            },
            PvDevice {
                name: "/dev/sdy".into(),
                dev_size: 32 << 20,
                ..Default::default()
            },
        ],
        activation: false,
    };
    let o = ReportOptions {
        units: Units::parse("m").unwrap(),
        ..opts("pv_name,vg_name,pv_attr,pv_size,pv_free,pv_in_use,vg_attr")
    };
    let out = render(ReportKind::Pvs, &input, &o).unwrap();
    let lines: Vec<&str> = out.lines().map(str::trim_start).collect();
    // Sorted by name: /dev/loop*, /dev/sdy, /dev/sdz, then [unknown].
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[7], "/dev/sdy||---|32.00m|32.00m||r-----");
    assert_eq!(lines[8], "/dev/sdz||u--|64.00m|0m|used|r-----");
    assert_eq!(lines[9], "[unknown]|vgraid|a-m|124.00m|96.00m|used|wz-pn-");
    let vgs = render(
        ReportKind::Vgs,
        &input,
        &opts("vg_name,vg_attr,vg_missing_pv_count,vg_partial"),
    )
    .unwrap();
    assert_eq!(vgs, "  vgraid|wz-pn-|1|partial\n");
    // LVs on the missing PV are partial, and so is their RAID LV.
    let rows = lvs(&input, "lv_name,lv_attr,devices");
    assert_eq!(
        row(&rows, "raid1pe"),
        "raid1pe|rwi-XXr-p-|raid1pe_rimage_0(0),raid1pe_rimage_1(0)"
    );
    assert_eq!(
        row(&rows, "[raid1pe_rimage_1]"),
        "[raid1pe_rimage_1]|Iwi-XXr-p-|[unknown](21)"
    );
}

#[test]
fn field_names_match_like_libdm() {
    let inp = input(raid_view());
    let one = |kind, f: &str| {
        let select = match kind {
            ReportKind::Lvs => "vgraid/lin",
            ReportKind::Pvs => "/dev/loop0",
            _ => "vgraid",
        };
        render(
            kind,
            &inp,
            &ReportOptions {
                fields: vec![f.into()],
                select: vec![select.into()],
                ..Default::default()
            },
        )
    };
    // Prefix optional, underscores and case ignored.
    let a = one(ReportKind::Lvs, "name,SIZE,lv_attr").unwrap();
    let b = one(ReportKind::Lvs, "lv_name,lvsize,Attr").unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("  LV   LSize Attr      \n"), "{a:?}");
    // pvs may show VG fields; vgs may not show PV fields.
    assert!(one(ReportKind::Pvs, "pv_name,vg_name,vg_size").is_ok());
    assert_eq!(
        one(ReportKind::Vgs, "vg_name,pv_name"),
        Err(ReportError::UnknownField("pv_name".into()))
    );
    assert_eq!(
        render(
            ReportKind::Lvs,
            &inp,
            &ReportOptions {
                sort: vec!["-nosuch".into()],
                ..Default::default()
            }
        ),
        Err(ReportError::UnknownSortField("nosuch".into()))
    );
}

#[test]
fn option_lists_add_remove_replace() {
    let inp = input(raid_view());
    let heads = |fields: &[&str]| {
        let o = ReportOptions {
            fields: fields.iter().map(|s| s.to_string()).collect(),
            select: vec!["vgraid/lin".into()],
            separator: Some(",".into()),
            ..Default::default()
        };
        render(ReportKind::Lvs, &inp, &o)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        heads(&[]),
        "  LV,VG,Attr,LSize,Pool,Origin,Data%,Meta%,Move,Log,Cpy%Sync,Convert"
    );
    assert_eq!(
        heads(&["lv_name", "+lv_size,,devices"]),
        "  LV,LSize,Devices"
    );
    assert_eq!(
        heads(&["-pool_lv,origin,data_percent,metadata_percent,move_pv,mirror_log,copy_percent,convert_lv"]),
        "  LV,VG,Attr,LSize"
    );
    assert_eq!(heads(&["lv_name", "vg_name"]), "  VG");
}

#[test]
fn sorting_and_selection() {
    let inp = input(raid_view());
    let o = ReportOptions {
        fields: vec!["lv_name,lv_size".into()],
        sort: vec!["-lv_size,-lv_name".into()],
        select: vec![
            "vgraid/lin".into(),
            "vgraid/raid6".into(),
            "vgraid/raid0_rimage_0".into(),
        ],
        separator: Some(" ".into()),
        headings: false,
        units: Units::parse("m").unwrap(),
        ..Default::default()
    };
    let out = render(ReportKind::Lvs, &inp, &o).unwrap();
    // A hidden LV named explicitly is listed without -a.
    assert_eq!(
        out,
        "  raid6 12.00m\n  lin 8.00m\n  [raid0_rimage_0] 4.00m\n"
    );
    let bad = ReportOptions {
        select: vec!["vgraid/lin".into(), "vgraid/nope".into(), "vgnone".into()],
        ..Default::default()
    };
    assert_eq!(
        unmatched_names(ReportKind::Lvs, &inp, &bad),
        vec!["vgraid/nope".to_string(), "vgnone".to_string()]
    );
    let pvs = ReportOptions {
        select: vec!["/dev/loop3".into(), "/dev/nope".into()],
        ..Default::default()
    };
    assert_eq!(
        unmatched_names(ReportKind::Pvs, &inp, &pvs),
        vec!["/dev/nope".to_string()]
    );
}

#[test]
fn empty_reports() {
    let inp = ReportInput {
        vgs: Vec::new(),
        orphans: Vec::new(),
        activation: true,
    };
    // Plain output prints nothing, not even headings; JSON an empty list.
    assert_eq!(
        render(ReportKind::Lvs, &inp, &ReportOptions::default()).unwrap(),
        ""
    );
    let json = ReportOptions {
        format: OutputFormat::Json,
        ..Default::default()
    };
    assert_eq!(
        render(ReportKind::Vgs, &inp, &json).unwrap(),
        "  {\n      \"report\": [\n          {\n              \"vg\": [\n              ]\n          }\n      ]\n  }\n"
    );
}

#[test]
fn json_escapes_quotes_only() {
    let mut view = raid_view();
    view.vg.lvs[0].tags = vec!["b\"q".into(), "a\\z".into()];
    let o = ReportOptions {
        fields: vec!["lv_name,lv_tags".into()],
        select: vec!["vgraid/lin".into()],
        format: OutputFormat::Json,
        ..Default::default()
    };
    let out = render(ReportKind::Lvs, &input(view), &o).unwrap();
    assert!(
        out.contains("{\"lv_name\":\"lin\", \"lv_tags\":\"a\\z,b\\\"q\"}\n"),
        "{out}"
    );
}

#[test]
fn rows_and_name_prefixes() {
    let inp = input(raid_view());
    let base = ReportOptions {
        fields: vec!["lv_name,lv_size".into()],
        select: vec!["vgraid/lin".into(), "vgraid/raid6".into()],
        units: Units::parse("m").unwrap(),
        ..Default::default()
    };
    let rows = render(
        ReportKind::Lvs,
        &inp,
        &ReportOptions {
            rows: true,
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!(rows, "  LV lin raid6\n  LSize 8.00m 12.00m\n");
    let pre = render(
        ReportKind::Lvs,
        &inp,
        &ReportOptions {
            name_prefixes: true,
            headings: false,
            ..base.clone()
        },
    )
    .unwrap();
    assert_eq!(
        pre,
        "  LVM2_LV_NAME='lin' LVM2_LV_SIZE='8.00m'\n  LVM2_LV_NAME='raid6' LVM2_LV_SIZE='12.00m'\n"
    );
    let bin = render(
        ReportKind::Lvs,
        &inp,
        &ReportOptions {
            fields: vec!["lv_name,lv_skip_activation,lv_active_locally".into()],
            binary: true,
            separator: Some(":".into()),
            headings: false,
            ..base
        },
    )
    .unwrap();
    assert_eq!(bin, "  lin:0:0\n  raid6:0:0\n");
}

#[test]
fn segments_get_one_row_each() {
    let mut view = raid_view();
    // Split "lin" into two segments on different PVs.
    let lin = view.vg.lvs.iter_mut().find(|l| l.name == "lin").unwrap();
    let mut second = lin.segments[0].clone();
    lin.segments[0].extent_count = 1;
    second.start_extent = 1;
    second.extent_count = 1;
    second.areas = vec![crate::model::Area::Pv {
        pv: "pv7".into(),
        pe: 30,
    }];
    lin.segments.push(second);
    let inp = input(view);
    let o = ReportOptions {
        select: vec!["vgraid/lin".into()],
        units: Units::parse("m").unwrap(),
        ..opts("lv_name,seg_count,seg_start,seg_size,devices,seg_pe_ranges")
    };
    let out = render(ReportKind::Lvs, &inp, &o).unwrap();
    assert_eq!(
        out,
        "  lin|2|0m|4.00m|/dev/loop0(0)|/dev/loop0:0-0\n  lin|2|4.00m|4.00m|/dev/loop7(30)|/dev/loop7:30-30\n"
    );
    // Without segment fields the LV is one row.
    let o = ReportOptions {
        select: vec!["vgraid/lin".into()],
        ..opts("lv_name,seg_count")
    };
    assert_eq!(render(ReportKind::Lvs, &inp, &o).unwrap(), "  lin|2\n");
}
