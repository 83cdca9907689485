//! WebSocket framing (RFC 6455), hand-written for the hot path: the load generator parses the
//! headers of server frames in place without copying payloads, and writes masked client frames;
//! the floor server writes unmasked server frames.

use thiserror::Error;

/// Opcode of a continuation frame.
pub const OP_CONTINUATION: u8 = 0x0;
/// Opcode of a text frame.
pub const OP_TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Opcode of a close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Opcode of a ping frame.
pub const OP_PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const OP_PONG: u8 = 0xA;

/// The largest payload the load generator accepts; anything bigger means the stream is not what
/// it expects (no benchmark message comes near it).
pub const MAX_PAYLOAD: u64 = 16 * 1024 * 1024;

/// Why a byte stream is not a valid sequence of frames.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// The payload length is above [`MAX_PAYLOAD`].
    #[error("websocket frame payload of {0} bytes is above the {MAX_PAYLOAD}-byte limit")]
    TooLarge(u64),
    /// A reserved bit is set (no extension was negotiated).
    #[error("websocket frame with reserved bits set (no extension was negotiated)")]
    Reserved,
}

/// One frame located in a buffer: its header fields and where its payload lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Whether this is the last frame of a message.
    pub fin: bool,
    /// The opcode (`OP_*`).
    pub opcode: u8,
    /// The masking key when the frame is masked (client to server frames).
    pub mask: Option<[u8; 4]>,
    /// Offset of the payload from the start of the frame.
    pub payload_start: usize,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl Frame {
    /// Total bytes of the frame: header plus payload.
    pub fn total_len(&self) -> usize {
        self.payload_start + self.payload_len
    }
}

/// Parses the frame at the start of `buf`: `Ok(None)` when `buf` does not hold a whole frame yet.
pub fn parse(buf: &[u8]) -> Result<Option<Frame>, FrameError> {
    let [b0, b1, rest @ ..] = buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Reserved);
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut offset) = match b1 & 0x7f {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 4),
            _ => return Ok(None),
        },
        127 => match rest.get(..8) {
            Some(bytes) => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(bytes);
                (u64::from_be_bytes(raw), 10)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    if len > MAX_PAYLOAD {
        return Err(FrameError::TooLarge(len));
    }
    let mask = if masked {
        let Some(key) = buf.get(offset..offset + 4) else {
            return Ok(None);
        };
        offset += 4;
        Some([key[0], key[1], key[2], key[3]])
    } else {
        None
    };
    // MAX_PAYLOAD fits in usize on every target this runs on.
    let payload_len = usize::try_from(len).map_err(|_| FrameError::TooLarge(len))?;
    if buf.len() < offset + payload_len {
        return Ok(None);
    }
    Ok(Some(Frame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        mask,
        payload_start: offset,
        payload_len,
    }))
}

/// XORs `data` with `key` in place (masking and unmasking are the same operation).
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

/// Appends the header of a final frame with `opcode` and a payload of `len` bytes to `out`,
/// masked with `mask` when given.
pub fn write_header(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match u16::try_from(len) {
        Ok(short) if short < 126 => out.push(mask_bit | short as u8),
        Ok(medium) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&medium.to_be_bytes());
        }
        Err(_) => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// A whole client frame (masked with `key`) carrying `payload`.
pub fn client_frame(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    write_header(&mut out, opcode, payload.len(), Some(key));
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key);
    out
}

/// A whole unmasked server frame carrying `payload`.
pub fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    write_header(&mut out, opcode, payload.len(), None);
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_unmasked_text_frame() {
        let bytes = server_frame(OP_TEXT, b"hello");
        assert_eq!(bytes, b"\x81\x05hello");
        let frame = parse(&bytes).unwrap().unwrap();
        assert_eq!(
            frame,
            Frame {
                fin: true,
                opcode: OP_TEXT,
                mask: None,
                payload_start: 2,
                payload_len: 5
            }
        );
    }

    #[test]
    fn incomplete_frames_ask_for_more() {
        let bytes = server_frame(OP_TEXT, &[b'a'; 300]);
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(parse(&bytes).unwrap().unwrap().total_len(), bytes.len());
    }

    #[test]
    fn sixteen_and_sixty_four_bit_lengths() {
        let medium = server_frame(OP_BINARY, &[0; 126]);
        assert_eq!(&medium[..4], &[0x82, 126, 0, 126]);
        assert_eq!(parse(&medium).unwrap().unwrap().payload_start, 4);
        let large = server_frame(OP_BINARY, &[0; 70_000]);
        assert_eq!(&large[..2], &[0x82, 127]);
        let frame = parse(&large).unwrap().unwrap();
        assert_eq!((frame.payload_start, frame.payload_len), (10, 70_000));
    }

    #[test]
    fn masked_client_frame_round_trips() {
        let key = [1, 2, 3, 4];
        let bytes = client_frame(OP_TEXT, b"{\"type\":6}\x1e", key);
        let frame = parse(&bytes).unwrap().unwrap();
        assert_eq!(frame.mask, Some(key));
        let mut payload = bytes[frame.payload_start..frame.total_len()].to_vec();
        apply_mask(&mut payload, key);
        assert_eq!(payload, b"{\"type\":6}\x1e");
    }

    #[test]
    fn bad_headers_are_errors() {
        assert_eq!(parse(b"\xc1\x00"), Err(FrameError::Reserved));
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse(&huge), Err(FrameError::TooLarge(u64::MAX)));
    }
}
