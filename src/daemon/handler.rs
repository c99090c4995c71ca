//! One request applied to the cache: protocol values in, a reply and the
//! cache's events out. Pure apart from the cache it is given.

use crate::cache::{
    Cache, CacheError, Event, LabelFacts, MdaFacts, PvFound, PvFoundStatus, PvRef, PvView,
    SetGlobalInfo, TokenUpdate, TokenUpdateRefused, VgRef,
};
use crate::format::config::{Node, Section, Value};
use crate::model::Vg;
use crate::protocol::{int_node, str_node, Message, PvMeta, Reply, Request, Response};

/// A refusal for a request made under the wrong token, or None if it may
/// proceed. hello, token_update, get_global_info and dump are accepted
/// under any token (lvm2 2.02).
pub fn token_refusal(cache: &Cache, msg: &Message, pid: i64) -> Option<Reply> {
    if matches!(
        msg.request,
        Request::Hello | Request::TokenUpdate | Request::GetGlobalInfo | Request::Dump
    ) {
        return None;
    }
    let received = msg.token.as_deref().unwrap_or("");
    cache.check_token(received, pid).err().map(|m| {
        Reply::with(
            Response::TokenMismatch,
            format!(
                "token mismatch: the daemon holds \"{}\", the request came with \"{}\"",
                m.expected, m.received
            ),
        )
        .push("expected", str_node(m.expected))
        .push("received", str_node(m.received))
        .push("update_pid", int_node(m.update_pid))
    })
}

fn refused(e: CacheError) -> Reply {
    if e.is_unknown() {
        Reply::with(Response::Unknown, e.to_string())
    } else {
        Reply::failed(e.to_string())
    }
}

fn section(items: Vec<(&str, Node)>) -> Node {
    Node::Section(Section {
        items: items.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    })
}

fn label_facts(pv: &PvMeta) -> LabelFacts {
    LabelFacts {
        dev_size: pv.dev_size,
        label_sector: pv.label_sector,
        pe_start: pv.pe_start,
        mdas: pv
            .mdas
            .iter()
            .map(|&(offset, size, ignored)| MdaFacts {
                offset,
                size,
                ignored,
            })
            .collect(),
        ext_version: pv.ext_version,
        ext_flags: pv.ext_flags,
    }
}

/// The protocol's view of a PV the cache holds.
fn pvmeta_of(v: &PvView) -> PvMeta {
    let l = &v.device.label;
    PvMeta {
        id: v.pvid.clone(),
        device: v.device.devno,
        device_name: v.device.device_hint.clone(),
        dev_size: l.dev_size,
        label_sector: l.label_sector,
        pe_start: l.pe_start,
        mdas: l
            .mdas
            .iter()
            .map(|m| (m.offset, m.size, m.ignored))
            .collect(),
        ext_version: l.ext_version,
        ext_flags: l.ext_flags,
    }
}

fn pv_node(v: &PvView) -> Node {
    let mut s = pvmeta_of(v).to_section();
    if let Some(vg) = &v.vg {
        s.items.push(("vgid".into(), str_node(&vg.uuid)));
        s.items.push(("vgname".into(), str_node(&vg.name)));
    }
    let flag = |b: bool| int_node(b as i64);
    s.items.push(("orphan".into(), flag(v.orphan)));
    s.items.push(("outdated".into(), flag(v.outdated)));
    s.items.push(("conflict".into(), flag(v.conflict)));
    if !v.duplicates.is_empty() {
        s.items.push((
            "duplicate_devices".into(),
            Node::Value(Value::Array(
                v.duplicates
                    .iter()
                    .map(|d| Value::Str(d.device_hint.clone()))
                    .collect(),
            )),
        ));
    }
    Node::Section(s)
}

fn strings(v: &[String]) -> Node {
    Node::Value(Value::Array(
        v.iter().map(|s| Value::Str(s.clone())).collect(),
    ))
}

fn vg_from(name: &str, metadata: &Section) -> Result<Vg, Reply> {
    Vg::from_config(name, metadata)
        .map_err(|e| Reply::failed(format!("invalid metadata for VG {name}: {e}")))
}

/// Apply `msg` from process `pid` at monotonic time `now` (seconds).
pub fn handle(cache: &mut Cache, msg: Message, pid: i64, now: u64) -> (Reply, Vec<Event>) {
    if let Some(r) = token_refusal(cache, &msg, pid) {
        return (r, Vec::new());
    }
    let token = msg.token.clone().unwrap_or_default();
    match msg.request {
        Request::Hello => (
            Reply::ok()
                .push("protocol", str_node("lvmetad"))
                .push("version", int_node(1))
                .push("token", str_node(cache.token())),
            Vec::new(),
        ),
        Request::TokenUpdate => {
            let req = TokenUpdate {
                token: &token,
                pid,
                cmd: "",
                // A rescan that dies is taken over by the next client after
                // this long (lvm2 2.02's default update timeout).
                update_timeout: 10,
            };
            match cache.token_update(req, now) {
                Ok(done) => (
                    Reply::ok()
                        .push("prev_token", str_node(done.prev_token))
                        .push("update_pid", int_node(done.update_pid)),
                    Vec::new(),
                ),
                Err(TokenUpdateRefused::Updating {
                    expected,
                    update_pid,
                }) => (
                    Reply::failed(format!(
                        "update in progress by process {update_pid}; retry when it is done"
                    ))
                    .push("expected", str_node(expected))
                    .push("update_pid", int_node(update_pid)),
                    Vec::new(),
                ),
                Err(TokenUpdateRefused::Mismatch(m)) => (
                    Reply::with(Response::TokenMismatch, "a newer update replaced this one")
                        .push("expected", str_node(m.expected))
                        .push("received", str_node(m.received))
                        .push("update_pid", int_node(m.update_pid)),
                    Vec::new(),
                ),
            }
        }
        Request::PvFound {
            pv,
            vgname,
            metadata,
        } => {
            let vg = match (&metadata, &vgname) {
                (Some(m), Some(name)) => match vg_from(name, m) {
                    Ok(v) => Some(v),
                    Err(r) => return (r, Vec::new()),
                },
                (Some(_), None) => {
                    return (
                        Reply::failed("pv_found: metadata without vgname"),
                        Vec::new(),
                    )
                }
                _ => None,
            };
            let found = PvFound {
                pvid: pv.id.clone(),
                devno: pv.device,
                device_hint: pv.device_name.clone(),
                label: label_facts(&pv),
                metadata: vg,
            };
            match cache.pv_found(found) {
                Ok(out) => {
                    let r = &out.reply;
                    let status = match r.status {
                        PvFoundStatus::Complete => "complete",
                        PvFoundStatus::Incomplete => "partial",
                        PvFoundStatus::Orphan => "orphan",
                        PvFoundStatus::Stale => "stale",
                    };
                    let mut reply = Reply::ok()
                        .push("status", str_node(status))
                        .push("changed", int_node(r.changed as i64));
                    if let Some(vg) = &r.vg {
                        reply = reply
                            .push("vgid", str_node(&vg.uuid))
                            .push("vgname", str_node(&vg.name));
                    }
                    if let Some(s) = r.seqno_before {
                        reply = reply.push("seqno_before", int_node(s as i64));
                    }
                    if let Some(s) = r.seqno_after {
                        reply = reply.push("seqno_after", int_node(s as i64));
                    }
                    (reply, out.events)
                }
                Err(e) => (refused(e), Vec::new()),
            }
        }
        Request::PvGone { device, uuid } => {
            let r = match (&uuid, device) {
                (Some(u), _) => cache.pv_gone(PvRef::Id(u)),
                (None, Some(d)) => cache.pv_gone(PvRef::Devno(d)),
                (None, None) => return (Reply::failed("pv_gone needs device or uuid"), Vec::new()),
            };
            match r {
                Ok(out) => (
                    Reply::ok().push("pvid", str_node(&out.reply.pvid)),
                    out.events,
                ),
                Err(e) => (refused(e), Vec::new()),
            }
        }
        Request::PvClearAll => (Reply::ok(), cache.pv_clear_all().events),
        Request::PvLookup { device, uuid } => {
            let r = match (&uuid, device) {
                (Some(u), _) => cache.pv_lookup(PvRef::Id(u)),
                (None, Some(d)) => cache.pv_lookup(PvRef::Devno(d)),
                (None, None) => {
                    return (Reply::failed("pv_lookup needs device or uuid"), Vec::new())
                }
            };
            match r {
                Ok(v) => (Reply::ok().push("physical_volume", pv_node(&v)), Vec::new()),
                Err(e) => (refused(e), Vec::new()),
            }
        }
        Request::PvList => {
            let items = cache
                .pv_list()
                .iter()
                .map(|v| (v.pvid.clone(), pv_node(v)))
                .collect();
            (
                Reply::ok()
                    .push("physical_volumes", Node::Section(Section { items }))
                    .push("global_invalid", int_node(cache.global_invalid() as i64)),
                Vec::new(),
            )
        }
        Request::VgUpdate { vgname, metadata } => {
            let vg = match vg_from(&vgname, &metadata) {
                Ok(v) => v,
                Err(r) => return (r, Vec::new()),
            };
            match cache.vg_update(vg) {
                Ok(out) => (
                    Reply::ok().push("seqno", int_node(out.reply.seqno_after as i64)),
                    out.events,
                ),
                Err(e) => (refused(e), Vec::new()),
            }
        }
        Request::VgRemove { uuid } => {
            let out = cache.vg_remove(&uuid);
            if out.reply {
                (Reply::ok(), out.events)
            } else {
                (
                    Reply::with(Response::Unknown, format!("VG {uuid} not found")),
                    Vec::new(),
                )
            }
        }
        Request::VgLookup { uuid, name } => {
            let Some(vg) = VgRef::from_options(uuid.as_deref(), name.as_deref()) else {
                return (Reply::failed("vg_lookup needs name or uuid"), Vec::new());
            };
            match cache.vg_lookup(vg) {
                Ok(v) => (
                    Reply::ok()
                        .push("id", str_node(&v.vg.uuid))
                        .push("name", str_node(&v.vg.name))
                        .push("seqno", int_node(v.seqno as i64))
                        .push("complete", int_node(v.complete as i64))
                        .push("missing", strings(&v.missing))
                        .push("outdated", strings(&v.outdated))
                        .push("conflicting", strings(&v.conflicting))
                        .push("vg_invalid", int_node(v.vg_invalid as i64))
                        .push("metadata", Node::Section(v.metadata.to_config())),
                    Vec::new(),
                ),
                Err(e) => (refused(e), Vec::new()),
            }
        }
        Request::VgList => {
            let items = cache
                .vg_list()
                .iter()
                .map(|s| {
                    (
                        s.vg.uuid.clone(),
                        section(vec![
                            ("name", str_node(&s.vg.name)),
                            ("seqno", int_node(s.seqno as i64)),
                            ("complete", int_node(s.complete as i64)),
                            ("pv_count", int_node(s.pv_count as i64)),
                            ("missing_count", int_node(s.missing_count as i64)),
                        ]),
                    )
                })
                .collect();
            (
                Reply::ok()
                    .push("volume_groups", Node::Section(Section { items }))
                    .push("global_invalid", int_node(cache.global_invalid() as i64)),
                Vec::new(),
            )
        }
        Request::GetGlobalInfo => {
            let g = cache.global_info(now);
            (
                Reply::ok()
                    .push("global_invalid", int_node(g.global_invalid as i64))
                    .push("global_disable", int_node(g.global_disable as i64))
                    .push("disable_reason", str_node(g.disable_reason_text()))
                    .push("token", str_node(&g.token))
                    .push("update_cmd", str_node(&g.update_cmd))
                    .push("update_pid", int_node(g.update_pid))
                    .push("update_begin", int_node(g.update_begin as i64))
                    .push("update_timeout", int_node(g.update_timeout as i64))
                    .push("daemon_pid", int_node(std::process::id() as i64)),
                Vec::new(),
            )
        }
        Request::SetGlobalInfo {
            global_invalid,
            global_disable,
            disable_reason,
        } => {
            cache.set_global_info(SetGlobalInfo {
                global_invalid,
                global_disable,
                disable_reason: disable_reason.as_deref(),
            });
            (Reply::ok(), Vec::new())
        }
        Request::Dump => (Reply::ok().push("dump", str_node(cache.dump())), Vec::new()),
        Request::VgWait { .. } => (
            Reply::failed("vg_wait is answered by the connection, not the cache"),
            Vec::new(),
        ),
    }
}

/// One line for the log about an event.
pub fn describe(e: &Event) -> String {
    e.to_string()
}
