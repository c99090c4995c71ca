//! The lvmetad socket protocol: config-tree text messages (see
//! [`crate::format::config`]) framed by [`frame`], with lvm2 2.02's request
//! names and reply conventions:
//!
//! ```text
//! request = "pv_found"            response = "OK"
//! token = "filter:1234"           status = "complete"
//! pvmeta { ... }                  vgid = "..."
//! metadata { ... }
//! ```
//!
//! Replies carry `response = "OK" | "failed" | "unknown" |
//! "token_mismatch"` and, when not OK, a `reason`. This module is pure:
//! typed requests and replies to and from text, used by both the daemon
//! and the clients.

pub mod frame;

use thiserror::Error;

use crate::format::config::{self, Node, Section, Value};

/// The token value a client sets while it rescans everything; requests
/// other than the rescan's own are refused meanwhile (lvm2 2.02).
pub const TOKEN_UPDATE_IN_PROGRESS: &str = "update in progress";

#[derive(Debug, Error, PartialEq)]
pub enum ProtocolError {
    #[error("malformed message: {0}")]
    Syntax(String),
    #[error("message has no request = \"...\"")]
    NoRequest,
    #[error("request \"{request}\": missing or invalid field \"{field}\"")]
    Field {
        request: String,
        field: &'static str,
    },
}

/// What a PV's label says, as sent with pv_found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PvMeta {
    /// PV UUID, dashed.
    pub id: String,
    /// Kernel device number (major << 8 | minor, lvm2's encoding:
    /// `MKDEV`, i.e. glibc's makedev).
    pub device: u64,
    /// Device name hint (`/dev/sdb`).
    pub device_name: String,
    /// Device size in bytes.
    pub dev_size: u64,
    pub label_sector: u64,
    /// Start of the data area in bytes.
    pub pe_start: u64,
    /// Metadata areas: (offset, size, ignored).
    pub mdas: Vec<(u64, u64, bool)>,
    pub ext_version: u32,
    pub ext_flags: u32,
}

/// A request, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Hello,
    /// A PV was seen; `metadata` is the VG section of its metadata area
    /// (absent for a PV without metadata or an orphan).
    PvFound {
        pv: PvMeta,
        vgname: Option<String>,
        metadata: Option<Section>,
    },
    PvGone {
        device: Option<u64>,
        uuid: Option<String>,
    },
    PvClearAll,
    PvLookup {
        device: Option<u64>,
        uuid: Option<String>,
    },
    PvList,
    VgUpdate {
        vgname: String,
        metadata: Section,
    },
    VgRemove {
        uuid: String,
    },
    VgLookup {
        uuid: Option<String>,
        name: Option<String>,
    },
    VgList,
    TokenUpdate,
    GetGlobalInfo,
    SetGlobalInfo {
        global_invalid: Option<bool>,
        global_disable: Option<bool>,
        disable_reason: Option<String>,
    },
    Dump,
    /// Block until the VG is complete or `timeout_ms` passed.
    VgWait {
        uuid: Option<String>,
        name: Option<String>,
        timeout_ms: u64,
    },
}

/// A request with the token it was sent under.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub request: Request,
    pub token: Option<String>,
}

impl Request {
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello => "hello",
            Request::PvFound { .. } => "pv_found",
            Request::PvGone { .. } => "pv_gone",
            Request::PvClearAll => "pv_clear_all",
            Request::PvLookup { .. } => "pv_lookup",
            Request::PvList => "pv_list",
            Request::VgUpdate { .. } => "vg_update",
            Request::VgRemove { .. } => "vg_remove",
            Request::VgLookup { .. } => "vg_lookup",
            Request::VgList => "vg_list",
            Request::TokenUpdate => "token_update",
            Request::GetGlobalInfo => "get_global_info",
            Request::SetGlobalInfo { .. } => "set_global_info",
            Request::Dump => "dump",
            Request::VgWait { .. } => "vg_wait",
        }
    }
}

// --- small tree helpers -------------------------------------------------

fn get<'a>(s: &'a Section, key: &str) -> Option<&'a Node> {
    s.items.iter().rev().find(|(k, _)| k == key).map(|(_, n)| n)
}

pub fn get_str<'a>(s: &'a Section, key: &str) -> Option<&'a str> {
    match get(s, key) {
        Some(Node::Value(Value::Str(v))) => Some(v),
        _ => None,
    }
}

pub fn get_int(s: &Section, key: &str) -> Option<i64> {
    match get(s, key) {
        Some(Node::Value(Value::Int(v))) => Some(*v),
        _ => None,
    }
}

pub fn get_section<'a>(s: &'a Section, key: &str) -> Option<&'a Section> {
    match get(s, key) {
        Some(Node::Section(v)) => Some(v),
        _ => None,
    }
}

pub fn str_node(v: impl Into<String>) -> Node {
    Node::Value(Value::Str(v.into()))
}

pub fn int_node(v: i64) -> Node {
    Node::Value(Value::Int(v))
}

fn push(s: &mut Section, key: &str, node: Node) {
    s.items.push((key.to_string(), node));
}

// --- PvMeta ⇄ tree --------------------------------------------------------

impl PvMeta {
    pub fn to_section(&self) -> Section {
        let mut s = Section::default();
        push(&mut s, "id", str_node(&self.id));
        push(&mut s, "device", int_node(self.device as i64));
        push(&mut s, "device_name", str_node(&self.device_name));
        push(&mut s, "dev_size", int_node(self.dev_size as i64));
        push(&mut s, "format", str_node("lvm2"));
        push(&mut s, "label_sector", int_node(self.label_sector as i64));
        push(&mut s, "pe_start", int_node(self.pe_start as i64));
        push(&mut s, "ext_version", int_node(self.ext_version as i64));
        push(&mut s, "ext_flags", int_node(self.ext_flags as i64));
        for (i, (offset, size, ignored)) in self.mdas.iter().enumerate() {
            let mut m = Section::default();
            push(&mut m, "offset", int_node(*offset as i64));
            push(&mut m, "size", int_node(*size as i64));
            push(&mut m, "ignore", int_node(*ignored as i64));
            push(&mut s, &format!("mda{i}"), Node::Section(m));
        }
        s
    }

    pub fn from_section(s: &Section) -> Option<PvMeta> {
        let u = |k| get_int(s, k).filter(|v| *v >= 0).map(|v| v as u64);
        let mut mdas = Vec::new();
        for i in 0.. {
            let Some(m) = get_section(s, &format!("mda{i}")) else {
                break;
            };
            let mu = |k| get_int(m, k).filter(|v| *v >= 0).map(|v| v as u64);
            mdas.push((mu("offset")?, mu("size")?, mu("ignore").unwrap_or(0) != 0));
            if i > 16 {
                break;
            }
        }
        Some(PvMeta {
            id: get_str(s, "id")?.to_string(),
            device: u("device")?,
            device_name: get_str(s, "device_name").unwrap_or_default().to_string(),
            dev_size: u("dev_size").unwrap_or(0),
            label_sector: u("label_sector").unwrap_or(1),
            pe_start: u("pe_start").unwrap_or(0),
            mdas,
            ext_version: u("ext_version").unwrap_or(0) as u32,
            ext_flags: u("ext_flags").unwrap_or(0) as u32,
        })
    }
}

// --- requests ⇄ text ------------------------------------------------------

/// The text of a request.
pub fn encode_request(msg: &Message) -> String {
    let mut s = Section::default();
    push(&mut s, "request", str_node(msg.request.name()));
    if let Some(t) = &msg.token {
        push(&mut s, "token", str_node(t));
    }
    let opt_str = |s: &mut Section, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            push(s, k, str_node(v));
        }
    };
    match &msg.request {
        Request::PvFound {
            pv,
            vgname,
            metadata,
        } => {
            push(&mut s, "pvmeta", Node::Section(pv.to_section()));
            opt_str(&mut s, "vgname", vgname);
            if let Some(m) = metadata {
                push(&mut s, "metadata", Node::Section(m.clone()));
            }
        }
        Request::PvGone { device, uuid } | Request::PvLookup { device, uuid } => {
            if let Some(d) = device {
                push(&mut s, "device", int_node(*d as i64));
            }
            opt_str(&mut s, "uuid", uuid);
        }
        Request::VgUpdate { vgname, metadata } => {
            push(&mut s, "vgname", str_node(vgname));
            push(&mut s, "metadata", Node::Section(metadata.clone()));
        }
        Request::VgRemove { uuid } => push(&mut s, "uuid", str_node(uuid)),
        Request::VgLookup { uuid, name } => {
            opt_str(&mut s, "uuid", uuid);
            opt_str(&mut s, "name", name);
        }
        Request::SetGlobalInfo {
            global_invalid,
            global_disable,
            disable_reason,
        } => {
            if let Some(v) = global_invalid {
                push(&mut s, "global_invalid", int_node(*v as i64));
            }
            if let Some(v) = global_disable {
                push(&mut s, "global_disable", int_node(*v as i64));
            }
            opt_str(&mut s, "disable_reason", disable_reason);
        }
        Request::VgWait {
            uuid,
            name,
            timeout_ms,
        } => {
            opt_str(&mut s, "uuid", uuid);
            opt_str(&mut s, "name", name);
            push(&mut s, "timeout_ms", int_node(*timeout_ms as i64));
        }
        Request::Hello
        | Request::PvClearAll
        | Request::PvList
        | Request::VgList
        | Request::TokenUpdate
        | Request::GetGlobalInfo
        | Request::Dump => {}
    }
    config::print(&s)
}

/// Decode a request's text.
pub fn decode_request(text: &str) -> Result<Message, ProtocolError> {
    let s = config::parse(text).map_err(|e| ProtocolError::Syntax(e.to_string()))?;
    let name = get_str(&s, "request")
        .ok_or(ProtocolError::NoRequest)?
        .to_string();
    let token = get_str(&s, "token").map(str::to_string);
    let field = |f: &'static str| ProtocolError::Field {
        request: name.clone(),
        field: f,
    };
    let ostr = |k: &str| get_str(&s, k).map(str::to_string);
    let odev = || get_int(&s, "device").filter(|v| *v >= 0).map(|v| v as u64);
    let obool = |k: &str| get_int(&s, k).map(|v| v != 0);
    let request = match name.as_str() {
        "hello" => Request::Hello,
        "pv_found" => {
            let pv = get_section(&s, "pvmeta")
                .and_then(PvMeta::from_section)
                .ok_or_else(|| field("pvmeta"))?;
            Request::PvFound {
                pv,
                vgname: ostr("vgname"),
                metadata: get_section(&s, "metadata").cloned(),
            }
        }
        "pv_gone" | "pv_lookup" => {
            let (device, uuid) = (odev(), ostr("uuid"));
            if device.is_none() && uuid.is_none() {
                return Err(field("device"));
            }
            if name == "pv_gone" {
                Request::PvGone { device, uuid }
            } else {
                Request::PvLookup { device, uuid }
            }
        }
        "pv_clear_all" => Request::PvClearAll,
        "pv_list" => Request::PvList,
        "vg_update" => Request::VgUpdate {
            vgname: ostr("vgname").ok_or_else(|| field("vgname"))?,
            metadata: get_section(&s, "metadata")
                .cloned()
                .ok_or_else(|| field("metadata"))?,
        },
        "vg_remove" => Request::VgRemove {
            uuid: ostr("uuid").ok_or_else(|| field("uuid"))?,
        },
        "vg_lookup" => {
            let (uuid, name2) = (ostr("uuid"), ostr("name"));
            if uuid.is_none() && name2.is_none() {
                return Err(field("name"));
            }
            Request::VgLookup { uuid, name: name2 }
        }
        "vg_list" => Request::VgList,
        "token_update" => Request::TokenUpdate,
        "get_global_info" => Request::GetGlobalInfo,
        "set_global_info" => Request::SetGlobalInfo {
            global_invalid: obool("global_invalid"),
            global_disable: obool("global_disable"),
            disable_reason: ostr("disable_reason"),
        },
        "dump" => Request::Dump,
        "vg_wait" => {
            let (uuid, name2) = (ostr("uuid"), ostr("name"));
            if uuid.is_none() && name2.is_none() {
                return Err(field("name"));
            }
            Request::VgWait {
                uuid,
                name: name2,
                timeout_ms: get_int(&s, "timeout_ms")
                    .filter(|v| *v >= 0)
                    .map(|v| v as u64)
                    .unwrap_or(0),
            }
        }
        _ => {
            return Err(ProtocolError::Field {
                request: name,
                field: "request",
            })
        }
    };
    Ok(Message { request, token })
}

// --- replies ----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Ok,
    Failed,
    Unknown,
    TokenMismatch,
}

impl Response {
    pub fn as_str(self) -> &'static str {
        match self {
            Response::Ok => "OK",
            Response::Failed => "failed",
            Response::Unknown => "unknown",
            Response::TokenMismatch => "token_mismatch",
        }
    }

    fn from_str(s: &str) -> Option<Response> {
        Some(match s {
            "OK" => Response::Ok,
            "failed" => Response::Failed,
            "unknown" => Response::Unknown,
            "token_mismatch" => Response::TokenMismatch,
            _ => return None,
        })
    }
}

/// A reply: the response code, a reason when not OK, and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub response: Response,
    pub reason: Option<String>,
    pub body: Section,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply {
            response: Response::Ok,
            reason: None,
            body: Section::default(),
        }
    }

    pub fn with(response: Response, reason: impl Into<String>) -> Reply {
        Reply {
            response,
            reason: Some(reason.into()),
            body: Section::default(),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Reply {
        Reply::with(Response::Failed, reason)
    }

    pub fn push(mut self, key: &str, node: Node) -> Reply {
        push(&mut self.body, key, node);
        self
    }

    pub fn encode(&self) -> String {
        let mut s = Section::default();
        push(&mut s, "response", str_node(self.response.as_str()));
        if let Some(r) = &self.reason {
            push(&mut s, "reason", str_node(r));
        }
        s.items.extend(self.body.items.iter().cloned());
        config::print(&s)
    }

    pub fn decode(text: &str) -> Result<Reply, ProtocolError> {
        let mut s = config::parse(text).map_err(|e| ProtocolError::Syntax(e.to_string()))?;
        let response =
            get_str(&s, "response")
                .and_then(Response::from_str)
                .ok_or(ProtocolError::Field {
                    request: "reply".into(),
                    field: "response",
                })?;
        let reason = get_str(&s, "reason").map(str::to_string);
        s.items.retain(|(k, _)| k != "response" && k != "reason");
        Ok(Reply {
            response,
            reason,
            body: s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(r: Request) {
        let m = Message {
            request: r,
            token: Some("filter:0".into()),
        };
        let text = encode_request(&m);
        assert_eq!(decode_request(&text).unwrap(), m, "{text}");
    }

    #[test]
    fn requests_round_trip() {
        let pv = PvMeta {
            id: "tGrhFe-a9g0-R42A-LQUN-57SK-i0cs-XtkVLu".into(),
            device: 1793,
            device_name: "/dev/loop1".into(),
            dev_size: 1 << 27,
            label_sector: 1,
            pe_start: 1 << 20,
            mdas: vec![(4096, 1044480, false), (66060288, 1048576, true)],
            ext_version: 2,
            ext_flags: 1,
        };
        let mut meta = Section::default();
        push(&mut meta, "seqno", int_node(3));
        roundtrip(Request::PvFound {
            pv,
            vgname: Some("vg \"quoted\"".into()),
            metadata: Some(meta.clone()),
        });
        roundtrip(Request::PvGone {
            device: Some(7),
            uuid: None,
        });
        roundtrip(Request::VgUpdate {
            vgname: "vg".into(),
            metadata: meta,
        });
        roundtrip(Request::VgWait {
            uuid: None,
            name: Some("vg".into()),
            timeout_ms: 1500,
        });
        roundtrip(Request::SetGlobalInfo {
            global_invalid: Some(true),
            global_disable: None,
            disable_reason: Some("duplicate PVs".into()),
        });
        for r in [
            Request::Hello,
            Request::Dump,
            Request::PvList,
            Request::TokenUpdate,
        ] {
            roundtrip(r);
        }
    }

    #[test]
    fn bad_requests_are_named() {
        assert_eq!(
            decode_request("token = \"x\""),
            Err(ProtocolError::NoRequest)
        );
        assert!(matches!(
            decode_request("request = \"nope\""),
            Err(ProtocolError::Field { .. })
        ));
        assert!(matches!(
            decode_request("request = \"pv_found\""),
            Err(ProtocolError::Field {
                field: "pvmeta",
                ..
            })
        ));
        assert!(matches!(
            decode_request("request = {"),
            Err(ProtocolError::Syntax(_))
        ));
    }

    #[test]
    fn replies_round_trip() {
        let r = Reply::failed("VG not found").push("missing", str_node("x"));
        assert_eq!(Reply::decode(&r.encode()).unwrap(), r);
        let t = Reply::with(Response::TokenMismatch, "token mismatch");
        assert_eq!(
            Reply::decode(&t.encode()).unwrap().response,
            Response::TokenMismatch
        );
    }
}
