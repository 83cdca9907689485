//! The shared secret of a connection string.

use std::fmt;

/// The `AccessKey=` of a connection string: the HMAC secret for every token.
///
/// Azure uses the UTF-8 bytes of the key exactly as written (it is not base64-decoded), so
/// Herald does the same. The value never appears in `Debug` or `Display` output.
#[derive(Clone)]
pub struct AccessKey(String);

impl AccessKey {
    /// Wraps a key; `None` when it is empty, since an empty HMAC secret protects nothing.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (!key.is_empty()).then_some(Self(key))
    }

    /// The bytes HS256 signs with.
    pub(crate) fn secret(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(<redacted>)")
    }
}

impl fmt::Display for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::AccessKey;

    #[test]
    fn never_prints_the_secret() {
        let key = AccessKey::new("s3cr3t").unwrap();
        assert_eq!(format!("{key:?}"), "AccessKey(<redacted>)");
        assert_eq!(key.to_string(), "<redacted>");
        assert_eq!(key.secret(), b"s3cr3t");
        assert!(AccessKey::new("").is_none());
    }
}
