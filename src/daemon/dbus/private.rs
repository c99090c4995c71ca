//! A peer-to-peer zbus connection to systemd's private socket
//! (`/run/systemd/private`).
//!
//! systemd names itself on every direct connection: its `bus_on_connection`
//! calls `sd_bus_set_sender(bus, "org.freedesktop.systemd1")`, so every
//! message it sends there (method returns, errors, and the `UnitNew`,
//! `JobNew`, `JobRemoved`, `PropertiesChanged` signals it sends to every
//! direct connection unconditionally) carries a SENDER header field holding
//! a *well-known* name. zbus checks that field as a unique name and takes a
//! message failing the check as a broken socket: every pending call fails
//! with "Invalid unique name" and the connection closes, so a StartUnit
//! either loses its reply or, when a signal about some other unit comes in
//! first, is never sent at all.
//!
//! The sender field means nothing on a peer-to-peer connection (there is one
//! peer), so this socket drops it from every message systemd sends before
//! zbus parses it. The SASL handshake (EXTERNAL, as root) is done here, and
//! the connection is built on the authenticated socket.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use zbus::connection::socket::{ReadHalf, Socket, Split, WriteHalf};
use zbus::export::async_trait::async_trait;
use zbus::Connection;

/// D-Bus's limit on a whole message (2^27 bytes).
const MAX_MESSAGE: usize = 1 << 27;
/// The fixed part of every header: byte order, type, flags, version, body
/// length, serial, and the length of the header fields array.
const FIXED: usize = 16;
const SENDER_FIELD: u8 = 7;

/// Connect to systemd's private socket at `path` and build a p2p
/// connection on it.
pub(super) async fn connect(path: &Path) -> zbus::Result<Connection> {
    let mut stream = UnixStream::connect(path).await?;
    let guid = authenticate(&mut stream).await?;
    let (r, w) = stream.into_split();
    let socket = Private {
        read: Reader {
            stream: r,
            ready: Vec::new(),
            pos: 0,
        },
        write: Writer(w),
    };
    zbus::connection::Builder::authenticated_socket(socket, guid.as_str())
        .p2p()
        .build()
        .await
}

/// The client side of the SASL handshake: EXTERNAL with our uid, which the
/// server checks against the socket's peer credentials. Returns the server
/// GUID from its `OK`.
async fn authenticate(stream: &mut UnixStream) -> zbus::Result<String> {
    let uid = unsafe { libc::geteuid() }.to_string();
    let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
    stream
        .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())
        .await?;
    let line = read_line(stream).await?;
    let guid = match line.strip_prefix("OK ") {
        Some(g) => g.trim().to_string(),
        None => {
            return Err(zbus::Error::Handshake(format!(
                "systemd's private socket refused EXTERNAL authentication: {line}"
            )))
        }
    };
    stream.write_all(b"BEGIN\r\n").await?;
    Ok(guid)
}

/// One `\r\n`-terminated handshake line, read a byte at a time so that
/// nothing after it is consumed.
async fn read_line(stream: &mut UnixStream) -> io::Result<String> {
    let mut line = Vec::new();
    loop {
        let b = stream.read_u8().await?;
        line.push(b);
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        if line.len() > 4096 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "handshake line too long",
            ));
        }
    }
}

#[derive(Debug)]
struct Private {
    read: Reader,
    write: Writer,
}

impl Socket for Private {
    type ReadHalf = Reader;
    type WriteHalf = Writer;

    fn split(self) -> Split<Reader, Writer> {
        Split::new(self.read, self.write)
    }
}

/// Reads whole messages, drops their sender field, and hands the bytes on.
#[derive(Debug)]
struct Reader {
    stream: OwnedReadHalf,
    /// The current message, sender field removed; `pos` bytes of it were
    /// handed out already.
    ready: Vec<u8>,
    pos: usize,
}

impl Reader {
    /// The next whole message from the socket, or None at a clean EOF.
    async fn next_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut fixed = [0u8; FIXED];
        let mut got = 0;
        while got < FIXED {
            let n = self.stream.read(&mut fixed[got..]).await?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        let total = message_len(&fixed)?;
        let mut msg = Vec::with_capacity(total);
        msg.extend_from_slice(&fixed);
        msg.resize(total, 0);
        self.stream.read_exact(&mut msg[FIXED..]).await?;
        Ok(Some(drop_sender(msg)))
    }
}

#[async_trait]
impl ReadHalf for Reader {
    async fn recvmsg(&mut self, buf: &mut [u8]) -> io::Result<(usize, Vec<std::os::fd::OwnedFd>)> {
        if self.pos == self.ready.len() {
            match self.next_message().await? {
                Some(m) => {
                    self.ready = m;
                    self.pos = 0;
                }
                None => return Ok((0, vec![])),
            }
        }
        let n = buf.len().min(self.ready.len() - self.pos);
        buf[..n].copy_from_slice(&self.ready[self.pos..self.pos + n]);
        self.pos += n;
        Ok((n, vec![]))
    }
}

#[derive(Debug)]
struct Writer(OwnedWriteHalf);

#[async_trait]
impl WriteHalf for Writer {
    async fn sendmsg(&mut self, buffer: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        if !fds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no file descriptor passing on systemd's private socket",
            ));
        }
        self.0.write(buffer).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.0.flush().await
    }

    async fn close(&mut self) -> io::Result<()> {
        self.0.shutdown().await
    }
}

fn read_u32(little: bool, b: &[u8]) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if little {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn little_endian(fixed: &[u8]) -> io::Result<bool> {
    match fixed[0] {
        b'l' => Ok(true),
        b'B' => Ok(false),
        b => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a D-Bus message (byte order {b:#04x})"),
        )),
    }
}

/// The length of the whole message whose fixed header is `fixed`.
fn message_len(fixed: &[u8; FIXED]) -> io::Result<usize> {
    let le = little_endian(fixed)?;
    let body = read_u32(le, &fixed[4..8]) as usize;
    let fields = read_u32(le, &fixed[12..16]) as usize;
    let total = align8(FIXED + fields)
        .checked_add(body)
        .filter(|t| *t <= MAX_MESSAGE)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "D-Bus message too long"))?;
    Ok(total)
}

/// `msg` without its SENDER header field (unchanged when it has none, or
/// when its fields cannot be walked: zbus then reports what is wrong).
pub(crate) fn drop_sender(mut msg: Vec<u8>) -> Vec<u8> {
    let Some((start, end, last, prev_end)) = sender_field(&msg) else {
        return msg;
    };
    let Ok(le) = little_endian(&msg) else {
        return msg;
    };
    let fields_len = read_u32(le, &msg[12..16]) as usize;
    let fields_end = FIXED + fields_len;
    // A field in the middle: the next one starts on the 8-byte boundary
    // after it, so cutting up to there keeps every later offset aligned. The
    // last field: the fields now end where the one before it ended, and the
    // cut goes up to the body, which then starts at `start` (8-aligned, the
    // padding before it kept).
    let (cut_end, new_fields_len) = if last {
        (align8(fields_end), prev_end - FIXED)
    } else {
        (align8(end), fields_len - (align8(end) - start))
    };
    msg.drain(start..cut_end);
    let n = new_fields_len as u32;
    let bytes = if le { n.to_le_bytes() } else { n.to_be_bytes() };
    msg[12..16].copy_from_slice(&bytes);
    msg
}

/// Where the sender field lies: (start, end after its value, whether it is
/// the last field, end of the field before it).
fn sender_field(msg: &[u8]) -> Option<(usize, usize, bool, usize)> {
    let le = little_endian(msg.get(..FIXED)?).ok()?;
    let fields_end = FIXED + read_u32(le, &msg[12..16]) as usize;
    if fields_end > msg.len() {
        return None;
    }
    let mut p = FIXED;
    let mut prev_end = FIXED;
    while p < fields_end {
        let code = msg[p];
        // The variant's signature: one single-character type.
        if msg.get(p + 1) != Some(&1) || msg.get(p + 3) != Some(&0) {
            return None;
        }
        let v = p + 4;
        let end = match msg.get(p + 2)? {
            b's' | b'o' => {
                let len = read_u32(le, msg.get(v..v + 4)?) as usize;
                v + 4 + len + 1
            }
            b'g' => v + 1 + *msg.get(v)? as usize + 1,
            b'u' => v + 4,
            _ => return None,
        };
        if end > fields_end {
            return None;
        }
        if code == SENDER_FIELD {
            return Some((p, end, align8(end) >= fields_end, prev_end));
        }
        prev_end = end;
        p = align8(end);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message as systemd sends it on its private socket: built by zbus,
    /// then given a sender field holding a well-known name, as the first
    /// field or the last.
    fn with_wellknown_sender(msg: &zbus::Message, first: bool) -> Vec<u8> {
        let b = msg.data().to_vec();
        let le = b[0] == b'l';
        let fields_len = read_u32(le, &b[12..16]) as usize;
        let fields_end = FIXED + fields_len;
        let body = b[align8(fields_end)..].to_vec();
        let name = b"org.freedesktop.systemd1";
        let mut field = vec![SENDER_FIELD, 1, b's', 0];
        let n = name.len() as u32;
        field.extend(if le { n.to_le_bytes() } else { n.to_be_bytes() });
        field.extend_from_slice(name);
        field.push(0);
        let mut fields = Vec::new();
        if first {
            fields.extend_from_slice(&field);
            fields.resize(align8(fields.len()), 0);
            fields.extend_from_slice(&b[FIXED..fields_end]);
        } else {
            fields.extend_from_slice(&b[FIXED..fields_end]);
            fields.resize(align8(fields.len()), 0);
            fields.extend_from_slice(&field);
        }
        let mut out = b[..12].to_vec();
        let n = fields.len() as u32;
        out.extend(if le { n.to_le_bytes() } else { n.to_be_bytes() });
        out.extend_from_slice(&fields);
        out.resize(align8(out.len()), 0);
        out.extend_from_slice(&body);
        out
    }

    fn parse(bytes: Vec<u8>) -> zbus::Result<zbus::Message> {
        let endian = if bytes[0] == b'l' {
            zbus::wire::Endian::Little
        } else {
            zbus::wire::Endian::Big
        };
        let ctxt = zbus::wire::serialized::Context::new(endian, 0);
        // SAFETY: test data; from_bytes checks the header.
        unsafe { zbus::Message::from_bytes(zbus::wire::serialized::Data::new(bytes, ctxt)) }
    }

    #[test]
    fn a_wellknown_sender_is_dropped_wherever_it_is() {
        let call = zbus::Message::method_call("/org/freedesktop/systemd1", "StartUnit")
            .destination("org.freedesktop.systemd1")
            .interface("org.freedesktop.systemd1.Manager")
            .build(&("lvm-activate@vg.service", "replace"))
            .unwrap();
        let reply = zbus::Message::method_return(&call.header())
            .build(&(zbus::ObjectPath::try_from("/org/freedesktop/systemd1/job/7").unwrap(),))
            .unwrap();
        let signal = zbus::Message::signal(
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "UnitNew",
        )
        .build(&("dev-vdg.device", zbus::ObjectPath::try_from("/u").unwrap()))
        .unwrap();
        for msg in [&reply, &signal] {
            for first in [true, false] {
                let raw = with_wellknown_sender(msg, first);
                // What zbus does with systemd's message as it is.
                let e = parse(raw.clone()).unwrap_err();
                assert!(e.to_string().contains("Invalid unique name"), "{e}");
                let m = parse(drop_sender(raw)).unwrap();
                assert!(m.header().sender().is_none());
                assert_eq!(m.header().member(), msg.header().member());
                assert_eq!(m.header().reply_serial(), msg.header().reply_serial());
                assert_eq!(m.body().signature(), msg.body().signature());
                assert_eq!(&m.data()[..], &msg.data()[..], "first={first}");
            }
        }
        // Without a sender field: untouched.
        assert_eq!(drop_sender(reply.data().to_vec()), reply.data().to_vec());
        // Garbage: untouched, never a panic.
        assert_eq!(drop_sender(vec![b'l'; 20]), vec![b'l'; 20]);
        assert_eq!(drop_sender(vec![]), Vec::<u8>::new());
    }
}
