//! `lvm` commands against a fake lvmetad (the socket given by
//! LVM_LVMETAD_SOCKET, the daemon enabled by the test's lvm.conf):
//! pvscan --cache feeds it, reads go through it, writes notify it, and a
//! daemon that is gone or talks garbage never breaks a command.

mod client_fake;

use client_fake::{disks, Env};
use lvmetad::client::lvmetad::TOKEN_INVALID;
use lvmetad::client::pvmeta::{devno_of_path, makedev, pv_meta};
use lvmetad::device::scan::{scan_device, DevScan};
use lvmetad::protocol::{get_int, Request, TOKEN_UPDATE_IN_PROGRESS};

const UIP: &str = TOKEN_UPDATE_IN_PROGRESS;

fn pv_founds(fake: &client_fake::Fake) -> Vec<Request> {
    fake.messages()
        .into_iter()
        .map(|m| m.request)
        .filter(|r| matches!(r, Request::PvFound { .. }))
        .collect()
}

#[test]
fn pvscan_cache_device_sends_pv_found_with_its_pvmeta() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| s.token = env.token());
    let o = env.ok(&["pvscan", "--cache", &env.img(0), "--devices", &env.all()]);
    assert_eq!(o.stdout, "");
    assert_eq!(fake.requests(), [("pv_found".to_string(), env.token())]);
    let DevScan::Pv(pv) = scan_device(&env.images[0]) else {
        panic!("d0 is a PV")
    };
    let [Request::PvFound {
        pv: meta,
        vgname,
        metadata,
    }] = &pv_founds(&fake)[..]
    else {
        panic!("one pv_found")
    };
    assert_eq!(*meta, pv_meta(&pv));
    assert_eq!(meta.device, devno_of_path(&env.images[0]).unwrap());
    assert_eq!(meta.device_name, env.img(0));
    assert_eq!(
        (meta.dev_size, meta.label_sector, meta.pe_start),
        (16 << 20, 1, 1 << 20)
    );
    assert_eq!(meta.mdas.len(), 1);
    assert_eq!(meta.mdas[0].0, 4096);
    assert_eq!(vgname.as_deref(), Some("vg0"));
    assert_eq!(get_int(metadata.as_ref().unwrap(), "seqno"), Some(2));

    // --devices alone names what to feed; the orphan goes without metadata.
    fake.clear_log();
    env.ok(&["pvscan", "--cache", "--devices", &env.img(2)]);
    let [Request::PvFound {
        pv: meta,
        vgname: None,
        metadata: None,
    }] = &pv_founds(&fake)[..]
    else {
        panic!("one orphan pv_found: {:?}", fake.names())
    };
    assert_eq!(meta.device_name, env.img(2));
}

#[test]
fn pvscan_cache_forgets_removed_unlabelled_and_vanished_devices() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| s.token = env.token());
    let gone = |fake: &client_fake::Fake| -> Vec<Option<u64>> {
        fake.messages()
            .into_iter()
            .filter_map(|m| match m.request {
                Request::PvGone { device, .. } => Some(device),
                _ => None,
            })
            .collect()
    };

    env.ok(&["pvscan", "--cache", "--remove", &env.img(1)]);
    assert_eq!(gone(&fake), [devno_of_path(&env.images[1])]);
    assert_eq!(
        fake.names(),
        ["pv_gone"],
        "--remove reads nothing and sends nothing else"
    );

    // A device without a label is forgotten.
    fake.clear_log();
    let o = env.ok(&["pvscan", "--cache", &env.img(3), "--devices", &env.all()]);
    assert!(
        o.stdout
            .contains(&format!("No PV label found on {}.", env.img(3))),
        "{}",
        o.stdout
    );
    assert_eq!(gone(&fake), [devno_of_path(&env.images[3])]);

    // A device number the system does not have (udev's remove event).
    fake.clear_log();
    let o = env.ok(&["pvscan", "--cache", "--major", "4000", "--minor", "77777"]);
    assert_eq!(gone(&fake), [Some(makedev(4000, 77777))]);
    assert!(
        o.stdout
            .contains("Device 4000:77777 not found. Cleared from lvmetad cache."),
        "{}",
        o.stdout
    );
    fake.clear_log();
    env.ok(&[
        "pvscan", "--cache", "--remove", "--major", "4000", "--minor", "77778",
    ]);
    assert_eq!(gone(&fake), [Some(makedev(4000, 77778))]);

    // A path that vanished is forgotten by the name the daemon knows.
    env.ok(&["pvscan", "--cache", &env.img(2), "--devices", &env.all()]);
    let devno = devno_of_path(&env.images[2]);
    std::fs::remove_file(&env.images[2]).unwrap();
    fake.clear_log();
    env.ok(&["pvscan", "--cache", &env.img(2)]);
    assert_eq!(gone(&fake), [devno]);
    let o = env.lvm(&[
        "pvscan",
        "--cache",
        &format!("{}/nothing", env.dir.path().display()),
    ]);
    assert_eq!(o.code, 5);
    assert!(o.stderr.contains("not found"), "{}", o.stderr);
}

#[test]
fn plain_pvscan_cache_rebuilds_everything_through_the_token_protocol() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| s.token = env.token());
    env.ok(&["pvscan", "--cache"]);
    // The test's filter admits only its temp dir, so the system's devices
    // are all rejected: the rescan clears the daemon and sets the token.
    let tok = env.token();
    assert_eq!(
        fake.requests(),
        [
            ("token_update".to_string(), UIP.to_string()),
            ("pv_clear_all".to_string(), UIP.to_string()),
            ("token_update".to_string(), tok),
        ]
    );
}

#[test]
fn a_fresh_daemon_is_rebuilt_by_the_first_command() {
    let env = disks();
    let fake = env.fake(); // empty token, as after a (re)start
    env.ok(&["pvscan", "--cache", &env.img(0), "--devices", &env.all()]);
    let names = fake.names();
    assert_eq!(
        names,
        [
            "pv_found",
            "token_update",
            "pv_clear_all",
            "token_update",
            "pv_found"
        ],
        "mismatch, rescan, retry"
    );
    assert_eq!(fake.with(|s| s.pvs.len()), 1);
}

#[test]
fn reads_go_through_the_daemon_and_match_the_disks() {
    let env = disks();
    let fake = env.fake();
    env.ok(&["pvscan", "--cache", "--devices", &env.all()]);
    assert_eq!(fake.with(|s| (s.pvs.len(), s.vgs.len())), (3, 1));
    let pv_devices = [env.img(0), env.img(1), env.img(2)].join(",");
    for cmd in [
        vec!["pvs"],
        vec!["vgs"],
        vec!["lvs", "-a"],
        vec![
            "pvs",
            "-o",
            "+pv_uuid,dev_size,pe_start,pv_mda_count,pv_in_use",
        ],
        vec!["pvscan"],
        vec!["pvscan", "-u"],
    ] {
        fake.clear_log();
        let via_daemon = env.ok(&cmd);
        assert!(
            fake.names().iter().any(|n| n == "pv_list"),
            "{cmd:?} did not read through lvmetad"
        );
        let mut direct = cmd.clone();
        direct.extend(["--devices", &pv_devices]);
        fake.clear_log();
        let from_disk = env.ok(&direct);
        assert!(
            fake.names().is_empty(),
            "--devices reads the disks: {:?}",
            fake.names()
        );
        assert_eq!(via_daemon.stdout, from_disk.stdout, "{cmd:?}");
    }
    let o = env.ok(&["pvscan"]);
    assert!(
        o.stdout.contains(&format!("PV {}   VG vg0", env.img(0))),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Total: 3 ["), "{}", o.stdout);
}

#[test]
fn writes_read_the_disks_and_notify_the_daemon() {
    let env = Env::new(3, 16);
    let fake = env.fake();
    fake.with(|s| s.token = env.token());
    let all = env.all();

    env.ok(&["pvcreate", &env.img(0), &env.img(1), "--devices", &all]);
    assert_eq!(fake.names(), ["pv_found", "pv_found"]);

    fake.clear_log();
    env.ok(&[
        "vgcreate",
        "vg1",
        &env.img(0),
        &env.img(1),
        "--devices",
        &all,
    ]);
    assert_eq!(fake.names(), ["vg_update", "pv_found", "pv_found"]);
    let used = pv_founds(&fake)
        .iter()
        .all(|r| matches!(r, Request::PvFound { pv, vgname: Some(v), .. } if pv.ext_flags & 1 == 1 && v == "vg1"));
    assert!(used, "joining PVs are sent as used, with the VG");

    // A write reads the disks under the lock, compares the daemon's seqno,
    // and sends the new metadata.
    fake.clear_log();
    env.ok(&["lvcreate", "-n", "lv", "-L", "4m", "vg1", "--devices", &all]);
    assert_eq!(fake.names(), ["vg_lookup", "vg_update"]);
    let seqno = fake.with(|s| get_int(&s.vgs[0].2, "seqno"));
    assert_eq!(seqno, Some(2));

    // The daemon lost the VG: the disks win and it is told.
    fake.with(|s| s.vgs.clear());
    fake.clear_log();
    env.ok(&[
        "lvcreate",
        "-n",
        "lv2",
        "-L",
        "4m",
        "vg1",
        "--devices",
        &all,
    ]);
    assert_eq!(
        fake.names(),
        ["vg_lookup", "pv_found", "pv_found", "vg_update"]
    );

    // Test mode writes nothing and tells nothing.
    fake.clear_log();
    env.ok(&[
        "lvcreate",
        "-t",
        "-n",
        "lv3",
        "-L",
        "4m",
        "vg1",
        "--devices",
        &all,
    ]);
    assert_eq!(fake.names(), ["vg_lookup"]);

    fake.clear_log();
    env.ok(&["vgreduce", "vg1", &env.img(1), "--devices", &all]);
    assert_eq!(fake.names(), ["vg_lookup", "vg_update", "pv_found"]);
    let orphan = matches!(&pv_founds(&fake)[..], [Request::PvFound { pv, vgname: None, metadata: None }]
        if pv.device_name == env.img(1) && pv.ext_flags & 1 == 0);
    assert!(orphan, "the released PV is sent as an orphan");

    fake.clear_log();
    env.ok(&["vgremove", "-f", "vg1", "--devices", &all]);
    assert_eq!(fake.names(), ["vg_lookup", "vg_remove", "pv_found"]);
    assert!(fake.with(|s| s.vgs.is_empty()));

    fake.clear_log();
    env.ok(&["pvremove", &env.img(1), "--devices", &all]);
    assert_eq!(fake.names(), ["pv_gone"]);
    assert_eq!(fake.with(|s| s.pvs.len()), 1);
}

#[test]
fn a_failed_notification_warns_and_invalidates_the_daemon() {
    let env = disks();
    let fake = env.fake();
    env.ok(&["pvscan", "--cache", "--devices", &env.all()]);
    fake.with(|s| s.fail = vec!["vg_update"]);
    fake.clear_log();
    let o = env.ok(&[
        "lvcreate",
        "-n",
        "lv2",
        "-L",
        "4m",
        "vg0",
        "--devices",
        &env.all(),
    ]);
    assert!(
        o.stderr.contains("WARNING: Failed to update lvmetad"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("injected failure"), "{}", o.stderr);
    assert_eq!(fake.with(|s| s.token.clone()), TOKEN_INVALID);
    // The next reader rebuilds the cache instead of trusting it.
    fake.clear_log();
    env.ok(&["vgs"]);
    assert_eq!(
        fake.names()[..3],
        ["pv_list", "token_update", "pv_clear_all"]
    );
}

#[test]
fn an_unreachable_or_disabled_daemon_falls_back_to_scanning() {
    let env = disks(); // no fake: nothing listens on the socket
    let o = env.ok(&["pvscan", "--cache", &env.img(0), "--devices", &env.all()]);
    assert!(
        o.stderr.contains("Failed to connect to lvmetad"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(&env.socket.display().to_string()),
        "{}",
        o.stderr
    );
    env.ok(&["pvscan", "--cache"]);
    // Reads and writes scan the disks.
    let o = env.ok(&[
        "vgs",
        "--noheadings",
        "-o",
        "vg_name",
        "--devices",
        &env.all(),
    ]);
    assert_eq!(o.stdout.trim(), "vg0");
    env.ok(&["vgs"]);
    env.ok(&[
        "lvcreate",
        "-n",
        "lv3",
        "-L",
        "4m",
        "vg0",
        "--devices",
        &env.all(),
    ]);

    // Disabled: --cache is ignored quietly, even with a daemon listening.
    let fake = env.fake();
    let o = env.ok(&[
        "pvscan",
        "--cache",
        &env.img(0),
        "--config",
        "lvmetad{enabled=0}",
    ]);
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("", ""));
    env.ok(&["vgs", "--config", "global{use_lvmetad=0}"]);
    assert!(fake.names().is_empty());
}

#[test]
fn a_garbage_reply_is_a_clear_error_naming_the_socket() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| s.garbage = true);
    let sock = env.socket.display().to_string();
    let o = env.lvm(&["pvscan", "--cache", &env.img(0), "--devices", &env.all()]);
    assert_eq!(o.code, 5, "{}", o.stderr);
    assert!(
        o.stderr.contains(&sock) && o.stderr.contains("malformed reply"),
        "{}",
        o.stderr
    );
    // A reader warns and scans the disks instead.
    let o = env.ok(&["pvs", "--noheadings", "-o", "pv_name"]);
    assert!(
        o.stderr.contains(&sock) && o.stderr.contains("Falling back to scanning devices"),
        "{}",
        o.stderr
    );
}
