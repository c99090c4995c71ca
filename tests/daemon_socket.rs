//! The daemon over its socket: many clients at once, garbage, oversized and
//! stalled messages never block the others; vg_wait blocks until complete
//! or times out; systemd socket activation hands it its socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lvmetad::format::config::Section;
use lvmetad::protocol::frame::{encode, Decoder};
use lvmetad::protocol::{encode_request, Message, PvMeta, Reply, Request, Response};

struct Daemon {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("lvmetad.socket");
        let child = Command::new(env!("CARGO_BIN_EXE_lvmetad"))
            // Never reach the host's bus or systemd from a test.
            .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env("LVMETAD_SYSTEMD_PRIVATE", "/nonexistent/systemd-private")
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "daemon did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            child,
            socket,
            _dir: dir,
        }
    }

    fn client(&self) -> Client {
        Client::new(&self.socket)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    s: UnixStream,
    d: Decoder,
}

impl Client {
    fn new(path: &Path) -> Client {
        let s = UnixStream::connect(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Client {
            s,
            d: Decoder::default(),
        }
    }

    fn raw(&mut self, bytes: &[u8]) -> Option<Reply> {
        self.s.write_all(bytes).ok()?;
        self.read()
    }

    fn read(&mut self) -> Option<Reply> {
        let mut buf = [0u8; 65536];
        loop {
            if let Some(f) = self.d.next_frame().unwrap() {
                return Some(Reply::decode(&f).unwrap());
            }
            let n = self.s.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            self.d.push(&buf[..n]);
        }
    }

    fn req(&mut self, request: Request, token: Option<&str>) -> Reply {
        let m = Message {
            request,
            token: token.map(str::to_string),
        };
        self.raw(&encode(&encode_request(&m))).expect("a reply")
    }
}

fn vg_section(name: &str, pv_ids: &[&str]) -> Section {
    let pvs: String = pv_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                "pv{i} {{ id = \"{id}\" device = \"/dev/x{i}\" status = [\"ALLOCATABLE\"] flags = [] dev_size = 131072 pe_start = 2048 pe_count = 15 }}\n"
            )
        })
        .collect();
    let text = format!(
        "{name} {{ id = \"Qo7Dd2-PclC-GrTp-Y3pM-vu2q-5vko-QIHZ52\" seqno = 1 format = \"lvm2\" status = [\"RESIZEABLE\", \"READ\", \"WRITE\"] flags = [] extent_size = 8192 max_lv = 0 max_pv = 0 metadata_copies = 0 physical_volumes {{ {pvs} }} }}"
    );
    let tree = lvmetad::format::config::parse(&text).unwrap();
    match &tree.items[0].1 {
        lvmetad::format::config::Node::Section(s) => s.clone(),
        _ => unreachable!(),
    }
}

const IDS: [&str; 2] = [
    "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu",
    "Gj2zh5-nKaO-N1TC-KQZN-0EZv-t2yY-LB5NIj",
];

fn pv_found(i: usize, with_meta: bool) -> Request {
    Request::PvFound {
        pv: PvMeta {
            id: IDS[i].into(),
            device: 1792 + i as u64,
            device_name: format!("/dev/x{i}"),
            dev_size: 64 << 20,
            label_sector: 1,
            pe_start: 1 << 20,
            mdas: vec![(4096, 1044480, false)],
            ext_version: 2,
            ext_flags: 1,
        },
        vgname: with_meta.then(|| "vgd".to_string()),
        metadata: with_meta.then(|| vg_section("vgd", &IDS)),
    }
}

const TOKEN: &str = "filter:0";

/// A fresh daemon has no token: a client rebuilds it as lvm2 2.02's did
/// (update in progress, clear, report PVs, final token).
fn rebuild(c: &mut Client) {
    let r = c.req(
        Request::TokenUpdate,
        Some(lvmetad::protocol::TOKEN_UPDATE_IN_PROGRESS),
    );
    assert_eq!(r.response, Response::Ok, "{r:?}");
    let r = c.req(
        Request::PvClearAll,
        Some(lvmetad::protocol::TOKEN_UPDATE_IN_PROGRESS),
    );
    assert_eq!(r.response, Response::Ok, "{r:?}");
    let r = c.req(Request::TokenUpdate, Some(TOKEN));
    assert_eq!(r.response, Response::Ok, "{r:?}");
}

#[test]
fn fresh_daemon_says_token_mismatch_then_serves() {
    let d = Daemon::start(&[]);
    let mut c = d.client();
    assert_eq!(c.req(Request::Hello, None).response, Response::Ok);
    let r = c.req(Request::VgList, Some(TOKEN));
    assert_eq!(r.response, Response::TokenMismatch, "{r:?}");
    rebuild(&mut c);
    assert_eq!(c.req(Request::VgList, Some(TOKEN)).response, Response::Ok);
}

#[test]
fn vg_wait_blocks_until_complete_or_times_out() {
    let d = Daemon::start(&[]);
    let mut c = d.client();
    rebuild(&mut c);
    assert_eq!(c.req(pv_found(0, true), Some(TOKEN)).response, Response::Ok);
    // times out, naming the missing PV
    let t = Instant::now();
    let r = c.req(
        Request::VgWait {
            uuid: None,
            name: Some("vgd".into()),
            timeout_ms: 300,
        },
        Some(TOKEN),
    );
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert_eq!(r.response, Response::Failed, "{r:?}");
    assert!(r.encode().contains(IDS[1]), "{}", r.encode());
    // completes when the last PV arrives from another client
    let sock = d.socket.clone();
    let feeder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut c2 = Client::new(&sock);
        c2.req(pv_found(1, false), Some(TOKEN))
    });
    let r = c.req(
        Request::VgWait {
            uuid: None,
            name: Some("vgd".into()),
            timeout_ms: 10_000,
        },
        Some(TOKEN),
    );
    assert_eq!(r.response, Response::Ok, "{r:?}");
    assert_eq!(feeder.join().unwrap().response, Response::Ok);
}

#[test]
fn bad_clients_never_block_good_ones() {
    let d = Daemon::start(&["--max-message", "1048576"]);
    // garbage: a failed reply, and the connection still works
    let mut g = d.client();
    let r = g.raw(b"this is { not config\n##\n").unwrap();
    assert_eq!(r.response, Response::Failed);
    let r = g.raw(b"request = \"no_such_thing\"\n##\n").unwrap();
    assert_eq!(r.response, Response::Failed);
    assert_eq!(g.req(Request::Hello, None).response, Response::Ok);
    // a stalled client (half a message) and a huge one
    let mut stalled = d.client();
    stalled.s.write_all(b"request = \"hel").unwrap();
    let mut huge = d.client();
    let big = vec![b'x'; 2 << 20];
    let _ = huge.s.write_all(&big);
    let r = huge.read();
    assert!(r.is_none() || r.unwrap().response == Response::Failed);
    // meanwhile 50 clients are served promptly
    let t = Instant::now();
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let sock = d.socket.clone();
            std::thread::spawn(move || {
                let mut c = Client::new(&sock);
                for _ in 0..20 {
                    assert_eq!(c.req(Request::Hello, None).response, Response::Ok);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(t.elapsed() < Duration::from_secs(10));
    // the stalled client is dropped after the partial-message timeout,
    // which does not matter to anyone else
    drop(stalled);
}

#[test]
fn socket_activation_hands_over_the_socket() {
    let Ok(status) = Command::new("systemd-socket-activate")
        .arg("--help")
        .stdout(Stdio::null())
        .status()
    else {
        panic!("systemd-socket-activate is not installed (package systemd)");
    };
    assert!(status.success());
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("act.socket");
    let mut child = Command::new("systemd-socket-activate")
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("LVMETAD_SYSTEMD_PRIVATE", "/nonexistent/systemd-private")
        .arg("-l")
        .arg(&socket)
        .arg(env!("CARGO_BIN_EXE_lvmetad"))
        .arg("--socket")
        .arg(dir.path().join("never-bound"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !socket.exists() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first connection starts the daemon, which answers on the
    // activated socket and never binds its own path.
    let mut c = Client::new(&socket);
    assert_eq!(c.req(Request::Hello, None).response, Response::Ok);
    assert!(!dir.path().join("never-bound").exists());
    let _ = child.kill();
    let _ = child.wait();
}
