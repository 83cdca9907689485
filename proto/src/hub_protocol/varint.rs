//! The varint length prefix of MessagePack messages: 7 bits per byte, least significant
//! group first, high bit set on every byte but the last; 1–5 bytes, at most 2^31-1.

use super::DecodeError;

/// The largest message length a prefix may carry.
pub const MAX_LENGTH: u32 = 0x7FFF_FFFF;
/// The longest a prefix may be.
pub const MAX_PREFIX_LEN: usize = 5;

/// Appends the prefix for a body of `len` bytes. Lengths above [`MAX_LENGTH`] (which no
/// peer accepts) are written with as many bytes as they need.
pub fn write(out: &mut Vec<u8>, len: usize) {
    let mut rest = len;
    while rest >= 0x80 {
        // Truncation to the low 7 bits is the point.
        out.push((rest & 0x7F) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Reads a prefix from the start of `buf`: `Ok(Some((length, prefix_bytes)))`, `Ok(None)` when
/// `buf` ends inside the prefix, or an error for a prefix longer than 5 bytes or above
/// [`MAX_LENGTH`].
pub fn read(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u64 = 0;
    for (i, byte) in buf.iter().take(MAX_PREFIX_LEN).enumerate() {
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return match u32::try_from(value) {
                Ok(len) if len <= MAX_LENGTH => Ok(Some((len, i + 1))),
                _ => Err(DecodeError::InvalidLengthPrefix(
                    "length exceeds 2147483647 bytes",
                )),
            };
        }
    }
    if buf.len() >= MAX_PREFIX_LEN {
        Err(DecodeError::InvalidLengthPrefix("longer than 5 bytes"))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, len);
        out
    }

    #[test]
    fn spec_examples() {
        assert_eq!(read(&[0x35]).unwrap(), Some((0x35, 1)));
        assert_eq!(read(&[0x80, 0x29]).unwrap(), Some((0x1480, 2)));
        assert_eq!(
            read(&[0xFF, 0xFF, 0xFF, 0xFF, 0x07]).unwrap(),
            Some((MAX_LENGTH, 5))
        );
        assert_eq!(encoded(0x1480), [0x80, 0x29]);
        assert_eq!(encoded(MAX_LENGTH as usize), [0xFF, 0xFF, 0xFF, 0xFF, 0x07]);
        assert_eq!(encoded(0), [0x00]);
        assert_eq!(encoded(127), [0x7F]);
        assert_eq!(encoded(128), [0x80, 0x01]);
    }

    #[test]
    fn round_trips_and_partial_prefixes() {
        for len in [
            0usize,
            1,
            127,
            128,
            16383,
            16384,
            2_097_151,
            2_097_152,
            1 << 30,
        ] {
            let bytes = encoded(len);
            assert_eq!(read(&bytes).unwrap(), Some((len as u32, bytes.len())));
            for cut in 0..bytes.len() {
                assert_eq!(read(&bytes[..cut]).unwrap(), None);
            }
        }
    }

    #[test]
    fn rejects_bad_prefixes() {
        assert!(matches!(
            read(&[0xFF, 0xFF, 0xFF, 0xFF, 0x08]),
            Err(DecodeError::InvalidLengthPrefix(_))
        ));
        assert!(matches!(
            read(&[0x80, 0x80, 0x80, 0x80, 0x80]),
            Err(DecodeError::InvalidLengthPrefix(_))
        ));
        assert!(matches!(
            read(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeError::InvalidLengthPrefix(_))
        ));
        assert_eq!(
            DecodeError::InvalidLengthPrefix("longer than 5 bytes").to_string(),
            "invalid length prefix: longer than 5 bytes"
        );
    }
}
