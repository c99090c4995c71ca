//! RAID methods over D-Bus (issue 5's create/convert/split/merge/replace
//! on the VolumeGroup and LogicalVolume objects), carried out by the
//! daemon running this project's `lvm` as a child, on loop devices; the
//! new LVs appear as objects because the command tells the daemon what it
//! wrote. Needs root (loop devices).

mod common;

use std::path::Path;
use std::process::Command;

use common::dbus::*;
use common::LoopDev;

fn lvm(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lvm"))
        .args(args)
        .env("LVM_SYSTEM_DIR", dir)
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap()
}

fn lv_prop(addr: &str, vg_uuid: &str, lv_uuid: &str, prop: &str) -> Option<String> {
    let p = lvmetad::daemon::dbus::lv_path(vg_uuid, lv_uuid);
    let o = busctl(
        addr,
        &[
            "get-property",
            "org.lvm.Lvmetad1",
            &p,
            "org.lvm.Lvmetad1.LogicalVolume",
            prop,
        ],
    );
    o.status.success().then(|| stdout(&o).trim().to_string())
}

/// The VG as the disks hold it (our lvm, reading the disks).
fn read_vg(dir: &Path, devs: &[&LoopDev], name: &str) -> lvmetad::model::Vg {
    let f = dir.join("backup.vg");
    let o = Command::new(env!("CARGO_BIN_EXE_lvm"))
        .args(["vgcfgbackup", "--devices", &common::devices_arg(devs), "-f"])
        .arg(&f)
        .arg(name)
        .env("LVM_SYSTEM_DIR", dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    lvmetad::model::parse_vg_text(&std::fs::read_to_string(f).unwrap())
        .unwrap()
        .0
}

#[test]
fn raid_lv_created_over_dbus_by_running_lvm_appears_as_an_object() {
    if !common::require_root() || !have_tools() {
        return;
    }
    let disks: Vec<LoopDev> = (0..4).map(|_| LoopDev::new(64 << 20)).collect();
    let devs: Vec<&LoopDev> = disks.iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("lvmetad.socket");
    // Only these loop devices, through the daemon.
    let accept: Vec<String> = devs
        .iter()
        .map(|d| format!("\"a|^{}$|\"", d.name()))
        .collect();
    std::fs::write(
        dir.path().join("lvm.conf"),
        format!(
            "global {{ use_lvmetad = 1 }}\nlvmetad {{ socket = \"{}\" degraded_activation_timeout = 0 }}\ndevices {{ global_filter = [ {}, \"r|.*|\" ] }}\nbackup {{ backup = 0 archive = 0 }}\n",
            sock.display(),
            accept.join(", ")
        ),
    )
    .unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let _d = start_daemon(
        dir.path(),
        &bus.addr,
        &[("LVMETAD_LVM", env!("CARGO_BIN_EXE_lvm"))],
    );
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let names: Vec<String> = devs.iter().map(|d| d.name()).collect();
    let mut args = vec!["vgcreate", "vgdr"];
    args.extend(names.iter().map(|s| s.as_str()));
    let o = lvm(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let vgp = lvmetad::daemon::dbus::vg_path("vgdr");
    let got = eventually(10, || {
        let o = busctl(
            &bus.addr,
            &[
                "get-property",
                "org.lvm.Lvmetad1",
                &vgp,
                "org.lvm.Lvmetad1.VolumeGroup",
                "Complete",
            ],
        );
        (stdout(&o).trim() == "b true").then_some(())
    });
    assert!(got.is_some(), "the VG object never became complete");

    // nobody is refused by the policy.
    let o = busctl_nobody(
        &bus.addr,
        &[
            "call",
            "org.lvm.Lvmetad1",
            &vgp,
            "org.lvm.Lvmetad1.VolumeGroup",
            "CreateRaidLv",
            "sstuuas",
            "r",
            "raid1",
            "8388608",
            "0",
            "1",
            "0",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("ccess denied"), "{}", stderr(&o));

    // root creates a raid1 over D-Bus.
    let o = busctl(
        &bus.addr,
        &[
            "call",
            "org.lvm.Lvmetad1",
            &vgp,
            "org.lvm.Lvmetad1.VolumeGroup",
            "CreateRaidLv",
            "sstuuas",
            "r",
            "raid1",
            "8388608",
            "0",
            "2",
            "0",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let vg = read_vg(dir.path(), &devs, "vgdr");
    let r = vg.lvs.iter().find(|l| l.name == "r").expect("LV r on disk");
    assert!(vg.lvs.iter().any(|l| l.name == "r_rimage_1"));
    let seg = eventually(10, || lv_prop(&bus.addr, &vg.id, &r.id, "SegType"));
    assert_eq!(seg.as_deref(), Some("s \"raid1\""));
    let subs = lv_prop(&bus.addr, &vg.id, &r.id, "SubLvs").unwrap();
    assert!(
        subs.contains("r_rimage_0") && subs.contains("r_rmeta_1"),
        "{subs}"
    );
    assert_eq!(
        lv_prop(&bus.addr, &vg.id, &r.id, "Health").as_deref(),
        Some("s \"ok\"")
    );

    // A refusal by the command comes back as the method's error, naming
    // the problem (a size no VG has room for).
    let o = busctl(
        &bus.addr,
        &[
            "call",
            "org.lvm.Lvmetad1",
            &vgp,
            "org.lvm.Lvmetad1.VolumeGroup",
            "CreateRaidLv",
            "sstuuas",
            "big",
            "raid1",
            "1099511627776",
            "0",
            "1",
            "0",
        ],
    );
    assert!(!o.status.success());
    let o = Command::new("gdbus")
        .args([
            "call",
            "--address",
            &bus.addr,
            "--dest",
            "org.lvm.Lvmetad1",
            "--object-path",
            &vgp,
        ])
        .args([
            "--method",
            "org.lvm.Lvmetad1.VolumeGroup.CreateRaidLv",
            "big",
            "raid1",
            "1099511627776",
            "0",
            "1",
            "[]",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("exit 5") && err.contains("vgdr"), "{err}");
    assert!(!read_vg(dir.path(), &devs, "vgdr")
        .lvs
        .iter()
        .any(|l| l.name == "big"));

    // On the LV's object: split an image off with tracking (it becomes a
    // visible LV), merge it back, replace the images on one PV, then
    // down-convert to 2 images.
    let rp = lvmetad::daemon::dbus::lv_path(&vg.id, &r.id);
    let lvi = "org.lvm.Lvmetad1.LogicalVolume";
    let call = |path: &str, method: &str, sig: &str, args: &[&str]| {
        let mut a = vec!["call", "org.lvm.Lvmetad1", path, lvi, method];
        if !sig.is_empty() {
            a.push(sig);
        }
        a.extend(args);
        let o = busctl(&bus.addr, &a);
        assert!(o.status.success(), "{method}: {}", stderr(&o));
    };
    let img2 = vg
        .lvs
        .iter()
        .find(|l| l.name == "r_rimage_2")
        .unwrap()
        .id
        .clone();
    assert_eq!(
        lv_prop(&bus.addr, &vg.id, &img2, "Visible").as_deref(),
        Some("b false")
    );
    call(&rp, "SplitMirrors", "usb", &["1", "", "true"]);
    let vis = eventually(10, || {
        lv_prop(&bus.addr, &vg.id, &img2, "Visible").filter(|v| v == "b true")
    });
    assert!(vis.is_some(), "split image not visible");
    let ip = lvmetad::daemon::dbus::lv_path(&vg.id, &img2);
    call(&ip, "MergeMirrors", "", &[]);
    let hidden = eventually(10, || {
        lv_prop(&bus.addr, &vg.id, &img2, "Visible").filter(|v| v == "b false")
    });
    assert!(hidden.is_some(), "merged image still visible");

    // Down-convert to 2 images (-m 1).
    call(&rp, "ConvertRaid", "sias", &["", "1", "0"]);
    let two = eventually(10, || {
        lv_prop(&bus.addr, &vg.id, &r.id, "SubLvs").filter(|s| !s.contains("r_rimage_2"))
    });
    assert!(
        two.is_some(),
        "still 3 images: {:?}",
        lv_prop(&bus.addr, &vg.id, &r.id, "SubLvs")
    );
    let disk = read_vg(dir.path(), &devs, "vgdr");
    let rd = disk.lvs.iter().find(|l| l.name == "r").unwrap();
    assert_eq!(rd.segments[0].raid.as_ref().unwrap().images.len(), 2);

    // Replace the images on the PV of image 0: the LV leaves that PV.
    let key = match &vg
        .lvs
        .iter()
        .find(|l| l.name == "r_rimage_0")
        .unwrap()
        .segments[0]
        .areas[0]
    {
        lvmetad::model::Area::Pv { pv, .. } => pv.clone(),
        a => panic!("{a:?}"),
    };
    let pv = vg.pvs.iter().find(|p| p.key == key).unwrap();
    let path = pv.device.clone().expect("device hint");
    call(&rp, "ReplacePv", "sas", &[&path, "0"]);
    let moved = eventually(10, || {
        lv_prop(&bus.addr, &vg.id, &r.id, "Pvs").filter(|p| !p.contains(&pv.id))
    });
    assert!(
        moved.is_some(),
        "{:?} still on {} (on disk, seqno {}: {:?})",
        lv_prop(&bus.addr, &vg.id, &r.id, "Pvs"),
        pv.id,
        read_vg(dir.path(), &devs, "vgdr").seqno,
        read_vg(dir.path(), &devs, "vgdr")
            .lvs
            .iter()
            .filter(|l| l.name.starts_with("r_rimage"))
            .map(|l| format!("{:?}", l.segments[0].areas))
            .collect::<Vec<_>>()
    );
}
