//! The daemon with the real `lvm` client on loop devices: commands read
//! through the daemon and see what a disk scan sees, writes reach it,
//! changes made behind its back by real lvm2 are caught by the next write,
//! and a daemon restart loses nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{lvm2, require_root, LoopDev};

struct Env {
    etc_daemon: tempfile::TempDir,
    etc_plain: tempfile::TempDir,
    socket: PathBuf,
    daemon: Option<Child>,
    devs: Vec<LoopDev>,
}

impl Env {
    fn new(n: usize) -> Env {
        let devs: Vec<LoopDev> = (0..n).map(|_| LoopDev::new(64 << 20)).collect();
        // Both configs see only our loop devices, so the daemon's full
        // rescan never looks at anything else on the machine.
        let filter: Vec<String> = devs
            .iter()
            .map(|d| format!("\"a|^{}$|\"", d.name()))
            .collect();
        let devices = format!(
            "devices {{ global_filter = [ {}, \"r|.*|\" ] }}\n",
            filter.join(", ")
        );
        let etc_daemon = tempfile::tempdir().unwrap();
        std::fs::write(
            etc_daemon.path().join("lvm.conf"),
            format!("global {{ activation = 0 use_lvmetad = 1 }}\n{devices}"),
        )
        .unwrap();
        let etc_plain = tempfile::tempdir().unwrap();
        std::fs::write(
            etc_plain.path().join("lvm.conf"),
            format!("global {{ activation = 0 }}\n{devices}"),
        )
        .unwrap();
        let socket = etc_daemon.path().join("lvmetad.socket");
        let mut env = Env {
            etc_daemon,
            etc_plain,
            socket,
            daemon: None,
            devs,
        };
        env.start_daemon();
        env
    }

    fn start_daemon(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_lvmetad"))
            // Never reach the host's bus or systemd from a test.
            .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env("LVMETAD_SYSTEMD_PRIVATE", "/nonexistent/systemd-private")
            .arg("--socket")
            .arg(&self.socket)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(t.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(20));
        }
        self.daemon = Some(child);
    }

    fn kill_daemon(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn run(&self, etc: &Path, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(args)
            .env("LVM_SYSTEM_DIR", etc)
            .env("LVM_LVMETAD_SOCKET", &self.socket)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A command through the daemon.
    #[track_caller]
    fn daemon(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(self.etc_daemon.path(), args);
        assert_eq!(code, 0, "{args:?}\n{out}{err}");
        assert!(
            !err.contains("Falling back"),
            "{args:?} did not reach the daemon: {err}"
        );
        out
    }

    /// The same command scanning the disks.
    #[track_caller]
    fn disks(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(self.etc_plain.path(), args);
        assert_eq!(code, 0, "{args:?}\n{out}{err}");
        out
    }

    #[track_caller]
    fn same_view(&self) {
        for args in [
            &[
                "pvs",
                "-o",
                "pv_name,vg_name,pv_size,pv_free,pv_uuid",
                "--units",
                "b",
            ][..],
            &[
                "vgs",
                "-o",
                "vg_name,vg_uuid,vg_seqno,pv_count,lv_count,vg_free",
                "--units",
                "b",
            ][..],
            &[
                "lvs",
                "-a",
                "-o",
                "lv_name,segtype,devices,lv_size",
                "--units",
                "b",
            ][..],
        ] {
            assert_eq!(self.daemon(args), self.disks(args), "{args:?}");
        }
    }

    fn dev(&self, i: usize) -> String {
        self.devs[i].name()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.kill_daemon();
    }
}

#[test]
fn commands_read_through_the_daemon_and_keep_it_right() {
    if !require_root() {
        return;
    }
    let mut e = Env::new(3);
    let (d0, d1, d2) = (e.dev(0), e.dev(1), e.dev(2));
    // Writes through the daemon-enabled config: the first command finds the
    // fresh daemon's token empty and rebuilds its cache.
    e.daemon(&["vgcreate", "vge", &d0, &d1]);
    e.daemon(&["lvcreate", "-n", "a", "-L", "8m", "vge"]);
    e.daemon(&["pvcreate", &d2]);
    e.same_view();
    let vgs = e.daemon(&["vgs", "--noheadings", "-o", "vg_name,lv_count"]);
    assert!(vgs.contains("vge") && vgs.trim().ends_with('1'), "{vgs}");

    // Real lvm2 changes the VG behind the daemon's back; our next write
    // reads the disks under the lock, never the stale cache, and updates
    // the daemon.
    let refs: Vec<&LoopDev> = e.devs.iter().collect();
    lvm2(
        &refs,
        &["lvcreate", "-y", "-n", "theirs", "-L", "4m", "vge"],
    )
    .ok();
    e.daemon(&["lvextend", "-L", "+4m", "vge/a"]);
    e.same_view();
    let lvs = e.daemon(&["lvs", "--noheadings", "-o", "lv_name"]);
    assert!(lvs.contains("theirs"), "{lvs}");

    // A PV going away and coming back, as udev would report it.
    e.daemon(&["pvscan", "--cache", "--remove", &d1]);
    let vgs = e.daemon(&["vgs", "--noheadings", "-o", "vg_name,vg_attr"]);
    let attr = vgs
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        attr.chars().nth(3),
        Some('p'),
        "VG not partial without {d1}: {vgs}"
    );
    e.daemon(&["pvscan", "--cache", &d1]);
    e.same_view();

    // Restart: the new daemon is empty, its token says so, and the first
    // command rebuilds it; nobody ever reads the empty cache as the truth.
    e.kill_daemon();
    e.start_daemon();
    e.same_view();
    e.daemon(&["lvremove", "-y", "vge/theirs"]);
    e.same_view();
    e.daemon(&["vgremove", "-f", "vge"]);
    e.same_view();
}
