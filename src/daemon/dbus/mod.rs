//! The D-Bus front-end: `org.lvm.Lvmetad1` on the system bus, a thin
//! translation of the cache ([`Shared`]) onto objects and signals, and the
//! activation edge (StartUnit on systemd) driven by
//! [`super::activation::Planner`].
//!
//! State kept here is only object-path bookkeeping; everything else is
//! read from the cache when asked.
//!
//! Without a bus (early boot) the connection is retried every few seconds
//! in the background (logged once); the socket is served meanwhile.
//! Activation without a bus goes through systemd's private socket
//! (`/run/systemd/private`, a peer-to-peer D-Bus connection) when it
//! exists, and is skipped with a log line otherwise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use zbus::object_server::SignalEmitter;
use zbus::OwnedObjectPath;
use zbus::{fdo, interface, Connection};

use super::activation::{Action, Planner};
use super::shared::Shared;
use crate::cache::{Completion, Event, VgRef};

pub const BUS_NAME: &str = "org.lvm.Lvmetad1";
pub const ROOT: &str = "/org/lvm/Lvmetad1";
const RETRY: Duration = Duration::from_secs(3);

/// A D-Bus object path element for a name: `[A-Za-z0-9_]` kept, every
/// other byte as `_xx` hex.
pub fn path_element(name: &str) -> String {
    let mut s = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            s.push(b as char);
        } else {
            s.push_str(&format!("_{b:02x}"));
        }
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

pub fn vg_path(name: &str) -> String {
    format!("{ROOT}/VolumeGroup/{}", path_element(name))
}

fn obj_path(p: String) -> OwnedObjectPath {
    OwnedObjectPath::try_from(p).expect("valid object path")
}

/// The Manager interface on the root object.
pub struct Manager {
    shared: Arc<Shared>,
}

async fn caller_is_root(conn: &Connection, hdr: &zbus::message::Header<'_>) -> fdo::Result<()> {
    let Some(sender) = hdr.sender() else {
        // A peer-to-peer connection: only root can reach it.
        return Ok(());
    };
    let dbus = fdo::DBusProxy::new(conn).await?;
    let uid = dbus.get_connection_unix_user(sender.clone().into()).await?;
    if uid == 0 {
        Ok(())
    } else {
        Err(fdo::Error::AccessDenied(format!(
            "uid {uid} may not change lvmetad's cache"
        )))
    }
}

#[interface(name = "org.lvm.Lvmetad1.Manager")]
impl Manager {
    /// (object path, metadata text) of the VG named `name`.
    async fn lookup_vg_by_name(&self, name: &str) -> fdo::Result<(OwnedObjectPath, String)> {
        self.lookup(VgRef::Name(name))
    }

    async fn lookup_vg_by_uuid(&self, uuid: &str) -> fdo::Result<(OwnedObjectPath, String)> {
        self.lookup(VgRef::Uuid(uuid))
    }

    /// Every cached VG: (name, uuid, object path).
    async fn list_vgs(&self) -> Vec<(String, String, OwnedObjectPath)> {
        self.shared.with_cache(|c| {
            c.vg_list()
                .into_iter()
                .map(|s| {
                    let p = obj_path(vg_path(&s.vg.name));
                    (s.vg.name, s.vg.uuid, p)
                })
                .collect()
        })
    }

    /// Wait until the VG `name` is complete or `timeout_ms` passed:
    /// (complete, missing PV ids).
    async fn wait_vg_complete(&self, name: &str, timeout_ms: u64) -> (bool, Vec<String>) {
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(timeout_ms).min(super::wait::MAX_WAIT);
        let mut changes = self.shared.subscribe_changes();
        loop {
            let missing = match self.shared.with_cache(|c| c.completion(VgRef::Name(name))) {
                Ok(Completion::Complete) => return (true, vec![]),
                Ok(Completion::Incomplete { missing }) => missing,
                Ok(Completion::Unknown) | Err(_) => vec![],
            };
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return (false, missing);
            }
        }
    }

    /// `pv_gone` for the PV `pvid`; root only.
    async fn pv_gone(
        &self,
        pvid: &str,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<()> {
        caller_is_root(conn, &hdr).await?;
        self.apply(format!("request = \"pv_gone\"\npvid = \"{pvid}\"\n"))
    }

    /// `vg_remove` of the VG `uuid`; root only.
    async fn vg_remove(
        &self,
        uuid: &str,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<()> {
        caller_is_root(conn, &hdr).await?;
        self.apply(format!("request = \"vg_remove\"\nuuid = \"{uuid}\"\n"))
    }

    #[zbus(signal)]
    async fn volume_group_complete(
        e: &SignalEmitter<'_>,
        name: &str,
        uuid: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn volume_group_degraded(
        e: &SignalEmitter<'_>,
        name: &str,
        uuid: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn volume_group_changed(
        e: &SignalEmitter<'_>,
        name: &str,
        uuid: &str,
        seqno: u64,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn physical_volume_conflict(
        e: &SignalEmitter<'_>,
        pvid: &str,
        vg_name: &str,
        seqno: u64,
    ) -> zbus::Result<()>;
}

impl Manager {
    fn lookup(&self, vg: VgRef<'_>) -> fdo::Result<(OwnedObjectPath, String)> {
        self.shared.with_cache(|c| match c.vg_lookup(vg) {
            Ok(v) => Ok((
                obj_path(vg_path(&v.vg.name)),
                crate::format::config::print(&v.metadata.to_config()),
            )),
            Err(e) => Err(fdo::Error::Failed(e.to_string())),
        })
    }

    fn apply(&self, text: String) -> fdo::Result<()> {
        let mut msg = crate::protocol::decode_request(&text)
            .map_err(|e| fdo::Error::InvalidArgs(e.to_string()))?;
        // The bus caller is root (checked): it acts under the current token.
        msg.token = Some(self.shared.with_cache(|c| c.token().to_string()));
        let reply = self.shared.apply(msg, 0);
        if reply.response == crate::protocol::Response::Ok {
            Ok(())
        } else {
            Err(fdo::Error::Failed(
                reply.reason.unwrap_or_else(|| "failed".into()),
            ))
        }
    }
}

/// One VG object: properties read live from the cache.
pub struct VolumeGroup {
    shared: Arc<Shared>,
    uuid: String,
}

#[interface(name = "org.lvm.Lvmetad1.VolumeGroup")]
impl VolumeGroup {
    #[zbus(property)]
    fn name(&self) -> String {
        self.view(|v| v.vg.name.clone()).unwrap_or_default()
    }
    #[zbus(property)]
    fn uuid(&self) -> String {
        self.uuid.clone()
    }
    #[zbus(property)]
    fn seqno(&self) -> u64 {
        self.view(|v| v.seqno).unwrap_or(0)
    }
    #[zbus(property)]
    fn complete(&self) -> bool {
        self.view(|v| v.complete).unwrap_or(false)
    }
    #[zbus(property)]
    fn missing_pvs(&self) -> Vec<String> {
        self.view(|v| v.missing.clone()).unwrap_or_default()
    }
    #[zbus(property)]
    fn extent_size(&self) -> u64 {
        self.view(|v| v.metadata.extent_size).unwrap_or(0)
    }
    #[zbus(property)]
    fn physical_volumes(&self) -> Vec<String> {
        self.view(|v| v.metadata.pvs.iter().map(|p| p.id.clone()).collect())
            .unwrap_or_default()
    }
    #[zbus(property)]
    fn logical_volumes(&self) -> Vec<String> {
        self.view(|v| v.metadata.lvs.iter().map(|l| l.name.clone()).collect())
            .unwrap_or_default()
    }
}

impl VolumeGroup {
    fn view<T>(&self, f: impl FnOnce(&crate::cache::VgView) -> T) -> Option<T> {
        self.shared
            .with_cache(|c| c.vg_lookup(VgRef::Uuid(&self.uuid)).ok().map(|v| f(&v)))
    }
}

/// Run the D-Bus side until the process ends: connect (retrying), export
/// the objects, then translate events. Never returns an error: a missing
/// bus only means signals are not sent.
pub async fn serve(shared: Arc<Shared>, degraded_timeout: Option<Duration>) {
    let mut events = shared.events.subscribe();
    let mut planner =
        Planner::new(degraded_timeout.unwrap_or(Duration::from_secs(10 * 365 * 86400)));
    let mut logged = false;
    let mut conn: Option<Connection> = None;
    let mut paths: HashMap<String, String> = HashMap::new(); // uuid → path
    let mut retry = tokio::time::interval(RETRY);
    loop {
        let deadline = planner.next_deadline();
        tokio::select! {
            ev = events.recv() => {
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        log::warn!("D-Bus: {n} cache events dropped");
                        if let Some(c) = &conn { resync(c, &shared, &mut paths).await; }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let actions = planner.on_event(&ev, std::time::Instant::now());
                if let Some(c) = &conn {
                    on_event(c, &shared, &mut paths, &ev).await;
                }
                for a in actions { act(conn.as_ref(), a).await; }
            }
            _ = sleep_until(deadline) => {
                for (name, uuid) in planner.expired(std::time::Instant::now()) {
                    let action = shared.with_cache(|c| c.vg_lookup(VgRef::Uuid(&uuid)).ok())
                        .filter(|v| !v.complete)
                        .and_then(|v| Planner::degraded_action(&v.metadata, &v.missing));
                    match action {
                        Some(a) => act(conn.as_ref(), a).await,
                        None => log::info!("VG {name} still incomplete; its RAID LVs cannot run degraded: not activating"),
                    }
                }
            }
            _ = retry.tick(), if conn.is_none() => {
                match connect(shared.clone()).await {
                    Ok(c) => {
                        log::info!("D-Bus: serving {BUS_NAME} on the system bus");
                        resync(&c, &shared, &mut paths).await;
                        conn = Some(c);
                    }
                    Err(e) => {
                        if !logged {
                            log::info!("D-Bus: system bus not available ({e}); retrying every {}s", RETRY.as_secs());
                            logged = true;
                        }
                    }
                }
            }
        }
    }
}

async fn sleep_until(t: Option<std::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

async fn connect(shared: Arc<Shared>) -> zbus::Result<Connection> {
    zbus::connection::Builder::system()
        .name(BUS_NAME)
        .serve_at(ROOT, zbus::fdo::ObjectManager)
        .serve_at(ROOT, Manager { shared })
        .build()
        .await
}

/// Export every cached VG and drop objects of VGs gone.
async fn resync(conn: &Connection, shared: &Arc<Shared>, paths: &mut HashMap<String, String>) {
    let vgs = shared.with_cache(|c| c.vg_list());
    let live: std::collections::HashSet<String> = vgs.iter().map(|v| v.vg.uuid.clone()).collect();
    let stale: Vec<String> = paths
        .keys()
        .filter(|u| !live.contains(*u))
        .cloned()
        .collect();
    for uuid in stale {
        if let Some(p) = paths.remove(&uuid) {
            let _ = conn
                .object_server()
                .remove::<VolumeGroup, _>(p.as_str())
                .await;
        }
    }
    for v in vgs {
        add_vg(conn, shared, paths, &v.vg.uuid, &v.vg.name).await;
    }
}

async fn add_vg(
    conn: &Connection,
    shared: &Arc<Shared>,
    paths: &mut HashMap<String, String>,
    uuid: &str,
    name: &str,
) {
    let path = vg_path(name);
    if paths.get(uuid) == Some(&path) {
        return;
    }
    if let Some(old) = paths.remove(uuid) {
        let _ = conn
            .object_server()
            .remove::<VolumeGroup, _>(old.as_str())
            .await;
    }
    let obj = VolumeGroup {
        shared: shared.clone(),
        uuid: uuid.to_string(),
    };
    if let Err(e) = conn.object_server().at(path.as_str(), obj).await {
        log::warn!("D-Bus: cannot export {path}: {e}");
        return;
    }
    paths.insert(uuid.to_string(), path);
}

/// Update only the objects the event concerns.
async fn on_event(
    conn: &Connection,
    shared: &Arc<Shared>,
    paths: &mut HashMap<String, String>,
    ev: &Event,
) {
    let root = match SignalEmitter::new(conn, ROOT) {
        Ok(r) => r,
        Err(_) => return,
    };
    let r = match ev {
        Event::VgAdded { vg, .. } | Event::VgRenamed { vg, .. } => {
            add_vg(conn, shared, paths, &vg.uuid, &vg.name).await;
            Ok(())
        }
        Event::VgRemoved { vg, .. } => {
            if let Some(p) = paths.remove(&vg.uuid) {
                let _ = conn
                    .object_server()
                    .remove::<VolumeGroup, _>(p.as_str())
                    .await;
            }
            Ok(())
        }
        Event::VgChanged { vg, seqno } => {
            vg_props_changed(conn, paths, &vg.uuid).await;
            Manager::volume_group_changed(&root, &vg.name, &vg.uuid, *seqno).await
        }
        Event::VgComplete { vg } | Event::VgIncomplete { vg, .. } => {
            vg_props_changed(conn, paths, &vg.uuid).await;
            Ok(())
        }
        Event::PvConflict { pvid, vg, seqno } => {
            Manager::physical_volume_conflict(&root, pvid, &vg.name, *seqno).await
        }
        _ => Ok(()),
    };
    if let Err(e) = r {
        log::warn!("D-Bus: signal: {e}");
    }
}

async fn vg_props_changed(conn: &Connection, paths: &HashMap<String, String>, uuid: &str) {
    let Some(p) = paths.get(uuid) else { return };
    let Ok(iface) = conn
        .object_server()
        .interface::<_, VolumeGroup>(p.as_str())
        .await
    else {
        return;
    };
    let e = iface.signal_emitter();
    let g = iface.get().await;
    let _ = g.complete_changed(e).await;
    let _ = g.missing_pvs_changed(e).await;
    let _ = g.seqno_changed(e).await;
    let _ = g.name_changed(e).await;
    let _ = g.physical_volumes_changed(e).await;
    let _ = g.logical_volumes_changed(e).await;
}

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Systemd {
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
}

/// Emit the signal and start the unit for one action.
async fn act(conn: Option<&Connection>, a: Action) {
    let unit = a.unit();
    if let Some(c) = conn {
        if let Ok(root) = SignalEmitter::new(c, ROOT) {
            let r = match &a {
                Action::Complete { name, uuid } => {
                    Manager::volume_group_complete(&root, name, uuid).await
                }
                Action::Degraded { name, uuid } => {
                    Manager::volume_group_degraded(&root, name, uuid).await
                }
            };
            if let Err(e) = r {
                log::warn!("D-Bus: signal: {e}");
            }
        }
    }
    let r = match conn {
        Some(c) => start_unit(c, &unit).await,
        None => match private_systemd().await {
            Ok(c) => start_unit(&c, &unit).await,
            Err(e) => {
                log::info!(
                    "no system bus and no systemd private socket ({e}): not starting {unit}"
                );
                return;
            }
        },
    };
    match r {
        Ok(()) => log::info!("started {unit}"),
        Err(e) => log::warn!("StartUnit {unit}: {e}"),
    }
}

async fn start_unit(c: &Connection, unit: &str) -> zbus::Result<()> {
    let p = SystemdProxy::new(c).await?;
    p.start_unit(unit, "replace").await.map(|_| ())
}

/// systemd's private peer-to-peer socket, for when the bus is not up.
async fn private_systemd() -> zbus::Result<Connection> {
    let path = std::env::var_os("LVMETAD_SYSTEMD_PRIVATE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/run/systemd/private".into());
    let stream = std::os::unix::net::UnixStream::connect(path)?;
    zbus::connection::Builder::unix_stream(stream)
        .p2p()
        .build()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_valid() {
        for n in ["vg0", "my-vg", "a+b.c", ""] {
            assert!(OwnedObjectPath::try_from(vg_path(n)).is_ok(), "{n}");
        }
        assert_eq!(vg_path("my-vg"), "/org/lvm/Lvmetad1/VolumeGroup/my_2dvg");
    }
}
