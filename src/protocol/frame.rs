//! Framing of the lvmetad socket protocol, as lvm2 2.02's lvmetad framed
//! it: each message is config-tree text ending with `"\n##\n"`.
//!
//! The decoder is a pure buffer: bytes go in as they arrive, whole frames
//! come out. It bounds the size of a message so a client that never sends
//! the terminator cannot make the daemon buffer without limit.

use thiserror::Error;

pub const TERMINATOR: &[u8] = b"\n##\n";

/// The largest message accepted. lvm2 metadata areas hold at most ~512 KiB
/// of text per copy by default; a VG can be configured larger, so leave
/// ample room while still bounding memory per client.
pub const MAX_FRAME: usize = 32 << 20;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("message larger than {max} bytes without a terminator")]
    TooLarge { max: usize },
    #[error("message is not valid UTF-8")]
    NotUtf8,
}

/// Accumulates bytes and splits off complete frames.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// How far the terminator search already looked (no rescans).
    scanned: usize,
    max: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(MAX_FRAME)
    }
}

impl Decoder {
    pub fn new(max: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            scanned: 0,
            max,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame (without its terminator), if there is one.
    pub fn next_frame(&mut self) -> Result<Option<String>, FrameError> {
        let start = self.scanned.saturating_sub(TERMINATOR.len() - 1);
        let found = self.buf[start..]
            .windows(TERMINATOR.len())
            .position(|w| w == TERMINATOR)
            .map(|p| p + start);
        match found {
            Some(end) => {
                let frame: Vec<u8> = self.buf.drain(..end + TERMINATOR.len()).collect();
                self.scanned = 0;
                String::from_utf8(frame[..end].to_vec())
                    .map(Some)
                    .map_err(|_| FrameError::NotUtf8)
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max {
                    Err(FrameError::TooLarge { max: self.max })
                } else {
                    Ok(None)
                }
            }
        }
    }
}

/// A message ready to send: the text and the terminator.
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + TERMINATOR.len() + 1);
    out.extend_from_slice(text.as_bytes());
    if !text.ends_with('\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(b"##\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_and_back_to_back() {
        let mut d = Decoder::default();
        d.push(b"request = \"hello\"\n#");
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(b"#\nrequest = \"dump\"\n##\nrest");
        assert_eq!(d.next_frame().unwrap().unwrap(), "request = \"hello\"");
        assert_eq!(d.next_frame().unwrap().unwrap(), "request = \"dump\"");
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.pending(), 4);
    }

    #[test]
    fn oversized_and_binary_messages_are_refused() {
        let mut d = Decoder::new(16);
        d.push(&[b'x'; 17]);
        assert_eq!(d.next_frame(), Err(FrameError::TooLarge { max: 16 }));
        let mut d = Decoder::new(64);
        d.push(b"\xff\xfe\n##\n");
        assert_eq!(d.next_frame(), Err(FrameError::NotUtf8));
    }

    #[test]
    fn encode_terminates() {
        assert_eq!(encode("a = 1"), b"a = 1\n##\n");
        assert_eq!(encode("a = 1\n"), b"a = 1\n##\n");
    }
}
