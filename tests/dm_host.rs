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
