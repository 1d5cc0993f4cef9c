//! The frame decoder (`FrameCodec`): the input is read in pieces whose sizes come from its first
//! bytes. Invariants: the frames do not depend on how the bytes were cut into reads; a message
//! frame is never empty, holds no CR or LF and is no longer than the limit; end of stream leaves
//! nothing buffered.

use bytes::BytesMut;
use sip2auth::sip2::{Frame, FrameCodec};
use tokio_util::codec::Decoder;

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&limit, rest)) = data.split_first() else {
        return;
    };
    let Some((&cut, stream)) = rest.split_first() else {
        return;
    };
    // Small limits reach the oversized paths with small inputs.
    let max_frame_bytes = usize::from(limit % 64) + 1;
    let whole = decode(stream, max_frame_bytes, &[stream.len().max(1)]);
    let pieces: Vec<usize> = stream
        .iter()
        .map(|b| usize::from((b ^ cut) % 7) + 1)
        .collect();
    let cut_up = decode(stream, max_frame_bytes, &pieces);
    assert_eq!(whole, cut_up, "frames depend on how the input was read");
    for frame in &whole {
        if let Frame::Message(bytes) = frame {
            assert!(!bytes.is_empty(), "empty message frame");
            assert!(
                !bytes.contains(&b'\r') && !bytes.contains(&b'\n'),
                "terminator in a frame"
            );
            assert!(bytes.len() <= max_frame_bytes, "frame over the limit");
        }
    }
}

/// Feeds `stream` in reads of the sizes in `pieces` (cycled), then ends the stream.
fn decode(stream: &[u8], max_frame_bytes: usize, pieces: &[usize]) -> Vec<Frame> {
    let mut codec = FrameCodec::new(max_frame_bytes);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut at = 0;
    let mut sizes = pieces.iter().cycle();
    while at < stream.len() {
        let size = sizes.next().copied().unwrap_or(1);
        let end = (at + size).min(stream.len());
        buf.extend_from_slice(&stream[at..end]);
        at = end;
        while let Some(frame) = codec.decode(&mut buf).expect("decoding never fails") {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("decoding never fails") {
        frames.push(frame);
    }
    assert!(buf.is_empty(), "bytes left buffered at end of stream");
    frames
}
