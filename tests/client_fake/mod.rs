//! A tiny in-test lvmetad: a thread accepting on a Unix socket in a temp
//! dir, decoding requests with the crate's protocol module, recording
//! them, and answering like lvm2 2.02's daemon (token check, PVs and VGs
//! kept in memory) with knobs for the cases under test: another client's
//! rescan in progress, garbage replies, refused requests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lvmetad::format::config::{Node, Section, Value};
use lvmetad::protocol::frame::{encode, Decoder};
use lvmetad::protocol::{
    decode_request, get_int, get_str, str_node, Message, PvMeta, Reply, Request, Response,
    TOKEN_UPDATE_IN_PROGRESS,
};

#[derive(Default)]
pub struct State {
    /// The daemon's token ("" when freshly started).
    pub token: String,
    /// Every request, in arrival order.
    pub log: Vec<Message>,
    pub pvs: Vec<PvMeta>,
    /// (vgid, name, metadata)
    pub vgs: Vec<(String, String, Section)>,
    /// While the token is "update in progress": answer this many
    /// mismatches, then act as if the other client's rescan finished and
    /// set `finish_token`.
    pub busy_replies: usize,
    pub finish_token: String,
    /// Answer every request with bytes that are not a reply.
    pub garbage: bool,
    /// Request names answered with `failed`.
    pub fail: Vec<&'static str>,
    /// A token every final token_update is overridden with (a daemon some
    /// other client keeps rescanning under another filter).
    pub pin_token: Option<String>,
    /// Refuse this many attempts to take over an update in progress (the
    /// daemon does not consider the other updater dead yet).
    pub refuse_takeover: usize,
}

pub struct Fake {
    pub path: PathBuf,
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    /// Listen on `path` (in the test's temp dir); serve until the test
    /// process ends.
    pub fn start(path: &Path) -> Fake {
        let listener = UnixListener::bind(path).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, st));
            }
        });
        Fake {
            path: path.to_path_buf(),
            state,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// (request name, token) of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.with(|s| {
            s.log
                .iter()
                .map(|m| {
                    (
                        m.request.name().to_string(),
                        m.token.clone().unwrap_or_default(),
                    )
                })
                .collect()
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.requests().into_iter().map(|(n, _)| n).collect()
    }

    pub fn messages(&self) -> Vec<Message> {
        self.with(|s| s.log.clone())
    }

    pub fn clear_log(&self) {
        self.with(|s| s.log.clear());
    }
}

fn serve(mut conn: UnixStream, st: Arc<Mutex<State>>) {
    let mut dec = Decoder::default();
    let mut buf = vec![0u8; 65536];
    loop {
        while let Ok(Some(text)) = dec.next_frame() {
            let reply = {
                let mut s = st.lock().unwrap();
                handle(&mut s, &text)
            };
            if conn.write_all(&reply).is_err() {
                return;
            }
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => dec.push(&buf[..n]),
        }
    }
}

fn ok() -> Reply {
    Reply::ok()
}

fn handle(s: &mut State, text: &str) -> Vec<u8> {
    let msg = match decode_request(text) {
        Ok(m) => m,
        Err(e) => return encode(&Reply::failed(e.to_string()).encode()),
    };
    s.log.push(msg.clone());
    if s.garbage {
        return b"this is { not a reply\n##\n".to_vec();
    }
    encode(&answer(s, msg).encode())
}

fn answer(s: &mut State, msg: Message) -> Reply {
    let token = msg.token.clone().unwrap_or_default();
    if let Request::TokenUpdate = msg.request {
        if token == TOKEN_UPDATE_IN_PROGRESS && s.token == token && s.refuse_takeover > 0 {
            s.refuse_takeover -= 1;
            return Reply::failed("another command's update in progress")
                .push("expected", str_node(TOKEN_UPDATE_IN_PROGRESS));
        }
        s.token = match &s.pin_token {
            Some(pinned) if token != TOKEN_UPDATE_IN_PROGRESS => pinned.clone(),
            _ => token,
        };
        return ok();
    }
    if token != s.token && !matches!(msg.request, Request::Dump) {
        let reply = Reply::with(
            Response::TokenMismatch,
            if s.token == TOKEN_UPDATE_IN_PROGRESS {
                "another command is updating the cache: update in progress"
            } else {
                "lvmetad cache is invalid due to a global_filter change or due to a running rescan"
            },
        )
        .push("expected", str_node(&s.token))
        .push("received", str_node(&token));
        if s.token == TOKEN_UPDATE_IN_PROGRESS && s.busy_replies > 0 {
            s.busy_replies -= 1;
            if s.busy_replies == 0 {
                s.token = s.finish_token.clone();
            }
        }
        return reply;
    }
    if s.fail.contains(&msg.request.name()) {
        return Reply::failed("injected failure");
    }
    match msg.request {
        Request::PvClearAll => {
            s.pvs.clear();
            s.vgs.clear();
            ok()
        }
        Request::PvFound {
            pv,
            vgname,
            metadata,
        } => {
            s.pvs.retain(|p| p.id != pv.id && p.device != pv.device);
            s.pvs.push(pv);
            if let (Some(name), Some(m)) = (vgname, metadata) {
                store_vg(s, name, m);
            }
            ok().push("status", str_node("complete"))
        }
        Request::PvGone { device, uuid } => {
            let before = s.pvs.len();
            s.pvs
                .retain(|p| Some(p.device) != device && Some(&p.id) != uuid.as_ref());
            if s.pvs.len() < before {
                ok()
            } else {
                Reply::with(Response::Unknown, "device not in cache")
            }
        }
        Request::PvList => {
            let mut list = Section::default();
            for p in &s.pvs {
                list.items
                    .push((p.id.clone(), Node::Section(p.to_section())));
            }
            ok().push("physical_volumes", Node::Section(list))
        }
        Request::VgList => {
            let mut list = Section::default();
            for (id, name, _) in &s.vgs {
                let mut e = Section::default();
                e.items.push(("name".into(), str_node(name)));
                list.items.push((id.clone(), Node::Section(e)));
            }
            ok().push("volume_groups", Node::Section(list))
        }
        Request::VgLookup { uuid, name } => {
            let found = s
                .vgs
                .iter()
                .find(|(i, n, _)| Some(i) == uuid.as_ref() || Some(n) == name.as_ref());
            match found {
                Some((_, n, m)) => ok()
                    .push("name", str_node(n))
                    .push("metadata", Node::Section(m.clone())),
                None => Reply::with(Response::Unknown, "VG not found"),
            }
        }
        Request::VgUpdate { vgname, metadata } => {
            store_vg(s, vgname, metadata);
            ok()
        }
        Request::VgRemove { uuid } => {
            s.vgs.retain(|(i, _, _)| *i != uuid);
            ok()
        }
        _ => ok().push("x", Node::Value(Value::Int(0))),
    }
}

fn store_vg(s: &mut State, name: String, m: Section) {
    let id = get_str(&m, "id").unwrap_or_default().to_string();
    let seqno = get_int(&m, "seqno").unwrap_or(0);
    if let Some(e) = s.vgs.iter_mut().find(|(i, _, _)| *i == id) {
        if get_int(&e.2, "seqno").unwrap_or(0) <= seqno {
            *e = (id, name, m);
        }
    } else {
        s.vgs.push((id, name, m));
    }
}

/// What a command printed and returned.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A temp dir with image files, an lvm.conf enabling lvmetad at a socket
/// in the dir (the fake daemon, when started), and a way to run `lvm`.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub images: Vec<PathBuf>,
    pub socket: PathBuf,
    pub etc: PathBuf,
}

impl Env {
    pub fn new(images: usize, mib: u64) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let images: Vec<PathBuf> = (0..images)
            .map(|i| dir.path().join(format!("d{i}.img")))
            .collect();
        for p in &images {
            std::fs::File::create(p)
                .unwrap()
                .set_len(mib << 20)
                .unwrap();
        }
        let etc = dir.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        let socket = dir.path().join("lvmetad.socket");
        let d = dir.path().display();
        std::fs::write(
            etc.join("lvm.conf"),
            format!(
                "global {{\n\tactivation = 0\n\tuse_lvmetad = 1\n\tlocking_dir = \"{d}/lock\"\n}}\n\
                 devices {{\n\tfilter = [ \"a|^{d}/|\", \"r|.*|\" ]\n}}\n\
                 lvmetad {{\n\ttimeout = 5\n\tupdate_wait_time = 2\n}}\n"
            ),
        )
        .unwrap();
        Env {
            dir,
            images,
            socket,
            etc,
        }
    }

    pub fn fake(&self) -> Fake {
        Fake::start(&self.socket)
    }

    /// The merged config the commands run with.
    pub fn config(&self) -> lvmetad::config::Config {
        lvmetad::config::Config::load(&self.etc.join("lvm.conf"), &[]).unwrap()
    }

    /// The token the commands send.
    pub fn token(&self) -> String {
        lvmetad::client::settings::token(&self.config())
    }

    pub fn img(&self, i: usize) -> String {
        self.images[i].display().to_string()
    }

    pub fn all(&self) -> String {
        self.images
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn lvm(&self, args: &[&str]) -> Out {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(args)
            .env("LVM_SYSTEM_DIR", &self.etc)
            .env("LVM_LVMETAD_SOCKET", &self.socket)
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Out {
        let o = self.lvm(args);
        assert_eq!(o.code, 0, "{args:?}:\n{}{}", o.stdout, o.stderr);
        o
    }

    /// Run with the daemon disabled (to set up disks without it).
    #[track_caller]
    pub fn ok_without_daemon(&self, args: &[&str]) -> Out {
        let mut a = args.to_vec();
        a.extend(["--config", "global{use_lvmetad=0}"]);
        self.ok(&a)
    }
}

/// d0, d1: PVs of vg0 with an LV (d0 holds metadata); d2: an orphan PV;
/// d3: no label. Made with the daemon disabled.
pub fn disks() -> Env {
    let env = Env::new(4, 16);
    let all = env.all();
    env.ok_without_daemon(&[
        "pvcreate",
        &env.img(0),
        &env.img(1),
        &env.img(2),
        "--devices",
        &all,
    ]);
    env.ok_without_daemon(&[
        "vgcreate",
        "vg0",
        &env.img(0),
        &env.img(1),
        "--devices",
        &all,
    ]);
    env.ok_without_daemon(&["lvcreate", "-n", "lv", "-L", "8m", "vg0", "--devices", &all]);
    env
}
