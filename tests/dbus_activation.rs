//! Activation through systemd's D-Bus API, checked against a stand-in for
//! systemd (a zbus object implementing
//! `org.freedesktop.systemd1.Manager.StartUnit` that records its calls):
//! on the private bus, and on a peer-to-peer socket standing in for
//! `/run/systemd/private` when there is no bus at all. The peer-to-peer
//! stand-in talks as systemd does on its private socket: every message it
//! sends carries the sender `org.freedesktop.systemd1` (systemd's
//! `sd_bus_set_sender` on direct connections), and it sends unit and job
//! signals to the connection unasked.

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
    async fn start_unit(
        &self,
        name: String,
        mode: String,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> zbus::OwnedObjectPath {
        let n = {
            let mut c = self.calls.lock().unwrap();
            c.push((name.clone(), mode));
            c.len() as u32
        };
        let job =
            zbus::OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/job/{n}")).unwrap();
        // systemd announces the new job to every direct connection.
        let _ = conn
            .emit_signal(
                None::<()>,
                "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager",
                "JobNew",
                &(n, &job, &name),
            )
            .await;
        job
    }
}

/// A socket for the p2p stand-in that stamps `org.freedesktop.systemd1` as
/// the sender of every message sent, as systemd does on
/// `/run/systemd/private` (where zbus itself would never set a well-known
/// name as a sender).
mod systemd_like {
    use std::io;
    use std::os::fd::{BorrowedFd, OwnedFd};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
    use zbus::connection::socket::{ReadHalf, Socket, Split, WriteHalf};
    use zbus::export::async_trait::async_trait;
    use zbus::fdo::ConnectionCredentials;

    pub const SENDER: &str = "org.freedesktop.systemd1";

    #[derive(Debug)]
    pub struct Stream {
        read: Reader,
        write: Writer,
    }

    impl Stream {
        pub fn new(s: tokio::net::UnixStream) -> Stream {
            let cred = s.peer_cred().unwrap();
            let (r, w) = s.into_split();
            Stream {
                read: Reader(r, cred.uid(), cred.pid()),
                write: Writer(w),
            }
        }
    }

    impl Socket for Stream {
        type ReadHalf = Reader;
        type WriteHalf = Writer;
        fn split(self) -> Split<Reader, Writer> {
            Split::new(self.read, self.write)
        }
    }

    #[derive(Debug)]
    pub struct Reader(OwnedReadHalf, u32, Option<i32>);

    #[async_trait]
    impl ReadHalf for Reader {
        async fn recvmsg(&mut self, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
            Ok((self.0.read(buf).await?, vec![]))
        }
        async fn peer_credentials(&mut self) -> io::Result<ConnectionCredentials> {
            let mut c = ConnectionCredentials::default().set_unix_user_id(self.1);
            if let Some(p) = self.2 {
                c = c.set_process_id(p as u32);
            }
            Ok(c)
        }
    }

    #[derive(Debug)]
    pub struct Writer(OwnedWriteHalf);

    #[async_trait]
    impl WriteHalf for Writer {
        async fn sendmsg(&mut self, buf: &[u8], _fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
            self.0.write(buf).await
        }
        async fn send_message(&mut self, msg: &zbus::Message) -> zbus::Result<()> {
            self.0.write_all(&with_sender(msg.data())).await?;
            self.0.flush().await?;
            Ok(())
        }
        async fn flush(&mut self) -> io::Result<()> {
            self.0.flush().await
        }
        async fn close(&mut self) -> io::Result<()> {
            self.0.shutdown().await
        }
    }

    fn align8(n: usize) -> usize {
        (n + 7) & !7
    }

    /// The message `b` with a SENDER field holding [`SENDER`] appended to
    /// its header fields.
    pub fn with_sender(b: &[u8]) -> Vec<u8> {
        let le = b[0] == b'l';
        let u32_bytes = |n: u32| if le { n.to_le_bytes() } else { n.to_be_bytes() };
        let f = [b[12], b[13], b[14], b[15]];
        let fields_len = if le {
            u32::from_le_bytes(f)
        } else {
            u32::from_be_bytes(f)
        } as usize;
        let fields_end = 16 + fields_len;
        let mut out = b[..fields_end].to_vec();
        out.resize(align8(out.len()), 0);
        out.extend([7, 1, b's', 0]);
        out.extend(u32_bytes(SENDER.len() as u32));
        out.extend(SENDER.as_bytes());
        out.push(0);
        let new_len = (out.len() - 16) as u32;
        out[12..16].copy_from_slice(&u32_bytes(new_len));
        out.resize(align8(out.len()), 0);
        out.extend_from_slice(&b[align8(fields_end)..]);
        out
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
                let conn = zbus::connection::Builder::socket(systemd_like::Stream::new(stream))
                    .server(zbus::Guid::generate())
                    .p2p()
                    .serve_at("/org/freedesktop/systemd1", Standin { calls: c.clone() })
                    .build()
                    .await;
                if let Ok(conn) = conn {
                    // Other units come and go meanwhile: systemd tells
                    // every direct connection, unasked.
                    let _ = conn
                        .emit_signal(
                            None::<()>,
                            "/org/freedesktop/systemd1",
                            "org.freedesktop.systemd1.Manager",
                            "UnitNew",
                            &(
                                "dev-vdg.device",
                                zbus::ObjectPath::try_from(
                                    "/org/freedesktop/systemd1/unit/dev_2dvdg_2edevice",
                                )
                                .unwrap(),
                            ),
                        )
                        .await;
                    conns.push(conn);
                }
            }
        })
    });
    calls
}

/// [`start_daemon`] with the daemon's log in `log`.
fn start_daemon_logged(dir: &Path, bus: &str, env: &[(&str, &str)], log: &Path) -> Kill {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvmetad"));
    cmd.arg("--socket")
        .arg(dir.join("lvmetad.socket"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus)
        .env("LVM_SYSTEM_DIR", dir)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .env_remove("LVMETAD_LOG")
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = Kill(cmd.spawn().unwrap());
    let found = eventually(10, || dir.join("lvmetad.socket").exists().then_some(()));
    assert!(found.is_some(), "lvmetad did not listen");
    child
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
    let log = dir.path().join("lvmetad.log");
    let _d = start_daemon_logged(
        dir.path(),
        &addr,
        &[("LVMETAD_SYSTEMD_PRIVATE", private.to_str().unwrap())],
        &log,
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
    // systemd's reply (sender org.freedesktop.systemd1) came back to the
    // daemon: the start is logged as done, not as a failed StartUnit.
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let started = eventually(10, || {
        let l = read_log();
        (l.contains("started lvm-activate@early\\x2dvg.service (systemd's private socket)")
            || l.contains("StartUnit"))
        .then_some(l)
    });
    let l = started.unwrap_or_else(read_log);
    assert!(
        l.contains("started lvm-activate@early\\x2dvg.service (systemd's private socket)")
            && !l.contains("StartUnit"),
        "lvmetad's log:\n{l}"
    );
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

/// The stand-in is faithful where it matters: a plain zbus peer-to-peer
/// client (what lvmetad used before) loses StartUnit on it exactly as on
/// the real `/run/systemd/private`, with "Invalid unique name", because
/// of the well-known sender systemd puts on its messages.
#[test]
fn a_plain_zbus_p2p_client_fails_on_systemds_sender() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("systemd-private");
    let _calls = standin_p2p(&private);
    let err = runtime().block_on(async {
        let stream = std::os::unix::net::UnixStream::connect(&private).unwrap();
        let conn = zbus::connection::Builder::unix_stream(stream)
            .p2p()
            .build()
            .await
            .unwrap();
        let call = conn.call_method(
            Some("org.freedesktop.systemd1"),
            "/org/freedesktop/systemd1",
            Some("org.freedesktop.systemd1.Manager"),
            "StartUnit",
            &("lvm-activate@vg.service", "replace"),
        );
        tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("no answer")
            .unwrap_err()
    });
    assert!(err.to_string().contains("Invalid unique name"), "{err}");
}
