//! [`MessageReader`]: splits the byte stream of a connection into hub messages.
//!
//! Transports deliver bytes in arbitrary pieces: one WebSocket frame may hold several
//! messages, and a message may span several frames or POST bodies. The reader buffers what
//! it is given and yields complete messages in order, refusing to buffer more than one
//! message's worth of bytes beyond the configured limit.

use super::{DecodeError, Decoded, Protocol, json, varint};

/// Capacity above which the buffer is freed once drained, so one large message does not pin
/// memory for the rest of the connection.
const RETAINED_CAPACITY: usize = 64 * 1024;

/// Buffers incoming bytes and yields decoded messages (as an [`Iterator`]).
///
/// Call [`MessageReader::push`] with each piece of input, then drain the iterator until it
/// returns `None`; doing so after every push is what bounds the buffer to about
/// `max_message_size` plus one piece. After any error other than
/// [`DecodeError::UnknownMessageType`] the reader is poisoned: the stream position is lost
/// or the peer broke the protocol, so further input is dropped and the iterator ends. The
/// caller should close the connection.
#[derive(Debug)]
pub struct MessageReader {
    protocol: Protocol,
    max_message_size: usize,
    buf: Vec<u8>,
    /// Index of the first byte not yet consumed.
    start: usize,
    /// JSON: bytes before this index are known to hold no record separator.
    scanned: usize,
    poisoned: bool,
}

impl MessageReader {
    /// A reader for `protocol` that refuses messages larger than `max_message_size` bytes
    /// (a JSON record without its separator, or a MessagePack body without its prefix).
    pub fn new(protocol: Protocol, max_message_size: usize) -> Self {
        Self {
            protocol,
            max_message_size,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            poisoned: false,
        }
    }

    /// The protocol being read.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The configured message size limit.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Bytes received but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether an error stopped the reader.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Adds received bytes. Ignored once the reader is poisoned.
    pub fn push(&mut self, data: &[u8]) {
        if self.poisoned || data.is_empty() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned = self.scanned.saturating_sub(self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    fn poison(&mut self) {
        self.poisoned = true;
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
    }

    /// Drops consumed bytes once everything buffered has been consumed.
    fn release_if_drained(&mut self) {
        if self.start == self.buf.len() {
            if self.buf.capacity() > RETAINED_CAPACITY {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            self.start = 0;
            self.scanned = 0;
        }
    }

    fn too_large(&self, size: usize) -> DecodeError {
        DecodeError::MessageTooLarge {
            size,
            max: self.max_message_size,
        }
    }

    fn next_json(&mut self) -> Option<Result<Decoded, DecodeError>> {
        let from = self.scanned.max(self.start);
        let found = self
            .buf
            .get(from..)?
            .iter()
            .position(|&b| b == json::RECORD_SEPARATOR);
        let Some(offset) = found else {
            self.scanned = self.buf.len();
            let pending = self.buffered();
            return (pending > self.max_message_size).then(|| Err(self.too_large(pending)));
        };
        let (begin, end) = (self.start, from + offset);
        self.start = end + 1;
        self.scanned = self.start;
        let size = end - begin;
        if size > self.max_message_size {
            return Some(Err(self.too_large(size)));
        }
        let record = self.buf.get(begin..end)?;
        let result = json::decode_json(record).map(Decoded::Json);
        self.release_if_drained();
        Some(result)
    }

    fn next_msgpack(&mut self) -> Option<Result<Decoded, DecodeError>> {
        let available = self.buf.get(self.start..)?;
        let (len, prefix) = match varint::read(available) {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        // A u32 always fits in usize on the platforms we build for; saturate otherwise.
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > self.max_message_size {
            return Some(Err(self.too_large(len)));
        }
        let body = available.get(prefix..)?.get(..len)?;
        let result = super::msgpack::decode_msgpack(body).map(Decoded::MessagePack);
        self.start += prefix + len;
        self.release_if_drained();
        Some(result)
    }
}

impl Iterator for MessageReader {
    type Item = Result<Decoded, DecodeError>;

    /// The next complete message, `None` when more input is needed (or after poisoning).
    fn next(&mut self) -> Option<Self::Item> {
        if self.poisoned {
            return None;
        }
        let item = match self.protocol {
            Protocol::Json => self.next_json(),
            Protocol::MessagePack => self.next_msgpack(),
        };
        if let Some(Err(e)) = &item
            && !e.is_recoverable()
        {
            self.poison();
        }
        item
    }
}

#[cfg(test)]
mod tests;
