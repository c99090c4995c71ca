//! The daemon on a private dbus-daemon that includes the project's policy
//! file, spoken to with busctl and gdbus.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_bus(dir: &Path) -> (Kill, String) {
    let sock = dir.join("bus");
    let conf = dir.join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
  <policy user="root">
    <allow own="org.freedesktop.systemd1"/>
  </policy>
  <include>{}</include>
</busconfig>
"#,
            sock.display(),
            repo().join("dbus/org.lvm.Lvmetad1.conf").display()
        ),
    )
    .unwrap();
    // Let "nobody" reach the socket.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .args(["--nofork", "--nopidfile"])
        .spawn()
        .expect("dbus-daemon (package dbus)");
    let t0 = Instant::now();
    while !sock.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    (Kill(child), format!("unix:path={}", sock.display()))
}

fn start_daemon(dir: &Path, bus: &str) -> Kill {
    let sock: PathBuf = dir.join("lvmetad.socket");
    let child = Command::new(env!("CARGO_BIN_EXE_lvmetad"))
        .arg("--socket")
        .arg(&sock)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus)
        .env("LVM_SYSTEM_DIR", dir)
        .env("LVMETAD_SYSTEMD_PRIVATE", dir.join("no-systemd"))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Kill(child)
}

fn busctl(bus: &str, args: &[&str]) -> std::process::Output {
    Command::new("busctl")
        .arg(format!("--address={bus}"))
        .args(args)
        .output()
        .expect("busctl")
}

fn wait_for_name(bus: &str) {
    let t0 = Instant::now();
    loop {
        let out = busctl(bus, &["list", "--no-pager"]);
        if String::from_utf8_lossy(&out.stdout).contains("org.lvm.Lvmetad1") {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "name never appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn have_tools() -> bool {
    ["dbus-daemon", "busctl", "gdbus", "setpriv"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn manager_methods_and_policy() {
    if !have_tools() {
        eprintln!("skipped: dbus-daemon/busctl/gdbus/setpriv missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_bus, addr) = start_bus(dir.path());
    let _d = start_daemon(dir.path(), &addr);
    wait_for_name(&addr);

    let m = [
        "call",
        "org.lvm.Lvmetad1",
        "/org/lvm/Lvmetad1",
        "org.lvm.Lvmetad1.Manager",
    ];
    let out = busctl(&addr, &[&m[..], &["ListVgs"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "a(sso) 0");

    let out = busctl(
        &addr,
        &[&m[..], &["WaitVgComplete", "st", "nosuchvg", "100"]].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bas false 0");

    let out = busctl(
        &addr,
        &[
            "call",
            "org.lvm.Lvmetad1",
            "/org/lvm/Lvmetad1",
            "org.freedesktop.DBus.ObjectManager",
            "GetManagedObjects",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // nobody: reads are allowed, mutations refused by the policy.
    let nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "gdbus",
                "call",
                "--address",
                &addr,
            ])
            .args([
                "--dest",
                "org.lvm.Lvmetad1",
                "--object-path",
                "/org/lvm/Lvmetad1",
                "--method",
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = nobody(&["org.lvm.Lvmetad1.Manager.ListVgs"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = nobody(&["org.lvm.Lvmetad1.Manager.PvGone", "x"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AccessDenied"), "{err}");

    // lvm vgwait over D-Bus: times out with a non-zero exit.
    let out = Command::new(env!("CARGO_BIN_EXE_lvm"))
        .args(["vgwait", "nosuchvg", "--timeout", "1"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &addr)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nosuchvg"), "{err}");

    // root may call it (the PV is unknown: a plain failure, not a refusal).
    let out = busctl(&addr, &[&m[..], &["PvGone", "s", "nosuchpv"]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ccess denied") && !err.contains("AccessDenied"),
        "{err}"
    );
}
