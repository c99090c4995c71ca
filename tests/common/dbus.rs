//! A private dbus-daemon (with the project's policy file, or a lax one),
//! lvmetad on it, busctl/gdbus runners, and fixture VGs to feed it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lvmetad::model::Vg;
use lvmetad::protocol::{PvMeta, Request};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A child process killed (and reaped) on drop.
pub struct Kill(pub Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// dbus-daemon, busctl, gdbus and setpriv are all installed.
pub fn have_tools() -> bool {
    let ok = [
        "dbus-daemon",
        "busctl",
        "gdbus",
        "setpriv",
        "systemd-escape",
    ]
    .iter()
    .all(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("CI must have dbus-daemon, busctl, gdbus, setpriv (packages dbus, systemd, libglib2.0-bin, util-linux)");
        }
        eprintln!("SKIPPED: dbus-daemon/busctl/gdbus/setpriv missing");
    }
    ok
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The system bus' default policy (deny by default) plus the
    /// project's dbus/org.lvm.Lvmetad1.conf.
    Project,
    /// Everyone may own any name and call anything: only the daemon's own
    /// uid check stands between a user and the cache.
    Lax,
}

/// The bus configuration, as a system bus would have it.
pub fn bus_config(sock: &Path, policy: Policy) -> String {
    let default = match policy {
        Policy::Project => {
            r#"<policy context="default">
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
    <allow send_destination="org.freedesktop.systemd1"/>
  </policy>"#
        }
        Policy::Lax => {
            r#"<policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>"#
        }
    };
    let include = match policy {
        Policy::Project => format!(
            "<include>{}</include>",
            repo().join("dbus/org.lvm.Lvmetad1.conf").display()
        ),
        Policy::Lax => String::new(),
    };
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  {default}
  {include}
</busconfig>
"#,
        sock.display()
    )
}

/// A private bus listening in `dir`.
pub struct Bus {
    pub child: Kill,
    pub addr: String,
    pub sock: PathBuf,
}

/// The bus address a bus in `dir` listens on (before it is started).
pub fn bus_addr(dir: &Path) -> String {
    format!("unix:path={}", dir.join("bus").display())
}

/// Start dbus-daemon in `dir`; fails the test with its stderr if it
/// refuses the configuration.
pub fn start_bus(dir: &Path, policy: Policy) -> Bus {
    let sock = dir.join("bus");
    let conf = dir.join("bus.conf");
    std::fs::write(&conf, bus_config(&sock, policy)).unwrap();
    // Let "nobody" reach the socket.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .args(["--nofork", "--nopidfile"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("dbus-daemon (package dbus)");
    let t0 = Instant::now();
    while !sock.exists() {
        if let Some(st) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "dbus-daemon exited {st}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "dbus-daemon did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its stderr (policy rejections) is drained so the pipe never fills.
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if !l.contains("fd limit") {
                eprintln!("{l}");
            }
        }
    });
    Bus {
        child: Kill(child),
        addr: format!("unix:path={}", sock.display()),
        sock,
    }
}

/// lvmetad in `dir`: its socket is `dir/lvmetad.socket`, its lvm.conf
/// `dir/lvm.conf` (written by the caller, or absent), systemd's private
/// socket `dir/no-systemd` unless `env` says otherwise.
pub fn start_daemon(dir: &Path, bus: &str, env: &[(&str, &str)]) -> Kill {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvmetad"));
    cmd.arg("--socket")
        .arg(dir.join("lvmetad.socket"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus)
        .env("LVM_SYSTEM_DIR", dir)
        .env("LVMETAD_SYSTEMD_PRIVATE", dir.join("no-systemd"))
        .env_remove("NOTIFY_SOCKET")
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = Kill(cmd.spawn().unwrap());
    let t0 = Instant::now();
    while !dir.join("lvmetad.socket").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "lvmetad did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

pub fn busctl(bus: &str, args: &[&str]) -> Output {
    Command::new("busctl")
        .arg(format!("--address={bus}"))
        .args(args)
        .output()
        .expect("busctl")
}

/// busctl as uid 65534 (nobody).
pub fn busctl_nobody(bus: &str, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "busctl"])
        .arg(format!("--address={bus}"))
        .args(args)
        .output()
        .expect("setpriv")
}

/// gdbus call on lvmetad's root object.
pub fn gdbus_call(bus: &str, path: &str, method: &str, args: &[&str]) -> Output {
    Command::new("gdbus")
        .args(["call", "--address", bus, "--dest", "org.lvm.Lvmetad1"])
        .args(["--object-path", path, "--method", method])
        .args(args)
        .output()
        .expect("gdbus")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Wait until `name` is owned on the bus.
pub fn wait_for_name(bus: &str, name: &str) {
    let t0 = Instant::now();
    loop {
        let out = busctl(bus, &["list", "--no-pager", "--acquired"]);
        if stdout(&out).lines().any(|l| l.starts_with(name)) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{name} never appeared on the bus"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Poll `f` until it returns Some or `secs` pass.
pub fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// Fixture VGs

/// The VG of an lvm2 fixture state (`lvtypes/07-lvcreate-raid1-m1`).
pub fn fixture_vg(state: &str) -> Vg {
    let dir = super::fixtures().join(state);
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".vg"))
        .expect("a vgcfgbackup file");
    let text = std::fs::read_to_string(file).unwrap();
    lvmetad::model::parse_vg_text(&text).unwrap().0
}

/// The same VG under another name and UUID (`n` varies the UUID).
pub fn renamed(vg: &Vg, name: &str, n: u8) -> Vg {
    let mut v = vg.clone();
    v.name = name.into();
    let c = (b'A' + n % 26) as char;
    v.id = format!("{c}{}", &vg.id[1..]);
    // PV UUIDs must differ between VGs too.
    for p in &mut v.pvs {
        p.id = format!("{c}{}", &p.id[1..]);
    }
    v
}

/// The VG's metadata text, as LookupVgByName gives it and PvFound takes.
pub fn metadata_text(vg: &Vg) -> String {
    lvmetad::format::config::print(&vg.to_config())
}

/// A device number for PV `i` of VG number `g`: major 4000, which no
/// host device has, so commands name the device by its hint
/// (`/dev/fake<g>_<i>`) and never reach a real disk.
pub fn devno(g: usize, i: usize) -> u64 {
    (4000 << 8) | ((g * 16 + i) as u64 & 0xff)
}

/// `pv_found` of PV `i` of `vg`, carrying the VG metadata or not.
pub fn pv_found(vg: &Vg, g: usize, i: usize, with_meta: bool) -> Request {
    let pv = &vg.pvs[i];
    Request::PvFound {
        pv: PvMeta {
            id: pv.id.clone(),
            device: devno(g, i),
            device_name: format!("/dev/fake{g}_{i}"),
            dev_size: pv.dev_size * 512,
            label_sector: 1,
            pe_start: pv.pe_start * 512,
            mdas: vec![(4096, 1044480, false)],
            ext_version: 2,
            ext_flags: 1,
        },
        vgname: with_meta.then(|| vg.name.clone()),
        metadata: with_meta.then(|| vg.to_config()),
    }
}

pub fn pv_gone(vg: &Vg, i: usize) -> Request {
    Request::PvGone {
        device: None,
        uuid: Some(vg.pvs[i].id.clone()),
    }
}

// ---------------------------------------------------------------------------
// A zbus client in the test

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub async fn connect(addr: &str) -> zbus::Connection {
    zbus::connection::Builder::address(addr)
        .build()
        .await
        .unwrap()
}

/// A request sent as the matching Manager method call (root).
pub async fn send(conn: &zbus::Connection, req: &Request) -> zbus::Result<()> {
    match req {
        Request::PvFound {
            pv,
            vgname,
            metadata,
        } => {
            let text = metadata
                .as_ref()
                .map(lvmetad::format::config::print)
                .unwrap_or_default();
            manager(conn)
                .call_method(
                    "PvFound",
                    &(
                        pv.id.as_str(),
                        pv.device,
                        pv.device_name.as_str(),
                        pv.dev_size,
                        pv.label_sector,
                        pv.pe_start,
                        pv.mdas.clone(),
                        pv.ext_version,
                        pv.ext_flags,
                        vgname.clone().unwrap_or_default(),
                        text,
                    ),
                )
                .await
                .map(|_| ())
        }
        Request::PvGone { uuid: Some(u), .. } => manager(conn)
            .call_method("PvGone", &(u.as_str(),))
            .await
            .map(|_| ()),
        other => panic!("not sent over D-Bus here: {other:?}"),
    }
}

pub fn manager(conn: &zbus::Connection) -> ManagerCall<'_> {
    ManagerCall(conn)
}

pub struct ManagerCall<'a>(&'a zbus::Connection);

impl ManagerCall<'_> {
    pub async fn call_method<B>(&self, method: &str, body: &B) -> zbus::Result<zbus::Message>
    where
        B: zbus::export::serde::Serialize + zbus::wire::DynamicType,
    {
        self.0
            .call_method(
                Some("org.lvm.Lvmetad1"),
                "/org/lvm/Lvmetad1",
                Some("org.lvm.Lvmetad1.Manager"),
                method,
                body,
            )
            .await
    }
}
