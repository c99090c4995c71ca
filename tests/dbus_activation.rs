//! Activation through systemd's D-Bus API, checked against a stand-in for
//! systemd (a zbus object implementing
//! `org.freedesktop.systemd1.Manager.StartUnit` that records its calls):
//! on the private bus, and on a peer-to-peer socket standing in for
//! `/run/systemd/private` when there is no bus at all.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::dbus::*;
use lvmetad::model::Vg;
use lvmetad::protocol::{Message, Request};

type Calls = Arc<Mutex<Vec<(String, String)>>>;

struct Standin {
    calls: Calls,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Standin {
    fn start_unit(&self, name: String, mode: String) -> zbus::OwnedObjectPath {
        let mut c = self.calls.lock().unwrap();
        c.push((name, mode));
        zbus::OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/job/{}", c.len()))
            .unwrap()
    }
}

/// The stand-in owning org.freedesktop.systemd1 on the bus `addr`, in a
/// thread of its own until the test ends.
fn standin_on_bus(addr: &str) -> Calls {
    let calls = Calls::default();
    let c = calls.clone();
    let bus = addr.to_string();
    let addr = addr.to_string();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let _conn = zbus::connection::Builder::address(addr.as_str())
                .name("org.freedesktop.systemd1")
                .serve_at("/org/freedesktop/systemd1", Standin { calls: c })
                .build()
                .await
                .unwrap();
            std::future::pending::<()>().await;
        })
    });
    wait_for_name(&bus, "org.freedesktop.systemd1");
    calls
}

/// The stand-in answering on a Unix socket at `path` as systemd's private
/// socket does (peer-to-peer D-Bus, no bus daemon).
fn standin_p2p(path: &Path) -> Calls {
    let calls = Calls::default();
    let c = calls.clone();
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let listener = tokio::net::UnixListener::from_std(listener).unwrap();
            let mut conns = Vec::new();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let stream = stream.into_std().unwrap();
                let conn = zbus::connection::Builder::unix_stream(stream)
                    .server(zbus::Guid::generate())
                    .p2p()
                    .serve_at("/org/freedesktop/systemd1", Standin { calls: c.clone() })
                    .build()
                    .await;
                if let Ok(conn) = conn {
                    conns.push(conn);
                }
            }
        })
    });
    calls
}

fn units(calls: &Calls) -> Vec<String> {
    calls
        .lock()
        .unwrap()
        .iter()
        .map(|(u, _)| u.clone())
        .collect()
}

/// Wait until `n` calls were recorded (or fail listing them).
fn wait_calls(calls: &Calls, n: usize, secs: u64) -> Vec<String> {
    let got = eventually(secs, || {
        let u = units(calls);
        (u.len() >= n).then_some(u)
    });
    got.unwrap_or_else(|| panic!("expected {n} StartUnit calls, got {:?}", units(calls)))
}

fn lvm_conf(dir: &Path, timeout_s: u64) {
    std::fs::write(
        dir.join("lvm.conf"),
        format!("lvmetad {{ degraded_activation_timeout = {timeout_s} }}\n"),
    )
    .unwrap();
}

/// The instance of a templated unit name, unescaped by systemd's own tool.
fn unescape_instance(unit: &str) -> String {
    let inst = unit
        .split_once('@')
        .unwrap()
        .1
        .strip_suffix(".service")
        .unwrap();
    let o = Command::new("systemd-escape")
        .args(["--unescape", inst])
        .output()
        .unwrap();
    assert!(o.status.success());
    stdout(&o).trim_end_matches('\n').to_string()
}

fn all_pvs(vg: &Vg, g: usize) -> Vec<Request> {
    (0..vg.pvs.len())
        .map(|i| pv_found(vg, g, i, i == 0))
        .collect()
}

fn setup(timeout_s: u64) -> (tempfile::TempDir, Bus, Kill, Calls) {
    let dir = tempfile::tempdir().unwrap();
    lvm_conf(dir.path(), timeout_s);
    let bus = start_bus(dir.path(), Policy::Project);
    let calls = standin_on_bus(&bus.addr);
    let d = start_daemon(dir.path(), &bus.addr, &[]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    (dir, bus, d, calls)
}

fn feed(addr: &str, reqs: &[Request]) {
    runtime().block_on(async {
        let c = connect(addr).await;
        for r in reqs {
            send(&c, r).await.unwrap_or_else(|e| panic!("{r:?}: {e}"));
        }
    });
}

/// Exactly one StartUnit per completion, with VG names that need
/// escaping coming back intact through systemd-escape; a VG that
/// completes in time never gets the degraded unit.
#[test]
fn one_start_unit_per_completion_with_escaped_names() {
    if !have_tools() {
        return;
    }
    let (_dir, bus, _d, calls) = setup(1);
    let base = fixture_vg("lvtypes/03-lvcreate-linear");
    let names = ["my-vg", "a+b", "x.y", "plain"];
    let vgs: Vec<Vg> = names
        .iter()
        .enumerate()
        .map(|(i, n)| renamed(&base, n, i as u8))
        .collect();
    for (g, vg) in vgs.iter().enumerate() {
        feed(&bus.addr, &all_pvs(vg, g));
    }
    let got = wait_calls(&calls, names.len(), 10);
    let mut back: Vec<String> = got
        .iter()
        .map(|u| {
            assert!(u.starts_with("lvm-activate@"), "{u}");
            unescape_instance(u)
        })
        .collect();
    back.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(back, want, "{got:?}");
    assert!(calls.lock().unwrap().iter().all(|(_, m)| m == "replace"));
    // More updates of complete VGs (same PVs again, a VG update) start
    // nothing; nor does the degraded timer (1 s) for VGs complete in time.
    feed(&bus.addr, &[pv_found(&vgs[0], 0, 1, false)]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(units(&calls).len(), names.len(), "{:?}", units(&calls));
    // A PV goes and comes back: a second completion, a second start.
    feed(&bus.addr, &[pv_gone(&vgs[0], 1)]);
    feed(&bus.addr, &[pv_found(&vgs[0], 0, 1, false)]);
    let got = wait_calls(&calls, names.len() + 1, 10);
    assert_eq!(unescape_instance(got.last().unwrap()), "my-vg");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(units(&calls).len(), names.len() + 1, "{:?}", units(&calls));
}

/// A raid1-only VG with one image's PV missing: after the configured
/// timeout (1 s), lvm-activate-degraded@ — once; when the PV arrives,
/// the normal unit runs (refresh).
#[test]
fn degraded_unit_after_the_timeout_then_normal_on_completion() {
    if !have_tools() {
        return;
    }
    let (_dir, bus, _d, calls) = setup(1);
    let mut vg = renamed(&fixture_vg("lvtypes/07-lvcreate-raid1-m1"), "deg-vg", 5);
    vg.lvs.retain(|l| l.name.starts_with("raid1m1"));
    // The PV holding image 1.
    let img1 = vg
        .lvs
        .iter()
        .find(|l| l.name == "raid1m1_rimage_1")
        .unwrap();
    let key = match &img1.segments[0].areas[0] {
        lvmetad::model::Area::Pv { pv, .. } => pv.clone(),
        a => panic!("{a:?}"),
    };
    let missing = vg.pvs.iter().position(|p| p.key == key).unwrap();
    let reqs: Vec<Request> = (0..vg.pvs.len())
        .filter(|i| *i != missing)
        .map(|i| pv_found(&vg, 0, i, true))
        .collect();
    let t0 = Instant::now();
    feed(&bus.addr, &reqs);
    let got = wait_calls(&calls, 1, 10);
    let waited = t0.elapsed();
    assert_eq!(got[0], "lvm-activate-degraded@deg\\x2dvg.service");
    assert!(
        waited >= Duration::from_millis(900),
        "too early: {waited:?}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(units(&calls).len(), 1, "{:?}", units(&calls));
    feed(&bus.addr, &[pv_found(&vg, 0, missing, true)]);
    let got = wait_calls(&calls, 2, 10);
    assert_eq!(got[1], "lvm-activate@deg\\x2dvg.service");
}

/// A VG whose RAID LV cannot run without the missing PV (raid0) never
/// gets the degraded unit.
#[test]
fn no_degraded_unit_when_raid_cannot_run() {
    if !have_tools() {
        return;
    }
    let (_dir, bus, _d, calls) = setup(1);
    let mut vg = renamed(&fixture_vg("lvtypes/05-lvcreate-raid0-i2-I64k"), "r0", 6);
    vg.lvs.retain(|l| l.name.starts_with("raid0"));
    let used = vg
        .lvs
        .iter()
        .find(|l| l.name.ends_with("rimage_1"))
        .and_then(|l| match &l.segments[0].areas[0] {
            lvmetad::model::Area::Pv { pv, .. } => vg.pvs.iter().position(|p| &p.key == pv),
            _ => None,
        })
        .unwrap();
    let reqs: Vec<Request> = (0..vg.pvs.len())
        .filter(|i| *i != used)
        .map(|i| pv_found(&vg, 0, i, true))
        .collect();
    feed(&bus.addr, &reqs);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(units(&calls).is_empty(), "{:?}", units(&calls));
}

/// No bus when the daemon starts: it serves its socket, activates through
/// the systemd private socket stand-in (LVMETAD_SYSTEMD_PRIVATE), and
/// takes its name once dbus-daemon starts later.
#[test]
fn without_a_bus_activation_uses_the_private_socket_and_the_bus_is_joined_later() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    lvm_conf(dir.path(), 0);
    let private = dir.path().join("systemd-private");
    let calls = standin_p2p(&private);
    let addr = bus_addr(dir.path());
    let _d = start_daemon(
        dir.path(),
        &addr,
        &[("LVMETAD_SYSTEMD_PRIVATE", private.to_str().unwrap())],
    );
    // Fed over the socket, as pvscan --cache does.
    let sock = dir.path().join("lvmetad.socket");
    let mut c = lvmetad::client::Connection::connect(&sock, Duration::from_secs(5)).unwrap();
    let vg = renamed(&fixture_vg("lvtypes/03-lvcreate-linear"), "early-vg", 7);
    for r in all_pvs(&vg, 0) {
        let reply = c
            .request(&Message {
                request: r,
                token: Some(String::new()),
            })
            .unwrap();
        assert_eq!(reply.response, lvmetad::protocol::Response::Ok, "{reply:?}");
    }
    let got = wait_calls(&calls, 1, 10);
    assert_eq!(got, ["lvm-activate@early\\x2dvg.service"]);
    // The bus appears: the daemon joins it (backoff capped at a few
    // seconds) and exports what it already holds.
    std::thread::sleep(Duration::from_secs(1));
    let bus = start_bus(dir.path(), Policy::Project);
    let t0 = Instant::now();
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    assert!(t0.elapsed() < Duration::from_secs(10));
    let out = busctl(
        &bus.addr,
        &[
            "call",
            "org.lvm.Lvmetad1",
            "/org/lvm/Lvmetad1",
            "org.lvm.Lvmetad1.Manager",
            "ListVgs",
        ],
    );
    assert!(stdout(&out).contains("early-vg"), "{}", stdout(&out));
    assert_eq!(units(&calls).len(), 1);

    // The bus restarts: the daemon notices the connection closed and
    // joins the new bus, objects included.
    drop(bus);
    let _ = std::fs::remove_file(dir.path().join("bus"));
    std::thread::sleep(Duration::from_millis(500));
    let bus = start_bus(dir.path(), Policy::Project);
    let t0 = Instant::now();
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    assert!(t0.elapsed() < Duration::from_secs(10));
    let vgp = lvmetad::daemon::dbus::vg_path("early-vg");
    let complete = eventually(5, || {
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
    assert!(complete.is_some(), "VG object not exported on the new bus");
}
