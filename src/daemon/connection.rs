//! One client connection: read framed requests, answer each in order.
//!
//! A client that sends garbage gets a `failed` reply naming the problem and
//! may go on; one that sends a message over the size bound, or stalls in
//! the middle of a message, is dropped. Either way the other clients are
//! never blocked: every connection is its own task, and the shared state is
//! only locked while a request is being applied, never while waiting on a
//! socket.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::shared::Shared;
use crate::protocol::frame::{encode, Decoder, FrameError};
use crate::protocol::{decode_request, Reply, Request};

/// How long a client may take to finish a message it has started.
pub const PARTIAL_MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle connection (no message in progress) is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn serve(mut stream: UnixStream, shared: std::sync::Arc<Shared>, max_frame: usize) {
    // The client's pid (for the token protocol's "update in progress by"),
    // from the kernel rather than from anything the client says.
    let pid = stream
        .peer_cred()
        .ok()
        .and_then(|c| c.pid())
        .map(i64::from)
        .unwrap_or(0);
    let mut decoder = Decoder::new(max_frame);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Answer every complete message already buffered.
        loop {
            match decoder.next_frame() {
                Ok(Some(text)) => {
                    let reply = handle_text(&shared, &text, pid).await;
                    if stream.write_all(&encode(&reply.encode())).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e @ FrameError::TooLarge { .. }) => {
                    log::warn!("dropping client: {e}");
                    let _ = stream
                        .write_all(&encode(&Reply::failed(e.to_string()).encode()))
                        .await;
                    return;
                }
                Err(e) => {
                    // Not UTF-8: answer and carry on with the next message.
                    let _ = stream
                        .write_all(&encode(&Reply::failed(e.to_string()).encode()))
                        .await;
                }
            }
        }
        let limit = if decoder.pending() > 0 {
            PARTIAL_MESSAGE_TIMEOUT
        } else {
            IDLE_TIMEOUT
        };
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => decoder.push(&buf[..n]),
            Err(_) => {
                if decoder.pending() > 0 {
                    log::warn!("dropping client: message incomplete after {limit:?}");
                }
                return;
            }
        }
    }
}

async fn handle_text(shared: &Shared, text: &str, pid: i64) -> Reply {
    let msg = match decode_request(text) {
        Ok(m) => m,
        Err(e) => return Reply::failed(e.to_string()),
    };
    if let Request::VgWait { .. } = msg.request {
        return super::wait::vg_wait(shared, msg, pid).await;
    }
    shared.apply(msg, pid)
}
