//! The client's token protocol against a fake lvmetad: a mismatch rebuilds
//! the daemon's cache in lvm2 2.02's order, another client's rescan is
//! waited out (and taken over when it never ends), and what the daemon
//! then holds reads back as the same scan the disks give.

mod client_fake;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use client_fake::{disks, Env, Fake};
use lvmetad::client::{ClientError, Connection, Lvmetad};
use lvmetad::device::scan::scan_devices;
use lvmetad::protocol::{get_int, Request, TOKEN_UPDATE_IN_PROGRESS};

const UIP: &str = TOKEN_UPDATE_IN_PROGRESS;

fn session(env: &Env, fake: &Fake, update_wait: Duration) -> Lvmetad {
    let conn = Connection::connect(&fake.path, Duration::from_secs(5)).unwrap();
    let devices: Vec<PathBuf> = env.images.clone();
    Lvmetad::from_connection(
        conn,
        &env.token(),
        update_wait,
        Box::new(move || devices.clone()),
    )
}

fn seq(tok: &str, items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, t)| {
            (
                n.to_string(),
                if *t == "tok" {
                    tok.to_string()
                } else {
                    t.to_string()
                },
            )
        })
        .collect()
}

#[test]
fn token_mismatch_rebuilds_the_cache_in_order_then_retries() {
    let env = disks();
    let fake = env.fake(); // a freshly started daemon: empty token
    let mut d = session(&env, &fake, Duration::from_secs(5));
    let tok = env.token();
    assert!(tok.starts_with("filter:"));

    let pvs = d.pv_list().unwrap();
    assert_eq!(
        fake.requests(),
        seq(
            &tok,
            &[
                ("pv_list", "tok"),
                ("token_update", UIP),
                ("pv_clear_all", UIP),
                ("pv_found", UIP),
                ("pv_found", UIP),
                ("pv_found", UIP),
                ("token_update", "tok"),
                ("pv_list", "tok"),
            ]
        )
    );
    assert_eq!(pvs.len(), 3);
    assert_eq!(d.rescans, 1);
    assert_eq!(fake.with(|s| s.token.clone()), tok);

    // The PVs of vg0 carried its metadata, the orphan none.
    let found: Vec<_> = fake
        .messages()
        .into_iter()
        .filter_map(|m| match m.request {
            Request::PvFound {
                pv,
                vgname,
                metadata,
            } => Some((pv, vgname, metadata)),
            _ => None,
        })
        .collect();
    assert_eq!(found[0].0.device_name, env.img(0));
    assert_eq!(found[0].1.as_deref(), Some("vg0"));
    assert_eq!(get_int(found[0].2.as_ref().unwrap(), "seqno"), Some(2));
    assert_eq!(found[2].0.device_name, env.img(2));
    assert!(found[2].1.is_none() && found[2].2.is_none());

    // The token matches now: no second rescan.
    fake.clear_log();
    d.pv_list().unwrap();
    assert_eq!(fake.names(), ["pv_list"]);
}

#[test]
fn another_clients_rescan_is_waited_for_not_repeated() {
    let env = disks();
    let fake = env.fake();
    let tok = env.token();
    fake.with(|s| {
        s.token = UIP.into();
        s.busy_replies = 3;
        s.finish_token = tok.clone();
    });
    let mut d = session(&env, &fake, Duration::from_secs(5));
    d.pv_list().unwrap();
    assert_eq!(fake.names(), ["pv_list"; 4]);
    assert_eq!(d.rescans, 0);
}

#[test]
fn a_rescan_that_never_finishes_is_taken_over() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| s.token = UIP.into());
    let wait = Duration::from_millis(300);
    let mut d = session(&env, &fake, wait);
    let start = Instant::now();
    let pvs = d.pv_list().unwrap();
    assert!(start.elapsed() >= wait);
    assert_eq!(pvs.len(), 3);
    assert_eq!(d.rescans, 1);
    let names = fake.names();
    let first_update = names.iter().position(|n| n == "token_update").unwrap();
    assert!(first_update >= 2, "waited with retries first: {names:?}");
    assert!(names[..first_update].iter().all(|n| n == "pv_list"));
    assert_eq!(names.last().unwrap(), "pv_list");
}

#[test]
fn a_daemon_refusing_the_takeover_is_given_time() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| {
        s.token = UIP.into();
        s.refuse_takeover = 2;
    });
    let mut d = session(&env, &fake, Duration::from_millis(100));
    assert_eq!(d.pv_list().unwrap().len(), 3);
    let tok = env.token();
    let reqs = fake.requests();
    let takeovers = reqs
        .iter()
        .filter(|(n, t)| n == "token_update" && t == UIP)
        .count();
    assert_eq!(takeovers, 3, "{reqs:?}");
    assert_eq!(reqs.iter().filter(|(n, _)| n == "pv_clear_all").count(), 1);
    assert_eq!(reqs[reqs.len() - 2], ("token_update".to_string(), tok));
    assert_eq!(d.rescans, 1);
}

#[test]
fn a_mismatch_that_survives_rescans_is_an_error_naming_the_socket() {
    let env = disks();
    let fake = env.fake();
    fake.with(|s| s.pin_token = Some("filter:other".into()));
    let mut d = session(&env, &fake, Duration::ZERO);
    let e = d.pv_list().unwrap_err();
    assert!(matches!(e, ClientError::TokenMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains(&env.socket.display().to_string()),
        "{e}"
    );
    assert_eq!(d.rescans, 2);
}

#[test]
fn what_the_daemon_holds_reads_back_as_the_disk_scan() {
    let env = disks();
    let fake = env.fake();
    let mut d = session(&env, &fake, Duration::from_secs(5));
    let view = d.scan(|_| true).unwrap();
    let disk = scan_devices(&env.images);
    assert!(view.warnings.is_empty(), "{:?}", view.warnings);
    assert_eq!(view.vgs.len(), 1);
    assert_eq!(view.vgs[0].vg, disk.vgs[0].vg);
    assert_eq!(view.vgs[0].missing_pvs(), Vec::<&str>::new());
    let paths = |s: &lvmetad::device::scan::Scan| {
        let mut v: Vec<_> = s.orphans.iter().map(|&i| s.devices[i].0.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(paths(&view), paths(&disk));
    let vg = &view.vgs[0];
    for (key, idx) in &vg.pv_devices {
        let disk_idx = disk.vgs[0].pv_devices[key].unwrap();
        assert_eq!(view.devices[idx.unwrap()].0, disk.devices[disk_idx].0);
        let (a, b) = (view.pv(idx.unwrap()), disk.pv(disk_idx));
        assert_eq!(
            (a.uuid(), a.dev_size, &a.label.metadata_areas),
            (b.uuid(), b.dev_size, &b.label.metadata_areas)
        );
    }
}
