//! Framing of the SIP2 byte stream (PROTOCOL.md §1.3): a message ends at CR or LF; empty frames
//! (the LF of a CRLF, blank lines, leading LFs) are skipped. Several messages in one read and one
//! message over many reads both work, and bytes after a terminator stay buffered for the next
//! frame. Frames longer than `max_frame_bytes` are reported once as `Frame::Oversized`, as soon as
//! the limit is crossed, and then discarded up to the next terminator without being buffered.
//!
//! The codec only frames: checksums and parsing are the session's job. At end of stream an
//! unterminated partial message is dropped (it is not a frame).
//!
//! Owns: `FrameCodec` and `Frame`. Must not import anything from the crate outside `sip2`.

use bytes::{Buf, Bytes, BytesMut};
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// Default maximum frame size: 16 KiB.
pub(crate) const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024;

/// One framed unit of the input stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A message, without its terminator (never empty).
    Message(Bytes),
    /// A message longer than the limit (its bytes were discarded).
    Oversized,
}

/// CR/LF/CRLF framer with a size cap.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame_bytes: usize,
    /// Bytes of the buffer already searched for a terminator.
    scanned: usize,
    /// Inside an oversized frame: drop bytes until the next terminator.
    discarding: bool,
}

impl FrameCodec {
    /// A framer that reports frames longer than `max_frame_bytes` as oversized.
    pub fn new(max_frame_bytes: usize) -> FrameCodec {
        FrameCodec {
            max_frame_bytes,
            scanned: 0,
            discarding: false,
        }
    }
}

impl Default for FrameCodec {
    fn default() -> FrameCodec {
        FrameCodec::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

fn is_terminator(b: &u8) -> bool {
    *b == b'\r' || *b == b'\n'
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        if self.discarding {
            match src.iter().position(is_terminator) {
                Some(pos) => {
                    src.advance(pos);
                    self.discarding = false;
                }
                None => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
        let skip = src.iter().take_while(|b| is_terminator(b)).count();
        if skip > 0 {
            src.advance(skip);
            self.scanned = 0;
        }
        let from = self.scanned.min(src.len());
        match src[from..].iter().position(is_terminator) {
            Some(p) => {
                let frame = src.split_to(from + p).freeze();
                src.advance(1);
                self.scanned = 0;
                if frame.len() > self.max_frame_bytes {
                    return Ok(Some(Frame::Oversized));
                }
                Ok(Some(Frame::Message(frame)))
            }
            None if src.len() > self.max_frame_bytes => {
                src.clear();
                self.scanned = 0;
                self.discarding = true;
                Ok(Some(Frame::Oversized))
            }
            None => {
                self.scanned = src.len();
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        let frame = self.decode(src)?;
        if frame.is_none() {
            src.clear();
            self.scanned = 0;
        }
        Ok(frame)
    }
}

/// Writes already-encoded bytes (message plus terminator) unchanged.
impl<T: AsRef<[u8]>> Encoder<T> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), io::Error> {
        dst.extend_from_slice(item.as_ref());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(codec: &mut FrameCodec, buf: &mut BytesMut) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = codec.decode(buf).unwrap() {
            out.push(f);
        }
        out
    }

    fn msg(s: &str) -> Frame {
        Frame::Message(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn crlf_lf_and_cr_each_end_one_message() {
        let mut c = FrameCodec::default();
        let mut b = BytesMut::from(&b"a\r\nb\nc\r"[..]);
        assert_eq!(frames(&mut c, &mut b), [msg("a"), msg("b"), msg("c")]);
    }

    #[test]
    fn bytes_after_a_terminator_are_kept_for_the_next_frame() {
        let mut c = FrameCodec::default();
        let mut b = BytesMut::from(&b"one\rtw"[..]);
        assert_eq!(frames(&mut c, &mut b), [msg("one")]);
        b.extend_from_slice(b"o\r");
        assert_eq!(frames(&mut c, &mut b), [msg("two")]);
    }

    #[test]
    fn leading_lf_and_blank_lines_are_skipped() {
        let mut c = FrameCodec::default();
        let mut b = BytesMut::from(&b"\n\r\n\rx\r\r\n"[..]);
        assert_eq!(frames(&mut c, &mut b), [msg("x")]);
        assert!(b.is_empty());
    }

    #[test]
    fn oversized_frame_is_reported_once_and_discarded_without_buffering() {
        let mut c = FrameCodec::new(8);
        let mut b = BytesMut::from(&b"0123456789"[..]);
        assert_eq!(frames(&mut c, &mut b), [Frame::Oversized]);
        assert!(b.is_empty());
        b.extend_from_slice(b"more junk");
        assert_eq!(frames(&mut c, &mut b), []);
        assert!(b.is_empty());
        b.extend_from_slice(b"tail\rok\r");
        assert_eq!(frames(&mut c, &mut b), [msg("ok")]);
    }

    #[test]
    fn oversized_frame_arriving_whole_is_reported() {
        let mut c = FrameCodec::new(4);
        let mut b = BytesMut::from(&b"123456\rok\r"[..]);
        assert_eq!(frames(&mut c, &mut b), [Frame::Oversized, msg("ok")]);
    }

    #[test]
    fn unterminated_tail_is_dropped_at_end_of_stream() {
        let mut c = FrameCodec::default();
        let mut b = BytesMut::from(&b"partial"[..]);
        assert_eq!(c.decode_eof(&mut b).unwrap(), None);
        assert!(b.is_empty());
    }

    #[test]
    fn encoder_writes_bytes_unchanged() {
        let mut c = FrameCodec::default();
        let mut dst = BytesMut::new();
        c.encode(&b"941\r"[..], &mut dst).unwrap();
        assert_eq!(&dst[..], b"941\r");
    }
}
