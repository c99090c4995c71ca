//! The D-Bus policy and activation files and the templated activation
//! units, checked with dbus-daemon and systemd-analyze.

mod common;

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn verify(dir: &Path, units: &[&str]) {
    let mandir = dir.join("man");
    for e in std::fs::read_dir(repo().join("man")).unwrap() {
        let p = e.unwrap().path();
        let section = p.extension().unwrap().to_string_lossy().to_string();
        let sub = mandir.join(format!("man{section}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::copy(&p, sub.join(p.file_name().unwrap())).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units.iter().map(|u| dir.join(u)))
        .env("MANPATH", &mandir)
        .env("SYSTEMD_LOG_LEVEL", "notice")
        .output()
        .expect("systemd-analyze (package systemd)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
}

#[test]
fn activation_units_verify_clean() {
    let dir = tempfile::tempdir().unwrap();
    for t in ["lvm-activate@.service", "lvm-activate-degraded@.service"] {
        let text = std::fs::read_to_string(repo().join("units").join(t)).unwrap();
        assert!(text.contains("/usr/sbin/lvm vgchange -aay"), "{t}");
        assert!(text.contains("--autoactivation event %I"), "{t}");
        std::fs::write(
            dir.path().join(t),
            text.replace("/usr/sbin/lvm", "/bin/true"),
        )
        .unwrap();
    }
    // Instances with an escaped VG name (`my-vg`).
    for t in ["lvm-activate@", "lvm-activate-degraded@"] {
        std::os::unix::fs::symlink(
            dir.path().join(format!("{t}.service")),
            dir.path().join(format!("{t}my\\x2dvg.service")),
        )
        .unwrap();
    }
    verify(
        dir.path(),
        &[
            "lvm-activate@my\\x2dvg.service",
            "lvm-activate-degraded@my\\x2dvg.service",
        ],
    );
}

#[test]
fn bus_activation_file_names_the_systemd_service() {
    let text = std::fs::read_to_string(repo().join("dbus/org.lvm.Lvmetad1.service")).unwrap();
    assert!(text.contains("[D-BUS Service]"));
    assert!(text.contains("Name=org.lvm.Lvmetad1"));
    assert!(text.contains("SystemdService=lvmetad.service"));
}

/// dbus-daemon accepts a configuration that includes the project's policy
/// file (it refuses to start on a malformed one): the shared setup
/// fails the test with dbus-daemon's message if it does not listen.
#[test]
fn policy_file_loads_in_dbus_daemon() {
    if !common::dbus::have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = common::dbus::bus_config(&dir.path().join("bus"), common::dbus::Policy::Project);
    assert!(conf.contains("dbus/org.lvm.Lvmetad1.conf"), "{conf}");
    let bus = common::dbus::start_bus(dir.path(), common::dbus::Policy::Project);
    assert!(bus.sock.exists(), "dbus-daemon did not listen");
}
