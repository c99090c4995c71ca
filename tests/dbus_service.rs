//! The daemon on a private dbus-daemon that includes the project's policy
//! file (or a lax one), spoken to with busctl and gdbus (clients this
//! project did not write) and with zbus for the property-style test.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::dbus::*;
use lvmetad::cache::Cache;
use lvmetad::daemon::dbus::objects::{self, Props};
use lvmetad::protocol::{Message, Request};

const M: [&str; 4] = [
    "call",
    "org.lvm.Lvmetad1",
    "/org/lvm/Lvmetad1",
    "org.lvm.Lvmetad1.Manager",
];

fn manager_call(args: &[&str]) -> Vec<String> {
    M.iter().chain(args).map(|s| s.to_string()).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

/// Feed requests over D-Bus as root.
fn feed(addr: &str, reqs: &[Request]) {
    let rt = runtime();
    rt.block_on(async {
        let c = connect(addr).await;
        for r in reqs {
            send(&c, r).await.unwrap_or_else(|e| panic!("{r:?}: {e}"));
        }
    });
}

/// An orphan PV as busctl sends it: the full PvFound signature.
fn busctl_pv_found(pvid: &str, devno: u64) -> Vec<String> {
    manager_call(&[
        "PvFound",
        "ststtta(ttb)uuss",
        pvid,
        &devno.to_string(),
        "/dev/fakeorphan",
        "67108864",
        "1",
        "1048576",
        "1",
        "4096",
        "1044480",
        "false",
        "2",
        "1",
        "",
        "",
    ])
}

const ORPHAN: &str = "Orph4n-0000-1111-2222-3333-4444-555555";

#[test]
fn methods_properties_and_policy_with_busctl_and_gdbus() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let addr = bus.addr.clone();
    let _d = start_daemon(dir.path(), &addr, &[]);
    wait_for_name(&addr, "org.lvm.Lvmetad1");

    let out = busctl(&addr, &refs(&manager_call(&["ListVgs"])));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "a(sso) 0");
    let out = busctl(
        &addr,
        &refs(&manager_call(&["WaitVgComplete", "st", "nosuchvg", "100"])),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "bas false 0");

    // busctl (root) reports an orphan PV; its object appears with its
    // properties.
    let out = busctl(&addr, &refs(&busctl_pv_found(ORPHAN, 1800)));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "sb \"orphan\" true");
    let pvp = objects::pv_path(ORPHAN);
    let prop = |path: &str, iface: &str, name: &str| {
        let o = busctl(
            &addr,
            &["get-property", "org.lvm.Lvmetad1", path, iface, name],
        );
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        stdout(&o).trim().to_string()
    };
    let pvi = "org.lvm.Lvmetad1.PhysicalVolume";
    let got = eventually(5, || {
        let o = busctl(
            &addr,
            &["get-property", "org.lvm.Lvmetad1", &pvp, pvi, "Uuid"],
        );
        o.status.success().then(|| stdout(&o))
    });
    assert_eq!(got.unwrap().trim(), format!("s \"{ORPHAN}\""));
    assert_eq!(prop(&pvp, pvi, "Orphan"), "b true");
    assert_eq!(prop(&pvp, pvi, "DevSize"), "t 67108864");
    assert_eq!(prop(&pvp, pvi, "Device"), "s \"7:8\"");
    assert_eq!(prop(&pvp, pvi, "VolumeGroup"), "o \"/\"");

    // A VG fed over D-Bus: gdbus looks it up and reads LV properties.
    let vg = fixture_vg("lvtypes/07-lvcreate-raid1-m1");
    let reqs: Vec<Request> = (0..vg.pvs.len())
        .map(|i| pv_found(&vg, 0, i, i == 0))
        .collect();
    feed(&addr, &reqs);
    let out = gdbus_call(
        &addr,
        "/org/lvm/Lvmetad1",
        "org.lvm.Lvmetad1.Manager.LookupVgByName",
        &[&vg.name],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&objects::vg_path(&vg.name)), "{text}");
    assert!(text.contains(&vg.id), "{text}");
    let raid = vg.lvs.iter().find(|l| l.name == "raid1m1").unwrap();
    let lvp = objects::lv_path(&vg.id, &raid.id);
    let lvi = "org.lvm.Lvmetad1.LogicalVolume";
    let get = |name: &str| {
        let o = Command::new("gdbus")
            .args(["call", "--address", &addr, "--dest", "org.lvm.Lvmetad1"])
            .args([
                "--object-path",
                &lvp,
                "--method",
                "org.freedesktop.DBus.Properties.Get",
            ])
            .args([lvi, name])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        stdout(&o).trim().to_string()
    };
    let got = eventually(5, || {
        let o = busctl(
            &addr,
            &["get-property", "org.lvm.Lvmetad1", &lvp, lvi, "SegType"],
        );
        o.status.success().then(|| stdout(&o))
    });
    assert_eq!(got.unwrap().trim(), "s \"raid1\"");
    assert_eq!(get("Health"), "(<'ok'>,)");
    assert_eq!(get("Visible"), "(<true>,)");
    let subs = get("SubLvs");
    for s in ["raid1m1_rimage_0", "raid1m1_rmeta_1"] {
        assert!(subs.contains(s), "{subs}");
    }
    let segs = get("Segments");
    let region = raid.segments[0].raid.as_ref().unwrap().region_size.unwrap() * 512;
    let want = format!("'raid1', uint32 2, uint64 0, uint64 {region}");
    assert!(segs.contains(&want), "{segs} lacks {want}");
    assert!(segs.contains("'ok', -1.0"), "{segs}");
    assert_eq!(
        prop(
            &objects::vg_path(&vg.name),
            "org.lvm.Lvmetad1.VolumeGroup",
            "Complete"
        ),
        "b true"
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
            ])
            .args(["--address", &addr, "--dest", "org.lvm.Lvmetad1"])
            .args(["--object-path", "/org/lvm/Lvmetad1", "--method"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = nobody(&["org.lvm.Lvmetad1.Manager.ListVgs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&vg.name));
    let out = busctl_nobody(
        &addr,
        &["get-property", "org.lvm.Lvmetad1", &lvp, lvi, "Health"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for call in [
        vec!["org.lvm.Lvmetad1.Manager.PvGone", ORPHAN],
        vec!["org.lvm.Lvmetad1.Manager.VgRemove", &vg.id],
        vec!["org.lvm.Lvmetad1.Manager.VgUpdate", &vg.name, "x"],
    ] {
        let out = nobody(&call);
        assert!(!out.status.success(), "{call:?}");
        let err = stderr(&out);
        assert!(err.contains("AccessDenied"), "{call:?}: {err}");
    }
    let out = busctl_nobody(
        &addr,
        &refs(&busctl_pv_found(
            "Nobody-0000-1111-2222-3333-4444-555555",
            1801,
        )),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("ccess denied"), "{}", stderr(&out));
    // The PV is still there.
    assert_eq!(prop(&pvp, pvi, "Orphan"), "b true");

    // root: an unknown PV is a plain failure, not a refusal.
    let out = busctl(&addr, &refs(&manager_call(&["PvGone", "s", "nosuchpv"])));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        !err.contains("ccess denied") && !err.contains("AccessDenied"),
        "{err}"
    );
    // root removes the orphan: its object goes.
    let out = busctl(&addr, &refs(&manager_call(&["PvGone", "s", ORPHAN])));
    assert!(out.status.success(), "{}", stderr(&out));
    let gone = eventually(5, || {
        let o = busctl(
            &addr,
            &["get-property", "org.lvm.Lvmetad1", &pvp, pvi, "Uuid"],
        );
        (!o.status.success()).then_some(())
    });
    assert!(gone.is_some(), "the PV object stayed");
}

/// With a bus policy that lets everyone call everything, the daemon's own
/// uid check still refuses every mutating method to a non-root caller.
#[test]
fn lax_policy_still_refuses_non_root_in_method() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = start_bus(dir.path(), Policy::Lax);
    let _d = start_daemon(dir.path(), &bus.addr, &[]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let vg = fixture_vg("lvtypes/02-vgcreate");
    let text = metadata_text(&vg);
    // gdbus shows the error's message (busctl only its name): the
    // refusal comes from the daemon, not from the bus.
    let nobody_gdbus = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "gdbus",
                "call",
            ])
            .args(["--address", &bus.addr, "--dest", "org.lvm.Lvmetad1"])
            .args(["--object-path", "/org/lvm/Lvmetad1", "--method"])
            .args(args)
            .output()
            .unwrap()
    };
    let m = "org.lvm.Lvmetad1.Manager.";
    let gcalls: Vec<Vec<String>> = vec![
        vec![
            format!("{m}PvFound"),
            ORPHAN.into(),
            "1800".into(),
            "/dev/fakeorphan".into(),
            "67108864".into(),
            "1".into(),
            "1048576".into(),
            "[(4096, 1044480, false)]".into(),
            "2".into(),
            "1".into(),
            "".into(),
            "".into(),
        ],
        vec![format!("{m}PvGone"), ORPHAN.into()],
        vec![format!("{m}VgUpdate"), vg.name.clone(), text.clone()],
        vec![format!("{m}VgRemove"), vg.id.clone()],
    ];
    for c in &gcalls {
        let out = nobody_gdbus(&refs(c));
        assert!(!out.status.success(), "{}: accepted from nobody", c[0]);
        let err = stderr(&out);
        assert!(
            err.contains("AccessDenied")
                && err.contains("uid 65534 may not change lvmetad's cache"),
            "{}: {err}",
            c[0]
        );
    }
    let calls: Vec<Vec<String>> = vec![
        busctl_pv_found(ORPHAN, 1800),
        manager_call(&["PvGone", "s", ORPHAN]),
        manager_call(&["VgUpdate", "ss", &vg.name, &text]),
        manager_call(&["VgRemove", "s", &vg.id]),
    ];
    // The same calls from root are carried out.
    feed(&bus.addr, &[pv_found(&vg, 0, 0, true)]);
    for c in &calls {
        let out = busctl(&bus.addr, &refs(c));
        assert!(out.status.success(), "{}: {}", c[4], stderr(&out));
    }
}

/// gdbus monitor (a real client) sees InterfacesAdded, PropertiesChanged
/// with only the properties that changed, VolumeGroupComplete and
/// InterfacesRemoved as PVs come and go.
#[test]
fn signals_reach_gdbus_monitor() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let _d = start_daemon(dir.path(), &bus.addr, &[]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let mut mon = Kill(
        Command::new("gdbus")
            .args([
                "monitor",
                "--address",
                &bus.addr,
                "--dest",
                "org.lvm.Lvmetad1",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = mon.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = Vec::<String>::new();
    let mut wait_for = |what: &dyn Fn(&str) -> bool, label: &str| -> String {
        let t0 = std::time::Instant::now();
        loop {
            if let Some(i) = seen.iter().position(|l| what(l)) {
                return seen.remove(i);
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(l) => seen.push(l),
                Err(_) if t0.elapsed() > Duration::from_secs(10) => {
                    panic!("no {label} signal; saw:\n{}", seen.join("\n"))
                }
                Err(_) => {}
            }
        }
    };
    // gdbus monitor subscribes asynchronously: give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let vg = fixture_vg("lvtypes/03-lvcreate-linear");
    let vgp = objects::vg_path(&vg.name);
    let lv = &vg.lvs[0];
    let lvp = objects::lv_path(&vg.id, &lv.id);
    feed(&bus.addr, &[pv_found(&vg, 0, 0, true)]);
    wait_for(
        &|l| l.contains("InterfacesAdded") && l.contains(&vgp),
        "VG InterfacesAdded",
    );
    wait_for(
        &|l| l.contains("InterfacesAdded") && l.contains(&lvp),
        "LV InterfacesAdded",
    );
    let pv0 = objects::pv_path(&vg.pvs[0].id);
    wait_for(
        &|l| l.contains("InterfacesAdded") && l.contains(&pv0),
        "PV InterfacesAdded",
    );
    let rest: Vec<Request> = (1..vg.pvs.len())
        .map(|i| pv_found(&vg, 0, i, false))
        .collect();
    feed(&bus.addr, &rest);
    let l = wait_for(
        &|l| l.contains("VolumeGroupComplete"),
        "VolumeGroupComplete",
    );
    assert!(l.contains(&format!("'{}'", vg.name)), "{l}");
    let l = wait_for(
        &|l| {
            l.starts_with(&vgp)
                && l.contains("PropertiesChanged")
                && l.contains("'Complete': <true>")
        },
        "VG PropertiesChanged",
    );
    // Only what changed: completion and the missing list, not the rest.
    assert!(!l.contains("ExtentSize") && !l.contains("'Name'"), "{l}");
    // A PV of the linear LV goes: its health changes, the PV object goes.
    let used = match &lv.segments[0].areas[0] {
        lvmetad::model::Area::Pv { pv, .. } => vg.pvs.iter().position(|p| &p.key == pv).unwrap(),
        a => panic!("{a:?}"),
    };
    feed(&bus.addr, &[pv_gone(&vg, used)]);
    let pvu = objects::pv_path(&vg.pvs[used].id);
    wait_for(
        &|l| l.contains("InterfacesRemoved") && l.contains(&pvu),
        "PV InterfacesRemoved",
    );
    let l = wait_for(
        &|l| l.starts_with(&lvp) && l.contains("PropertiesChanged"),
        "LV PropertiesChanged",
    );
    assert!(l.contains("'Health': <'failed'>"), "{l}");
    assert!(!l.contains("'Name'"), "{l}");
    drop(mon);
}

/// Live `Introspect` of each interface equals dbus/org.lvm.Lvmetad1.xml.
#[test]
fn introspection_matches_the_xml_file() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let _d = start_daemon(dir.path(), &bus.addr, &[]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let vg = fixture_vg("lvtypes/03-lvcreate-linear");
    feed(&bus.addr, &[pv_found(&vg, 0, 0, true)]);
    let file = std::fs::read_to_string(repo().join("dbus/org.lvm.Lvmetad1.xml")).unwrap();
    let want = interfaces(&file);
    let paths = [
        "/org/lvm/Lvmetad1".to_string(),
        objects::vg_path(&vg.name),
        objects::pv_path(&vg.pvs[0].id),
        objects::lv_path(&vg.id, &vg.lvs[0].id),
    ];
    let mut live = BTreeMap::new();
    let mut raw = BTreeMap::new();
    for p in &paths {
        let xml = eventually(5, || {
            let o = gdbus_call(
                &bus.addr,
                p,
                "org.freedesktop.DBus.Introspectable.Introspect",
                &[],
            );
            let s = stdout(&o);
            (o.status.success() && s.contains("org.lvm.Lvmetad1.")).then_some(s)
        })
        .unwrap_or_else(|| panic!("{p} not exported"));
        // gdbus prints ('<xml>',) with escapes.
        // (single-quoted, or double-quoted when the text holds a quote).
        let xml = xml
            .replace("\\n", "\n")
            .replace("\\'", "'")
            .replace("\\\"", "\"");
        live.extend(interfaces(&xml));
        raw.extend(raw_interfaces(&xml));
    }
    if std::env::var_os("UPDATE_DBUS_XML").is_some() {
        assert_eq!(raw.len(), 4, "{:?}", raw.keys());
        // Regenerate the file from the live daemon (then review the diff).
        let body: String = raw.values().map(|b| format!("  {b}\n")).collect();
        std::fs::write(
            repo().join("dbus/org.lvm.Lvmetad1.xml"),
            format!("{XML_HEAD}{body}</node>\n"),
        )
        .unwrap();
        return;
    }
    let all = [
        "org.lvm.Lvmetad1.LogicalVolume",
        "org.lvm.Lvmetad1.Manager",
        "org.lvm.Lvmetad1.PhysicalVolume",
        "org.lvm.Lvmetad1.VolumeGroup",
    ];
    assert_eq!(live.keys().collect::<Vec<_>>(), all, "live interfaces");
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        live.keys().collect::<Vec<_>>(),
        "interfaces"
    );
    for (name, body) in &want {
        assert_eq!(
            body, &live[name],
            "interface {name} differs from the XML file"
        );
    }
}

const XML_HEAD: &str = r#"<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<!-- lvmetad's D-Bus interfaces (service org.lvm.Lvmetad1). Manager and the
     ObjectManager sit on /org/lvm/Lvmetad1; one VolumeGroup object per VG
     (/org/lvm/Lvmetad1/VolumeGroup/<name>), one PhysicalVolume object per
     present PV (/org/lvm/Lvmetad1/PhysicalVolume/<uuid>), one LogicalVolume
     object per LV, hidden sub-LVs included
     (/org/lvm/Lvmetad1/LogicalVolume/<vg uuid>_<lv uuid>). Sizes are in
     bytes. LogicalVolume.Segments: (start extent, extent count, segment
     type, stripes or images, stripe size, region size, sub-LVs, PV UUIDs,
     health ok|unknown|degraded|failed, sync ratio or -1 when unknown).
     tests/dbus_service.rs checks this file against the live daemon
     (UPDATE_DBUS_XML=1 regenerates it). -->
<node>
"#;

/// Raw `org.lvm.Lvmetad1.*` interface blocks, by name.
fn raw_interfaces(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<interface name=\"org.lvm.Lvmetad1.") {
        let start = &rest[i..];
        let end = start.find("</interface>").unwrap() + "</interface>".len();
        let name = start["<interface name=\"".len()..]
            .split('"')
            .next()
            .unwrap();
        out.insert(name.to_string(), start[..end].to_string());
        rest = &start[end..];
    }
    out
}

/// `org.lvm.Lvmetad1.*` interface blocks of an introspection document,
/// whitespace and comments removed.
fn interfaces(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<interface name=\"org.lvm.Lvmetad1.") {
        let start = &rest[i..];
        let end = start.find("</interface>").expect("closed interface") + "</interface>".len();
        let block = &start[..end];
        let name = block["<interface name=\"".len()..]
            .split('"')
            .next()
            .unwrap();
        let mut text = String::new();
        let mut b = block;
        while let Some(c) = b.find("<!--") {
            text.push_str(&b[..c]);
            b = &b[c + b[c..].find("-->").unwrap() + 3..];
        }
        text.push_str(b);
        let norm: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        out.insert(name.to_string(), norm.replace("> <", "><"));
        rest = &start[end..];
    }
    out
}

/// A tiny deterministic generator (xorshift64*), seeded per round.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

type Managed = HashMap<
    zbus::OwnedObjectPath,
    HashMap<zbus::names::OwnedInterfaceName, HashMap<String, zbus::OwnedVariant>>,
>;

/// What GetManagedObjects must hold for `cache`: the objects' properties
/// computed from scratch.
fn expected(cache: &Cache) -> BTreeMap<String, BTreeMap<String, String>> {
    fn add<P: Props>(out: &mut BTreeMap<String, BTreeMap<String, String>>, path: &str, p: &P) {
        out.insert(
            format!("{path} {}", P::INTERFACE),
            p.props()
                .into_iter()
                .map(|(k, v)| (k.to_string(), format!("{v}")))
                .collect(),
        );
    }
    let s = objects::snapshot(cache);
    let mut out = BTreeMap::new();
    for (p, v) in &s.vgs {
        add(&mut out, p, v);
    }
    for (p, v) in &s.pvs {
        add(&mut out, p, v);
    }
    for (p, v) in &s.lvs {
        add(&mut out, p, v);
    }
    out
}

fn managed(m: &Managed) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (path, ifaces) in m {
        for (iface, props) in ifaces {
            if !iface.as_str().starts_with("org.lvm.Lvmetad1.") {
                continue;
            }
            out.insert(
                format!("{} {}", path.as_str(), iface.as_str()),
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), format!("{}", &**v)))
                    .collect(),
            );
        }
    }
    out
}

/// After random pv_found/pv_gone sequences (seeded, several rounds) fed
/// over D-Bus, GetManagedObjects equals the objects a cache fed the same
/// requests gives when computed from scratch: the incremental updates
/// lose and invent nothing.
#[test]
fn managed_objects_match_the_cache_after_random_pv_found_and_pv_gone() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let _d = start_daemon(dir.path(), &bus.addr, &[]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let vgs = [
        fixture_vg("lvtypes/26-lvcreate-raid1-explicit-pe-ranges"),
        renamed(&fixture_vg("lvtypes/07-lvcreate-raid1-m1"), "other-vg", 3),
    ];
    let rt = runtime();
    let conn = rt.block_on(connect(&bus.addr));
    let mut cache = Cache::new();
    let mut present = [vec![false; vgs[0].pvs.len()], vec![false; vgs[1].pvs.len()]];
    for round in 0..5u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (round + 1));
        for _ in 0..40 {
            let g = rng.below(2);
            let i = rng.below(vgs[g].pvs.len());
            let req = if present[g][i] && rng.below(3) == 0 {
                present[g][i] = false;
                pv_gone(&vgs[g], i)
            } else {
                present[g][i] = true;
                // Sometimes without metadata (a PV whose mda is elsewhere).
                pv_found(&vgs[g], g, i, rng.below(4) != 0)
            };
            rt.block_on(send(&conn, &req))
                .unwrap_or_else(|e| panic!("{req:?}: {e}"));
            let token = cache.token().to_string();
            lvmetad::daemon::handler::handle(
                &mut cache,
                Message {
                    request: req,
                    token: Some(token),
                },
                0,
                0,
            );
        }
        let want = expected(&cache);
        let mut last = BTreeMap::new();
        let ok = eventually(10, || {
            let m: Managed = rt
                .block_on(async {
                    zbus::fdo::ObjectManagerProxy::builder(&conn)
                        .destination("org.lvm.Lvmetad1")
                        .path("/org/lvm/Lvmetad1")
                        .build()
                        .await?
                        .get_managed_objects()
                        .await
                })
                .unwrap()
                .into_iter()
                .map(|(p, i)| {
                    (
                        p,
                        i.into_iter()
                            .map(|(k, v)| (k, v.into_iter().collect()))
                            .collect(),
                    )
                })
                .collect();
            last = managed(&m);
            (last == want).then_some(())
        });
        if ok.is_none() {
            let missing: Vec<_> = want.keys().filter(|k| !last.contains_key(*k)).collect();
            let extra: Vec<_> = last.keys().filter(|k| !want.contains_key(*k)).collect();
            let differ: Vec<_> = want
                .iter()
                .filter(|(k, v)| last.get(*k).is_some_and(|l| l != *v))
                .map(|(k, v)| (k, v, &last[k]))
                .collect();
            panic!("round {round}: missing {missing:#?}\nextra {extra:#?}\ndiffer {differ:#?}");
        }
        assert!(!want.is_empty());
    }
}

/// `lvm vgwait` over D-Bus: times out non-zero naming the missing PV, and
/// returns 0 once the last PV arrives while it waits.
#[test]
fn vgwait_over_dbus() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bus = start_bus(dir.path(), Policy::Project);
    let _d = start_daemon(dir.path(), &bus.addr, &[]);
    wait_for_name(&bus.addr, "org.lvm.Lvmetad1");
    let vg = fixture_vg("lvtypes/03-lvcreate-linear");
    let n = vg.pvs.len();
    feed(
        &bus.addr,
        &(0..n - 1)
            .map(|i| pv_found(&vg, 0, i, i == 0))
            .collect::<Vec<_>>(),
    );
    let vgwait = |timeout: &str| {
        Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(["vgwait", &vg.name, "--timeout", timeout])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.addr)
            .env("LVM_SYSTEM_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = vgwait("1").wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&vg.name) && err.contains(&vg.pvs[n - 1].id),
        "{err}"
    );
    let waiter = vgwait("20");
    std::thread::sleep(Duration::from_millis(500));
    feed(&bus.addr, &[pv_found(&vg, 0, n - 1, false)]);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// No bus: `lvm vgwait` falls back to the daemon's socket (vg_wait) and
/// behaves the same.
#[test]
fn vgwait_socket_fallback_without_a_bus() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("lvmetad.socket");
    std::fs::write(
        dir.path().join("lvm.conf"),
        format!(
            "global {{ use_lvmetad = 1 }}\nlvmetad {{ socket = \"{}\" }}\n",
            sock.display()
        ),
    )
    .unwrap();
    let nobus = format!("unix:path={}", dir.path().join("nobus").display());
    let _d = start_daemon(dir.path(), &nobus, &[]);
    let cfg = lvmetad::config::Config::load(&dir.path().join("lvm.conf"), &[]).unwrap();
    let token = lvmetad::client::settings::token(&cfg);
    let mut c = lvmetad::client::Connection::connect(&sock, Duration::from_secs(5)).unwrap();
    let mut req = |r: Request| {
        let reply = c
            .request(&Message {
                request: r,
                token: Some(token.clone()),
            })
            .unwrap();
        assert_eq!(reply.response, lvmetad::protocol::Response::Ok, "{reply:?}");
    };
    // The client's token, set as a rescan would (without clearing).
    let mut c2 = lvmetad::client::Connection::connect(&sock, Duration::from_secs(5)).unwrap();
    let r = c2
        .request(&Message {
            request: Request::TokenUpdate,
            token: Some(lvmetad::protocol::TOKEN_UPDATE_IN_PROGRESS.into()),
        })
        .unwrap();
    assert_eq!(r.response, lvmetad::protocol::Response::Ok, "{r:?}");
    req(Request::TokenUpdate);
    let vg = fixture_vg("lvtypes/03-lvcreate-linear");
    let n = vg.pvs.len();
    for i in 0..n - 1 {
        req(pv_found(&vg, 0, i, i == 0));
    }
    let vgwait = |timeout: &str| {
        Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args(["vgwait", &vg.name, "--timeout", timeout, "-d"])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &nobus)
            .env("LVM_SYSTEM_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = vgwait("1").wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&vg.name) && err.contains(&vg.pvs[n - 1].id),
        "{err}"
    );
    let waiter = vgwait("20");
    std::thread::sleep(Duration::from_millis(500));
    req(pv_found(&vg, 0, n - 1, false));
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Give the daemon the client's token over its socket, as the end of a
/// rescan does (without clearing anything).
fn set_token(sock: &std::path::Path, token: &str) {
    let mut c = lvmetad::client::Connection::connect(sock, Duration::from_secs(5)).unwrap();
    for t in [lvmetad::protocol::TOKEN_UPDATE_IN_PROGRESS, token] {
        let r = c
            .request(&Message {
                request: Request::TokenUpdate,
                token: Some(t.into()),
            })
            .unwrap();
        assert_eq!(r.response, lvmetad::protocol::Response::Ok, "{r:?}");
    }
}

/// `lvm vgs` reads the daemon over D-Bus; with the bus gone, over the
/// socket; with the daemon gone, from the disks. Each fallback is logged
/// once at debug level.
#[test]
fn lvm_reads_over_dbus_then_socket_then_disks() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("lvmetad.socket");
    // The filter accepts only the fake devices the daemon is told about,
    // so the final disk scan does not read the host's disks.
    std::fs::write(
        dir.path().join("lvm.conf"),
        format!(
            "global {{ use_lvmetad = 1 }}\nlvmetad {{ socket = \"{}\" }}\ndevices {{ global_filter = [ \"a|^/dev/fake|\", \"r|.*|\" ] }}\n",
            sock.display()
        ),
    )
    .unwrap();
    let mut bus = Some(start_bus(dir.path(), Policy::Project));
    let addr = bus.as_ref().unwrap().addr.clone();
    let mut daemon = Some(start_daemon(dir.path(), &addr, &[]));
    wait_for_name(&addr, "org.lvm.Lvmetad1");
    let cfg = lvmetad::config::Config::load(&dir.path().join("lvm.conf"), &[]).unwrap();
    set_token(&sock, &lvmetad::client::settings::token(&cfg));
    let vg = fixture_vg("lvtypes/03-lvcreate-linear");
    feed(
        &addr,
        &(0..vg.pvs.len())
            .map(|i| pv_found(&vg, 0, i, i == 0))
            .collect::<Vec<_>>(),
    );
    let vgs = || {
        let o = Command::new(env!("CARGO_BIN_EXE_lvm"))
            .args([
                "vgs",
                "--noheadings",
                "-o",
                "vg_name,pv_count,lv_count",
                "-dd",
            ])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &addr)
            .env("LVM_SYSTEM_DIR", dir.path())
            .output()
            .unwrap();
        (stdout(&o), stderr(&o))
    };
    let row = format!("{} {} {}", vg.name, vg.pvs.len(), vg.lvs.len());
    let (out, err) = vgs();
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>().join(" "),
        row,
        "{err}"
    );
    assert!(err.contains("read lvmetad over D-Bus"), "{err}");
    assert!(!err.contains("over its socket"), "{err}");

    // No bus: the socket.
    bus.take();
    let (out, err) = vgs();
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>().join(" "),
        row,
        "{err}"
    );
    assert_eq!(
        err.matches("asking lvmetad over its socket").count(),
        1,
        "{err}"
    );
    assert!(err.contains("using lvmetad at"), "{err}");

    // No daemon either: the disks (none pass the filter here).
    daemon.take();
    let _ = std::fs::remove_file(&sock);
    let (out, err) = vgs();
    assert!(!out.contains(&vg.name), "{out}");
    assert_eq!(
        err.matches("asking lvmetad over its socket").count(),
        1,
        "{err}"
    );
    assert_eq!(err.matches("scanning devices instead").count(), 1, "{err}");
}
