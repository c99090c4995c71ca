//! lvmetad over D-Bus, on a private dbus-daemon with the project's policy:
//!
//! 1. the round trip of `LookupVgByName` (a VG with 24 LVs on 8 PVs),
//!    against the same lookup over the daemon's socket;
//! 2. the latency from the socket's `pv_found` of a VG's last PV to a
//!    D-Bus client receiving `VolumeGroupComplete`.
//!
//! Median and p99 over at least 200 runs each. Needs dbus-daemon.
//! Run: `sudo cargo bench --bench dbus`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::dbus::*;
use lvmetad::protocol::{Message, Request, Response};
use zbus::export::futures_core::Stream;

const LOOKUPS: usize = 1000;
const COMPLETIONS: usize = 300;

fn stats(name: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| v[((v.len() as f64 * p).ceil() as usize).min(v.len()) - 1];
    println!(
        "{name}: n={} median {:.3} ms  p99 {:.3} ms  min {:.3} ms  max {:.3} ms",
        v.len(),
        pct(0.5),
        pct(0.99),
        v[0],
        v[v.len() - 1]
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // No degraded fallback: only completions matter here.
    std::fs::write(
        dir.path().join("lvm.conf"),
        "lvmetad { degraded_activation_timeout = 0 }\n",
    )
    .unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let _d = start_daemon(dir.path(), &bus.addr, &[("LVMETAD_LOG", "error")]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let sock = dir.path().join("lvmetad.socket");
    let vg = fixture_vg("lvtypes/26-lvcreate-raid1-explicit-pe-ranges");
    let n = vg.pvs.len();
    let mut s = lvmetad::client::Connection::connect(&sock, Duration::from_secs(5)).unwrap();
    let mut req = |r: Request| {
        let reply = s
            .request(&Message {
                request: r,
                token: Some(String::new()),
            })
            .unwrap();
        assert_eq!(reply.response, Response::Ok, "{reply:?}");
        reply
    };
    for i in 0..n {
        req(pv_found(&vg, 0, i, i == 0));
    }

    let rt = runtime();
    rt.block_on(async {
        let conn = connect(&bus.addr).await;
        // 1. Lookup round trips.
        let mut t = Vec::new();
        for i in 0..LOOKUPS + 50 {
            let t0 = Instant::now();
            let r = manager(&conn)
                .call_method("LookupVgByName", &(vg.name.as_str(),))
                .await
                .unwrap();
            let (_, text): (zbus::OwnedObjectPath, String) = r.body().deserialize().unwrap();
            assert!(text.contains(&vg.id));
            if i >= 50 {
                t.push(ms(t0.elapsed()));
            }
        }
        stats("D-Bus LookupVgByName round trip", t);
    });
    let mut t = Vec::new();
    for i in 0..LOOKUPS + 50 {
        let t0 = Instant::now();
        let r = req(Request::VgLookup {
            uuid: None,
            name: Some(vg.name.clone()),
        });
        assert!(r.body.items.len() > 3);
        if i >= 50 {
            t.push(ms(t0.elapsed()));
        }
    }
    stats("socket vg_lookup round trip (for comparison)", t);

    // 2. pv_found of the last PV (socket) → VolumeGroupComplete (D-Bus).
    rt.block_on(async {
        let conn = connect(&bus.addr).await;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.lvm.Lvmetad1.Manager")
            .member("VolumeGroupComplete")
            .build()
            .unwrap();
        let mut signals =
            zbus::MessageStream::for_match_rule(rule, &conn, std::num::NonZeroUsize::new(64))
                .await
                .unwrap();
        let mut t = Vec::new();
        for _ in 0..COMPLETIONS {
            req(pv_gone(&vg, n - 1));
            let t0 = Instant::now();
            req(pv_found(&vg, 0, n - 1, false));
            let m = tokio::time::timeout(
                Duration::from_secs(10),
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut signals).poll_next(cx)),
            )
            .await
            .expect("VolumeGroupComplete within 10 s")
            .unwrap()
            .unwrap();
            t.push(ms(t0.elapsed()));
            let (name, _): (String, String) = m.body().deserialize().unwrap();
            assert_eq!(name, vg.name);
        }
        stats(
            "pv_found of the last PV (socket) -> VolumeGroupComplete (D-Bus client)",
            t,
        );
    });
}
