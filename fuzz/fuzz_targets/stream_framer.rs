//! Feeds a byte stream to `StreamFramer` twice: in one read, and cut into reads
//! whose sizes come from the first bytes of the input. When the stream frames
//! without error, both runs must yield the same frames, and every message
//! frame must start with something other than a line end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::framing::{Frame, StreamFramer};
use sip::message::Message;

/// Frames `stream` delivered as `reads`; `Err` once the framer gives up.
fn frames<'a>(reads: impl Iterator<Item = &'a [u8]>) -> Result<Vec<Frame>, String> {
    let mut framer = StreamFramer::with_max_message(4096);
    let mut out = Vec::new();
    for read in reads {
        framer.push(read);
        while let Some(frame) = framer.next_frame().map_err(|e| e.detail)? {
            out.push(frame);
        }
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut_count, rest)) = data.split_first() else {
        return;
    };
    let cut_count = usize::from(cut_count % 16);
    if rest.len() < cut_count {
        return;
    }
    let (sizes, stream) = rest.split_at(cut_count);
    let whole = frames(std::iter::once(stream));
    let mut pieces = Vec::new();
    let mut at = 0;
    for size in sizes {
        let end = (at + usize::from(*size)).min(stream.len());
        pieces.push(&stream[at..end]);
        at = end;
    }
    pieces.push(&stream[at..]);
    let split = frames(pieces.into_iter());
    if let (Ok(whole), Ok(split)) = (&whole, &split) {
        assert_eq!(whole, split, "framing depended on read boundaries");
        for frame in whole {
            if let Frame::Message(bytes) = frame {
                assert!(!bytes.starts_with(b"\r") && !bytes.starts_with(b"\n"));
                let _ = Message::parse(bytes);
            }
        }
    }
});
