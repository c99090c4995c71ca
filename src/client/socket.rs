//! A blocking connection to lvmetad's Unix stream socket: one request out,
//! one reply back, framed as [`crate::protocol::frame`] says.
//!
//! Every error names the socket, so "failed to connect to lvmetad at
//! /run/lvm/lvmetad.socket: No such file or directory" tells the admin
//! which daemon and which setting to look at.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::protocol::frame::{self, Decoder, FrameError};
use crate::protocol::{encode_request, Message, ProtocolError, Reply, Response};

/// How long one request may take, send and reply together, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("failed to connect to lvmetad at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("lvmetad at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("lvmetad at {path} did not answer within {secs} seconds")]
    Timeout { path: PathBuf, secs: u64 },
    #[error("lvmetad at {path} closed the connection before replying")]
    Closed { path: PathBuf },
    #[error("lvmetad at {path} sent a malformed reply: {why}")]
    BadReply { path: PathBuf, why: String },
    #[error("lvmetad at {path}: request {request} gave response \"{response}\": {reason}")]
    Refused {
        path: PathBuf,
        request: String,
        response: String,
        reason: String,
    },
    #[error(
        "lvmetad at {path} still refuses the token \"{token}\" after a rescan \
         (another client with a different device filter keeps rescanning?)"
    )]
    TokenMismatch { path: PathBuf, token: String },
    #[error("lvmetad at {path} is still being updated by another command after {secs} seconds")]
    UpdateInProgress { path: PathBuf, secs: u64 },
}

impl ClientError {
    /// The socket the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ClientError::Connect { path, .. }
            | ClientError::Io { path, .. }
            | ClientError::Timeout { path, .. }
            | ClientError::Closed { path }
            | ClientError::BadReply { path, .. }
            | ClientError::Refused { path, .. }
            | ClientError::TokenMismatch { path, .. }
            | ClientError::UpdateInProgress { path, .. } => path,
        }
    }

    /// Whether the daemon could not be reached at all (as opposed to a
    /// daemon that answered something wrong).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Connect { .. })
    }
}

/// One open connection to the daemon.
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    path: PathBuf,
    decoder: Decoder,
    timeout: Duration,
}

impl Connection {
    /// Connect to the socket at `path`; `timeout` bounds every later send
    /// and every wait for a reply (a zero timeout means none).
    pub fn connect(path: &Path, timeout: Duration) -> Result<Connection, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let t = (!timeout.is_zero()).then_some(timeout);
        let io = |source| ClientError::Io {
            path: path.to_path_buf(),
            source,
        };
        stream.set_read_timeout(t).map_err(io)?;
        stream.set_write_timeout(t).map_err(io)?;
        Ok(Connection {
            stream,
            path: path.to_path_buf(),
            decoder: Decoder::default(),
            timeout,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Send one request and wait for its reply.
    pub fn request(&mut self, msg: &Message) -> Result<Reply, ClientError> {
        let text = self.request_text(&encode_request(msg))?;
        Reply::decode(&text).map_err(|e| self.bad_reply(e))
    }

    /// Send raw request text (without terminator) and return the raw reply
    /// text: for tools and tests that speak the protocol by hand.
    pub fn request_text(&mut self, text: &str) -> Result<String, ClientError> {
        let bytes = frame::encode(text);
        self.stream
            .write_all(&bytes)
            .map_err(|e| self.io_error(e))?;
        self.read_frame()
    }

    fn read_frame(&mut self) -> Result<String, ClientError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.decoder.next_frame() {
                Ok(Some(text)) => return Ok(text),
                Ok(None) => {}
                Err(e @ FrameError::TooLarge { .. }) | Err(e @ FrameError::NotUtf8) => {
                    return Err(ClientError::BadReply {
                        path: self.path.clone(),
                        why: e.to_string(),
                    })
                }
            }
            let n = self.stream.read(&mut buf).map_err(|e| self.io_error(e))?;
            if n == 0 {
                return Err(ClientError::Closed {
                    path: self.path.clone(),
                });
            }
            self.decoder.push(&buf[..n]);
        }
    }

    fn io_error(&self, e: std::io::Error) -> ClientError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout {
                path: self.path.clone(),
                secs: self.timeout.as_secs(),
            },
            _ => ClientError::Io {
                path: self.path.clone(),
                source: e,
            },
        }
    }

    fn bad_reply(&self, e: ProtocolError) -> ClientError {
        ClientError::BadReply {
            path: self.path.clone(),
            why: e.to_string(),
        }
    }
}

/// A reply that must be `OK`, else an error naming the request and the
/// daemon's reason.
pub fn expect_ok(path: &Path, request: &str, reply: Reply) -> Result<Reply, ClientError> {
    if reply.response == Response::Ok {
        Ok(reply)
    } else {
        Err(ClientError::Refused {
            path: path.to_path_buf(),
            request: request.to_string(),
            response: reply.response.as_str().to_string(),
            reason: reply.reason.unwrap_or_else(|| "no reason given".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Request;
    use std::os::unix::net::UnixListener;

    fn serve_once(
        listener: UnixListener,
        answer: &'static [u8],
    ) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut d = Decoder::default();
            let mut buf = [0u8; 4096];
            let req = loop {
                if let Some(f) = d.next_frame().unwrap() {
                    break f;
                }
                let n = s.read(&mut buf).unwrap();
                d.push(&buf[..n]);
            };
            // Split the answer across writes to exercise the decoder.
            for chunk in answer.chunks(3) {
                s.write_all(chunk).unwrap();
            }
            req
        })
    }

    #[test]
    fn one_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let h = serve_once(listener, b"response = \"OK\"\nx = 1\n##\n");
        let mut c = Connection::connect(&path, DEFAULT_TIMEOUT).unwrap();
        let reply = c
            .request(&Message {
                request: Request::Hello,
                token: Some("filter:1".into()),
            })
            .unwrap();
        assert_eq!(reply.response, Response::Ok);
        let sent = h.join().unwrap();
        assert!(
            sent.contains("request = \"hello\"") && sent.contains("filter:1"),
            "{sent}"
        );
    }

    #[test]
    fn errors_name_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.socket");
        let e = Connection::connect(&path, DEFAULT_TIMEOUT).unwrap_err();
        assert!(e.is_unreachable());
        assert!(e.to_string().contains("nope.socket"), "{e}");

        let path = dir.path().join("garbage.socket");
        let h = serve_once(
            UnixListener::bind(&path).unwrap(),
            b"this is { not a reply\n##\n",
        );
        let mut c = Connection::connect(&path, DEFAULT_TIMEOUT).unwrap();
        let e = c
            .request(&Message {
                request: Request::Hello,
                token: None,
            })
            .unwrap_err();
        assert!(matches!(e, ClientError::BadReply { .. }), "{e}");
        assert!(e.to_string().contains("garbage.socket"), "{e}");
        h.join().unwrap();
    }

    #[test]
    fn a_silent_daemon_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.socket");
        let listener = UnixListener::bind(&path).unwrap();
        let mut c = Connection::connect(&path, Duration::from_millis(100)).unwrap();
        let (_held, _) = listener.accept().unwrap();
        let e = c
            .request(&Message {
                request: Request::Hello,
                token: None,
            })
            .unwrap_err();
        assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
    }
}
