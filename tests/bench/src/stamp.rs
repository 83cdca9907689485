//! The timestamped argument every benchmark message carries: `@@` then the publisher's send
//! time as 16 decimal digits of microseconds since the Unix epoch, padded with `x` to the
//! argument size. It survives every protocol's JSON framing unchanged, so one scanner finds it in
//! a SignalR invocation, a socket.io event, a change-feed document or the floor's raw frame, and
//! counts coalesced messages (several stamps in one frame) one by one.

use std::time::{SystemTime, UNIX_EPOCH};

/// What opens a stamp.
const MARKER: &[u8; 2] = b"@@";
/// Digits of the time.
const DIGITS: usize = 16;

/// Microseconds since the Unix epoch: the clock every process on the machine shares.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The argument for a message sent at `micros`, `size` bytes long (at least the stamp itself).
pub fn make(micros: u64, size: usize) -> String {
    let mut text = format!("@@{micros:016}");
    while text.len() < size {
        text.push('x');
    }
    text
}

/// Calls `found` with the send time of every stamp in `payload`, in order.
pub fn scan(payload: &[u8], mut found: impl FnMut(u64)) {
    let mut rest = payload;
    while let Some(at) = find_marker(rest) {
        let digits = &rest[at + MARKER.len()..];
        match parse_digits(digits) {
            Some(micros) => {
                found(micros);
                rest = &digits[DIGITS..];
            }
            None => rest = &rest[at + 1..],
        }
    }
}

fn find_marker(haystack: &[u8]) -> Option<usize> {
    haystack.windows(MARKER.len()).position(|w| w == MARKER)
}

fn parse_digits(bytes: &[u8]) -> Option<u64> {
    let digits = bytes.get(..DIGITS)?;
    digits.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_pads_to_size() {
        let text = make(1_234, 100);
        assert_eq!(text.len(), 100);
        assert!(text.starts_with("@@0000000000001234xx"));
    }

    #[test]
    fn scan_finds_every_stamp_in_any_framing() {
        let a = make(1_700_000_000_000_001, 40);
        let b = make(1_700_000_000_000_002, 20);
        let signalr = format!(
            "{{\"type\":1,\"target\":\"m\",\"arguments\":[\"{a}\"]}}\x1e{{\"type\":1,\"target\":\"m\",\"arguments\":[\"{b}\"]}}\x1e"
        );
        let mut seen = Vec::new();
        scan(signalr.as_bytes(), |t| seen.push(t));
        assert_eq!(seen, [1_700_000_000_000_001, 1_700_000_000_000_002]);
        let socket_io = format!("42[\"m\",\"{a}\"]");
        seen.clear();
        scan(socket_io.as_bytes(), |t| seen.push(t));
        assert_eq!(seen, [1_700_000_000_000_001]);
    }

    #[test]
    fn scan_ignores_broken_stamps() {
        let mut seen = Vec::new();
        scan(b"@@12@@@0000000000000007 @@", |t| seen.push(t));
        assert_eq!(seen, [7]);
        scan(b"", |t| seen.push(t));
        assert_eq!(seen, [7]);
    }
}
