//! `vg_wait`: block until a VG is complete, or until the timeout, then say
//! which PVs are still missing. The design's "command that blocks until a
//! volume group is complete"; lvm2 never had it.

use std::time::Duration;

use super::shared::Shared;
use crate::cache::{Completion, VgRef};
use crate::protocol::{str_node, Message, Reply, Request};

/// The longest a client may ask to wait.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

pub async fn vg_wait(shared: &Shared, msg: Message, pid: i64) -> Reply {
    let Request::VgWait {
        uuid,
        name,
        timeout_ms,
    } = &msg.request
    else {
        return Reply::failed("not a vg_wait request");
    };
    // The token is checked like any other request's.
    if let Some(r) = shared.with_cache(|c| super::handler::token_refusal(c, &msg, pid)) {
        return r;
    }
    let Some(vg) = VgRef::from_options(uuid.as_deref(), name.as_deref()) else {
        return Reply::failed("vg_wait needs a VG name or uuid");
    };
    let what = name.clone().or(uuid.clone()).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(*timeout_ms).min(MAX_WAIT);
    // Subscribe before looking, so a change between the look and the wait
    // is not lost.
    let mut changes = shared.subscribe_changes();
    loop {
        let state = shared.with_cache(|c| c.completion(vg));
        let missing = match state {
            Ok(Completion::Complete) => {
                return Reply::ok().push("complete", crate::protocol::int_node(1))
            }
            Ok(Completion::Incomplete { missing }) => missing,
            // Not seen yet: it may still appear.
            Ok(Completion::Unknown) | Err(_) => Vec::new(),
        };
        let timed_out = tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err();
        if timed_out {
            let list = crate::format::config::Node::Value(crate::format::config::Value::Array(
                missing
                    .iter()
                    .map(|m| crate::format::config::Value::Str(m.clone()))
                    .collect(),
            ));
            let reason = if missing.is_empty() {
                format!("timed out: VG {what} has not been seen")
            } else {
                format!("timed out: VG {what} is missing PVs {}", missing.join(", "))
            };
            return Reply::failed(reason)
                .push("complete", crate::protocol::int_node(0))
                .push("missing", list)
                .push("vg", str_node(what));
        }
    }
}
