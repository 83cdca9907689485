//! `X-ASRS-Signature`: proof to the upstream that a request comes from the holder of the
//! access key.
//!
//! Azure signs the connection id, not the body: `sha256=` + hex of HMAC-SHA256(key bytes as
//! UTF-8, connection id as UTF-8), one entry per access key (Azure has a primary and a
//! secondary key), joined with `,`. Azure's emulator writes the hex in uppercase
//! (`BitConverter.ToString`); the Functions trigger splits on `,` and accepts the request if
//! any entry matches one of its keys, ignoring case. Herald writes uppercase too, so an
//! application that compares exactly against what Azure sends keeps working.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::AccessKey;

/// The header value for `connection_id` signed with each of `keys`; `None` without keys.
pub(crate) fn signature(connection_id: &str, keys: &[AccessKey]) -> Option<String> {
    let entries: Vec<String> = keys
        .iter()
        .filter_map(|key| sign(key.secret(), connection_id.as_bytes()))
        .map(|mac| format!("sha256={}", hex(&mac)))
        .collect();
    (!entries.is_empty()).then(|| entries.join(","))
}

/// HMAC-SHA256; `None` only if the key were refused, which HMAC never does.
fn sign(secret: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().to_vec())
}

/// Uppercase hex, as Azure writes it.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known answers of the Functions extension's `SignalRTriggerResolverTests` (which
    /// compares ignoring case).
    #[test]
    fn matches_azures_published_vectors() {
        let keys = [
            AccessKey::new("7aab239577fd4f24bc919802fb629f5f").unwrap(),
            AccessKey::new("a5f2815d0d0c4b00bd27e832432f91ab").unwrap(),
        ];
        assert_eq!(
            signature("0f9c97a2f0bf4706afe87a14e0797b11", &keys).map(|s| s.to_lowercase()),
            Some(
                "sha256=7767effcb3946f3e1de039df4b986ef02c110b1469d02c0a06f41b3b727ab561,\
                 sha256=d4aefb65547a00a9881fa8ac8bd03d0faf77af9da5205d45c6e57cbda4377760"
                    .to_owned()
            )
        );
        assert_eq!(signature("any", &[]), None);
    }
}
