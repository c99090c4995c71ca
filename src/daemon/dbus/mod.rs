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

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use zbus::object_server::SignalEmitter;
use zbus::OwnedObjectPath;
use zbus::{fdo, interface, Connection};

use super::activation::{Action, Planner};
use super::shared::Shared;
use crate::cache::{Completion, Event, VgRef};
use crate::protocol::{get_int, get_str, PvMeta, Request, Response};

pub const BUS_NAME: &str = "org.lvm.Lvmetad1";
pub const ROOT: &str = "/org/lvm/Lvmetad1";
/// Bus connection retries: from RETRY_MIN, doubling up to RETRY_MAX.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often the LVs of VGs with active RAID LVs are re-read (sync
/// progress, kernel-detected failures).
const LIVE_POLL: Duration = Duration::from_secs(5);

pub mod objects;
mod private;
pub mod raid;

use objects::{changed, obj_path, LvProps, Props, PvProps, VgProps};
pub use objects::{lv_path, path_element, pv_path, vg_path};

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
                    let p = obj_path(&vg_path(&s.vg.name));
                    (s.vg.name, s.vg.uuid, p)
                })
                .collect()
        })
    }

    /// The daemon's token and every PV it knows, as `pv_list` gives them:
    /// (id, device, device name, device size, label sector, data area
    /// start, metadata areas (offset, size, ignored), extension version,
    /// extension flags). Commands reading over D-Bus compare the token
    /// with their own (the device filter's) before trusting the list.
    async fn list_pvs(&self) -> fdo::Result<(String, Vec<crate::client::dbus::PvTuple>)> {
        let token = self.shared.with_cache(|c| c.token().to_string());
        let reply = self.apply(Request::PvList)?;
        let (pvs, _) = crate::client::view::pvs_from_list(&reply.body);
        Ok((
            token,
            pvs.iter().map(crate::client::dbus::pv_tuple).collect(),
        ))
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

    /// `pv_found`: the PV `pvid` was seen on device `device` (makedev
    /// encoding) named `device_name`, with its label facts, and, unless
    /// `vgname` is empty, the VG metadata its area holds (`metadata`, the
    /// text LookupVgByName gives). Returns (status: complete, partial,
    /// orphan or stale; whether the cache changed). Root only.
    #[allow(clippy::too_many_arguments)]
    async fn pv_found(
        &self,
        pvid: &str,
        device: u64,
        device_name: &str,
        dev_size: u64,
        label_sector: u64,
        pe_start: u64,
        mdas: Vec<(u64, u64, bool)>,
        ext_version: u32,
        ext_flags: u32,
        vgname: &str,
        metadata: &str,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<(String, bool)> {
        caller_is_root(conn, &hdr).await?;
        let metadata = if vgname.is_empty() {
            None
        } else {
            Some(parse_metadata(vgname, metadata)?)
        };
        let reply = self.apply(Request::PvFound {
            pv: PvMeta {
                id: pvid.to_string(),
                device,
                device_name: device_name.to_string(),
                dev_size,
                label_sector,
                pe_start,
                mdas,
                ext_version,
                ext_flags,
            },
            vgname: (!vgname.is_empty()).then(|| vgname.to_string()),
            metadata,
        })?;
        Ok((
            get_str(&reply.body, "status")
                .unwrap_or_default()
                .to_string(),
            get_int(&reply.body, "changed") == Some(1),
        ))
    }

    /// `pv_gone` for the PV `pvid`; root only.
    async fn pv_gone(
        &self,
        pvid: &str,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<()> {
        caller_is_root(conn, &hdr).await?;
        self.apply(Request::PvGone {
            device: None,
            uuid: Some(pvid.to_string()),
        })
        .map(|_| ())
    }

    /// `vg_update`: a command wrote the VG `vgname`; `metadata` is its new
    /// text (as LookupVgByName gives it). Returns the cached seqno. Root
    /// only.
    async fn vg_update(
        &self,
        vgname: &str,
        metadata: &str,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<u64> {
        caller_is_root(conn, &hdr).await?;
        let metadata = parse_metadata(vgname, metadata)?;
        let reply = self.apply(Request::VgUpdate {
            vgname: vgname.to_string(),
            metadata,
        })?;
        Ok(get_int(&reply.body, "seqno").unwrap_or(0) as u64)
    }

    /// `vg_remove` of the VG `uuid`; root only.
    async fn vg_remove(
        &self,
        uuid: &str,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<()> {
        caller_is_root(conn, &hdr).await?;
        self.apply(Request::VgRemove {
            uuid: uuid.to_string(),
        })
        .map(|_| ())
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
                obj_path(&vg_path(&v.vg.name)),
                crate::format::config::print(&v.metadata.to_config()),
            )),
            Err(e) => Err(fdo::Error::Failed(e.to_string())),
        })
    }

    /// The socket's request handler ([`super::handler::handle`]) applied
    /// under the daemon's current token: the bus caller is root (checked),
    /// and a D-Bus client has no token of its own.
    fn apply(&self, request: Request) -> fdo::Result<crate::protocol::Reply> {
        let msg = crate::protocol::Message {
            request,
            token: Some(self.shared.with_cache(|c| c.token().to_string())),
        };
        let reply = self.shared.apply(msg, 0);
        match reply.response {
            Response::Ok => Ok(reply),
            Response::Unknown => Err(fdo::Error::UnknownObject(
                reply.reason.unwrap_or_else(|| "not found".into()),
            )),
            _ => Err(fdo::Error::Failed(
                reply.reason.unwrap_or_else(|| "failed".into()),
            )),
        }
    }
}

/// Metadata text (a VG section's content, as LookupVgByName returns it)
/// parsed for the handler.
fn parse_metadata(vgname: &str, text: &str) -> fdo::Result<crate::format::config::Section> {
    crate::format::config::parse(text)
        .map_err(|e| fdo::Error::InvalidArgs(format!("metadata of VG {vgname}: {e}")))
}

/// One VG object: the snapshot last exported ([`objects::vg_props`]).
pub struct VolumeGroup {
    snap: VgProps,
}

#[interface(name = "org.lvm.Lvmetad1.VolumeGroup")]
impl VolumeGroup {
    #[zbus(property)]
    fn name(&self) -> String {
        self.snap.name.clone()
    }
    #[zbus(property)]
    fn uuid(&self) -> String {
        self.snap.uuid.clone()
    }
    #[zbus(property)]
    fn seqno(&self) -> u64 {
        self.snap.seqno
    }
    #[zbus(property)]
    fn complete(&self) -> bool {
        self.snap.complete
    }
    #[zbus(property)]
    fn missing_pvs(&self) -> Vec<String> {
        self.snap.missing_pvs.clone()
    }
    /// In bytes.
    #[zbus(property)]
    fn extent_size(&self) -> u64 {
        self.snap.extent_size
    }
    #[zbus(property)]
    fn size(&self) -> u64 {
        self.snap.size
    }
    #[zbus(property)]
    fn free_size(&self) -> u64 {
        self.snap.free
    }
    #[zbus(property)]
    fn physical_volumes(&self) -> Vec<String> {
        self.snap.physical_volumes.clone()
    }
    #[zbus(property)]
    fn logical_volumes(&self) -> Vec<String> {
        self.snap.logical_volumes.clone()
    }

    /// Create a RAID LV `name` of type `segtype` (raid0, raid1, raid4,
    /// raid5*, raid6*, raid10) and `size` bytes, with `stripes` data
    /// stripes and `mirrors` extra copies (0: the type's default), on
    /// `pvs` (empty: anywhere), by running `lvm lvcreate`. Returns its
    /// output. Root only.
    #[allow(clippy::too_many_arguments)]
    async fn create_raid_lv(
        &self,
        name: String,
        segtype: String,
        size: u64,
        stripes: u32,
        mirrors: u32,
        pvs: Vec<String>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<String> {
        caller_is_root(conn, &hdr).await?;
        raid::RaidOp::Create {
            vg: self.snap.name.clone(),
            name,
            segtype,
            size_bytes: size,
            stripes,
            mirrors,
            pvs,
        }
        .run()
        .await
    }
}

/// One present PV ([`objects::pv_props`]).
pub struct PhysicalVolume {
    snap: PvProps,
}

#[interface(name = "org.lvm.Lvmetad1.PhysicalVolume")]
impl PhysicalVolume {
    #[zbus(property)]
    fn uuid(&self) -> String {
        self.snap.uuid.clone()
    }
    #[zbus(property)]
    fn name(&self) -> String {
        self.snap.name.clone()
    }
    #[zbus(property)]
    fn device(&self) -> String {
        self.snap.device.clone()
    }
    #[zbus(property)]
    fn dev_size(&self) -> u64 {
        self.snap.dev_size
    }
    #[zbus(property)]
    fn pe_start(&self) -> u64 {
        self.snap.pe_start
    }
    #[zbus(property)]
    fn pe_count(&self) -> u64 {
        self.snap.pe_count
    }
    #[zbus(property)]
    fn volume_group(&self) -> OwnedObjectPath {
        self.snap.vg.clone()
    }
    #[zbus(property)]
    fn vg_name(&self) -> String {
        self.snap.vg_name.clone()
    }
    #[zbus(property)]
    fn vg_uuid(&self) -> String {
        self.snap.vg_uuid.clone()
    }
    #[zbus(property)]
    fn orphan(&self) -> bool {
        self.snap.orphan
    }
    #[zbus(property)]
    fn outdated(&self) -> bool {
        self.snap.outdated
    }
    #[zbus(property)]
    fn conflict(&self) -> bool {
        self.snap.conflict
    }
    #[zbus(property)]
    fn duplicate_devices(&self) -> Vec<String> {
        self.snap.duplicates.clone()
    }
}

/// One LV, hidden sub-LVs included ([`objects::vg_lvs`]).
pub struct LogicalVolume {
    snap: LvProps,
}

#[interface(name = "org.lvm.Lvmetad1.LogicalVolume")]
impl LogicalVolume {
    #[zbus(property)]
    fn name(&self) -> String {
        self.snap.name.clone()
    }
    #[zbus(property)]
    fn uuid(&self) -> String {
        self.snap.uuid.clone()
    }
    #[zbus(property)]
    fn volume_group(&self) -> OwnedObjectPath {
        self.snap.vg.clone()
    }
    #[zbus(property)]
    fn vg_name(&self) -> String {
        self.snap.vg_name.clone()
    }
    #[zbus(property)]
    fn size(&self) -> u64 {
        self.snap.size
    }
    #[zbus(property)]
    fn seg_type(&self) -> String {
        self.snap.segtype.clone()
    }
    #[zbus(property)]
    fn visible(&self) -> bool {
        self.snap.visible
    }
    #[zbus(property)]
    fn status(&self) -> Vec<String> {
        self.snap.status.clone()
    }
    #[zbus(property)]
    fn sub_lvs(&self) -> Vec<String> {
        self.snap.sub_lvs.clone()
    }
    #[zbus(property)]
    fn pvs(&self) -> Vec<String> {
        self.snap.pvs.clone()
    }
    #[zbus(property)]
    fn health(&self) -> String {
        self.snap.health.clone()
    }
    #[zbus(property)]
    fn sync_ratio(&self) -> f64 {
        self.snap.sync_ratio
    }
    #[zbus(property)]
    fn segments(&self) -> Vec<objects::SegmentTuple> {
        self.snap.segments.clone()
    }

    /// `lvm lvconvert` to `segtype` (empty: keep the type) and/or to
    /// `mirrors` extra copies (-1: keep), allocating on `pvs` (empty:
    /// anywhere). Root only.
    async fn convert_raid(
        &self,
        segtype: String,
        mirrors: i32,
        pvs: Vec<String>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<String> {
        caller_is_root(conn, &hdr).await?;
        raid::RaidOp::Convert {
            vg: self.snap.vg_name.clone(),
            lv: self.snap.name.clone(),
            segtype,
            mirrors: u32::try_from(mirrors).ok(),
            pvs,
        }
        .run()
        .await
    }

    /// Reshape the active RAID LV: `stripes` data stripes and/or a stripe
    /// size of `stripe_size` bytes (0: keep either); removing stripes
    /// needs `force` and a second call once the kernel has finished.
    /// New images go on `pvs` (empty: anywhere). Root only.
    async fn reshape_raid(
        &self,
        stripes: u32,
        stripe_size: u64,
        force: bool,
        pvs: Vec<String>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<String> {
        caller_is_root(conn, &hdr).await?;
        raid::RaidOp::Reshape {
            vg: self.snap.vg_name.clone(),
            lv: self.snap.name.clone(),
            stripes,
            stripe_size_bytes: stripe_size,
            force,
            pvs,
        }
        .run()
        .await
    }

    /// Split `count` images off: into a new LV `name`, or, with `track`
    /// (and no name), keeping track of changes for a later MergeMirrors.
    /// Root only.
    async fn split_mirrors(
        &self,
        count: u32,
        name: String,
        track: bool,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<String> {
        caller_is_root(conn, &hdr).await?;
        raid::RaidOp::Split {
            vg: self.snap.vg_name.clone(),
            lv: self.snap.name.clone(),
            count,
            name,
            track,
        }
        .run()
        .await
    }

    /// Merge this image, split with tracking, back into its RAID LV.
    /// Root only.
    async fn merge_mirrors(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<String> {
        caller_is_root(conn, &hdr).await?;
        raid::RaidOp::Merge {
            vg: self.snap.vg_name.clone(),
            lv: self.snap.name.clone(),
        }
        .run()
        .await
    }

    /// Replace the images on PV `pv` with new ones on `with` (empty:
    /// anywhere else). Root only.
    async fn replace_pv(
        &self,
        pv: String,
        with: Vec<String>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> fdo::Result<String> {
        caller_is_root(conn, &hdr).await?;
        raid::RaidOp::Replace {
            vg: self.snap.vg_name.clone(),
            lv: self.snap.name.clone(),
            pv,
            with,
        }
        .run()
        .await
    }
}

/// An exported object type and its snapshot.
trait Exportable: zbus::object_server::Interface {
    type P: Props;
    fn with(p: Self::P) -> Self;
    fn snap_mut(&mut self) -> &mut Self::P;
}

impl Exportable for VolumeGroup {
    type P = VgProps;
    fn with(snap: VgProps) -> Self {
        VolumeGroup { snap }
    }
    fn snap_mut(&mut self) -> &mut VgProps {
        &mut self.snap
    }
}

impl Exportable for PhysicalVolume {
    type P = PvProps;
    fn with(snap: PvProps) -> Self {
        PhysicalVolume { snap }
    }
    fn snap_mut(&mut self) -> &mut PvProps {
        &mut self.snap
    }
}

impl Exportable for LogicalVolume {
    type P = LvProps;
    fn with(snap: LvProps) -> Self {
        LogicalVolume { snap }
    }
    fn snap_mut(&mut self) -> &mut LvProps {
        &mut self.snap
    }
}

/// Export `p` at `path` (InterfacesAdded, through the ObjectManager), or
/// update the object there: PropertiesChanged with only the properties
/// whose value changed, nothing if none did.
async fn put<I: Exportable>(conn: &Connection, path: &str, p: I::P) {
    let server = conn.object_server();
    let Ok(iref) = server.interface::<_, I>(path).await else {
        if let Err(e) = server.at(path, I::with(p)).await {
            log::warn!("D-Bus: cannot export {path}: {e}");
        }
        return;
    };
    let old = {
        let mut g = iref.get_mut().await;
        std::mem::replace(g.snap_mut(), p.clone())
    };
    let names = changed(&old, &p);
    if names.is_empty() {
        return;
    }
    log::debug!("D-Bus: {path}: changed {names:?}");
    let props: HashMap<&str, zbus::Variant<'_>> = p
        .props()
        .into_iter()
        .filter(|(n, _)| names.contains(n))
        .collect();
    let iface = zbus::names::InterfaceName::from_static_str_unchecked(<I::P as Props>::INTERFACE);
    if let Err(e) = fdo::Properties::properties_changed(
        iref.signal_emitter(),
        iface,
        props,
        std::borrow::Cow::Borrowed(&[]),
    )
    .await
    {
        log::warn!("D-Bus: PropertiesChanged on {path}: {e}");
    }
}

/// Withdraw the object at `path` (InterfacesRemoved).
async fn withdraw<I: Exportable>(conn: &Connection, path: &str) {
    let _ = conn.object_server().remove::<I, _>(path).await;
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
    // Ends when the bus connection closes (dbus-daemon restarted or
    // gone): the daemon then reconnects as at start.
    let mut lost: Option<zbus::MessageStream> = None;
    let mut ex = Exported::default();
    let mut backoff = RETRY_MIN;
    let retry = tokio::time::sleep(Duration::ZERO);
    let mut live_poll = tokio::time::interval(LIVE_POLL);
    tokio::pin!(retry);
    loop {
        let deadline = planner.next_deadline();
        tokio::select! {
            ev = events.recv() => {
                let first = match ev {
                    Ok(ev) => ev,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        log::warn!("D-Bus: {n} cache events dropped; re-reading the cache");
                        if let Some(c) = &conn { resync(c, &shared, &mut ex).await; }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                // Take every event already queued: objects touched by
                // several are updated once.
                let mut batch = vec![first];
                let mut lagged = false;
                loop {
                    match events.try_recv() {
                        Ok(ev) => batch.push(ev),
                        Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                        Err(_) => break,
                    }
                }
                let mut dirty = Dirty::default();
                let mut actions = Vec::new();
                for ev in &batch {
                    dirty.add(ev);
                    actions.extend(planner.on_event(ev, std::time::Instant::now()));
                }
                if let Some(c) = &conn {
                    if lagged {
                        resync(c, &shared, &mut ex).await;
                    } else if !dirty.is_empty() {
                        refresh(c, &shared, &mut ex, dirty).await;
                    }
                    for ev in &batch { signal(c, ev).await; }
                }
                for a in actions { tokio::spawn(act(conn.clone(), a)); }
            }
            _ = sleep_until(deadline) => {
                for (name, uuid) in planner.expired(std::time::Instant::now()) {
                    let action = shared.with_cache(|c| c.vg_lookup(VgRef::Uuid(&uuid)).ok())
                        .filter(|v| !v.complete)
                        .and_then(|v| Planner::degraded_action(&v.metadata, &v.missing));
                    match action {
                        Some(a) => { tokio::spawn(act(conn.clone(), a)); }
                        None => log::info!("VG {name} still incomplete; its RAID LVs cannot run degraded: not activating"),
                    }
                }
            }
            m = next_message(lost.as_mut()), if lost.is_some() => {
                let ours = match &m {
                    Some(Ok(m)) => m.body().deserialize::<String>().is_ok_and(|n| n == BUS_NAME),
                    _ => true,
                };
                if ours {
                    log::info!("D-Bus: lost the system bus or our name; reconnecting");
                    conn = None;
                    lost = None;
                    ex = Exported::default();
                    logged = false;
                    retry.as_mut().reset(tokio::time::Instant::now() + RETRY_MIN);
                }
            }
            _ = live_poll.tick(), if conn.is_some() && !ex.live.is_empty() => {
                if let Some(c) = &conn {
                    let dirty = Dirty { vgs: ex.live.clone(), pvs: BTreeSet::new() };
                    refresh(c, &shared, &mut ex, dirty).await;
                }
            }
            _ = &mut retry, if conn.is_none() => {
                match connect(shared.clone()).await {
                    Ok(c) => {
                        log::info!("D-Bus: serving {BUS_NAME} on the system bus");
                        resync(&c, &shared, &mut ex).await;
                        lost = name_lost_stream(&c).await;
                        backoff = RETRY_MIN;
                        conn = Some(c);
                    }
                    Err(e) => {
                        if !logged {
                            log::info!("D-Bus: system bus not available ({e}); serving the socket only and retrying (every {}s at most)", RETRY_MAX.as_secs());
                            logged = true;
                        }
                        retry.as_mut().reset(tokio::time::Instant::now() + backoff);
                        backoff = (backoff * 2).min(RETRY_MAX);
                    }
                }
            }
        }
    }
}

/// NameLost signals to us; the stream ends when the connection closes.
async fn name_lost_stream(c: &Connection) -> Option<zbus::MessageStream> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameLost")
        .build()
        .ok()?;
    zbus::MessageStream::for_match_rule(rule, c, None)
        .await
        .ok()
}

async fn next_message(s: Option<&mut zbus::MessageStream>) -> Option<zbus::Result<zbus::Message>> {
    use zbus::export::futures_core::Stream;
    match s {
        Some(s) => std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await,
        None => std::future::pending().await,
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

/// Which objects are exported, so that an event updates only its own.
#[derive(Default)]
struct Exported {
    /// VG uuid → VG object path (by name: changes on rename).
    vgs: HashMap<String, String>,
    /// VG uuid → LV object paths.
    lvs: HashMap<String, BTreeSet<String>>,
    /// PV id → the VG uuid it was last shown in ("" for none).
    pvs: HashMap<String, String>,
    /// VGs with an active RAID LV: the kernel's sync and health change
    /// without any cache event, so these are re-read every [`LIVE_POLL`].
    live: BTreeSet<String>,
}

/// The objects an event batch touches.
#[derive(Default)]
struct Dirty {
    vgs: BTreeSet<String>,
    pvs: BTreeSet<String>,
}

impl Dirty {
    fn add(&mut self, ev: &Event) {
        if let Some(u) = ev.vg_uuid() {
            self.vgs.insert(u.to_string());
        }
        if let Some(p) = ev.pvid() {
            self.pvs.insert(p.to_string());
        }
    }
    fn is_empty(&self) -> bool {
        self.vgs.is_empty() && self.pvs.is_empty()
    }
}

/// Bring the objects of the dirty VGs and PVs in line with the cache.
async fn refresh(conn: &Connection, shared: &Shared, ex: &mut Exported, mut dirty: Dirty) {
    // A PV's VG may change (and its VG's LV health with it).
    let pvs: Vec<(String, Option<crate::cache::PvView>)> = shared.with_cache(|c| {
        dirty
            .pvs
            .iter()
            .map(|p| (p.clone(), c.pv_lookup(crate::cache::PvRef::Id(p)).ok()))
            .collect()
    });
    for (pvid, v) in &pvs {
        if let Some(old) = ex.pvs.get(pvid).filter(|u| !u.is_empty()) {
            dirty.vgs.insert(old.clone());
        }
        if let Some(g) = v.as_ref().and_then(|v| v.vg.as_ref()) {
            dirty.vgs.insert(g.uuid.clone());
        }
    }
    let mut views = HashMap::new();
    for uuid in &dirty.vgs {
        let view = shared.with_cache(|c| c.vg_lookup(VgRef::Uuid(uuid)).ok());
        match view {
            Some(v) => {
                let path = vg_path(&v.vg.name);
                if let Some(old) = ex.vgs.get(uuid).filter(|p| **p != path) {
                    // Renamed: the path follows the name; its PVs show it.
                    withdraw::<VolumeGroup>(conn, old).await;
                    for p in v.pvs.iter().filter(|p| p.present) {
                        dirty.pvs.insert(p.pvid.clone());
                    }
                }
                put::<VolumeGroup>(conn, &path, objects::vg_props(&v)).await;
                ex.vgs.insert(uuid.clone(), path);
                let lvs = objects::vg_lvs(&v);
                if lvs.iter().any(|(_, l)| l.live) {
                    ex.live.insert(uuid.clone());
                } else {
                    ex.live.remove(uuid);
                }
                let now: BTreeSet<String> = lvs.iter().map(|(p, _)| p.clone()).collect();
                for gone in ex.lvs.get(uuid).into_iter().flatten() {
                    if !now.contains(gone) {
                        withdraw::<LogicalVolume>(conn, gone).await;
                    }
                }
                for (p, props) in lvs {
                    put::<LogicalVolume>(conn, &p, props).await;
                }
                ex.lvs.insert(uuid.clone(), now);
                views.insert(uuid.clone(), v);
            }
            None => {
                if let Some(p) = ex.vgs.remove(uuid) {
                    withdraw::<VolumeGroup>(conn, &p).await;
                }
                ex.live.remove(uuid);
                for p in ex.lvs.remove(uuid).into_iter().flatten() {
                    withdraw::<LogicalVolume>(conn, &p).await;
                }
            }
        }
    }
    for pvid in &dirty.pvs {
        let view = shared.with_cache(|c| c.pv_lookup(crate::cache::PvRef::Id(pvid)).ok());
        match view {
            Some(pv) => {
                let vg_uuid = pv.vg.as_ref().map(|g| g.uuid.clone()).unwrap_or_default();
                if !vg_uuid.is_empty() && !views.contains_key(&vg_uuid) {
                    if let Some(v) = shared.with_cache(|c| c.vg_lookup(VgRef::Uuid(&vg_uuid)).ok())
                    {
                        views.insert(vg_uuid.clone(), v);
                    }
                }
                let props = objects::pv_props(&pv, views.get(&vg_uuid));
                put::<PhysicalVolume>(conn, &pv_path(pvid), props).await;
                ex.pvs.insert(pvid.clone(), vg_uuid);
            }
            None => {
                if ex.pvs.remove(pvid).is_some() {
                    withdraw::<PhysicalVolume>(conn, &pv_path(pvid)).await;
                }
            }
        }
    }
}

/// Everything: at connection time and after lost events. Objects whose
/// snapshot did not change send nothing.
async fn resync(conn: &Connection, shared: &Shared, ex: &mut Exported) {
    let mut dirty = Dirty::default();
    dirty.vgs.extend(ex.vgs.keys().cloned());
    dirty.pvs.extend(ex.pvs.keys().cloned());
    shared.with_cache(|c| {
        dirty.vgs.extend(c.vg_list().into_iter().map(|v| v.vg.uuid));
        dirty.pvs.extend(c.pv_list().into_iter().map(|p| p.pvid));
    });
    refresh(conn, shared, ex, dirty).await;
}

/// The Manager's signals for one event.
async fn signal(conn: &Connection, ev: &Event) {
    let root = match SignalEmitter::new(conn, ROOT) {
        Ok(r) => r,
        Err(_) => return,
    };
    let r = match ev {
        Event::VgChanged { vg, seqno } => {
            Manager::volume_group_changed(&root, &vg.name, &vg.uuid, *seqno).await
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

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Systemd {
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
}

/// Emit the signal and start the unit for one action.
/// Runs as a task of its own: a slow or hung systemd never holds up the
/// event loop (each StartUnit gives up after [`START_TIMEOUT`]).
async fn act(conn: Option<Connection>, a: Action) {
    let conn = conn.as_ref();
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
    // The system bus first; systemd may refuse a caller without
    // CAP_SYS_ADMIN there (lvmetad.service has an empty capability
    // bounding set and there may be no polkit), so the private socket,
    // where root is trusted, is the fallback, and the only way without a
    // bus.
    let via_bus = match conn {
        Some(c) => match start_unit(c, &unit).await {
            Ok(()) => {
                log::info!("started {unit}");
                return;
            }
            Err(e) => Some(e),
        },
        None => None,
    };
    // A request on the private socket has been seen to go unanswered (the
    // unit not started either) in a loaded guest: each attempt gets a
    // fresh connection and a bounded wait; starting a unit that is already
    // queued or running is harmless.
    let mut r = Err(zbus::Error::Failure("not tried".into()));
    for attempt in 1..=PRIVATE_ATTEMPTS {
        log::info!("asking systemd to start {unit} through its private socket");
        r = match private_systemd().await {
            Ok(c) => start_unit_within(&c, &unit, PRIVATE_ATTEMPT_TIMEOUT).await,
            Err(e) if attempt == 1 => {
                match &via_bus {
                    Some(b) => {
                        log::warn!("StartUnit {unit}: {b}; systemd's private socket: {e}")
                    }
                    None => log::info!(
                        "no system bus and no systemd private socket ({e}): not starting {unit}"
                    ),
                }
                return;
            }
            Err(e) => Err(e),
        };
        match &r {
            Ok(()) => break,
            Err(e) if attempt < PRIVATE_ATTEMPTS => {
                log::warn!(
                    "systemd did not start {unit} through its private socket (attempt \
                     {attempt}: {e}); asking again on a new connection"
                )
            }
            Err(_) => {}
        }
    }
    match (r, via_bus) {
        (Ok(()), None) => log::info!("started {unit} (systemd's private socket)"),
        (Ok(()), Some(b)) => {
            log::info!("started {unit} through systemd's private socket (on the bus: {b})")
        }
        (Err(e), _) => log::warn!("StartUnit {unit}: {e}"),
    }
}

/// systemd answers StartUnit once the job is queued. Each call runs in a
/// task of its own, so a long wait holds nothing up.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// On the private socket: attempts, each on a new connection, and the wait
/// for each answer.
const PRIVATE_ATTEMPTS: u32 = 4;
const PRIVATE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

async fn start_unit(c: &Connection, unit: &str) -> zbus::Result<()> {
    start_unit_within(c, unit, START_TIMEOUT).await
}

async fn start_unit_within(c: &Connection, unit: &str, limit: Duration) -> zbus::Result<()> {
    let call = async {
        let p = SystemdProxy::new(c).await?;
        p.start_unit(unit, "replace").await.map(|_| ())
    };
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(zbus::Error::Failure(format!(
            "no answer in {}s",
            limit.as_secs()
        )))
    })
}

/// systemd's private peer-to-peer socket, for when the bus is not up.
async fn private_systemd() -> zbus::Result<Connection> {
    let path = std::env::var_os("LVMETAD_SYSTEMD_PRIVATE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/run/systemd/private".into());
    // Not Builder::unix_stream: systemd stamps its well-known name as the
    // sender of every message on this socket, which zbus rejects (see
    // `private`).
    let build = private::connect(&path);
    tokio::time::timeout(PRIVATE_ATTEMPT_TIMEOUT, build)
        .await
        .unwrap_or_else(|_| {
            Err(zbus::Error::Failure(
                "systemd's private socket did not answer".into(),
            ))
        })
}
