//! Reading lvmetad over D-Bus (`org.lvm.Lvmetad1` on the system bus, or
//! on `$DBUS_SYSTEM_BUS_ADDRESS`): the same [`Scan`] the socket session
//! gives, from `ListPvs`, `ListVgs` and `LookupVgByUuid`.
//!
//! The daemon's token comes with the PV list; a daemon whose token is not
//! this command's (fresh, or fed under another device filter) is not
//! trusted: the caller falls back to the socket, whose session rebuilds
//! the daemon's cache ([`super::lvmetad`]).

use std::path::Path;

use thiserror::Error;

use super::view;
use crate::device::scan::Scan;
use crate::format::config::{self, Section};
use crate::protocol::PvMeta;

pub const BUS_NAME: &str = "org.lvm.Lvmetad1";
pub const ROOT: &str = "/org/lvm/Lvmetad1";
pub const MANAGER: &str = "org.lvm.Lvmetad1.Manager";

/// A PV as `ListPvs` sends it.
pub type PvTuple = (
    String,
    u64,
    String,
    u64,
    u64,
    u64,
    Vec<(u64, u64, bool)>,
    u32,
    u32,
);

pub fn pv_tuple(m: &PvMeta) -> PvTuple {
    (
        m.id.clone(),
        m.device,
        m.device_name.clone(),
        m.dev_size,
        m.label_sector,
        m.pe_start,
        m.mdas.clone(),
        m.ext_version,
        m.ext_flags,
    )
}

pub fn pv_meta(t: PvTuple) -> PvMeta {
    PvMeta {
        id: t.0,
        device: t.1,
        device_name: t.2,
        dev_size: t.3,
        label_sector: t.4,
        pe_start: t.5,
        mdas: t.6,
        ext_version: t.7,
        ext_flags: t.8,
    }
}

#[derive(Debug, Error)]
pub enum DbusError {
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
    #[error("lvmetad on D-Bus holds token \"{daemon}\", this command's is \"{ours}\"")]
    Token { daemon: String, ours: String },
    #[error("lvmetad on D-Bus sent metadata of VG {vg} that does not parse: {why}")]
    BadMetadata { vg: String, why: String },
}

async fn call<B, R>(c: &zbus::Connection, method: &str, body: &B) -> Result<R, DbusError>
where
    B: zbus::export::serde::Serialize + zbus::wire::DynamicType,
    R: for<'d> zbus::export::serde::Deserialize<'d> + zbus::wire::Type,
{
    let reply = c
        .call_method(Some(BUS_NAME), ROOT, Some(MANAGER), method, body)
        .await?;
    Ok(reply.body().deserialize()?)
}

async fn read(token: &str) -> Result<(Vec<PvMeta>, Vec<(String, Section)>), DbusError> {
    let c = zbus::Connection::system().await?;
    let (daemon, pvs): (String, Vec<PvTuple>) = call(&c, "ListPvs", &()).await?;
    if daemon != token {
        return Err(DbusError::Token {
            daemon,
            ours: token.to_string(),
        });
    }
    let list: Vec<(String, String, zbus::OwnedObjectPath)> = call(&c, "ListVgs", &()).await?;
    let mut vgs = Vec::new();
    for (name, uuid, _) in list {
        let r: Result<(zbus::OwnedObjectPath, String), DbusError> =
            call(&c, "LookupVgByUuid", &(uuid.as_str(),)).await;
        let text = match r {
            Ok((_, text)) => text,
            // Gone since the list (a concurrent vgremove) is fine.
            Err(DbusError::Bus(zbus::Error::MethodError(..))) => {
                log::debug!("lvmetad: VG {name} ({uuid}) vanished while listing");
                continue;
            }
            Err(e) => return Err(e),
        };
        let section = config::parse(&text).map_err(|e| DbusError::BadMetadata {
            vg: name.clone(),
            why: e.to_string(),
        })?;
        vgs.push((name, section));
    }
    Ok((pvs.into_iter().map(pv_meta).collect(), vgs))
}

/// Everything lvmetad knows, read over D-Bus, as a [`Scan`]; `accept`
/// is the lvm.conf filter.
pub fn scan(token: &str, accept: impl Fn(&Path) -> bool) -> Result<Scan, DbusError> {
    let (pvs, vgs) = zbus::block_on(read(token))?;
    Ok(view::build_scan(
        &pvs,
        &vgs,
        super::lvmetad::device_path,
        accept,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_tuples_round_trip() {
        let m = PvMeta {
            id: "a-b".into(),
            device: 1792,
            device_name: "/dev/loop0".into(),
            dev_size: 1 << 30,
            label_sector: 1,
            pe_start: 1 << 20,
            mdas: vec![(4096, 1044480, false)],
            ext_version: 2,
            ext_flags: 1,
        };
        assert_eq!(pv_meta(pv_tuple(&m)), m);
    }
}
