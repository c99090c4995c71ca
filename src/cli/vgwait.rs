//! vgwait: wait until a volume group is complete (every PV present).
//! Asks lvmetad over D-Bus (`WaitVgComplete`), falling back to the
//! socket's `vg_wait`. Exit 0 when complete; non-zero after the timeout,
//! listing the missing PVs.

use std::time::Duration;

use super::context::Ctx;
use super::CmdError;
use crate::protocol::Request;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The VG to wait for
    #[arg(value_name = "VG")]
    pub vg: String,
    /// Seconds to wait at most
    #[arg(long = "timeout", value_name = "S", default_value_t = 30)]
    pub timeout: u64,
}

async fn over_dbus(name: &str, timeout_ms: u64) -> zbus::Result<(bool, Vec<String>)> {
    let conn = zbus::Connection::system().await?;
    let reply = conn
        .call_method(
            Some("org.lvm.Lvmetad1"),
            "/org/lvm/Lvmetad1",
            Some("org.lvm.Lvmetad1.Manager"),
            "WaitVgComplete",
            &(name, timeout_ms),
        )
        .await?;
    reply.body().deserialize()
}

pub fn run(ctx: &mut Ctx, args: Args) -> Result<(), CmdError> {
    let timeout_ms = Duration::from_secs(args.timeout).as_millis() as u64;
    let (complete, missing) = match zbus::block_on(over_dbus(&args.vg, timeout_ms)) {
        Ok(r) => r,
        Err(e) => {
            log::debug!("D-Bus: {e}; asking lvmetad over its socket");
            let r = ctx.with_lvmetad(|d| {
                d.request(Request::VgWait {
                    uuid: None,
                    name: Some(args.vg.clone()),
                    timeout_ms,
                })
            });
            match r {
                Some(Ok(reply)) => {
                    let complete = crate::protocol::get_int(&reply.body, "complete") == Some(1);
                    let missing = match reply.body.get("missing") {
                        Some(crate::format::config::Node::Value(
                            crate::format::config::Value::Array(a),
                        )) => a
                            .iter()
                            .filter_map(|v| match v {
                                crate::format::config::Value::Str(s) => Some(s.clone()),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    (complete, missing)
                }
                Some(Err(e)) => return Err(CmdError::failed(e.to_string())),
                None => {
                    return Err(CmdError::failed(format!(
                        "lvmetad is not reachable: cannot wait for VG {}",
                        args.vg
                    )))
                }
            }
        }
    };
    if complete {
        return Ok(());
    }
    if missing.is_empty() {
        Err(CmdError::failed(format!(
            "Volume group \"{}\" not found after {} s.",
            args.vg, args.timeout
        )))
    } else {
        Err(CmdError::failed(format!(
            "Volume group \"{}\" is incomplete after {} s; missing PVs: {}",
            args.vg,
            args.timeout,
            missing.join(", ")
        )))
    }
}
