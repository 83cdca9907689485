//! The leader key's value, `<candidate_id>:<token>`.
//!
//! The token is the part after the *last* `:`, so candidate ids may contain colons
//! (`host:port`, say).

/// Parses `<candidate_id>:<token>`; `None` if it has no `:` or the token is not a u64.
pub(crate) fn parse(value: &str) -> Option<(String, u64)> {
    let (id, token) = value.rsplit_once(':')?;
    Some((id.to_owned(), token.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_after_the_last_colon() {
        assert_eq!(
            parse("10.0.0.1:7000:42"),
            Some(("10.0.0.1:7000".into(), 42))
        );
        assert_eq!(parse("a:0"), Some(("a".into(), 0)));
        assert_eq!(parse("a"), None);
        assert_eq!(parse("a:b"), None);
    }
}
