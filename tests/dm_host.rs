//! Activation commands on a host without device-mapper (this build host):
//! every command that needs the kernel says so clearly and fails with
//! lvm2's exit code 5, touching nothing; the command lines are checked
//! (exit 3) before that. The kernel side is proven in the guest
//! (tests/vm/scenarios/dm-activate, boot-activate, degraded-boot).

mod common;
use common::*;

fn no_dm_here() -> bool {
    let misc = std::fs::read_to_string("/proc/misc").unwrap_or_default();
    !misc.contains("device-mapper")
}

fn vg_on_loop() -> Option<(LoopDev, LoopDev)> {
    if !require_root() {
        return None;
    }
    let a = LoopDev::new(64 << 20);
    let b = LoopDev::new(64 << 20);
    ours(&[&a, &b], &["pvcreate", &a.name(), &b.name()]).ok();
    ours(&[&a, &b], &["vgcreate", "vgdmh", &a.name(), &b.name()]).ok();
    ours(&[&a, &b], &["lvcreate", "-n", "lin", "-L", "8m", "vgdmh"]).ok();
    Some((a, b))
}

#[test]
fn activation_without_device_mapper_is_a_clear_failure() {
    if !no_dm_here() {
        eprintln!("SKIPPED: this kernel has device-mapper (the guest tests cover it)");
        return;
    }
    let Some((a, b)) = vg_on_loop() else { return };
    for args in [
        &["vgchange", "-ay", "vgdmh"][..],
        &["vgchange", "-an", "vgdmh"],
        &["vgchange", "-aay", "--autoactivation", "event", "vgdmh"],
        &["lvchange", "-ay", "vgdmh/lin"],
        &["lvchange", "--refresh", "vgdmh/lin"],
        &["lvwait", "--sync", "vgdmh/lin"],
    ] {
        // tests/etc's lvm.conf disables activation (a clear failure of its
        // own, checked below); enable it to reach the kernel.
        let mut with = args.to_vec();
        with.extend(["--config", "global { activation = 1 }"]);
        let r = ours(&[&a, &b], &with);
        assert_eq!(r.code, 5, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("device-mapper is not available"),
            "{args:?}: {}",
            r.stderr
        );
    }
    let r = ours(&[&a, &b], &["vgchange", "-ay", "vgdmh"]);
    assert_eq!(r.code, 5);
    assert!(r.stderr.contains("global/activation = 0"), "{}", r.stderr);
    // Nothing changed: the LV is still there, inactive.
    let r = ours(
        &[&a, &b],
        &["lvs", "--noheadings", "-o", "lv_name,lv_attr", "vgdmh"],
    )
    .ok();
    assert!(r.stdout.contains("lin"), "{}", r.stdout);
}

#[test]
fn bad_activation_arguments_are_usage_errors() {
    for args in [
        &["vgchange", "-a", "maybe", "vg"][..],
        &["vgchange", "--activationmode", "sometimes", "-ay", "vg"],
        &["vgchange", "-ay", "--autoactivation", "boot", "vg"],
        &["vgchange", "-ay", "--autoactivation", "event", "vg"],
        &["lvchange", "vg/lv"],
        &["lvchange", "--syncaction", "resync", "vg/lv"],
        &["lvchange", "--maxrecoveryrate", "10X", "vg/lv"],
        &["lvwait", "vg/lv"],
    ] {
        let r = ours(&[], args);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
    }
}

#[test]
fn event_activation_disabled_does_nothing() {
    let r = ours(
        &[],
        &[
            "vgchange",
            "-aay",
            "--autoactivation",
            "event",
            "--config",
            "global { event_activation = 0 }",
            "novg",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("event_activation=0"), "{}", r.stdout);
}

/// lvcreate (default -ay), lvextend, lvreduce, lvrename, lvremove and
/// vgremove -f on a host without device-mapper: with lvm.conf
/// `global/activation = 0` (tests/etc) they change the metadata only and
/// say nothing about device-mapper (lvm2 does not touch it then); with
/// activation enabled, lvcreate warns that the new LV is not activated and
/// still succeeds, and the others (inactive LVs) work as before.
#[test]
fn lv_commands_without_device_mapper_change_metadata_only() {
    if !no_dm_here() {
        eprintln!("SKIPPED: this kernel has device-mapper (the guest tests cover it)");
        return;
    }
    let Some((a, b)) = vg_on_loop() else { return };
    let d = [&a, &b];
    let on = ["--config", "global { activation = 1 }"];
    let attr = |lv: &str| {
        ours(
            &d,
            &[
                "lvs",
                "--noheadings",
                "-o",
                "lv_attr,lv_size",
                "--units",
                "m",
                lv,
            ],
        )
        .ok()
        .stdout
        .trim()
        .to_string()
    };
    // activation = 0: silent, metadata only.
    for args in [
        &["lvcreate", "-n", "a0", "-L", "8m", "vgdmh"][..],
        &["lvcreate", "-ay", "-n", "a1", "-L", "8m", "vgdmh"],
        &["lvextend", "-L", "+4m", "vgdmh/a0"],
        &["lvreduce", "-L", "4m", "vgdmh/a0"],
        &["lvrename", "vgdmh/a1", "b1"],
        &["lvremove", "vgdmh/b1"],
    ] {
        let r = ours(&d, args).ok();
        assert!(
            !r.stderr.contains("device-mapper") && !r.stderr.contains("not activated"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // (with activation = 0 the state column reads `XX`, as lvm2's)
    let inactive = |a: &str| a.starts_with("-wi-") && a.chars().nth(4) != Some('a');
    assert!(inactive(&attr("vgdmh/a0")), "{}", attr("vgdmh/a0"));
    assert!(attr("vgdmh/a0").contains("4.00m"), "{}", attr("vgdmh/a0"));
    // activation = 1 without device-mapper: created, not activated, warned.
    let mut args = vec!["lvcreate", "-n", "w", "-L", "8m", "vgdmh"];
    args.extend(on);
    let r = ours(&d, &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Logical volume \"w\" created."),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("device-mapper is not available")
            && r.stderr.contains("vgdmh/w was created but not activated"),
        "{}",
        r.stderr
    );
    assert!(inactive(&attr("vgdmh/w")), "{}", attr("vgdmh/w"));
    // -an: no warning at all, even with activation enabled.
    let mut args = vec!["lvcreate", "-an", "-n", "n", "-L", "8m", "vgdmh"];
    args.extend(on);
    let r = ours(&d, &args).ok();
    assert!(!r.stderr.contains("device-mapper"), "{}", r.stderr);
    // -k y: ACTIVATION_SKIP set (attr 'k'), so no activation is tried.
    let mut args = vec!["lvcreate", "-k", "y", "-n", "k", "-L", "8m", "vgdmh"];
    args.extend(on);
    let r = ours(&d, &args).ok();
    assert!(!r.stderr.contains("device-mapper"), "{}", r.stderr);
    let k = attr("vgdmh/k");
    assert!(inactive(&k) && k.chars().nth(9) == Some('k'), "{k}");
    // Inactive LVs: resize/rename/remove work with activation enabled too.
    for args in [
        &["lvextend", "-L", "+4m", "vgdmh/w"][..],
        &["lvreduce", "-L", "8m", "vgdmh/w"],
        &["lvrename", "vgdmh", "w", "w2"],
        &["lvremove", "vgdmh/w2"],
    ] {
        let mut with = args.to_vec();
        with.extend(on);
        let r = ours(&d, &with);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
    }
    let mut args = vec!["vgremove", "-f", "vgdmh"];
    args.extend(on);
    let r = ours(&d, &args).ok();
    assert!(r.stdout.contains("successfully removed"), "{}", r.stdout);
}

#[test]
fn lvcreate_activation_arguments() {
    for args in [
        &["lvcreate", "-a", "maybe", "-L", "8m", "vg"][..],
        &["lvcreate", "-k", "sometimes", "-L", "8m", "vg"],
    ] {
        let r = ours(&[], args);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
    }
}
